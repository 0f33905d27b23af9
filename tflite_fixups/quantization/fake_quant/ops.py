"""The fake-quant arithmetic on tensors, and the learned activation range (an EMA of batch min/max).

Weights: symmetric narrow-range fake quant per output channel or per tensor;
constants of element-wise ops as a 1x1 depthwise convolution; fixed output
ranges; :class:`ActivationRange` for the learned ones. Why each takes the form
it does is in the package notes (:mod:`tflite_fixups.quantization.fake_quant`).
"""

from __future__ import annotations

from typing import Any, Tuple

from ..._quiet import import_tensorflow

tf = import_tensorflow()

NUM_BITS = 8
#: The range an activation quantizer uses before calibration or its first training batch (tfmot's default).
INITIAL_RANGE = (-6.0, 6.0)
#: A channel's weight range is at least this fraction of the layer's largest, so an all-zero channel (a folded
#: BatchNormalization with gamma 0) keeps a scale its int32 bias can be expressed in.
_MIN_RELATIVE_WEIGHT_RANGE = 1e-3


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
