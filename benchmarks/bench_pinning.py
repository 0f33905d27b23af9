"""Shape pinning: padding error with and without a mask, and WHILE vs unrolled TFLite latency.

Part 1, per model (Keras 3 and tf-keras): convert_and_verify with
pin_input_shapes(mask=False) and (mask=True) on random sequences shorter than,
equal to and longer than the pinned length; the table gives the largest
pinning error (pinned TF model on padded data vs the original on the data
itself) and the conversion error next to it.

Part 2: the seed's LSTM(64) pinned to several lengths, converted once as is
(a WHILE loop) and once after unroll_rnns; median LiteRT invoke time of each,
interleaved in one run, and the ratio.

    python benchmarks/bench_pinning.py [--invokes 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import interleaved_medians, machine  # noqa: E402

import tflite_fixups as tff  # noqa: E402  (imports TensorFlow quietly)
import sequence_models as models  # noqa: E402  (the test suite's models, shared on purpose)

PINNED = 50
MODELS = {
    "LSTM": models.lstm,
    "GRU": models.gru,
    "SimpleRNN": models.simple_rnn,
    "Bidirectional(LSTM)": models.bidirectional,
    "GRU+LSTM seq + TimeDistributed": models.stacked_time_distributed,
    "Embedding(mask_zero) + LSTM": models.embedding_lstm,
    "Conv1D + GlobalAveragePooling1D": models.conv1d_pooling,
}


def pinning_errors(flavour) -> None:
    print(f"\n### Pinning error ({flavour.__name__}; pinned length {PINNED}, random inputs of lengths "
          "5, 25, 49, 50, 62)\n")
    print("| model | pinning error, no mask | pinning error, mask=True | conversion error | builtin ops only |")
    print("|---|---|---|---|---|")
    for label, build in MODELS.items():
        model = build(flavour)
        shape = (1, PINNED) if label.startswith("Embedding") else (1, PINNED, models.FEATURES)
        row = {}
        for mask in (False, True):
            result = tff.convert_and_verify(model, passes=[tff.passes.pin_input_shapes(shape, mask=mask)])
            row[mask] = result
        masked = row[True].verification.pinning
        builtin = not any(op.startswith("Flex") for op in row[True].ops)
        print(f"| {label} | {row[False].verification.pinning.max_pinning_error:.3g} | "
              f"{masked.max_pinning_error:.3g} | {masked.max_conversion_error:.3g} | {'yes' if builtin else 'NO'} |")


def while_vs_unrolled(invokes: int) -> None:
    import keras

    model = models.trained_seed_lstm(keras)
    print(f"\n### WHILE vs unrolled (the seed's LSTM(64) on 32 features, Keras 3, mask=True; "
          f"median of 5 interleaved loops of {invokes} invokes, one thread)\n")
    print("| pinned length | kernels | WHILE | unrolled | unrolled / WHILE | .tflite KiB WHILE / unrolled |")
    print("|---|---|---|---|---|---|")
    for length in (10, 50, 100):
        pin = tff.passes.pin_input_shapes((1, length, 32), mask=True)
        looped = tff.convert_and_verify(model, passes=[pin])
        unrolled = tff.convert_and_verify(model, passes=[pin, tff.passes.unroll_rnns()])
        assert looped.ok and unrolled.ok and "WHILE" in looped.ops and "WHILE" not in unrolled.ops
        x = np.random.default_rng(0).normal(size=(1, length, 32)).astype(np.float32)
        for kernels, xnnpack in (("XNNPACK (default)", True), ("builtin, no delegate", False)):
            runners = {
                name: tff.LiteRTRunner(result.tflite_model, num_threads=1, default_delegates=xnnpack)
                for name, result in (("while", looped), ("unrolled", unrolled))
            }

            def loop(runner):
                def run():
                    for _ in range(invokes):
                        runner.run({"seq": x})
                return run

            medians = interleaved_medians({name: loop(r) for name, r in runners.items()}, repeats=5)
            per_invoke = {name: seconds / invokes * 1e6 for name, seconds in medians.items()}
            print(f"| {length} | {kernels} | {per_invoke['while']:.0f} µs | {per_invoke['unrolled']:.0f} µs | "
                  f"{per_invoke['unrolled'] / per_invoke['while']:.2f}x | "
                  f"{looped.size_bytes / 1024:.0f} / {unrolled.size_bytes / 1024:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=300)
    args = parser.parse_args()
    import keras
    import tf_keras

    start = time.perf_counter()
    print(f"machine: {machine()}")
    for flavour in (keras, tf_keras):
        pinning_errors(flavour)
    while_vs_unrolled(args.invokes)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
