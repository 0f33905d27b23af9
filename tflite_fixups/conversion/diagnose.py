"""diagnose(): ask the converter what it rejects, without producing a file."""

from __future__ import annotations

from typing import Any, List

from .._api import public_api
from ..errors import ConversionError
from ..models.loading import load_model
from ..models.specs import InputSpecsArg
from ..reports.diagnosis import Diagnosis
from .converter import convert_signature_model
from .hints import SHAPE_PASS


@public_api
def diagnose(model: Any, input_specs: InputSpecsArg = None) -> Diagnosis:
    """List what keeps ``model`` from converting with builtin TFLite ops, and what fixes it.

    Runs the converter in memory (builtin ops only) and reads its structured
    errors; never raises for an unconvertible model.

    Example:
        >>> d = tff.diagnose(model)          # doctest: +SKIP
        >>> [op.op_type for op in d.unsupported_ops]   # doctest: +SKIP
        ['SelfAdjointEigV2']
        >>> d.suggested_passes               # doctest: +SKIP
        ['replace_unsupported_ops']
    """
    loaded = load_model(model, input_specs)
    diagnosis = Diagnosis(input_specs=list(loaded.input_specs))
    diagnosis.dynamic_dims = [(s.name, axis) for s in loaded.input_specs for axis in s.dynamic_axes]
    try:
        convert_signature_model(loaded)
    except ConversionError as error:
        diagnosis.unsupported_ops = error.unsupported_ops
        if not error.unsupported_ops:
            diagnosis.other_problems.append(str(error).splitlines()[0])
        diagnosis.other_problems += error.hints
        shape_problem = bool(error.hints)
    else:
        shape_problem = False
    suggested: List[str] = []
    for op in diagnosis.unsupported_ops:
        if op.fix and op.fix not in suggested:
            suggested.append(op.fix)
    if shape_problem or diagnosis.dynamic_dims:
        suggested.append(SHAPE_PASS)
    diagnosis.suggested_passes = suggested
    return diagnosis
