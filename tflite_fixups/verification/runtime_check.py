"""Failures that appear only when LiteRT prepares or runs a converted model, explained.

The converter accepts some graphs LiteRT's kernels then refuse: an RFFT of a
length that is not a power of two (``tf.signal.stft(x, 400, 160, fft_length=400)``)
converts to RFFT2D and fails in ``rfft2d.cc: IsPowerOfTwo`` when tensors are
allocated. :func:`check_on_litert` opens the model, allocates and invokes it
once on random inputs; :func:`explain_litert_failure` names the TFLite op,
the TF ops it came from and the pass (if any) that rewrites them.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..conversion.hints import fix_for_op
from ..errors import describe_error
from ..models.specs import InputSpec
from ..reports.diagnosis import Finding

#: TFLite op -> the TF op types the converter makes it from, where the names do not say it.
TFLITE_FROM_TF: Dict[str, Tuple[str, ...]] = {
    "RFFT2D": ("RFFT", "RFFT2D"),
    "FULLY_CONNECTED": ("MatMul",),
    "BATCH_MATMUL": ("BatchMatMulV2", "BatchMatMulV3", "BatchMatMul"),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2dNative",),
    "CONV_2D": ("Conv2D",),
    "GATHER": ("GatherV2", "ResourceGather"),
    "NON_MAX_SUPPRESSION_V4": ("NonMaxSuppressionV3", "NonMaxSuppressionV4"),
    "NON_MAX_SUPPRESSION_V5": ("NonMaxSuppressionV5",),
    "STRIDED_SLICE": ("StridedSlice",),
    "LOGISTIC": ("Sigmoid",),
    "RANDOM_STANDARD_NORMAL": ("RandomStandardNormal",),
}

#: Kernel checks LiteRT reports, and what they mean for the user.
KNOWN_CHECKS: Tuple[Tuple[str, str], ...] = (
    ("IsPowerOfTwo", "LiteRT's {op} kernel takes power-of-two FFT lengths only: use a power-of-two fft_length "
                     "(tf.signal.stft's default rounds frame_length up to one)"),
    ("out of bounds", "an index is out of range for LiteRT's {op}: check index inputs (TensorFlow may clamp "
                      "or raise where LiteRT does not)"),
)

_NODE = re.compile(r"Node number (\d+) \((\w+)\) failed to (prepare|invoke)")
_CHECK = re.compile(r"([\w/]+\.cc:\d+ [^\n]*?was not true\.?)")


def check_on_litert(tflite_model: bytes, input_specs: Sequence[InputSpec], *, graph_def: Any = None,
                    seed: int = 0) -> Optional[Finding]:
    """Allocate ``tflite_model`` in LiteRT and invoke it once on random inputs; the failure, or None.

    Never raises for a model LiteRT cannot run: that is the answer.
    """
    from .litert import LiteRTRunner
    from .samples import random_samples

    try:
        runner = LiteRTRunner(tflite_model)
    except Exception as error:  # LiteRT's RuntimeError, wrapped by the runner's public boundary
        return explain_litert_failure(error, "litert allocate", graph_def)
    try:
        sample = random_samples(_runner_specs(runner, input_specs), 1, seed)[0]
        runner.run(sample)
    except Exception as error:
        return explain_litert_failure(error, "litert invoke", graph_def)
    return None


def _runner_specs(runner, input_specs: Sequence[InputSpec]) -> List[InputSpec]:
    """The model's specs with every dynamic axis set to what LiteRT allocated (random samples need sizes)."""
    by_name = {s.name: s for s in input_specs}
    specs = []
    for name, details in runner.input_details.items():
        spec = by_name.get(name)
        shape = tuple(int(d) for d in details["shape"])
        dtype = spec.dtype if spec is not None else np.dtype(details["dtype"]).name
        specs.append(InputSpec(name, shape, dtype))
    return specs


def explain_litert_failure(error: BaseException, stage: str, graph_def: Any = None) -> Finding:
    """A :class:`Finding` for LiteRT's ``error``: the op, the TF ops it came from, and the likely fix."""
    text = _full_text(error)
    node = _NODE.search(text)
    op = node.group(2) if node else None
    check = _CHECK.search(text)
    message = check.group(1) if check else describe_error(_innermost(error))
    if node and check:
        message += f" Node number {node.group(1)} ({op}) failed to {node.group(3)}."
    tf_ops, nodes = _tf_sources(op, graph_def) if op else ((), ())
    fixes = [fix_for_op(t) for t in tf_ops if fix_for_op(t)]
    fix = fixes[0] if fixes else None
    advice = next((advice.format(op=op) for needle, advice in KNOWN_CHECKS if needle in text and op), "")
    if fix:  # no only=[...]: a rule may hand complex parts on to rules for the ops after it (ComplexAbs)
        rewritten = [t for t in tf_ops if fix_for_op(t) == fix]
        advice = (advice + "; or " if advice else "") + (
            f"tff.passes.{fix}() rewrites {', '.join(rewritten)} into other builtin ops")
    elif op and not advice:
        advice = f"no pass rewrites {op} yet: change the model so LiteRT's {op} kernel accepts it"
    return Finding(stage=stage, message=message, op=op, tf_ops=tuple(tf_ops), nodes=tuple(nodes), fix=fix,
                   advice=advice)


def _full_text(error: BaseException) -> str:
    texts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


def _innermost(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _normalise(op_type: str) -> str:
    return re.sub(r"V\d+$", "", op_type.replace("_", "").upper())


def _tf_sources(op: str, graph_def: Any) -> Tuple[List[str], List[str]]:
    """TF op types in ``graph_def`` (function library included) that become TFLite ``op``, and their nodes."""
    if graph_def is None:
        return list(TFLITE_FROM_TF.get(op, ())), []
    all_nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    wanted = set(TFLITE_FROM_TF.get(op, ()))
    key = _normalise(op)
    types, nodes = [], []
    for node in all_nodes:
        if node.op in wanted or _normalise(node.op) == key:
            if node.op not in types:
                types.append(node.op)
            if len(nodes) < 5:
                nodes.append(node.name)
    return types, nodes
