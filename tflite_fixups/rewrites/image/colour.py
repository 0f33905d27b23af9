"""Colour spaces and colour adjustments: RGBToHSV, HSVToRGB, AdjustSaturation, AdjustHue, AdjustContrastv2.

Selects and elementwise arithmetic only. Each rule follows TensorFlow's CPU
kernel semantics (colour-space quirks such as grey pixels, hue wrap-around and
sector ties) and states its float32 error bound, measured by the tests
against TF's kernels.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _float_only, tf


# --- colour spaces --------------------------------------------------------------------------------


def _channels(rgb) -> List:
    """The three colour planes of a [..., 3] tensor."""
    return tf.unstack(rgb, num=3, axis=-1)


def _check_three_channels(node: NodeView) -> None:
    shape = node.input_shapes[0]
    if shape is None or not shape or shape[-1] != 3:
        node.decline(f"{node.op_type} needs a static last dimension of 3, got {shape}")


def _hsv_parts(red, green, blue):
    """TF's RGB -> HSV: hue in [0, 1] (0 for grey), saturation range / value (0 for value <= 0)."""
    value = tf.maximum(red, tf.maximum(green, blue))
    chroma = value - tf.minimum(red, tf.minimum(green, blue))
    positive_value = value > 0.0
    saturation = tf.where(positive_value, chroma / tf.where(positive_value, value, tf.ones_like(value)),
                          tf.zeros_like(value))
    grey = chroma <= 0.0
    norm = (1.0 / tf.where(grey, tf.ones_like(chroma), chroma)) * (1.0 / 6.0)
    hue = tf.where(tf.equal(red, value), norm * (green - blue),
                   tf.where(tf.equal(green, value), norm * (blue - red) + 2.0 / 6.0, norm * (red - green) + 4.0 / 6.0))
    hue = tf.where(grey, tf.zeros_like(hue), hue)
    hue = tf.where(hue < 0.0, hue + 1.0, hue)
    return hue, saturation, value


@rewrite_rule("RGBToHSV", error_bound="1e-6 abs on [0, 1] inputs")
def rgb_to_hsv(node: NodeView, images):
    """TF's hue/saturation/value formulas with selects; hue = saturation = 0 for grey and black pixels."""
    _float_only(node)
    _check_three_channels(node)
    hsv = _hsv_parts(*_channels(tf.cast(images, tf.float32)))
    return tf.cast(tf.stack(hsv, axis=-1), images.dtype)


@rewrite_rule("HSVToRGB", error_bound="1e-6 abs on [0, 1] inputs")
def hsv_to_rgb(node: NodeView, images):
    """Per channel v (1 - s + s f(6h)) with TF's clamped triangle waves f (no branches)."""
    _float_only(node)
    _check_three_channels(node)
    hue, saturation, value = _channels(tf.cast(images, tf.float32))
    sextant = hue * 6.0
    red = tf.clip_by_value(tf.abs(sextant - 3.0) - 1.0, 0.0, 1.0)
    green = tf.clip_by_value(2.0 - tf.abs(sextant - 2.0), 0.0, 1.0)
    blue = tf.clip_by_value(2.0 - tf.abs(sextant - 4.0), 0.0, 1.0)
    rgb = [((1.0 - saturation) + saturation * wave) * value for wave in (red, green, blue)]
    return tf.cast(tf.stack(rgb, axis=-1), images.dtype)


def _scalar_factor(node: NodeView, factor, index: int):
    if node.input_shapes[index] not in ((), None):
        node.decline(f"input {index} of {node.op_type} must be a scalar, got shape {node.input_shapes[index]}")
    return tf.reshape(tf.cast(factor, tf.float32), [])


def _by_sector(sector, per_sector: Sequence[Tuple]) -> List:
    """Red, green, blue chosen by ``sector`` (float 0..5) from ``per_sector[k] = (r, g, b)``; 0 elsewhere."""
    channels = []
    for channel in range(3):
        result = tf.zeros_like(sector)
        for k, values in enumerate(per_sector):
            result = tf.where(tf.equal(sector, float(k)), values[channel], result)
        channels.append(result)
    return channels


@rewrite_rule("AdjustSaturation", error_bound="1e-6 abs on [0, 1] inputs")
def adjust_saturation(node: NodeView, images, scale):
    """HSV round trip with saturation clamp(s * scale, 0, 1), sector by sector like TF's CPU kernel.

    The HSV -> RGB step uses TF's sector form: chroma c = s v, x = c (1 - |6h mod 2 - 1|),
    (c, x, 0), (x, c, 0), ... by sector floor(6h), plus v - c; a hue rounding
    up to exactly 1 falls outside the sectors and gives grey (v - c), like TF.
    """
    _float_only(node)
    _check_three_channels(node)
    factor = _scalar_factor(node, scale, 1)
    hue, saturation, value = _hsv_parts(*_channels(tf.cast(images, tf.float32)))
    saturation = tf.clip_by_value(saturation * factor, 0.0, 1.0)
    chroma = saturation * value
    sextant = hue * 6.0
    sector = tf.floor(sextant)
    ramp = chroma * (1.0 - tf.abs(sextant - 2.0 * tf.floor(sextant * 0.5) - 1.0))
    zero = tf.zeros_like(chroma)
    rgb = _by_sector(sector, [(chroma, ramp, zero), (ramp, chroma, zero), (zero, chroma, ramp),
                              (zero, ramp, chroma), (ramp, zero, chroma), (chroma, zero, ramp)])
    grey = value - chroma
    return tf.cast(tf.stack([c + grey for c in rgb], axis=-1), images.dtype)


@rewrite_rule("AdjustHue", error_bound="1e-6 abs on [0, 1] inputs")
def adjust_hue(node: NodeView, images, delta):
    """Rotate the hue on TF's [0, 6) sector scale, keeping each pixel's min and max channel.

    Like TF's CPU kernel: h = sector + (rising ? ratio : 1 - ratio) from the
    channel order, h += 6 delta wrapped into [0, 6), then the middle channel
    is re-interpolated between min and max in the new sector. Valid for any
    real inputs (not only [0, 1]); grey pixels are unchanged.
    """
    _float_only(node)
    _check_three_channels(node)
    shift = _scalar_factor(node, delta, 1) * 6.0
    red, green, blue = _channels(tf.cast(images, tf.float32))
    # Sector of the hue from the channel order (ties may land on either side, like TF).
    red_below_green = red < green
    top = tf.where(red_below_green, tf.where(blue > green, blue, green), tf.where(blue > red, blue, red))
    bottom = tf.where(red_below_green, tf.where(blue < red, blue, red), tf.where(blue < green, blue, green))
    middle = tf.where(red_below_green, tf.where(blue < red, red, tf.where(blue > green, green, blue)),
                      tf.where(blue < green, green, tf.where(blue > red, red, blue)))
    sector = tf.where(red_below_green, tf.where(blue < red, 1.0, tf.where(blue > green, 3.0, 2.0)),
                      tf.where(blue < green, 0.0, tf.where(blue > red, 4.0, 5.0)))
    spread = top - bottom
    flat = tf.equal(spread, 0.0)
    ratio = (middle - bottom) / tf.where(flat, tf.ones_like(spread), spread)
    rising = tf.equal(tf.math.floormod(sector, 2.0), 0.0)
    hue = tf.where(flat, tf.zeros_like(ratio), sector + tf.where(rising, ratio, 1.0 - ratio))
    hue = hue + shift
    hue = hue - 6.0 * tf.floor(hue / 6.0)
    hue = tf.where(hue < 0.0, hue + 6.0, hue)
    hue = tf.where(hue >= 6.0, hue - 6.0, hue)
    new_sector = tf.floor(hue)
    new_ratio = hue - new_sector
    new_ratio = tf.where(tf.equal(tf.math.floormod(new_sector, 2.0), 0.0), new_ratio, 1.0 - new_ratio)
    new_middle = bottom + new_ratio * spread
    rgb = _by_sector(new_sector, [(top, new_middle, bottom), (new_middle, top, bottom), (bottom, top, new_middle),
                                  (bottom, new_middle, top), (new_middle, bottom, top), (top, bottom, new_middle)])
    return tf.cast(tf.stack(rgb, axis=-1), images.dtype)


@rewrite_rule("AdjustContrastv2", error_bound="1e-6 relative to the value range")
def adjust_contrast(node: NodeView, images, contrast_factor):
    """(x - mean) * factor + mean with the mean over height and width per channel."""
    _float_only(node)
    shape = node.input_shapes[0]
    if shape is None or len(shape) < 3:
        node.decline(f"AdjustContrastv2 needs images of known rank >= 3, got {shape}")
    factor = _scalar_factor(node, contrast_factor, 1)
    pixels = tf.cast(images, tf.float32)
    mean = tf.reduce_mean(pixels, axis=[-3, -2], keepdims=True)
    return tf.cast((pixels - mean) * factor + mean, images.dtype)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from ..cases import RewriteCase, register_case  # noqa: E402


def _colour_samples(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """[0, 1] colours with ties between channels, greys, black and white mixed in."""
    colours = rng.uniform(0, 1, shape).astype(np.float32).reshape(-1, 3)
    quantised = rng.integers(0, 4, colours.shape).astype(np.float32) / 3.0
    colours[::3] = quantised[::3]
    return colours.reshape(shape)


def _colour_edges(shape: Sequence[int]) -> np.ndarray:
    """Black, white, greys, primaries, secondaries, exact ties and a hue that rounds up to 1."""
    special = np.array([[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0],
                        [0, 1, 1], [1, 0, 1], [1, 0, 1e-9], [0.5, 0.5 - 1e-8, 0.5], [0.2, 0.7, 0.7],
                        [0.7, 0.7, 0.2], [1e-30, 0, 0]], np.float32)
    return np.resize(special, (int(np.prod(shape[:-1])), 3)).reshape(shape).astype(np.float32)


_COLOUR_SHAPE = (2, 8, 10, 3)


def _colour_case(name: str, op_type: str, function, extra_specs=(), extra_values=()) -> None:
    register_case(RewriteCase(
        name=f"image_{name}", op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(_COLOUR_SHAPE, tf.float32), *extra_specs],
        make_inputs=lambda rng: [_colour_samples(rng, _COLOUR_SHAPE), *extra_values],
        atol=1e-6, rtol=0.0, edge_inputs=[[_colour_edges(_COLOUR_SHAPE), *extra_values]],
    ))


def _hsv_samples(rng: np.random.Generator) -> List[np.ndarray]:
    hsv = rng.uniform(0, 1, _COLOUR_SHAPE).astype(np.float32)
    hsv.reshape(-1, 3)[:12, 0] = [0, 1, 1 / 6, 2 / 6, 0.5, 4 / 6, 5 / 6, 1 - 1e-7, 1e-9, 0.25, 0.75, 0.999]
    return [hsv]


_colour_case("rgb_to_hsv", "RGBToHSV", tf.image.rgb_to_hsv)
register_case(RewriteCase(
    name="image_hsv_to_rgb", op_type="HSVToRGB", function=tf.image.hsv_to_rgb,
    input_specs=[tf.TensorSpec(_COLOUR_SHAPE, tf.float32)], make_inputs=_hsv_samples, atol=1e-6, rtol=0.0,
    edge_inputs=[[np.zeros(_COLOUR_SHAPE, np.float32)], [np.ones(_COLOUR_SHAPE, np.float32)]],
))
_colour_case("adjust_saturation", "AdjustSaturation", lambda x: tf.image.adjust_saturation(x, 1.7))
_colour_case("adjust_saturation_runtime_factor", "AdjustSaturation", tf.image.adjust_saturation,
             [tf.TensorSpec((), tf.float32)], [np.float32(0.4)])
_colour_case("adjust_hue", "AdjustHue", lambda x: tf.image.adjust_hue(x, 0.3))
_colour_case("adjust_hue_runtime_negative_delta", "AdjustHue", tf.image.adjust_hue,
             [tf.TensorSpec((), tf.float32)], [np.float32(-0.85)])
_colour_case("adjust_contrast", "AdjustContrastv2", lambda x: tf.image.adjust_contrast(x, 1.8))
