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
from typing import Dict, List

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import Figure, machine, publish  # noqa: E402

import digits  # noqa: E402  (the test suite's data and model, shared on purpose)
from tflite_fixups._quiet import import_tensorflow, quiet_tensorflow  # noqa: E402

import_tensorflow()  # quietly, before Keras imports it

WITHIN_POINTS = 1.0


def points(accuracy_gap: float) -> str:
    return f"{100 * accuracy_gap:+.1f} pt"


def percent(accuracy: float) -> str:
    return f"{100 * accuracy:.1f}%"


def accuracy_figures(rows: Dict[str, Dict[str, float]]) -> List[Figure]:
    """Per Keras flavour: PTQ and ours vs float (target: at most 1 point below), and ours vs tfmot (target >= 0)."""
    figures = []
    for flavour, row in rows.items():
        for method, label in ((digits.PTQ, "int8 PTQ"), (digits.OURS, "int8 fake-quant fine-tuned (ours)")):
            gap = row[method] - row[digits.FLOAT]
            measure = (f"{label} vs float accuracy, digits CNN, {flavour} "
                       f"({percent(row[method])} vs {percent(row[digits.FLOAT])})")
            figures.append(Figure("quantization", measure, points(gap), f">= -{WITHIN_POINTS:.0f} pt",
                                  gap >= -WITHIN_POINTS / 100))
        if digits.TFMOT in row:
            gap = row[digits.OURS] - row[digits.TFMOT]
            measure = (f"ours vs tfmot QAT accuracy, int8, digits CNN, {flavour} "
                       f"({percent(row[digits.OURS])} vs {percent(row[digits.TFMOT])})")
            figures.append(Figure("quantization", measure, points(gap), ">= 0 pt", gap >= 0))
    return figures


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
        cells = [percent(row[c]) if c in row else "n/a (tfmot needs tf-keras)" for c in columns]
        print(f"| {flavour} | " + " | ".join(cells) + " |")
    for flavour, row in rows.items():
        ptq, ours = row[digits.PTQ] - row[digits.FLOAT], row[digits.OURS] - row[digits.FLOAT]
        verdict = [f"PTQ {points(ptq)} vs float ({'met' if ptq >= -WITHIN_POINTS / 100 else 'MISSED'})",
                   f"ours {points(ours)} vs float ({'met' if ours >= -WITHIN_POINTS / 100 else 'MISSED'})"]
        if digits.TFMOT in row:
            better = row[digits.OURS] >= row[digits.TFMOT]
            verdict.append(f"ours >= tfmot: {'met' if better else 'MISSED'}")
        print(f"\n{flavour}: " + "; ".join(verdict))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    publish(accuracy_figures(rows))


if __name__ == "__main__":
    main()
