"""Accuracy on scikit-learn's handwritten digits: float vs int8 PTQ vs fake-quant fine-tuning vs tfmot QAT.

A small CNN (Conv-BN-ReLU, Conv-ReLU, pooling, Dense) is trained on 1,400 digits
for a few seconds; the int8 models are measured on LiteRT on the 397 held-out
digits. PTQ calibrates on 200 training samples; fake-quant fine-tuning
(tff.passes.insert_fake_quant) and tfmot's QAT (tf-keras only: tfmot cannot
take Keras 3 models) each train 2 epochs, then convert to int8 without
representative data. Targets: PTQ and ours within 1 point of float; ours >= tfmot.

    python benchmarks/bench_quantization.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import machine  # noqa: E402

import digits  # noqa: E402  (the test suite's data and model, shared on purpose)
from tflite_fixups._quiet import quiet_tensorflow  # noqa: E402  (imports TensorFlow quietly before Keras)


def main() -> None:
    import keras
    import tf_keras

    start = time.perf_counter()
    print(f"machine: {machine()}; digits CNN, accuracy on 397 held-out digits, int8 models run on LiteRT\n")
    with quiet_tensorflow():
        rows = {"Keras 3": digits.accuracy_table(keras), "tf-keras": digits.accuracy_table(tf_keras)}
    columns = [digits.FLOAT, digits.PTQ, digits.OURS, digits.TFMOT]
    print("| Keras | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for flavour, row in rows.items():
        cells = [f"{100 * row[c]:.1f}%" if c in row else "n/a (tfmot needs tf-keras)" for c in columns]
        print(f"| {flavour} | " + " | ".join(cells) + " |")
    for flavour, row in rows.items():
        ptq, ours = row[digits.PTQ] - row[digits.FLOAT], row[digits.OURS] - row[digits.FLOAT]
        verdict = [f"PTQ {100 * ptq:+.1f} pt vs float ({'met' if ptq >= -0.01 else 'MISSED'})",
                   f"ours {100 * ours:+.1f} pt vs float ({'met' if ours >= -0.01 else 'MISSED'})"]
        if digits.TFMOT in row:
            better = row[digits.OURS] >= row[digits.TFMOT]
            verdict.append(f"ours >= tfmot: {'met' if better else 'MISSED'}")
        print(f"\n{flavour}: " + "; ".join(verdict))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
