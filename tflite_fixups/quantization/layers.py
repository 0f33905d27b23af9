"""Per-layer quantization error on LiteRT: each quantized op's output against the float model's.

Like TF's QuantizationDebugger, but it runs on LiteRT, needs no NumericVerify
ops, and works for Keras 3: the quantized and the float .tflite are both run
with every intermediate tensor kept, and tensors are matched by name (the
quantizer keeps the float model's tensor names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from .._progress import progress
from ..models.keras_compat import layer_for_node, layer_names
from ..models.signature_model import SignatureModel
from ..reports.quantization import LayerError
from ..verification.litert import open_interpreter, to_input
from ..verification.samples import Sample

_QUANTIZED = (np.int8, np.uint8, np.int16)
#: an op reading one of these (int8 weights, float16 weights) is a quantized op even with float outputs
_LOW_PRECISION = {np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16), np.dtype(np.float16)}
_SKIPPED_OPS = {"QUANTIZE", "DEQUANTIZE"}


@dataclass
class _Accumulator:
    op: str
    dtype: str
    scale: float
    low: float
    high: float
    count: int = 0
    squared_error: float = 0.0
    max_abs_error: float = 0.0
    total: float = 0.0
    total_squared: float = 0.0
    outside: int = 0

    def add(self, reference: np.ndarray, quantized: np.ndarray) -> None:
        reference = reference.astype(np.float64).ravel()
        error = np.abs(quantized.astype(np.float64).ravel() - reference)
        self.count += reference.size
        self.squared_error += float(np.sum(error ** 2))
        self.max_abs_error = max(self.max_abs_error, float(error.max(initial=0.0)))
        self.total += float(reference.sum())
        self.total_squared += float(np.sum(reference ** 2))
        if self.scale:
            self.outside += int(np.count_nonzero((reference < self.low) | (reference > self.high)))


def layer_errors(
    quantized: bytes, float_reference: bytes, samples: Sequence[Sample], model: Optional[SignatureModel] = None,
) -> List[LayerError]:
    """Error statistics of every quantized op output over ``samples``, most damaging (RMSE / std) first.

    An op counts as quantized when its output is an integer tensor with a
    scale (int8/int16 activations) or when one of its inputs is (int8 weights
    of a dynamic-range or float16 model come in through such inputs).
    """
    # without delegates: a delegate hides the ops it takes and keeps their intermediates to itself
    q_interpreter = open_interpreter(quantized, preserve_all_tensors=True, default_delegates=False)
    f_interpreter = open_interpreter(float_reference, preserve_all_tensors=True, default_delegates=False)
    f_index = {t["name"]: t for t in f_interpreter.get_tensor_details()}
    q_tensors = {t["index"]: t for t in q_interpreter.get_tensor_details()}
    watched: Dict[int, int] = {}
    stats: Dict[int, _Accumulator] = {}
    ops = q_interpreter._get_ops_details()  # no public per-op listing in LiteRT's Python API
    # float16 (and some int8) weights reach their op through a DEQUANTIZE: its outputs count as low precision
    dequantized = {int(i) for op in ops if op["op_name"] == "DEQUANTIZE" for i in op["outputs"]}
    for op in ops:
        if op["op_name"] in _SKIPPED_OPS or len(op["outputs"]) == 0:
            continue
        out = q_tensors.get(op["outputs"][0])
        twin = f_index.get(out["name"]) if out else None
        if twin is None or tuple(twin["shape"]) != tuple(out["shape"]):
            continue
        inputs = [q_tensors[i] for i in op["inputs"] if i in q_tensors]
        low_precision_input = any(np.dtype(t["dtype"]) in _LOW_PRECISION or t["index"] in dequantized for t in inputs)
        if not (_is_quantized(out) or low_precision_input):
            continue
        scale, zero_point = out["quantization"]
        info = np.iinfo(out["dtype"]) if _is_quantized(out) else None
        # beyond the range by more than half a step: clipped by more than rounding would have moved it
        low = (info.min - zero_point - 0.5) * scale if info else -np.inf
        high = (info.max - zero_point + 0.5) * scale if info else np.inf
        watched[out["index"]] = twin["index"]
        stats[out["index"]] = _Accumulator(op["op_name"], np.dtype(out["dtype"]).name, float(scale), low, high)
    run_quantized = _signature_runner(q_interpreter)
    run_float = _signature_runner(f_interpreter)
    for sample in progress(samples, description="measuring per-layer error"):
        run_quantized(sample)
        run_float(sample)
        for q_idx, f_idx in watched.items():
            value = q_interpreter.get_tensor(q_idx)
            tensor = q_tensors[q_idx]
            if _is_quantized(tensor):
                scale, zero_point = tensor["quantization"]
                value = (value.astype(np.float64) - zero_point) * scale
            stats[q_idx].add(f_interpreter.get_tensor(f_idx), value)
    names = layer_names(model) if model is not None else ()
    errors = []
    for q_idx, acc in stats.items():
        if not acc.count:
            continue
        rmse = (acc.squared_error / acc.count) ** 0.5
        mean = acc.total / acc.count
        std = max(acc.total_squared / acc.count - mean ** 2, 0.0) ** 0.5
        name = q_tensors[q_idx]["name"]
        layer = _layers_of(name, names, model.kind) if model is not None else None
        errors.append(LayerError(
            tensor=name, op=acc.op, layer=layer, dtype=acc.dtype, scale=acc.scale, rmse=rmse,
            max_abs_error=acc.max_abs_error, relative_rmse=rmse / std if std > 0 else (0.0 if rmse == 0 else np.inf),
            outside_fraction=acc.outside / acc.count,
        ))
    errors.sort(key=lambda e: -e.relative_rmse)
    return errors


def _layers_of(tensor_name: str, names, flavour: str) -> Optional[str]:
    """Keras layers behind a (possibly fused, ``;``-joined) tensor name, producer first: ``"conv1+bn1+relu1"``."""
    found: List[str] = []
    for part in reversed(tensor_name.split(";")):
        layer = layer_for_node(part, names, flavour)
        if layer and layer not in found:
            found.append(layer)
    return "+".join(found) or None


def _is_quantized(tensor) -> bool:
    return np.dtype(tensor["dtype"]) in [np.dtype(t) for t in _QUANTIZED] and bool(tensor["quantization"][0])


def _signature_runner(interpreter):
    """Invoke by input name, quantizing float data for integer inputs (as LiteRTRunner.run does)."""

    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()

    def run(sample: Sample) -> None:
        runner(**{name: to_input(sample[name], details[name]) for name in details})

    return run
