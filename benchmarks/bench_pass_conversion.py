"""Conversion time added by replace_unsupported_ops on a real model, as ratios measured in one run.

Model: Keras 3 MobileNetV3Small (96x96, random weights) whose 3x3x576 feature map feeds an
eigh-attention head (tf.linalg.eigh of 9x9 symmetrised scores). Measured, interleaved:
- the pass alone, and convert() of the rewritten model;
- convert() of the same network without the eigh layer (what conversion costs anyway).

    python benchmarks/bench_pass_conversion.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Figure, interleaved_medians, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402


def build(with_eigh: bool):
    import keras
    import tensorflow as tf

    class EighAttention(keras.layers.Layer):
        def call(self, x):
            scores = tf.matmul(x, x, transpose_b=True) / 16.0
            return tf.nn.softmax(tf.linalg.eigh(0.5 * (scores + tf.transpose(scores, [0, 2, 1])))[0])

    keras.utils.set_random_seed(0)
    image = keras.Input((96, 96, 3), batch_size=1, name="image")
    backbone = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), include_top=False, weights=None)
    tokens = keras.layers.Dense(16)(keras.layers.Reshape((9, 576))(backbone(image)))
    head = EighAttention()(tokens) if with_eigh else keras.layers.Flatten()(tokens)
    return keras.Model(image, keras.layers.Dense(10)(head))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with_eigh, without = build(True), build(False)
    timings = {}

    def pass_then_convert():
        start = time.perf_counter()
        rewritten = tff.passes.replace_unsupported_ops()(with_eigh)
        middle = time.perf_counter()
        tff.convert(rewritten)
        timings.setdefault("pass", []).append(middle - start)
        timings.setdefault("convert_rewritten", []).append(time.perf_counter() - middle)

    medians = interleaved_medians({"rewrite+convert": pass_then_convert, "convert_plain": lambda: tff.convert(without)},
                                  args.repeats)
    pass_time = float(np.median(timings["pass"]))
    convert_rewritten = float(np.median(timings["convert_rewritten"]))
    plain = medians["convert_plain"]
    ratio = (pass_time + convert_rewritten) / plain
    print(f"machine: {machine()}; median of {args.repeats} interleaved runs\n")
    print("| model | convert() without eigh | pass | convert() of rewritten | (pass + convert) / plain convert |")
    print("|---|---|---|---|---|")
    print(f"| MobileNetV3Small 96x96 + eigh(9x9) head | {plain:.2f} s | {pass_time:.2f} s | {convert_rewritten:.2f} s | "
          f"{ratio:.2f}x |")
    publish([
        Figure("pass conversion", "(replace_unsupported_ops + convert()) / convert() without the eigh head, "
               "MobileNetV3Small 96x96 + eigh(9x9)", f"{ratio:.2f}x"),
        Figure("pass conversion", "the pass alone / convert() without the eigh head", f"{pass_time / plain:.2f}x"),
    ])


if __name__ == "__main__":
    main()
