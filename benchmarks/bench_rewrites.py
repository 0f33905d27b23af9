"""Latency of every rewrite rule: LiteRT (one thread) running the rewritten op vs TensorFlow's kernel.

For each registered rewrite case, on the case's own input shape, in one process:
- ``vs TF``: LiteRT invoke time of the rewritten model / TensorFlow's eager time for
  the original op on the same tensors (one intra-op thread). Target <= 1x.
- ``vs TANH`` (elementwise rules): the same LiteRT time / LiteRT time of a builtin
  TANH on the same tensor. Target <= 4x.
Each figure is a ratio of medians over interleaved batches of calls.

    python benchmarks/bench_rewrites.py [--calls 200] [--only erf,sinh]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)  # before any op runs: one thread on both sides
tf.config.threading.set_inter_op_parallelism_threads(1)

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "rewrites"))
import numpy as np  # noqa: E402
from _common import machine  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups.conversion.converter import convert_signature_model  # noqa: E402
from tflite_fixups.rewrites.cases import all_cases  # noqa: E402
from tflite_fixups.verification.litert import LiteRTRunner  # noqa: E402

from case_runner import case_function  # noqa: E402  (the tests' own way of building a case)

TF_TARGET, TANH_TARGET = 1.0, 4.0


def per_call_seconds(run, calls: int, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def litert_invoker(tflite_bytes: bytes, feed):
    runner = LiteRTRunner(tflite_bytes, num_threads=1)
    runner.run(feed)
    return lambda: runner.run(feed)


def tanh_invoker(shape):
    function = tf.function(lambda x: {"y": tf.tanh(x)}, input_signature=[tf.TensorSpec(shape, tf.float32, name="x")])
    feed = {"x": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    return litert_invoker(tff.convert(function).tflite_model, feed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    rows = []
    for case in all_cases():
        if wanted and case.name not in wanted:
            continue
        original = tff.load_model(case_function(case))
        rewritten = tff.passes.replace_unsupported_ops()(original)
        inputs = case.make_inputs(np.random.default_rng(0))
        feed = dict(zip(original.input_names, inputs))
        tensors = [tf.constant(x) for x in inputs]
        case.function(*tensors)
        tf_call = lambda: case.function(*tensors)  # noqa: E731  (eager: TF's own kernel, op by op)
        lite_call = litert_invoker(convert_signature_model(rewritten), feed)
        elementwise = "elementwise" in case.tags
        tanh_call = tanh_invoker(tuple(case.input_specs[0].shape)) if elementwise else None
        times = {"tf": [], "lite": [], "tanh": []}
        for _ in range(3):  # interleave so machine noise hits all alike
            times["tf"].append(per_call_seconds(tf_call, args.calls))
            times["lite"].append(per_call_seconds(lite_call, args.calls))
            if tanh_call:
                times["tanh"].append(per_call_seconds(tanh_call, args.calls))
        tf_time, lite_time = statistics.median(times["tf"]), statistics.median(times["lite"])
        vs_tf = lite_time / tf_time
        vs_tanh = lite_time / statistics.median(times["tanh"]) if tanh_call else None
        rows.append((case, tf_time, lite_time, vs_tf, vs_tanh))
    print(f"machine: {machine()}; LiteRT and TF on one thread; median per-call time")
    print("| case | op | shape | TF | LiteRT rewritten | vs TF (<= 1x) | vs TANH (<= 4x) |")
    print("|---|---|---|---|---|---|---|")
    for case, tf_time, lite_time, vs_tf, vs_tanh in rows:
        shape = "x".join(str(d) for d in case.input_specs[0].shape)
        tanh_text = "-" if vs_tanh is None else f"{vs_tanh:.2f}x {'met' if vs_tanh <= TANH_TARGET else 'MISSED'}"
        print(
            f"| {case.name} | {case.op_type} | {shape} | {tf_time * 1e6:.1f} us | {lite_time * 1e6:.1f} us | "
            f"{vs_tf:.2f}x {'met' if vs_tf <= TF_TARGET else 'MISSED'} | {tanh_text} |"
        )
    met = sum(1 for row in rows if row[3] <= TF_TARGET)
    print(f"\n{met}/{len(rows)} cases at or below TensorFlow's kernel time")


if __name__ == "__main__":
    main()
