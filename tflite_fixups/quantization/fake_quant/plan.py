"""Planning a fake-quant rebuild: the role of each layer call (quantized, folded, float, pass-through) and
where its activation is quantized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..._quiet import import_tensorflow
from ...errors import InvalidInputError
from ...models.keras_graph import LayerCall, LayerGraph, TensorKey
from .layers import FIXED, NONE, OUTPUT_QUANTIZED, PASS_THROUGH, WEIGHTED, FakeQuantLayers, QuantizerSettings
from .ops import NUM_BITS

tf = import_tensorflow()


# --- planning -----------------------------------------------------------------------------------------------


#: TFLite's fixed int8 output ranges: LOGISTIC and SOFTMAX scale 1/256, zero point -128; TANH scale 1/128, zero point 0.
FIXED_OUTPUT_RANGES = {"sigmoid": (0.0, 255.0 / 256.0), "softmax": (0.0, 255.0 / 256.0), "tanh": (-1.0, 127.0 / 128.0)}
#: Activations TFLite fuses into CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB and MUL.
FUSABLE_ACTIVATIONS = ("relu", "relu6")
_NO_ACTIVATION = ("linear", None)
_MERGES_WITH_FUSED_RELU = ("Add", "Subtract", "Multiply")
_QUANTIZED_ROLES = ("weighted", "batch_norm", "rescaling", "average", "output")

FOLDED, FLOAT, PASS = "folded", "float", "pass_through"


@dataclass
class CallPlan:
    """What the rebuild does with one layer call."""

    call: LayerCall
    role: str                     # one of _QUANTIZED_ROLES, "folded", "float" or "pass_through"
    reason: str = ""              # why a layer stays float
    settings: QuantizerSettings = field(default_factory=QuantizerSettings)
    folded_into: Optional["CallPlan"] = None  # for a folded BatchNormalization: the layer it went into
    folds: Optional["CallPlan"] = None        # for a weighted layer: the BatchNormalization folded into it
    quantized_by: Optional[str] = None        # the consumer that quantizes this output (output="none")

    @property
    def layer(self) -> Any:
        return self.call.layer

    @property
    def quantized(self) -> bool:
        return self.role in _QUANTIZED_ROLES

    @property
    def label(self) -> str:
        """The layer's name, prefixed by the nested models it was inlined from ("block/conv")."""
        return "/".join(self.call.scope + (self.layer.name,))

    @property
    def effective_outputs(self) -> List[TensorKey]:
        return self.folds.call.outputs if self.folds is not None else self.call.outputs


@dataclass
class FakeQuantOptions:
    """The validated arguments of :func:`rebuild_with_fake_quant`."""

    per_channel: bool = True
    fold_batch_norm: bool = True
    ema_decay: float = 0.999
    skip: Tuple[str, ...] = ()
    num_bits: int = NUM_BITS



def _check_skip(graph: LayerGraph, skip: Sequence[str]) -> None:
    known = {call.layer.name for call in graph.calls} | {name for call in graph.calls for name in call.scope}
    unknown = [name for name in skip if name not in known]
    if unknown:
        raise InvalidInputError(
            f"skip names {unknown} are not layers of the model; its layers are {sorted(known)}"
        )


def _plan(graph: LayerGraph, layers: FakeQuantLayers, options: FakeQuantOptions) -> List[CallPlan]:
    K = layers.keras
    call_counts: Dict[int, int] = {}
    for call in graph.calls:
        call_counts[id(call.layer)] = call_counts.get(id(call.layer), 0) + 1
    plans = [_role(call, K, options) for call in graph.calls]
    by_call = {id(plan.call): plan for plan in plans}
    outputs = set(graph.outputs)

    def consumers(key: TensorKey) -> List[CallPlan]:
        return [by_call[id(c)] for c in graph.consumers(key)]

    def sole_consumer(keys: List[TensorKey]) -> Optional[CallPlan]:
        if len(keys) != 1 or keys[0] in outputs:
            return None
        found = consumers(keys[0])
        return found[0] if len(found) == 1 else None

    if options.fold_batch_norm:
        for plan in plans:
            if plan.role != "weighted" or _activation_name(plan.layer, K) not in _NO_ACTIVATION:
                continue
            consumer = sole_consumer(plan.call.outputs)
            if (consumer is not None and consumer.role == "batch_norm" and call_counts[id(plan.layer)] == 1
                    and call_counts[id(consumer.layer)] == 1):
                plan.folds, consumer.folded_into, consumer.role = consumer, plan, FOLDED
    for plan in plans:
        if plan.quantized:  # a shared layer has one set of quantizers: it never leaves its output to a consumer
            consumer = sole_consumer(plan.effective_outputs) if call_counts[id(plan.layer)] == 1 else None
            plan.settings = _output_settings(plan, K, options, consumer)
    return plans


def _role(call: LayerCall, K: Any, options: FakeQuantOptions) -> CallPlan:
    layer = call.layer
    kind = type(layer).__name__

    def of_type(names: Sequence[str]) -> Optional[str]:
        for name in names:
            cls = getattr(K.layers, name, None)
            if cls is not None and type(layer) is cls:
                return name
        return None

    skipped = layer.name in options.skip or any(scope in options.skip for scope in call.scope)
    if skipped:
        return CallPlan(call, FLOAT, "in skip")
    if not isinstance(layer, K.layers.Layer):
        return CallPlan(call, FLOAT, "an operation outside any layer (keras.ops / tf function call): not covered")
    if of_type(PASS_THROUGH):
        return CallPlan(call, PASS)
    role = None
    if of_type(WEIGHTED):
        role = "weighted"
    elif of_type(("BatchNormalization",)):
        role = "batch_norm"
    elif of_type(("Rescaling",)):
        role = "rescaling"
    elif of_type(("Average",)):
        role = "average"
    elif of_type(OUTPUT_QUANTIZED):
        role = "output"
    if role is None:
        return CallPlan(call, FLOAT, _float_reason(layer, kind))
    problem = _unsupported_config(call, role, K)
    if problem:
        return CallPlan(call, FLOAT, problem)
    return CallPlan(call, role)


def _float_reason(layer: Any, kind: str) -> str:
    if kind in ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D"):
        return "recurrent layers are not covered: TFLite runs it in float"
    if kind in ("MultiHeadAttention", "Attention", "AdditiveAttention", "GroupQueryAttention"):
        return "attention is not covered: TFLite runs it in float"
    if kind in ("Lambda", "TFOpLambda", "SlicingOpLambda"):
        return "custom code: the pass cannot tell what it computes"
    if not type(layer).__module__.startswith(("keras", "tf_keras")):
        return "custom layer: the pass cannot tell what it computes"
    return f"{kind} is not covered by fake quantization yet: TFLite runs it in float"


def _unsupported_config(call: LayerCall, role: str, K: Any) -> str:
    layer = call.layer
    input_shapes = [tuple(getattr(t, "shape", ())) for t in _call_input_tensors(call, layer)]
    dtype = getattr(layer, "compute_dtype", None) or getattr(layer, "dtype", None)
    if dtype is not None and str(tf.as_dtype(dtype).name) != "float32":
        return f"computes in {tf.as_dtype(dtype).name}: fake quantization needs float32"
    if role == "weighted":
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            return "channels_first data format: not covered (TFLite runs channels last)"
        if getattr(layer, "groups", 1) != 1:
            return "grouped convolution: not covered"
        if getattr(layer, "quantization_mode", None) or getattr(layer, "lora_enabled", False):
            return "already quantized or LoRA-adapted by Keras"
    if role in ("batch_norm", "rescaling"):
        rank = len(input_shapes[0]) if input_shapes else 0
        if rank not in (2, 3, 4) or (input_shapes and input_shapes[0][-1] is None):
            return f"input of rank {rank} or unknown channel count: the int8 form needs rank 2-4, channels last"
        if role == "batch_norm":
            axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
            if len(axes) != 1 or axes[0] not in (-1, rank - 1):
                return f"normalizes axis {layer.axis}, not the channels (last) axis"
        if role == "rescaling":
            try:
                np.broadcast_to(np.asarray(layer.scale, np.float32), (input_shapes[0][-1],))
                np.broadcast_to(np.asarray(layer.offset, np.float32), (input_shapes[0][-1],))
            except (ValueError, TypeError):
                return "scale/offset do not broadcast along the channel axis"
    tensors = _call_input_tensors(call, layer)
    if any(not tf.as_dtype(getattr(t, "dtype", "float32")).is_floating for t in tensors):
        return "takes a non-float input: fake quantization needs float tensors"
    return ""


def _call_input_tensors(call: LayerCall, layer: Any) -> list:
    """The call's input KerasTensors as the original layer saw them (for shapes and dtypes)."""
    nodes = getattr(layer, "_inbound_nodes", None) or []
    for node in nodes:
        tensors = tf.nest.flatten(getattr(node, "input_tensors", []))
        if tensors:
            return tensors
    return []


def _activation_name(layer: Any, K: Any) -> Optional[str]:
    """The name of a layer's activation ("relu", "linear"...), "custom" for a user function, None when it has none."""
    if type(layer).__name__ == "Activation":
        function = layer.activation
    elif type(layer).__name__ == "ReLU":
        config = layer.get_config()
        if config.get("negative_slope") or config.get("threshold"):
            return "leaky_relu"
        if config.get("max_value") is None:
            return "relu"
        return "relu6" if float(config["max_value"]) == 6.0 else "clipped_relu"
    elif type(layer).__name__ == "Softmax":
        axis = layer.get_config().get("axis", -1)
        return "softmax" if axis in (-1, [-1]) else "softmax_other_axis"
    else:
        function = getattr(layer, "activation", None)
    if function is None:
        return None
    try:
        name = K.activations.serialize(function)
    except Exception:
        return "custom"
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    return name if isinstance(name, str) else "custom"


def _output_settings(
    plan: CallPlan, K: Any, options: FakeQuantOptions, consumer: Optional[CallPlan]
) -> QuantizerSettings:
    """Where this layer's activation is quantized (see the module notes for why)."""
    settings = QuantizerSettings(
        per_channel=options.per_channel, ema_decay=options.ema_decay, num_bits=options.num_bits
    )
    kind = type(plan.layer).__name__
    activation = _activation_name(plan.layer, K) if plan.role in ("weighted", "output") else None
    if activation in FIXED_OUTPUT_RANGES:
        settings.output, settings.fixed_range = FIXED, FIXED_OUTPUT_RANGES[activation]
        settings.pre_activation = plan.role == "weighted"
        return settings
    if plan.role == "weighted" and activation not in _NO_ACTIVATION + FUSABLE_ACTIVATIONS:
        settings.pre_activation = True  # TFLite runs this activation as its own op: its input needs a range
    fusable_producer = (plan.role in ("weighted", "batch_norm", "rescaling") or kind in _MERGES_WITH_FUSED_RELU)
    if consumer is not None and consumer.quantized:
        consumer_kind = type(consumer.layer).__name__
        consumer_activation = _activation_name(consumer.layer, K) if consumer_kind in ("ReLU", "Activation") else None
        if fusable_producer and activation in _NO_ACTIVATION and consumer_activation in FUSABLE_ACTIVATIONS:
            settings.output, plan.quantized_by = NONE, consumer.layer.name
        elif consumer_kind == "Concatenate":
            settings.output, plan.quantized_by = NONE, consumer.layer.name
    return settings
