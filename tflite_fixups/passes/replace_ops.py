"""replace_unsupported_ops: rewrite ops the converter rejects into TFLite builtin ops."""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

from ..errors import InvalidInputError
from ..graph.surgery import rewrite_model
from ..rewrites import DEFAULT_REGISTRY
from ..rewrites.registry import PASS_NAME, Rule, RuleRegistry
from .base import Pass, PassContext, PassReport, PassResult, Replacement

RulesArg = Union[None, RuleRegistry, Sequence[Rule]]


class ReplaceUnsupportedOps(Pass):
    """Replace every op that has a registered rule with builtin-convertible TF ops.

    Works on the frozen graph and its whole function library, so it reaches
    ops inside custom layers, Lambda layers, nested functions, While/If bodies
    and loaded SavedModels. Returns a :class:`~tflite_fixups.SignatureModel`
    that still runs in TensorFlow. A rule may decline a node (e.g. a matrix
    larger than its unrolled algorithm allows); the node then stays and the
    report warns.
    """

    name = PASS_NAME

    def __init__(self, *, only: Optional[Iterable[str]] = None, exclude: Iterable[str] = (), rules: RulesArg = None):
        super().__init__()
        self.registry = _as_registry(rules)
        self.only = None if only is None else set(_op_list(only, "only"))
        self.exclude = set(_op_list(exclude, "exclude"))
        unknown = sorted(op for op in (self.only or ()) if op not in self.registry)
        if unknown:
            raise InvalidInputError(
                f"no rewrite rule for op type(s) {unknown}; rules exist for {self.registry.op_types()}"
            )

    def selects(self, op_type: str) -> List[Rule]:
        if op_type in self.exclude or (self.only is not None and op_type not in self.only):
            return []
        return self.registry.rules_for(op_type)

    def call(self, model: Any, context: PassContext) -> PassResult:
        loaded = context.load(model)
        surgery = rewrite_model(loaded, self.selects)
        report = PassReport(
            self.name,
            changed=bool(surgery.replaced),
            replacements=[
                Replacement(
                    r.node, r.op_type, r.rule.name,
                    {"error_bound": r.rule.error_bound, **({"in": r.function} if r.function else {})},
                )
                for r in surgery.replaced
            ],
            ops_before=surgery.ops_before,
            ops_after=surgery.ops_after,
            warnings=[f"{d.op_type} '{d.node}' left in place: {d.reason}" for d in surgery.declined if not d.quiet],
            notes=[f"{d.op_type} '{d.node}' left in place: {d.reason}" for d in surgery.declined if d.quiet],
        )
        if not surgery.replaced:
            report.notes.append("no node matched a rule")
            return PassResult(model, report)
        return PassResult(surgery.model, report)


def replace_unsupported_ops(
    *, only: Optional[Iterable[str]] = None, exclude: Iterable[str] = (), rules: RulesArg = None
) -> ReplaceUnsupportedOps:
    """A pass that rewrites rejected TF ops into subgraphs of TFLite builtin ops.

    Args:
        only: rewrite just these op types (e.g. ``["SelfAdjointEigV2"]``).
        exclude: leave these op types alone.
        rules: a :class:`~tflite_fixups.rewrites.RuleRegistry` or a list of
            :class:`~tflite_fixups.rewrites.Rule` to use instead of the built-in ones.

    Example:
        >>> result = tff.convert_and_verify(model, passes=[tff.passes.replace_unsupported_ops()])  # doctest: +SKIP
        >>> print(result.passes[0])                                                                 # doctest: +SKIP
        replace_unsupported_ops: changed (0.41s)
          replaced SelfAdjointEigV2 'functional_1/eigh_attention_1/SelfAdjointEigV2' -> jacobi_eigh (...)
    """
    return ReplaceUnsupportedOps(only=only, exclude=exclude, rules=rules)


def _as_registry(rules: RulesArg) -> RuleRegistry:
    if rules is None:
        return DEFAULT_REGISTRY
    if isinstance(rules, RuleRegistry):
        return rules
    if isinstance(rules, Rule):
        rules = [rules]
    if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Iterable):
        raise InvalidInputError(
            f"rules: expected a RuleRegistry or a list of Rule objects, got {type(rules).__name__} {rules!r:.60}"
        )
    registry = RuleRegistry()
    for position, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            raise InvalidInputError(
                f"rules[{position}]: expected a Rule (from a RuleRegistry, e.g. registry.rules_for('Erf')[0]) or "
                f"pass the RuleRegistry itself, got {type(rule).__name__}"
            )
        registry.register(rule)
    return registry


def _op_list(values: Iterable[str], what: str) -> List[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable) or isinstance(values, (bytes, Mapping)):
        raise InvalidInputError(f"{what}: expected TF op type names such as ['Erf'], got {values!r:.60}")
    values = list(values)
    if not all(isinstance(v, str) for v in values):
        raise InvalidInputError(f"{what}: expected TF op type names such as 'Erf', got {values!r}")
    return values
