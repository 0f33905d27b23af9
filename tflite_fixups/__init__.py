"""tflite_fixups: make TensorFlow/Keras models convert to TFLite (LiteRT) and prove the result is right.

Example:
    >>> import tflite_fixups as tff                                   # doctest: +SKIP
    >>> result = tff.convert_and_verify(model, sample_inputs=x[:8])   # doctest: +SKIP
    >>> result.ok                                                     # doctest: +SKIP
    True
"""

from ._quiet import import_tensorflow as _import_tensorflow

_import_tensorflow()

from . import passes  # noqa: E402
from .conversion.auto_fix import auto_fix  # noqa: E402
from .conversion.converter import convert, convert_and_verify  # noqa: E402
from .conversion.diagnose import diagnose  # noqa: E402
from .errors import (  # noqa: E402
    ConversionError,
    InvalidInputError,
    InvalidModelError,
    PassError,
    QuantizationError,
    TfliteFixupsError,
    UnsupportedOp,
)
from .conversion.metadata import read_pinning  # noqa: E402
from .models.loading import load_model  # noqa: E402
from .models.pinning import InputPinning, PinningWarning, ShapePinning, pad_or_truncate  # noqa: E402
from .models.signature_model import SignatureModel  # noqa: E402
from .models.specs import InputSpec  # noqa: E402
from .passes.pipeline import Pipeline  # noqa: E402
from .reports.diagnosis import Diagnosis  # noqa: E402
from ._progress import set_progress  # noqa: E402
from .quantization.representative import check_representative_data  # noqa: E402
from .reports.pinning import PinningReport  # noqa: E402
# matplotlib is imported only when a plot function is called
from .reports.plots import plot_layer_errors, plot_output_errors, plot_pinning_errors  # noqa: E402
from .reports.quantization import CalibrationReport, LayerError, QuantizationReport  # noqa: E402
from .reports.result import ConversionResult  # noqa: E402
from .reports.verification import OutputComparison, VerificationReport  # noqa: E402
from .verification.litert import LiteRTRunner  # noqa: E402
from .verification.verify import verify  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CalibrationReport", "ConversionError", "ConversionResult", "Diagnosis", "InputPinning", "InputSpec",
    "InvalidInputError", "InvalidModelError", "LayerError", "LiteRTRunner", "OutputComparison", "PassError",
    "PinningReport", "PinningWarning", "Pipeline", "QuantizationError", "QuantizationReport", "ShapePinning",
    "SignatureModel", "TfliteFixupsError", "UnsupportedOp", "VerificationReport", "auto_fix",
    "check_representative_data", "convert", "convert_and_verify", "diagnose", "load_model", "pad_or_truncate",
    "passes", "plot_layer_errors", "plot_output_errors", "plot_pinning_errors", "read_pinning", "set_progress", "verify",
]
