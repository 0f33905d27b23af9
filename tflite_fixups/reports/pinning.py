"""Pinning report: what padding and truncation did to the outputs, apart from what conversion did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .render import html_table, text_table

COLUMNS = ["lengths", "vs pinned", "pinning err", "conversion err", "total err"]


@dataclass
class PinningCheck:
    """One verification sample: its unpinned lengths and the error each step added (max abs over outputs).

    ``pinning_error``: pinned TF model on padded/truncated data vs the original
    on the data itself (truncated when longer); ``conversion_error``: .tflite vs
    pinned TF model on the same padded data; ``total_error``: .tflite vs original.
    """

    lengths: Dict[str, Tuple[int, ...]]
    category: str
    pinning_error: Optional[float]
    conversion_error: float
    total_error: float

    def row(self) -> List[str]:
        lengths = ", ".join(f"{name}={'x'.join(map(str, dims))}" for name, dims in self.lengths.items()) or "-"
        pinning = "n/a" if self.pinning_error is None else f"{self.pinning_error:.3g}"
        return [lengths, self.category, pinning, f"{self.conversion_error:.3g}", f"{self.total_error:.3g}"]


@dataclass
class PinningReport:
    """Per-sample split of the error into pinning (padding/truncation) and conversion.

    ``pinned_lengths`` gives each pinned input's sizes along its pinned
    non-batch axes, to set each check's ``lengths`` against.

    Example:
        >>> report = result.verification.pinning               # doctest: +SKIP
        >>> report.max_pinning_error, report.max_conversion_error  # doctest: +SKIP
        (0.0, 2.4e-07)
    """

    pinning: str
    checks: List[PinningCheck] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    pinned_lengths: Dict[str, Tuple[int, ...]] = field(default_factory=dict)

    @property
    def max_pinning_error(self) -> Optional[float]:
        values = [c.pinning_error for c in self.checks if c.pinning_error is not None]
        return max(values) if values else None

    @property
    def max_conversion_error(self) -> float:
        return max((c.conversion_error for c in self.checks), default=0.0)

    @property
    def categories(self) -> List[str]:
        """Which of "shorter", "equal", "longer" the samples covered."""
        return sorted({c.category for c in self.checks})

    def by_category(self, category: str) -> List[PinningCheck]:
        return [c for c in self.checks if c.category == category]

    def __str__(self) -> str:
        pinning = "n/a" if self.max_pinning_error is None else f"{self.max_pinning_error:.3g}"
        head = (f"pinning ({self.pinning}): max pinning error {pinning}, "
                f"max conversion error {self.max_conversion_error:.3g}")
        parts = [head, text_table(COLUMNS, [c.row() for c in self.checks])]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return f"<p>pinning: {self.pinning}</p>" + html_table(COLUMNS, [c.row() for c in self.checks])
