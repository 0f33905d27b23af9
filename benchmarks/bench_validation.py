"""Validating .tflite files: what it costs against LiteRT's own load, and the crashes it prevents.

Cost: ``validate_tflite`` (the whole flatbuffer and what LiteRT relies on, in Python) against
LiteRT loading the same bytes (``Interpreter(model_content=...)`` and ``allocate_tensors``, in C++),
against ``tff.verify(model, tflite, one sample)`` (which validates a file or bytes once), and
against ``tff.convert_and_verify(model, one sample)`` (which validates its own conversion once
before LiteRT runs it); medians of interleaved runs, on MobileNetV3Small 96x96 and on a rewritten
eigh-attention model (thousands of small ops, the validator's worst case per byte). Target:
validation is at most 10% of ``convert_and_verify``; its share of ``verify`` is stated beside it.

Crashes: seeded structural mutations (bit flips, overwritten offsets, lengths, vtable entries and
indices, splices, truncations) of four small real models (an MLP, an int8 CNN, a pinned LSTM with
its WHILE loop and metadata, a model with IF and WHILE subgraphs) all run in LiteRT in subprocesses
that survive its crashes; then the same mutations through ``validate_tflite`` first. Target: no
mutation that validation accepts crashes LiteRT.

    python benchmarks/bench_validation.py [--mutations 1500] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _common import Figure, interleaved_medians, machine, publish  # noqa: E402

import tflite_fixups as tff  # noqa: E402
from tflite_fixups._quiet import import_tensorflow, quiet_tensorflow  # noqa: E402

tf = import_tensorflow()  # TensorFlow's import-time chatter stays out of the report
import helpers  # noqa: E402  (the test suite's small models, shared on purpose)
import tflite_mutations as mutations  # noqa: E402
from tflite_fixups.conversion.tflite_validation import validate_tflite  # noqa: E402
from tflite_fixups.errors import ModelFileError  # noqa: E402

COST_TARGET = 0.10  # of a tff.convert_and_verify call on the same model


def litert_load(data: bytes) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()


def cost_models():
    """name -> (Keras model, the passes it needs, its .tflite bytes)."""
    import keras

    keras.utils.set_random_seed(0)
    mobilenet = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), weights=None)
    tokens = keras.Input((12, 8), batch_size=1, name="tokens")
    attention = keras.Model(tokens, helpers.eigh_layer_class(keras)(name="eigh_attention")(tokens))
    rewrite = [tff.passes.replace_unsupported_ops()]
    rewritten = tff.convert(attention, passes=rewrite)
    return {  # plain bytes, as read from a file: verify() checks them (a conversion's own are checked already)
        "MobileNetV3Small 96x96": (mobilenet, [], bytes(tff.convert(mobilenet).tflite_model)),
        f"eigh attention 12x12, rewritten ({sum(rewritten.ops.values()):,} ops)":
            (attention, rewrite, bytes(rewritten.tflite_model)),
    }


def fuzz_bases():
    """name -> (.tflite bytes, whether to invoke it: a mutated loop bound may legitimately run for ages)."""
    import keras

    keras.utils.set_random_seed(0)
    representative = np.random.default_rng(0).standard_normal((8, 16, 16, 3)).astype(np.float32)
    steps = keras.Input((None, 4), name="seq")
    lstm = keras.Model(steps, keras.layers.Dense(2, name="scores")(keras.layers.LSTM(3)(steps)))
    module = helpers.ControlFlow()
    with quiet_tensorflow():
        converter = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
        control_flow = converter.convert()
    return {
        "MLP": (tff.convert(helpers.mlp(keras)).tflite_model, True),
        "int8 CNN": (tff.convert(helpers.small_cnn(keras), quantization="int8",
                                 representative_data=representative).tflite_model, True),
        "pinned LSTM (WHILE, metadata)": (tff.convert(
            lstm, passes=[tff.passes.pin_input_shapes((1, 6, 4), mask=True)]).tflite_model, False),
        "IF and WHILE subgraphs": (control_flow, False),
    }


def fuzz(name: str, data: bytes, invoke: bool, count: int, folder: str):
    """Outcomes of ``count`` mutations: LiteRT alone, and what validation made of them."""
    rng, positions = random.Random(sum(map(ord, name))), mutations.structure_positions(data)
    paths, accepted = [], set()
    for index in range(count):
        mutated = mutations.mutate(data, rng, positions)
        path = os.path.join(folder, f"{name.split()[0]}_{sum(map(ord, name))}_{index}.tflite")
        with open(path, "wb") as handle:
            handle.write(mutated)
        paths.append(path)
        try:
            validate_tflite(mutated)
            accepted.add(path)
        except ModelFileError:
            pass
    outcomes = mutations.run_in_litert(paths, invoke=invoke)
    without = Counter(outcomes.values())
    after = Counter(outcomes[path] for path in accepted)
    refused_crashes = sum(1 for path in paths if path not in accepted and outcomes[path] == mutations.CRASHED)
    refused_but_ran = sum(1 for path in paths if path not in accepted and outcomes[path] == mutations.OK)
    return without, after, len(accepted), refused_crashes, refused_but_ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=1500, help="mutations per base model")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    print(f"machine: {machine()}\n")
    print("| model | size | validate_tflite | LiteRT load + allocate | ratio | tff.verify, 1 sample | share "
          "| convert_and_verify, 1 sample | share | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    figures = []
    for name, (model, passes, data) in cost_models().items():
        sample = np.random.default_rng(0).standard_normal(tuple(model.inputs[0].shape)[1:]).astype(np.float32)
        candidates = {"validate": lambda: validate_tflite(data), "load": lambda: litert_load(data),
                      "verify": lambda: tff.verify(model, data, sample_inputs=sample),
                      "convert": lambda: tff.convert_and_verify(model, passes, sample_inputs=sample)}
        with quiet_tensorflow():
            for run in candidates.values():  # warm up: the first calls trace the model
                run()
            medians = interleaved_medians(candidates, args.repeats)
        verify_share, share = medians["validate"] / medians["verify"], medians["validate"] / medians["convert"]
        met = share <= COST_TARGET
        print(f"| {name} | {len(data) / 2 ** 20:.1f} MiB | {1e3 * medians['validate']:.1f} ms | "
              f"{1e3 * medians['load']:.1f} ms | {medians['validate'] / medians['load']:.2f}x | "
              f"{1e3 * medians['verify']:.0f} ms | {verify_share:.0%} | {medians['convert']:.2f} s | {share:.1%} | "
              f"<= {COST_TARGET:.0%} {'met' if met else 'MISSED'} |")
        figures.append(Figure("tflite validation", f"validate_tflite's share of tff.convert_and_verify, {name}",
                              f"{share:.1%}", f"<= {COST_TARGET:.0%}", met))

    print(f"\n{args.mutations:,} seeded mutations of each model; LiteRT loads (and, without loops, invokes) every "
          "one in a subprocess that is restarted after a crash.\n")
    print("| model | LiteRT alone: crashed | refused | ran | timed out | validation refused | of those, crashed "
          "LiteRT | of those, ran | accepted and crashed |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = Counter()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for name, (data, invoke) in fuzz_bases().items():
            without, after, accepted, refused_crashes, refused_but_ran = fuzz(name, data, invoke, args.mutations,
                                                                              folder)
            refused = args.mutations - accepted
            print(f"| {name} | {without[mutations.CRASHED]} | {without[mutations.REFUSED]} | {without[mutations.OK]} "
                  f"| {without[mutations.TIMED_OUT]} | {refused} | {refused_crashes} | {refused_but_ran} "
                  f"| {after[mutations.CRASHED]} |")
            totals.update({"mutations": args.mutations, "crashed": without[mutations.CRASHED],
                           "accepted_crashed": after[mutations.CRASHED]})
    print(f"\n{totals['crashed']} of {totals['mutations']:,} mutations crash LiteRT when loaded as they are; "
          f"{totals['accepted_crashed']} of those validation accepts crash it "
          f"({time.perf_counter() - start:.0f} s).")
    figures.append(Figure("tflite validation", f"mutated models crashing LiteRT: without validation, after it "
                          f"({totals['mutations']:,} mutations of 4 models)",
                          f"{totals['crashed']} -> {totals['accepted_crashed']}", "0 after",
                          totals["accepted_crashed"] == 0))
    publish(figures)


if __name__ == "__main__":
    main()
