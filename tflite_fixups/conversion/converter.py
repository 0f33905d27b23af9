"""convert() and convert_and_verify(): passes, then the TFLite converter, then LiteRT."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from .._api import public_api
from .._quiet import import_tensorflow, quiet_tensorflow
from ..models.loading import in_memory, load_model
from ..models.signature_model import SignatureModel
from ..models.value_ranges import random_sample_ranges
from ..models.specs import InputSpecsArg
from ..passes.base import PassLike, as_pass_list
from ..passes.pipeline import Pipeline, PipelineRun, Stage, pipeline_stages
from ..reports.result import ConversionResult
from ..models.pinning import ShapePinning
from ..quantization.options import QuantizationOptions, quantization_options
from ..quantization.run import quantize_and_report
from ..verification.pinning import length_samples, sample_lengths
from ..verification.samples import Sample, SampleSet, collect_samples
from ..verification.verify import (
    DEFAULT_ATOL,
    DEFAULT_NUM_RANDOM_SAMPLES,
    DEFAULT_RTOL,
    FROZEN_STAGE,
    check_tolerances,
    frozen_stage_model,
    verify_stages,
)
from .errors import conversion_error
from .flatbuffer import flex_ops, op_counts
from .io_contract import write_io_contract
from .metadata import embed_pinning

tf = import_tensorflow()


@dataclass(frozen=True)
class _VerifyOptions:
    sample_inputs: Any
    atol: float
    rtol: float
    num_random_samples: int
    seed: int


@public_api
def convert_and_verify(
    model: Any,
    passes: Sequence[PassLike] = (),
    *,
    input_specs: InputSpecsArg = None,
    sample_inputs: Any = None,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    quantization: Optional[str] = None,
    representative_data: Any = None,
    int8_io: bool = False,
    keep_float: Iterable[str] = (),
    require_full_int8: bool = False,
    allow_select_tf_ops: bool = False,
    num_random_samples: int = DEFAULT_NUM_RANDOM_SAMPLES,
    seed: int = 0,
) -> ConversionResult:
    """Apply ``passes``, convert to TFLite with builtin ops, and check outputs against the original.

    Args:
        model: a Keras 3 or tf-keras model, a ``tf.function`` with an input
            signature, a ``ConcreteFunction``, a SavedModel directory, or a
            ``.keras``/``.h5`` path (loaded in Keras safe mode).
        passes: passes (or a :class:`~tflite_fixups.Pipeline`) applied in order.
        input_specs: pin the signature: a shape or ``tf.TensorSpec`` for one
            input, a list in input order, or a dict by input name. Without it a
            ``None`` batch axis becomes 1 and other ``None`` axes stay dynamic.
        sample_inputs: one sample (array, list in input order, dict by name) or
            an iterable / zero-argument callable yielding samples. Without it,
            ``num_random_samples`` random samples are drawn and the report says so.
        atol, rtol: an output matches when ``|tflite - original| <= atol + rtol * |original|``.
            Default 1e-4 each in float; with quantization, the mode's own
            (float16 1e-2, dynamic 5e-2, int16x8 2e-2, int8 0.1).
        quantization: ``"dynamic"`` (int8 weights), ``"float16"``, ``"int8"``
            (full integer) or ``"int16x8"``; the result is verified against the
            float original and ``result.quantization`` holds the per-layer error.
        representative_data: calibration data for ``"int8"``/``"int16x8"``, in
            any form (generator function, iterable, tf.data.Dataset, array whose
            first axis is samples, dict by input name; ``(x, y)`` pairs lose y).
            A fake-quant fine-tuned model needs none.
        int8_io: int8 inputs and outputs (``"int8"``); LiteRTRunner quantizes
            and dequantizes them with their scale and zero point.
        keep_float: TFLite op types (``"MEAN"``) or tensor names (from
            ``result.quantization.layers``) to leave in float (``"int8"``).
        require_full_int8: raise QuantizationError when any op stays float.
        allow_select_tf_ops: let the converter emit Select-TF ("Flex") ops. Such
            a model cannot run in LiteRT's Python interpreter, so it is returned
            unverified (``ok`` False) with a warning.

    Returns:
        a :class:`ConversionResult`: ``ok`` is True only when the model converted
        AND every output matched within tolerance.

    Raises:
        ConversionError: the converter rejected the model; ``.unsupported_ops``
            says which ops, where from, and which pass fixes each.
        QuantizationError: ``require_full_int8`` and ops stayed float.

    Example:
        >>> result = tff.convert_and_verify(model, sample_inputs=x[:8])  # doctest: +SKIP
        >>> result.ok                                                    # doctest: +SKIP
        True
        >>> int8 = tff.convert_and_verify(model, sample_inputs=x_test[:64], quantization="int8",
        ...                               representative_data=x_train[:200])  # doctest: +SKIP
    """
    options = quantization_options(
        quantization, int8_io=int8_io, keep_float=keep_float, require_full_int8=require_full_int8,
        has_representative_data=representative_data is not None,
    )
    default_atol, default_rtol = options.tolerances() if options else (DEFAULT_ATOL, DEFAULT_RTOL)
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    check_tolerances(atol, rtol)
    return _convert(
        model, passes, input_specs=input_specs, quantization=options, representative_data=representative_data,
        allow_select_tf_ops=allow_select_tf_ops,
        verification=_VerifyOptions(sample_inputs, atol, rtol, num_random_samples, seed),
    )


@public_api
def convert(
    model: Any,
    passes: Sequence[PassLike] = (),
    *,
    input_specs: InputSpecsArg = None,
    quantization: Optional[str] = None,
    representative_data: Any = None,
    int8_io: bool = False,
    keep_float: Iterable[str] = (),
    require_full_int8: bool = False,
    allow_select_tf_ops: bool = False,
) -> ConversionResult:
    """Like :func:`convert_and_verify` without the check: ``result.ok`` stays False.

    Example:
        >>> result = tff.convert(model)                          # doctest: +SKIP
        >>> report = tff.verify(model, result, sample_inputs=x)  # doctest: +SKIP
    """
    options = quantization_options(
        quantization, int8_io=int8_io, keep_float=keep_float, require_full_int8=require_full_int8,
        has_representative_data=representative_data is not None,
    )
    return _convert(
        model, passes, input_specs=input_specs, quantization=options, representative_data=representative_data,
        allow_select_tf_ops=allow_select_tf_ops, verification=None,
    )


def _convert(
    model, passes, *, input_specs, quantization: Optional[QuantizationOptions], representative_data,
    allow_select_tf_ops, verification: Optional[_VerifyOptions],
) -> ConversionResult:
    passes = passes if isinstance(passes, Pipeline) else as_pass_list(passes)  # bad passes fail before any work
    original = load_model(model, input_specs)
    model = in_memory(model, original)  # a file is loaded once; passes work on what was loaded from it
    samples = None
    if verification is not None:  # bad samples fail here, before any pass or conversion runs
        sample_specs = original.pinning.reference_specs if original.pinning else original.input_specs
        samples = collect_samples(
            sample_specs, verification.sample_inputs, num_random=verification.num_random_samples,
            seed=verification.seed,
            value_ranges=random_sample_ranges(original) if verification.sample_inputs is None else None,
        )
    user_samples = samples.samples if samples is not None and samples.source == "user" else None
    run = (pipeline_stages(passes, model, input_specs, traced=original, sample_inputs=user_samples) if passes
           else PipelineRun(model, [Stage("original", model)]))
    stages = _load_stages(run, original, input_specs)
    final = stages[-1][1]
    if final is None:
        final = load_model(run.model, input_specs)
    pinning = final.pinning
    if pinning is not None and samples is not None and samples.source == "random" and pinning.changes_lengths:
        samples = _pinning_probe_samples(pinning, verification)
    start = time.perf_counter()
    quantized = None
    if quantization is None:
        tflite_bytes = convert_signature_model(final, allow_select_tf_ops=allow_select_tf_ops)
    else:
        check = None if samples is None else [pinning.fit(s) if pinning else s for s in samples.samples]
        quantized = quantize_and_report(
            final, quantization, representative_data, check, real_samples=samples is not None and samples.source == "user"
        )
        tflite_bytes = quantized.tflite
    seconds = time.perf_counter() - start
    if pinning is not None:
        tflite_bytes = embed_pinning(tflite_bytes, pinning)
    counts = op_counts(tflite_bytes)
    result = ConversionResult(
        tflite_model=tflite_bytes, input_specs=list(final.input_specs), output_names=list(final.output_names),
        ops=counts, passes=run.reports, conversion_seconds=seconds, pinning=pinning,
        quantization=quantized.report if quantized else None,
    )
    _static_warnings(result, final)
    if quantized is not None:
        result.warnings += quantized.warnings
    if samples is None:
        result.warnings.append("not verified: use convert_and_verify() or tff.verify() to compare with the original")
        return result
    result.verification = verify_stages(
        _with_frozen_stage(stages), tflite_bytes, samples, atol=verification.atol, rtol=verification.rtol,
        counts=counts, pinning=pinning,
    )
    if samples.source == "random":
        result.warnings.extend(samples.notes)
    result.warnings.extend(samples.warnings)
    result.warnings.extend(result.verification.warnings)  # random outputs not compared, outputs too small to judge
    failures = result.verification.sample_failures
    if result.verification.skipped:
        result.warnings.append(result.verification.skipped)
    elif failures:
        result.warnings.append(
            f"{len(failures)} sample run(s) failed and were not compared ({failures[0]}); see "
            "result.verification.sample_failures"
        )
    if not result.verification.skipped and result.verification.diverging_outputs:
        result.warnings.append(f"outputs diverge from the original: {result.verification.diverging_outputs}")
        pinning_report = result.verification.pinning
        if pinning_report is not None and (pinning_report.max_pinning_error or 0) > verification.atol:
            result.warnings.append(
                f"shape pinning causes most of it: padding/truncation moves the outputs by up to "
                f"{pinning_report.max_pinning_error:.3g} before conversion (conversion itself adds "
                f"{pinning_report.max_conversion_error:.3g}); see result.verification.pinning"
            )
    return result


def _pinning_probe_samples(pinning: ShapePinning, options: _VerifyOptions) -> SampleSet:
    """Random samples shorter than, as long as and longer than the pinned lengths (about ``num_random_samples``)."""
    found: List[Sample] = []
    rounds = 0
    while len(found) < options.num_random_samples:
        found += length_samples(pinning, pinning.reference_specs, seed=options.seed + rounds)
        rounds += 1
    lengths = sorted({str(sample_lengths(pinning, s)) for s in found})
    return SampleSet(found, "random", [
        f"no sample_inputs given: verified on {len(found)} random samples (seed {options.seed}) at lengths "
        f"shorter than, equal to and longer than the pinned ones ({', '.join(lengths)}); pass real data "
        "for a meaningful check"
    ])


def _load_stages(run: PipelineRun, original: SignatureModel, input_specs) -> List[Tuple[str, Optional[SignatureModel]]]:
    """Each stage as a SignatureModel; an unchanged stage reuses the one before it, a traced one its trace."""
    loaded: List[Tuple[str, Optional[SignatureModel]]] = [("original", original)]
    previous_model, previous_loaded = run.stages[0].model, original
    for stage in run.stages[1:]:
        traced = run.context.traced.get(id(stage.model)) if run.context is not None else None
        if stage.model is previous_model:
            current = previous_loaded
        elif traced is not None and traced.source is stage.model:
            current = traced
        else:
            try:
                current = load_model(stage.model, input_specs)
            except Exception:  # reported as "could not be loaded"; the final model is retried loudly
                current = None
        loaded.append((stage.pass_name, current))
        previous_model, previous_loaded = stage.model, current
    return loaded


def _with_frozen_stage(stages: List[Tuple[str, Optional[SignatureModel]]]) -> List[Tuple[str, Optional[SignatureModel]]]:
    """The stages with the original frozen (variables as constants, as the converter and graph passes see it)
    compared first, so error from freezing shows on its own row; left out when shapes are pinned (the reference
    then runs at each sample's own shape, and freezing it at every shape would cost more than it tells)."""
    if any(model is not None and model.pinning is not None for _, model in stages):
        return list(stages)
    try:
        frozen = frozen_stage_model(stages[0][1])
    except Exception:  # a model that cannot be frozen: its row says it could not be compared
        frozen = None
    return [stages[0], (FROZEN_STAGE, frozen)] + list(stages[1:])


def _static_warnings(result: ConversionResult, final: SignatureModel) -> None:
    for spec in final.input_specs:
        if spec.dynamic_axes:
            result.warnings.append(
                f"input '{spec.name}' keeps dynamic axes {list(spec.dynamic_axes)}: some delegates and "
                "microcontroller runtimes need static shapes (pin them with input_specs)"
            )
    flex = flex_ops(result.ops)
    if flex:
        result.warnings.append(f"uses Select-TF (Flex) ops {flex}: the app must link the Flex delegate")


def convert_signature_model(
    model: SignatureModel, *, allow_select_tf_ops: bool = False, configure: Optional[Callable[[Any], None]] = None
) -> bytes:
    """Convert a :class:`SignatureModel` to .tflite bytes with one ``serving_default`` signature.

    The function is frozen first (variables become constants, which int8
    calibration needs) and converted through the converter's frozen-graph
    route, which keeps the inputs in the model's argument order (the outputs
    come in tf.nest's order and are put in the model's). Its SavedModel route would order
    inputs by its own graph walk, and it depends on saving the function,
    which Keras 3's custom gradients (SiLU) make fail. The model's names and
    a SignatureDef listing them in that order are then written into the file
    (:func:`~tflite_fixups.conversion.io_contract.write_io_contract`).

    ``configure(converter)`` may set more converter options (quantization) before it runs.

    The bytes are checked by :func:`~tflite_fixups.conversion.flatbuffer.read_tflite`
    like any .tflite, so nothing the converter writes reaches LiteRT unchecked.

    Raises:
        ConversionError: with each rejected op, its origin and its fix.
        InvalidInputError: a tensor of the converted model cannot fit in the memory free.
    """
    frozen = model.frozen_function()
    # the frozen function returns its outputs flat, in tf.nest's order (the output dict's keys sorted);
    # converted as it is, not called from a wrapper, whose call would prefix every tensor name again
    flat_names = tf.nest.flatten({name: name for name in model.output_names})

    with quiet_tensorflow() as log:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
        converter.experimental_lower_to_saved_model = False  # the frozen-graph route (see above)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] + (
            [tf.lite.OpsSet.SELECT_TF_OPS] if allow_select_tf_ops else []
        )
        if configure is not None:
            configure(converter)
        try:
            with warnings.catch_warnings():  # calibration runs TF's own, deprecated, interpreter
                warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
                # int8 I/O takes its scale from calibration; TF warns that nobody gave it one by hand
                warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
                converted = converter.convert()
        except Exception as error:  # ConverterError and the converter's own crashes alike
            failure = error
        else:  # LiteRT runs what the converter writes: checked like any other .tflite (a tensor too big, a bug)
            return write_io_contract(converted, model.input_names, list(model.output_names),
                                     converted_output_names=flat_names)
    raise conversion_error(failure, model, log.text) from failure
