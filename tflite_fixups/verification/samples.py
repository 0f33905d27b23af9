"""Sample inputs: what the user gave, normalised to one dict of arrays per sample.

A *sample* feeds every model input once. Users give one sample (an array,
a list of arrays in input order, a dict by name) or many (an iterable or a
zero-argument callable yielding samples); when they give none, samples are
drawn at random from the input specs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from ..errors import InvalidInputError
from ..models.specs import InputSpec

Sample = Dict[str, np.ndarray]

#: Size used for a dynamic non-batch axis when samples are drawn at random.
RANDOM_DYNAMIC_AXIS_SIZE = 8
#: Integer inputs are drawn from [0, RANDOM_INT_HIGH): small enough for any embedding table.
RANDOM_INT_HIGH = 8


@dataclass
class SampleSet:
    """Normalised samples with where they came from and what was done to them."""

    samples: List[Sample]
    source: str  # "user" or "random"
    notes: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)


def random_samples(specs: Sequence[InputSpec], count: int = 8, seed: int = 0) -> List[Sample]:
    """``count`` samples drawn from ``specs``: floats standard normal, ints in [0, 8), bools fair.

    A dynamic batch axis gets size 1, any other dynamic axis size 8.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = {}
        for spec in specs:
            shape = tuple(
                (1 if axis == 0 else RANDOM_DYNAMIC_AXIS_SIZE) if dim is None else dim
                for axis, dim in enumerate(spec.shape)
            )
            sample[spec.name] = random_array(rng, shape, spec)
        samples.append(sample)
    return samples


def random_array(rng: np.random.Generator, shape, spec: InputSpec) -> np.ndarray:
    dtype = np.dtype(spec.dtype) if spec.dtype != "string" else None
    if dtype is None:
        raise InvalidInputError(f"input '{spec.name}' is a string tensor; pass sample_inputs for it")
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, RANDOM_INT_HIGH, size=shape).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    raise InvalidInputError(f"cannot draw random values for input '{spec.name}' of dtype {spec.dtype}")


def collect_samples(
    specs: Sequence[InputSpec],
    sample_inputs: Any = None,
    *,
    num_random: int = 8,
    seed: int = 0,
    max_samples: Optional[int] = None,
) -> SampleSet:
    """Normalise ``sample_inputs`` against ``specs``; draw random ones when it is None.

    Raises:
        InvalidInputError: unknown or missing input names, wrong ranks, shapes
            that do not fit the specs, or floats given for an integer input.
    """
    if sample_inputs is None:
        return SampleSet(
            random_samples(specs, num_random, seed),
            "random",
            [f"no sample_inputs given: verified on {num_random} random samples (seed {seed}); "
             "pass real data for a meaningful check"],
        )
    notes: List[str] = []
    raw = _as_sample_list(specs, sample_inputs, max_samples)
    if not raw:
        raise InvalidInputError("sample_inputs yielded no samples")
    samples: List[Sample] = []
    for index, item in enumerate(raw):
        samples.extend(normalise_sample(specs, item, index, notes))
    if max_samples is not None:
        samples = samples[:max_samples]
    return SampleSet(samples, "user", notes)


def _is_array_like(value: Any) -> bool:
    is_tensor = hasattr(value, "numpy") and hasattr(value, "shape")
    return is_tensor or isinstance(value, (np.ndarray, np.generic, int, float, bool))


def _is_one_sample(specs: Sequence[InputSpec], value: Any) -> bool:
    if _is_array_like(value) or isinstance(value, Mapping):
        return True
    if isinstance(value, (list, tuple)) and len(value) == len(specs) and all(_is_array_like(v) for v in value):
        ranks_fit = all(np.ndim(v) in (s.rank, s.rank - 1) for v, s in zip(value, specs))
        return ranks_fit and (len(specs) > 1 or len(value) == 1)
    return False


def is_data_factory(value: Any) -> bool:
    """A zero-argument callable that produces data (a generator function, a lambda), not data itself."""
    return callable(value) and not hasattr(value, "__iter__")


def call_data_factory(factory: Any, what: str) -> Any:
    """Call a data factory; a factory that needs arguments is named in an InvalidInputError."""
    try:
        return factory()
    except TypeError as error:
        raise InvalidInputError(
            f"{what} is callable but calling it with no arguments failed ({error}); "
            "pass a zero-argument function that returns or yields samples"
        ) from error


def _as_sample_list(specs, sample_inputs, max_samples) -> List[Any]:
    if _is_one_sample(specs, sample_inputs):
        return [sample_inputs]
    source = sample_inputs
    if is_data_factory(source):
        source = call_data_factory(source, "sample_inputs")
        if _is_one_sample(specs, source):
            return [source]
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise InvalidInputError(
            "sample_inputs: expected an array, a list of arrays in input order, a dict by input name, "
            f"or an iterable/zero-argument callable yielding those; got {type(sample_inputs).__name__}"
        )
    iterator = iter(source)
    return list(itertools.islice(iterator, max_samples) if max_samples is not None else iterator)


def normalise_sample(
    specs: Sequence[InputSpec], item: Any, index: int, notes: List[str], *, what: str = "sample"
) -> List[Sample]:
    """One item (array, list in input order, dict by name) as dicts of arrays fitted to ``specs``.

    Casts dtypes, adds a missing batch axis and splits a batch when the batch is
    pinned to 1, noting each fix once in ``notes``; anything else that does not
    fit raises InvalidInputError naming ``what`` and ``index``.
    """
    names = [s.name for s in specs]
    where = f"{what} {index}"
    if isinstance(item, Mapping):
        unknown = [k for k in item if k not in names]
        missing = [n for n in names if n not in item]
        if unknown or missing:
            raise InvalidInputError(
                f"{where}: the model's inputs are {names}; unknown names {unknown}, missing {missing}"
            )
        values = [item[n] for n in names]
    elif isinstance(item, (list, tuple)):
        if len(item) != len(specs):
            raise InvalidInputError(f"{where}: got {len(item)} arrays but the model has {len(specs)} inputs {names}")
        values = list(item)
    else:
        if len(specs) != 1:
            raise InvalidInputError(
                f"{where}: got a single array but the model has {len(specs)} inputs {names}; "
                "give a list in input order or a dict by name"
            )
        values = [item]
    arrays = [_fit_array(spec, value, where, notes) for spec, value in zip(specs, values)]
    return _split_batches(specs, arrays, where, notes)


def _fit_array(spec: InputSpec, value: Any, where: str, notes: List[str]) -> np.ndarray:
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    target = np.dtype(spec.dtype)
    if array.dtype != target:
        if np.issubdtype(target, np.integer) and not np.issubdtype(array.dtype, np.integer):
            if not (array.dtype == np.bool_ or np.all(np.mod(array, 1) == 0)):
                raise InvalidInputError(
                    f"{where}: input '{spec.name}' expects {spec.dtype} values, got non-integral {array.dtype}"
                )
        _note_once(notes, f"input '{spec.name}': cast {array.dtype} samples to {spec.dtype}")
        array = array.astype(target)
    if array.ndim == spec.rank - 1 and spec.rank and spec.shape[0] in (1, None):
        _note_once(notes, f"input '{spec.name}': added the missing batch axis to samples")
        array = array[np.newaxis]
    if array.ndim != spec.rank:
        raise InvalidInputError(
            f"{where}: input '{spec.name}' expects rank {spec.rank} shape {spec.shape}, got shape {array.shape}"
        )
    for axis in range(1, spec.rank):
        want = spec.shape[axis]
        if want is not None and array.shape[axis] != want:
            raise InvalidInputError(
                f"{where}: input '{spec.name}' expects shape {spec.shape}, got {array.shape} (axis {axis})"
            )
    return array


def _split_batches(specs, arrays, where, notes) -> List[Sample]:
    """Split a batch of B into B samples when the model's batch axis is pinned to 1."""
    batch_sizes = {a.shape[0] for s, a in zip(specs, arrays) if s.rank}
    wants_split = [s.rank and s.shape[0] is not None and a.shape[0] != s.shape[0] for s, a in zip(specs, arrays)]
    if not any(wants_split):
        return [{s.name: a for s, a in zip(specs, arrays)}]
    pinned = {s.shape[0] for s in specs if s.rank}
    if pinned != {1} or len(batch_sizes) != 1:
        shapes = {s.name: a.shape for s, a in zip(specs, arrays)}
        raise InvalidInputError(
            f"{where}: batch sizes {shapes} do not fit the model's inputs {[str(s) for s in specs]}"
        )
    batch = batch_sizes.pop()
    _note_once(notes, f"samples with batch size {batch} were split into single-example samples (batch pinned to 1)")
    return [{s.name: a[i : i + 1] for s, a in zip(specs, arrays)} for i in range(batch)]


def _note_once(notes: List[str], note: str) -> None:
    if note not in notes:
        notes.append(note)
