"""Verification report: how far a converted model's outputs are from the original's."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .pinning import PinningReport
from .render import html_table, text_table


@dataclass
class OutputComparison:
    """Error statistics of one output over every verification sample."""

    name: str
    shape: Tuple[int, ...] = ()
    num_values: int = 0
    max_abs_error: float = 0.0
    mean_abs_error: float = 0.0
    max_rel_error: float = 0.0
    cosine_similarity: float = 1.0
    argmax_agreement: Optional[float] = None
    nonfinite_mismatches: int = 0
    within_tolerance: bool = True
    problem: Optional[str] = None

    @classmethod
    def missing(cls, name: str) -> "OutputComparison":
        return cls(name, within_tolerance=False, problem="output missing", max_abs_error=math.inf)

    @classmethod
    def shape_mismatch(cls, name: str, expected, got) -> "OutputComparison":
        return cls(
            name, shape=tuple(expected), within_tolerance=False, max_abs_error=math.inf,
            problem=f"shape {tuple(got)} instead of {tuple(expected)}",
        )

    def row(self) -> List[str]:
        argmax = "-" if self.argmax_agreement is None else f"{self.argmax_agreement:.1%}"
        verdict = "ok" if self.within_tolerance else (self.problem or "DIVERGES")
        return [
            self.name, str(self.shape), f"{self.max_abs_error:.3g}", f"{self.max_rel_error:.3g}",
            f"{self.mean_abs_error:.3g}", f"{self.cosine_similarity:.6f}", argmax, verdict,
        ]


COLUMNS = ["output", "shape", "max abs err", "max rel err", "mean abs err", "cosine", "argmax agree", "verdict"]


@dataclass
class StageComparison:
    """One stage of a pipeline (``original``, each pass, ``tflite``) against the original model."""

    stage: str
    outputs: Dict[str, OutputComparison] = field(default_factory=dict)
    note: Optional[str] = None

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs.values()), default=0.0)


@dataclass
class VerificationReport:
    """How a converted model compares with the original on the same samples.

    Index it by output name for that output's :class:`OutputComparison`.

    Attributes:
        ok: every output within ``atol + rtol * |reference|`` everywhere.
        outputs: TFLite vs original, per output.
        stages: the same comparison for each intermediate model of the pass
            pipeline, so error can be attributed to the pass that caused it.
        num_samples / sample_source: how many samples and whether they were
            the user's (``"user"``) or drawn at random (``"random"``).
        skipped: why verification could not run, when it could not.
        pinning: with a shape-pinning pass, the per-sample split of the error
            into pinning (padding/truncation) and conversion.
    """

    ok: bool
    outputs: Dict[str, OutputComparison] = field(default_factory=dict)
    stages: List[StageComparison] = field(default_factory=list)
    num_samples: int = 0
    sample_source: str = "random"
    atol: float = 0.0
    rtol: float = 0.0
    notes: List[str] = field(default_factory=list)
    skipped: Optional[str] = None
    pinning: Optional[PinningReport] = None

    def __getitem__(self, output_name: str) -> OutputComparison:
        return self.outputs[output_name]

    @property
    def diverging_outputs(self) -> List[str]:
        return [name for name, o in self.outputs.items() if not o.within_tolerance]

    @classmethod
    def skipped_because(cls, reason: str) -> "VerificationReport":
        return cls(ok=False, skipped=reason)

    def stage_rows(self) -> List[List[str]]:
        return [[s.stage, f"{s.max_abs_error:.3g}", s.note or ""] for s in self.stages]

    def __str__(self) -> str:
        if self.skipped:
            return f"verification skipped: {self.skipped}"
        head = (
            f"verification: {'OK' if self.ok else 'FAILED'} on {self.num_samples} {self.sample_source} samples "
            f"(atol={self.atol:g}, rtol={self.rtol:g})"
        )
        parts = [head, text_table(COLUMNS, [o.row() for o in self.outputs.values()])]
        if len(self.stages) > 1:
            parts.append("error by stage (max abs vs original):")
            parts.append(text_table(["stage", "max abs err", "note"], self.stage_rows()))
        if self.pinning is not None:
            parts.append(str(self.pinning))
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        if self.skipped:
            return f"<p><b>verification skipped:</b> {self.skipped}</p>"
        html = html_table(COLUMNS, [o.row() for o in self.outputs.values()])
        if len(self.stages) > 1:
            html += "<p>error by stage</p>" + html_table(["stage", "max abs err", "note"], self.stage_rows())
        if self.pinning is not None:
            html += self.pinning._repr_html_()
        return html
