"""The Keras fake-quant layers: their settings, the layer classes of each Keras flavour, their registration.

The classes are built once per flavour by :func:`fake_quant_layers` and
registered for saving under package ``"tflite_fixups"`` with their class
names (``FakeQuantConv2D``...), so a saved fake-quant model loads again.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from ..._quiet import import_tensorflow
from ...models import keras_compat
from .ops import (
    NUM_BITS,
    ActivationRange,
    _static_bool,
    channel_affine,
    fake_quant_depthwise_kernel,
    fake_quant_fixed,
    fake_quant_weights,
)

tf = import_tensorflow()

LEARNED, FIXED, NONE = "learned", "fixed", "none"

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
