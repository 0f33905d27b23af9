"""Turn whatever the user passed as a model into a :class:`SignatureModel`."""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Sequence

from .._api import public_api
from .._quiet import import_tensorflow, quiet_tensorflow
from ..errors import InvalidInputError, InvalidModelError, ModelFileError, describe_error
from . import keras_compat
from .files import SAVED_MODEL, inspect_model_file
from .keras_files import load_keras_file
from .signature_model import SignatureModel, as_output_dict
from .pinning import pinning_of
from .specs import InputSpec, InputSpecsArg, dtype_name, resolve_input_specs, specs_from_request

tf = import_tensorflow()

ACCEPTED = (
    "a Keras 3 or tf-keras model, a tf.function with an input_signature, a ConcreteFunction, "
    "a SavedModel directory or loaded SavedModel, a .keras/.h5 file path, or a tflite_fixups SignatureModel"
)


@public_api
def load_model(
    model: Any,
    input_specs: InputSpecsArg = None,
    *,
    safe_mode: bool = True,
    signature_key: Optional[str] = None,
    custom_objects: Optional[Mapping[str, Any]] = None,
) -> SignatureModel:
    """Normalise any supported model into a :class:`SignatureModel`.

    Args:
        model: see ``ACCEPTED``. Paths to ``.keras``/``.h5`` files load with
            safe mode on: a file that carries Python code (a ``Lambda`` layer's
            bytecode) is refused with :class:`UnsafeModelError` before anything
            loads, in every format and both Kerases. ``safe_mode=False`` runs
            that code (only for files you trust); Lambda code then sees ``tf``,
            ``keras``, ``ops``, ``np`` and ``custom_objects`` as globals.
        custom_objects: classes and functions a Keras file refers to by name
            (custom layers, activations), as for ``keras.models.load_model``.
        input_specs: pin the signature: one shape/``tf.TensorSpec`` for a
            single input, a list in input order, or a dict by input name.
            Without it a ``None`` batch axis becomes 1 and other ``None``
            axes stay dynamic.
        signature_key: which SavedModel signature to use (default
            ``serving_default`` or the only one).

    Example:
        >>> sm = tff.load_model(keras_model, input_specs=(1, 96, 96, 3))  # doctest: +SKIP
    """
    if not isinstance(safe_mode, bool):
        raise InvalidInputError(f"safe_mode must be True or False, got {safe_mode!r}")
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise InvalidInputError(
            f"custom_objects must be a dict of names to classes or functions, got {type(custom_objects).__name__}"
        )
    with quiet_tensorflow():
        loaded = _load(model, input_specs, safe_mode=safe_mode, signature_key=signature_key,
                       custom_objects=custom_objects)
    if loaded.pinning is None and loaded is not model:
        loaded.pinning = pinning_of(model)
    return loaded


def looks_like_model(candidate: Any) -> bool:
    """Whether ``candidate`` is of a kind :func:`load_model` takes (without loading or tracing it)."""
    return (
        isinstance(candidate, (SignatureModel, str, os.PathLike, tf.types.experimental.ConcreteFunction,
                               tf.types.experimental.PolymorphicFunction))
        or keras_compat.keras_flavour(candidate) is not None
        or hasattr(getattr(candidate, "signatures", None), "keys")
    )


def in_memory(model: Any, loaded: SignatureModel) -> Any:
    """What passes should work on when ``model`` was a path: the Keras model loaded from it, else ``loaded``."""
    if isinstance(model, (str, os.PathLike)):
        return loaded.source if loaded.kind in keras_compat.KERAS_KINDS else loaded
    return model


def _load(model, input_specs, *, safe_mode, signature_key, custom_objects) -> SignatureModel:
    if isinstance(model, SignatureModel):
        if input_specs is None:
            return model
        return model.with_input_specs(resolve_input_specs(model.native_input_specs, input_specs))
    flavour = keras_compat.keras_flavour(model)
    if flavour is not None:
        return _from_keras(model, flavour, input_specs)
    if isinstance(model, (str, os.PathLike)):
        return _from_path(os.fspath(model), input_specs, safe_mode=safe_mode, signature_key=signature_key,
                          custom_objects=custom_objects)
    if isinstance(model, tf.types.experimental.ConcreteFunction):
        return _from_concrete_function(model, input_specs, kind="concrete_function", source=model)
    if isinstance(model, tf.types.experimental.PolymorphicFunction):
        return _from_tf_function(model, input_specs)
    signatures = getattr(model, "signatures", None)
    if signatures is not None and hasattr(signatures, "keys"):
        return _from_signatures(model, input_specs, signature_key=signature_key, kind="saved_model")
    raise InvalidModelError(f"expected {ACCEPTED}; got an object of type {type(model).__name__}")


# --- Keras -----------------------------------------------------------------------------------


def keras_input_structure(model, flavour):
    """Input names, the Keras input structure ("dict", "list" or "single") and dtypes/shapes."""
    inputs = _keras_inputs(model)
    if not inputs:
        return None
    structure = getattr(model, "_inputs_struct", None) if flavour == keras_compat.KERAS3 else None
    if structure is None and flavour == keras_compat.TF_KERAS:
        structure = getattr(model, "_nested_inputs", None)
    if isinstance(structure, dict):
        names = list(structure.keys())
        tensors = [structure[n] for n in names]
        return names, "dict", tensors
    names = _keras_tensor_names(model, inputs, flavour)
    return names, ("single" if len(inputs) == 1 and not isinstance(structure, (list, tuple)) else "list"), inputs


def _keras_inputs(model) -> list:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return []
    return list(inputs or [])


def _keras_tensor_names(model, inputs, flavour) -> List[str]:
    if flavour == keras_compat.TF_KERAS and getattr(model, "input_names", None):
        return list(model.input_names)
    names = []
    for i, tensor in enumerate(inputs):
        history = getattr(tensor, "_keras_history", None)
        layer = getattr(history, "operation", None) if history is not None else None
        names.append(getattr(layer, "name", None) or f"input_{i}")
    return names


def _from_keras(model, flavour, input_specs) -> SignatureModel:
    if flavour == keras_compat.KERAS3:
        import keras

        if keras.backend.backend() != "tensorflow":
            raise InvalidModelError(
                f"Keras 3 is using the '{keras.backend.backend()}' backend; TFLite conversion needs "
                "KERAS_BACKEND=tensorflow"
            )
    found = keras_input_structure(model, flavour)
    if found is None:
        if input_specs is None:
            raise InvalidModelError(
                f"the Keras model '{model.name}' has no known inputs (subclassed and never built?); "
                "pass input_specs, e.g. input_specs=(1, 28, 28, 1)"
            )
        base = specs_from_request(input_specs)
        structure = "single" if len(base) == 1 else "list"
        specs = base
    else:
        names, structure, tensors = found
        base = [
            InputSpec(name, tuple(_shape_list(t.shape)), dtype_name(t.dtype)) for name, t in zip(names, tensors)
        ]
        specs = resolve_input_specs(base, input_specs)
    output_names = list(getattr(model, "output_names", None) or [])

    def build(chosen: Sequence[InputSpec]) -> SignatureModel:
        names = [s.name for s in chosen]

        def flat_function(*args):
            if structure == "dict":
                feed = dict(zip(names, args))
            elif structure == "single":
                feed = args[0]
            else:
                feed = list(args)
            return as_output_dict(model(feed, training=False), output_names)

        return SignatureModel(
            flat_function, chosen, kind=flavour, source=model, retrace=build, native_input_specs=base
        )

    return build(specs)


def _shape_list(shape) -> list:
    if hasattr(shape, "as_list"):
        return shape.as_list()
    return [None if d is None else int(d) for d in shape]


# --- tf.function, ConcreteFunction, SavedModel -----------------------------------------------


def _from_tf_function(function, input_specs) -> SignatureModel:
    signature = getattr(function, "input_signature", None)
    if signature is None:
        if input_specs is None:
            raise InvalidModelError(
                "this tf.function has no input_signature; give one (@tf.function(input_signature=[...])) "
                "or pass input_specs"
            )
        specs = specs_from_request(input_specs)
        concrete = function.get_concrete_function(*[s.to_tensor_spec() for s in specs])
        return _from_concrete_function(concrete, None, kind="tf_function", source=function)
    concrete = function.get_concrete_function()
    return _from_concrete_function(concrete, input_specs, kind="tf_function", source=function)


def _from_concrete_function(concrete, input_specs, *, kind, source) -> SignatureModel:
    args, kwargs = concrete.structured_input_signature
    flat_args = tf.nest.flatten(args)
    tensor_positions = [i for i, a in enumerate(flat_args) if isinstance(a, tf.TensorSpec)]
    if not tensor_positions and not any(isinstance(v, tf.TensorSpec) for v in tf.nest.flatten(kwargs)):
        raise InvalidModelError("the function takes no tensor inputs, so there is nothing to convert")
    kwargs = {k: v for k, v in kwargs.items() if isinstance(v, tf.TensorSpec)}
    if tensor_positions and kwargs:
        raise InvalidModelError("functions taking both positional and keyword tensors are not supported")
    if kwargs:
        names = list(kwargs.keys())
        base = [InputSpec(n, tuple(_shape_list(kwargs[n].shape)), kwargs[n].dtype.name) for n in names]

        def call(*tensors):
            return concrete(**dict(zip(names, tensors)))

    else:
        base = [
            InputSpec(flat_args[i].name or f"input_{n}", tuple(_shape_list(flat_args[i].shape)), flat_args[i].dtype.name)
            for n, i in enumerate(tensor_positions)
        ]
        _make_names_unique(base)

        structured = len(tensor_positions) == len(flat_args)

        def call(*tensors):
            if structured:
                return concrete(*tf.nest.pack_sequence_as(args, list(tensors)))
            return concrete(*tensors)  # Python defaults are bound: the flat signature takes the tensors only

    specs = resolve_input_specs(base, input_specs)

    def flat_function(*tensors):
        return as_output_dict(call(*tensors))

    def build(chosen):
        return SignatureModel(flat_function, chosen, kind=kind, source=source, retrace=build, native_input_specs=base)

    return build(specs)


def _make_names_unique(specs: List[InputSpec]) -> None:
    seen = set()
    for i, spec in enumerate(specs):
        name = spec.name
        while name in seen:
            name = f"{spec.name}_{i}"
        seen.add(name)
        if name != spec.name:
            specs[i] = InputSpec(name, spec.shape, spec.dtype)


def _from_signatures(loaded, input_specs, *, signature_key, kind) -> SignatureModel:
    keys = list(loaded.signatures.keys())
    if not keys:
        raise InvalidModelError(
            "the SavedModel has no signatures; export it with model.export(path) (Keras 3), "
            "tf.saved_model.save(..., signatures=...) or pass a Keras model instead"
        )
    if signature_key is None:
        signature_key = "serving_default" if "serving_default" in keys else keys[0] if len(keys) == 1 else None
        if signature_key is None:
            raise InvalidInputError(f"the SavedModel has several signatures {keys}; choose one with signature_key")
    if signature_key not in keys:
        raise InvalidInputError(f"signature '{signature_key}' not found; the SavedModel has {keys}")
    model = _from_concrete_function(loaded.signatures[signature_key], input_specs, kind=kind, source=loaded)
    return model


def _from_path(path, input_specs, *, safe_mode, signature_key, custom_objects) -> SignatureModel:
    found = inspect_model_file(path)  # refuses missing, corrupt and mislabelled files before any loader runs
    if safe_mode:
        found.refuse_code()
    if found.kind == SAVED_MODEL:
        return _from_signatures(_load_saved_model(path), input_specs, signature_key=signature_key, kind="saved_model")
    return _from_keras(*load_keras_file(found, safe_mode, custom_objects), input_specs)


def _load_saved_model(path: str):
    try:
        return tf.saved_model.load(path)
    except Exception as error:  # TF raises OSError, NotFoundError, DataLossError, ValueError... for damaged dirs
        raise ModelFileError(
            f"could not load the SavedModel '{path}' ({describe_error(error)}); "
            "is the directory complete (saved_model.pb, variables/, assets/)?", path=path,
        ) from error
