"""Overhead of tff.convert_and_verify (no passes) over the bare converter plus one LiteRT invoke.

Both sides convert the same Keras 3 MobileNetV3Small (96x96, random weights)
in the same process, alternating, and the ratio of medians is reported.
Target: <= 1.2x.

    python benchmarks/bench_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Figure, interleaved_medians, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups._quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # TensorFlow's import-time chatter stays out of the report
from tflite_fixups._quiet import quiet_tensorflow  # noqa: E402

TARGET = 1.2
ROUTES = {"bare_keras": "from_keras_model", "bare_function": "from_concrete_functions"}


def bare_convert_and_invoke(model, sample, route):
    """The converter used directly: ``from_keras_model``, or a traced, frozen concrete function (faster).

    Freezing is not optional for a fair baseline: Keras 3 through ``from_concrete_functions``
    without it gives a .tflite whose outputs are NaN (its variables are never initialised).
    """
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    if route == "keras":
        with contextlib.redirect_stdout(open(os.devnull, "w")):  # Keras 3 export prints its signature
            tflite_bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    else:
        function = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec(sample.shape)])
        frozen = convert_variables_to_constants_v2(function.get_concrete_function())
        tflite_bytes = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model).convert()
    interpreter = Interpreter(model_content=tflite_bytes)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), weights=None)
    sample = np.random.default_rng(0).uniform(0, 255, (1, 96, 96, 3)).astype(np.float32)

    def ours_one_sample():
        result = tff.convert_and_verify(model, sample_inputs=sample)
        assert result.ok

    def ours_default():
        assert tff.convert_and_verify(model).ok  # 8 random samples

    candidates = {
        "bare_keras": lambda: bare_convert_and_invoke(model, sample, "keras"),
        "bare_function": lambda: bare_convert_and_invoke(model, sample, "function"),
        "tff_1": ours_one_sample,
        "tff_8": ours_default,
    }
    expected = np.asarray(model(sample, training=False))
    with quiet_tensorflow():  # the bare converter is chatty; keep the table readable
        for route in ROUTES:  # a baseline is timed only once its outputs are right
            got = candidates[route]()
            if not (np.all(np.isfinite(got)) and np.allclose(got, expected, atol=1e-4, rtol=1e-3)):
                raise SystemExit(f"the bare route '{ROUTES[route]}' gives wrong outputs (max error "
                                 f"{np.nanmax(np.abs(got - expected)):.3g}); it is no baseline")
        for run in candidates.values():  # warm up: first conversions pay one-off costs
            run()
        medians = interleaved_medians(candidates, args.repeats)
    print(f"machine: {machine()}; MobileNetV3Small 96x96 (Keras 3), median of {args.repeats} interleaved runs\n")
    print("| bare route (convert + 1 invoke) | bare | convert_and_verify, 1 sample | ratio | 8 random samples | ratio | target |")
    print("|---|---|---|---|---|---|---|")
    figures = []
    for route, label in ROUTES.items():
        ratio_1, ratio_8 = medians["tff_1"] / medians[route], medians["tff_8"] / medians[route]
        print(
            f"| {label} | {medians[route]:.2f} s | {medians['tff_1']:.2f} s | {ratio_1:.2f}x | "
            f"{medians['tff_8']:.2f} s | {ratio_8:.2f}x | <= {TARGET}x {'met' if ratio_1 <= TARGET else 'MISSED'} |"
        )
        figures.append(Figure("overhead", f"convert_and_verify (1 sample) / bare `{label}` + 1 invoke, "
                              f"MobileNetV3Small 96x96", f"{ratio_1:.2f}x", f"<= {TARGET}x", ratio_1 <= TARGET))
    publish(figures)


if __name__ == "__main__":
    main()
