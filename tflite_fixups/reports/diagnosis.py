"""Diagnosis: why a model will not convert, and which passes fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

from ..errors import UnsupportedOp
from ..models.specs import InputSpec
from .render import html_list, html_table, text_table


@dataclass
class Diagnosis:
    """What stands between a model and a builtin-ops-only .tflite.

    Attributes:
        unsupported_ops: ops the converter rejects, with kind, origin and fix.
        dynamic_dims: ``(input name, axis)`` pairs still dynamic after the batch axis was pinned.
        suggested_passes: pass names under ``tff.passes`` to apply, in order.
        other_problems: converter failures that are not about a single op.
        input_specs: the signature that was examined.
    """

    unsupported_ops: List[UnsupportedOp] = field(default_factory=list)
    dynamic_dims: List[Tuple[str, int]] = field(default_factory=list)
    suggested_passes: List[str] = field(default_factory=list)
    other_problems: List[str] = field(default_factory=list)
    input_specs: List[InputSpec] = field(default_factory=list)

    @property
    def convertible(self) -> bool:
        """True when the converter accepted the model with builtin ops only."""
        return not self.unsupported_ops and not self.other_problems

    def _op_rows(self) -> List[List[str]]:
        return [
            [op.op_type, op.kind, op.layer or "-", op.node or "-", f"tff.passes.{op.fix}()" if op.fix else "none yet"]
            for op in self.unsupported_ops
        ]

    def __str__(self) -> str:
        verdict = "converts with builtin ops" if self.convertible else "does NOT convert with builtin ops"
        parts = [f"diagnosis: {verdict}", "inputs: " + ", ".join(str(s) for s in self.input_specs)]
        if self.unsupported_ops:
            parts.append(text_table(["op", "kind", "layer", "node", "fix"], self._op_rows()))
        parts += [f"dynamic: input '{name}' axis {axis}" for name, axis in self.dynamic_dims]
        parts += [f"problem: {p}" for p in self.other_problems]
        if self.suggested_passes:
            parts.append("suggested passes: " + ", ".join(self.suggested_passes))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        verdict = "converts with builtin ops" if self.convertible else "does NOT convert with builtin ops"
        html = f"<p><b>diagnosis:</b> {verdict}</p>"
        if self.unsupported_ops:
            html += html_table(["op", "kind", "layer", "node", "fix"], self._op_rows())
        html += html_list("dynamic axes", [f"{n} axis {a}" for n, a in self.dynamic_dims])
        html += html_list("other problems", self.other_problems)
        html += html_list("suggested passes", self.suggested_passes)
        return html
