"""Turn whatever the user passed as a model into a :class:`SignatureModel`."""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from .._api import public_api
from .._quiet import import_tensorflow, quiet_tensorflow
from ..errors import InvalidInputError, InvalidModelError, ModelFileError, describe_error
from . import keras_compat
from .files import SAVED_MODEL, inspect_model_file
from .keras_files import load_keras_file
from .signature_model import SignatureModel, as_output_dict
from .pinning import pinning_of
from .specs import (
    InputSpec, InputSpecsArg, dtype_name, requested_dtypes, resolve_input_specs, specs_from_request,
)

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
        or tfsm_endpoint(candidate) is not None
        or hasattr(getattr(candidate, "signatures", None), "keys")
    )


def in_memory(model: Any, loaded: SignatureModel) -> Any:
    """What passes should work on when ``model`` was a path: the Keras model loaded from it, else ``loaded``."""
    if isinstance(model, (str, os.PathLike)):
        return loaded.source if loaded.kind in keras_compat.KERAS_KINDS else loaded
    return model


def _load(model, input_specs, *, safe_mode, signature_key, custom_objects) -> SignatureModel:
    if isinstance(model, SignatureModel):
        if input_specs is None or model.pinning is not None:  # a pin pass's shapes are final: specs may not undo them
            return model
        return model.with_input_specs(resolve_input_specs(model.native_input_specs, input_specs))
    flavour = keras_compat.keras_flavour(model)
    if flavour is not None:
        return _from_keras(model, flavour, input_specs)
    endpoint = tfsm_endpoint(model)
    if endpoint is not None:
        return _from_tfsm_layer(model, endpoint, input_specs)
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
        # in the order of model.inputs (both Kerases flatten a dict by sorted key), under the dict's keys
        position = {id(tensor): i for i, tensor in enumerate(inputs)}
        names = sorted(structure, key=lambda key: position.get(id(structure[key]), len(position)))
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
    if found is not None:
        names, structure, tensors = found
        base = [
            InputSpec(name, tuple(_shape_list(t.shape)), dtype_name(t.dtype)) for name, t in zip(names, tensors)
        ]
        specs = resolve_input_specs(base, input_specs)
    else:
        recorded = recorded_keras_inputs(model, flavour)
        if recorded is None:
            if input_specs is None:
                raise InvalidModelError(
                    f"the Keras model '{model.name}' has no known inputs (subclassed and never built or called?); "
                    "pass input_specs, e.g. input_specs=(1, 28, 28, 1), or a dict by name for a call that takes a dict"
                )
            base = specs_from_request(input_specs)
            structure = "dict" if isinstance(input_specs, Mapping) else "single" if len(base) == 1 else "list"
            specs = base
        else:
            structure, base = recorded
            if input_specs is None:
                specs = resolve_input_specs(base, None)
            else:  # the recorded sizes come from one call: any size the user asks for is taken (rank checked),
                # and the user's shapes become the model's own (their None axes are the dynamic ones)
                dtypes = requested_dtypes(base, input_specs)
                names = _spec_names(base, input_specs) if structure in ("list", "single") else None
                base = [InputSpec(name, (None,) * s.rank, dtype or s.dtype)
                        for s, dtype, name in zip(base, dtypes, names or [s.name for s in base])]
                specs = resolve_input_specs(base, input_specs)
                base = specs
    output_names = list(getattr(model, "output_names", None) or [])

    def build(chosen: Sequence[InputSpec]) -> SignatureModel:
        names = [s.name for s in chosen]

        def flat_function(*args):
            if structure == "dict":
                outputs = model(dict(zip(names, args)), training=False)
            elif structure == "single":
                outputs = model(args[0], training=False)
            elif structure == "args":
                outputs = model(*args, training=False)
            else:
                outputs = model(list(args), training=False)
            return as_output_dict(outputs, output_names)

        return SignatureModel(
            flat_function, chosen, kind=flavour, source=model, retrace=build, native_input_specs=base
        )

    return build(specs)


def _spec_names(base: Sequence[InputSpec], requested: InputSpecsArg) -> Optional[List[str]]:
    """Names a list of ``tf.TensorSpec`` gives a subclassed model's positional inputs (they have none of their own)."""
    items = [requested] if isinstance(requested, tf.TensorSpec) else requested
    if not isinstance(items, (list, tuple)) or len(items) != len(base):
        return None
    names = [getattr(item, "name", None) if isinstance(item, tf.TensorSpec) else None for item in items]
    names = [name or spec.name for name, spec in zip(names, base)]
    return names if len(set(names)) == len(names) else None


def recorded_keras_inputs(model, flavour) -> Optional[Tuple[str, List[InputSpec]]]:
    """``(structure, specs)`` of a subclassed Keras model's inputs, as Keras recorded them, or None.

    Keras 3 records the shapes ``build()`` or the first call saw
    (``_build_shapes_dict``, no dtypes: float32 is assumed, a ``tf.TensorSpec``
    in ``input_specs`` says otherwise); tf-keras records the first call's
    ``tf.TensorSpec`` structure (``_saved_model_inputs_spec``) or the shape given
    to ``build()`` (``_build_input_shape``). The batch axis becomes dynamic (a
    call's batch size says nothing about the model). ``structure`` is "single",
    "list", "dict" (the call takes one list or dict) or "args" (several positional inputs).
    """
    if flavour == keras_compat.KERAS3:
        recorded = getattr(model, "_build_shapes_dict", None)
        if not isinstance(recorded, Mapping) or not recorded:
            return None
        if len(recorded) > 1:
            entries = [(key[: -len("_shape")] if key.endswith("_shape") else key, shape, "float32")
                       for key, shape in recorded.items()]
            return _recorded_specs("args", entries)
        found = next(iter(recorded.values()))
        return _recorded_structure(found, lambda shape: (shape, "float32"))
    spec = getattr(model, "_saved_model_inputs_spec", None)
    if spec is not None:
        return _recorded_structure(spec, lambda s: (s.shape, s.dtype.name))
    shape = getattr(model, "_build_input_shape", None)
    if shape is None:
        return None
    return _recorded_structure(shape, lambda s: (s, "float32"))


def _recorded_structure(found, describe) -> Optional[Tuple[str, List[InputSpec]]]:
    if isinstance(found, Mapping):
        items = [(str(key), value) for key, value in found.items()]
        structure = "dict"
    elif _is_leaf(found):
        items, structure = [("input_0", found)], "single"
    elif isinstance(found, (list, tuple)) and found and all(_is_leaf(item) for item in found):
        items, structure = [(f"input_{i}", value) for i, value in enumerate(found)], "list"
    else:
        return None
    if not all(_is_leaf(value) for _, value in items):
        return None  # nested deeper than one list or dict
    return _recorded_specs(structure, [(name,) + tuple(describe(value)) for name, value in items])


def _recorded_specs(structure, entries) -> Optional[Tuple[str, List[InputSpec]]]:
    specs = []
    for name, shape, dtype in entries:
        if isinstance(shape, tf.TensorShape):
            if shape.rank is None:
                return None
            shape = shape.as_list()
        if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int) for d in shape):
            return None
        dims = [None if d is None else int(d) for d in shape]
        if dims:
            dims[0] = None
        specs.append(InputSpec(name, tuple(dims), dtype))
    return structure, specs


def _is_leaf(value) -> bool:
    """A shape (a tuple/list of sizes, a TensorShape) or a TensorSpec: one input."""
    if isinstance(value, (tf.TensorSpec, tf.TensorShape)):
        return True
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value)


def _shape_list(shape) -> list:
    if hasattr(shape, "as_list"):
        return shape.as_list()
    return [None if d is None else int(d) for d in shape]


# --- tf.function, ConcreteFunction, SavedModel -----------------------------------------------


def tfsm_endpoint(candidate: Any) -> Any:
    """The restored endpoint function of a Keras 3 ``keras.layers.TFSMLayer``, or None for anything else.

    A TFSMLayer wraps a SavedModel (``model.export(path)`` reloaded as a layer);
    it is a Keras layer, not a model, so it is converted through the SavedModel
    function it calls (``call_endpoint_fn``), which carries its input signature.
    """
    if type(candidate).__name__ != "TFSMLayer" or keras_compat.keras_flavour(candidate) is not None:
        return None
    return getattr(candidate, "call_endpoint_fn", None)


def _from_tfsm_layer(layer, endpoint, input_specs) -> SignatureModel:
    if getattr(endpoint, "input_signature", None) is None and input_specs is None:
        raise InvalidModelError(
            f"the TFSMLayer '{layer.name}' endpoint '{getattr(layer, 'call_endpoint', '?')}' has no input "
            "signature; pass input_specs"
        )
    if isinstance(endpoint, tf.types.experimental.ConcreteFunction):
        return _from_concrete_function(endpoint, input_specs, kind="saved_model", source=layer)
    return _from_tf_function(endpoint, input_specs, kind="saved_model", source=layer)


def _from_tf_function(function, input_specs, *, kind: str = "tf_function", source: Any = None) -> SignatureModel:
    source = function if source is None else source
    signature = getattr(function, "input_signature", None)
    if signature is None:
        if input_specs is None:
            raise InvalidModelError(
                "this tf.function has no input_signature; give one (@tf.function(input_signature=[...])) "
                "or pass input_specs"
            )
        specs = specs_from_request(input_specs)
        concrete = function.get_concrete_function(*[s.to_tensor_spec() for s in specs])
        return _from_concrete_function(concrete, None, kind=kind, source=source)
    concrete = function.get_concrete_function()
    return _from_concrete_function(concrete, input_specs, kind=kind, source=source)


def _from_concrete_function(concrete, input_specs, *, kind, source, keyword_order=None) -> SignatureModel:
    """``keyword_order``: (input names, output names) in the model's own order, for a SavedModel signature
    (see :func:`signature_order`); functions traced here keep their own order."""
    args, kwargs = concrete.structured_input_signature
    flat_args = tf.nest.flatten(args)
    _refuse_other_composites(flat_args + tf.nest.flatten(kwargs))
    if any(isinstance(a, tf.RaggedTensorSpec) for a in flat_args):
        return _from_ragged_function(concrete, input_specs, kind=kind, source=source)
    tensor_positions = [i for i, a in enumerate(flat_args) if isinstance(a, tf.TensorSpec)]
    if not tensor_positions and not any(isinstance(v, tf.TensorSpec) for v in tf.nest.flatten(kwargs)):
        raise InvalidModelError("the function takes no tensor inputs, so there is nothing to convert")
    kwargs = {k: v for k, v in kwargs.items() if isinstance(v, tf.TensorSpec)}
    if tensor_positions and kwargs:
        raise InvalidModelError("functions taking both positional and keyword tensors are not supported")
    if kwargs:
        names = list(kwargs.keys())
        if keyword_order is not None and sorted(keyword_order[0]) == sorted(names):
            names = list(keyword_order[0])
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

    output_order = keyword_order[1] if keyword_order is not None else None

    def flat_function(*tensors):
        outputs = as_output_dict(call(*tensors))
        if output_order is not None and sorted(output_order) == sorted(outputs):
            return {name: outputs[name] for name in output_order}
        return outputs

    def build(chosen):
        return SignatureModel(flat_function, chosen, kind=kind, source=source, retrace=build, native_input_specs=base)

    return build(specs)


def signature_order(signature) -> Tuple[List[str], List[str]]:
    """A SavedModel signature's input and output keys in the order of the function it was made from.

    A SavedModel stores a signature's inputs and outputs as maps, and the loaded
    signature lists them in no reliable order. Its graph still calls the
    original function with the arguments in their positional order and reads
    that function's outputs by position: we read both orders from that call
    (a function that returned a dict was saved with its outputs in key order;
    one that returned a list keeps the list's order, ``output_10`` after ``output_9``).
    Keys that cannot be traced to one call keep sorted order (the SignatureDef's).
    """
    keywords = list(getattr(signature, "_arg_keywords", None) or [])
    flat_outputs = tf.nest.flatten(signature.structured_outputs)
    # a signature's outputs are a flat dict; its tensors pair with the keys in flattening (sorted) order
    structured = signature.structured_outputs
    output_keys = sorted(structured) if isinstance(structured, Mapping) else []
    inputs_sorted, outputs_sorted = sorted(keywords), sorted(output_keys)
    by_tensor = {id(t): k for t, k in zip(signature.inputs, keywords)}
    calls = [op for op in signature.graph.get_operations() if op.type in ("PartitionedCall", "StatefulPartitionedCall")]
    input_order, called = inputs_sorted, None
    for op in calls:
        used = [by_tensor[id(t)] for t in op.inputs if id(t) in by_tensor]
        if sorted(used) == inputs_sorted:
            input_order, called = used, op
            break
    output_order = outputs_sorted
    if called is not None and len(flat_outputs) == len(output_keys) == len(signature.outputs):
        positions = {}
        for key, tensor in zip(output_keys, signature.outputs):
            source = tensor
            while source.op.type == "Identity" and source.op.inputs:
                source = source.op.inputs[0]
            if source.op is called:
                positions[key] = source.value_index
        if len(positions) == len(output_keys) and len(set(positions.values())) == len(positions):
            output_order = sorted(output_keys, key=positions.get)
    return input_order, output_order


def _refuse_other_composites(leaves) -> None:
    for leaf in leaves:
        if isinstance(leaf, tf.TypeSpec) and not isinstance(leaf, (tf.TensorSpec, tf.RaggedTensorSpec)):
            raise InvalidModelError(
                f"the function takes a {type(leaf).__name__} input; only dense tensors and tf.RaggedTensor inputs "
                "(as their values and row_splits, like the TFLite converter) can be converted"
            )


def _from_ragged_function(concrete, input_specs, *, kind, source) -> SignatureModel:
    """A function with ``tf.RaggedTensor`` inputs, as the TFLite converter takes it: each ragged input
    becomes its flat components, ``<name>/values`` and ``<name>/row_splits`` (``row_splits_<k>`` for
    deeper ragged ranks), inputs of their own whose leading axis stays dynamic.

    Samples may give a ``tf.RaggedTensor`` for the ragged input's name; it is split the same way.
    """
    args, _ = concrete.structured_input_signature
    leaves = tf.nest.flatten(args)
    if not all(isinstance(leaf, (tf.TensorSpec, tf.RaggedTensorSpec)) for leaf in leaves):
        raise InvalidModelError("a function with ragged inputs must take tensors only (no Python arguments)")
    placeholders = [t.name.split(":")[0] for t in concrete.inputs]
    base: List[InputSpec] = []
    ragged: List[str] = []
    counts: List[int] = []
    position = 0
    for index, leaf in enumerate(leaves):
        components = tf.nest.flatten(leaf, expand_composites=True)
        counts.append(len(components))
        if isinstance(leaf, tf.TensorSpec):
            base.append(InputSpec(leaf.name or placeholders[position], tuple(_shape_list(leaf.shape)), leaf.dtype.name))
        else:
            name = placeholders[position] if position < len(placeholders) else f"input_{index}"
            parts = ["values"] + ["row_splits" if k == 0 else f"row_splits_{k}" for k in range(len(components) - 1)]
            for part, component in zip(parts, components):
                base.append(InputSpec(f"{name}/{part}", tuple(_shape_list(component.shape)), component.dtype.name))
                ragged.append(f"{name}/{part}")
        position += len(components)
    _make_names_unique(base)
    specs = resolve_input_specs(base, input_specs)
    own = {spec.name: spec for spec in base}
    requested = set(input_specs) if isinstance(input_specs, Mapping) else set()
    specs = [own[s.name] if s.name in ragged and s.name not in requested else s for s in specs]

    def flat_function(*tensors):
        rebuilt, start = [], 0
        for leaf, count in zip(leaves, counts):
            part = list(tensors[start:start + count])
            rebuilt.append(part[0] if count == 1 and isinstance(leaf, tf.TensorSpec)
                           else tf.nest.pack_sequence_as(leaf, part, expand_composites=True))
            start += count
        return as_output_dict(concrete(*tf.nest.pack_sequence_as(args, rebuilt)))

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
    signature = loaded.signatures[signature_key]
    model = _from_concrete_function(signature, input_specs, kind=kind, source=loaded,
                                    keyword_order=signature_order(signature))
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


def with_input_transforms(loaded: SignatureModel, input_specs: Sequence[InputSpec], transforms: Mapping[str, Any]) -> SignatureModel:
    """``loaded`` traced for ``input_specs``, with ``transforms[name](tensor)`` applied to those inputs first.

    Used to put a Keras ``Masking`` layer in front of a model that is pinned on
    its traced call (its mask then reaches the model as Keras' own mask does).
    """
    names = [s.name for s in loaded.input_specs]
    inner = loaded._flat_function  # the model's call, flat: same package

    def flat_function(*tensors):
        return inner(*[transforms[name](t) if name in transforms else t for name, t in zip(names, tensors)])

    def build(chosen):
        return SignatureModel(flat_function, chosen, kind=loaded.kind, source=loaded.source, retrace=build,
                              native_input_specs=loaded.native_input_specs)

    return build(list(input_specs))
