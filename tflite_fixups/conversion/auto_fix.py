"""auto_fix(): diagnose, choose and order the passes, convert, verify, and say why each pass was applied."""

from __future__ import annotations

import inspect
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .._api import public_api
from ..errors import ConversionError, InvalidInputError
from ..models import keras_compat
from ..models.loading import in_memory, load_model
from ..models.specs import InputSpecsArg, resolve_input_specs
from ..passes.base import Pass
from ..passes.replace_ops import replace_unsupported_ops
from ..passes.shapes import pin_input_shapes
from ..quantization.options import quantization_options
from ..verification.samples import check_random_sampling
from ..verification.verify import DEFAULT_NUM_RANDOM_SAMPLES, check_tolerances
from ..reports.result import ConversionResult
from ..rewrites.registry import PASS_NAME as REPLACE_PASS
from .converter import convert_and_verify
from .diagnose import diagnose


@public_api
def auto_fix(
    model: Any,
    *,
    input_specs: InputSpecsArg = None,
    sample_inputs: Any = None,
    quantization: Optional[str] = None,
    representative_data: Any = None,
    **options: Any,
) -> ConversionResult:
    """Convert ``model`` with whatever passes it needs, verified, without naming a pass.

    Order: pin shapes first (where ``input_specs`` pins a dynamic non-batch
    axis: padded/truncated, and masked for Keras models), then rewrite the ops
    the converter rejects (``replace_unsupported_ops`` with the whole rule set, so
    what one rewrite leaves for another is lowered too), then
    convert and verify, quantizing when asked. ``result.passes`` lists what
    was applied, each report opening with why.

    Args:
        model, input_specs, sample_inputs, quantization, representative_data:
            as for :func:`tflite_fixups.convert_and_verify`; further keyword
            options (``atol``, ``int8_io``, ``keep_float``...) go to it unchanged.

    Raises:
        ConversionError: something is still unfixable; it lists each op left,
            its layer/node and what could be done.

    Example:
        >>> result = tff.auto_fix(model, input_specs=[(1, 30, 16)], sample_inputs=sequences)  # doctest: +SKIP
        >>> [report.name for report in result.passes]                                        # doctest: +SKIP
        ['pin_input_shapes', 'replace_unsupported_ops']
    """
    _check_options(quantization, representative_data, options)  # before diagnose converts anything
    chosen: List[Tuple[Pass, str]] = []
    loaded = load_model(model)  # traced once for both questions below
    model = in_memory(model, loaded)
    pinning = _pin_pass(model, loaded, input_specs)
    if pinning is not None:
        chosen.append(pinning)
    diagnosis = diagnose(loaded, None if pinning is not None else input_specs)
    rewritable = sorted({op.op_type for op in diagnosis.unsupported_ops if op.fix == REPLACE_PASS})
    if rewritable:
        where = ", ".join(sorted({f"{op.op_type} in {op.layer or op.node}" for op in diagnosis.unsupported_ops
                                  if op.fix == REPLACE_PASS}))
        # the whole rule set, not only=rewritable: a rewrite can leave an op that another rule lowers
        # (an FFT2D rule's complex input, tf.complex(...), has a rule of its own)
        chosen.append((replace_unsupported_ops(),
                       f"the converter rejects {', '.join(rewritable)} ({where}); rules rewrite them into builtins"))
    try:
        result = convert_and_verify(
            model, [p for p, _ in chosen], input_specs=None if pinning is not None else input_specs,
            sample_inputs=sample_inputs, quantization=quantization, representative_data=representative_data, **options,
        )
    except ConversionError as error:
        applied = ", ".join(p.name for p, _ in chosen) or "no pass"
        error.add_note(f"auto_fix applied {applied}; what is listed above is left. {_advice(error)}")
        raise
    for report, (_, why) in zip(result.passes, chosen):
        report.notes.insert(0, f"auto_fix chose it: {why}")
    return result


def _check_options(quantization: Optional[str], representative_data: Any, options: Dict[str, Any]) -> None:
    """The options convert_and_verify will get, checked now, so a typo costs no diagnosis."""
    allowed = set(inspect.signature(convert_and_verify).parameters) - {
        "model", "passes", "input_specs", "sample_inputs", "quantization", "representative_data"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInputError(f"auto_fix got unknown option(s) {unknown}; it takes {sorted(allowed)}")
    quantization_options(
        quantization, int8_io=options.get("int8_io", False), keep_float=options.get("keep_float", ()),
        require_full_int8=options.get("require_full_int8", False),
        has_representative_data=representative_data is not None,
    )
    if options.get("atol") is not None or options.get("rtol") is not None:
        check_tolerances(options.get("atol") or 0.0, options.get("rtol") or 0.0)
    check_random_sampling(options.get("num_random_samples", DEFAULT_NUM_RANDOM_SAMPLES), options.get("seed", 0))


def _pin_pass(model: Any, loaded: Any, input_specs: InputSpecsArg) -> Optional[Tuple[Pass, str]]:
    """A pin pass when ``input_specs`` fixes an axis (other than the batch) that the model leaves dynamic."""
    if input_specs is None:
        return None
    native = loaded.native_input_specs
    requested = resolve_input_specs(native, input_specs)
    pinned = [
        (spec.name, axis) for own, spec in zip(native, requested)
        for axis, (was, now) in enumerate(zip(own.shape, spec.shape)) if axis and was is None and now is not None
    ]
    if not pinned:
        return None
    keras_model = keras_compat.keras_flavour(model) is not None
    axes = ", ".join(f"'{name}' axis {axis}" for name, axis in pinned)
    why = (f"input_specs pins {axes}, dynamic in the model: inputs are padded/truncated"
           + (" and the padding masked" if keras_model else ""))
    return pin_input_shapes(input_specs, mask=keras_model), why


def _advice(error: ConversionError) -> str:
    no_rule = sorted({op.op_type for op in error.unsupported_ops if not op.fix})
    hints: Iterable[str] = list(error.hints)
    parts = []
    if no_rule:
        parts.append(
            f"No rewrite rule exists for {', '.join(no_rule)}: replace it in the model, register a rule with "
            "tff.rewrites.rewrite_rule, or convert with allow_select_tf_ops=True if your runtime links Flex"
        )
    parts += list(hints)
    return " ".join(parts)
