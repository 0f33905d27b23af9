"""diagnose(): ask the converter what it rejects, and LiteRT whether it runs what the converter wrote."""

from __future__ import annotations

from typing import Any, List

from .._api import public_api
from ..errors import ConversionError, describe_error
from ..models.loading import load_model
from ..models.signature_model import SignatureModel
from ..models.specs import InputSpecsArg
from ..reports.diagnosis import Diagnosis, Finding
from ..verification.runtime_check import check_on_litert
from .converter import convert_signature_model
from .hints import SHAPE_PASS


@public_api
def diagnose(model: Any, input_specs: InputSpecsArg = None) -> Diagnosis:
    """List what keeps ``model`` from converting with builtin TFLite ops and running on LiteRT, and what fixes it.

    Runs the converter in memory (builtin ops only) and reads its structured
    errors; when the model converts, opens it in LiteRT, allocates its tensors
    and invokes it once on random inputs, since some kernels refuse what the
    converter accepted (an RFFT of a length that is not a power of two fails
    in ``rfft2d.cc: IsPowerOfTwo``). Never raises for a model that loads: a
    crash of the converter, of the freezing before it or of LiteRT becomes a
    :class:`~tflite_fixups.reports.diagnosis.Finding` in ``.findings``, with
    the op and the likely fix.

    Raises:
        InvalidModelError / InvalidInputError: the model does not load, or ``input_specs`` do not fit it.

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
    shape_problem = False
    try:
        tflite = convert_signature_model(loaded)
    except ConversionError as error:
        tflite = None
        diagnosis.unsupported_ops = error.unsupported_ops
        if not error.unsupported_ops:
            diagnosis.other_problems.append(str(error).splitlines()[0])
            diagnosis.findings.append(Finding("convert", str(error).splitlines()[0]))
        diagnosis.other_problems += error.hints
        shape_problem = bool(error.hints)
    except Exception as error:  # freezing, the converter or the .tflite check crashed: a finding, not a raise
        tflite = None
        finding = _conversion_crash(error)
        diagnosis.findings.append(finding)
        diagnosis.other_problems.append(f"conversion crashed: {finding.message}"
                                        + (f"; {finding.advice}" if finding.advice else ""))
    if tflite is not None:
        finding = _run_on_litert(tflite, loaded)
        diagnosis.runs_on_litert = finding is None
        if finding is not None:
            diagnosis.findings.append(finding)
    suggested: List[str] = []
    for op in diagnosis.unsupported_ops:
        if op.fix and op.fix not in suggested:
            suggested.append(op.fix)
    for finding in diagnosis.findings:
        if finding.fix and finding.fix not in suggested:
            suggested.append(finding.fix)
    if shape_problem or diagnosis.dynamic_dims:
        suggested.append(SHAPE_PASS)
    diagnosis.suggested_passes = suggested
    return diagnosis


def _run_on_litert(tflite: bytes, loaded: SignatureModel):
    try:
        graph_def = loaded.graph_def()
    except Exception:  # the op names are a help, not a need
        graph_def = None
    try:
        return check_on_litert(tflite, loaded.input_specs, graph_def=graph_def)
    except Exception as error:  # checking must not raise either
        return Finding("litert allocate", describe_error(error))


#: Crash messages whose cause is known, with the advice to give.
_KNOWN_CRASHES = (
    ("AssignVariableOp", "the model assigns a variable when it runs (a Keras 3 SeedGenerator behind keras.random "
                         "calls, a stateful metric), which freezing cannot fold into constants; draw the random "
                         "values with tf.random ops or outside the model"),
)


def _conversion_crash(error: BaseException) -> Finding:
    message = describe_error(error)
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    if cause is not error:
        message = describe_error(cause)
    advice = next((text for needle, text in _KNOWN_CRASHES if needle in str(cause)), "")
    return Finding("convert", message, advice=advice)
