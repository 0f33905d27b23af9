"""tflite_fixups: make TensorFlow/Keras models convert to TFLite (LiteRT) and prove the result is right.

Example:
    >>> import tflite_fixups as tff                                   # doctest: +SKIP
    >>> result = tff.convert_and_verify(model, sample_inputs=x[:8])   # doctest: +SKIP
    >>> result.ok                                                     # doctest: +SKIP
    True
"""

import importlib
from typing import TYPE_CHECKING, Any, List

from .errors import (
    ConversionError,
    InternalError,
    InvalidInputError,
    InvalidModelError,
    MissingDependencyError,
    ModelFileError,
    PassError,
    QuantizationError,
    RuleError,
    TfliteFixupsError,
    UnsafeModelError,
    UnsupportedOp,
)

__version__ = "0.1.0"

__all__ = [
    "CalibrationReport", "ConversionError", "ConversionResult", "Diagnosis", "InputPinning", "InputSpec",
    "InternalError", "InvalidInputError", "InvalidModelError", "LayerError", "LiteRTRunner", "MissingDependencyError",
    "ModelFileError",
    "OutputComparison", "PassError", "PinningReport", "PinningWarning", "Pipeline", "QuantizationError",
    "QuantizationReport", "RuleError", "SampleFailure", "ShapePinning", "SignatureModel", "TfliteFixupsError",
    "UnsafeModelError", "UnsupportedOp", "VerificationReport", "auto_fix",
    "check_representative_data", "convert", "convert_and_verify", "diagnose", "load_model", "pad_or_truncate",
    "passes", "plot_layer_errors", "plot_output_errors", "plot_pinning_errors", "read_pinning", "set_progress", "verify",
]

if TYPE_CHECKING:  # what the first use of a public name loads, for type checkers and IDEs
    from ._exports import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    """Load the library (and TensorFlow) the first time a public name is used."""
    if name.startswith("_"):  # private names and submodules being imported are never loaded through here
        raise AttributeError(f"module 'tflite_fixups' has no attribute '{name}'")
    exports = importlib.import_module(f"{__name__}._exports")
    try:
        value = getattr(exports, name)
    except AttributeError:
        raise AttributeError(f"module 'tflite_fixups' has no attribute '{name}'") from None
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
