"""Exception classes raised by tflite_fixups.

Every error the library raises derives from :class:`TfliteFixupsError`, so
``except tff.TfliteFixupsError`` catches all of them. Errors about bad
arguments also derive from the matching built-in (``ValueError`` or
``TypeError``) so existing handlers keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


class TfliteFixupsError(Exception):
    """Base class of every error raised by tflite_fixups."""


class InvalidModelError(TfliteFixupsError, TypeError):
    """The object passed as a model is not something tflite_fixups can convert."""


class InvalidInputError(TfliteFixupsError, ValueError):
    """An argument (input specs, sample inputs, tolerances...) is malformed."""


class PassError(TfliteFixupsError):
    """A pass in a pipeline failed; the message names it and the passes run before it."""

    def __init__(self, message: str, *, pass_name: str, passes_run: Sequence[str]):
        super().__init__(message)
        self.pass_name = pass_name
        self.passes_run = list(passes_run)


@dataclass(frozen=True)
class UnsupportedOp:
    """One TF op the converter rejected with builtin ops only.

    Attributes:
        op_type: TF op type name, e.g. ``"SelfAdjointEigV2"``.
        kind: ``"flex"`` when TF Select could run it, ``"custom"`` when it is not
            convertible at all (it would need a hand-written custom op).
        node: graph node name it came from (scopes included).
        layer: Keras layer the node belongs to, when it can be told.
        fix: name of a tflite_fixups pass that rewrites it, if one exists.
    """

    op_type: str
    kind: str
    node: Optional[str] = None
    layer: Optional[str] = None
    fix: Optional[str] = None

    def describe(self) -> str:
        where = f"layer '{self.layer}'" if self.layer else f"node '{self.node}'" if self.node else "unknown place"
        remedy = f"fix: tff.passes.{self.fix}()" if self.fix else "no pass rewrites it yet"
        return f"{self.op_type} ({self.kind}) from {where}; {remedy}"


class ConversionError(TfliteFixupsError):
    """The TFLite converter rejected the model.

    Attributes:
        unsupported_ops: the rejected ops with their kind and origin.
        converter_message: the converter's own message, unabridged.
        hints: suggestions that are not tied to a single op (e.g. dynamic shapes).
    """

    def __init__(
        self,
        message: str,
        *,
        unsupported_ops: Sequence[UnsupportedOp] = (),
        converter_message: str = "",
        hints: Sequence[str] = (),
    ):
        super().__init__(message)
        self.unsupported_ops = list(unsupported_ops)
        self.converter_message = converter_message
        self.hints = list(hints)


class QuantizationError(TfliteFixupsError):
    """Quantization could not give what was asked (e.g. ``require_full_int8`` with ops left in float).

    Attributes:
        float_ops: ``(op, tensor name, why)`` for each op that stayed float.
    """

    def __init__(self, message: str, *, float_ops: Sequence[Tuple[str, str, str]] = ()):
        super().__init__(message)
        self.float_ops = list(float_ops)
