"""Exception classes raised by tflite_fixups.

Every error the library raises derives from :class:`TfliteFixupsError`, so
``except tff.TfliteFixupsError`` catches all of them. Errors about bad
arguments also derive from the matching built-in (``ValueError`` or
``TypeError``) so existing handlers keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


class TfliteFixupsError(Exception):
    """Base class of every error raised by tflite_fixups."""


class InvalidModelError(TfliteFixupsError, TypeError):
    """The object passed as a model is not something tflite_fixups can convert."""


class ModelFileError(InvalidModelError):
    """A model file is missing, unreadable, corrupt, truncated or not of the kind its name says.

    Raised for ``.keras``, ``.h5``, SavedModel directories and ``.tflite`` files
    alike, before anything is read from a file that does not check out.

    Attributes:
        path: the file or directory, when the model came from one.
    """

    def __init__(self, message: str, *, path: Optional[str] = None):
        super().__init__(message)
        self.path = path


class UnsafeModelError(InvalidModelError):
    """A model file carries Python code (a ``Lambda`` layer's bytecode) and safe mode refused to run it.

    Load it with ``safe_mode=False`` (command line: ``--unsafe-deserialization``)
    only if you trust the file: its code runs while it loads.

    Attributes:
        path: the file.
        code_locations: where the code sits, e.g. ``["layer 'scale' (Lambda) function"]``.
    """

    def __init__(self, message: str, *, path: Optional[str] = None, code_locations: Sequence[str] = ()):
        super().__init__(message)
        self.path = path
        self.code_locations = list(code_locations)


class InvalidInputError(TfliteFixupsError, ValueError):
    """An argument (input specs, sample inputs, tolerances...) is malformed."""


class PassError(TfliteFixupsError):
    """A pass in a pipeline failed; the message names it and the passes run before it."""

    def __init__(self, message: str, *, pass_name: str, passes_run: Sequence[str]):
        super().__init__(message)
        self.pass_name = pass_name
        self.passes_run = list(passes_run)


class RuleError(PassError):
    """A rewrite rule failed on a node: it raised, or returned something that cannot replace the node.

    Attributes:
        rule: the rule's name.
        op_type / node: the node it was rewriting.
    """

    def __init__(self, message: str, *, rule: str, op_type: str, node: str, pass_name: str = "replace_unsupported_ops",
                 passes_run: Sequence[str] = ()):
        super().__init__(message, pass_name=pass_name, passes_run=passes_run)
        self.rule = rule
        self.op_type = op_type
        self.node = node


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


class MissingDependencyError(TfliteFixupsError, ImportError):
    """An optional package a feature needs is not installed; the message says what to pip install."""


class InternalError(TfliteFixupsError):
    """Something failed that tflite_fixups does not check for yet: a bug, or an input it should have refused.

    The original exception is chained as ``__cause__``; please report it with its traceback.
    """


#: Lines of a TensorFlow op error that say where, not what.
_TF_CONTEXT = ("[[", "Graph execution error", "Detected at node", "Detected unsupported operations", "<stack traces")


def describe_error(error: BaseException) -> str:
    """An exception in one line: its type and the line of its message that says what went wrong.

    TensorFlow's op errors carry their cause after ``{{function_node ...}}`` prefixes, a node
    traceback and ``[[{{node ...}}]]`` context; those are dropped.

    Example:
        >>> describe_error(ValueError("bad value\\nmore detail"))
        'ValueError: bad value'
    """
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(getattr(error, "message", None) or error)).strip()
    text = _separate_litert_sentences(text)
    lines = [line for line in text.splitlines() if line.strip()]
    telling = [line.strip() for line in lines if not line[0].isspace() and not line.startswith(_TF_CONTEXT)]
    text = (telling or lines or [""])[0]
    return f"{type(error).__name__}: {text[:500]}" if text else type(error).__name__


def _separate_litert_sentences(text: str) -> str:
    """LiteRT runs its sentences together ("out of boundsNode number 3 ..."): put them apart."""
    text = re.sub(r"(?<=\.)(Node number \d+)", r" \1", text)
    return re.sub(r"(?<=[^\s.])(Node number \d+)", r". \1", text)
