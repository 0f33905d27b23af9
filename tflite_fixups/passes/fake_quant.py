"""insert_fake_quant: a Keras model -> the same model with fake quantization, for quantization-aware fine-tuning."""

from __future__ import annotations

from numbers import Real
from typing import Any, Dict, Iterable, List, Tuple, Union

from ..errors import InvalidInputError
from ..models.pinning import attach_pinning, pinning_of
from ..quantization.fake_quant import (
    FIXED,
    FLOAT,
    FOLDED,
    NONE,
    NUM_BITS,
    PASS,
    CallPlan,
    FakeQuantOptions,
    FakeQuantRebuild,
    rebuild_with_fake_quant,
)
from .base import Pass, PassContext, PassReport, PassResult, Replacement


class InsertFakeQuant(Pass):
    """Rebuild a Keras model with fake quantization, ready for ``model.fit`` (quantization-aware fine-tuning).

    The returned model (same Keras flavour, Sequential stays Sequential) has:

    - Conv1D/Conv2D/DepthwiseConv2D weights fake-quantized per output channel,
      Dense per tensor, all symmetric in [-127, 127] like TFLite int8 weights;
    - activation ranges (asymmetric 8-bit) learned as an exponential moving
      average of the batch min/max while training and fixed at inference, after
      the model inputs, Conv/Dense (after their activation), BatchNormalization,
      merges (Add, Concatenate...), pooling, UpSampling, Rescaling and
      activation layers; fixed ranges after sigmoid, tanh and softmax;
    - each BatchNormalization that directly follows a Conv/Dense (its only
      consumer) folded into it (inference form);
    - every layer it does not cover (LSTM, attention, Lambda, custom layers...)
      left float, with a fake quant on its output where a quantized layer reads it.

    Converting the fine-tuned model with int8 quantization and no
    representative data (``tff.convert_and_verify(..., quantization="int8")``)
    uses the learned ranges. The user's model is not modified.
    """

    name = "insert_fake_quant"

    def __init__(
        self, *, num_bits: int = NUM_BITS, ema_decay: float = 0.999, per_channel: bool = True,
        fold_batch_norm: bool = True, skip: Union[str, Iterable[str]] = (), calibration_data: Any = None,
    ):
        super().__init__()
        if isinstance(num_bits, bool) or num_bits != NUM_BITS:
            raise InvalidInputError(
                f"num_bits must be 8, got {num_bits!r}: TFLite's int8 kernels take 8-bit ranges only (TF 2.21's "
                "converter rejects other fake-quant widths)"
            )
        if isinstance(ema_decay, bool) or not isinstance(ema_decay, Real) or not 0.0 <= float(ema_decay) < 1.0:
            raise InvalidInputError(f"ema_decay must be a number in [0, 1), got {ema_decay!r}")
        for argument, value in (("per_channel", per_channel), ("fold_batch_norm", fold_batch_norm)):
            if not isinstance(value, bool):
                raise InvalidInputError(f"{argument} must be True or False, got {value!r}")
        names = (skip,) if isinstance(skip, str) else tuple(skip or ())
        if not all(isinstance(n, str) and n for n in names):
            raise InvalidInputError(f"skip must be layer names, got {skip!r}")
        self.options = FakeQuantOptions(per_channel, fold_batch_norm, float(ema_decay), names, num_bits)
        self.calibration_data = calibration_data

    def call(self, model: Any, context: PassContext) -> PassResult:
        rebuild = rebuild_with_fake_quant(model, self.options, self.calibration_data)
        report = _report(self.name, rebuild)
        if not report.changed:
            return PassResult(model, report)
        attach_pinning(rebuild.model, pinning_of(model))
        return PassResult(rebuild.model, report)


def insert_fake_quant(
    *, num_bits: int = NUM_BITS, ema_decay: float = 0.999, per_channel: bool = True, fold_batch_norm: bool = True,
    skip: Union[str, Iterable[str]] = (), calibration_data: Any = None,
) -> InsertFakeQuant:
    """A pass that returns a fake-quant copy of a Keras model, to fine-tune before int8 conversion.

    Args:
        num_bits: 8; TFLite's int8 kernels take no other width.
        ema_decay: decay of the moving average of the activation ranges per training step.
        per_channel: convolution weights per output channel (False: one range per kernel).
        fold_batch_norm: fold each BatchNormalization that directly follows a Conv/Dense into it.
        skip: names of layers (or nested models) to leave float.
        calibration_data: optional real inputs (an array, a list/dict of arrays, a
            ``tf.data.Dataset`` or an iterable of batches; ``(x, y)`` pairs are fine)
            that set the activation ranges before fine-tuning. Without it the
            first training batch sets them, and until then they are [-6, 6].

    Example:
        >>> qat = tff.passes.insert_fake_quant(calibration_data=x_train[:256])(model)  # doctest: +SKIP
        >>> qat.compile("adam", "sparse_categorical_crossentropy")                     # doctest: +SKIP
        >>> qat.fit(x_train, y_train, epochs=2)                                        # doctest: +SKIP
        >>> result = tff.convert_and_verify(qat, quantization="int8", sample_inputs=x_test[:32])  # doctest: +SKIP
    """
    return InsertFakeQuant(
        num_bits=num_bits, ema_decay=ema_decay, per_channel=per_channel, fold_batch_norm=fold_batch_norm,
        skip=skip, calibration_data=calibration_data,
    )


def _report(name: str, rebuild: FakeQuantRebuild) -> PassReport:
    """Which layers were quantized, folded and left float, and why."""
    report = PassReport(name, changed=False)
    plans, calls = _one_plan_per_layer(rebuild.plans)
    quantized = [p for p in plans if p.quantized]
    folded = [p for p in plans if p.role == FOLDED]
    left_float = [p for p in plans if p.role == FLOAT]
    carried = [p for p in plans if p.role == PASS]
    for plan in quantized:
        details = _details(plan)
        if calls[id(plan.layer)] > 1:
            details["calls"] = calls[id(plan.layer)]
        report.replacements.append(Replacement(
            plan.label, type(plan.layer).__name__, f"fake-quant {type(plan.layer).__name__}", details
        ))
    for plan in folded:
        report.replacements.append(Replacement(
            plan.label, type(plan.layer).__name__, f"folded into '{plan.folded_into.label}'",
            {"form": "inference (moving mean and variance)"},
        ))
    for input_name, quantizer in rebuild.input_quantizers.items():
        report.replacements.append(Replacement(input_name, "input", f"fake quant '{quantizer}' after it",
                                               {"output": "range learned (EMA)"}))
    for source, quantizer in rebuild.entry_quantizers.items():
        report.replacements.append(Replacement(
            source, "float output", f"fake quant '{quantizer}' after it",
            {"why": "a quantized layer reads this float layer's output"},
        ))
    for plan in left_float:
        report.notes.append(f"left float: {type(plan.layer).__name__} '{plan.label}' ({plan.reason})")
    if carried:
        listed = ", ".join(f"{type(p.layer).__name__} '{p.label}'" for p in carried)
        report.notes.append(f"carry their input's quantization (no range of their own): {listed}")
    if rebuild.inlined:
        report.notes.append(f"nested models inlined: {', '.join(dict.fromkeys(rebuild.inlined))}")
    report.changed = bool(quantized or rebuild.input_quantizers or rebuild.entry_quantizers)
    if not report.changed:
        report.notes.append("nothing to quantize: no layer of the model is covered by fake quantization")
        return report
    report.notes.insert(0, (
        f"quantized {len(quantized)} layer(s), folded {len(folded)} BatchNormalization, left {len(left_float)} "
        "layer(s) float"
    ))
    if rebuild.calibration_batches:
        report.notes.append(f"activation ranges calibrated on {rebuild.calibration_batches} batch(es)")
    else:
        report.warnings.append(
            "activation ranges start at [-6, 6] and are set by the first training batch: fine-tune (model.fit) or "
            "pass calibration_data=... before converting"
        )
    report.metrics.update({
        "quantized_layers": len(quantized), "folded_batch_norms": len(folded), "float_layers": len(left_float),
        "activation_quantizers": _count_activation_quantizers(plans, rebuild),
    })
    return report


def _one_plan_per_layer(plans: List[CallPlan]) -> Tuple[List[CallPlan], Dict[int, int]]:
    """The first call of each layer (a shared layer is reported once), and how often each layer is called."""
    calls: Dict[int, int] = {}
    first = []
    for plan in plans:
        calls[id(plan.layer)] = calls.get(id(plan.layer), 0) + 1
        if calls[id(plan.layer)] == 1:
            first.append(plan)
    return first, calls


def _details(plan: CallPlan) -> dict:
    settings = plan.settings
    details = {}
    kind = type(plan.layer).__name__
    if kind == "Dense":
        details["weights"] = "int8 per tensor, symmetric"
    elif kind in ("Conv1D", "Conv2D", "DepthwiseConv2D"):
        details["weights"] = f"int8 {'per channel' if settings.per_channel else 'per tensor'}, symmetric"
    elif kind in ("BatchNormalization", "Rescaling"):
        details["runs as"] = "1x1 depthwise convolution (int8)"
    if plan.folds is not None:
        details["folded"] = plan.folds.label
    if settings.pre_activation:
        details["pre-activation"] = "range learned (EMA)"
    details["output"] = (f"quantized by '{plan.quantized_by}'" if settings.output == NONE
                         else settings.describe_output())
    return details


def _count_activation_quantizers(plans: List[CallPlan], rebuild: FakeQuantRebuild) -> int:
    per_layer = sum((p.settings.output not in (NONE, FIXED)) + p.settings.pre_activation
                    + (type(p.layer).__name__ == "Average") for p in plans if p.quantized)
    return per_layer + len(rebuild.input_quantizers) + len(rebuild.entry_quantizers)


__all__: Tuple[str, ...] = ("InsertFakeQuant", "insert_fake_quant")
