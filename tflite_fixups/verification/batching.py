"""Run a model over many samples, several samples per call where the model allows it.

Verification feeds hundreds of samples through TensorFlow and LiteRT. One call
per sample spends most of its time in per-call overhead, so samples that share
their non-batch shapes are concatenated along the batch axis and run as one
call, then split again. Batching is used only when it is provably harmless on
this model: every output must keep the batch axis first, and the first and last
sample of the first batch must come out of the batched call as they come out
alone. Otherwise, or if the batched call fails (a TFLite model with its batch
pinned may not resize), every sample runs alone and the run says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from .._progress import Progress
from ..errors import describe_error
from .samples import Sample

Outputs = Dict[str, np.ndarray]
RunOne = Callable[[Sample], Outputs]

#: Most samples per call in TensorFlow, where each call has a high fixed cost.
MAX_BATCH = 256
#: Most samples per LiteRT invoke (MobileNetV3Small under XNNPACK ran slower per sample at 256 than at 32).
LITERT_MAX_BATCH = 32
#: Most values per input per call (16 MiB of float32), so big inputs batch less.
MAX_BATCH_VALUES = 1 << 22
#: The note a run carries when batching would have changed the outputs (worth telling the user).
DIFFERENT_IN_BATCHES = "batched and single-sample outputs differ on this model"
#: Batched and lone outputs agree when within this relative tolerance (kernels may block differently).
AGREEMENT_RTOL = 1e-5


@dataclass
class SampleRun:
    """Each sample's outputs, in sample order, and how they were computed.

    A sample the model failed on has ``None`` outputs and its error in ``failures``.
    """

    outputs: List[Optional[Outputs]]
    batch_size: int = 1
    notes: List[str] = field(default_factory=list)
    failures: Dict[int, str] = field(default_factory=dict)


def run_samples(
    run_one: RunOne,
    samples: Sequence[Sample],
    *,
    run_batch: Optional[Callable[[], Optional[RunOne]]] = None,
    max_batch: Optional[int] = None,
    description: str = "running samples",
) -> SampleRun:
    """Outputs of ``run_one`` for every sample, batched through ``run_batch()`` where that is exact.

    ``run_batch`` makes (lazily, once) the callable that takes concatenated
    samples, or returns None when the model cannot batch. ``max_batch`` of 1
    turns batching off. A sample on which ``run_one`` raises gets ``None``
    outputs and its error in the run's ``failures``; the others still run.
    """
    limit = MAX_BATCH if max_batch is None else max_batch
    failures: Dict[int, str] = {}

    def run_index(index: int) -> Optional[Outputs]:
        try:
            return run_one(samples[index])
        except Exception as error:  # the model's own failure on this sample (a singular matrix, a bad index)
            failures[index] = describe_error(error)
            return None

    batcher = _Batcher(run_index, run_batch) if run_batch is not None and limit > 1 else None
    outputs: List[Optional[Outputs]] = [None] * len(samples)
    largest, notes, done = 1, [], 0
    with Progress(total=len(samples), description=description) as bar:
        for group in _shape_groups(samples, limit) if batcher is not None else ():
            results = batcher.run(samples, group) if len(group) > 1 else [run_index(group[0])]
            if results is None:
                notes += [batcher.note] if batcher.note else []
                break
            largest = max(largest, len(group))
            outputs[group[0]:group[-1] + 1] = results
            done = group[-1] + 1
            bar.advance(len(group))
        alone = batcher.alone if batcher is not None else {}  # samples already run alone, to prove batching
        for i in bar.counting(range(done, len(samples))):  # inlined: a small model's invoke takes microseconds
            if i in alone:
                outputs[i] = alone[i]
                continue
            try:
                outputs[i] = run_one(samples[i])
            except Exception as error:  # as in run_index
                failures[i] = describe_error(error)
    return SampleRun(outputs, largest, notes, failures)


class _Batcher:
    """Runs groups of samples as one call, after proving on the first group that it changes nothing."""

    def __init__(self, run_index: Callable[[int], Optional[Outputs]], make_runner: Callable[[], Optional[RunOne]]):
        self.run_index = run_index
        self.make_runner = make_runner
        self.runner: Optional[RunOne] = None
        self.proven = False
        self.note: Optional[str] = None  # set when batching is given up; "" when there is nothing to tell
        self.alone: Dict[int, Outputs] = {}  # samples run alone to prove batching, reusable if it is given up

    def run(self, samples: Sequence[Sample], group: List[int]) -> Optional[List[Outputs]]:
        """Each sample's outputs from one batched call, or None (and ``note`` says why) to run them alone."""
        if self.runner is None:
            try:
                self.runner = self.make_runner()
            except Exception as error:  # a model that cannot be retraced for a dynamic batch
                return self._give_up(f"{_why(error)}: ran one sample per call")
            if self.runner is None:
                return self._give_up("")
        if not self.proven:
            self.alone = {group[p]: self.run_index(group[p]) for p in {0, len(group) - 1}}
            if any(outputs is None for outputs in self.alone.values()):
                return self._give_up("a sample failed on its own: ran one sample per call")
        try:
            results = _split(self.runner(_concatenate([samples[i] for i in group])), [samples[i] for i in group])
        except Exception as error:  # the model refused the batch (a pinned batch axis, a reshape)
            return self._give_up(f"the model cannot run several samples per call ({_why(error)}): "
                                 "ran one sample per call")
        if results is None:
            return self._give_up("the model's outputs do not keep the batch axis first: ran one sample per call")
        if not self.proven:
            position = {index: p for p, index in enumerate(group)}
            if not all(outputs_agree(value, results[position[index]]) for index, value in self.alone.items()):
                return self._give_up(f"{DIFFERENT_IN_BATCHES}: ran one sample per call")
            self.proven = True
        return results

    def _give_up(self, note: str) -> None:
        self.note = note
        return None


def _why(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def _shape_groups(samples: Sequence[Sample], limit: int) -> Iterator[List[int]]:
    """Runs of consecutive samples with the same non-batch shapes and dtypes, each at most ``limit`` rows.

    A sample that cannot be concatenated with others (a scalar input, inputs
    with different batch sizes) is a group of its own.
    """
    group: List[int] = []
    key_of_group, rows, row_limit = None, 0, limit
    previous: Optional[List[tuple]] = None
    for index, sample in enumerate(samples):
        arrays = [np.asarray(value) for value in sample.values()]
        shapes = [(array.shape, array.dtype) for array in arrays]
        if shapes == previous and rows + arrays[0].shape[0] <= row_limit:  # the common case, cheaply
            group.append(index)
            rows += arrays[0].shape[0]
            continue
        previous = None
        size = arrays[0].shape[0] if arrays and arrays[0].ndim else None
        if size is None or any(array.ndim == 0 or array.shape[0] != size for array in arrays):
            if group:
                yield group
            yield [index]
            group, key_of_group = [], None
            continue
        previous = shapes
        key = tuple((name, array.shape[1:], array.dtype) for name, array in zip(sample, arrays))
        if key != key_of_group or rows + size > row_limit:
            if group:
                yield group
            values_per_row = max(array.size // max(1, size) for array in arrays)
            row_limit = max(1, min(limit, MAX_BATCH_VALUES // max(1, values_per_row)))
            group, key_of_group, rows = [], key, 0
        group.append(index)
        rows += size
    if group:
        yield group


def _concatenate(samples: Sequence[Sample]) -> Sample:
    return {name: np.concatenate([s[name] for s in samples], axis=0) for name in samples[0]}


def _split(outputs: Outputs, samples: Sequence[Sample]) -> Optional[List[Outputs]]:
    """Batched outputs cut back into one dict per sample, or None if any output lost the batch axis."""
    sizes = [len(next(iter(s.values()))) for s in samples]
    total = sum(sizes)
    if any(np.ndim(value) == 0 or np.shape(value)[0] != total for value in outputs.values()):
        return None
    ends = np.cumsum(sizes).tolist()
    spans = list(zip([0] + ends[:-1], ends))
    arrays = {name: np.asarray(value) for name, value in outputs.items()}
    return [{name: array[start:end] for name, array in arrays.items()} for start, end in spans]


def outputs_agree(alone: Outputs, batched: Outputs) -> bool:
    """Same names and shapes, values equal to within :data:`AGREEMENT_RTOL` of the output's scale (NaN == NaN)."""
    if set(alone) != set(batched):
        return False
    for name, value in alone.items():
        a, b = np.asarray(value), np.asarray(batched[name])
        if a.shape != b.shape:
            return False
        if a.size == 0:
            continue
        if not np.issubdtype(a.dtype, np.inexact):
            if not np.array_equal(a, b):
                return False
            continue
        finite = np.abs(a[np.isfinite(a)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        if not np.allclose(a, b, rtol=AGREEMENT_RTOL, atol=AGREEMENT_RTOL * scale, equal_nan=True):
            return False
    return True
