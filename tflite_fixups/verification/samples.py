"""Sample inputs: what the user gave, normalised to one dict of arrays per sample.

A *sample* feeds every model input once. Users give one sample (an array,
a list of arrays in input order, a dict by name) or many (an iterable or a
zero-argument callable yielding samples); when they give none, samples are
drawn at random from the input specs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import InvalidInputError
from ..models.ragged import split_ragged_samples, with_valid_row_splits
from ..models.value_ranges import is_mask_input
from ..models.specs import InputSpec

Sample = Dict[str, np.ndarray]

#: Size used for a dynamic non-batch axis when samples are drawn at random.
RANDOM_DYNAMIC_AXIS_SIZE = 8
#: Integer inputs are drawn from [0, RANDOM_INT_HIGH): small enough for any embedding table.
RANDOM_INT_HIGH = 8
#: At most this many samples are read from ``sample_inputs`` (an endless generator or a repeated
#: tf.data.Dataset is cut here, with a warning); ``num_random_samples`` may not exceed it either.
MAX_SAMPLE_INPUTS = 10_000
#: ...and at most this many bytes of sample data, so a stream of large inputs cannot exhaust memory.
MAX_SAMPLE_BYTES = 1 << 30


@dataclass
class SampleSet:
    """Normalised samples with where they came from and what was done to them."""

    samples: List[Sample]
    source: str  # "user" or "random"
    notes: List[str] = field(default_factory=list)
    #: things the user must hear about (input cut at a cap): they go to the result's warnings too
    warnings: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)


def random_samples(
    specs: Sequence[InputSpec], count: int = 8, seed: int = 0,
    value_ranges: Optional[Mapping[str, Tuple[int, int]]] = None,
) -> List[Sample]:
    """``count`` samples drawn from ``specs``: floats standard normal, ints in [0, 8), bools fair.

    ``value_ranges`` (from :func:`~tflite_fixups.models.value_ranges.integer_value_ranges`)
    keeps an integer input in ``[low, high)`` (token ids within the vocabulary, segment ids
    in [0, 2)); a ``*mask*`` input gets ones over a random-length prefix (at least one),
    zeros after it, as padding does. A dynamic batch axis gets size 1, any other dynamic axis size 8.
    """
    value_ranges = value_ranges or {}
    rng = np.random.default_rng(seed)
    _check_random_sample_size(specs)
    samples = []
    for _ in range(count):
        sample = {}
        for spec in specs:
            shape = tuple(
                (1 if axis == 0 else RANDOM_DYNAMIC_AXIS_SIZE) if dim is None else dim
                for axis, dim in enumerate(spec.shape)
            )
            sample[spec.name] = random_array(rng, shape, spec, value_ranges.get(spec.name))
        samples.append(sample)
    return with_valid_row_splits(specs, samples, seed)


#: Random samples are drawn only when one sample stays below this size (bytes), so a huge pinned
#: shape fails with a clear error instead of exhausting memory.
MAX_RANDOM_SAMPLE_BYTES = 1 << 30


def _check_random_sample_size(specs: Sequence[InputSpec]) -> None:
    total = 0
    for spec in specs:
        dims = [(1 if axis == 0 else RANDOM_DYNAMIC_AXIS_SIZE) if d is None else d for axis, d in enumerate(spec.shape)]
        itemsize = np.dtype(spec.dtype).itemsize if spec.dtype != "string" else 8
        total += int(np.prod(dims, dtype=np.float64)) * itemsize
    if total > MAX_RANDOM_SAMPLE_BYTES:
        shapes = ", ".join(str(s) for s in specs)
        raise InvalidInputError(
            f"one random sample of inputs {shapes} would take {total / 2 ** 30:,.1f} GiB: too large to draw "
            "(is a shape in input_specs wrong?); pass sample_inputs of real data instead"
        )


def random_array(
    rng: np.random.Generator, shape, spec: InputSpec, value_range: Optional[Tuple[int, int]] = None,
) -> np.ndarray:
    dtype = np.dtype(spec.dtype) if spec.dtype != "string" else None
    if dtype is None:
        raise InvalidInputError(f"input '{spec.name}' is a string tensor; pass sample_inputs for it")
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        if value_range is not None and is_mask_input(spec.name, spec.dtype) and len(shape) >= 1 and shape[-1] > 0:
            valid = rng.integers(1, shape[-1] + 1, size=shape[:-1] + (1,))
            return (np.arange(shape[-1]) < valid).astype(dtype)
        low, high = (value_range[0], value_range[1]) if value_range is not None else (0, RANDOM_INT_HIGH)
        return rng.integers(low, max(high, low + 1), size=shape).astype(dtype)
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
    value_ranges: Optional[Mapping[str, Tuple[int, int]]] = None,
) -> SampleSet:
    """Normalise ``sample_inputs`` against ``specs``; draw random ones when it is None.

    At most :data:`MAX_SAMPLE_INPUTS` samples (and :data:`MAX_SAMPLE_BYTES` of
    data) are read; an endless source is cut there and the set's ``warnings`` say so.

    Raises:
        InvalidInputError: unknown or missing input names, wrong ranks, shapes
            that do not fit the specs, values that do not fit an input's dtype
            (strings, complex, out-of-range integers, non-integral floats for an
            integer input), empty arrays, or a source that raised.
    """
    check_random_sampling(num_random, seed)
    if sample_inputs is None:
        ranged = ", ".join(f"'{name}' in [{r[0]}, {r[1]})" for name, r in (value_ranges or {}).items()
                           if any(s.name == name for s in specs))
        return SampleSet(
            random_samples(specs, num_random, seed, value_ranges),
            "random",
            [f"no sample_inputs given: verified on {num_random} random samples (seed {seed}"
             + (f"; integer inputs within the ranges the model indexes: {ranged}" if ranged else "")
             + "); pass real data for a meaningful check"],
        )
    notes: List[str] = []
    sample_inputs = split_ragged_samples(specs, sample_inputs)  # a tf.RaggedTensor for a ragged input's components
    limit = MAX_SAMPLE_INPUTS if max_samples is None else min(max_samples, MAX_SAMPLE_INPUTS)
    samples: List[Sample] = []
    read = read_samples(specs, sample_inputs, limit, what="sample_inputs")
    for index, item in read:
        samples.extend(normalise_sample(specs, item, index, notes))
    if not samples:
        raise InvalidInputError(
            "sample_inputs yielded no samples (an empty list or dataset, or an exhausted generator?); pass arrays, "
            "or a zero-argument function that yields them, e.g. lambda: iter(x_test[:64])"
        )
    warnings = list(read.warnings)
    if len(samples) > limit:
        samples = samples[:limit]
        if max_samples is None:
            warnings.append(f"sample_inputs holds more than {limit:,} samples: verified on the first {limit:,} "
                            "(tflite_fixups.verification.samples.MAX_SAMPLE_INPUTS)")
    return SampleSet(samples, "user", notes, warnings)


def check_random_sampling(num_random: Any, seed: Any) -> None:
    """Raise InvalidInputError unless ``num_random`` is an integer in [1, MAX_SAMPLE_INPUTS] and ``seed`` one >= 0."""
    if isinstance(num_random, bool) or not isinstance(num_random, (int, np.integer)) or not (
            1 <= num_random <= MAX_SAMPLE_INPUTS):
        raise InvalidInputError(
            f"num_random_samples must be an integer from 1 to {MAX_SAMPLE_INPUTS:,}, got {num_random!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")


class read_samples:
    """Iterate ``(index, item)`` over what the user passed as samples, bounded and with clear errors.

    Stops after ``limit`` items or :data:`MAX_SAMPLE_BYTES` of data; ``warnings``
    then says the source was cut (an endless generator, a ``.repeat()``-ed
    dataset). An exception raised by the user's generator becomes an
    InvalidInputError naming ``what`` and the item it was producing.

    Example:
        >>> read = read_samples(specs, itertools.repeat(x), 100, what="sample_inputs")   # doctest: +SKIP
        >>> len(list(read)), read.warnings                                                # doctest: +SKIP
        (100, ['sample_inputs was cut after 100 samples (the limit): only those were used'])
    """

    def __init__(self, specs: Sequence[InputSpec], source: Any, limit: int, *, what: str):
        self.limit, self.what = limit, what
        self.warnings: List[str] = []
        self._items, self.endless = _as_sample_source(specs, source, what)

    def __iter__(self) -> Iterator[Tuple[int, Any]]:
        total_bytes, index = 0, 0
        iterator = iter(self._items)
        while True:
            if index >= self.limit or total_bytes >= MAX_SAMPLE_BYTES:
                if self.endless or _has_more(iterator):
                    self.warnings.append(self._cut_warning(index, total_bytes))
                return
            try:
                item = next(iterator)
            except StopIteration:
                return
            except InvalidInputError:
                raise
            except Exception as error:
                raise InvalidInputError(
                    f"{self.what} raised {type(error).__name__} while producing sample {index}: {error}"
                ) from error
            total_bytes += _nbytes(item)
            yield index, item
            index += 1

    def _cut_warning(self, count: int, total_bytes: int) -> str:
        source = f"{self.what} (an endless tf.data.Dataset: .repeat() without a count)" if self.endless else self.what
        if total_bytes >= MAX_SAMPLE_BYTES:
            return (f"{source} was cut after {count:,} samples ({total_bytes / 2 ** 20:,.0f} MiB; the limit is "
                    f"{MAX_SAMPLE_BYTES / 2 ** 20:,.0f} MiB): only those were used")
        return f"{source} was cut after {count:,} samples (the limit): only those were used"


def _has_more(iterator: Iterator[Any]) -> bool:
    try:
        next(iterator)
    except StopIteration:
        return False
    except Exception:  # a source failing past the cap has nothing more to give either way
        return False
    return True


def _nbytes(item: Any) -> int:
    if isinstance(item, Mapping):
        return sum(_nbytes(v) for v in item.values())
    if isinstance(item, (list, tuple)):
        return sum(_nbytes(v) for v in item)
    return int(getattr(item, "nbytes", 0) or 0)


def _as_sample_source(specs: Sequence[InputSpec], sample_inputs: Any, what: str) -> Tuple[Iterable[Any], bool]:
    """An iterable of items (one sample each, or a batch to split) from any accepted form, and whether it is endless."""
    if _is_one_sample(specs, sample_inputs):
        return [sample_inputs], False
    source = sample_inputs
    if is_data_factory(source):
        source = call_data_factory(source, what)
        if _is_one_sample(specs, source):
            return [source], False
    dataset = _dataset_items(source)
    if dataset is not None:
        return dataset
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise InvalidInputError(
            f"{what}: expected an array, a list of arrays in input order, a dict by input name, "
            f"or an iterable/zero-argument callable yielding those; got {type(sample_inputs).__name__}"
        )
    return source, False


def _dataset_items(value: Any) -> Optional[Tuple[Iterable[Any], bool]]:
    """A tf.data.Dataset's elements as NumPy, and whether its cardinality is infinite; None for other values."""
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(value, tf.data.Dataset):
        return None
    endless = int(value.cardinality()) == int(tf.data.INFINITE_CARDINALITY)
    return (tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, e) for e in value), endless


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


def normalise_sample(
    specs: Sequence[InputSpec], item: Any, index: int, notes: List[str], *, what: str = "sample_inputs"
) -> List[Sample]:
    """One item (array, list in input order, dict by name) as dicts of arrays fitted to ``specs``.

    Casts dtypes, adds a missing batch axis and splits a batch when the batch is
    pinned to 1, noting each fix once in ``notes``; anything else that does not
    fit raises InvalidInputError naming ``what`` (the argument) and ``index``.
    """
    names = [s.name for s in specs]
    where = f"{what}, sample {index}"
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
    array = _as_array(value, where, spec)
    array = cast_values(array, spec, where, notes)
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
    if array.size == 0:
        raise InvalidInputError(
            f"{where}: input '{spec.name}' is empty (shape {array.shape}); expected values of shape {spec.shape}"
        )
    return array


def _as_array(value: Any, where: str, spec: InputSpec) -> np.ndarray:
    if hasattr(value, "to_tensor") or hasattr(value, "indices") and hasattr(value, "dense_shape"):
        raise InvalidInputError(
            f"{where}: input '{spec.name}' got a {type(value).__name__}; pass a dense array (ragged.to_tensor(), "
            "tf.sparse.to_dense)"
        )
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except (ValueError, TypeError) as error:  # ragged nested lists, objects NumPy cannot take
        raise InvalidInputError(
            f"{where}: input '{spec.name}' expects an array of shape {spec.shape}, got a {type(value).__name__} "
            f"NumPy cannot turn into one ({error})"
        ) from error


def cast_values(array: np.ndarray, spec: InputSpec, where: str, notes: List[str]) -> np.ndarray:
    """``array`` as the input's dtype, refusing casts that would change values.

    Allowed: numbers to a float dtype (float64 data beyond float32's range is
    refused, not turned into inf), bools and integral values to an integer
    dtype within its range, 0/1 to bool, text to a string input. Anything else
    (strings or objects for a number, complex for a real input, non-integral
    or out-of-range values for an integer input) raises InvalidInputError.
    """
    expected = f"{where}: input '{spec.name}' expects {spec.dtype} values"
    if spec.dtype == "string":
        if array.dtype.kind in "USO" and all(isinstance(v, (str, bytes)) for v in array.ravel()[:1000]):
            return array.astype(object)
        raise InvalidInputError(f"{expected} (text), got {array.dtype}")
    target = np.dtype(spec.dtype)
    if array.dtype == target:
        return array
    kind = array.dtype.kind
    if kind in "USO" or kind == "V":
        what = "strings" if kind in "US" else "Python objects (mixed types or ragged lists?)" if kind == "O" else "records"
        raise InvalidInputError(f"{expected}, got {what} of dtype {array.dtype}")
    if kind == "c" and target.kind != "c":
        raise InvalidInputError(
            f"{expected}, got complex values ({array.dtype}); the imaginary part would be lost: pass np.real(x) "
            "if that is what you mean"
        )
    if kind in "mM":
        raise InvalidInputError(f"{expected}, got dates or durations ({array.dtype})")
    if target.kind == "f":
        _check_float_range(array, target, expected)
    elif target.kind in "iu":
        _check_integer_values(array, target, expected)
    elif target.kind == "b" and not np.all(np.isin(array, (0, 1))):
        raise InvalidInputError(f"{expected}, got {array.dtype} values other than 0 and 1")
    _note_once(notes, f"input '{spec.name}': cast {array.dtype} samples to {spec.dtype}")
    return array.astype(target)


def _check_float_range(array: np.ndarray, target: np.dtype, expected: str) -> None:
    if array.dtype.kind != "f" or np.finfo(array.dtype).max <= np.finfo(target).max:
        if array.dtype.kind in "iu" and array.size and np.abs(array).max() > np.finfo(target).max:
            raise InvalidInputError(f"{expected}, got integers beyond its range")
        return
    finite = array[np.isfinite(array)]
    if finite.size and np.abs(finite).max() > np.finfo(target).max:
        raise InvalidInputError(
            f"{expected}, got {array.dtype} values up to {np.abs(finite).max():.3g}, beyond {target.name}'s "
            f"largest {np.finfo(target).max:.3g}: they would become inf"
        )


def _check_integer_values(array: np.ndarray, target: np.dtype, expected: str) -> None:
    if array.dtype.kind == "b" or not array.size:
        return
    if array.dtype.kind == "f" and not (np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0)):
        raise InvalidInputError(f"{expected}, got non-integral {array.dtype} values")
    info = np.iinfo(target)
    low, high = array.min(), array.max()
    if low < info.min or high > info.max:
        raise InvalidInputError(
            f"{expected} in [{info.min}, {info.max}], got values from {low} to {high}: they would wrap around"
        )


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
