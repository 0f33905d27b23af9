"""Rebuilding a Keras model with fake quantization: the entry point, the graph replay and BatchNorm folding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..._quiet import import_tensorflow
from ...errors import InvalidInputError, InvalidModelError
from ...models import keras_compat
from ...models.keras_graph import LayerGraph, TensorKey, clone_layer, layer_graph
from .calibration import calibrate
from .layers import NONE, FakeQuantLayers, QuantizerSettings, fake_quant_layers
from .plan import FOLDED, PASS, CallPlan, FakeQuantOptions, _check_skip, _plan

tf = import_tensorflow()


@dataclass
class FakeQuantRebuild:
    """The fake-quant model and what was done to each layer.

    Attributes:
        model: the new Keras model (same flavour as the input).
        plans: one entry per layer call of the input model, nested models inlined.
        input_quantizers: model input name -> the FakeQuant layer after it.
        entry_quantizers: float layer name -> the FakeQuant layer that quantizes its output for quantized consumers.
        inlined: nested models whose layers were inlined.
        calibration_batches: batches run through the model to initialise the ranges (0 without calibration data).
    """

    model: Any
    plans: List[CallPlan]
    input_quantizers: Dict[str, str] = field(default_factory=dict)
    entry_quantizers: Dict[str, str] = field(default_factory=dict)
    inlined: List[str] = field(default_factory=list)
    calibration_batches: int = 0


def rebuild_with_fake_quant(model: Any, options: FakeQuantOptions, calibration_data: Any = None) -> FakeQuantRebuild:
    """A new Keras model with fake quantization inserted (see the module notes); ``model`` is not modified.

    Raises:
        InvalidModelError: ``model`` is not a Functional or built Sequential Keras model.
        InvalidInputError: a ``skip`` name is not a layer of the model, or the model is already fake-quantized.
    """
    flavour = keras_compat.keras_flavour(model)
    if flavour is None:
        raise InvalidModelError(
            f"insert_fake_quant rebuilds Keras layers, but got a {type(model).__name__}; pass the Keras model "
            "(Keras 3 or tf-keras), before graph passes such as replace_unsupported_ops"
        )
    layers = fake_quant_layers(flavour)
    graph = layer_graph(model)
    already = [c.layer.name for c in graph.calls if isinstance(c.layer, layers.all_classes())]
    if already:
        raise InvalidInputError(
            f"the model is already fake-quantized (layers {already[:5]}); run insert_fake_quant on the float model"
        )
    _check_skip(graph, options.skip)
    plans = _plan(graph, layers, options)
    builder = _Builder(model, graph, plans, layers, options)
    rebuilt = builder.build()
    result = FakeQuantRebuild(rebuilt, plans, builder.input_quantizers, builder.entry_quantizers, list(graph.inlined))
    quantizers = any(p.quantized for p in plans) or builder.input_quantizers or builder.entry_quantizers
    if calibration_data is not None and quantizers:
        result.calibration_batches = calibrate(rebuilt, calibration_data)
    return result


# --- building -------------------------------------------------------------------------------------------------


class _Builder:
    """Replays the layer graph with the planned layers, adding input and entry quantizers."""

    def __init__(self, model: Any, graph: LayerGraph, plans: List[CallPlan], layers: FakeQuantLayers,
                 options: FakeQuantOptions):
        self.model, self.graph, self.plans, self.layers, self.options = model, graph, plans, layers, options
        self.K = layers.keras
        self.tensors: Dict[TensorKey, Any] = {}
        self.quantized: Dict[TensorKey, bool] = {}
        self.entry_cache: Dict[TensorKey, Any] = {}
        self.new_layers: Dict[int, Any] = {}
        self.weights_set: set = set()
        self.input_quantizers: Dict[str, str] = {}
        self.entry_quantizers: Dict[str, str] = {}
        self.used_names = {call.layer.name for call in graph.calls if not call.scope} | set(_input_names(graph))
        self.sequence: List[Any] = []  # layers in the order they were applied (a Sequential model's order)

    def build(self) -> Any:
        K = self.K
        consumers_of = {key: [p for p in self.plans if key in p.call.inputs] for key in self.graph.inputs}
        new_inputs = []
        for key, tensor, name in zip(self.graph.inputs, self.graph.input_tensors, _input_names(self.graph)):
            fresh = K.Input(batch_shape=tuple(tensor.shape), dtype=_dtype_name(tensor.dtype), name=name)
            new_inputs.append(fresh)
            self.tensors[key], self.quantized[key] = fresh, False
            wanted = any(p.quantized or p.role == PASS for p in consumers_of[key])
            if wanted and tf.as_dtype(_dtype_name(tensor.dtype)).is_floating:
                quantizer = self._fake_quant_layer(f"{name}_quant")
                self.tensors[key], self.quantized[key] = quantizer(fresh), True
                self.sequence.append(quantizer)
                self.input_quantizers[name] = quantizer.name
        for plan in self.plans:
            if all(key in self.tensors for key in plan.call.inputs):
                self._replay(plan)
        inputs = tf.nest.pack_sequence_as(self.graph.input_structure, new_inputs)
        outputs = tf.nest.map_structure(lambda key: self.tensors[key], self.graph.output_structure)
        name = f"{self.model.name}_fake_quant"
        chain = self._as_sequential(new_inputs[0], name) if type(self.model) is K.Sequential else None
        return chain if chain is not None else K.Model(inputs, outputs, name=name)

    def _replay(self, plan: CallPlan) -> None:
        call = plan.call
        if plan.role == FOLDED:  # the layer it was folded into already produced its output
            return
        feed = dict(self.tensors)
        if plan.quantized:
            for key in call.inputs:
                if not self.quantized[key] and not self._deferred(key):
                    feed[key] = self._entry_quantized(key)
        args, kwargs = call.arguments(feed)
        layer = self._new_layer(plan)
        outputs = tf.nest.flatten(layer(*args, **kwargs))
        self.sequence.append(layer)
        self._set_weights(plan, layer)
        if plan.quantized:
            quantized = plan.settings.output != NONE
        else:
            quantized = plan.role == PASS and all(self.quantized[key] for key in call.inputs)
        produced = [call.outputs] + ([plan.folds.call.outputs] if plan.folds is not None else [])
        for keys in produced:  # a folded BatchNormalization's output is this layer's
            for key, tensor in zip(keys, outputs):
                self.tensors[key], self.quantized[key] = tensor, quantized

    def _deferred(self, key: TensorKey) -> bool:
        producer = next((p for p in self.plans if key in p.effective_outputs and p.role != FOLDED), None)
        return producer is not None and producer.quantized and producer.settings.output == NONE

    def _entry_quantized(self, key: TensorKey) -> Any:
        if key not in self.entry_cache:
            producer = next((p for p in self.plans if key in p.call.outputs), None)
            source = producer.layer.name if producer is not None else "input"
            quantizer = self._fake_quant_layer(f"{source}_quant")
            self.entry_cache[key] = quantizer(self.tensors[key])
            self.sequence.append(quantizer)
            self.entry_quantizers[source] = quantizer.name
        return self.entry_cache[key]

    def _fake_quant_layer(self, name: str) -> Any:
        settings = QuantizerSettings(ema_decay=self.options.ema_decay, num_bits=self.options.num_bits)
        return self.layers.fake_quant(name=self._unique(name), fake_quant=settings.to_config())

    def _unique(self, name: str) -> str:
        candidate, number = name, 1
        while candidate in self.used_names:
            number += 1
            candidate = f"{name}_{number}"
        self.used_names.add(candidate)
        return candidate

    def _new_layer(self, plan: CallPlan) -> Any:
        layer = plan.layer
        if id(layer) in self.new_layers:
            return self.new_layers[id(layer)]
        name = layer.name
        if plan.call.scope:  # inlined from a nested model: its names may clash with the outer model's
            name = self._unique(f"{plan.call.scope[-1]}_{name}" if name in self.used_names else name)
        if plan.quantized:
            config = layer.get_config()
            config.update(name=name, fake_quant=plan.settings.to_config())
            if plan.folds is not None:
                config["use_bias"] = True
            new = self._quantized_class(plan).from_config(config)
        elif isinstance(layer, self.K.layers.Layer):
            new = clone_layer(layer, **({"name": name} if name != layer.name else {}))
        else:
            new = layer  # a stateless keras.ops operation: nothing to protect
        self.new_layers[id(layer)] = new
        return new

    def _quantized_class(self, plan: CallPlan) -> type:
        kind = type(plan.layer).__name__
        special = {"Conv1D": self.layers.conv1d, "Conv2D": self.layers.conv2d,
                   "DepthwiseConv2D": self.layers.depthwise_conv2d, "Dense": self.layers.dense,
                   "BatchNormalization": self.layers.batch_normalization, "Rescaling": self.layers.rescaling,
                   "Average": self.layers.average}
        return special.get(kind) or self.layers.output_quantized(type(plan.layer))

    def _set_weights(self, plan: CallPlan, new: Any) -> None:
        if id(new) in self.weights_set or new is plan.layer or not plan.layer.weights:
            return
        self.weights_set.add(id(new))
        if plan.folds is not None:
            kernel, bias = fold_batch_norm(plan.layer, plan.folds.layer)
            _assign_by_name(new, {_kernel_name(new): kernel, "bias": bias})
        elif plan.quantized:
            _assign_by_name(new, {_short_name(w): w.numpy() for w in plan.layer.weights},
                            renames={"depthwise_kernel": _kernel_name(new), "kernel": _kernel_name(new)})
        else:
            new.set_weights(plan.layer.get_weights())

    def _as_sequential(self, new_input: Any, name: str) -> Optional[Any]:
        """The same layers as a Sequential model, when the graph is one chain (None otherwise)."""
        previous = self.graph.inputs
        for plan in self.plans:
            if plan.call.inputs != previous or len(plan.call.outputs) != 1:
                return None
            previous = plan.call.outputs
        if len(self.graph.inputs) != 1 or self.graph.outputs != previous:
            return None
        start = self.K.Input(batch_shape=tuple(new_input.shape), dtype=_dtype_name(new_input.dtype),
                             name=_input_names(self.graph)[0])
        return self.K.Sequential([start] + self.sequence, name=name)


def _layer_of(tensor: Any) -> Any:
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    return getattr(history, "operation", None) or getattr(history, "layer", None) or history[0]


def _input_names(graph: LayerGraph) -> List[str]:
    names = []
    for index, tensor in enumerate(graph.input_tensors):
        layer = _layer_of(tensor)
        names.append(getattr(layer, "name", None) or f"input_{index}")
    return names


def _dtype_name(dtype: Any) -> str:
    return tf.as_dtype(dtype).name


def _short_name(variable: Any) -> str:
    return variable.name.split("/")[-1].split(":")[0]


def _kernel_name(layer: Any) -> str:
    names = {_short_name(w) for w in layer.weights}
    return "depthwise_kernel" if "depthwise_kernel" in names else "kernel"


def _assign_by_name(layer: Any, values: Dict[str, np.ndarray], renames: Optional[Dict[str, str]] = None) -> None:
    variables = {_short_name(w): w for w in layer.weights}
    for name, value in values.items():
        target = variables.get(name)
        if target is None:
            target = variables.get((renames or {}).get(name, name))
        if target is None:
            raise InvalidModelError(f"fake-quant layer '{layer.name}' has no weight '{name}' to copy into")
        target.assign(np.asarray(value, dtype=np.float32).reshape(tuple(target.shape)))


def fold_batch_norm(layer: Any, batch_norm: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of ``layer`` (Conv1D/Conv2D/DepthwiseConv2D/Dense) with the following
    ``batch_norm`` folded in, inference form: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Example:
        >>> kernel, bias = fold_batch_norm(model.get_layer("conv"), model.get_layer("bn"))  # doctest: +SKIP
    """
    weights = {_short_name(w): w.numpy().astype(np.float64) for w in layer.weights}
    kernel = weights.get("kernel", weights.get("depthwise_kernel"))
    bias = weights.get("bias", np.zeros(kernel.shape[-1] if type(layer).__name__ != "DepthwiseConv2D"
                                        else kernel.shape[-2] * kernel.shape[-1]))
    norm = {_short_name(w): w.numpy().astype(np.float64) for w in batch_norm.weights}
    channels = bias.shape[0]
    gamma = norm.get("gamma", np.ones(channels))
    beta = norm.get("beta", np.zeros(channels))
    factor = gamma / np.sqrt(norm["moving_variance"] + batch_norm.epsilon)
    if type(layer).__name__ == "DepthwiseConv2D":
        folded_kernel = kernel * factor.reshape(kernel.shape[-2], kernel.shape[-1])
    else:
        folded_kernel = kernel * factor
    folded_bias = (bias - norm["moving_mean"]) * factor + beta
    return folded_kernel.astype(np.float32), folded_bias.astype(np.float32)
