"""Rebuilding Keras models (Keras 3 and tf-keras alike) without touching the user's model."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._quiet import import_tensorflow
from ..errors import InvalidModelError
from . import keras_compat

LayerFunction = Callable[[Any], Any]


def clone_with_weights(model: Any, clone_function: Optional[LayerFunction] = None, input_tensors: Any = None) -> Any:
    """A copy of a Keras model (new layers, same weight values), built by ``clone_model``.

    ``clone_function(layer) -> layer`` may substitute layers (it must keep the
    weight layout); nested models are cloned by the caller's function.

    Raises:
        InvalidModelError: Keras cannot clone the model (e.g. a subclassed model
            or a custom layer whose ``get_config`` does not describe it).
    """
    keras_module = keras_compat.keras_module(keras_compat.keras_flavour(model))
    kwargs = {"clone_function": clone_function or clone_layer}
    if input_tensors is not None:
        kwargs["input_tensors"] = input_tensors
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns about masks passed to nested models; they do propagate
            clone = keras_module.models.clone_model(model, **kwargs)
        copy_weights(model, clone)
    except InvalidModelError:
        raise
    except Exception as error:  # Keras raises many types here; all mean "not clonable"
        raise InvalidModelError(
            f"could not rebuild Keras model '{model.name}' ({type(error).__name__}: {error}); "
            "give custom layers a get_config() that lists their constructor arguments"
        ) from error
    return clone


def copy_weights(model: Any, clone: Any) -> None:
    """``model``'s weight values into ``clone``, matched by variable path where every path matches.

    A clone may list its weights in another order (keras-hub's Whisper builds its
    layers lazily, in call order), and ``set_weights`` copies by position: that
    fails on a shape, or worse, swaps two weights of the same shape silently.
    """
    def key(weight: Any) -> str:
        return str(getattr(weight, "path", None) or weight.name)

    source = {key(w): w for w in model.weights}
    target = list(clone.weights)
    if len(source) == len(model.weights) == len(target) and {key(w) for w in target} == set(source):
        for weight in target:
            weight.assign(source[key(weight)].numpy())
    else:  # paths renamed (a substituted layer): the layout is the same, in the same order
        clone.set_weights(model.get_weights())


def clone_layer(layer: Any, **config_changes: Any) -> Any:
    """A new layer from ``layer``'s config with ``config_changes`` applied (weights are copied later).

    A layer without weights that cannot be rebuilt from its config (a Lambda
    holding a Python lambda, which Keras 3 safe mode refuses to deserialize)
    is shared instead: it holds no state a copy could protect.
    """
    config = layer.get_config()
    config.update(config_changes)
    try:
        return type(layer).from_config(config)
    except Exception:
        if layer.weights or config_changes:
            raise
        return layer


def last_call_input_shapes(layer: Any) -> List[Tuple[Optional[int], ...]]:
    """Shapes of the tensors ``layer`` was last called on (its latest inbound node)."""
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if not nodes:
        return []
    tf = import_tensorflow()
    return [tuple(tensor.shape) for tensor in tf.nest.flatten(nodes[-1].input_tensors)]  # tf-keras: bare tensor


def layer_label(layer: Any) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def static_inputs_like_last_call(model: Any) -> Any:
    """New Input tensors shaped like the tensors a nested ``model`` was last called on, in ``model.input``'s structure.

    None when the model was never called (its own Input shapes then apply).
    """
    shapes = last_call_input_shapes(model)
    if not shapes:
        return None
    keras_module = keras_compat.keras_module(keras_compat.keras_flavour(model))
    tf = import_tensorflow()
    own = tf.nest.flatten(model.input)
    fresh = [keras_module.Input(batch_shape=shape, dtype=tensor.dtype) for shape, tensor in zip(shapes, own)]
    return tf.nest.pack_sequence_as(model.input, fresh)


def consume_mask_inside(nested_model: Any) -> None:
    """Let a Keras 3 nested model take an input mask without claiming it drops it.

    Keras 3 warns that a Functional "will destroy the mask information" when a
    mask reaches it, yet at run time the mask does reach its inner layers (the
    measured outputs are exact). Declaring mask support silences the false
    warning; returning no output mask keeps a per-step mask off the model's
    outputs, where Keras would apply it to the loss during fine-tuning.
    """
    nested_model.supports_masking = True
    nested_model.compute_mask = _no_output_mask


def consumes_mask_inside(model: Any) -> bool:
    """Whether :func:`consume_mask_inside` was applied to ``model`` (a rebuilt copy needs it again)."""
    return vars(model).get("compute_mask") is _no_output_mask


def _no_output_mask(inputs: Any, previous_mask: Any = None) -> None:
    return None


# --- walking a Functional graph, nested models inlined -------------------------------------------------


@dataclass(frozen=True)
class TensorKey:
    """Names one tensor of a :class:`LayerGraph` (stands in for it inside a call's arguments)."""

    instance: int  # 0 for the outer model, a fresh number for each inlined call of a nested model
    tensor_id: int


@dataclass
class LayerCall:
    """One call of a layer in a Functional or Sequential model.

    ``args`` / ``kwargs`` are the call's arguments with every graph tensor
    replaced by its :class:`TensorKey`; ``inputs`` lists those keys in order and
    ``outputs`` the keys of the tensors the call produced (flattened).
    ``scope`` names the nested models the call was inlined from, outermost first.
    """

    layer: Any
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]
    inputs: List[TensorKey]
    outputs: List[TensorKey]
    scope: Tuple[str, ...] = ()

    def arguments(self, tensors: Dict[TensorKey, Any]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        """``(args, kwargs)`` with each :class:`TensorKey` replaced by ``tensors[key]``."""
        tf = import_tensorflow()
        fill = lambda item: tensors[item] if isinstance(item, TensorKey) else item  # noqa: E731
        return tuple(tf.nest.map_structure(fill, list(self.args))), tf.nest.map_structure(fill, self.kwargs)


@dataclass
class LayerGraph:
    """The layer calls of a Keras Functional/Sequential model in execution order, nested models inlined.

    Attributes:
        input_tensors: the model's Input tensors (``model.inputs`` order), for names, shapes and dtypes.
        inputs: their keys, in the same order.
        input_structure / output_structure: the model's input and output nesting, with keys as leaves.
        calls: every layer call, producers before consumers.
        inlined: names of the nested models whose layers were inlined.
    """

    input_tensors: List[Any]
    inputs: List[TensorKey]
    input_structure: Any
    output_structure: Any
    calls: List[LayerCall]
    inlined: List[str] = field(default_factory=list)

    @property
    def outputs(self) -> List[TensorKey]:
        return import_tensorflow().nest.flatten(self.output_structure)

    def consumers(self, key: TensorKey) -> List[LayerCall]:
        """The calls that take ``key`` as an input (in execution order)."""
        return [call for call in self.calls if key in call.inputs]


def layer_graph(model: Any) -> LayerGraph:
    """The layer calls of a Functional or Sequential Keras model (Keras 3 or tf-keras), nested models inlined.

    A nested Functional/Sequential model is replaced by its own layers, so
    patterns that cross its boundary can be seen; a subclassed model stays one call.

    Raises:
        InvalidModelError: the model has no layer graph (a subclassed model, or a
            Sequential model that was never built with an input shape).
    """
    flavour = keras_compat.keras_flavour(model)
    if flavour is None or _graph_network(model, flavour) is None:
        raise InvalidModelError(
            f"'{getattr(model, 'name', model)}' is not a Functional or built Sequential Keras model, so its layer "
            "graph cannot be rebuilt; build a Sequential model with an Input (keras.Input(shape)) first"
        )
    tf = import_tensorflow()
    graph_model = _graph_network(model, flavour)
    aliases: Dict[TensorKey, TensorKey] = {}
    calls: List[LayerCall] = []
    inlined: List[str] = []
    instances = itertools.count(1)

    def key_of(tensor: Any, instance: int) -> TensorKey:
        key = TensorKey(instance, id(tensor))
        while key in aliases:
            key = aliases[key]
        return key

    def walk(functional: Any, instance: int, scope: Tuple[str, ...]) -> None:
        for node in _nodes_in_order(functional):
            layer = getattr(node, "operation", None) or getattr(node, "layer", None)
            if layer is None or node.is_input:
                continue
            raw_args, raw_kwargs = _node_call_arguments(node, flavour)
            to_key = lambda item: key_of(item, instance) if _is_graph_tensor(item) else item  # noqa: E731
            args = tuple(tf.nest.map_structure(to_key, list(raw_args)))
            kwargs = tf.nest.map_structure(to_key, dict(raw_kwargs))
            outputs = [key_of(t, instance) for t in tf.nest.flatten(node.outputs)]
            is_model = isinstance(layer, keras_compat.keras_module(flavour).Model)
            nested = _graph_network(layer, flavour) if is_model else None
            if nested is None:
                inputs = [item for item in tf.nest.flatten([args, kwargs]) if isinstance(item, TensorKey)]
                calls.append(LayerCall(layer, args, kwargs, inputs, outputs, scope))
                continue
            inner = next(instances)
            inlined.append(layer.name)
            fed = [item for item in tf.nest.flatten(args[0] if args else []) if isinstance(item, TensorKey)]
            for own_input, outer_key in zip(tf.nest.flatten(_input_structure(nested, flavour)), fed):
                aliases[TensorKey(inner, id(own_input))] = outer_key
            walk(nested, inner, scope + (layer.name,))
            inner_outputs = tf.nest.flatten(_output_structure(nested, flavour))
            for outer_key, own_output in zip(outputs, inner_outputs):
                aliases[outer_key] = key_of(own_output, inner)

    walk(graph_model, 0, ())
    own_inputs = list(tf.nest.flatten(_input_structure(graph_model, flavour)))
    return LayerGraph(
        input_tensors=own_inputs,
        inputs=[key_of(t, 0) for t in own_inputs],
        input_structure=tf.nest.map_structure(lambda t: key_of(t, 0), _input_structure(graph_model, flavour)),
        output_structure=tf.nest.map_structure(lambda t: key_of(t, 0), _output_structure(graph_model, flavour)),
        calls=calls,
        inlined=inlined,
    )


def _graph_network(model: Any, flavour: str) -> Any:
    """The Functional object that holds ``model``'s layer graph, or None (subclassed / unbuilt)."""
    if flavour == keras_compat.KERAS3:
        from keras.src.models.functional import Functional
        from keras.src.models.sequential import Sequential

        if isinstance(model, Sequential):
            return getattr(model, "_functional", None)
        return model if isinstance(model, Functional) else None
    return model if getattr(model, "_is_graph_network", False) and getattr(model, "_nodes_by_depth", None) else None


def _nodes_in_order(functional: Any) -> list:
    by_depth = functional._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _node_call_arguments(node: Any, flavour: str):
    if flavour == keras_compat.KERAS3:
        return node.arguments.args, node.arguments.kwargs
    return node.call_args, node.call_kwargs


def _input_structure(model: Any, flavour: str) -> Any:
    found = getattr(model, "_inputs_struct" if flavour == keras_compat.KERAS3 else "_nested_inputs", None)
    return found if found is not None else list(model.inputs)


def _output_structure(model: Any, flavour: str) -> Any:
    found = getattr(model, "_outputs_struct" if flavour == keras_compat.KERAS3 else "_nested_outputs", None)
    return found if found is not None else list(model.outputs)


def _is_graph_tensor(item: Any) -> bool:
    """A symbolic Keras tensor of either flavour (plain Python values in call arguments are not)."""
    return type(item).__name__ == "KerasTensor"
