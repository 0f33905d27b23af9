"""SignatureModel: the one form every model takes inside tflite_fixups.

A Keras 3 or tf-keras model, a ``tf.function``, a ``ConcreteFunction``, a
SavedModel or a ``.keras``/``.h5`` file all become a :class:`SignatureModel`:
a TensorFlow function with flat, named inputs (in a fixed order) that returns
a dict of named outputs. That is exactly what the TFLite converter wants
(one SignatureDef), what the verifier runs, and what graph passes rewrite.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .._quiet import import_tensorflow, quiet_tensorflow
from ..errors import InvalidInputError, InvalidModelError, describe_error
from .specs import InputSpec

tf = import_tensorflow()

FlatFunction = Callable[..., Dict[str, Any]]
MAX_TRACED_SHAPES = 32


class SignatureModel:
    """A TensorFlow function with named inputs in a fixed order and named outputs.

    Build one with :func:`tflite_fixups.load_model`; graph passes return one.
    It is callable like a model and can be handed to any function or pass
    of the library, including :func:`tflite_fixups.convert_and_verify`.

    Example:
        >>> sm = tff.load_model(keras_model)              # doctest: +SKIP
        >>> sm.input_specs                                # doctest: +SKIP
        [InputSpec(name='image', shape=(1, 96, 96, 3), dtype='float32')]
        >>> sm.run({"image": x})["predictions"].shape     # doctest: +SKIP
        (1, 10)
    """

    def __init__(
        self,
        flat_function: FlatFunction,
        input_specs: Sequence[InputSpec],
        *,
        kind: str,
        source: Any = None,
        retrace: Optional[Callable[[Sequence[InputSpec]], "SignatureModel"]] = None,
        native_input_specs: Optional[Sequence[InputSpec]] = None,
    ):
        """Trace ``flat_function`` (positional tensors in ``input_specs`` order -> dict) once.

        ``native_input_specs`` are the shapes the model itself accepts (before
        any pinning); new ``input_specs`` are checked against them.
        """
        self.input_specs: List[InputSpec] = list(input_specs)
        self.native_input_specs: List[InputSpec] = list(native_input_specs or input_specs)
        self.kind = kind
        self.source = source
        self._flat_function = flat_function
        self._retrace = retrace
        self._frozen = None
        self._by_shape: Dict[tuple, "SignatureModel"] = {}
        self._dynamic_batch: Optional["SignatureModel"] = None
        #: how the inputs were pinned (a :class:`~tflite_fixups.models.pinning.ShapePinning`), if they were
        self.pinning = None
        names = [s.name for s in self.input_specs]
        if len(set(names)) != len(names):
            raise InvalidModelError(f"input names must be unique, got {names}")
        signature = [s.to_tensor_spec() for s in self.input_specs]
        self.function = tf.function(flat_function, input_signature=signature, autograph=False)
        self.concrete_function = self.function.get_concrete_function()
        outputs = self.concrete_function.structured_outputs
        if not isinstance(outputs, dict):
            raise InvalidModelError("a SignatureModel's function must return a dict of named tensors")
        self.output_names: List[str] = list(outputs.keys())

    @property
    def input_names(self) -> List[str]:
        return [s.name for s in self.input_specs]

    def __call__(self, *args: Any, **kwargs: Any) -> Dict[str, "tf.Tensor"]:
        """Run in TensorFlow with positional inputs (input order) or keyword inputs (by name)."""
        if kwargs:
            missing = [n for n in self.input_names if n not in kwargs]
            unknown = [k for k in kwargs if k not in self.input_names]
            if missing or unknown or args:
                raise InvalidInputError(
                    f"expected inputs {self.input_names} by name; missing {missing}, unknown {unknown}"
                )
            args = tuple(kwargs[n] for n in self.input_names)
        if len(args) != len(self.input_specs):
            raise InvalidInputError(f"expected {len(self.input_specs)} inputs {self.input_names}, got {len(args)}")
        return self.function(*args)

    def run(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Run on NumPy inputs keyed by input name; NumPy outputs keyed by output name.

        Dynamic axes accept any size; static axes must match exactly.

        Raises:
            InvalidInputError: an input is missing or cannot be made a tensor of its
                dtype, or the model itself failed on these values (its TF error is chained).
        """
        missing = [name for name in self.input_names if not isinstance(feed, Mapping) or name not in feed]
        if missing:
            raise InvalidInputError(f"the model needs a dict of inputs {self.input_names}; missing {missing}")
        tensors = []
        for spec in self.input_specs:
            try:
                tensors.append(tf.convert_to_tensor(feed[spec.name], dtype=spec.dtype))
            except (TypeError, ValueError) as error:
                raise InvalidInputError(
                    f"input '{spec.name}' expects {spec} values: {type(error).__name__}: {error}") from error
        try:
            with quiet_tensorflow():  # a model failing on its inputs makes TF's runtime log it
                outputs = self.function(*tensors)
        except tf.errors.OpError as error:
            raise InvalidInputError(f"the model failed on these inputs: {describe_error(error)}") from error
        return {name: np.asarray(value) for name, value in outputs.items()}

    def run_at_own_shape(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Like :meth:`run`, but traced for exactly the shapes in ``feed`` (cached, up to 32 shape sets).

        Keras layers take other code paths when an axis is dynamic (Keras 3's
        TimeDistributed maps over the batch instead of time when the time axis
        is None), so a reference for data of varying lengths is traced static,
        as the model runs eagerly.
        """
        if not any(s.dynamic_axes for s in self.input_specs):
            return self.run(feed)
        key = tuple(tuple(np.shape(feed[s.name])) for s in self.input_specs)
        model = self._by_shape.get(key)
        if model is None:
            if len(self._by_shape) >= MAX_TRACED_SHAPES:
                return self.run(feed)
            with quiet_tensorflow():
                model = self._by_shape[key] = self.with_input_specs(
                    [s.with_shape(shape) for s, shape in zip(self.input_specs, key)]
                )
        return model.run(feed)

    def with_input_specs(self, input_specs: Sequence[InputSpec]) -> "SignatureModel":
        """The same model traced for other input shapes (names and dtypes kept)."""
        input_specs = list(input_specs)
        if [s.name for s in input_specs] == self.input_names and input_specs == self.input_specs:
            return self
        if self._retrace is not None:
            retraced = self._retrace(input_specs)
        else:
            retraced = SignatureModel(
                self._flat_function, input_specs, kind=self.kind, source=self.source,
                native_input_specs=self.native_input_specs,
            )
        retraced.pinning = self.pinning
        return retraced

    def with_dynamic_batch(self) -> "SignatureModel":
        """The same model traced with a dynamic batch axis on every input (traced once, then cached).

        Verification uses it to run many samples per call.
        """
        if self._dynamic_batch is None:
            specs = [s.with_shape((None,) + tuple(s.shape[1:])) if s.rank else s for s in self.input_specs]
            with quiet_tensorflow():
                self._dynamic_batch = self.with_input_specs(specs)
        return self._dynamic_batch

    def frozen_function(self):
        """The concrete function with every variable folded into a constant (cached).

        Freezing matters: a model that keeps resource variables converts, but
        its int8 calibration later fails (READ_VARIABLE cannot be invoked).

        Raises:
            ConversionError: the model captures a lookup table (StringLookup...), which cannot be frozen.
        """
        if self._frozen is None:
            from .lookup_tables import refuse_lookup_tables

            refuse_lookup_tables(self)
            from tensorflow.python.framework.convert_to_constants import (  # no public equivalent
                convert_variables_to_constants_v2,
            )

            with quiet_tensorflow():
                self._frozen = convert_variables_to_constants_v2(self.concrete_function, lower_control_flow=False)
        return self._frozen

    def graph_def(self):
        """The frozen GraphDef, function library included."""
        return self.frozen_function().graph.as_graph_def()

    def __repr__(self) -> str:
        ins = ", ".join(str(s) for s in self.input_specs)
        return f"SignatureModel({self.kind}; inputs [{ins}]; outputs {self.output_names})"


def as_output_dict(structure: Any, preferred_names: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Flatten a model's output structure into a dict of named tensors.

    Dict outputs keep their keys (nested keys joined with "/"); a list or a
    single tensor takes ``preferred_names`` when they fit, else ``output_<i>``.
    """
    if isinstance(structure, Mapping):
        flat: Dict[str, Any] = {}
        for key, value in structure.items():
            if isinstance(value, (Mapping, list, tuple)):
                for sub_key, sub_value in as_output_dict(value).items():
                    flat[f"{key}/{sub_key}"] = sub_value
            else:
                flat[str(key)] = value
        return flat
    leaves = tf.nest.flatten(structure)
    names = list(preferred_names or [])
    if len(names) != len(leaves) or len(set(names)) != len(names):
        names = [f"output_{i}" for i in range(len(leaves))]
    return dict(zip(names, leaves))
