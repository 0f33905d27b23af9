"""Verification report: how far a converted model's outputs are from the original's."""

from __future__ import annotations

import math
from html import escape
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .pinning import PinningReport
from .render import html_table, text_table


#: Decade bin edges of :class:`ErrorHistogram`: 1e-12 ... 1e4.
ERROR_DECADES = tuple(10.0 ** k for k in range(-12, 5))


@dataclass
class ErrorHistogram:
    """How many output values fall in each decade of absolute error, for plots.

    ``counts[i]`` counts errors in ``[edges[i], edges[i + 1])``; errors that are
    exactly zero, below ``edges[0]`` or above ``edges[-1]`` (or not finite)
    are counted apart.
    """

    edges: Tuple[float, ...] = ERROR_DECADES
    counts: Tuple[int, ...] = ()
    zeros: int = 0
    below: int = 0
    above: int = 0

    @classmethod
    def of(cls, abs_errors) -> "ErrorHistogram":
        import numpy as np

        errors = np.asarray(abs_errors, dtype=np.float64).ravel()
        finite = errors[np.isfinite(errors)]
        positive = finite[finite > 0]
        counts, _ = np.histogram(positive, bins=np.asarray(ERROR_DECADES))
        return cls(
            counts=tuple(int(c) for c in counts),
            zeros=int(np.count_nonzero(finite == 0)),
            below=int(np.count_nonzero(positive < ERROR_DECADES[0])),
            above=int(np.count_nonzero(positive > ERROR_DECADES[-1]) + errors.size - finite.size),
        )

    @property
    def total(self) -> int:
        return sum(self.counts) + self.zeros + self.below + self.above


@dataclass
class OutputComparison:
    """Error statistics of one output over every verification sample.

    ``sample_max_abs_errors`` holds the largest error of each sample, in sample
    order; ``error_histogram`` counts every value's error by decade (see
    :func:`tflite_fixups.plot_output_errors`).
    """

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
    sample_max_abs_errors: Tuple[float, ...] = field(default=(), repr=False)
    error_histogram: Optional[ErrorHistogram] = field(default=None, repr=False)

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


@dataclass(frozen=True)
class SampleFailure:
    """A sample a model could not run: it is left out of the comparison, and verification fails.

    Attributes:
        index: the sample's position in the verification samples.
        stage: ``"original"`` (the model given) or ``"tflite"`` (LiteRT).
        message: the error, e.g. ``"InvalidArgumentError: indices[0,2] = 50 is not in [0, 10)"``.
    """

    index: int
    stage: str
    message: str

    def __str__(self) -> str:
        model = "the original model" if self.stage == "original" else "LiteRT"
        return f"sample {self.index}: {model} failed: {self.message}"


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
        litert_batch_size: most samples LiteRT ran per invoke (1 when the
            model's batch axis could not be resized).
        sample_failures: samples the original model or LiteRT raised on (a
            singular matrix, an index out of range); they are not compared,
            and ``ok`` is False while there are any.
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
    litert_batch_size: int = 1
    sample_failures: List[SampleFailure] = field(default_factory=list)

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
        parts += self._failure_lines()
        if len(self.stages) > 1:
            parts.append("error by stage (max abs vs original):")
            parts.append(text_table(["stage", "max abs err", "note"], self.stage_rows()))
        if self.pinning is not None:
            parts.append(str(self.pinning))
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def _failure_lines(self, shown: int = 5) -> List[str]:
        if not self.sample_failures:
            return []
        lines = [f"{len(self.sample_failures)} sample run(s) failed and were not compared:"]
        lines += [f"  {failure}" for failure in self.sample_failures[:shown]]
        if len(self.sample_failures) > shown:
            lines.append(f"  ... {len(self.sample_failures) - shown} more in .sample_failures")
        return lines

    def _repr_html_(self) -> str:
        if self.skipped:
            return f"<p><b>verification skipped:</b> {self.skipped}</p>"
        html = html_table(COLUMNS, [o.row() for o in self.outputs.values()])
        html += "".join(f"<p>{escape(line)}</p>" for line in self._failure_lines())
        if len(self.stages) > 1:
            html += "<p>error by stage</p>" + html_table(["stage", "max abs err", "note"], self.stage_rows())
        if self.pinning is not None:
            html += self.pinning._repr_html_()
        return html
