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


#: Fraction of boxes, labels and counts that must agree for a detection output to be verified by agreement.
DETECTION_AGREEMENT = 0.95

#: IoU at or above which a TFLite box and an original box are the same detection.
DETECTION_IOU = 0.5


@dataclass
class DetectionAgreement:
    """How a detection head's discrete outputs agree, after matching boxes by IoU.

    Detection outputs (boxes after non-max suppression, their labels, scores and
    valid count) flip order, or swap a box at the cut-off, on rounding-level
    differences: the raw element-wise error is then large while the detections
    are the same. Boxes are matched one to one, greedily by IoU (a pair counts
    at IoU >= :data:`DETECTION_IOU`); only the first ``count`` boxes are
    considered when a count output exists, otherwise rows that are all zero are
    taken for padding.

    Attributes:
        boxes: the box output (``[..., N, 4]``).
        labels / scores / count: the companion outputs found for it, if any.
        matched_box_fraction: matched boxes / the larger of the two box counts, over all samples.
        label_agreement: matched boxes with the same label / matched boxes.
        count_agreement: (sample, batch element) pairs whose counts are equal / all.
        matched_box_max_error / matched_score_max_error: largest error of a matched pair's coordinates / score.
        threshold: each agreement must be at least this (:data:`DETECTION_AGREEMENT`).
        agrees: every agreement figure reaches the threshold.
    """

    boxes: str
    labels: Optional[str] = None
    scores: Optional[str] = None
    count: Optional[str] = None
    matched_box_fraction: float = 1.0
    label_agreement: Optional[float] = None
    count_agreement: Optional[float] = None
    matched_box_max_error: float = 0.0
    matched_score_max_error: Optional[float] = None
    threshold: float = DETECTION_AGREEMENT
    agrees: bool = True

    def __str__(self) -> str:
        parts = [f"matched boxes {self.matched_box_fraction:.1%} (IoU >= {DETECTION_IOU:g})"]
        if self.label_agreement is not None:
            parts.append(f"labels '{self.labels}' {self.label_agreement:.1%}")
        if self.count_agreement is not None:
            parts.append(f"counts '{self.count}' {self.count_agreement:.1%}")
        parts.append(f"matched box error {self.matched_box_max_error:.3g}")
        if self.matched_score_max_error is not None:
            parts.append(f"matched '{self.scores}' error {self.matched_score_max_error:.3g}")
        verdict = "agree" if self.agrees else "DISAGREE"
        return (f"detections '{self.boxes}': " + ", ".join(parts)
                + f" -> {verdict} (threshold {self.threshold:.0%})")


@dataclass
class OutputComparison:
    """Error statistics of one output over every verification sample.

    ``sample_max_abs_errors`` holds the largest error of each sample, in sample
    order; ``error_histogram`` counts every value's error by decade (see
    :func:`tflite_fixups.plot_output_errors`).

    How the output was judged (``judged_by``):

    - ``"values"``: ``|tflite - original| <= atol + rtol * |original|`` everywhere.
    - ``"scale"``: every ``|original|`` of the output is below ``atol`` (``scale``,
      the largest, is e.g. 1e-11 for a random-weight MobileNetV3's logits), so
      ``atol`` alone would accept any candidate of that size; both are divided
      by ``scale`` and compared with the same ``atol``/``rtol``.
    - ``"agreement"``: a detection output whose values differ (order flipped,
      a box swapped at the cut-off) but whose detections agree (``detection``).
    - ``"not compared"``: the output depends on a random op (``random_ops``).

    ``too_small_to_judge`` is set when the output cannot tell a right model from
    a wrong one: the original is zero (or below 1e-30) everywhere, or it varies
    less than the tolerance over all samples and values (a softmax of
    near-zero logits). Such an output passes when within tolerance, and the
    report warns.
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
    #: largest |original| of a float output (None for integer and boolean outputs)
    scale: Optional[float] = None
    judged_by: str = "values"
    too_small_to_judge: bool = False
    #: for integer and boolean outputs: the fraction of values equal to the original's
    agreement: Optional[float] = None
    detection: Optional[DetectionAgreement] = None
    #: random ops the output depends on (``"RandomStandardNormal 'z/random_normal'"``); not compared when any
    random_ops: Tuple[str, ...] = ()

    @classmethod
    def missing(cls, name: str) -> "OutputComparison":
        return cls(name, within_tolerance=False, problem="output missing", max_abs_error=math.inf)

    @classmethod
    def shape_mismatch(cls, name: str, expected, got) -> "OutputComparison":
        return cls(
            name, shape=tuple(expected), within_tolerance=False, max_abs_error=math.inf,
            problem=f"shape {tuple(got)} instead of {tuple(expected)}",
        )

    @property
    def compared(self) -> bool:
        """False for an output that depends on a random op: its values are not compared."""
        return not self.random_ops

    @property
    def ok(self) -> bool:
        """The output's verdict: within tolerance (by value or scale), or detections that agree.

        An output that is not compared (random) is neither ok nor diverging: see :attr:`compared`.
        """
        if not self.compared:
            return False
        if self.within_tolerance:
            return True
        return self.judged_by == "agreement" and self.detection is not None and self.detection.agrees

    @property
    def verdict(self) -> str:
        if not self.compared:
            return "random: not compared"
        if self.ok:
            if self.too_small_to_judge:
                return "too small to judge"
            return {"scale": "ok (relative to scale)", "agreement": "ok (detections agree)"}.get(self.judged_by, "ok")
        return self.problem or "DIVERGES"

    def row(self) -> List[str]:
        argmax = "-" if self.argmax_agreement is None else f"{self.argmax_agreement:.1%}"
        return [
            self.name, str(self.shape), f"{self.max_abs_error:.3g}", f"{self.max_rel_error:.3g}",
            f"{self.mean_abs_error:.3g}", f"{self.cosine_similarity:.6f}", argmax, self.verdict,
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
        """Largest error over the outputs that are compared (random outputs are left out)."""
        return max((o.max_abs_error for o in self.outputs.values() if o.compared), default=0.0)


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


def _ops_text(ops: Tuple[str, ...], shown: int = 2) -> str:
    more = f" and {len(ops) - shown} more" if len(ops) > shown else ""
    return ", ".join(ops[:shown]) + more


@dataclass
class VerificationReport:
    """How a converted model compares with the original on the same samples.

    Index it by output name for that output's :class:`OutputComparison`.

    Attributes:
        ok: every compared output ok (see :attr:`OutputComparison.ok`): within
            ``atol + rtol * |reference|`` everywhere, relative to its own scale
            when it is tiny, or by agreement for detection outputs. Outputs
            that depend on random ops are not compared; when no output is left
            to compare, ``ok`` is False and ``skipped`` says verification could not judge.
        outputs: TFLite vs original, per output.
        stages: the same comparison for each intermediate model of the pass
            pipeline, so error can be attributed to the pass that caused it.
            From ``convert_and_verify`` the first is ``"original (frozen)"``:
            the original with its variables folded into constants, as the
            converter and graph passes see it, so error from freezing (and
            TensorFlow's graph optimizer) shows there and not on the first pass.
        num_samples / sample_source: how many samples and whether they were
            the user's (``"user"``) or drawn at random (``"random"``).
        skipped: why verification could not run or could not judge (every
            output random), when it could not.
        pinning: with a shape-pinning pass, the per-sample split of the error
            into pinning (padding/truncation) and conversion.
        litert_batch_size: most samples LiteRT ran per invoke (1 when the
            model's batch axis could not be resized).
        sample_failures: samples the original model or LiteRT raised on (a
            singular matrix, an index out of range); they are not compared,
            and ``ok`` is False while there are any.
        io_problems: how the .tflite's inputs/outputs by index differ from the
            model's (order, names, dtypes, shapes); ``ok`` is False while there
            are any, since an app addressing tensors by index would feed them wrongly.
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
    io_problems: List[str] = field(default_factory=list)

    def __getitem__(self, output_name: str) -> OutputComparison:
        return self.outputs[output_name]

    @property
    def diverging_outputs(self) -> List[str]:
        """Outputs compared and found different (random outputs are not compared, so never listed)."""
        return [name for name, o in self.outputs.items() if o.compared and not o.ok]

    @property
    def random_outputs(self) -> List[str]:
        """Outputs that depend on a random op, and so were not compared."""
        return [name for name, o in self.outputs.items() if not o.compared]

    @property
    def too_small_outputs(self) -> List[str]:
        """Outputs that passed but are too small (or too flat) to tell a right model from a wrong one."""
        return [name for name, o in self.outputs.items() if o.compared and o.too_small_to_judge]

    @property
    def warnings(self) -> List[str]:
        """Sentences about how far the verdict can be trusted (random outputs, outputs too small to judge)."""
        found = []
        for name in self.random_outputs:
            found.append(f"output '{name}' depends on random op {_ops_text(self.outputs[name].random_ops)}: "
                         "not compared")
        small = [self.outputs[name] for name in self.too_small_outputs]
        if small:
            found.append(
                "output(s) too small to judge: " + ", ".join(f"'{o.name}' (max |original| {o.scale:.3g})" for o in small)
                + f"; within atol={self.atol:g} any model passes: verify on real data or with a smaller atol"
            )
        return found

    def judgement_lines(self) -> List[str]:
        """How outputs that are not judged value by value were judged."""
        lines = []
        for o in self.outputs.values():
            if not o.compared:
                lines.append(f"output '{o.name}' depends on random op {_ops_text(o.random_ops)}: not compared")
            elif o.judged_by == "scale":
                lines.append(f"output '{o.name}' is tiny (max |original| {o.scale:.3g} < atol {self.atol:g}): "
                             "compared relative to its own scale")
            if o.too_small_to_judge and o.compared:
                why = ("zero everywhere" if (o.scale or 0.0) < self.atol
                       else "it varies less than the tolerance over every value and sample")
                lines.append(f"output '{o.name}' is too small to judge (max |original| {o.scale:.3g}: {why}); "
                             "any model within atol passes")
        seen = set()
        for o in self.outputs.values():
            if o.detection is not None and o.detection.boxes not in seen:
                seen.add(o.detection.boxes)
                lines.append(str(o.detection))
        return lines

    @classmethod
    def skipped_because(cls, reason: str) -> "VerificationReport":
        return cls(ok=False, skipped=reason)

    def stage_rows(self) -> List[List[str]]:
        return [[s.stage, f"{s.max_abs_error:.3g}", s.note or ""] for s in self.stages]

    def __str__(self) -> str:
        if self.skipped and not self.outputs:
            return f"verification skipped: {self.skipped}"
        if self.skipped:
            head = f"verification could not judge: {self.skipped}"
        else:
            head = (
                f"verification: {'OK' if self.ok else 'FAILED'} on {self.num_samples} {self.sample_source} samples "
                f"(atol={self.atol:g}, rtol={self.rtol:g})"
            )
        parts = [head, text_table(COLUMNS, [o.row() for o in self.outputs.values()])]
        parts += self.judgement_lines()
        parts += [f"I/O by index: {problem}" for problem in self.io_problems]
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
        if self.skipped and not self.outputs:
            return f"<p><b>verification skipped:</b> {escape(self.skipped)}</p>"
        html = f"<p><b>verification could not judge:</b> {escape(self.skipped)}</p>" if self.skipped else ""
        html += html_table(COLUMNS, [o.row() for o in self.outputs.values()])
        html += "".join(f"<p>{escape(line)}</p>" for line in self.judgement_lines())
        html += "".join(f"<p><b>I/O by index:</b> {escape(problem)}</p>" for problem in self.io_problems)
        html += "".join(f"<p>{escape(line)}</p>" for line in self._failure_lines())
        if len(self.stages) > 1:
            html += "<p>error by stage</p>" + html_table(["stage", "max abs err", "note"], self.stage_rows())
        if self.pinning is not None:
            html += self.pinning._repr_html_()
        return html
