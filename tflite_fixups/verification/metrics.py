"""Compare a model's outputs with a reference, output by output, over many samples."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..reports.verification import ErrorHistogram, OutputComparison
from .detection import judge_detections

#: Below this largest |reference| a float output carries no information a comparison could use.
TOO_SMALL_SCALE = 1e-30


def compare_outputs(
    reference: Sequence[Mapping[str, np.ndarray]],
    candidate: Sequence[Mapping[str, np.ndarray]],
    *,
    atol: float,
    rtol: float,
    name_map: Optional[Mapping[str, str]] = None,
) -> Dict[str, OutputComparison]:
    """Per reference output name, error statistics of ``candidate`` over all samples.

    ``name_map`` maps reference names to candidate names when they differ.
    Detection outputs (boxes ``[..., N, 4]`` with their labels, scores and
    count) are also compared by agreement (see :func:`~tflite_fixups.verification.detection.judge_detections`).
    """
    name_map = dict(name_map or {})
    comparisons = {}
    for name in reference[0]:
        other = name_map.get(name, name)
        pairs = [(ref[name], cand.get(other)) for ref, cand in zip(reference, candidate)]
        comparisons[name] = compare_arrays(name, pairs, atol=atol, rtol=rtol)
    judge_detections(comparisons, reference, candidate, name_map=name_map, atol=atol, rtol=rtol)
    return comparisons


def compare_arrays(
    name: str, pairs: Sequence[Tuple[np.ndarray, Optional[np.ndarray]]], *, atol: float, rtol: float
) -> OutputComparison:
    """Statistics over (reference, candidate) pairs, one pair per sample.

    Relative error is taken only where ``|reference| > atol`` (elsewhere the
    absolute error already says everything). NaN matching NaN and equal
    infinities count as exact, and so does a float32 maximum of the same sign
    where the reference is infinite: TFLite's builtin MUL/DIV/SELECT kernels and
    its constants saturate infinities to +-3.4e38.

    Scale: when every ``|reference|`` of a float output is below ``atol`` (its
    largest, ``scale``, e.g. 1e-11), ``atol`` alone would pass any candidate of
    that size, so the test becomes ``|got - ref| <= atol * scale + rtol * |ref|``:
    the output compared as if divided by its own scale (``judged_by="scale"``).
    A reference that is zero (below 1e-30) everywhere, or that varies less
    than the tolerance over every value and sample, is ``too_small_to_judge``.
    Outputs whose largest ``|reference|`` reaches ``atol`` are judged exactly as
    before. Integer and boolean outputs also get ``agreement``, the fraction of
    values equal to the reference.
    """
    if any(candidate is None for _, candidate in pairs):
        return OutputComparison.missing(name)
    mismatched = [(r.shape, c.shape) for r, c in pairs if np.shape(r) != np.shape(c)]
    if mismatched:
        return OutputComparison.shape_mismatch(name, *mismatched[0])
    ref = np.concatenate([np.ravel(r) for r, _ in pairs]).astype(np.float64)
    got = np.concatenate([np.ravel(c) for _, c in pairs]).astype(np.float64)
    both_nan = np.isnan(ref) & np.isnan(got)
    exact = both_nan | infinities_match(ref, got)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.where(exact, 0.0, np.abs(got - ref))
    abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
    nonfinite_mismatches = int(np.count_nonzero(~np.isfinite(abs_err)))
    magnitude = np.abs(np.where(np.isfinite(ref), ref, 0.0))
    is_float = all(np.issubdtype(np.asarray(r).dtype, np.floating) for r, _ in pairs)
    scale = float(magnitude.max()) if magnitude.size else 0.0
    judged = _judge_scale(ref, scale, atol, rtol) if is_float else ("values", atol, False)
    judged_by, abs_tolerance, too_small = judged
    big = magnitude > abs_tolerance
    rel_err = abs_err[big] / magnitude[big] if np.any(big) else np.zeros(1)
    within = bool(np.all(abs_err <= abs_tolerance + rtol * magnitude))
    sample_max = _per_sample_max(abs_err, [np.size(r) for r, _ in pairs])
    finite = np.isfinite(ref) & np.isfinite(got)
    agreement = None if is_float or not ref.size else float(np.mean(ref == got))
    return OutputComparison(
        name=name,
        shape=tuple(np.shape(pairs[0][0])),
        num_values=int(ref.size),
        max_abs_error=float(abs_err.max()) if abs_err.size else 0.0,
        mean_abs_error=float(abs_err.mean()) if abs_err.size else 0.0,
        max_rel_error=float(rel_err.max()) if rel_err.size else 0.0,
        cosine_similarity=_cosine(ref[finite], got[finite]),
        argmax_agreement=_argmax_agreement(pairs),
        nonfinite_mismatches=nonfinite_mismatches,
        within_tolerance=within,
        sample_max_abs_errors=tuple(sample_max),
        error_histogram=ErrorHistogram.of(abs_err),
        scale=scale if is_float else None,
        judged_by=judged_by,
        too_small_to_judge=too_small,
        agreement=agreement,
    )


def _judge_scale(ref: np.ndarray, scale: float, atol: float, rtol: float) -> Tuple[str, float, bool]:
    """(judged_by, the absolute tolerance to apply, too small to judge) for a float output."""
    if atol > 0 and scale < atol:
        if scale <= TOO_SMALL_SCALE:
            return "values", atol, True
        return "scale", atol * scale, False
    finite = ref[np.isfinite(ref)]
    flat = finite.size > 1 and atol > 0 and float(finite.max() - finite.min()) < atol + rtol * scale
    return "values", atol, bool(flat)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def infinities_match(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Where the reference is +-inf and the candidate is the same infinity or saturated to +-float32 max."""
    with np.errstate(invalid="ignore"):
        return np.isinf(reference) & (np.sign(reference) == np.sign(candidate)) & (np.abs(candidate) >= FLOAT32_MAX)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        return 1.0 if not np.any(a) and not np.any(b) else 0.0
    return float(np.dot(a, b) / norm)


def looks_like_class_scores(array: np.ndarray) -> bool:
    """Floating, shaped (batch, classes) with at least two classes."""
    return np.issubdtype(np.asarray(array).dtype, np.floating) and np.ndim(array) == 2 and np.shape(array)[-1] >= 2


def _per_sample_max(abs_err: np.ndarray, sizes: List[int]) -> List[float]:
    if len(set(sizes)) == 1 and sizes[0]:  # the usual case: one reshape instead of a loop over samples
        return abs_err.reshape(len(sizes), sizes[0]).max(axis=1).tolist()
    ends = np.cumsum(sizes)[:-1]
    return [float(chunk.max()) if chunk.size else 0.0 for chunk in np.split(abs_err, ends)]


def _argmax_agreement(pairs: Sequence[Tuple[np.ndarray, np.ndarray]]) -> Optional[float]:
    first = np.asarray(pairs[0][0])
    if all(np.shape(r) == first.shape for r, _ in pairs):
        if not looks_like_class_scores(first):
            return None
        reference = np.concatenate([r for r, _ in pairs])
        candidate = np.concatenate([c for _, c in pairs])
        return float(np.mean(np.argmax(reference, axis=-1) == np.argmax(candidate, axis=-1)))
    if not all(looks_like_class_scores(r) for r, _ in pairs):
        return None
    agree: List[np.ndarray] = [np.argmax(r, axis=-1) == np.argmax(c, axis=-1) for r, c in pairs]
    return float(np.mean(np.concatenate(agree)))
