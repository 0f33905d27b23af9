"""Which quantization the user asked for, checked once, with the tolerances that suit it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Tuple

from ..errors import InvalidInputError

#: quantization mode -> (what it does, default atol, default rtol for verification against the float model)
MODES = {
    "dynamic": ("int8 weights, float activations (no calibration)", 5e-2, 5e-2),
    "float16": ("float16 weights", 1e-2, 1e-2),
    "int8": ("int8 weights and activations, calibrated on representative data", 1e-1, 1e-1),
    "int16x8": ("int16 activations, int8 weights, calibrated on representative data", 2e-2, 2e-2),
}
CALIBRATED = ("int8", "int16x8")
FLOAT_TOLERANCES = (1e-4, 1e-4)


@dataclass(frozen=True)
class QuantizationOptions:
    """A validated quantization request.

    Attributes:
        mode: one of :data:`MODES`.
        int8_io: int8 model inputs and outputs (``"int8"`` only).
        keep_float: TFLite op types (``"MEAN"``) or tensor names left in float.
        require_full_int8: raise when any op stays float.
    """

    mode: str
    int8_io: bool = False
    keep_float: Tuple[str, ...] = field(default_factory=tuple)
    require_full_int8: bool = False

    @property
    def calibrated(self) -> bool:
        return self.mode in CALIBRATED

    @property
    def keep_float_ops(self) -> Tuple[str, ...]:
        """Entries that name TFLite op types (upper-case builtin names such as ``MEAN``)."""
        return tuple(k for k in self.keep_float if k.isupper() and "/" not in k and ":" not in k)

    @property
    def keep_float_nodes(self) -> Tuple[str, ...]:
        return tuple(k for k in self.keep_float if k not in self.keep_float_ops)

    def tolerances(self) -> Tuple[float, float]:
        _, atol, rtol = MODES[self.mode]
        return atol, rtol


def quantization_options(
    quantization: Optional[str], *, int8_io: bool = False, keep_float: Iterable[str] = (),
    require_full_int8: bool = False, has_representative_data: bool = False,
) -> Optional[QuantizationOptions]:
    """Check the quantization arguments together; None when no quantization was asked for."""
    if keep_float is not None and not isinstance(keep_float, (str, Iterable)) or isinstance(keep_float, Mapping):
        raise InvalidInputError(
            f"keep_float: expected TFLite op types ('MEAN') or tensor names, as a list, got {keep_float!r:.60}"
        )
    for name, flag in (("int8_io", int8_io), ("require_full_int8", require_full_int8)):
        if not isinstance(flag, (bool, type(None))):
            raise InvalidInputError(f"{name} must be True or False, got {flag!r}")
    keep = (keep_float,) if isinstance(keep_float, str) else tuple(keep_float or ())
    if quantization is None:
        if int8_io or keep or require_full_int8 or has_representative_data:
            raise InvalidInputError(
                "int8_io, keep_float, require_full_int8 and representative_data need quantization=... "
                f"(one of {sorted(MODES)})"
            )
        return None
    if not isinstance(quantization, str) or quantization not in MODES:
        raise InvalidInputError(f"quantization must be one of {sorted(MODES)}, got {quantization!r}")
    if not all(isinstance(k, str) and k for k in keep):
        raise InvalidInputError(f"keep_float: expected TFLite op types ('MEAN') or tensor names, got {keep!r}")
    if int8_io and quantization != "int8":
        raise InvalidInputError(f"int8_io=True needs quantization='int8', not {quantization!r}")
    if (keep or require_full_int8) and quantization not in ("int8",):
        raise InvalidInputError(f"keep_float and require_full_int8 apply to quantization='int8', not {quantization!r}")
    if quantization not in CALIBRATED and has_representative_data:
        raise InvalidInputError(f"quantization={quantization!r} does not calibrate; representative_data is not used")
    return QuantizationOptions(quantization, bool(int8_io), keep, bool(require_full_int8))


def require_calibration_source(options: QuantizationOptions, has_representative_data: bool, has_fake_quant: bool) -> None:
    """A calibrated mode needs representative data, or ranges learned by fake-quant fine-tuning."""
    if options.calibrated and not has_representative_data and not (has_fake_quant and options.mode == "int8"):
        raise InvalidInputError(
            f"quantization={options.mode!r} calibrates activation ranges: pass representative_data (a few hundred "
            "real inputs, preprocessed as at inference), or fine-tune with tff.passes.insert_fake_quant() first"
        )
