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

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import machine  # noqa: E402

import digits  # noqa: E402  (the test suite's data and model, shared on purpose)
import tflite_fixups as tff  # noqa: E402

FINE_TUNE_EPOCHS = 2
CALIBRATION = 200


def litert_accuracy(result) -> float:
    _, _, x_test, y_test = digits.digits()
    runner = tff.LiteRTRunner(result.tflite_model)
    predictions = np.concatenate([runner.run({"digit": x[None]})["probs"] for x in x_test])
    return digits.accuracy(predictions, y_test)


def fine_tune(model, epochs: int = FINE_TUNE_EPOCHS):
    x_train, y_train, _, _ = digits.digits()
    model.compile(optimizer="adam",
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def accuracies(K) -> dict:
    x_train, _, x_test, y_test = digits.digits()
    model = digits.digits_cnn(K)
    row = {"float": digits.accuracy(model.predict(x_test, verbose=0), y_test)}
    ptq = tff.convert_and_verify(model, sample_inputs=x_test[:64], quantization="int8",
                                 representative_data=x_train[:CALIBRATION])
    row["int8 PTQ"] = litert_accuracy(ptq)
    ours = fine_tune(tff.passes.insert_fake_quant()(model))
    row["int8 fake-quant fine-tuned (ours)"] = litert_accuracy(
        tff.convert_and_verify(ours, sample_inputs=x_test[:64], quantization="int8")
    )
    if K.__name__ == "tf_keras":
        import tensorflow_model_optimization as tfmot

        qat = fine_tune(tfmot.quantization.keras.quantize_model(model))
        row["int8 tfmot QAT"] = litert_accuracy(tff.convert_and_verify(qat, sample_inputs=x_test[:64], quantization="int8"))
    return row


def main() -> None:
    import keras
    import tf_keras

    start = time.perf_counter()
    print(f"machine: {machine()}; digits CNN, accuracy on 397 held-out digits, int8 models run on LiteRT\n")
    rows = {"Keras 3": accuracies(keras), "tf-keras": accuracies(tf_keras)}
    columns = ["float", "int8 PTQ", "int8 fake-quant fine-tuned (ours)", "int8 tfmot QAT"]
    print("| Keras | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for flavour, row in rows.items():
        cells = [f"{100 * row[c]:.1f}%" if c in row else "n/a (tfmot needs tf-keras)" for c in columns]
        print(f"| {flavour} | " + " | ".join(cells) + " |")
    for flavour, row in rows.items():
        ptq, ours = row["float"] - row["int8 PTQ"], row["float"] - row["int8 fake-quant fine-tuned (ours)"]
        verdict = [f"PTQ {100 * ptq:+.1f} pt vs float ({'met' if ptq <= 0.01 else 'MISSED'})",
                   f"ours {100 * ours:+.1f} pt vs float ({'met' if ours <= 0.01 else 'MISSED'})"]
        if "int8 tfmot QAT" in row:
            better = row["int8 fake-quant fine-tuned (ours)"] >= row["int8 tfmot QAT"]
            verdict.append(f"ours >= tfmot: {'met' if better else 'MISSED'}")
        print(f"\n{flavour}: " + "; ".join(verdict))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
