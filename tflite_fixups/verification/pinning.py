"""Measuring what pinning did: the pinned model on padded/truncated data vs the original on the data itself."""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..models.pinning import ShapePinning
from ..models.specs import InputSpec
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
            sample[spec.name] = random_array(rng, tuple(shape), spec)
        if category in categories:
            samples.append(sample)
    return samples


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
