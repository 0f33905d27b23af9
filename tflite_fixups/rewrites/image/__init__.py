"""Image ops: resampling, patch extraction, colour spaces, crops and morphological dilation.

Each rule follows TensorFlow's CPU kernel semantics (pixel-centre conventions,
edge handling, rounding of the bicubic coefficient table, colour-space quirks)
and states its float32 error bound, measured by the tests against TF's kernels.

Importing this package registers every image rule and case (explicit imports,
no scanning): :mod:`.resampling` (ResizeBicubic, ResizeArea, ScaleAndTranslate,
CropAndResize), :mod:`.colour` (RGBToHSV, HSVToRGB, AdjustSaturation, AdjustHue,
AdjustContrastv2) and :mod:`.windows` (ExtractImagePatches, Dilation2D).
"""

from . import resampling  # noqa: F401  (registers its rules and cases)
from . import colour  # noqa: F401  (registers its rules and cases)
from . import windows  # noqa: F401  (registers its rules and cases)
