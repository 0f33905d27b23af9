"""Rebuilding Keras models (Keras 3 and tf-keras alike) without touching the user's model."""

from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, Tuple

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
        clone.set_weights(model.get_weights())
    except InvalidModelError:
        raise
    except Exception as error:  # Keras raises many types here; all mean "not clonable"
        raise InvalidModelError(
            f"could not rebuild Keras model '{model.name}' ({type(error).__name__}: {error}); "
            "give custom layers a get_config() that lists their constructor arguments"
        ) from error
    return clone


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
