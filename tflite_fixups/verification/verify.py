"""Verify a .tflite model against the TensorFlow model it came from."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._api import public_api
from .._quiet import import_tensorflow, quiet_tensorflow
from ..conversion.flatbuffer import flex_ops, op_counts, read_tflite
from ..conversion.io_contract import io_contract_problems, read_io_contract
from ..errors import InternalError, InvalidInputError
from ..models.loading import load_model
from ..models.signature_model import SignatureModel
from ..models.value_ranges import random_sample_ranges
from ..models.specs import InputSpecsArg
from ..models.pinning import ShapePinning
from ..reports.pinning import PinningCheck, PinningReport
from ..reports.verification import SampleFailure, StageComparison, VerificationReport
from .batching import LITERT_MAX_BATCH, SampleRun, run_samples
from .litert import LiteRTRunner
from .metrics import compare_outputs
from .pinning import EQUAL, LONGER, SHORTER, length_category, sample_lengths
from .randomness import random_dependencies
from .runtime_check import explain_litert_failure
from .samples import Sample, SampleSet, collect_samples

#: The name of the stage that runs the original model frozen (variables as constants), first in the stage table.
FROZEN_STAGE = "original (frozen)"

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-4
DEFAULT_NUM_RANDOM_SAMPLES = 8


@public_api
def verify(
    model: Any,
    tflite_model: Any,
    sample_inputs: Any = None,
    *,
    input_specs: InputSpecsArg = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    num_random_samples: int = DEFAULT_NUM_RANDOM_SAMPLES,
    seed: int = 0,
    max_batch: Optional[int] = None,
) -> VerificationReport:
    """Compare a .tflite model's outputs with the original model's on the same samples.

    Args:
        model: the original model (anything :func:`tflite_fixups.load_model` accepts).
        tflite_model: .tflite bytes, a path to a .tflite file, or a ``ConversionResult``.
        sample_inputs: one sample (array / list in input order / dict by name) or an
            iterable or zero-argument callable of samples; random samples when None.
        input_specs: the signature the .tflite model was converted with, if pinned.
        atol, rtol: an output matches when ``|tflite - original| <= atol + rtol * |original|``.
        max_batch: most samples per call. By default samples of the same shape are
            batched (up to 32 per LiteRT invoke, 256 per TensorFlow call) wherever
            that provably leaves each sample's outputs unchanged; 1 runs every sample alone.

    Example:
        >>> report = tff.verify(model, "model.tflite", sample_inputs=x_test[:16])  # doctest: +SKIP
        >>> report.ok, report["predictions"].max_abs_error                        # doctest: +SKIP
        (True, 3.1e-07)
    """
    check_tolerances(atol, rtol)
    if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
        raise InvalidInputError(f"max_batch must be a positive integer or None, got {max_batch!r}")
    tflite_bytes = read_tflite(tflite_model)
    reference = load_model(model, input_specs)
    samples = collect_samples(reference.input_specs, sample_inputs, num_random=num_random_samples, seed=seed,
                              value_ranges=random_sample_ranges(reference) if sample_inputs is None else None)
    report = verify_stages([("original", reference)], tflite_bytes, samples, atol=atol, rtol=rtol, max_batch=max_batch)
    report.notes = list(samples.warnings) + report.notes  # an endless input cut at the cap, said first
    return report


def verify_stages(
    stages: Sequence[Tuple[str, Optional[SignatureModel]]],
    tflite_bytes: bytes,
    samples: SampleSet,
    *,
    atol: float,
    rtol: float,
    counts: Optional[Dict[str, int]] = None,
    pinning: Optional[ShapePinning] = None,
    max_batch: Optional[int] = None,
) -> VerificationReport:
    """Compare each stage (the first is the reference) and the .tflite with the reference.

    A stage given as ``None`` model could not be loaded and is reported as not comparable.
    With a ``pinning``, samples keep their own lengths: the unpinned reference
    runs on each sample (truncated where longer than pinned), pinned stages and
    the .tflite run on it padded/truncated, their outputs are cropped back to
    the reference's lengths, and the error is split into pinning and conversion.
    Samples of the same shape run several per call where the model allows it
    (see :mod:`tflite_fixups.verification.batching`); ``max_batch=1`` turns that off.
    """
    flex = flex_ops(counts if counts is not None else op_counts(tflite_bytes))
    if flex:
        return VerificationReport.skipped_because(
            f"the model uses Select-TF (Flex) ops {flex}, which LiteRT's Python interpreter cannot run; "
            "it is NOT verified. Rewrite them with tff.passes.replace_unsupported_ops()"
        )
    with quiet_tensorflow():  # a model failing on a sample makes TF's runtime log it
        return _verify_stages(stages, tflite_bytes, samples, atol=atol, rtol=rtol, pinning=pinning,
                              max_batch=max_batch)


def _verify_stages(stages, tflite_bytes, samples, *, atol, rtol, pinning, max_batch) -> VerificationReport:
    feeds = _Feeds(pinning, samples, max_batch)
    reference = stages[0][1]
    try:
        runner = LiteRTRunner(tflite_bytes)
    except InternalError as error:  # LiteRT refused to prepare the model (a kernel's check): a finding, not a crash
        if not isinstance(error.__cause__, RuntimeError):
            raise
        finding = explain_litert_failure(error, "litert allocate", _graph_def(reference))
        return VerificationReport.skipped_because(f"LiteRT could not prepare the .tflite model: {finding}")
    _check_input_names(reference, runner)
    random = random_dependencies(reference)
    original = feeds.run(reference, "running the original model")
    expected = original.outputs
    name_map, notes = _match_output_names(reference.output_names, runner.output_names)
    report = VerificationReport(
        ok=False, num_samples=len(samples), sample_source=samples.source, atol=atol, rtol=rtol,
        notes=list(samples.notes) + notes,
        sample_failures=[SampleFailure(i, "original", message) for i, message in sorted(original.failures.items())],
    )
    final_tf = None
    # the .tflite was converted from the last stage: its order, names, dtypes and (pinned) shapes are the contract
    io_reference = next((m for _, m in reversed(stages) if m is not None), reference)
    for stage_name, stage_model in stages[1:]:
        comparison, outputs = _compare_stage(stage_name, stage_model, feeds, expected, atol, rtol)
        _mark_random(comparison.outputs, random)
        report.stages.append(comparison)
        if outputs is not None:
            final_tf = outputs
    litert = run_on_litert(runner, feeds.pinned, max_batch=max_batch)
    report.litert_batch_size = litert.batch_size
    report.notes += feeds.notes + litert.notes
    report.sample_failures += [SampleFailure(i, "tflite", message) for i, message in sorted(litert.failures.items())]
    actual = feeds.cropped(litert.outputs, expected, name_map)
    report.outputs = _compare_where_both_ran(expected, actual, atol=atol, rtol=rtol, name_map=name_map)
    _mark_random(report.outputs, random)
    report.stages.append(StageComparison("tflite", report.outputs))
    report.io_problems = io_contract_problems(read_io_contract(tflite_bytes), io_reference.input_specs,
                                              io_reference.output_names)
    compared = [o for o in report.outputs.values() if o.compared]  # outputs that depend on random ops are not
    report.ok = bool(compared) and not report.sample_failures and not report.io_problems and all(
        o.ok for o in compared)
    if report.outputs and not compared:
        report.skipped = (
            f"every output depends on a random op ({', '.join(report.random_outputs)}), so none can be compared; "
            "make the model deterministic for the check (e.g. return the mean instead of a sample)"
        )
    if pinning is not None:
        report.pinning = feeds.report(expected, final_tf if reference.pinning is None else None, actual, name_map)
    return report


def _mark_random(comparisons, random) -> None:
    """Outputs that depend on random ops are not compared (their values differ from run to run)."""
    for name, ops in random.items():
        if name in comparisons:
            comparisons[name].random_ops = tuple(f"{op_type} '{node}'" for op_type, node in ops)


def _graph_def(model: SignatureModel):
    try:
        return model.concrete_function.graph.as_graph_def()
    except Exception:  # only used to name ops in a message
        return None


def frozen_stage_model(model: SignatureModel) -> SignatureModel:
    """``model`` with its variables folded into constants, as the converter and graph passes see it.

    Run as the first stage of ``convert_and_verify``'s stage table, so error caused by
    freezing (and by TensorFlow's graph optimizer on the frozen graph) is not blamed on the first pass.
    """
    tf = import_tensorflow()
    frozen = model.frozen_function()
    structure = model.concrete_function.structured_outputs

    def call(*args):
        return tf.nest.pack_sequence_as(structure, frozen(*args))

    stage = SignatureModel(
        call, model.input_specs, kind=f"{model.kind} (frozen)", source=model.source,
        retrace=lambda specs: frozen_stage_model(model.with_input_specs(specs)),
        native_input_specs=model.native_input_specs,
    )
    stage.pinning = model.pinning
    return stage


def _compare_where_both_ran(expected, actual, *, atol, rtol, name_map):
    """compare_outputs over the samples on which both models ran (failed samples are reported apart)."""
    both = [(e, a) for e, a in zip(expected, actual) if e is not None and a is not None]
    if not both:
        return {}
    return compare_outputs([e for e, _ in both], [a for _, a in both], atol=atol, rtol=rtol, name_map=name_map)


class _Feeds:
    """The samples as each model must see them: as given (or truncated) for the unpinned, fitted for the pinned."""

    def __init__(self, pinning: Optional[ShapePinning], samples: SampleSet, max_batch: Optional[int] = None):
        self.pinning = pinning
        self.samples = samples.samples
        self.max_batch = max_batch
        self.notes: List[str] = []
        if pinning is None:
            self.original = self.pinned = self.samples
        else:
            self.original = [pinning.reference(s) for s in self.samples]
            self.pinned = [pinning.fit(s) for s in self.samples]

    def run(self, model: SignatureModel, description: str) -> SampleRun:
        """The model on every sample it should see. With a pinning, unpinned models see many
        lengths and are traced at each sample's own shape; otherwise samples are batched.
        A sample the model fails on has None outputs and its error in the run's ``failures``."""
        feeds = self.for_model(model)
        if self.pinning is not None:
            run_one = model.run if model.pinning is not None else model.run_at_own_shape
            return run_samples(run_one, feeds, description=description)
        run = run_samples(model.run, feeds, run_batch=_batched_run(model, len(feeds)), max_batch=self.max_batch,
                          description=description)
        self.notes += run.notes
        return run

    def for_model(self, model: SignatureModel) -> List[Sample]:
        return self.pinned if model.pinning is not None else self.original

    def cropped(self, outputs: List[Dict[str, np.ndarray]], expected, name_map=None) -> List[Dict[str, np.ndarray]]:
        """Pinned-model outputs cut back to the reference's lengths (``name_map``: reference -> candidate names)."""
        if self.pinning is None:
            return outputs
        name_map = name_map or {}
        return [
            None if got is None or want is None else
            self.pinning.crop_outputs(got, {name_map.get(k, k): v for k, v in want.items()})
            for got, want in zip(outputs, expected)
        ]

    def report(self, expected, final_tf, actual, name_map) -> PinningReport:
        pinned_lengths = {e.name: tuple(e.pinned_shape[a] for a in e.pinned_axes if a != 0) for e in self.pinning.inputs}
        report = PinningReport(str(self.pinning), pinned_lengths={k: v for k, v in pinned_lengths.items() if v})
        for index, sample in enumerate(self.samples):
            if expected[index] is None or actual[index] is None or (final_tf is not None and final_tf[index] is None):
                continue  # listed in the report's sample_failures
            total = _max_error(expected[index], actual[index], name_map)
            pinning_error = None if final_tf is None else _max_error(expected[index], final_tf[index], None)
            reference = final_tf[index] if final_tf is not None else expected[index]
            report.checks.append(PinningCheck(
                sample_lengths(self.pinning, sample), length_category(self.pinning, sample),
                pinning_error, _max_error(reference, actual[index], name_map), total,
            ))
        if final_tf is None:
            report.notes.append(
                "the model given was already pinned, so its padding error cannot be measured against the "
                "original: pass the unpinned model with tff.passes.pin_input_shapes(...) in passes="
            )
        missing = [c for c in (SHORTER, EQUAL, LONGER) if c not in report.categories]
        if missing and self.pinning.changes_lengths:
            report.notes.append(f"no sample was {' or '.join(missing)} than/as the pinned length, so that case is unchecked")
        truncated = len(report.by_category(LONGER))
        if truncated:
            report.notes.append(
                f"{truncated} sample(s) longer than pinned were truncated; their reference is the original model "
                "on the truncated input"
            )
        return report


def run_on_litert(runner: LiteRTRunner, samples: Sequence[Sample], *, max_batch: Optional[int] = None) -> SampleRun:
    """Every sample through LiteRT, many per invoke when the model declares a dynamic batch axis.

    A model converted with its batch pinned runs one sample per invoke: resizing
    an axis the model declares static may fail (a RESHAPE to a fixed shape) or
    run a graph the device never runs.
    """
    run_batch = (lambda: runner.run) if runner.batch_resizable else None
    return run_samples(runner.run, samples, run_batch=run_batch,
                       max_batch=LITERT_MAX_BATCH if max_batch is None else max_batch,
                       description="running the .tflite on LiteRT")


#: A model traced for batch 1 is retraced for a dynamic batch (a one-off cost) only for this many samples.
RETRACE_FOR_BATCHES_FROM = 64


def _batched_run(model: SignatureModel, count: int):
    """What runs concatenated samples through ``model`` in TensorFlow, or None where it is not worth it."""
    if all(spec.shape[0] is None for spec in model.input_specs if spec.rank):
        return lambda: model.run
    if count >= RETRACE_FOR_BATCHES_FROM:
        return lambda: model.with_dynamic_batch().run
    return None


def _max_error(expected, actual, name_map) -> float:
    comparisons = compare_outputs([expected], [actual], atol=0.0, rtol=0.0, name_map=name_map)
    return max((c.max_abs_error for c in comparisons.values()), default=0.0)


def _compare_stage(name, model, feeds: _Feeds, expected, atol, rtol):
    if model is None:
        return StageComparison(name, note="could not be loaded for comparison"), None
    run = feeds.run(model, f"running stage '{name}'")
    if len(run.failures) == len(run.outputs):  # a pass may legitimately change the signature; report, don't fail
        return StageComparison(name, note=f"not comparable on these samples: {next(iter(run.failures.values()))}"), None
    reference_names = next((list(e) for e in expected if e is not None), model.output_names)
    name_map, _ = _match_output_names(reference_names, model.output_names)
    outputs = feeds.cropped(run.outputs, expected, name_map)
    note = None
    if run.failures:
        first = min(run.failures)
        note = f"failed on {len(run.failures)} sample(s), first sample {first}: {run.failures[first]}"
    comparison = _compare_where_both_ran(expected, outputs, atol=atol, rtol=rtol, name_map=name_map)
    return StageComparison(name, comparison, note=note), outputs


def _check_input_names(reference: SignatureModel, runner: LiteRTRunner) -> None:
    if sorted(reference.input_names) != sorted(runner.input_names):
        raise InvalidInputError(
            f"the .tflite model's inputs {runner.input_names} do not match the model's inputs "
            f"{reference.input_names}; was it converted from this model?"
        )


def _match_output_names(reference: List[str], candidate: List[str]) -> Tuple[Dict[str, str], List[str]]:
    if set(reference) <= set(candidate):
        return {n: n for n in reference}, []
    if len(reference) == len(candidate):  # both lists are in index order (the I/O contract's)
        return dict(zip(reference, candidate)), [
            f"output names differ ({reference} vs {candidate}); matched them by index"
        ]
    return {}, [f"outputs {sorted(set(reference) - set(candidate))} are missing from the converted model"]


def check_tolerances(atol: float, rtol: float) -> None:
    """Raise InvalidInputError unless both tolerances are finite non-negative numbers."""
    for name, value in (("atol", atol), ("rtol", rtol)):
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
                or not 0 <= value < float("inf")):
            raise InvalidInputError(f"{name} must be a finite non-negative number such as 1e-4, got {value!r}")
