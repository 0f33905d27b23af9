"""Everything ``tflite_fixups`` exports, imported at once (with TensorFlow) on first use of any of it.

``import tflite_fixups`` itself stays light, so ``python -m tflite_fixups --help``
answers without importing TensorFlow; :mod:`tflite_fixups` loads this module
the first time a public name is used.
"""

from ._quiet import import_tensorflow as _import_tensorflow

_import_tensorflow()

from . import passes, rewrites  # noqa: E402,F401
from .conversion.auto_fix import auto_fix  # noqa: E402,F401
from .conversion.converter import convert, convert_and_verify  # noqa: E402,F401
from .conversion.diagnose import diagnose  # noqa: E402,F401
from .conversion.metadata import read_pinning  # noqa: E402,F401
from .models.loading import load_model  # noqa: E402,F401
from .models.pinning import InputPinning, PinningWarning, ShapePinning, pad_or_truncate  # noqa: E402,F401
from .models.signature_model import SignatureModel  # noqa: E402,F401
from .models.specs import InputSpec  # noqa: E402,F401
from .passes.pipeline import Pipeline  # noqa: E402,F401
from .reports.diagnosis import Diagnosis  # noqa: E402,F401
from ._progress import set_progress  # noqa: E402,F401
from .quantization.representative import check_representative_data  # noqa: E402,F401
from .reports.pinning import PinningReport  # noqa: E402,F401
# matplotlib is imported only when a plot function is called
from .reports.plots import plot_layer_errors, plot_output_errors, plot_pinning_errors  # noqa: E402,F401
from .reports.quantization import CalibrationReport, LayerError, QuantizationReport  # noqa: E402,F401
from .reports.result import ConversionResult  # noqa: E402,F401
from .reports.verification import OutputComparison, SampleFailure, VerificationReport  # noqa: E402,F401
from .verification.litert import LiteRTRunner  # noqa: E402,F401
from .verification.verify import verify  # noqa: E402,F401
