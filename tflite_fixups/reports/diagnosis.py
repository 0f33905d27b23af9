"""Diagnosis: why a model will not convert or run, and which passes fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..errors import UnsupportedOp
from ..models.specs import InputSpec
from .render import html_list, html_table, text_table


@dataclass(frozen=True)
class Finding:
    """A failure met while diagnosing, reported instead of raised.

    Attributes:
        stage: where it failed: ``"convert"`` (the converter or the freezing
            before it crashed), ``"litert allocate"`` (LiteRT refused the
            converted model when preparing its kernels) or ``"litert invoke"``
            (it failed running random inputs).
        message: the error in one line, e.g.
            ``"RuntimeError: tflite/kernels/rfft2d.cc:121 IsPowerOfTwo(fft_length_data[1]) was not true."``.
        op: the TFLite op that failed (``"RFFT2D"``), when LiteRT names it.
        tf_ops: the TF op types in the model it comes from (``("RFFT",)``).
        nodes: graph nodes of those op types (first few).
        fix: a ``tff.passes`` pass that rewrites them, if one exists.
        advice: what to do, in a sentence.
    """

    stage: str
    message: str
    op: Optional[str] = None
    tf_ops: Tuple[str, ...] = ()
    nodes: Tuple[str, ...] = ()
    fix: Optional[str] = None
    advice: str = ""

    def __str__(self) -> str:
        where = f" in {self.op}" if self.op else ""
        source = f" (from {', '.join(self.tf_ops)}" + (f" '{self.nodes[0]}'" if self.nodes else "") + ")" if self.tf_ops else ""
        text = f"{self.stage} failed{where}{source}: {self.message}"
        return text + (f"; {self.advice}" if self.advice else "")


@dataclass
class Diagnosis:
    """What stands between a model and a builtin-ops-only .tflite that LiteRT runs.

    Attributes:
        unsupported_ops: ops the converter rejects, with kind, origin and fix.
        dynamic_dims: ``(input name, axis)`` pairs still dynamic after the batch axis was pinned.
        suggested_passes: pass names under ``tff.passes`` to apply, in order.
        other_problems: converter failures that are not about a single op.
        input_specs: the signature that was examined.
        findings: failures met on the way (the converter crashing, LiteRT
            refusing or failing to run the converted model), each with the op
            and the likely fix; ``diagnose`` reports them instead of raising.
        runs_on_litert: whether the converted model allocated and ran once on
            random inputs in LiteRT (None when it did not convert).
    """

    unsupported_ops: List[UnsupportedOp] = field(default_factory=list)
    dynamic_dims: List[Tuple[str, int]] = field(default_factory=list)
    suggested_passes: List[str] = field(default_factory=list)
    other_problems: List[str] = field(default_factory=list)
    input_specs: List[InputSpec] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    runs_on_litert: Optional[bool] = None

    @property
    def convertible(self) -> bool:
        """True when the converter accepted the model with builtin ops only."""
        return not self.unsupported_ops and not self.other_problems

    @property
    def litert_failures(self) -> List[Finding]:
        """Findings from LiteRT: the model converts but does not run."""
        return [f for f in self.findings if f.stage.startswith("litert")]

    def _verdict(self) -> str:
        if not self.convertible:
            return "does NOT convert with builtin ops"
        if self.runs_on_litert is False:
            return "converts with builtin ops, but LiteRT does NOT run it"
        if self.runs_on_litert:
            return "converts with builtin ops and runs on LiteRT"
        return "converts with builtin ops"

    def _op_rows(self) -> List[List[str]]:
        return [
            [op.op_type, op.kind, op.layer or "-", op.node or "-", f"tff.passes.{op.fix}()" if op.fix else "none yet"]
            for op in self.unsupported_ops
        ]

    def __str__(self) -> str:
        parts = [f"diagnosis: {self._verdict()}", "inputs: " + ", ".join(str(s) for s in self.input_specs)]
        if self.unsupported_ops:
            parts.append(text_table(["op", "kind", "layer", "node", "fix"], self._op_rows()))
        parts += [f"dynamic: input '{name}' axis {axis}" for name, axis in self.dynamic_dims]
        parts += [f"problem: {p}" for p in self.other_problems]
        parts += [f"finding: {f}" for f in self.findings if f.stage != "convert"]
        if self.suggested_passes:
            parts.append("suggested passes: " + ", ".join(self.suggested_passes))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        html = f"<p><b>diagnosis:</b> {self._verdict()}</p>"
        if self.unsupported_ops:
            html += html_table(["op", "kind", "layer", "node", "fix"], self._op_rows())
        html += html_list("dynamic axes", [f"{n} axis {a}" for n, a in self.dynamic_dims])
        html += html_list("other problems", self.other_problems)
        html += html_list("LiteRT", [str(f) for f in self.findings if f.stage != "convert"])
        html += html_list("suggested passes", self.suggested_passes)
        return html
