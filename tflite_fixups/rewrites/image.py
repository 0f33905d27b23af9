"""Image ops: resampling, patch extraction, colour spaces, crops and morphological dilation.

Resampling ops (ResizeBicubic, ResizeArea, ScaleAndTranslate) are separable:
``out = R . image . C^T`` with an interpolation matrix per spatial axis, applied
as two batched matrix products over reshaped (never transposed) images. The
matrices depend only on the static sizes (NumPy constants), or for
ScaleAndTranslate also on the scale/translation inputs (computed in the graph,
folded to constants by the converter when those inputs are constant).
Everything else is gathers, slices, selects and elementwise arithmetic.

Each rule follows TensorFlow's CPU kernel semantics (pixel-centre conventions,
edge handling, rounding of the bicubic coefficient table, colour-space quirks)
and states its float32 error bound, measured by the tests against TF's kernels.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

_MAX_SIDE = 2048  # resampling: dense interpolation matrices of at most 2048 x 2048 per axis
_MAX_GATHER = 1 << 22  # gather-based rules: at most 4M gathered pixels (a 16 MB index table)
_MAX_DILATION_TAPS = 121  # Dilation2D: unrolled over at most 11 x 11 kernel offsets
_TINY_SUM = 1000.0 * float(np.finfo(np.float32).tiny)  # weight sums below this are not normalised (like TF)

_REAL_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64")


# --- shared helpers -------------------------------------------------------------------------------


def _as_float32(node: NodeView, tensor, index: int = 0):
    """``tensor`` (input ``index`` of ``node``) cast to float32; declines complex and non-numeric types."""
    dtype = node.input_dtypes[index]
    if dtype.name not in _REAL_DTYPES:
        node.decline(f"input {index} of {node.op_type} has dtype {dtype.name}; only real types are rewritten")
    return tf.cast(tensor, tf.float32)


def _float_only(node: NodeView) -> None:
    """Decline anything but float32/float16/bfloat16 images (the types computed in float32 and cast back)."""
    dtype = node.input_dtypes[0]
    if dtype not in (tf.float32, tf.float16, tf.bfloat16):
        node.decline(f"only float32/float16/bfloat16 images are rewritten, got {dtype.name}")


def _image_hwc(node: NodeView) -> Tuple[int, int, int]:
    """Static (height, width, channels) of the NHWC image input 0 (the batch may be unknown)."""
    shape = node.input_shapes[0]
    if shape is None or len(shape) != 4 or any(d is None for d in shape[1:]):
        node.decline(f"{node.op_type} needs an NHWC image with static height, width and channels, got {shape}")
    return shape[1], shape[2], shape[3]  # type: ignore[index,return-value]


def _output_hw(node: NodeView) -> Tuple[int, int]:
    """Static (height, width) of the NHWC output 0, i.e. a constant ``size`` input."""
    shape = node.output_shapes[0]
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        node.decline(f"{node.op_type} needs a constant output size (static output shape), got {shape}")
    return shape[1], shape[2]  # type: ignore[index,return-value]


def _resampling_sizes(node: NodeView) -> Tuple[int, int, int, int, int]:
    """(height, width, channels, out_height, out_width), declining sizes beyond ``_MAX_SIDE``."""
    height, width, channels = _image_hwc(node)
    out_height, out_width = _output_hw(node)
    if max(height, width, out_height, out_width) > _MAX_SIDE:
        node.decline(f"image sides {height}x{width} -> {out_height}x{out_width}: dense interpolation matrices "
                     f"are limited to {_MAX_SIDE} per side")
    if min(height, width, channels, out_height, out_width) == 0:
        node.decline("empty images are left to TensorFlow")
    return height, width, channels, out_height, out_width


def _resize_scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    """TF's input/output coordinate ratio, in float32 (align_corners needs both sizes > 1)."""
    if align_corners and in_size > 1 and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def _apply_separable(image, rows, cols, out_height: int, out_width: int):
    """``rows . image . cols^T`` per batch and channel: [B, H, W, C] -> [B, out_height, out_width, C].

    ``rows`` is [out_height, H], ``cols`` [out_width, W] (NumPy or tensors). Two
    batched matmuls on reshaped views; no transposes.
    """
    _, height, width, channels = image.shape
    by_rows = tf.matmul(rows, tf.reshape(image, [-1, height, width * channels]))  # [B, Ho, W*C]
    by_cols = tf.matmul(cols, tf.reshape(by_rows, [-1, width, channels]))  # [B*Ho, Wo, C]
    return tf.reshape(by_cols, [-1, out_height, out_width, channels])


def _same_or_valid(node: NodeView, size: int, kernel: int, stride: int, rate: int) -> Tuple[int, int]:
    """(output size, padding before) along one axis for the node's ``padding`` attribute."""
    padding = node.attrs["padding"]
    padding = padding.decode() if isinstance(padding, bytes) else padding
    effective = (kernel - 1) * rate + 1
    if padding == "VALID":
        return max(0, (size - effective) // stride + 1), 0
    if padding != "SAME":
        node.decline(f"padding {padding!r} is not rewritten")
    out = -(-size // stride)
    return out, max(0, (out - 1) * stride + effective - size) // 2


def _window_attr(node: NodeView, name: str) -> Tuple[int, int]:
    """The (height, width) entries of an NHWC window attribute such as ``strides``; declines batch/depth windows."""
    values = list(node.attrs[name])
    if len(values) != 4 or values[0] != 1 or values[3] != 1:
        node.decline(f"{name}={values}: only windows over height and width are rewritten")
    return values[1], values[2]


# --- ResizeBicubic --------------------------------------------------------------------------------

_BICUBIC_TABLE_SIZE = 1024  # TF quantises the fractional position to 1/1024 (its coefficient table)


def _keys_cubic(distance: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a`` at ``|distance| <= 2``."""
    t = np.abs(distance)
    near = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    far = ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return np.where(t <= 1.0, near, far)


def _bicubic_matrix(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """[out_size, in_size] float32 weights of TF's ResizeBicubic along one axis.

    Four taps around ``floor(position)``; ``a = -0.5`` with out-of-image taps
    dropped and the rest renormalised (half-pixel centres), or ``a = -0.75``
    with taps clamped to the edge (legacy mode).
    """
    scale = _resize_scale(in_size, out_size, align_corners)
    out = np.arange(out_size, dtype=np.float32)
    position = (out + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel_centers else out * scale
    base = np.floor(position)
    delta = np.rint((position - base) * np.float32(_BICUBIC_TABLE_SIZE)) / _BICUBIC_TABLE_SIZE
    offsets = np.arange(-1, 3)
    weights = _keys_cubic(offsets[None, :] - delta[:, None], -0.5 if half_pixel_centers else -0.75).astype(np.float32)
    taps = base.astype(np.int64)[:, None] + offsets[None, :]
    clamped = np.clip(taps, 0, in_size - 1)
    if half_pixel_centers:
        weights = np.where(clamped == taps, weights, np.float32(0))
        total = weights.sum(axis=1, dtype=np.float32, keepdims=True)
        weights = np.where(np.abs(total) >= _TINY_SUM, weights * (np.float32(1) / total), weights)
    matrix = np.zeros((out_size, in_size), np.float32)
    np.add.at(matrix, (np.repeat(np.arange(out_size), 4), clamped.ravel()), weights.ravel())
    return matrix


@rewrite_rule("ResizeBicubic", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}")
def resize_bicubic(node: NodeView, images, size):
    """Separable bicubic resampling as two matmuls with constant [out, in] weight matrices.

    Reproduces TF's kernel: Keys cubic with a = -0.5 and renormalised edge taps
    for ``half_pixel_centers``, a = -0.75 with clamped taps otherwise, the
    fractional position rounded to 1/1024 like TF's coefficient table, and
    TF's ``align_corners`` scale. Any real input dtype; output float32.
    Preconditions: static H, W, C and output size, every side <= 2048.
    Error (float32): matmul rounding, measured below 1e-6 of the value range.
    """
    height, width, _, out_height, out_width = _resampling_sizes(node)
    align_corners, half_pixel = bool(node.attrs["align_corners"]), bool(node.attrs["half_pixel_centers"])
    rows = _bicubic_matrix(height, out_height, align_corners, half_pixel)
    cols = _bicubic_matrix(width, out_width, align_corners, half_pixel)
    return _apply_separable(_as_float32(node, images), rows, cols, out_height, out_width)


# --- ResizeArea -----------------------------------------------------------------------------------


def _area_matrix(in_size: int, out_size: int, scale: np.float32) -> np.ndarray:
    """[out_size, in_size] float32 overlaps of output cell [y s, (y + 1) s) with each input pixel.

    Computed like TF (a cell inside one pixel weighs exactly s); overlaps beyond
    the last pixel (align_corners) count for the last pixel.
    """
    matrix = np.zeros((out_size, in_size), np.float32)
    one = np.float32(1)
    for y in range(out_size):
        start, end = np.float32(y) * scale, np.float32(y + 1) * scale
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            pixel = np.float32(i)
            if pixel < start:
                overlap = scale if pixel + one > end else pixel + one - start
            else:
                overlap = end - pixel if pixel + one > end else one
            matrix[y, min(max(i, 0), in_size - 1)] += overlap
    return matrix


@rewrite_rule("ResizeArea", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}")
def resize_area(node: NodeView, images, size):
    """Separable area averaging as two matmuls with constant [out, in] overlap-weight matrices.

    Output pixel y covers input interval [y s, (y + 1) s) with TF's scale s
    (``align_corners`` included); each input pixel weighs its overlap, and the
    sum is divided by the cell area s_h s_w. Any real input dtype; output float32.
    Preconditions: static H, W, C and output size, every side <= 2048.
    Error (float32): matmul rounding, measured below 1e-6 of the value range.
    """
    height, width, _, out_height, out_width = _resampling_sizes(node)
    align_corners = bool(node.attrs["align_corners"])
    row_scale = _resize_scale(height, out_height, align_corners)
    col_scale = _resize_scale(width, out_width, align_corners)
    rows = _area_matrix(height, out_height, row_scale) * np.float32(1.0 / (row_scale * col_scale))
    cols = _area_matrix(width, out_width, col_scale)
    return _apply_separable(_as_float32(node, images), rows, cols, out_height, out_width)


# --- ScaleAndTranslate ----------------------------------------------------------------------------

Kernel = Callable[[object], object]  # |x| (float32 tensor) -> weight


def _lanczos(radius: float) -> Kernel:
    """Lanczos window of ``radius``: radius sin(pi x) sin(pi x / radius) / (pi x)^2, 1 near 0, 0 beyond."""

    def kernel(x):
        safe = tf.maximum(x, 1e-3)
        value = radius * tf.sin(math.pi * safe) * tf.sin(math.pi * safe / radius) / (math.pi ** 2 * safe * safe)
        return tf.where(x > radius, tf.zeros_like(x), tf.where(x <= 1e-3, tf.ones_like(x), value))

    return kernel


def _box(x):
    """1 inside |x| < 0.5, 0.5 exactly at 0.5, 0 beyond."""
    return tf.where(x < 0.5, tf.ones_like(x), tf.where(tf.equal(x, 0.5), tf.fill(tf.shape(x), 0.5), tf.zeros_like(x)))


def _triangle(x):
    """max(1 - |x|, 0) (bilinear)."""
    return tf.maximum(1.0 - x, 0.0)


def _piecewise_cubic(near: Sequence[float], far: Sequence[float]) -> Kernel:
    """Cubic with coefficients ``near`` on [0, 1), ``far`` on [1, 2), zero beyond (highest power first)."""

    def kernel(x):
        def cubic(c):
            return ((c[0] * x + c[1]) * x + c[2]) * x + c[3]

        return tf.where(x >= 2.0, tf.zeros_like(x), tf.where(x >= 1.0, cubic(far), cubic(near)))

    return kernel


def _gaussian(x):
    """exp(-x^2 / (2 sigma^2)) with sigma 0.5, cut off at radius 1.5."""
    sigma = 0.5
    return tf.where(x >= 1.5, tf.zeros_like(x), tf.exp(-x * x / (2.0 * sigma * sigma)))


# kernel_type -> (radius, kernel of |x|); Keys cubic with a = -0.5, Mitchell-Netravali with B = C = 1/3.
_SAMPLING_KERNELS: Dict[str, Tuple[float, Kernel]] = {
    "lanczos1": (1.0, _lanczos(1.0)),
    "lanczos3": (3.0, _lanczos(3.0)),
    "lanczos5": (5.0, _lanczos(5.0)),
    "gaussian": (1.5, _gaussian),
    "box": (1.0, _box),
    "triangle": (1.0, _triangle),
    "keyscubic": (2.0, _piecewise_cubic([1.5, -2.5, 0.0, 1.0], [-0.5, 2.5, -4.0, 2.0])),
    "mitchellcubic": (2.0, _piecewise_cubic([7.0 / 6.0, -2.0, 0.0, 8.0 / 9.0],
                                            [-7.0 / 18.0, 2.0, -10.0 / 3.0, 16.0 / 9.0])),
}


def _sampling_matrix(kernel_type: str, antialias: bool, in_size: int, out_size: int, scale, translation):
    """[out_size, in_size] weights of ScaleAndTranslate along one axis, built in the graph.

    Output pixel x samples input position p = (x + 0.5) / scale - translation / scale;
    positions outside [0, in_size] give zero rows. Input pixels whose centre lies
    within the kernel radius (times 1/scale when antialiasing a downscale) weigh
    kernel(distance / kernel_scale); each row is normalised to sum 1.
    """
    radius, kernel = _SAMPLING_KERNELS[kernel_type]
    inverse_scale = 1.0 / scale
    inverse_translation = -inverse_scale * translation
    kernel_scale = tf.maximum(inverse_scale, 1.0) if antialias else tf.constant(1.0)
    reach = radius * kernel_scale
    sample = tf.constant(np.arange(out_size, dtype=np.float32)[:, None] + 0.5) * inverse_scale + inverse_translation
    source = tf.constant(np.arange(in_size, dtype=np.float32)[None, :])
    first = tf.clip_by_value(tf.math.ceil(sample - reach - 0.5), 0.0, in_size - 1.0)
    last = tf.clip_by_value(tf.floor(sample + reach - 0.5), 0.0, in_size - 1.0)
    inside = tf.logical_and(tf.logical_and(source >= first, source <= last),
                            tf.logical_and(sample >= 0.0, sample <= float(in_size)))
    distance = tf.abs((source + 0.5 - sample) * (1.0 / kernel_scale))
    weights = tf.where(inside, kernel(distance), tf.zeros_like(distance))
    total = tf.reduce_sum(weights, axis=1, keepdims=True)
    usable = tf.abs(total) >= _TINY_SUM
    return tf.where(usable, weights * (1.0 / tf.where(usable, total, tf.ones_like(total))), weights)


@rewrite_rule("ScaleAndTranslate", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}")
def scale_and_translate(node: NodeView, images, size, scale, translation):
    """Separable resampling (lanczos, gaussian, Keys/Mitchell cubic, box, triangle) as two matmuls.

    The [out, in] weight matrices are computed in the graph from ``scale`` and
    ``translation`` (constant-folded by the converter when those are constant,
    e.g. under tf.image.resize; evaluated at run time otherwise), following TF:
    sample position (x + 0.5 - t) / s, kernel stretched by max(1/s, 1) when
    ``antialias``, taps within the kernel radius, rows normalised to sum 1,
    zero rows for samples outside the image. Any real input dtype; output float32.
    Preconditions: static H, W, C and output size (constant ``size``), every side <= 2048.
    Error (float32): weight and matmul rounding, measured below 1e-6 of the value range.
    """
    height, width, _, out_height, out_width = _resampling_sizes(node)
    kernel_type = node.attrs["kernel_type"]
    kernel_type = kernel_type.decode() if isinstance(kernel_type, bytes) else kernel_type
    if kernel_type not in _SAMPLING_KERNELS:
        node.decline(f"unknown kernel_type {kernel_type!r}")
    antialias = bool(node.attrs["antialias"])
    scale, translation = tf.cast(scale, tf.float32), tf.cast(translation, tf.float32)
    rows = _sampling_matrix(kernel_type, antialias, height, out_height, scale[0], translation[0])
    cols = _sampling_matrix(kernel_type, antialias, width, out_width, scale[1], translation[1])
    return _apply_separable(_as_float32(node, images), rows, cols, out_height, out_width)


# --- ExtractImagePatches --------------------------------------------------------------------------

_GATHER_DTYPES = ("float32", "int8", "uint8", "int16", "int32", "int64", "bool")


@rewrite_rule("ExtractImagePatches", error_bound="exact",
              limits=f"static H, W, C; at most {_MAX_GATHER} gathered pixels (out_h * out_w * k_h * k_w)")
def extract_image_patches(node: NodeView, images):
    """One gather of the (zero-padded) pixels with a constant index table, reshaped to TF's patch layout.

    Output depth is ordered (kernel row, kernel column, channel) like TF.
    Exact (a copy) for every value, NaN and Inf included. float16/bfloat16
    are gathered as float32 (exact round trip); float64 and complex decline.
    Preconditions: static height, width, channels; out_h * out_w * k_h * k_w <= 4M.
    """
    height, width, channels = _image_hwc(node)
    dtype = node.input_dtypes[0]
    compute_dtype = tf.float32 if dtype in (tf.float16, tf.bfloat16) else dtype
    if compute_dtype.name not in _GATHER_DTYPES:
        node.decline(f"dtype {dtype.name} is not rewritten")
    (kernel_h, kernel_w), (stride_h, stride_w), (rate_h, rate_w) = (
        _window_attr(node, "ksizes"), _window_attr(node, "strides"), _window_attr(node, "rates"))
    out_h, pad_top = _same_or_valid(node, height, kernel_h, stride_h, rate_h)
    out_w, pad_left = _same_or_valid(node, width, kernel_w, stride_w, rate_w)
    count = out_h * out_w * kernel_h * kernel_w
    if count == 0 or count > _MAX_GATHER:
        node.decline(f"{count} gathered pixels: the limit is 1..{_MAX_GATHER}")
    padded_h = max(height + pad_top, (out_h - 1) * stride_h + (kernel_h - 1) * rate_h + 1)
    padded_w = max(width + pad_left, (out_w - 1) * stride_w + (kernel_w - 1) * rate_w + 1)
    rows = (np.arange(out_h) * stride_h)[:, None, None, None] + (np.arange(kernel_h) * rate_h)[None, None, :, None]
    cols = (np.arange(out_w) * stride_w)[None, :, None, None] + (np.arange(kernel_w) * rate_w)[None, None, None, :]
    indices = (rows * padded_w + cols).astype(np.int32).ravel()  # order (out row, out col, kernel row, kernel col)
    pixels = tf.cast(images, compute_dtype)
    pixels = tf.pad(pixels, [[0, 0], [pad_top, padded_h - height - pad_top], [pad_left, padded_w - width - pad_left],
                             [0, 0]])
    gathered = tf.gather(tf.reshape(pixels, [-1, padded_h * padded_w, channels]), indices, axis=1)
    patches = tf.reshape(gathered, [-1, out_h, out_w, kernel_h * kernel_w * channels])
    return tf.cast(patches, dtype)


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


# --- CropAndResize --------------------------------------------------------------------------------


def _crop_positions(start, end, in_size: int, out_size: int):
    """Sampling positions [N, out_size] of TF's CropAndResize along one axis (float32)."""
    if out_size > 1:
        step = (end - start) * float(in_size - 1) / float(out_size - 1)
        return start * float(in_size - 1) + tf.constant(np.arange(out_size, dtype=np.float32)) * step
    return 0.5 * (start + end) * float(in_size - 1)


@rewrite_rule("CropAndResize", error_bound="1e-6 relative to the value range",
              limits=f"static image, box count and crop size; at most {_MAX_GATHER} output pixels per corner")
def crop_and_resize(node: NodeView, image, boxes, box_ind, crop_size):
    """Gather the two (nearest: one) neighbouring rows/columns of every crop position and interpolate.

    Box (y1, x1, y2, x2) in normalised coordinates samples y1 (H - 1) + i (y2 - y1) (H - 1) / (h - 1)
    (the box centre when the crop is 1 high), like TF; samples outside the
    image take ``extrapolation_value``. Bilinear: TF's lerp order; nearest:
    round half away from zero. Any real image dtype; output float32.
    Preconditions: static H, W, C, number of boxes and crop size.
    """
    height, width, channels = _image_hwc(node)
    box_count = node.static_shape(1)[0]
    out_shape = node.output_shapes[0]
    if out_shape is None or out_shape[1] is None or out_shape[2] is None:
        node.decline("CropAndResize needs a constant crop_size")
    crop_h, crop_w = out_shape[1], out_shape[2]
    if box_count * crop_h * crop_w > _MAX_GATHER or min(box_count, crop_h, crop_w, height, width) == 0:
        node.decline(f"{box_count} crops of {crop_h}x{crop_w}: limit 1..{_MAX_GATHER} output pixels")
    method = node.attrs["method"]
    method = method.decode() if isinstance(method, bytes) else method
    if method not in ("bilinear", "nearest"):
        node.decline(f"method {method!r} is not rewritten")
    pixels = tf.reshape(_as_float32(node, image), [-1, channels])
    boxes = tf.cast(boxes, tf.float32)
    y = _crop_positions(boxes[:, 0:1], boxes[:, 2:3], height, crop_h)  # [N, crop_h]
    x = _crop_positions(boxes[:, 1:2], boxes[:, 3:4], width, crop_w)  # [N, crop_w]
    y = tf.broadcast_to(y, [box_count, crop_h])
    x = tf.broadcast_to(x, [box_count, crop_w])
    valid = tf.logical_and(
        tf.logical_and(y >= 0.0, y <= height - 1.0)[:, :, None],
        tf.logical_and(x >= 0.0, x <= width - 1.0)[:, None, :])[..., None]  # [N, crop_h, crop_w, 1]
    base = (tf.cast(box_ind, tf.int32) * (height * width))[:, None, None]

    def index(rows, cols):
        # Clamped in float: an int32 clip to [0, 6] would be fused into RELU6, which has no int32 kernel.
        rows = tf.cast(tf.clip_by_value(rows, 0.0, height - 1.0), tf.int32)
        cols = tf.cast(tf.clip_by_value(cols, 0.0, width - 1.0), tf.int32)
        return base + rows[:, :, None] * width + cols[:, None, :]

    if method == "nearest":
        nearest_y, nearest_x = tf.floor(y), tf.floor(x)
        nearest_y = nearest_y + tf.cast(y - nearest_y >= 0.5, tf.float32)
        nearest_x = nearest_x + tf.cast(x - nearest_x >= 0.5, tf.float32)
        crops = tf.gather(pixels, index(nearest_y, nearest_x))
    else:
        top, bottom = tf.floor(y), tf.math.ceil(y)
        left, right = tf.floor(x), tf.math.ceil(x)
        y_lerp = (y - top)[:, :, None, None]
        x_lerp = (x - left)[:, None, :, None]
        top_left, top_right = tf.gather(pixels, index(top, left)), tf.gather(pixels, index(top, right))
        bottom_left, bottom_right = tf.gather(pixels, index(bottom, left)), tf.gather(pixels, index(bottom, right))
        upper = top_left + (top_right - top_left) * x_lerp
        lower = bottom_left + (bottom_right - bottom_left) * x_lerp
        crops = upper + (lower - upper) * y_lerp
    extrapolation = tf.constant(float(node.attrs["extrapolation_value"]), tf.float32)
    return tf.where(valid, crops, extrapolation)


# --- Dilation2D -----------------------------------------------------------------------------------


@rewrite_rule("Dilation2D", error_bound="exact",
              limits=f"static H, W, C and filter; at most {_MAX_DILATION_TAPS} filter taps")
def dilation_2d(node: NodeView, images, filters):
    """Grayscale dilation: running max over the filter taps of shifted input + filter value.

    Unrolled over the static taps with strided slices of the input padded by
    -inf (padding never wins), updated with select(candidate > best) from the
    lowest float, exactly like TF (NaN candidates are skipped).
    Preconditions: static image and filter shapes, k_h * k_w <= 121.
    """
    _float_only(node)
    height, width, channels = _image_hwc(node)
    kernel_h, kernel_w, _ = node.static_shape(1)
    if kernel_h * kernel_w > _MAX_DILATION_TAPS:
        node.decline(f"{kernel_h}x{kernel_w} filter: unrolled dilation is limited to {_MAX_DILATION_TAPS} taps")
    (stride_h, stride_w), (rate_h, rate_w) = _window_attr(node, "strides"), _window_attr(node, "rates")
    out_h, pad_top = _same_or_valid(node, height, kernel_h, stride_h, rate_h)
    out_w, pad_left = _same_or_valid(node, width, kernel_w, stride_w, rate_w)
    if out_h * out_w == 0:
        node.decline("empty output is left to TensorFlow")
    padded_h = max(height + pad_top, (out_h - 1) * stride_h + (kernel_h - 1) * rate_h + 1)
    padded_w = max(width + pad_left, (out_w - 1) * stride_w + (kernel_w - 1) * rate_w + 1)
    pixels = tf.pad(tf.cast(images, tf.float32),
                    [[0, 0], [pad_top, padded_h - height - pad_top], [pad_left, padded_w - width - pad_left], [0, 0]],
                    constant_values=-np.inf)
    weights = tf.cast(filters, tf.float32)
    best = None
    for i in range(kernel_h):
        for j in range(kernel_w):
            row, col = i * rate_h, j * rate_w
            shifted = pixels[:, row:row + (out_h - 1) * stride_h + 1:stride_h,
                             col:col + (out_w - 1) * stride_w + 1:stride_w, :]
            candidate = shifted + weights[i, j]
            if best is None:
                best = tf.fill(tf.shape(candidate), float(images.dtype.min))
            best = tf.where(candidate > best, candidate, best)
    return tf.cast(best, images.dtype)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402

_RESAMPLING_ATOL = 1e-6  # on [0, 1] images: 1e-6 of the value range


def _uniform(shape: Sequence[int], low: float = 0.0, high: float = 1.0):
    return lambda rng: [rng.uniform(low, high, shape).astype(np.float32)]


def _image_edges(shape: Sequence[int]) -> List[List[np.ndarray]]:
    """Constant, black and checkerboard [0, 1] images of ``shape`` (NHWC)."""
    rows, cols = np.indices(shape[1:3])
    checker = np.broadcast_to(((rows + cols) % 2)[None, :, :, None], shape).astype(np.float32)
    return [[np.ones(shape, np.float32)], [np.zeros(shape, np.float32)], [checker]]


def _resampling_case(name: str, op_type: str, function, shape: Sequence[int]) -> None:
    register_case(RewriteCase(
        name=f"image_{name}", op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(shape, tf.float32)], make_inputs=_uniform(shape),
        atol=_RESAMPLING_ATOL, rtol=0.0, edge_inputs=_image_edges(shape),
    ))


_resampling_case("resize_bicubic_half_pixel_up", "ResizeBicubic",
                 lambda x: tf.image.resize(x, (13, 17), method="bicubic"), (2, 6, 9, 3))
_resampling_case("resize_bicubic_half_pixel_down", "ResizeBicubic",
                 lambda x: tf.image.resize(x, (5, 4), method="bicubic"), (1, 12, 9, 2))
_resampling_case("resize_bicubic_align_corners", "ResizeBicubic",
                 lambda x: tf.raw_ops.ResizeBicubic(images=x, size=[11, 3], align_corners=True), (2, 5, 7, 3))
_resampling_case("resize_bicubic_legacy", "ResizeBicubic",
                 lambda x: tf.raw_ops.ResizeBicubic(images=x, size=[4, 15], half_pixel_centers=False), (3, 9, 6, 1))
_resampling_case("resize_area_down", "ResizeArea",
                 lambda x: tf.image.resize(x, (5, 4), method="area"), (2, 12, 10, 3))
_resampling_case("resize_area_align_corners_up", "ResizeArea",
                 lambda x: tf.raw_ops.ResizeArea(images=x, size=[9, 7], align_corners=True), (2, 4, 6, 2))
_resampling_case("scale_translate_lanczos3_down", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (7, 5), method="lanczos3"), (2, 16, 12, 3))
_resampling_case("scale_translate_lanczos5_up", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (11, 13), method="lanczos5"), (1, 5, 6, 3))
_resampling_case("scale_translate_gaussian_antialias", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (6, 10), method="gaussian", antialias=True), (2, 14, 11, 2))
_resampling_case("scale_translate_mitchellcubic", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (9, 4), method="mitchellcubic"), (1, 6, 10, 3))
_resampling_case("scale_translate_bilinear_antialias", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (5, 7), method="bilinear", antialias=True), (2, 13, 9, 3))
_resampling_case("scale_translate_bicubic_antialias", "ScaleAndTranslate",
                 lambda x: tf.image.resize(x, (4, 12), method="bicubic", antialias=True), (1, 11, 8, 2))

register_case(RewriteCase(
    name="image_scale_translate_runtime_scale", op_type="ScaleAndTranslate",
    function=lambda x, scale, translation: tf.raw_ops.ScaleAndTranslate(
        images=x, size=[8, 6], scale=scale, translation=translation, kernel_type="keyscubic", antialias=True),
    input_specs=[tf.TensorSpec((2, 7, 9, 3), tf.float32), tf.TensorSpec((2,), tf.float32),
                 tf.TensorSpec((2,), tf.float32)],
    make_inputs=lambda rng: [rng.uniform(0, 1, (2, 7, 9, 3)).astype(np.float32),
                             rng.uniform(0.5, 2.0, 2).astype(np.float32), rng.uniform(-2, 2, 2).astype(np.float32)],
    atol=_RESAMPLING_ATOL, rtol=0.0,
    edge_inputs=[[np.ones((2, 7, 9, 3), np.float32), np.array([8 / 7, 6 / 9], np.float32), np.zeros(2, np.float32)],
                 [np.ones((2, 7, 9, 3), np.float32), np.array([1.0, 0.25], np.float32),
                  np.array([30.0, -1.0], np.float32)]],  # samples outside the image: zero rows
))


def _with_specials(values: np.ndarray) -> np.ndarray:
    """A copy with NaN, +inf and -inf planted at fixed positions."""
    special = values.copy()
    flat = special.reshape(-1)
    flat[[0, 7, 19]] = [np.nan, np.inf, -np.inf]
    return special


def _patches_case(name: str, shape: Sequence[int], sizes, strides, rates, padding: str, dtype=tf.float32) -> None:
    def make_inputs(rng):
        if dtype == tf.float32:
            return [rng.uniform(-1, 1, shape).astype(np.float32)]
        return [rng.integers(0, 256, shape).astype(dtype.as_numpy_dtype)]

    edges = [[_with_specials(make_inputs(np.random.default_rng(7))[0])]] if dtype == tf.float32 else []
    register_case(RewriteCase(
        name=f"image_{name}", op_type="ExtractImagePatches",
        function=lambda x: tf.image.extract_patches(x, [1, *sizes, 1], [1, *strides, 1], [1, *rates, 1], padding),
        input_specs=[tf.TensorSpec(shape, dtype)], make_inputs=make_inputs, atol=0.0, rtol=0.0, edge_inputs=edges,
    ))


_patches_case("extract_patches_same_3x3", (2, 7, 9, 3), (3, 3), (1, 1), (1, 1), "SAME")
_patches_case("extract_patches_dilated_valid", (2, 10, 8, 2), (2, 3), (2, 1), (1, 2), "VALID")
_patches_case("extract_patches_strided_same", (1, 9, 11, 4), (3, 2), (2, 3), (2, 1), "SAME")
_patches_case("extract_patches_vit_uint8", (2, 8, 12, 3), (4, 4), (4, 4), (1, 1), "VALID", dtype=tf.uint8)


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


def _crop_inputs(rng: np.random.Generator) -> List[np.ndarray]:
    boxes = rng.uniform(-0.2, 1.2, (6, 4)).astype(np.float32)
    boxes[:3] = [[0, 0, 1, 1], [0.1, 0.2, 0.8, 0.6], [0.9, 0.7, 0.2, 0.1]]  # full, inner, flipped
    return [rng.uniform(0, 1, (3, 7, 9, 2)).astype(np.float32), boxes, rng.integers(0, 3, 6).astype(np.int32)]


def _crop_case(name: str, crop_size: Tuple[int, int], method: str, extrapolation: float) -> None:
    register_case(RewriteCase(
        name=f"image_{name}", op_type="CropAndResize",
        function=lambda image, boxes, indices: tf.image.crop_and_resize(
            image, boxes, indices, crop_size, method=method, extrapolation_value=extrapolation),
        input_specs=[tf.TensorSpec((3, 7, 9, 2), tf.float32), tf.TensorSpec((6, 4), tf.float32),
                     tf.TensorSpec((6,), tf.int32)],
        make_inputs=_crop_inputs, atol=_RESAMPLING_ATOL, rtol=0.0,
    ))


_crop_case("crop_and_resize_bilinear", (5, 4), "bilinear", 0.0)
_crop_case("crop_and_resize_nearest", (4, 6), "nearest", -1.5)
_crop_case("crop_and_resize_single_row", (1, 3), "bilinear", 2.0)


def _dilation_case(name: str, shape: Sequence[int], filter_shape: Sequence[int], strides, rates, padding) -> None:
    def make_inputs(rng):
        return [rng.uniform(-1, 1, shape).astype(np.float32), rng.uniform(-1, 1, filter_shape).astype(np.float32)]

    special_image = _with_specials(make_inputs(np.random.default_rng(9))[0])
    register_case(RewriteCase(
        name=f"image_{name}", op_type="Dilation2D",
        function=lambda x, f: tf.nn.dilation2d(x, f, [1, *strides, 1], padding, "NHWC", [1, *rates, 1]),
        input_specs=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec(filter_shape, tf.float32)],
        make_inputs=make_inputs, atol=0.0, rtol=0.0,
        edge_inputs=[[special_image, np.zeros(filter_shape, np.float32)]],
    ))


_dilation_case("dilation2d_same", (2, 7, 9, 3), (3, 3, 3), (1, 1), (1, 1), "SAME")
_dilation_case("dilation2d_strided_dilated_valid", (1, 11, 10, 2), (2, 3, 2), (2, 1), (2, 2), "VALID")
