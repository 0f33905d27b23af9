"""The rewrite-rule registry, keyed by TF op type name.

A *rule* replaces one node of a TF graph with ordinary TensorFlow code built
only from ops the TFLite converter lowers to builtins. It sees the node
(:class:`NodeView`: attributes and static shapes) and receives its inputs as
tensors; it returns the node's outputs, or declines with :meth:`NodeView.decline`.

Example, a rule for a user's own op (a documented pattern, see the README):

    >>> import tensorflow as tf
    >>> from tflite_fixups.rewrites import rewrite_rule
    >>> @rewrite_rule("Softsign", error_bound="exact", registry=RuleRegistry())
    ... def softsign(node, x):
    ...     return x / (1.0 + tf.abs(x))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..conversion.hints import register_fix

Shape = Optional[Tuple[Optional[int], ...]]
RuleFunction = Callable[..., Any]
PASS_NAME = "replace_unsupported_ops"


@dataclass
class ComplexParts:
    """A complex tensor carried as two float tensors (TFLite has few complex kernels).

    Rules registered with ``complex_parts=True`` receive complex inputs in this
    form and may return it for complex outputs; consumers of a lowered output
    then receive the parts directly, so no complex tensor is left in the graph.
    """

    real: Any
    imag: Any


class RuleDeclined(Exception):
    """Raised by a rule (through :meth:`NodeView.decline`) to leave a node as it is.

    ``quiet`` declines are expected (e.g. an Einsum form the converter already
    handles) and are noted rather than warned about.
    """

    def __init__(self, reason: str, *, quiet: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.quiet = quiet


@dataclass
class NodeView:
    """What a rule may look at: one node, its attributes and static shapes.

    Attributes:
        name: node name (scopes included).
        op_type: TF op type, e.g. ``"SelfAdjointEigV2"``.
        attrs: attribute values as Python objects (``tf.DType``, int, bool, list, str).
        input_shapes / output_shapes: static shapes; ``None`` for unknown rank,
            ``None`` entries for unknown dimensions.
        input_dtypes / output_dtypes: ``tf.DType`` of each input and output.
        function: the graph function holding the node (``None`` for the main graph).
        lowered_inputs: per input, whether it arrives as parts of an already lowered
            complex value (only for rules registered with ``complex_parts=True``).
        raw_attrs: the attributes as ``AttrValue`` protos, to re-create the op.
        input_constants: per input, its value as a NumPy array when it is a
            graph constant (e.g. ``fft_length``), else ``None``.
    """

    name: str
    op_type: str
    attrs: Dict[str, Any]
    input_shapes: List[Shape]
    input_dtypes: List[Any]
    output_shapes: List[Shape]
    output_dtypes: List[Any]
    function: Optional[str] = None
    lowered_inputs: List[bool] = field(default_factory=list)
    raw_attrs: Dict[str, Any] = field(default_factory=dict)
    input_constants: List[Any] = field(default_factory=list)

    def decline(self, reason: str, *, quiet: bool = False) -> None:
        """Leave this node in place, saying why."""
        raise RuleDeclined(reason, quiet=quiet)

    def static_shape(self, index: int = 0) -> Tuple[int, ...]:
        """The fully known shape of input ``index``, or decline."""
        shape = self.input_shapes[index]
        if shape is None or any(d is None for d in shape):
            self.decline(f"input {index} of {self.op_type} needs a static shape, got {shape} (pin input shapes)")
        return tuple(shape)  # type: ignore[arg-type]

    def constant(self, index: int):
        """The constant value of input ``index``, or decline."""
        value = self.input_constants[index] if index < len(self.input_constants) else None
        if value is None:
            self.decline(f"input {index} of {self.op_type} must be a constant")
        return value

    def where(self) -> str:
        return f"{self.name}" + (f" in function {self.function}" if self.function else "")


@dataclass(frozen=True)
class Rule:
    """One registered rewrite: which op it replaces, with what, and how exactly.

    Attributes:
        op_type: the TF op type it replaces.
        name: a short name shown in reports.
        function: ``function(node: NodeView, *inputs) -> outputs``.
        error_bound: the stated bound, e.g. ``"1e-5 abs"`` or ``"exact"``.
        limits: the preconditions in words, e.g. ``"n <= 32"``.
        description: what it computes instead.
        complex_parts: complex inputs arrive as :class:`ComplexParts` and complex
            outputs may be returned as such.
        when: a cheap test of the node; when it is False the rule does not apply
            at all (no decline is reported), e.g. ``Mul`` rules for complex dtypes only.
    """

    op_type: str
    name: str
    function: RuleFunction = field(compare=False)
    error_bound: str = "unspecified"
    limits: str = ""
    description: str = ""
    complex_parts: bool = False
    when: Optional[Callable[[NodeView], bool]] = field(default=None, compare=False)

    def applies_to(self, node: NodeView) -> bool:
        return self.when is None or bool(self.when(node))


class RuleRegistry:
    """Rules by TF op type. The first rule that does not decline a node wins."""

    def __init__(self) -> None:
        self._rules: Dict[str, List[Rule]] = {}

    def register(self, rule: Rule) -> Rule:
        existing = [r for r in self._rules.get(rule.op_type, []) if r.name == rule.name]
        if existing:
            warnings.warn(f"rule '{rule.name}' for {rule.op_type} registered again; the new one replaces it", stacklevel=3)
            self._rules[rule.op_type] = [r for r in self._rules[rule.op_type] if r.name != rule.name]
        self._rules.setdefault(rule.op_type, []).insert(0, rule)
        if self is DEFAULT_REGISTRY:
            register_fix([rule.op_type], PASS_NAME)
        return rule

    def rules_for(self, op_type: str) -> List[Rule]:
        return list(self._rules.get(op_type, []))

    def op_types(self) -> List[str]:
        return sorted(self._rules)

    def all_rules(self) -> List[Rule]:
        return [rule for op in self.op_types() for rule in self._rules[op]]

    def __contains__(self, op_type: str) -> bool:
        return op_type in self._rules

    def __len__(self) -> int:
        return sum(len(rules) for rules in self._rules.values())

    def copy(self) -> "RuleRegistry":
        clone = RuleRegistry()
        clone._rules = {op: list(rules) for op, rules in self._rules.items()}
        return clone


DEFAULT_REGISTRY = RuleRegistry()


def rewrite_rule(
    op_types: "str | Sequence[str]",
    *,
    error_bound: str,
    name: Optional[str] = None,
    limits: str = "",
    registry: Optional[RuleRegistry] = None,
    complex_parts: bool = False,
    when: Optional[Callable[[NodeView], bool]] = None,
) -> Callable[[RuleFunction], RuleFunction]:
    """Register the decorated function as the rule for ``op_types``.

    The function receives ``(node, *inputs)`` and returns one tensor or a
    list of tensors, one per output of the node, with the same dtypes.
    Later registrations take precedence over earlier ones, so a user's rule
    overrides a built-in one for the same op.

    Example:
        >>> @rewrite_rule("Erf", error_bound="1.5e-7 abs")   # doctest: +SKIP
        ... def erf(node, x):
        ...     ...
    """
    target = registry if registry is not None else DEFAULT_REGISTRY
    types = [op_types] if isinstance(op_types, str) else list(op_types)

    def decorate(function: RuleFunction) -> RuleFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        for op_type in types:
            target.register(
                Rule(op_type, name or function.__name__, function, error_bound, limits, doc[0] if doc else "",
                     complex_parts, when)
            )
        return function

    return decorate


def iter_rules(registry: Optional[RuleRegistry] = None) -> Iterable[Rule]:
    return (registry or DEFAULT_REGISTRY).all_rules()


def catalogue_markdown(registry: Optional[RuleRegistry] = None) -> str:
    """The rules as a Markdown table: op type, rule, error bound, limits (one row per rule).

    Example:
        >>> print(catalogue_markdown())            # doctest: +SKIP
        | TF op | rule | error bound (float32) | limits |
        ...
    """
    rows = ["| TF op | rule | error bound (float32) | limits |", "|---|---|---|---|"]
    for rule in iter_rules(registry):
        cells = [rule.op_type, rule.name, rule.error_bound, rule.limits or "-"]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
