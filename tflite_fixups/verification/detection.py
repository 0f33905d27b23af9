"""Detection outputs judged by agreement: boxes matched by IoU, labels and counts compared as discrete values.

Non-max suppression turns rounding-level differences into discrete ones: two
boxes with nearly equal scores come out in the other order, or the box kept
at the cut-off changes. The element-wise error of the boxes output is then as
large as a box coordinate while the detections are the same. Here a group of
outputs that looks like a detection head is found by shape alone:

- boxes: a float output ``[..., N, 4]``;
- per-box companions: outputs shaped ``[..., N]`` (labels when integer-valued
  or named like ``class``/``label``, scores otherwise);
- a count: an output with one integer value in ``[0, N]`` per ``[...]`` element.

A boxes output counts as a detection output when it has a companion or its
name contains ``box``. For each sample and batch element, the valid boxes
(the first ``count``, or the rows that are not all zero) are matched one to
one, greedily by IoU; see :class:`~tflite_fixups.reports.verification.DetectionAgreement`.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..reports.verification import DETECTION_AGREEMENT, DETECTION_IOU, DetectionAgreement, OutputComparison

_LABEL_NAME = re.compile(r"class|label|categor", re.IGNORECASE)
_SCORE_NAME = re.compile(r"score|conf|prob", re.IGNORECASE)
_COUNT_NAME = re.compile(r"count|num|valid", re.IGNORECASE)


def judge_detections(
    comparisons: Dict[str, OutputComparison],
    reference: Sequence[Mapping[str, np.ndarray]],
    candidate: Sequence[Mapping[str, np.ndarray]],
    *,
    name_map: Mapping[str, str],
    atol: float,
    rtol: float,
) -> None:
    """Attach a :class:`DetectionAgreement` to every output of each detection group found in ``reference``.

    An output of a group that is not within tolerance value by value is then
    judged by agreement (``judged_by="agreement"``): it is ok when the group agrees.
    """
    usable = [i for i, (ref, cand) in enumerate(zip(reference, candidate)) if ref is not None and cand is not None]
    if not usable:
        return
    for group in find_detection_groups(reference[usable[0]]):
        members = [name for name in (group.boxes, group.labels, group.scores, group.count) if name]
        if any(candidate[i].get(name_map.get(n, n)) is None for i in usable for n in members):
            continue
        agreement = _agreement(group, [reference[i] for i in usable],
                               [{n: candidate[i][name_map.get(n, n)] for n in members} for i in usable], atol, rtol)
        if agreement is None:
            continue
        for name in members:
            comparison = comparisons[name]
            comparison.detection = agreement
            if not comparison.within_tolerance and comparison.problem != "output missing":
                comparison.judged_by = "agreement"


def find_detection_groups(outputs: Mapping[str, np.ndarray]) -> List[DetectionAgreement]:
    """Detection groups in one sample's outputs (a :class:`DetectionAgreement` naming its members, not yet measured).

    Boxes named ``*box*`` always qualify; otherwise they need ``N >= 2`` and a
    companion, and without a batch axis (``[N, 4]``) a count, so a plain
    ``(batch, 4)`` classifier output is not taken for boxes.
    """
    groups = []
    for name, boxes in outputs.items():
        boxes = np.asarray(boxes)
        if not (np.issubdtype(boxes.dtype, np.floating) and boxes.ndim >= 2 and boxes.shape[-1] == 4):
            continue
        per_box = [other for other, value in outputs.items()
                   if other != name and np.shape(value) == boxes.shape[:-1] and _numeric(value)]
        labels = _first([n for n in per_box if np.issubdtype(np.asarray(outputs[n]).dtype, np.integer)]
                        + [n for n in per_box if _LABEL_NAME.search(n)]
                        + [n for n in per_box if _integral(outputs[n]) and not _SCORE_NAME.search(n)])
        floats = [n for n in per_box if n != labels and np.issubdtype(np.asarray(outputs[n]).dtype, np.floating)]
        scores = _first([n for n in floats if _SCORE_NAME.search(n)] + floats)
        others = [n for n in outputs if n not in (name, labels, scores) and _is_count(outputs[n], boxes.shape)]
        count = _first([n for n in others if _COUNT_NAME.search(n)] + others)
        if "box" in name.lower():
            qualifies = True
        elif boxes.shape[-2] < 2:
            qualifies = False
        else:
            qualifies = bool(count) if boxes.ndim == 2 else bool(labels or scores or count)
        if qualifies:
            groups.append(DetectionAgreement(boxes=name, labels=labels, scores=scores, count=count))
    return groups


def _first(names: List[str]) -> Optional[str]:
    return names[0] if names else None


def _numeric(value) -> bool:
    dtype = np.asarray(value).dtype
    return np.issubdtype(dtype, np.number) and not np.issubdtype(dtype, np.complexfloating)


def _integral(value) -> bool:
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.integer):
        return True
    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    return bool(finite.size) and bool(np.all(finite == np.round(finite)))


def _is_count(value, box_shape: Tuple[int, ...]) -> bool:
    array = np.asarray(value)
    if not _numeric(array) or array.size != int(np.prod(box_shape[:-2], dtype=np.int64)) or not _integral(array):
        return False
    return bool(np.all((array >= 0) & (array <= box_shape[-2])))


def _agreement(group: DetectionAgreement, reference, candidate, atol: float, rtol: float) -> Optional[DetectionAgreement]:
    matched = boxes_total = 0
    labels_equal = counts_equal = counts_total = 0
    box_error = 0.0
    score_error: Optional[float] = 0.0 if group.scores else None
    scores_within = True
    for ref, cand in zip(reference, candidate):
        ref_boxes, cand_boxes = _rows(ref[group.boxes]), _rows(cand[group.boxes])
        if ref_boxes is None or cand_boxes is None or len(ref_boxes) != len(cand_boxes):
            return None  # not shaped like boxes in every sample: leave the output to the element-wise verdict
        ref_counts = _counts(ref, group, len(ref_boxes))
        cand_counts = _counts(cand, group, len(cand_boxes))
        for element in range(len(ref_boxes)):
            want, got = _valid(ref_boxes[element], ref_counts, element), _valid(cand_boxes[element], cand_counts, element)
            pairs = match_boxes(ref_boxes[element][want], cand_boxes[element][got])
            matched += len(pairs)
            boxes_total += max(int(want.sum()), int(got.sum()))
            if ref_counts is not None:
                counts_total += 1
                counts_equal += int(ref_counts[element] == cand_counts[element])
            if not pairs:
                continue
            rows_ref = np.flatnonzero(want)[[i for i, _ in pairs]]
            rows_cand = np.flatnonzero(got)[[j for _, j in pairs]]
            box_error = max(box_error, float(np.max(np.abs(
                ref_boxes[element][rows_ref].astype(np.float64) - cand_boxes[element][rows_cand]))))
            if group.labels:
                ref_labels = _per_box(ref[group.labels], len(ref_boxes))[element][rows_ref]
                cand_labels = _per_box(cand[group.labels], len(cand_boxes))[element][rows_cand]
                labels_equal += int(np.sum(np.round(ref_labels) == np.round(cand_labels)))
            if group.scores:
                ref_scores = _per_box(ref[group.scores], len(ref_boxes))[element][rows_ref].astype(np.float64)
                cand_scores = _per_box(cand[group.scores], len(cand_boxes))[element][rows_cand].astype(np.float64)
                difference = np.abs(ref_scores - cand_scores)
                score_error = max(score_error, float(difference.max()))
                scores_within &= bool(np.all(difference <= atol + rtol * np.abs(ref_scores)))
    result = DetectionAgreement(
        boxes=group.boxes, labels=group.labels, scores=group.scores, count=group.count,
        matched_box_fraction=matched / boxes_total if boxes_total else 1.0,
        label_agreement=(labels_equal / matched if matched else 1.0) if group.labels else None,
        count_agreement=(counts_equal / counts_total if counts_total else 1.0) if group.count else None,
        matched_box_max_error=box_error, matched_score_max_error=score_error, threshold=DETECTION_AGREEMENT,
    )
    figures = [result.matched_box_fraction, result.label_agreement, result.count_agreement]
    result.agrees = all(f is None or f >= DETECTION_AGREEMENT for f in figures) and scores_within
    return result


def _rows(boxes) -> Optional[np.ndarray]:
    """Boxes as (batch elements, N, 4)."""
    array = np.asarray(boxes)
    if array.ndim < 2 or array.shape[-1] != 4:
        return None
    return array.reshape(-1, array.shape[-2], 4)


def _per_box(values, elements: int) -> np.ndarray:
    return np.asarray(values).reshape(elements, -1)


def _counts(outputs, group: DetectionAgreement, elements: int) -> Optional[np.ndarray]:
    if not group.count:
        return None
    counts = np.asarray(outputs[group.count]).reshape(-1)
    return counts.astype(np.int64) if counts.size == elements else None


def _valid(boxes: np.ndarray, counts: Optional[np.ndarray], element: int) -> np.ndarray:
    """Which rows are detections: the first ``count``, or (no count output) the rows not all zero."""
    if counts is not None:
        valid = np.zeros(len(boxes), bool)
        valid[:max(0, min(int(counts[element]), len(boxes)))] = True
        return valid
    return np.any(boxes != 0, axis=-1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4); either corner order.

    Identical boxes have IoU 1 even when they have no area.
    """
    a = np.asarray(a, np.float64)[:, None, :]
    b = np.asarray(b, np.float64)[None, :, :]
    lo_a, hi_a = np.minimum(a[..., :2], a[..., 2:]), np.maximum(a[..., :2], a[..., 2:])
    lo_b, hi_b = np.minimum(b[..., :2], b[..., 2:]), np.maximum(b[..., :2], b[..., 2:])
    inter = np.prod(np.clip(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b), 0, None), axis=-1)
    union = np.prod(hi_a - lo_a, axis=-1) + np.prod(hi_b - lo_b, axis=-1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    identical = np.all(a == b, axis=-1)
    return np.where(identical, 1.0, np.nan_to_num(iou))


def match_boxes(reference: np.ndarray, candidate: np.ndarray, threshold: float = DETECTION_IOU) -> List[Tuple[int, int]]:
    """One-to-one pairs ``(reference row, candidate row)``, greedily by descending IoU, each at IoU >= ``threshold``."""
    if not len(reference) or not len(candidate):
        return []
    iou = iou_matrix(reference, candidate)
    order = np.argsort(-iou, axis=None, kind="stable")
    used_ref, used_cand, pairs = set(), set(), []
    for flat in order:
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < threshold:
            break
        if i not in used_ref and j not in used_cand:
            used_ref.add(i)
            used_cand.add(j)
            pairs.append((i, j))
    return sorted(pairs)
