"""Image resampling: ResizeBicubic, ResizeArea, ScaleAndTranslate and CropAndResize.

Resampling ops (ResizeBicubic, ResizeArea, ScaleAndTranslate) are separable:
``out = R . image . C^T`` with an interpolation matrix per spatial axis, applied
as two batched matrix products over reshaped (never transposed) images. The
matrices depend only on the static sizes (NumPy constants), or for
ScaleAndTranslate also on the scale/translation inputs (computed in the graph,
folded to constants by the converter when those inputs are constant).
CropAndResize gathers the neighbouring pixels of every crop position and
interpolates them with selects and elementwise arithmetic.

Each rule follows TensorFlow's CPU kernel semantics (pixel-centre conventions,
edge handling, rounding of the bicubic coefficient table) and states its
float32 error bound, measured by the tests against TF's kernels.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _MAX_GATHER, _image_hwc, tf

_MAX_SIDE = 2048  # resampling: dense interpolation matrices of at most 2048 x 2048 per axis
_TINY_SUM = 1000.0 * float(np.finfo(np.float32).tiny)  # weight sums below this are not normalised (like TF)

_REAL_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64")


# --- resampling helpers ---------------------------------------------------------------------------


def _as_float32(node: NodeView, tensor, index: int = 0):
    """``tensor`` (input ``index`` of ``node``) cast to float32; declines complex and non-numeric types."""
    dtype = node.input_dtypes[index]
    if dtype.name not in _REAL_DTYPES:
        node.decline(f"input {index} of {node.op_type} has dtype {dtype.name}; only real types are rewritten")
    return tf.cast(tensor, tf.float32)


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


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from ..cases import RewriteCase, register_case  # noqa: E402

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
