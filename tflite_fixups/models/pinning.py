"""Shape pinning: which input axes were fixed, to what size, and how data is made to fit.

A :class:`ShapePinning` is written by :func:`tflite_fixups.passes.pin_input_shapes`,
travels with the pinned model, lands in :attr:`ConversionResult.pinning` and in
the .tflite file's metadata, and drives :func:`pad_or_truncate`, the NumPy
transform a device-side app applies before every invoke.
"""

from __future__ import annotations

import json
import os
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._api import public_api
from ..errors import InvalidInputError
from .specs import InputSpec, Shape

PAD_SIDES = ("post", "pre")
METADATA_NAME = "tflite_fixups.pinning"
FORMAT_VERSION = 1


class PinningWarning(UserWarning):
    """Data did not fit a pinned shape and was truncated (warned once per input)."""


@dataclass(frozen=True)
class InputPinning:
    """How one input was pinned.

    Attributes:
        name / dtype: the input.
        original_shape: the model's own shape, ``None`` for a dynamic axis.
        pinned_shape: the static shape it was pinned to (``None`` only where the user kept an axis dynamic).
        pad / truncate: ``"post"`` (at the end) or ``"pre"`` (at the start) along each pinned axis.
        pad_value: the value padded positions get.
        masked: a mask marks padded steps so sequence layers skip them.
        value_range: for an integer input, the values ``[low, high)`` it may take (an Embedding's
            table size, ``[0, 2)`` for a mask), which random probe data keeps to; None when not integer.
    """

    name: str
    dtype: str
    original_shape: Shape
    pinned_shape: Shape
    pad: str = "post"
    truncate: str = "post"
    pad_value: float = 0
    masked: bool = False
    value_range: Optional[Tuple[int, int]] = None

    @property
    def pinned_axes(self) -> Tuple[int, ...]:
        """Axes that were dynamic in the model and are static now."""
        return tuple(
            axis for axis, (was, now) in enumerate(zip(self.original_shape, self.pinned_shape))
            if was is None and now is not None
        )

    @property
    def reference_shape(self) -> Shape:
        """The shape the original model accepts for this input (pinned axes dynamic again)."""
        return tuple(None if axis in self.pinned_axes else dim for axis, dim in enumerate(self.pinned_shape))

    def lengths(self, array: np.ndarray) -> Tuple[int, ...]:
        """Sizes of ``array`` along the pinned non-batch axes (a sequence's length, an image's height...)."""
        return tuple(array.shape[axis] for axis in self.pinned_axes if axis != 0)

    def truncated(self, array: np.ndarray) -> np.ndarray:
        """``array`` cut down to the pinned sizes where it is longer, never padded: what the original sees."""
        for axis in self.pinned_axes:
            size = self.pinned_shape[axis]
            if array.shape[axis] > size:
                array = _take(array, axis, size, self.truncate)
        return array

    def fitted(self, array: np.ndarray) -> np.ndarray:
        """``array`` padded and/or truncated along every pinned axis to the pinned shape."""
        array = self.truncated(array)
        widths = [(0, 0)] * array.ndim
        for axis in self.pinned_axes:
            missing = self.pinned_shape[axis] - array.shape[axis]
            if missing > 0:
                widths[axis] = (0, missing) if self.pad == "post" else (missing, 0)
        if any(w != (0, 0) for w in widths):
            array = np.pad(array, widths, constant_values=np.asarray(self.pad_value).astype(array.dtype))
        return array

    def crop(self, output: np.ndarray, axis: int, length: int) -> np.ndarray:
        """An output axis that followed a padded input axis, cut back to the unpadded ``length``."""
        return _take(output, axis, length, self.pad)

    def to_dict(self) -> Dict[str, Any]:
        data = {
            "name": self.name, "dtype": self.dtype, "original_shape": list(self.original_shape),
            "pinned_shape": list(self.pinned_shape), "pad": self.pad, "truncate": self.truncate,
            "pad_value": self.pad_value, "masked": self.masked,
        }
        if self.value_range is not None:
            data["value_range"] = list(self.value_range)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "InputPinning":
        return cls(
            data["name"], data["dtype"], tuple(data["original_shape"]), tuple(data["pinned_shape"]),
            data.get("pad", "post"), data.get("truncate", "post"), data.get("pad_value", 0), bool(data.get("masked")),
            tuple(int(v) for v in data["value_range"]) if data.get("value_range") is not None else None,
        )

    def __str__(self) -> str:
        def dims(shape):
            return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"

        how = f"pad {self.pad} with {self.pad_value!r}, truncate {self.truncate}" + (", masked" if self.masked else "")
        return f"{self.name}: {dims(self.original_shape)} -> {dims(self.pinned_shape)} ({how})"


@dataclass
class ShapePinning:
    """Every input's pinning, in input order.

    Example:
        >>> pinning = result.pinning                                  # doctest: +SKIP
        >>> pinning["seq"].pinned_shape                               # doctest: +SKIP
        (1, 50, 32)
        >>> x50 = pinning.fit({"seq": x37})                           # doctest: +SKIP
    """

    inputs: List[InputPinning]
    _warned: set = field(default_factory=set, repr=False, compare=False)

    def __getitem__(self, name: str) -> InputPinning:
        for entry in self.inputs:
            if entry.name == name:
                return entry
        raise InvalidInputError(f"no input named '{name}'; the pinned inputs are {self.input_names}")

    @property
    def input_names(self) -> List[str]:
        return [entry.name for entry in self.inputs]

    @property
    def pinned_specs(self) -> List[InputSpec]:
        return [InputSpec(e.name, e.pinned_shape, e.dtype) for e in self.inputs]

    @property
    def reference_specs(self) -> List[InputSpec]:
        """Specs the unpinned model takes: pinned axes dynamic again, except a batch axis pinned to 1."""
        specs = []
        for entry in self.inputs:
            shape = list(entry.reference_shape)
            if 0 in entry.pinned_axes and entry.pinned_shape[0] == 1:
                shape[0] = 1  # one example at a time: samples are split, never truncated
            specs.append(InputSpec(entry.name, tuple(shape), entry.dtype))
        return specs

    @property
    def changes_lengths(self) -> bool:
        """Some non-batch axis was pinned, so data may need padding or truncation."""
        return any(axis != 0 for entry in self.inputs for axis in entry.pinned_axes)

    def fit(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Every input padded/truncated to its pinned shape (inputs with nothing pinned pass through)."""
        return {name: self._fit_one(self[name], np.asarray(value)) for name, value in feed.items()}

    def first_truncation(self, feed: Mapping[str, np.ndarray]) -> Optional[str]:
        """A warning for the first input of ``feed`` that fit() truncates, once per input over this pinning's life."""
        for name, value in feed.items():
            entry, shape = self[name], np.shape(value)
            if len(shape) == len(entry.pinned_shape) - 1:
                shape = (1,) + shape
            longer = any(a < len(shape) and shape[a] > entry.pinned_shape[a] for a in entry.pinned_axes)
            if longer and name not in self._warned:
                self._warned.add(name)
                return (
                    f"input '{name}' of shape {np.shape(value)} is longer than its pinned shape "
                    f"{_shape_text(entry.pinned_shape)}; it was truncated ({entry.truncate}), so the model sees "
                    "only part of it (warned once per input)"
                )
        return None

    def reference(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """What the original model sees for ``feed``: truncated where longer than pinned, never padded."""
        return {name: self[name].truncated(np.asarray(value)) for name, value in feed.items()}

    def _fit_one(self, entry: InputPinning, array: np.ndarray) -> np.ndarray:
        target = entry.pinned_shape
        if array.ndim == len(target) - 1 and target and target[0] == 1:
            array = array[np.newaxis]
        if array.ndim != len(target):
            raise InvalidInputError(
                f"input '{entry.name}': expected rank {len(target)} {_shape_text(target)} "
                f"(or rank {len(target) - 1} without the batch axis), got shape {array.shape}"
            )
        for axis, (have, want) in enumerate(zip(array.shape, target)):
            if want is None or have == want:
                continue
            if axis not in entry.pinned_axes:
                raise InvalidInputError(
                    f"input '{entry.name}': axis {axis} must be {want} (it is not a pinned axis), got shape {array.shape}"
                )
            if axis == 0 and have > want:
                raise InvalidInputError(
                    f"input '{entry.name}': a batch of {have} does not fit the pinned batch of {want}; "
                    "run the examples in batches of that size instead (truncating would drop examples)"
                )
        return entry.fitted(array)

    def crop_outputs(self, outputs: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Outputs of the pinned model cut back to the unpadded lengths of ``reference`` (e.g. return_sequences).

        An output axis is cropped when it is longer than the reference's along
        that axis and its size is one of the pinned sizes; the pad side comes
        from the input pinned to that size.
        """
        by_size = {}
        for entry in self.inputs:
            for axis in entry.pinned_axes:
                by_size.setdefault(entry.pinned_shape[axis], entry)
        cropped = {}
        for name, value in outputs.items():
            expected = reference.get(name)
            if expected is not None and value.ndim == np.ndim(expected):
                for axis, (have, want) in enumerate(zip(value.shape, np.shape(expected))):
                    if have > want and have in by_size:
                        value = by_size[have].crop(value, axis, want)
            cropped[name] = value
        return cropped

    def to_json(self) -> str:
        return json.dumps({"format": METADATA_NAME, "version": FORMAT_VERSION, "inputs": [e.to_dict() for e in self.inputs]})

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ShapePinning":
        """The pinning a :meth:`to_json` record describes; InvalidInputError for anything else."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != METADATA_NAME:
                raise ValueError("it does not name the format " + METADATA_NAME)
            return cls([InputPinning.from_dict(entry) for entry in data["inputs"]])
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise InvalidInputError(
                f"not a valid tflite_fixups pinning record ({type(error).__name__}: {error}): {str(text)[:80]!r}"
            ) from error

    def __str__(self) -> str:
        return "; ".join(str(entry) for entry in self.inputs if entry.pinned_axes) or "nothing pinned"


def _take(array: np.ndarray, axis: int, size: int, side: str) -> np.ndarray:
    index = [slice(None)] * array.ndim
    index[axis] = slice(0, size) if side == "post" else slice(array.shape[axis] - size, None)
    return array[tuple(index)]


def _shape_text(shape: Sequence[Optional[int]]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# --- carrying a pinning with a model ------------------------------------------------------------

_PINNINGS: "weakref.WeakKeyDictionary[Any, ShapePinning]" = weakref.WeakKeyDictionary()


def attach_pinning(model: Any, pinning: Optional[ShapePinning]) -> None:
    """Remember that ``model`` (a pinned Keras model or SignatureModel) was pinned this way."""
    from .signature_model import SignatureModel

    if pinning is None:
        return
    if isinstance(model, SignatureModel):
        model.pinning = pinning
    else:
        _PINNINGS[model] = pinning


def pinning_of(model: Any) -> Optional[ShapePinning]:
    """The pinning a model carries, or None for a model no pin pass produced."""
    carried = getattr(model, "pinning", None)
    if isinstance(carried, ShapePinning):
        return carried
    try:
        return _PINNINGS.get(model)
    except TypeError:  # not weak-referenceable: cannot carry a pinning
        return None


# --- the public NumPy transform ------------------------------------------------------------------


def find_pinning(source: Any) -> ShapePinning:
    """The pinning held by a ConversionResult, a pinned model, a .tflite file/bytes, or a ShapePinning."""
    if isinstance(source, ShapePinning):
        return source
    if isinstance(source, InputPinning):
        return ShapePinning([source])
    if isinstance(source, (bytes, bytearray, memoryview, str, os.PathLike)):
        from ..conversion.metadata import read_pinning

        found = read_pinning(source)
    else:
        found = getattr(source, "pinning", None)
        if found is None:
            found = pinning_of(source)
    if not isinstance(found, ShapePinning):
        raise InvalidInputError(
            f"{type(source).__name__} carries no shape pinning: pass the ConversionResult (or .tflite file) of a "
            "model converted with tff.passes.pin_input_shapes(...), or the pinned model itself"
        )
    return found


@public_api
def pad_or_truncate(
    x: Any,
    result_or_spec: Any,
    *,
    input_index: Optional[int] = None,
    input_name: Optional[str] = None,
) -> Any:
    """Pad or truncate data to a pinned input shape, exactly as the verified conversion did.

    Args:
        x: one input's array (with or without its batch axis when the batch is
            pinned to 1), or a dict of arrays by input name (then every one is fitted).
        result_or_spec: a :class:`~tflite_fixups.ConversionResult`, the .tflite
            file (path or bytes) whose metadata records the pinning, a pinned
            model, or a :class:`ShapePinning` / :class:`InputPinning`.
        input_index / input_name: which input ``x`` is (default: the only pinned input, or the first).

    Longer data is truncated along pinned axes (warned once per input with a
    :class:`PinningWarning`); shorter data is padded with the pinning's ``pad_value``.

    Raises:
        InvalidInputError: a rank mismatch, an unknown input, a fixed axis that
            does not match, or a batch larger than the pinned batch.

    Example:
        >>> x = tff.pad_or_truncate(sequence_of_37_steps, result)       # doctest: +SKIP
        >>> x.shape                                                      # doctest: +SKIP
        (1, 50, 32)
    """
    pinning = find_pinning(result_or_spec)
    if isinstance(x, Mapping):
        if input_index is not None or input_name is not None:
            raise InvalidInputError("give input_index/input_name for a single array, not for a dict of inputs")
        feed = dict(x)
    else:
        feed = {_choose_input(pinning, input_index, input_name).name: x}
    fitted = pinning.fit(feed)
    message = pinning.first_truncation(feed)
    if message:
        warnings.warn(message, PinningWarning, stacklevel=3)  # past this function and its public_api wrapper
    return fitted if isinstance(x, Mapping) else next(iter(fitted.values()))


def _choose_input(pinning: ShapePinning, input_index: Optional[int], input_name: Optional[str]) -> InputPinning:
    if input_index is not None and input_name is not None:
        raise InvalidInputError("give input_index or input_name, not both")
    if input_name is not None:
        return pinning[input_name]
    if input_index is not None:
        if not isinstance(input_index, int) or not 0 <= input_index < len(pinning.inputs):
            raise InvalidInputError(
                f"input_index must be in [0, {len(pinning.inputs)}) for inputs {pinning.input_names}, got {input_index!r}"
            )
        return pinning.inputs[input_index]
    pinned = [e for e in pinning.inputs if e.pinned_axes]
    return pinned[0] if len(pinned) == 1 else pinning.inputs[0]
