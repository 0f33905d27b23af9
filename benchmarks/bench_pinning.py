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
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import Figure, interleaved_medians, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups._quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # TensorFlow's import-time chatter stays out of the report
import sequence_models as models  # noqa: E402  (the test suite's models, shared on purpose)

PINNED = 50
HEADLINE_LENGTH = 50
MODELS = {
    "LSTM": models.lstm,
    "GRU": models.gru,
    "SimpleRNN": models.simple_rnn,
    "Bidirectional(LSTM)": models.bidirectional,
    "GRU+LSTM seq + TimeDistributed": models.stacked_time_distributed,
    "Embedding(mask_zero) + LSTM": models.embedding_lstm,
    "Conv1D + GlobalAveragePooling1D": models.conv1d_pooling,
}


def pinning_errors(flavour) -> Dict[str, Tuple[float, bool]]:
    """Print the table for one Keras flavour; return model -> (pinning error with mask=True, the pass warned)."""
    print(f"\n### Pinning error ({flavour.__name__}; pinned length {PINNED}, random inputs of lengths "
          "5, 25, 49, 50, 62)\n")
    print("| model | pinning error, no mask | pinning error, mask=True | conversion error | builtin ops only |")
    print("|---|---|---|---|---|")
    masked_errors = {}
    for label, build in MODELS.items():
        model = build(flavour)
        shape = (1, PINNED) if label.startswith("Embedding") else (1, PINNED, models.FEATURES)
        row = {}
        for mask in (False, True):
            result = tff.convert_and_verify(model, passes=[tff.passes.pin_input_shapes(shape, mask=mask)])
            row[mask] = result
        masked = row[True].verification.pinning
        warned = any(report.warnings for report in row[True].passes)
        builtin = not any(op.startswith("Flex") for op in row[True].ops)
        masked_errors[label] = (masked.max_pinning_error, warned)
        print(f"| {label} | {row[False].verification.pinning.max_pinning_error:.3g} | "
              f"{masked.max_pinning_error:.3g}{' (warned)' if warned else ''} | {masked.max_conversion_error:.3g} | "
              f"{'yes' if builtin else 'NO'} |")
    return masked_errors


def pinning_figure(flavour_name: str, masked_errors: Dict[str, Tuple[float, bool]]) -> Figure:
    """Largest mask=True pinning error over the models the pass does not warn about (target: exact)."""
    silent = [error for error, warned in masked_errors.values() if not warned]
    warned = [f"{label}: {error:.3g}" for label, (error, was_warned) in masked_errors.items() if was_warned]
    largest = max(silent, default=0.0)
    measure = f"largest pinning error with mask=True, {flavour_name}, {len(silent)} of {len(masked_errors)} models"
    if warned:
        measure += f" (the pass warns about {'; '.join(warned)})"
    return Figure("pinning", measure, f"{largest:.3g}", "0 (exact)", largest == 0.0)


def while_vs_unrolled(invokes: int) -> Dict[Tuple[int, str], float]:
    """Print the latency table; return (pinned length, kernels) -> unrolled / WHILE invoke time."""
    import keras

    model = models.trained_seed_lstm(keras)
    print(f"\n### WHILE vs unrolled (the seed's LSTM(64) on 32 features, Keras 3, mask=True; "
          f"median of 5 interleaved loops of {invokes} invokes, one thread)\n")
    print("| pinned length | kernels | WHILE | unrolled | unrolled / WHILE | .tflite KiB WHILE / unrolled |")
    print("|---|---|---|---|---|---|")
    ratios = {}
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
            ratios[length, kernels] = per_invoke["unrolled"] / per_invoke["while"]
            print(f"| {length} | {kernels} | {per_invoke['while']:.0f} µs | {per_invoke['unrolled']:.0f} µs | "
                  f"{per_invoke['unrolled'] / per_invoke['while']:.2f}x | "
                  f"{looped.size_bytes / 1024:.0f} / {unrolled.size_bytes / 1024:.0f} |")
    return ratios


def latency_figures(ratios: Dict[Tuple[int, str], float]) -> List[Figure]:
    return [Figure("pinning", f"unrolled / WHILE LiteRT invoke time, LSTM(64) pinned to {length}, {kernels}",
                   f"{ratio:.2f}x")
            for (length, kernels), ratio in ratios.items() if length == HEADLINE_LENGTH]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=300)
    args = parser.parse_args()
    import keras
    import tf_keras

    start = time.perf_counter()
    print(f"machine: {machine()}")
    flavours = {"Keras 3": keras, "tf-keras": tf_keras}
    figures = [pinning_figure(name, pinning_errors(flavour)) for name, flavour in flavours.items()]
    figures += latency_figures(while_vs_unrolled(args.invokes))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    publish(figures)


if __name__ == "__main__":
    main()
