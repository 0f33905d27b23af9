"""Measuring what pinning did: the pinned model on padded/truncated data vs the original on the data itself."""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..models.pinning import ShapePinning
from ..models.specs import InputSpec
from ..models.value_ranges import is_mask_input
from .samples import Sample, random_array

SHORTER, EQUAL, LONGER = "shorter", "equal", "longer"


def probe_lengths(pinned: int) -> List[Tuple[str, int]]:
    """Lengths that exercise padding (a tenth, half, one short), the pinned length itself, and truncation."""
    shorter = sorted({max(1, pinned // 10), max(1, pinned // 2), pinned - 1} - {0, pinned})
    return [(SHORTER, n) for n in shorter] + [(EQUAL, pinned), (LONGER, pinned + max(1, pinned // 4))]


def length_samples(
    pinning: ShapePinning, specs: Sequence[InputSpec], *, seed: int = 0, categories: Sequence[str] = (SHORTER, EQUAL, LONGER)
) -> List[Sample]:
    """Random samples for the unpinned model at lengths shorter than, equal to and longer than the pinning.

    Every pinned non-batch axis of every input takes the probe length of the
    same rank (the k-th shorter length, the pinned length...); a batch axis
    pinned above 1 gets one example so batch padding is exercised too.

    Integer inputs keep to their pinning's ``value_range`` (an Embedding's table
    size), so the probe feeds ids the model can look up; a ``*mask*`` input is all
    ones (every unpadded position real), as a tokenizer writes it.
    """
    rng = np.random.default_rng(seed)
    by_name = {entry.name: entry for entry in pinning.inputs}
    plans = []
    for spec in specs:
        entry = by_name.get(spec.name)
        axes = [a for a in (entry.pinned_axes if entry else ()) if a != 0]
        plans.append((spec, entry, {a: probe_lengths(entry.pinned_shape[a]) for a in axes}))
    count = max((len(p) for _, _, probes in plans for p in probes.values()), default=0)
    samples = []
    for index in range(count):
        sample, category = {}, None
        for spec, entry, probes in plans:
            shape = []
            for axis, dim in enumerate(spec.shape):
                if axis in probes:
                    kind, size = probes[axis][min(index, len(probes[axis]) - 1)]
                    category = category or kind
                    shape.append(size)
                elif dim is None:
                    shape.append(1 if axis == 0 else entry.pinned_shape[axis] if entry else 8)
                else:
                    shape.append(dim)
            sample[spec.name] = _probe_array(rng, tuple(shape), spec, entry)
        if category in categories:
            samples.append(sample)
    return samples


def _probe_array(rng: np.random.Generator, shape: Tuple[int, ...], spec: InputSpec, entry) -> np.ndarray:
    if is_mask_input(spec.name, spec.dtype):
        return np.ones(shape, dtype=np.dtype(spec.dtype))
    value_range = getattr(entry, "value_range", None)
    if value_range is not None and np.issubdtype(np.dtype(spec.dtype), np.integer):
        return rng.integers(value_range[0], value_range[1], size=shape).astype(spec.dtype)
    return random_array(rng, shape, spec)


def user_length_samples(pinning: ShapePinning, samples: Sequence[Sample]) -> List[Sample]:
    """The user's samples cut to the shorter probe lengths: real values, padded by the pinned model.

    Each sample long enough for a probe length along every pinned non-batch
    axis gives one cut sample per such length (at most 16 in all).
    """
    found: List[Sample] = []
    by_name = {entry.name: entry for entry in pinning.inputs}
    for sample in samples:
        probes = None
        for name, entry in by_name.items():
            for axis in (a for a in entry.pinned_axes if a != 0):
                lengths = [n for kind, n in probe_lengths(entry.pinned_shape[axis]) if kind == SHORTER]
                probes = lengths if probes is None else [n for n in probes if n in lengths]
        for length in probes or []:
            cut = {}
            for name, value in sample.items():
                value = np.asarray(value)
                entry = by_name.get(name)
                for axis in (a for a in (entry.pinned_axes if entry else ()) if a != 0):
                    if axis >= value.ndim or value.shape[axis] < length:
                        cut = None
                        break
                    value = np.take(value, np.arange(length), axis=axis)
                if cut is None:
                    break
                cut[name] = value
            if cut:
                found.append(cut)
        if len(found) >= 16:
            break
    return found[:16]


def length_category(pinning: ShapePinning, sample: Sample) -> str:
    """``"longer"`` when any pinned length axis must be truncated, ``"shorter"`` when any must be padded,
    else ``"equal"`` (a padded batch axis does not count: it changes no example)."""
    longer = shorter = False
    for entry in pinning.inputs:
        if entry.name not in sample:
            continue
        array = sample[entry.name]
        for axis in entry.pinned_axes:
            if 0 < axis < array.ndim:
                longer |= array.shape[axis] > entry.pinned_shape[axis]
                shorter |= array.shape[axis] < entry.pinned_shape[axis]
    return LONGER if longer else SHORTER if shorter else EQUAL


def sample_lengths(pinning: ShapePinning, sample: Sample) -> Dict[str, Tuple[int, ...]]:
    """Each pinned input's sizes along its pinned non-batch axes, e.g. ``{"seq": (37,)}``."""
    found = {e.name: e.lengths(np.asarray(sample[e.name])) for e in pinning.inputs if e.name in sample}
    return {name: lengths for name, lengths in found.items() if lengths}
