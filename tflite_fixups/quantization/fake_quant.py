"""Fake quantization for quantization-aware fine-tuning: the Keras layers, and rebuilding a model with them.

The layers use TensorFlow's fake-quant ops, which the TFLite converter reads as
quantization parameters: converting a fine-tuned model with
``optimizations=[tf.lite.Optimize.DEFAULT]`` gives an int8 model whose
activation tensors carry the learned ranges (``scale = (max - min) / 255``).
What the converter (TF 2.21) needs, measured while building this module:

- weights: a fake quant directly on the constant kernel of CONV_2D or
  DEPTHWISE_CONV_2D (per output channel, symmetric, narrow range [-127, 127]).
  A per-channel fake quant that reaches the kernel through a transpose or an
  ExpandDims fails ("mismatched quantized axes"): FULLY_CONNECTED (whose
  kernel the converter transposes) is therefore quantized per tensor, Conv1D
  runs as a Conv2D on a 4-D kernel, and a depthwise kernel is quantized as
  (kh, kw, 1, in * multiplier) so every output channel gets its own scale;
- activations: a fake quant after each op whose output needs a range. An op
  fused into its producer (CONV_2D/ADD + RELU) takes the range after the ReLU;
  CONCATENATION needs one range for its inputs and output, so the inputs are
  left to the fake quant after it; LOGISTIC, TANH and SOFTMAX have fixed int8
  output ranges, mirrored by fixed fake quants;
- constants of element-wise ops (Rescaling, inference BatchNormalization) stay
  float unless fake-quantized: both run here as one 1x1 DEPTHWISE_CONV_2D with
  the per-channel factors as (exactly representable) weights and the offsets as bias;
- a tensor leaving a float layer (LSTM...) needs its own fake quant, or the
  next op stays float too;
- only 8 bits: the converter rejects 4-bit fake quant ("'tfl.fully_connected'
  op operand #0 must be tensor of ...").

Activation ranges are the exponential moving average of each training batch's
min/max (0 always included), starting from the first training batch or from
calibration data; at inference the stored range is used.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .._quiet import import_tensorflow
from ..errors import InvalidInputError, InvalidModelError
from ..models import keras_compat
from ..models.keras_graph import LayerCall, LayerGraph, TensorKey, clone_layer, layer_graph

tf = import_tensorflow()

NUM_BITS = 8
#: The range an activation quantizer uses before calibration or its first training batch (tfmot's default).
INITIAL_RANGE = (-6.0, 6.0)
#: TFLite's fixed int8 output ranges: LOGISTIC and SOFTMAX scale 1/256, zero point -128; TANH scale 1/128, zero point 0.
FIXED_OUTPUT_RANGES = {"sigmoid": (0.0, 255.0 / 256.0), "softmax": (0.0, 255.0 / 256.0), "tanh": (-1.0, 127.0 / 128.0)}
#: Activations TFLite fuses into CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB and MUL.
FUSABLE_ACTIVATIONS = ("relu", "relu6")
_NO_ACTIVATION = ("linear", None)
#: A channel's weight range is at least this fraction of the layer's largest, so an all-zero channel (a folded
#: BatchNormalization with gamma 0) keeps a scale its int32 bias can be expressed in.
_MIN_RELATIVE_WEIGHT_RANGE = 1e-3
_CALIBRATION_BATCH = 256

LEARNED, FIXED, NONE = "learned", "fixed", "none"


# --- the fake-quant arithmetic ---------------------------------------------------------------------


def fake_quant_weights(kernel, *, per_channel: bool, num_bits: int = NUM_BITS):
    """Symmetric narrow-range fake quant of a kernel ([-127, 127] at 8 bits), per output channel (last axis)
    or per tensor.

    The range is the kernel's current max |value|, so it follows the weights as
    they train; no gradient flows through the range (straight-through estimator).
    """
    magnitude = tf.abs(kernel)
    if per_channel:
        limit = tf.reduce_max(magnitude, axis=list(range(len(kernel.shape) - 1)))
        limit = tf.maximum(limit, _MIN_RELATIVE_WEIGHT_RANGE * tf.reduce_max(limit))
        limit = tf.stop_gradient(tf.maximum(limit, 1e-12))
        return tf.quantization.fake_quant_with_min_max_vars_per_channel(
            kernel, -limit, limit, num_bits=num_bits, narrow_range=True
        )
    limit = tf.stop_gradient(tf.maximum(tf.reduce_max(magnitude), 1e-12))
    return tf.quantization.fake_quant_with_min_max_vars(kernel, -limit, limit, num_bits=num_bits, narrow_range=True)


def fake_quant_depthwise_kernel(kernel, *, per_channel: bool, num_bits: int = NUM_BITS):
    """Fake quant of a (kh, kw, in, multiplier) depthwise kernel with one scale per output channel (in * multiplier)."""
    if not per_channel:
        return fake_quant_weights(kernel, per_channel=False, num_bits=num_bits)
    height, width, channels, multiplier = kernel.shape
    flat = tf.reshape(kernel, (height, width, 1, channels * multiplier))  # TFLite's layout: one channel per column
    return tf.reshape(fake_quant_weights(flat, per_channel=True, num_bits=num_bits), kernel.shape)


def fake_quant_fixed(x, value_range: Tuple[float, float], num_bits: int = NUM_BITS):
    """Fake quant to a fixed range (TFLite's fixed output ranges of LOGISTIC, TANH, SOFTMAX)."""
    return tf.quantization.fake_quant_with_min_max_args(x, min=value_range[0], max=value_range[1], num_bits=num_bits)


def channel_affine(x, scale, offset, *, per_channel: bool, num_bits: int = NUM_BITS):
    """``x * scale + offset`` along the last axis as a 1x1 depthwise convolution with fake-quantized factors.

    TFLite runs it as one int8 DEPTHWISE_CONV_2D: the factors are its weights
    (per channel each is exactly representable) and the offsets its int32 bias.
    Inputs of rank 2, 3 or 4 (channels last).
    """
    channels = x.shape[-1]
    rank = len(x.shape)
    weights = fake_quant_weights(tf.reshape(scale, (1, 1, 1, channels)), per_channel=per_channel, num_bits=num_bits)
    kernel = tf.reshape(weights, (1, 1, channels, 1))
    if rank == 4:
        grid = x
    elif rank == 3:
        grid = tf.expand_dims(x, 1)
    else:
        grid = tf.reshape(x, (-1, 1, 1, channels))
    y = tf.nn.depthwise_conv2d(grid, kernel, (1, 1, 1, 1), "VALID") + offset
    if rank == 4:
        return y
    return tf.squeeze(y, 1) if rank == 3 else tf.reshape(y, (-1, channels))


def _static_bool(value: Any) -> bool:
    if value is None:
        return False
    static = tf.get_static_value(value)
    return bool(static) if static is not None else False


# --- activation ranges ----------------------------------------------------------------------------------


class ActivationRange:
    """One learned activation range: ``min``/``max``/``initialised`` variables owned by a Keras layer.

    Training batches update the range as an EMA of their min/max (the first one
    sets it); inference uses it as stored. In calibration mode (see
    :func:`calibrate`) it records the min/max of everything it sees and lets
    values through unquantized, like TFLite's calibrator.
    """

    def __init__(self, host: Any, prefix: str, keras_module: Any, ema_decay: float, num_bits: int = NUM_BITS):
        def scalar(name, initializer):
            return host.add_weight(name=f"{prefix}{name}", shape=(), initializer=initializer, trainable=False)

        constant = keras_module.initializers.Constant
        self.host, self.ema_decay, self.num_bits = host, ema_decay, num_bits
        self.min = scalar("min", constant(INITIAL_RANGE[0]))
        self.max = scalar("max", constant(INITIAL_RANGE[1]))
        self.initialised = scalar("initialised", "zeros")

    def __call__(self, x, training: Any = None):
        calibrating = getattr(self.host, "_fake_quant_calibrating", False)
        if not calibrating and not _static_bool(training):
            return tf.quantization.fake_quant_with_min_max_vars(x, self.min, self.max, num_bits=self.num_bits)
        batch_min = tf.minimum(tf.reduce_min(x), 0.0)  # TFLite ranges always hold 0
        batch_max = tf.maximum(tf.reduce_max(x), 0.0)
        known = self.initialised > 0
        if calibrating:
            new_min, new_max = tf.minimum(self.min, batch_min), tf.maximum(self.max, batch_max)
        else:
            decay = self.ema_decay
            new_min = decay * self.min + (1.0 - decay) * batch_min
            new_max = decay * self.max + (1.0 - decay) * batch_max
        new_min, new_max = tf.where(known, new_min, batch_min), tf.where(known, new_max, batch_max)
        self.min.assign(new_min)
        self.max.assign(new_max)
        self.initialised.assign(1.0)
        if calibrating:
            return x
        return tf.quantization.fake_quant_with_min_max_vars(
            x, tf.stop_gradient(new_min), tf.stop_gradient(new_max), num_bits=self.num_bits
        )


@dataclass
class QuantizerSettings:
    """How one fake-quant layer quantizes (stored in its config under ``"fake_quant"``).

    Attributes:
        output: ``"learned"`` (EMA range), ``"fixed"`` (``fixed_range``) or ``"none"``
            (a later layer quantizes this output: the ReLU fused into it, or a Concatenate).
        fixed_range: the fixed output range, for ``output="fixed"``.
        pre_activation: also quantize before the layer's own activation (sigmoid, tanh, gelu...),
            which TFLite runs as a separate op.
        per_channel: weights per output channel (convolutions) rather than per tensor.
        ema_decay: decay of the moving average of the activation ranges.
        num_bits: 8 (the only width TFLite's int8 kernels take).
    """

    output: str = LEARNED
    fixed_range: Optional[Tuple[float, float]] = None
    pre_activation: bool = False
    per_channel: bool = True
    ema_decay: float = 0.999
    num_bits: int = NUM_BITS

    def to_config(self) -> Dict[str, Any]:
        config = dict(self.__dict__)
        config["fixed_range"] = list(self.fixed_range) if self.fixed_range is not None else None
        return config

    @classmethod
    def from_config(cls, config: Optional[Dict[str, Any]]) -> "QuantizerSettings":
        config = dict(config or {})
        if config.get("fixed_range") is not None:
            config["fixed_range"] = tuple(float(v) for v in config["fixed_range"])
        return cls(**config)

    def describe_output(self) -> str:
        if self.output == FIXED:
            low, high = self.fixed_range
            return f"fixed [{low:.4g}, {high:.4g}] (TFLite's own output range)"
        if self.output == NONE:
            return "quantized by its consumer"
        return "range learned (EMA)"


# --- the layers ---------------------------------------------------------------------------------------------------


@dataclass
class FakeQuantLayers:
    """The fake-quant layer classes of one Keras flavour (Keras 3 or tf-keras)."""

    keras: Any
    mixin: type
    fake_quant: type
    conv1d: type
    conv2d: type
    depthwise_conv2d: type
    dense: type
    batch_normalization: type
    rescaling: type
    average: type
    _output_quantized: Dict[type, type] = field(default_factory=dict)

    def output_quantized(self, base: type) -> type:
        """A subclass of the Keras layer class ``base`` whose output goes through an activation quantizer."""
        if base not in self._output_quantized:
            self._output_quantized[base] = _register(
                self.keras, _make_output_quantized(self.mixin, base), f"FakeQuant{base.__name__}"
            )
        return self._output_quantized[base]

    def all_classes(self) -> Tuple[type, ...]:
        fixed = (self.fake_quant, self.conv1d, self.conv2d, self.depthwise_conv2d, self.dense,
                 self.batch_normalization, self.rescaling, self.average)
        return fixed + tuple(self._output_quantized.values())


@functools.lru_cache(maxsize=None)
def fake_quant_layers(flavour: str) -> FakeQuantLayers:
    """The fake-quant layer classes for ``"keras3"`` or ``"tf_keras"`` (built once, registered for saving)."""
    K = keras_compat.keras_module(flavour)
    mixin = _settings_mixin(K, keras3=flavour == keras_compat.KERAS3)

    class FakeQuant(mixin, K.layers.Layer):
        """Fake-quantizes its input: a learned (EMA) or fixed range. Used after model inputs and float layers."""

        def build(self, input_shape):
            if self.fake_quant.output == LEARNED:
                self.output_range = ActivationRange(self, "", K, self.fake_quant.ema_decay, self.fake_quant.num_bits)
            super().build(input_shape)

        def call(self, inputs, training=None):
            return self.quantize_output(inputs, training)

        def compute_output_shape(self, input_shape):
            return input_shape

    class FakeQuantConv2D(mixin, K.layers.Conv2D):
        """Conv2D with fake-quantized weights (per channel) and output."""

        def call(self, inputs, training=None):
            kernel = fake_quant_weights(self.kernel, per_channel=self.fake_quant.per_channel,
                                        num_bits=self.fake_quant.num_bits)
            y = tf.nn.conv2d(inputs, kernel, (1, *self.strides, 1), self.padding.upper(),
                             dilations=(1, *self.dilation_rate, 1))
            return self.finish(y, training)

    class FakeQuantConv1D(mixin, K.layers.Conv1D):
        """Conv1D with fake-quantized weights and output; runs as a Conv2D on a (1, k, in, out) kernel."""

        def call(self, inputs, training=None):
            padding = self.padding
            if padding == "causal":
                reach = self.dilation_rate[0] * (self.kernel_size[0] - 1)
                inputs = tf.pad(inputs, ((0, 0), (reach, 0), (0, 0)))
                padding = "valid"
            kernel = fake_quant_weights(tf.expand_dims(self.kernel, 0), per_channel=self.fake_quant.per_channel,
                                        num_bits=self.fake_quant.num_bits)
            y = tf.nn.conv2d(tf.expand_dims(inputs, 1), kernel, (1, 1, self.strides[0], 1), padding.upper(),
                             dilations=(1, 1, self.dilation_rate[0], 1))
            return self.finish(tf.squeeze(y, 1), training)

    class FakeQuantDepthwiseConv2D(mixin, K.layers.DepthwiseConv2D):
        """DepthwiseConv2D with fake-quantized weights (one scale per output channel) and output."""

        def call(self, inputs, training=None):
            kernel = self.kernel if hasattr(self, "kernel") else self.depthwise_kernel  # Keras 3 / tf-keras
            kernel = fake_quant_depthwise_kernel(kernel, per_channel=self.fake_quant.per_channel,
                                                 num_bits=self.fake_quant.num_bits)
            y = tf.nn.depthwise_conv2d(inputs, kernel, (1, *self.strides, 1), self.padding.upper(),
                                       dilations=tuple(self.dilation_rate))
            return self.finish(y, training)

    class FakeQuantDense(mixin, K.layers.Dense):
        """Dense with fake-quantized weights (per tensor: see the module notes) and output."""

        def call(self, inputs, training=None):
            kernel = fake_quant_weights(self.kernel, per_channel=False, num_bits=self.fake_quant.num_bits)
            return self.finish(tf.matmul(inputs, kernel), training)

    class FakeQuantBatchNormalization(mixin, K.layers.BatchNormalization):
        """BatchNormalization that infers as one int8 1x1 depthwise convolution (factors and offsets of its
        moving statistics); training still normalizes with batch statistics. Its output is fake-quantized."""

        def call(self, inputs, training=None, mask=None):
            if _static_bool(training) and self.trainable and not self._fake_quant_calibrating:
                y = super().call(inputs, training=True)
            else:
                variance = tf.convert_to_tensor(self.moving_variance)
                factor = tf.math.rsqrt(variance + self.epsilon)
                if self.gamma is not None:
                    factor = factor * tf.convert_to_tensor(self.gamma)
                offset = -tf.convert_to_tensor(self.moving_mean) * factor
                if self.beta is not None:
                    offset = offset + tf.convert_to_tensor(self.beta)
                y = channel_affine(inputs, factor, offset, per_channel=self.fake_quant.per_channel,
                                   num_bits=self.fake_quant.num_bits)
            return self.quantize_output(y, training)

    class FakeQuantRescaling(mixin, K.layers.Rescaling):
        """Rescaling as one int8 1x1 depthwise convolution (exact factors), output fake-quantized."""

        def call(self, inputs, training=None):
            inputs = tf.cast(inputs, tf.float32)
            channels = inputs.shape[-1]
            scale = tf.broadcast_to(tf.constant(self.scale, tf.float32), (channels,))
            offset = tf.broadcast_to(tf.constant(self.offset, tf.float32), (channels,))
            y = channel_affine(inputs, scale, offset, per_channel=self.fake_quant.per_channel,
                               num_bits=self.fake_quant.num_bits)
            return self.quantize_output(y, training)

    class FakeQuantAverage(mixin, K.layers.Average):
        """Average as ADD (its sum's range learned) then MUL by a fake-quantized 1/n; output fake-quantized."""

        def build(self, input_shape):
            self.sum_range = ActivationRange(self, "sum_", K, self.fake_quant.ema_decay, self.fake_quant.num_bits)
            super().build(input_shape)

        def call(self, inputs, training=None):
            total = functools.reduce(tf.add, list(inputs))  # ADD has an int8 kernel, ADD_N does not
            total = self.sum_range(total, training)
            weight = tf.constant(1.0 / len(inputs), tf.float32)
            weight = tf.quantization.fake_quant_with_min_max_vars(weight, 0.0, weight,
                                                                  num_bits=self.fake_quant.num_bits)
            return self.quantize_output(total * weight, training)

    classes = {
        "fake_quant": FakeQuant, "conv1d": FakeQuantConv1D, "conv2d": FakeQuantConv2D,
        "depthwise_conv2d": FakeQuantDepthwiseConv2D, "dense": FakeQuantDense,
        "batch_normalization": FakeQuantBatchNormalization, "rescaling": FakeQuantRescaling,
        "average": FakeQuantAverage,
    }
    for cls in classes.values():
        cls.__qualname__ = cls.__name__
        _register(K, cls, cls.__name__)
    layers = FakeQuantLayers(K, mixin, **classes)
    for name in OUTPUT_QUANTIZED:  # registered now, so a saved fake-quant model loads in a fresh process
        if hasattr(K.layers, name):
            layers.output_quantized(getattr(K.layers, name))
    return layers


def _settings_mixin(K: Any, keras3: bool) -> type:
    """What every fake-quant layer shares: its settings, its output range, activation handling, calibration."""

    class FakeQuantSettingsMixin:
        def __init__(self, *args, fake_quant: Optional[Dict[str, Any]] = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.fake_quant = QuantizerSettings.from_config(fake_quant)
            self._fake_quant_calibrating = False

        def get_config(self):
            config = super().get_config()
            config["fake_quant"] = self.fake_quant.to_config()
            return config

        if keras3:
            # Keras 3's Conv and Dense save their kernel and bias only; save every variable, ranges included.
            def save_own_variables(self, store):
                for index, variable in enumerate(self._trainable_variables + self._non_trainable_variables):
                    store[str(index)] = variable

            def load_own_variables(self, store):
                variables = self._trainable_variables + self._non_trainable_variables
                if len(store.keys()) != len(variables):
                    raise ValueError(f"layer '{self.name}' expects {len(variables)} variables, the file has "
                                     f"{len(store.keys())}")
                for index, variable in enumerate(variables):
                    variable.assign(store[str(index)])

        def build(self, input_shape):
            settings = self.fake_quant
            if settings.pre_activation and not hasattr(self, "pre_activation_range"):
                self.pre_activation_range = ActivationRange(self, "pre_activation_", K, settings.ema_decay,
                                                            settings.num_bits)
            if settings.output == LEARNED and not hasattr(self, "output_range"):
                self.output_range = ActivationRange(self, "output_", K, settings.ema_decay, settings.num_bits)
            super().build(input_shape)

        def quantize_output(self, y, training):
            settings = self.fake_quant
            if settings.output == LEARNED:
                return self.output_range(y, training)
            if settings.output == FIXED and not self._fake_quant_calibrating:
                return fake_quant_fixed(y, settings.fixed_range, settings.num_bits)
            return y

        def finish(self, y, training):
            """Bias, activation (with its pre-activation quantizer) and the output quantizer of a weighted layer."""
            if self.use_bias:
                y = y + self.bias
            if self.fake_quant.pre_activation:
                y = self.pre_activation_range(y, training)
            if self.activation is not None:
                y = self.activation(y)
            return self.quantize_output(y, training)

    return FakeQuantSettingsMixin


def _make_output_quantized(mixin: type, base: type) -> type:
    """``base`` with its output fake-quantized (Add, Concatenate, ReLU, pooling, upsampling...)."""
    accepted = inspect.signature(base.call).parameters
    passes_training = "training" in accepted

    # Keras passes ``mask`` to a call that names it, so name it only where the base layer takes it.
    if "mask" in accepted:
        def call(self, inputs, training=None, mask=None):
            extra = {"training": training} if passes_training else {}
            if mask is not None:
                extra["mask"] = mask
            return self.quantize_output(base.call(self, inputs, **extra), training)
    else:
        def call(self, inputs, training=None):
            extra = {"training": training} if passes_training else {}
            return self.quantize_output(base.call(self, inputs, **extra), training)

    return type(f"FakeQuant{base.__name__}", (mixin, base), {
        "call": call, "__doc__": f"{base.__name__} whose output is fake-quantized (learned or fixed range).",
    })


def _register(K: Any, cls: type, name: str) -> type:
    saving = getattr(K, "saving", None)
    register = getattr(saving, "register_keras_serializable", None) or K.utils.register_keras_serializable
    return register(package="tflite_fixups", name=name)(cls)


# --- planning -----------------------------------------------------------------------------------------------


#: Keras layers rebuilt with fake-quantized weights.
WEIGHTED = ("Conv1D", "Conv2D", "DepthwiseConv2D", "Dense")
#: Keras layers kept as they are, with their output fake-quantized.
OUTPUT_QUANTIZED = (
    "Add", "Subtract", "Multiply", "Maximum", "Minimum", "Concatenate", "ReLU", "LeakyReLU", "ELU", "Softmax",
    "Activation", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "UpSampling1D", "UpSampling2D",
)
#: Keras layers TFLite runs in int8 with their input's scale: nothing to add.
PASS_THROUGH = (
    "MaxPooling1D", "MaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Flatten", "Reshape", "Dropout",
    "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "Permute", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "Identity",
    "RepeatVector",
)
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


# --- calibration and inspection -------------------------------------------------------------------------


def activation_ranges(model: Any) -> Dict[str, Tuple[float, float]]:
    """Every learned activation range of a fake-quant model: ``"layer/output"`` (or ``/pre_activation``,
    ``/sum``) -> ``(min, max)``. Ranges not yet set by calibration or training are left out.

    Example:
        >>> activation_ranges(qat_model)["conv1/output"]  # doctest: +SKIP
        (0.0, 5.91)
    """
    found = {}
    for layer in keras_compat.model_layers(model):
        for attribute, label in (("output_range", "output"), ("pre_activation_range", "pre_activation"),
                                 ("sum_range", "sum")):
            tracked = getattr(layer, attribute, None)
            if isinstance(tracked, ActivationRange) and float(tracked.initialised.numpy()) > 0:
                found[f"{layer.name}/{label}"] = (float(tracked.min.numpy()), float(tracked.max.numpy()))
    return found


def calibrate(model: Any, data: Any) -> int:
    """Set every learned activation range of a fake-quant ``model`` to the min/max it sees on ``data``.

    ``data``: one batch (array, list in input order, dict by input name), a
    ``tf.data.Dataset`` or an iterable of batches (``(x, y)`` tuples are fine:
    ``x`` is used). Activations pass through unquantized while calibrating,
    like TFLite's own calibration. Returns the number of batches run.

    Example:
        >>> calibrate(fake_quant_model, x_train[:512])  # doctest: +SKIP
        2
    """
    hosts = [layer for layer in keras_compat.model_layers(model) if hasattr(layer, "_fake_quant_calibrating")]
    if not hosts:
        raise InvalidInputError("calibrate needs a fake-quant model (from tff.passes.insert_fake_quant)")
    count = 0
    for layer in hosts:
        layer._fake_quant_calibrating = True
    try:
        for batch in _batches(model, data):
            model(batch, training=False)
            count += 1
    finally:
        for layer in hosts:
            layer._fake_quant_calibrating = False
    if count == 0:
        raise InvalidInputError("calibration_data holds no batch; give at least one batch of real inputs")
    return count


def _batches(model: Any, data: Any) -> Iterable[Any]:
    input_count = len(model.inputs)
    if isinstance(data, tuple):  # (x, y) or (x, y, sample_weight), as model.fit takes them
        data = data[0]
    if isinstance(data, (np.ndarray, tf.Tensor, dict)) or (isinstance(data, list) and input_count > 1):
        yield from _split(data)
        return
    if isinstance(data, tf.data.Dataset):
        data = data.as_numpy_iterator()
    elif callable(data):
        data = data()
    try:
        iterator = iter(data)
    except TypeError:
        raise InvalidInputError(
            f"calibration_data must be an array, a list/dict of arrays, a tf.data.Dataset or an iterable of "
            f"batches, got {type(data).__name__}"
        ) from None
    for element in iterator:
        batch = element[0] if isinstance(element, tuple) else element
        yield from _split(batch)


def _split(batch: Any) -> Iterable[Any]:
    """Large arrays in slices of at most _CALIBRATION_BATCH samples (bounded memory, same ranges)."""
    flat = tf.nest.flatten(batch)
    arrays = [np.asarray(a) for a in flat]
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise InvalidInputError("calibration_data: each batch needs a leading batch axis")
    size = arrays[0].shape[0]
    for start in range(0, size, _CALIBRATION_BATCH):
        parts = [a[start:start + _CALIBRATION_BATCH] for a in arrays]
        parts = [p.astype(np.float32) if np.issubdtype(p.dtype, np.floating) else p for p in parts]
        yield tf.nest.pack_sequence_as(batch, parts)
