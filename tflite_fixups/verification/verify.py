"""Verify a .tflite model against the TensorFlow model it came from."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..conversion.flatbuffer import flex_ops, op_counts
from ..errors import InvalidInputError
from ..models.loading import load_model
from ..models.signature_model import SignatureModel
from ..models.specs import InputSpecsArg
from ..models.pinning import ShapePinning
from ..reports.pinning import PinningCheck, PinningReport
from ..reports.verification import StageComparison, VerificationReport
from .litert import LiteRTRunner
from .metrics import compare_outputs
from .pinning import EQUAL, LONGER, SHORTER, length_category, sample_lengths
from .samples import Sample, SampleSet, collect_samples

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-4
DEFAULT_NUM_RANDOM_SAMPLES = 8


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
) -> VerificationReport:
    """Compare a .tflite model's outputs with the original model's on the same samples.

    Args:
        model: the original model (anything :func:`tflite_fixups.load_model` accepts).
        tflite_model: .tflite bytes, a path to a .tflite file, or a ``ConversionResult``.
        sample_inputs: one sample (array / list in input order / dict by name) or an
            iterable or zero-argument callable of samples; random samples when None.
        input_specs: the signature the .tflite model was converted with, if pinned.
        atol, rtol: an output matches when ``|tflite - original| <= atol + rtol * |original|``.

    Example:
        >>> report = tff.verify(model, "model.tflite", sample_inputs=x_test[:16])  # doctest: +SKIP
        >>> report.ok, report["predictions"].max_abs_error                        # doctest: +SKIP
        (True, 3.1e-07)
    """
    check_tolerances(atol, rtol)
    tflite_bytes = _tflite_bytes(tflite_model)
    reference = load_model(model, input_specs)
    samples = collect_samples(reference.input_specs, sample_inputs, num_random=num_random_samples, seed=seed)
    return verify_stages([("original", reference)], tflite_bytes, samples, atol=atol, rtol=rtol)


def verify_stages(
    stages: Sequence[Tuple[str, Optional[SignatureModel]]],
    tflite_bytes: bytes,
    samples: SampleSet,
    *,
    atol: float,
    rtol: float,
    counts: Optional[Dict[str, int]] = None,
    pinning: Optional[ShapePinning] = None,
) -> VerificationReport:
    """Compare each stage (the first is the reference) and the .tflite with the reference.

    A stage given as ``None`` model could not be loaded and is reported as not comparable.
    With a ``pinning``, samples keep their own lengths: the unpinned reference
    runs on each sample (truncated where longer than pinned), pinned stages and
    the .tflite run on it padded/truncated, their outputs are cropped back to
    the reference's lengths, and the error is split into pinning and conversion.
    """
    flex = flex_ops(counts if counts is not None else op_counts(tflite_bytes))
    if flex:
        return VerificationReport.skipped_because(
            f"the model uses Select-TF (Flex) ops {flex}, which LiteRT's Python interpreter cannot run; "
            "it is NOT verified. Rewrite them with tff.passes.replace_unsupported_ops()"
        )
    feeds = _Feeds(pinning, samples)
    reference = stages[0][1]
    expected = [feeds.run(reference, feed) for feed in feeds.for_model(reference)]
    runner = LiteRTRunner(tflite_bytes)
    _check_input_names(reference, runner)
    name_map, notes = _match_output_names(reference.output_names, runner.output_names)
    report = VerificationReport(
        ok=False, num_samples=len(samples), sample_source=samples.source, atol=atol, rtol=rtol,
        notes=list(samples.notes) + notes,
    )
    final_tf = None
    for stage_name, stage_model in stages[1:]:
        comparison, outputs = _compare_stage(stage_name, stage_model, feeds, expected, atol, rtol)
        report.stages.append(comparison)
        if outputs is not None:
            final_tf = outputs
    actual = feeds.cropped([runner.run(feed) for feed in feeds.pinned], expected, name_map)
    report.outputs = compare_outputs(expected, actual, atol=atol, rtol=rtol, name_map=name_map)
    report.stages.append(StageComparison("tflite", report.outputs))
    report.ok = all(o.within_tolerance for o in report.outputs.values())
    if pinning is not None:
        report.pinning = feeds.report(expected, final_tf if reference.pinning is None else None, actual, name_map)
    return report


class _Feeds:
    """The samples as each model must see them: as given (or truncated) for the unpinned, fitted for the pinned."""

    def __init__(self, pinning: Optional[ShapePinning], samples: SampleSet):
        self.pinning = pinning
        self.samples = samples.samples
        if pinning is None:
            self.original = self.pinned = self.samples
        else:
            self.original = [pinning.reference(s) for s in self.samples]
            self.pinned = [pinning.fit(s) for s in self.samples]

    def run(self, model: SignatureModel, feed: Sample) -> Dict[str, np.ndarray]:
        """Unpinned models see many lengths: trace them at each sample's own shape."""
        return model.run(feed) if self.pinning is None else model.run_at_own_shape(feed)

    def for_model(self, model: SignatureModel) -> List[Sample]:
        return self.pinned if model.pinning is not None else self.original

    def cropped(self, outputs: List[Dict[str, np.ndarray]], expected, name_map=None) -> List[Dict[str, np.ndarray]]:
        """Pinned-model outputs cut back to the reference's lengths (``name_map``: reference -> candidate names)."""
        if self.pinning is None:
            return outputs
        name_map = name_map or {}
        return [
            self.pinning.crop_outputs(got, {name_map.get(k, k): v for k, v in want.items()})
            for got, want in zip(outputs, expected)
        ]

    def report(self, expected, final_tf, actual, name_map) -> PinningReport:
        report = PinningReport(str(self.pinning))
        for index, sample in enumerate(self.samples):
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


def _max_error(expected, actual, name_map) -> float:
    comparisons = compare_outputs([expected], [actual], atol=0.0, rtol=0.0, name_map=name_map)
    return max((c.max_abs_error for c in comparisons.values()), default=0.0)


def _compare_stage(name, model, feeds: _Feeds, expected, atol, rtol):
    if model is None:
        return StageComparison(name, note="could not be loaded for comparison"), None
    try:
        outputs = [feeds.run(model, feed) for feed in feeds.for_model(model)]
    except Exception as error:  # a pass may legitimately change the signature; report, don't fail
        note = f"not comparable on these samples: {type(error).__name__}: {error}"
        return StageComparison(name, note=note), None
    name_map, _ = _match_output_names(list(expected[0]), model.output_names)
    outputs = feeds.cropped(outputs, expected, name_map)
    return StageComparison(name, compare_outputs(expected, outputs, atol=atol, rtol=rtol, name_map=name_map)), outputs


def _check_input_names(reference: SignatureModel, runner: LiteRTRunner) -> None:
    if sorted(reference.input_names) != sorted(runner.input_names):
        raise InvalidInputError(
            f"the .tflite model's inputs {runner.input_names} do not match the model's inputs "
            f"{reference.input_names}; was it converted from this model?"
        )


def _match_output_names(reference: List[str], candidate: List[str]) -> Tuple[Dict[str, str], List[str]]:
    if set(reference) <= set(candidate):
        return {n: n for n in reference}, []
    if len(reference) == len(candidate):
        return dict(zip(sorted(reference), sorted(candidate))), [
            f"output names differ ({reference} vs {candidate}); matched them in sorted order"
        ]
    return {}, [f"outputs {sorted(set(reference) - set(candidate))} are missing from the converted model"]


def check_tolerances(atol: float, rtol: float) -> None:
    """Raise InvalidInputError unless both tolerances are non-negative numbers."""
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not isinstance(value, (int, float, np.floating)) or not value >= 0:
            raise InvalidInputError(f"{name} must be a non-negative number, got {value!r}")


def _tflite_bytes(tflite_model: Any) -> bytes:
    if isinstance(tflite_model, (bytes, bytearray, memoryview)):
        return bytes(tflite_model)
    if isinstance(tflite_model, (str, os.PathLike)):
        if not os.path.isfile(tflite_model):
            raise InvalidInputError(f"no .tflite file at '{os.fspath(tflite_model)}'")
        with open(tflite_model, "rb") as handle:
            return handle.read()
    converted = getattr(tflite_model, "tflite_model", None)
    if isinstance(converted, bytes):
        return converted
    raise InvalidInputError(
        f"tflite_model: expected .tflite bytes, a path or a ConversionResult, got {type(tflite_model).__name__}"
    )
