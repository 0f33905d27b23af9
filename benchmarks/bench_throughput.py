"""Verification throughput: samples per second against a raw LiteRT invoke loop on the same model.

For each model and .tflite, in one process, alternating (median of --repeats):

- raw loop: ai_edge_litert's Interpreter, set_tensor / invoke / get_tensor, one
  sample per invoke, as anyone would write it;
- verification's LiteRT side: the samples through LiteRTRunner exactly as
  tff.verify runs them (batched through resize_tensor_input when the model
  declares a dynamic batch axis, one per invoke otherwise); target >= 0.8x;
- tff.verify end to end: the same plus the original model in TensorFlow, the
  comparison and the report (no target: the raw loop runs no TensorFlow).

    python benchmarks/bench_throughput.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import Figure, interleaved_medians, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups._quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # TensorFlow's import-time chatter stays out of the report
from tflite_fixups._quiet import quiet_tensorflow  # noqa: E402
from tflite_fixups.verification.verify import run_on_litert  # noqa: E402

TARGET = 0.8


def raw_loop(tflite_bytes: bytes, arrays):
    """The loop a user writes: open the model, then one sample per invoke, outputs copied out."""
    from ai_edge_litert.interpreter import Interpreter

    def run():
        interpreter = Interpreter(model_content=tflite_bytes)
        interpreter.allocate_tensors()
        (source,), (sink,) = interpreter.get_input_details(), interpreter.get_output_details()
        for array in arrays:
            interpreter.set_tensor(source["index"], array)
            interpreter.invoke()
            interpreter.get_tensor(sink["index"])

    return run


def verification_litert_side(tflite_bytes: bytes, samples):
    """What verify_stages does on LiteRT: a runner, the samples, batched where the model allows.

    The bytes are a conversion's, validated once when converted (bench_validation.py measures that);
    the runner does not check them again."""
    outcome = {}

    def run():
        runner = tff.LiteRTRunner(tflite_bytes)
        outcome["run"] = run_on_litert(runner, samples)

    return run, outcome


def cases():
    """(label, model, input_specs, arrays): a tiny CNN on real digits and a mobile-size CNN on random images."""
    import keras

    import digits

    x_train, _, x_test, _ = digits.digits()
    digit_arrays = [x[None] for x in np.concatenate([x_train, x_test])[:1000]]
    cnn = digits.digits_cnn(keras, epochs=2)
    keras.utils.set_random_seed(0)
    mobilenet = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), weights=None)
    images = list(np.random.default_rng(0).uniform(0, 255, (200, 1, 96, 96, 3)).astype(np.float32))
    return [
        ("digits CNN, batch pinned to 1 (the default)", cnn, None, digit_arrays),
        ("digits CNN, dynamic batch", cnn, [(None, 8, 8, 1)], digit_arrays),
        ("MobileNetV3Small 96x96, dynamic batch", mobilenet, [(None, 96, 96, 3)], images),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tff.set_progress(False)

    print(f"machine: {machine()}; default LiteRT delegates (XNNPACK), median of {args.repeats} interleaved runs\n")
    print("| model | samples | raw invoke loop | verification, LiteRT side | ratio (target >= 0.8x) "
          "| samples per invoke | tff.verify end to end | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    figures = []
    for label, model, specs, arrays in cases():
        with quiet_tensorflow():
            result = tff.convert(model, input_specs=specs)
            reference = tff.load_model(model, specs)
        name = result.input_specs[0].name
        samples = [{name: a} for a in arrays]
        litert_side, outcome = verification_litert_side(result.tflite_model, samples)

        def end_to_end():
            report = tff.verify(reference, result.tflite_model, sample_inputs=arrays)
            assert report.ok, str(report)

        with quiet_tensorflow():
            candidates = {"raw": raw_loop(result.tflite_model, arrays), "litert": litert_side, "verify": end_to_end}
            for run in candidates.values():
                run()  # warm-up: first invokes and the reference's dynamic-batch trace are one-off costs
            medians = interleaved_medians(candidates, args.repeats)
        rate = {key: len(arrays) / seconds for key, seconds in medians.items()}
        ratio, end_ratio = rate["litert"] / rate["raw"], rate["verify"] / rate["raw"]
        print(f"| {label} | {len(arrays)} | {rate['raw']:,.0f}/s | {rate['litert']:,.0f}/s | {ratio:.2f}x "
              f"{'met' if ratio >= TARGET else 'MISSED'} | {outcome['run'].batch_size} | {rate['verify']:,.0f}/s "
              f"| {end_ratio:.2f}x |")
        figures.append(Figure(
            "verification throughput", f"LiteRT side vs raw invoke loop, {label}", f"{ratio:.2f}x",
            f">= {TARGET}x", ratio >= TARGET,
        ))
        figures.append(Figure("verification throughput", f"tff.verify end to end vs raw invoke loop, {label}",
                              f"{end_ratio:.2f}x"))
    print("\nThe raw loop runs no TensorFlow; tff.verify also runs the original model (batched the same way, "
          "traced once for a dynamic batch and cached) and compares every output.")
    publish(figures)


if __name__ == "__main__":
    main()
