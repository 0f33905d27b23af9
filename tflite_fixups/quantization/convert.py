"""Quantized conversion: converter settings per mode, calibration once, re-quantization with ops kept float."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._progress import progress
from .._quiet import import_tensorflow, quiet_tensorflow
from ..conversion.flatbuffer import read_tflite
from ..errors import QuantizationError
from ..models.signature_model import SignatureModel
from ..verification.samples import Sample
from .options import QuantizationOptions

tf = import_tensorflow()

FloatOp = Tuple[str, str, str]
#: ops that only move data between float and integer: never "left in float"
_BOUNDARY_OPS = {"QUANTIZE", "DEQUANTIZE"}


@dataclass
class QuantizedModel:
    """The quantized .tflite, the float .tflite it is compared with layer by layer, and what stayed float."""

    tflite: bytes
    float_reference: Optional[bytes]
    float_ops: List[FloatOp] = field(default_factory=list)


def quantize(
    model: SignatureModel, options: QuantizationOptions, samples: Sequence[Sample], *, has_fake_quant: bool,
    float_reference: bool = True,
) -> QuantizedModel:
    """Convert ``model`` as ``options`` ask; ``samples`` are the representative samples (calibrated modes).

    int8 with representative data calibrates once (the converter's
    calibrate-only step) and then quantizes with TFLite's MLIR quantizer, which
    can leave ``keep_float`` ops and tensors in float without recalibrating.
    A model fine-tuned with fake-quant ops and given no representative data
    is quantized with the ranges it learned. ``float_reference=False`` skips
    the float conversion that per-layer error needs (calibration gives it free).

    Raises:
        ConversionError: the converter rejected the model.
        QuantizationError: ``require_full_int8`` and some ops stayed float.
    """
    from ..conversion.converter import convert_signature_model

    def dataset():  # a list in input order: the frozen-graph route's model has no SignatureDef yet
        for sample in progress(samples, description=f"calibrating ({options.mode})"):
            yield [np.asarray(sample[name]) for name in model.input_names]

    def optimise(converter) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def plain() -> Optional[bytes]:
        return convert_signature_model(model) if float_reference else None

    if options.mode == "dynamic":
        return QuantizedModel(convert_signature_model(model, configure=optimise), plain())
    if options.mode == "float16":
        def float16(converter):
            optimise(converter)
            converter.target_spec.supported_types = [tf.float16]

        return QuantizedModel(convert_signature_model(model, configure=float16), plain())
    if options.mode == "int16x8":
        def int16x8(converter):
            optimise(converter)
            converter.representative_dataset = dataset
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS,
            ]

        return QuantizedModel(convert_signature_model(model, configure=int16x8), plain())
    if not samples:  # int8 from fake-quant ranges (quantization-aware training)
        def learned(converter):  # asking for INT8 builtins would demand a representative dataset
            optimise(converter)
            if options.int8_io:
                converter.inference_input_type = converter.inference_output_type = tf.int8

        quantized = QuantizedModel(convert_signature_model(model, configure=learned), plain())
    else:
        def calibrate_only(converter):
            optimise(converter)
            converter.representative_dataset = dataset
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
            converter._experimental_calibrate_only = True  # no public way to calibrate once and quantize twice

        calibrated = convert_signature_model(model, configure=calibrate_only)
        quantized = QuantizedModel(requantize(calibrated, options), calibrated)
    quantized.float_ops = float_ops(quantized.tflite, options)
    if options.require_full_int8 and quantized.float_ops:
        listed = "; ".join(f"{op} producing '{tensor}' ({why})" for op, tensor, why in quantized.float_ops)
        raise QuantizationError(
            f"require_full_int8=True, but {len(quantized.float_ops)} op(s) stayed float: {listed}. Replace them "
            "(e.g. a different activation), or drop require_full_int8 to accept float fallback",
            float_ops=quantized.float_ops,
        )
    return quantized


def requantize(calibrated: bytes, options: QuantizationOptions) -> bytes:
    """Quantize a calibrated float model to int8, leaving ``options.keep_float`` ops and tensors in float."""
    from tensorflow.lite.python import convert as tflite_convert  # the converter's own quantizer entry point

    io_type = tf.int8 if options.int8_io else tf.float32
    with quiet_tensorflow():
        quantized = tflite_convert.mlir_quantize(
            calibrated,
            fully_quantize=options.int8_io,
            input_data_type=io_type,
            output_data_type=io_type,
            denylisted_ops=list(options.keep_float_ops) or None,
            denylisted_nodes=list(options.keep_float_nodes) or None,
        )
    return read_tflite(quantized, what="the quantized model")  # checked before LiteRT runs it, as converted ones are


def float_ops(tflite_model: bytes, options: QuantizationOptions) -> List[FloatOp]:
    """Ops of an int8 model that compute in float: (op, output tensor, why)."""
    from ..verification.litert import open_interpreter

    interpreter = open_interpreter(tflite_model, default_delegates=False)  # a delegate hides the ops it takes
    tensors: Dict[int, Dict] = {t["index"]: t for t in interpreter.get_tensor_details()}
    kept_ops, kept_nodes = set(options.keep_float_ops), set(options.keep_float_nodes)
    found = []
    for op in interpreter._get_ops_details():  # no public per-op listing in LiteRT's Python API
        if op["op_name"] in _BOUNDARY_OPS:
            continue
        outputs = [tensors[i] for i in op["outputs"] if i in tensors]
        if not outputs or not any(np.dtype(t["dtype"]) == np.float32 for t in outputs):
            continue
        name = outputs[0]["name"]
        if op["op_name"] in kept_ops or any(node in name for node in kept_nodes):
            why = "keep_float"
        else:
            why = "no int8 kernel for it in TFLite, or the quantizer could not quantize it"
        found.append((op["op_name"], name, why))
    return found
