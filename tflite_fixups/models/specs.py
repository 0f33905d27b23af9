"""Input specifications: what shape and dtype each model input has."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._quiet import import_tensorflow
from ..errors import InvalidInputError

tf = import_tensorflow()

Shape = Tuple[Optional[int], ...]
ShapeLike = Union[Sequence[Optional[int]], "tf.TensorShape", "tf.TensorSpec"]
InputSpecsArg = Union[None, ShapeLike, Sequence[ShapeLike], Mapping[str, ShapeLike]]


@dataclass(frozen=True)
class InputSpec:
    """Name, shape and dtype of one model input. ``None`` in ``shape`` is a dynamic axis.

    Example:
        >>> InputSpec("image", (1, 224, 224, 3), "float32").dynamic_axes
        ()
    """

    name: str
    shape: Shape
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def dynamic_axes(self) -> Tuple[int, ...]:
        return tuple(axis for axis, dim in enumerate(self.shape) if dim is None)

    def to_tensor_spec(self) -> "tf.TensorSpec":
        return tf.TensorSpec(self.shape, tf.as_dtype(self.dtype), name=self.name)

    def with_shape(self, shape: Shape) -> "InputSpec":
        return replace(self, shape=tuple(shape))

    def __str__(self) -> str:
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.dtype}[{dims}]"


def dtype_name(dtype: Any) -> str:
    """Normalise a TF/NumPy/Keras dtype to its name, e.g. ``"float32"``."""
    return tf.as_dtype(dtype).name


def pin_batch(specs: Sequence[InputSpec]) -> List[InputSpec]:
    """A ``None`` batch axis (axis 0) becomes 1; other dynamic axes stay dynamic."""
    return [s.with_shape((1,) + s.shape[1:]) if s.rank and s.shape[0] is None else s for s in specs]


def _as_shape(value: Any, what: str) -> Tuple[Shape, Optional[str]]:
    """A shape-like value as a tuple, plus its dtype when it is a TensorSpec."""
    if isinstance(value, tf.TensorSpec):
        return tuple(value.shape.as_list()) if value.shape.rank is not None else None, value.dtype.name
    if isinstance(value, tf.TensorShape):
        if value.rank is None:
            raise InvalidInputError(f"{what}: shape of unknown rank; give every axis (None for a dynamic one)")
        return tuple(value.as_list()), None
    if isinstance(value, (list, tuple)) and all(_is_dim(d) for d in value):
        return tuple(None if d is None else int(d) for d in value), None
    raise InvalidInputError(
        f"{what}: expected a shape such as (1, 224, 224, 3) or a tf.TensorSpec, got {value!r}"
    )


def _is_dim(value: Any) -> bool:
    return value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool))


def _looks_like_one_shape(value: Any) -> bool:
    return isinstance(value, (tf.TensorSpec, tf.TensorShape)) or (
        isinstance(value, (list, tuple)) and all(_is_dim(d) for d in value)
    )


def resolve_input_specs(model_specs: Sequence[InputSpec], requested: InputSpecsArg) -> List[InputSpec]:
    """Merge what the user asked for into the model's own input specs.

    ``requested`` is one shape/TensorSpec (single-input models), a list in
    input order, or a dict by input name (inputs not named keep their own
    spec). Without a request, a ``None`` batch axis becomes 1.
    """
    model_specs = list(model_specs)
    if requested is None:
        return pin_batch(model_specs)
    names = [s.name for s in model_specs]
    if isinstance(requested, Mapping):
        unknown = [k for k in requested if k not in names]
        if unknown:
            raise InvalidInputError(f"input_specs names unknown input(s) {unknown}; the model's inputs are {names}")
        chosen: Dict[str, Any] = dict(requested)
        return [
            _merge(spec, chosen[spec.name]) if spec.name in chosen else pin_batch([spec])[0] for spec in model_specs
        ]
    if _looks_like_one_shape(requested):
        if len(model_specs) != 1:
            raise InvalidInputError(
                f"input_specs is a single shape but the model has {len(model_specs)} inputs {names}; "
                "give a list in input order or a dict by input name"
            )
        return [_merge(model_specs[0], requested)]
    if isinstance(requested, (list, tuple)):
        if len(requested) != len(model_specs):
            raise InvalidInputError(
                f"input_specs lists {len(requested)} shapes but the model has {len(model_specs)} inputs {names}"
            )
        return [_merge(spec, value) for spec, value in zip(model_specs, requested)]
    raise InvalidInputError(
        f"input_specs: expected a shape, a tf.TensorSpec, a list of them in input order or a dict by "
        f"input name; got {type(requested).__name__}"
    )


def _merge(model_spec: InputSpec, requested: Any) -> InputSpec:
    what = f"input_specs for input '{model_spec.name}'"
    shape, dtype = _as_shape(requested, what)
    if shape is None:
        shape = model_spec.shape
    if any(d is not None and d <= 0 for d in shape):
        raise InvalidInputError(f"{what}: every axis must be a positive size or None, got {shape}")
    if model_spec.shape is not None and model_spec.rank and len(shape) != model_spec.rank:
        raise InvalidInputError(
            f"{what}: rank {len(shape)} {shape} does not match the model's rank {model_spec.rank} {model_spec.shape}"
        )
    for axis, (have, want) in enumerate(zip(model_spec.shape, shape)):
        if have is not None and want is not None and have != want:
            raise InvalidInputError(
                f"{what}: axis {axis} is fixed to {have} in the model, got {want} "
                f"(model shape {model_spec.shape}, requested {shape})"
            )
    if dtype is not None and dtype != model_spec.dtype:
        raise InvalidInputError(
            f"{what}: the tf.TensorSpec asks for dtype {dtype}, but the model's input is {model_spec.dtype}; "
            "input_specs pins shapes and cannot change an input's dtype (give the shape alone, or a TensorSpec "
            f"of dtype {model_spec.dtype})"
        )
    return InputSpec(model_spec.name, tuple(shape), model_spec.dtype)


def specs_from_request(requested: InputSpecsArg) -> List[InputSpec]:
    """Input specs given by the user for a model that cannot tell its own inputs.

    Names come from dict keys, then ``tf.TensorSpec`` names, then ``input_<i>``;
    dtype defaults to float32.
    """
    if requested is None:
        raise InvalidInputError("input_specs are required for this model")
    if isinstance(requested, Mapping):
        items = list(requested.items())
    elif _looks_like_one_shape(requested):
        items = [(None, requested)]
    elif isinstance(requested, (list, tuple)):
        items = [(None, value) for value in requested]
    else:
        raise InvalidInputError(
            f"input_specs: expected a shape, a tf.TensorSpec, a list of them or a dict by name; got {requested!r}"
        )
    specs = []
    for i, (name, value) in enumerate(items):
        name = name or getattr(value, "name", None) or f"input_{i}"
        shape, dtype = _as_shape(value, f"input_specs for input '{name}'")
        if shape is None or any(d is not None and d <= 0 for d in shape):
            raise InvalidInputError(f"input_specs for input '{name}': expected positive sizes or None, got {shape}")
        specs.append(InputSpec(str(name), shape, dtype or "float32"))
    return specs


def requested_dtypes(model_specs: Sequence[InputSpec], requested: InputSpecsArg) -> List[Optional[str]]:
    """The dtype each input's request names (a ``tf.TensorSpec``), else None, in ``model_specs`` order.

    For models whose input dtypes are guessed (a subclassed Keras 3 model records shapes only),
    so a TensorSpec in ``input_specs`` can say that an input takes int32 token ids.
    """
    names = [s.name for s in model_specs]
    if requested is None:
        return [None] * len(names)
    if isinstance(requested, Mapping):
        values = [requested.get(name) for name in names]
    elif _looks_like_one_shape(requested):
        values = [requested] + [None] * (len(names) - 1)
    elif isinstance(requested, (list, tuple)):
        values = list(requested)[: len(names)] + [None] * max(0, len(names) - len(requested))
    else:
        return [None] * len(names)
    return [value.dtype.name if isinstance(value, tf.TensorSpec) else None for value in values]
