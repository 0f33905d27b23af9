"""Quantized conversion as convert_and_verify runs it: check the data, quantize, measure layer by layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from .._quiet import quiet_tensorflow
from ..errors import QuantizationError, describe_error
from ..models.signature_model import SignatureModel
from ..passes.base import count_ops
from ..reports.quantization import QuantizationReport
from ..verification.samples import Sample
from .convert import quantize
from .layers import layer_errors
from .options import QuantizationOptions, require_calibration_source
from .representative import (
    COVERAGE_WARNING, calibration_report, input_coverage, representative_samples, require_finite,
)

FAKE_QUANT_OPS = ("FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel", "FakeQuantWithMinMaxArgs")
LOOP_OPS = ("While", "StatelessWhile")


@dataclass
class QuantizationOutcome:
    tflite: bytes
    report: QuantizationReport
    warnings: List[str] = field(default_factory=list)


def quantize_and_report(
    model: SignatureModel, options: QuantizationOptions, representative_data: Any,
    check_samples: Optional[Sequence[Sample]], *, real_samples: bool,
) -> QuantizationOutcome:
    """Quantize ``model``; with ``check_samples`` (fitted to the model), measure coverage and per-layer error."""
    ops = count_ops(model.graph_def())
    has_fake_quant = any(ops.get(op) for op in FAKE_QUANT_OPS)
    require_calibration_source(options, representative_data is not None, has_fake_quant)
    loops = sum(ops.get(op, 0) for op in LOOP_OPS)
    if options.calibrated and representative_data is not None and loops:
        raise QuantizationError(
            f"the model has {loops} loop(s) (WHILE, e.g. a recurrent layer), and TF 2.21's calibrator crashes the "
            "process (segmentation fault) on them. Pin the shapes and unroll the loops first: "
            "passes=[tff.passes.pin_input_shapes(...), tff.passes.unroll_rnns()], or use quantization='dynamic'"
        )
    report = QuantizationReport(options.mode, kept_float=list(options.keep_float))
    samples: List[Sample] = []
    if representative_data is not None:
        notes: List[str] = []
        pinning = model.pinning
        specs = pinning.reference_specs if pinning is not None else model.input_specs
        samples = representative_samples(specs, representative_data, notes)
        require_finite(specs, samples)  # before TF's calibrator, which an inf crashes (SIGSEGV)
        if pinning is not None and pinning.changes_lengths:
            samples = [pinning.fit(sample) for sample in samples]
            notes.append("representative samples were padded/truncated to the pinned shapes, as at inference")
        report.calibration = calibration_report(model.input_specs, samples, notes)
        if check_samples and real_samples:
            input_coverage(report.calibration, list(check_samples))
    elif has_fake_quant:
        report.notes.append("int8 ranges come from the fake-quant ranges learned in fine-tuning")
    quantized = quantize(model, options, samples, has_fake_quant=has_fake_quant, float_reference=bool(check_samples))
    report.float_ops = quantized.float_ops
    outcome = QuantizationOutcome(quantized.tflite, report)
    for entry in options.keep_float:
        if not any(op == entry or entry in tensor for op, tensor, why in quantized.float_ops if why == "keep_float"):
            outcome.warnings.append(
                f"keep_float '{entry}' matched no quantized op: give a TFLite op type that computes in int8 "
                "(CONV_2D, FULLY_CONNECTED, MEAN...; pooling and reshapes only pass quantization through) or a "
                "tensor name from result.quantization.layers"
            )
    if report.calibration is not None:
        outcome.warnings += report.calibration.warnings
    unasked = [op for op, _, why in quantized.float_ops if why != "keep_float"]
    if unasked:
        listed = ", ".join(sorted(set(unasked)))
        if listed:
            outcome.warnings.append(
                f"int8 model: {len(unasked)} op(s) stay float behind DEQUANTIZE/QUANTIZE ({listed}); "
                "see result.quantization.float_ops, or pass require_full_int8=True to make this an error"
            )
    if check_samples:
        try:
            with quiet_tensorflow():
                report.layers = layer_errors(quantized.tflite, quantized.float_reference, check_samples, model)
        except Exception as error:  # e.g. an op without an int16 kernel: LiteRT refuses to run the model
            outcome.warnings.append(
                f"per-layer error could not be measured: LiteRT could not run the {options.mode} model "
                f"({describe_error(error)}); verification below says which samples failed"
            )
        outcome.warnings += _activation_coverage_warnings(report, real_samples, options)
    return outcome


def _activation_coverage_warnings(report: QuantizationReport, real_samples: bool, options) -> List[str]:
    if not options.calibrated or report.calibration is None:
        return []
    uncovered = sorted((e for e in report.layers if e.outside_fraction > COVERAGE_WARNING),
                       key=lambda e: -e.outside_fraction)
    if not uncovered or not real_samples:
        return []
    worst = ", ".join(f"{e.layer or e.tensor.split(';')[0]} {e.outside_fraction:.1%}" for e in uncovered[:3])
    return [
        f"calibration does not cover the verification data at {len(uncovered)} quantized activation(s): values "
        f"fall outside the calibrated range (worst: {worst}) and are clipped. Calibrate on representative data "
        "drawn like the inputs the model will see"
    ]
