"""Run a RewriteCase: original TF, rewritten TF and LiteRT on the same inputs (built once per case)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import tensorflow as tf

import tflite_fixups as tff
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.conversion.flatbuffer import op_counts
from tflite_fixups.models.signature_model import as_output_dict
from tflite_fixups.passes.base import count_ops
from tflite_fixups.rewrites.cases import RewriteCase, all_cases
from tflite_fixups.verification.litert import LiteRTRunner
from tflite_fixups.verification.metrics import infinities_match


@dataclass
class BuiltCase:
    case: RewriteCase
    original: tff.SignatureModel
    rewritten: tff.SignatureModel
    report: tff.passes.PassReport
    tflite: bytes
    runner: LiteRTRunner

    def feed(self, inputs) -> Dict[str, np.ndarray]:
        return dict(zip(self.original.input_names, inputs))

    def outputs(self, inputs):
        """(want, rewritten TF, LiteRT) outputs for one list of inputs."""
        feed = self.feed(inputs)
        return self.original.run(feed), self.rewritten.run(feed), self.runner.run(feed)


def case_function(case: RewriteCase):
    def call(*args):
        return as_output_dict(case.function(*args))

    return tf.function(call, input_signature=list(case.input_specs))


@functools.lru_cache(maxsize=None)
def built(case_name: str) -> BuiltCase:
    case = {c.name: c for c in all_cases()}[case_name]
    original = tff.load_model(case_function(case))
    result = tff.passes.replace_unsupported_ops().run(original)
    tflite = convert_signature_model(result.model)
    return BuiltCase(case, original, result.model, result.report, tflite, LiteRTRunner(tflite))


def graph_op_types(model: tff.SignatureModel) -> Dict[str, int]:
    return count_ops(model.graph_def())


def target_nodes(case: RewriteCase, model: tff.SignatureModel) -> int:
    """How many nodes of the case's op (and dtype, when it names one) the model's graph holds."""
    graph_def = model.graph_def()
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    wanted = None if case.target_dtype is None else case.target_dtype.as_datatype_enum
    return sum(1 for n in nodes if n.op == case.op_type and (wanted is None or n.attr["T"].type == wanted))


def tflite_op_types(tflite: bytes) -> Dict[str, int]:
    return op_counts(tflite)


def max_error(case: RewriteCase, want: Dict[str, np.ndarray], got: Dict[str, np.ndarray], inputs) -> float:
    """Largest violation: with ``compare`` the case's own measure, else max of |got - want| - rtol |want|."""
    if case.compare is not None:
        return float(case.compare(want, got, inputs))
    worst = 0.0
    for name, expected in want.items():
        actual = np.asarray(got[name], dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
        same = (np.isnan(expected) & np.isnan(actual)) | (expected == actual) | infinities_match(expected, actual)
        with np.errstate(invalid="ignore"):
            excess = np.abs(actual - expected) - case.rtol * np.abs(expected)
        excess = np.where(same, 0.0, np.where(np.isnan(excess), np.inf, excess))
        worst = max(worst, float(excess.max()) if excess.size else 0.0)
    return worst


def input_sets(case: RewriteCase, seeds=(0, 1, 2)) -> List[List[np.ndarray]]:
    sets = [case.make_inputs(np.random.default_rng(seed)) for seed in seeds]
    return sets + [list(edge) for edge in case.edge_inputs]
