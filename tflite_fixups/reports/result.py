"""ConversionResult: the .tflite bytes and everything known about them."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from ..conversion.io_contract import IOContract, read_io_contract
from ..errors import InvalidInputError
from ..models.pinning import ShapePinning
from ..models.specs import InputSpec
from ..passes.base import PassReport
from .quantization import QuantizationReport
from .render import html_list, html_table
from .verification import VerificationReport


@dataclass
class ConversionResult:
    """A converted model and what was done and measured on the way.

    Attributes:
        tflite_model: the .tflite flatbuffer.
        input_specs: the signature it was converted with.
        output_names: its output names (also the SignatureDef output keys).
        ops: TFLite op name -> count (Select-TF ops show as ``Flex<Op>``).
        passes: each pass's report, in order.
        verification: per-output error figures, or None when not verified.
        warnings: things to act on, as plain sentences.
        conversion_seconds: time spent converting (with quantization, calibrating and measuring each layer too).
        pinning: how inputs were pinned (also stored in the .tflite metadata);
            :func:`tflite_fixups.pad_or_truncate` applies it to new data.
        quantization: with ``quantization=...``: the calibration data's report,
            per-layer error against the float model, and the ops left in float.

    Example:
        >>> result = tff.convert_and_verify(model)   # doctest: +SKIP
        >>> result.ok, result.ops["CONV_2D"]         # doctest: +SKIP
        (True, 52)
    """

    tflite_model: bytes = field(repr=False)  # a notebook's text/plain must not carry the whole model
    input_specs: List[InputSpec] = field(default_factory=list)
    output_names: List[str] = field(default_factory=list)
    ops: Dict[str, int] = field(default_factory=dict)
    passes: List[PassReport] = field(default_factory=list)
    verification: Optional[VerificationReport] = None
    warnings: List[str] = field(default_factory=list)
    conversion_seconds: float = 0.0
    pinning: Optional[ShapePinning] = None
    quantization: Optional[QuantizationReport] = None

    @property
    def verified(self) -> bool:
        """Verification ran (it may still have found differences)."""
        return self.verification is not None and self.verification.skipped is None

    @property
    def ok(self) -> bool:
        """Converted AND every output matched the original within tolerance."""
        return self.verified and self.verification.ok

    @property
    def io(self) -> IOContract:
        """The .tflite's inputs and outputs as a device app addresses them: index, name, dtype, shape.

        They are the model's own, in the model's order (Keras: ``model.inputs`` /
        ``model.outputs``; functions: argument order), also in the SignatureDef.
        """
        return read_io_contract(self.tflite_model)

    @property
    def size_bytes(self) -> int:
        return len(self.tflite_model)

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Write the .tflite file (parent folders are created) and return its path.

        Raises:
            InvalidInputError: ``path`` is not a path, or the file cannot be written there.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidInputError(f"save expects a file path such as 'model.tflite', got {type(path).__name__}")
        path = os.fspath(path)
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(self.tflite_model)
        except OSError as error:
            raise InvalidInputError(f"could not write the .tflite model to '{path}': {error}") from error
        return path

    def _status(self) -> str:
        if self.ok:
            return "OK: converted and verified"
        if not self.verified:
            return "CONVERTED, NOT VERIFIED"
        return "CONVERTED, OUTPUTS DIVERGE"

    def _ops_by_count(self) -> List[Tuple[str, int]]:
        return sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0]))

    def __str__(self) -> str:
        parts = [
            f"tflite_fixups conversion: {self._status()}",
            f"size {self.size_bytes / 1024:.1f} KiB, converter {self.conversion_seconds:.2f}s",
            *(f"I/O {line}" for line in str(self.io).splitlines()),
            *(["pinned: " + str(self.pinning)] if self.pinning is not None else []),
            "ops: " + ", ".join(f"{name} x{count}" for name, count in self._ops_by_count()),
        ]
        if self.passes:
            parts.append("passes:")
            parts += ["  " + line for report in self.passes for line in str(report).splitlines()]
        if self.verification is not None:
            parts.append(str(self.verification))
        if self.quantization is not None:
            parts.append(str(self.quantization))
        parts += [f"warning: {w}" for w in self.warnings]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#b35900" if not self.verified else "#cf222e"
        parts = [
            f"<div><p style='color:{colour}'><b>{html.escape(self._status())}</b> &mdash; "
            f"{self.size_bytes / 1024:.1f} KiB, converter {self.conversion_seconds:.2f}s</p>",
            "<p>I/O by index (as a device app addresses it)</p>" + self.io._repr_html_(),
        ]
        if self.verification is not None:
            parts.append(self.verification._repr_html_())
        if self.quantization is not None:
            parts.append(self.quantization._repr_html_())
        if self.passes:
            parts.append(html_list("passes", [str(r) for r in self.passes]))
        parts.append("<details><summary>TFLite ops</summary>" + html_table(["op", "count"], [[n, str(c)] for n, c in self._ops_by_count()]) + "</details>")
        parts.append(html_list("warnings", self.warnings))
        parts.append("</div>")
        return "".join(parts)

