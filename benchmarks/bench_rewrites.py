"""Latency and fidelity of every rewrite rule: LiteRT (one thread) running the rewritten op vs TensorFlow's kernel.

For each registered rewrite case, on the case's own input shape, in one process:
- ``vs TF``: LiteRT invoke time of the rewritten model / TensorFlow's eager time for
  the original op on the same tensors (one intra-op thread). Target <= 1x.
- ``vs TANH`` (elementwise rules): the same LiteRT time / LiteRT time of a builtin
  TANH on the same tensor. Target <= 4x.
- ``error / bound``: fidelity of the same LiteRT model against TF's original op on the
  case's inputs (three random sets and its edge values), measured as the catalogue test
  does (max of |LiteRT - TF| - rtol |TF|, or the case's own compare), over the case's
  stated bound (its atol). Target <= 1x.
Each latency figure is a ratio of medians over interleaved batches of calls.

    python benchmarks/bench_rewrites.py [--calls 200] [--only erf,sinh]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)  # before any op runs: one thread on both sides
tf.config.threading.set_inter_op_parallelism_threads(1)

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "rewrites"))
import numpy as np  # noqa: E402
from _common import Figure, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups.conversion.converter import convert_signature_model  # noqa: E402
from tflite_fixups.rewrites.cases import RewriteCase, all_cases  # noqa: E402
from tflite_fixups.verification.litert import LiteRTRunner  # noqa: E402

from case_runner import case_function, input_sets, max_error  # noqa: E402  (the tests' own way to build and check)

TF_TARGET, TANH_TARGET, FIDELITY_TARGET = 1.0, 4.0, 1.0


def per_call_seconds(run, calls: int, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def litert_invoker(runner: LiteRTRunner, feed):
    runner.run(feed)
    return lambda: runner.run(feed)


@functools.lru_cache(maxsize=None)
def tanh_invoker(shape):
    function = tf.function(lambda x: {"y": tf.tanh(x)}, input_signature=[tf.TensorSpec(shape, tf.float32, name="x")])
    feed = {"x": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    return litert_invoker(LiteRTRunner(tff.convert(function).tflite_model, num_threads=1), feed)


@dataclass
class CaseResult:
    case: RewriteCase
    tf_time: float
    lite_time: float
    vs_tanh: Optional[float]
    error: float

    @property
    def vs_tf(self) -> float:
        return self.lite_time / self.tf_time

    @property
    def error_over_bound(self) -> float:
        """Error / the case's atol; an exact case (atol 0) gives 0 when exact, infinity otherwise."""
        if self.case.atol > 0:
            return self.error / self.case.atol
        return 0.0 if self.error == 0 else float("inf")


def litert_error(case: RewriteCase, original: tff.SignatureModel, runner: LiteRTRunner) -> float:
    """The catalogue test's error of the LiteRT model against TF's op, worst over the case's input sets."""
    worst = 0.0
    for inputs in input_sets(case):
        feed = dict(zip(original.input_names, inputs))
        worst = max(worst, max_error(case, original.run(feed), runner.run(feed), inputs))
    return worst


def measure_case(case: RewriteCase, calls: int) -> CaseResult:
    original = tff.load_model(case_function(case))
    rewritten = tff.passes.replace_unsupported_ops()(original)
    runner = LiteRTRunner(convert_signature_model(rewritten), num_threads=1)
    inputs = case.make_inputs(np.random.default_rng(0))
    tensors = [tf.constant(x) for x in inputs]
    case.function(*tensors)
    tf_call = lambda: case.function(*tensors)  # noqa: E731  (eager: TF's own kernel, op by op)
    lite_call = litert_invoker(runner, dict(zip(original.input_names, inputs)))
    tanh_call = tanh_invoker(tuple(case.input_specs[0].shape)) if "elementwise" in case.tags else None
    times = {"tf": [], "lite": [], "tanh": []}
    for _ in range(3):  # interleave so machine noise hits all alike
        times["tf"].append(per_call_seconds(tf_call, calls))
        times["lite"].append(per_call_seconds(lite_call, calls))
        if tanh_call:
            times["tanh"].append(per_call_seconds(tanh_call, calls))
    lite_time = statistics.median(times["lite"])
    vs_tanh = lite_time / statistics.median(times["tanh"]) if tanh_call else None
    return CaseResult(case, statistics.median(times["tf"]), lite_time, vs_tanh, litert_error(case, original, runner))


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x {'met' if ratio <= target else 'MISSED'}"


def print_table(results: List[CaseResult]) -> None:
    print(f"machine: {machine()}; LiteRT and TF on one thread; median per-call time\n")
    print("| case | op | shape | TF | LiteRT rewritten | vs TF (<= 1x) | vs TANH (<= 4x) | error (bound) | "
          "error / bound (<= 1x) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        shape = "x".join(str(d) for d in r.case.input_specs[0].shape)
        tanh_text = "-" if r.vs_tanh is None else verdict(r.vs_tanh, TANH_TARGET)
        print(
            f"| {r.case.name} | {r.case.op_type} | {shape} | {r.tf_time * 1e6:.1f} us | {r.lite_time * 1e6:.1f} us | "
            f"{verdict(r.vs_tf, TF_TARGET)} | {tanh_text} | {r.error:.2g} ({r.case.atol:g}) | "
            f"{verdict(r.error_over_bound, FIDELITY_TARGET)} |"
        )
    met = sum(1 for r in results if r.vs_tf <= TF_TARGET)
    within = sum(1 for r in results if r.error_over_bound <= FIDELITY_TARGET)
    print(f"\n{met}/{len(results)} cases at or below TensorFlow's kernel time; "
          f"{within}/{len(results)} within their stated error bound")


def headline_figures(results: List[CaseResult]) -> List[Figure]:
    at_or_below = sum(1 for r in results if r.vs_tf <= TF_TARGET)
    elementwise = [r for r in results if r.vs_tanh is not None]
    tanh_met = sum(1 for r in elementwise if r.vs_tanh <= TANH_TARGET)
    worst = max(results, key=lambda r: r.error_over_bound)
    figures = [Figure("rewrites", "cases at or below TF's kernel time (LiteRT rewritten op / TF eager op, one thread)",
                      f"{at_or_below} of {len(results)}", f"<= {TF_TARGET:g}x per case", at_or_below == len(results))]
    if elementwise:
        slowest = max(r.vs_tanh for r in elementwise)
        figures.append(Figure("rewrites", f"elementwise rules within {TANH_TARGET:g}x of LiteRT's TANH "
                              f"(slowest {slowest:.2f}x)", f"{tanh_met} of {len(elementwise)}",
                              f"<= {TANH_TARGET:g}x per rule", tanh_met == len(elementwise)))
    figures.append(Figure("rewrites", f"worst LiteRT error / the case's stated bound, all cases ({worst.case.name})",
                          f"{worst.error_over_bound:.2f}x", f"<= {FIDELITY_TARGET:g}x",
                          worst.error_over_bound <= FIDELITY_TARGET))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    results = [measure_case(case, args.calls) for case in all_cases() if not wanted or case.name in wanted]
    print_table(results)
    publish(headline_figures(results))


if __name__ == "__main__":
    main()
