"""Quantization reports: what the calibration data looked like, and where quantization hurts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .render import html_list, html_table, text_table


@dataclass
class InputCalibration:
    """One float input over the representative samples."""

    name: str
    num_values: int
    minimum: float
    maximum: float
    mean: float
    std: float
    constant_samples: int = 0
    zero_samples: int = 0
    #: fraction of the verification samples' values outside [minimum, maximum], when measured
    outside_fraction: Optional[float] = None

    def row(self) -> List[str]:
        outside = "-" if self.outside_fraction is None else f"{self.outside_fraction:.1%}"
        return [self.name, f"[{self.minimum:.3g}, {self.maximum:.3g}]", f"{self.mean:.3g}", f"{self.std:.3g}",
                str(self.constant_samples), str(self.zero_samples), outside]


INPUT_COLUMNS = ["input", "calibrated range", "mean", "std", "constant", "all-zero", "verification values outside"]


@dataclass
class CalibrationReport:
    """What the representative data looked like; ``warnings`` say what is wrong with it and what to do."""

    num_samples: int
    inputs: Dict[str, InputCalibration] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"calibration: {self.num_samples} representative samples"]
        if self.inputs:
            parts.append(text_table(INPUT_COLUMNS, [i.row() for i in self.inputs.values()]))
        parts += [f"note: {n}" for n in self.notes]
        parts += [f"warning: {w}" for w in self.warnings]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return (f"<p>calibration: {self.num_samples} representative samples</p>"
                + html_table(INPUT_COLUMNS, [i.row() for i in self.inputs.values()])
                + html_list("warnings", self.warnings))


@dataclass
class LayerError:
    """One quantized tensor (an op's output) against the same tensor of the float model, over the samples.

    ``relative_rmse`` is RMSE over the float tensor's standard deviation, the
    figure the layers are ranked by; ``outside_fraction`` is the share of the
    float values beyond the tensor's quantized range (calibration coverage).
    """

    tensor: str
    op: str
    layer: Optional[str]
    dtype: str
    scale: float
    rmse: float
    max_abs_error: float
    relative_rmse: float
    outside_fraction: float

    def row(self) -> List[str]:
        return [self.layer or "-", self.op, _short(self.tensor), self.dtype, f"{self.scale:.3g}", f"{self.rmse:.3g}",
                f"{self.max_abs_error:.3g}", f"{self.relative_rmse:.3g}", f"{self.outside_fraction:.1%}"]


LAYER_COLUMNS = ["layer", "op", "tensor", "type", "scale", "rmse", "max abs err", "rmse / std", "outside range"]


@dataclass
class QuantizationReport:
    """How the model was quantized and what it cost, layer by layer.

    Attributes:
        mode: ``"dynamic"``, ``"float16"``, ``"int8"`` or ``"int16x8"``.
        calibration: the representative data's report (calibrated modes).
        layers: per quantized tensor, error against the float model on the
            verification samples, most damaging first.
        float_ops: ``(op, tensor, why)`` for ops that stayed float in an int8 model.
        kept_float: what ``keep_float`` asked to leave in float.
    """

    mode: str
    calibration: Optional[CalibrationReport] = None
    layers: List[LayerError] = field(default_factory=list)
    float_ops: List[Tuple[str, str, str]] = field(default_factory=list)
    kept_float: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def most_damaging(self, count: int = 3) -> List[LayerError]:
        """The layers whose quantization moves their output most (relative RMSE)."""
        return self.layers[:count]

    def __str__(self) -> str:
        parts = [f"quantization: {self.mode}"]
        if self.calibration is not None:
            parts.append(str(self.calibration))
        if self.layers:
            worst = ", ".join(f"{e.layer or _short(e.tensor)} ({e.op}, rmse/std {e.relative_rmse:.3g})"
                              for e in self.most_damaging())
            parts.append(f"most damaging: {worst}")
            parts.append(text_table(LAYER_COLUMNS, [e.row() for e in self.layers]))
        if self.float_ops:
            parts.append("left in float: " + ", ".join(f"{op} '{_short(t)}' ({why})" for op, t, why in self.float_ops))
        if self.kept_float:
            parts.append("keep_float: " + ", ".join(self.kept_float))
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        html = f"<p><b>quantization:</b> {self.mode}</p>"
        if self.calibration is not None:
            html += self.calibration._repr_html_()
        if self.layers:
            html += html_table(LAYER_COLUMNS, [e.row() for e in self.layers])
        html += html_list("left in float", [f"{op} {t} ({why})" for op, t, why in self.float_ops])
        return html


def _short(tensor: str, width: int = 48) -> str:
    name = tensor.split(";")[0]
    return name if len(name) <= width else "..." + name[-(width - 3):]
