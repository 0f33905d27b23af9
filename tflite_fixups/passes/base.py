"""The pass contract.

A pass is a callable ``model -> model`` that never mutates its input and says
what it changed. Subclass :class:`Pass` and implement :meth:`Pass.call`, or
turn a plain function into a pass with :func:`function_pass`.
"""

from __future__ import annotations

import copy
import inspect
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from .._quiet import quiet_tensorflow
from ..errors import InvalidInputError, PassError, TfliteFixupsError
from ..models.loading import looks_like_model
from ..models.specs import InputSpecsArg


@dataclass
class Replacement:
    """One thing a pass matched and what it put in its place.

    Attributes:
        target: node or layer name that was matched.
        kind: its op type or layer class.
        replacement: what replaced it (rule name or short description).
        details: anything else worth reporting, e.g. ``{"error_bound": "1e-5 abs"}``.
    """

    target: str
    kind: str
    replacement: str
    details: Dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.kind} '{self.target}' -> {self.replacement}" + (f" ({extra})" if extra else "")


@dataclass
class PassReport:
    """What one pass did.

    Attributes:
        name: the pass's name.
        changed: whether the returned model differs from the input.
        replacements: each match and its replacement.
        ops_before / ops_after: TF op type counts when the pass looked at the graph.
        warnings: things the user should know (e.g. a rule declined a node).
        notes: other facts (e.g. "nothing matched").
        metrics: figures the pass measured, e.g. ``{"padding_max_abs_error": 0.34}``.
        seconds: wall time of the pass.
        children: reports of the passes inside a :class:`Pipeline`.
    """

    name: str
    changed: bool
    replacements: List[Replacement] = field(default_factory=list)
    ops_before: Optional[Dict[str, int]] = None
    ops_after: Optional[Dict[str, int]] = None
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    metrics: Dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    children: List["PassReport"] = field(default_factory=list)

    def op_count_changes(self) -> List[str]:
        """Op types whose count changed, e.g. ``["SelfAdjointEigV2 -1 (1->0)", "MatMul +40 (2->42)"]``."""
        if self.ops_before is None or self.ops_after is None:
            return []
        changes = []
        for op in sorted(set(self.ops_before) | set(self.ops_after)):
            before, after = self.ops_before.get(op, 0), self.ops_after.get(op, 0)
            if before != after:
                changes.append(f"{op} {after - before:+d} ({before}->{after})")
        return changes

    def __str__(self) -> str:
        head = f"{self.name}: {'changed' if self.changed else 'no change'} ({self.seconds:.2f}s)"
        lines = [head]
        lines += [f"  replaced {r}" for r in self.replacements]
        changes = self.op_count_changes()
        if changes:
            lines.append("  ops: " + ", ".join(_most_telling(changes, self.ops_before, self.ops_after)))
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  measured {key} = {value:.3g}" for key, value in self.metrics.items()]
        lines += [f"  warning: {w}" for w in self.warnings if not self.children]
        lines += ["  " + line for child in self.children for line in str(child).splitlines()]
        return "\n".join(lines)


@dataclass
class PassResult:
    """A pass's output model together with its report."""

    model: Any
    report: PassReport


@dataclass
class PassContext:
    """What a pipeline knows that a pass may need: the input specs the user asked for,
    and the models already traced for them (so a graph pass does not trace the user's model again)."""

    input_specs: InputSpecsArg = None
    traced: Dict[int, Any] = field(default_factory=dict, repr=False)
    #: names of the passes a pipeline already ran, for error messages
    passes_run: List[str] = field(default_factory=list)
    #: the user's sample inputs (dicts by input name) when convert_and_verify was given some; passes that
    #: measure (pin_input_shapes' padding probe) use them instead of random data
    sample_inputs: Optional[List[Dict[str, Any]]] = None

    def load(self, model: Any):
        """``model`` as a SignatureModel for ``input_specs``, reusing one the pipeline already traced."""
        from ..models.loading import load_model

        cached = self.traced.get(id(model))
        if cached is not None and cached.source is model:
            return cached
        loaded = load_model(model, self.input_specs)
        self.traced[id(model)] = loaded
        return loaded


class Pass:
    """Base class of passes.

    Subclasses set :attr:`name` (defaults to the class name in snake_case) and
    implement :meth:`call`. Calling the pass returns just the model and keeps
    the report in :attr:`last_report`; :meth:`run` returns both.

    Example:
        >>> class Identity(Pass):
        ...     def call(self, model, context):
        ...         return PassResult(model, PassReport(self.name, changed=False))
        >>> Identity().name
        'identity'
    """

    name: str = ""

    def __init__(self) -> None:
        if not self.name:
            self.name = _snake_case(type(self).__name__)
        self.last_report: Optional[PassReport] = None

    def call(self, model: Any, context: PassContext) -> PassResult:
        raise NotImplementedError

    def run(self, model: Any, context: Optional[PassContext] = None) -> PassResult:
        """Run the pass: its output model and report.

        Raises:
            PassError: the pass raised something other than a library error, or
                returned something that is not a model.
        """
        start = time.perf_counter()
        context = context or PassContext()
        before = list(context.passes_run)
        failed = f"pass '{self.name}' failed after {before or 'no other pass'}"
        try:
            with quiet_tensorflow():  # passes trace, freeze and run models: TF logs while they do
                result = self.call(model, context)
        except TfliteFixupsError:
            raise
        except Exception as error:
            raise PassError(f"{failed}: {type(error).__name__}: {error}", pass_name=self.name,
                            passes_run=before) from error
        if not isinstance(result, PassResult):
            raise PassError(f"{failed}: call() must return a PassResult, got {type(result).__name__}",
                            pass_name=self.name, passes_run=before)
        if not looks_like_model(result.model):
            raise PassError(f"{failed}: it returned {type(result.model).__name__} {result.model!r:.40} instead of a "
                            "model (a pass returns the new model, or its input unchanged)",
                            pass_name=self.name, passes_run=before)
        result.report.seconds = time.perf_counter() - start
        self.last_report = result.report
        return result

    def __call__(self, model: Any) -> Any:
        return self.run(model).model

    def renamed(self, name: str) -> "Pass":
        """The same pass under another name, for its report and pipeline stage (the original keeps its name).

        Example:
            >>> eigh_only = tff.passes.replace_unsupported_ops(only=["SelfAdjointEigV2"]).renamed("eigh")  # doctest: +SKIP
            >>> [s.stage for s in tff.convert_and_verify(model, passes=[eigh_only]).verification.stages]  # doctest: +SKIP
            ['eigh', 'tflite']
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"a pass name must be a non-empty string, got {name!r}")
        twin = copy.copy(self)
        twin.name = name
        twin.last_report = None
        return twin

    def __repr__(self) -> str:
        return f"<pass {self.name}>"


class FunctionPass(Pass):
    """A plain function ``model -> model`` (or ``-> PassResult``) used as a pass."""

    def __init__(self, function: Callable[..., Any], name: Optional[str] = None):
        if not callable(function) or isinstance(function, type):
            raise InvalidInputError(
                f"function_pass expects a function model -> model, got {type(function).__name__} {function!r:.60}"
            )
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise InvalidInputError(f"a pass name must be a non-empty string, got {name!r}")
        self.name = name or getattr(function, "__name__", "function_pass")
        super().__init__()
        self.function = function
        parameters = inspect.signature(function).parameters
        self._takes_context = "context" in parameters

    def call(self, model: Any, context: PassContext) -> PassResult:
        output = self.function(model, context=context) if self._takes_context else self.function(model)
        if isinstance(output, PassResult):
            return output
        notes = [] if output is not model else ["returned its input unchanged"]
        return PassResult(output, PassReport(self.name, changed=output is not model, notes=notes))


PassLike = Union[Pass, Callable[[Any], Any]]


def function_pass(function: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None):
    """Turn a function ``model -> model`` into a :class:`Pass` (usable as a decorator).

    The function may also accept a ``context`` keyword (a :class:`PassContext`)
    and may return a :class:`PassResult` to report in detail.

    Example:
        >>> @function_pass
        ... def drop_dropout(model):
        ...     return model  # a real pass would return a rebuilt copy
        >>> drop_dropout.name
        'drop_dropout'
    """
    if function is None:
        return lambda f: FunctionPass(f, name=name)
    return FunctionPass(function, name=name)


def as_pass(candidate: PassLike, position: Optional[int] = None) -> Pass:
    """A Pass as it is; any other callable wrapped with :func:`function_pass`."""
    if isinstance(candidate, Pass):
        return candidate
    if callable(candidate) and not isinstance(candidate, type):
        return FunctionPass(candidate)
    where = "" if position is None else f" (passes[{position}])"
    hint = (" (a pass class: instantiate it, or use its factory such as tff.passes.replace_unsupported_ops())"
            if isinstance(candidate, type) else
            " (a name: use the pass itself, e.g. tff.passes.replace_unsupported_ops())" if isinstance(candidate, str)
            else "")
    raise InvalidInputError(
        f"a pass must be a Pass or a callable model -> model, got {type(candidate).__name__} {candidate!r:.60}"
        f"{where}{hint}"
    )


def as_pass_list(passes: Any) -> List[Pass]:
    """``passes`` as a list of Pass objects: a list/tuple of passes, or a single pass or function.

    Example:
        >>> [p.name for p in as_pass_list(lambda model: model)]
        ['<lambda>']
    """
    if passes is None:
        return []
    if isinstance(passes, Pass) or (callable(passes) and not isinstance(passes, type)):
        return [as_pass(passes)]
    if isinstance(passes, (str, bytes, Mapping)) or not isinstance(passes, Iterable):
        raise InvalidInputError(
            f"passes: expected a list of passes (or a single pass), e.g. [tff.passes.replace_unsupported_ops()], "
            f"got {type(passes).__name__} {passes!r:.60}"
        )
    return [as_pass(candidate, position) for position, candidate in enumerate(passes)]


def count_ops(graph_def) -> Dict[str, int]:
    """TF op type -> count over a GraphDef and every function in its library."""
    counts: Counter = Counter(node.op for node in graph_def.node)
    for function in graph_def.library.function:
        counts.update(node.op for node in function.node_def)
    return dict(counts)


def _most_telling(changes: List[str], before, after, shown: int = 8) -> List[str]:
    """Every op type that disappeared or shrank, then the largest additions; the rest counted."""
    def delta(change: str) -> int:
        op = change.split(" ", 1)[0]
        return after.get(op, 0) - before.get(op, 0)

    removed = [c for c in changes if delta(c) < 0]
    added = sorted((c for c in changes if delta(c) > 0), key=lambda c: -delta(c))
    hidden = max(0, len(added) - shown)
    return removed + added[:shown] + ([f"... {hidden} more op types"] if hidden else [])


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

