"""Pipeline: an ordered, callable composition of passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import InvalidInputError, PassError, RuleError, TfliteFixupsError
from ..models.specs import InputSpecsArg
from .base import Pass, PassContext, PassLike, PassReport, PassResult, as_pass_list


@dataclass
class Stage:
    """A model as it stood after a pass (``pass_name`` is ``"original"`` for the input)."""

    pass_name: str
    model: Any


@dataclass
class PipelineRun:
    """Everything a pipeline run produced: the final model, each stage and each report."""

    model: Any
    stages: List[Stage] = field(default_factory=list)
    reports: List[PassReport] = field(default_factory=list)
    #: models the passes already traced (``PassContext.traced``), so stages need not be traced again
    context: Optional[PassContext] = None


class Pipeline(Pass):
    """Run passes in order; a Pipeline is itself a pass, so pipelines nest.

    Args:
        passes: :class:`Pass` objects or plain callables ``model -> model``.
        check_after_each: after every pass, load its output and run it once in
            TensorFlow on random inputs, so a broken pass is caught where it
            happened rather than at conversion.
        name: shown in reports.

    A pass that raises is named in the error together with the passes that
    ran before it.

    Example:
        >>> pipeline = tff.Pipeline([tff.passes.replace_unsupported_ops()])  # doctest: +SKIP
        >>> fixed = pipeline(model)                                          # doctest: +SKIP
        >>> print(pipeline.last_report)                                      # doctest: +SKIP
    """

    def __init__(self, passes: Sequence[PassLike] = (), *, check_after_each: bool = False, name: str = "pipeline"):
        self.name = name
        super().__init__()
        self.passes: List[Pass] = as_pass_list(passes)
        if not isinstance(check_after_each, bool):
            raise InvalidInputError(f"check_after_each must be True or False, got {check_after_each!r}")
        self.check_after_each = check_after_each

    def __len__(self) -> int:
        return len(self.passes)

    def __iter__(self):
        return iter(self.passes)

    def run_stages(self, model: Any, context: Optional[PassContext] = None) -> PipelineRun:
        """Run every pass and keep each intermediate model (for error attribution)."""
        context = context or PassContext()
        run = PipelineRun(model=model, stages=[Stage("original", model)], context=context)
        done: List[str] = []
        for current in self.passes:
            try:
                result = current.run(run.model, context)
                if self.check_after_each:
                    _check_runnable(result.model, context.input_specs)
            except PassError as error:
                if error.pass_name != current.name or isinstance(error, RuleError):  # raised inside, not by run()
                    error.add_note(f"raised by pass '{current.name}' after {done or 'no other pass'}")
                raise
            except TfliteFixupsError as error:
                error.add_note(f"raised by pass '{current.name}' after {done or 'no other pass'}")
                raise
            except Exception as error:  # check_after_each ran the pass's model, and it failed
                raise PassError(
                    f"pass '{current.name}' (after {done or 'no other pass'}) returned a model that fails to run: "
                    f"{type(error).__name__}: {error}", pass_name=current.name, passes_run=done,
                ) from error
            run.model = result.model
            run.stages.append(Stage(current.name, result.model))
            context.passes_run.append(current.name)
            if isinstance(current, Pipeline):
                run.reports.extend(_children(result.report))
            else:
                run.reports.append(result.report)
            done.append(current.name)
        return run

    def call(self, model: Any, context: PassContext) -> PassResult:
        run = self.run_stages(model, context)
        report = PassReport(
            self.name,
            changed=any(r.changed for r in run.reports),
            warnings=[w for r in run.reports for w in r.warnings],
            children=run.reports,
        )
        return PassResult(run.model, report)

    def __repr__(self) -> str:
        return f"Pipeline([{', '.join(p.name for p in self.passes)}])"


def _children(report: PassReport) -> List[PassReport]:
    return list(report.children or [report])


def _check_runnable(model: Any, input_specs: InputSpecsArg) -> None:
    from ..models.loading import load_model
    from ..verification.samples import random_samples

    loaded = load_model(model, input_specs)
    for sample in random_samples(loaded.input_specs, count=1, seed=0):
        loaded.run(sample)


def pipeline_stages(
    passes: Sequence[PassLike], model: Any, input_specs: InputSpecsArg = None, traced: Any = None,
    sample_inputs: Any = None,
) -> PipelineRun:
    """Run ``passes`` (a list or a :class:`Pipeline`) on ``model`` keeping every stage.

    ``traced`` is ``model`` already loaded for ``input_specs``; passes that work on graphs reuse it.
    ``sample_inputs`` are the user's samples (dicts by input name), for passes that measure.
    """
    pipeline = passes if isinstance(passes, Pipeline) else Pipeline(as_pass_list(passes))
    context = PassContext(input_specs=input_specs, sample_inputs=sample_inputs)
    if traced is not None:
        context.traced[id(model)] = traced
    return pipeline.run_stages(model, context)


__all__: Tuple[str, ...] = ("Pipeline", "PipelineRun", "Stage", "pipeline_stages")
