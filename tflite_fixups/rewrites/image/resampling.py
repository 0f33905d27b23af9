"""Image resampling: ResizeBicubic, ResizeArea, ScaleAndTranslate and CropAndResize.

Resampling ops (ResizeBicubic, ResizeArea, ScaleAndTranslate) are separable: a
1-D pass along the rows, then one along the columns, each a weighted sum over a
few input pixels ("taps") per output pixel. A pass is one GATHER of the K taps
of every output row/column, one MUL by their weights and a SUM over K, on
reshaped (never transposed) images. Only TF's own taps enter a sum, so a NaN or
+-inf pixel spreads exactly where TF's kernel spreads it (a dense interpolation
matrix would multiply it by the zeros around its taps, and 0 * NaN is NaN: one
NaN pixel would fill the whole channel). Taps and weights depend only on the
static sizes (NumPy constants), or for ScaleAndTranslate also on the
scale/translation inputs (computed in the graph, folded to constants by the
converter when those inputs are constant). CropAndResize gathers the
neighbouring pixels of every crop position and interpolates them with selects
and elementwise arithmetic.

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

_MAX_SIDE = 2048  # resampling: at most 2048 pixels per side
_TINY_SUM = 1000.0 * float(np.finfo(np.float32).tiny)  # weight sums below this are not normalised (like TF)
_NONFINITE_LIMIT = "a NaN/inf pixel reaches only the outputs TF's taps reach"
_FEW_TAPS = 16  # up to this many taps, one GATHER per tap (measured faster than one GATHER and a SUM)
_GATHER_BUDGET = 1 << 24  # one GATHER of every tap at once: at most 16M values (64 MB) per image and pass
_MAX_LOOP_TAPS = 256  # beyond the budget, one GATHER per tap (memory of the output only): at most 256 taps
_TAPS_LIMIT = f"at most {_MAX_LOOP_TAPS} taps per output pixel or {_GATHER_BUDGET} gathered values per pass"

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
        node.decline(f"image sides {height}x{width} -> {out_height}x{out_width}: resampling is "
                     f"limited to {_MAX_SIDE} per side")
    if min(height, width, channels, out_height, out_width) == 0:
        node.decline("empty images are left to TensorFlow")
    return height, width, channels, out_height, out_width


def _resize_scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    """TF's input/output coordinate ratio, in float32 (align_corners needs both sizes > 1)."""
    if align_corners and in_size > 1 and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def _gather_pass(values, indices, weights, size: int, per_image: int = 1):
    """One separable pass: (N, size, M) ``values`` -> (N, out, M), out[o] = sum_k weights[o, k] values[indices[o, k]].

    ``indices`` (out, K) int32 and ``weights`` (out, K) float32 are NumPy arrays or tensors. An
    index equal to ``size`` is a padding tap: it reads an appended zero, so it adds 0 whatever
    the image holds. Every other tap is summed like TF does, zero weights included (0 * NaN is NaN
    there too). Up to ``_FEW_TAPS`` taps are gathered one at a time and summed in TF's order
    (fastest on LiteRT); more at once, within ``_GATHER_BUDGET`` values per image (``per_image``
    rows of N make one image) or when K is a run-time length, else again one at a time;
    :func:`_check_passes` declines what fits neither.
    """
    padded = tf.pad(values, [[0, 0], [0, 1], [0, 0]]) if _has_padding(indices, size) else values
    out, taps = indices.shape
    if taps is None or (taps > _FEW_TAPS and per_image * out * taps * values.shape[2] <= _GATHER_BUDGET):
        gathered = tf.gather(padded, indices, axis=1)  # (N, out, K, M)
        return tf.reduce_sum(gathered * tf.expand_dims(tf.expand_dims(weights, 0), -1), axis=2)
    total = None
    for k in range(taps):
        term = tf.gather(padded, indices[:, k], axis=1) * tf.reshape(weights[:, k], [1, -1, 1])
        total = term if total is None else total + term
    return total


def _check_passes(node: NodeView, sizes: Tuple[int, int, int, int, int], row_taps: int, col_taps: int) -> None:
    """Decline when a pass has more than ``_MAX_LOOP_TAPS`` taps and cannot gather them all at once."""
    height, width, channels, out_height, out_width = sizes
    for taps, gathered in ((row_taps, out_height * row_taps * width * channels),
                           (col_taps, out_height * out_width * col_taps * channels)):
        if taps > _MAX_LOOP_TAPS and gathered > _GATHER_BUDGET:
            node.decline(f"{taps} taps per output pixel ({height}x{width}x{channels} -> {out_height}x{out_width}): "
                         f"more than {_MAX_LOOP_TAPS} taps and {_GATHER_BUDGET} gathered values per pass")


def _has_padding(indices, size: int) -> bool:
    return not isinstance(indices, np.ndarray) or bool(np.any(indices == size))


def _apply_separable(image, rows, cols, out_height: int, out_width: int):
    """The row pass, then the column pass: [B, H, W, C] -> [B, out_height, out_width, C].

    ``rows`` and ``cols`` are (indices, weights) pairs for :func:`_gather_pass`, of
    shapes (out_height, K) and (out_width, K'). Two gathers on reshaped views; no transposes.
    """
    _, height, width, channels = image.shape
    by_rows = _gather_pass(tf.reshape(image, [-1, height, width * channels]), *rows, height)  # [B, Ho, W*C]
    by_cols = _gather_pass(tf.reshape(by_rows, [-1, width, channels]), *cols, width, out_height)  # [B*Ho, Wo, C]
    return tf.reshape(by_cols, [-1, out_height, out_width, channels])


def _taps_from_lists(taps: Sequence[Sequence[Tuple[int, float]]], in_size: int):
    """(indices, weights) arrays of shape (out, K) from per-output lists of (index, weight); short lists
    are padded with index ``in_size`` (a zero pixel) and weight 0."""
    width = max(1, max(len(t) for t in taps))
    indices = np.full((len(taps), width), in_size, np.int32)
    weights = np.zeros((len(taps), width), np.float32)
    for o, row in enumerate(taps):
        for k, (index, weight) in enumerate(row):
            indices[o, k], weights[o, k] = index, weight
    return indices, weights


# --- ResizeBicubic --------------------------------------------------------------------------------

_BICUBIC_TABLE_SIZE = 1024  # TF quantises the fractional position to 1/1024 (its coefficient table)


def _keys_cubic(distance: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a`` at ``|distance| <= 2``."""
    t = np.abs(distance)
    near = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    far = ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return np.where(t <= 1.0, near, far)


def _bicubic_taps(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool):
    """(indices, weights), each (out_size, 4), of TF's ResizeBicubic along one axis.

    Four taps around ``floor(position)``, clamped into the image like TF's (an
    edge pixel may appear twice); ``a = -0.5`` with out-of-image taps given
    weight 0 and the rest renormalised (half-pixel centres), or ``a = -0.75``
    (legacy mode). TF sums all four taps, zero weights included.
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
    return clamped.astype(np.int32), weights.astype(np.float32)


@rewrite_rule("ResizeBicubic", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}; {_NONFINITE_LIMIT}")
def resize_bicubic(node: NodeView, images, size):
    """Separable bicubic resampling: per axis, gather each output's 4 taps and sum them with constant weights.

    Reproduces TF's kernel: Keys cubic with a = -0.5 and renormalised edge taps
    for ``half_pixel_centers``, a = -0.75 with clamped taps otherwise, the
    fractional position rounded to 1/1024 like TF's coefficient table, and
    TF's ``align_corners`` scale. Any real input dtype; output float32.
    A NaN or +-inf pixel reaches exactly the outputs whose 4 x 4 taps hold it,
    as NaN or +-inf like TF's (an inf under a zero weight gives NaN there too).
    Preconditions: static H, W, C and output size, every side <= 2048.
    Error (float32): summation rounding, measured below 1e-6 of the value range.
    """
    height, width, _, out_height, out_width = _resampling_sizes(node)
    align_corners, half_pixel = bool(node.attrs["align_corners"]), bool(node.attrs["half_pixel_centers"])
    rows = _bicubic_taps(height, out_height, align_corners, half_pixel)
    cols = _bicubic_taps(width, out_width, align_corners, half_pixel)
    return _apply_separable(_as_float32(node, images), rows, cols, out_height, out_width)


# --- ResizeArea -----------------------------------------------------------------------------------


def _area_taps(in_size: int, out_size: int, scale: np.float32, factor: np.float32 = np.float32(1)):
    """(indices, weights) of output cell [y s, (y + 1) s) along one axis: each input pixel it overlaps.

    Computed like TF (a cell inside one pixel weighs exactly s); overlaps
    beyond the last pixel (align_corners) read the last pixel, as a separate tap
    like in TF's sum. Weights are multiplied by ``factor``.
    """
    one = np.float32(1)
    taps = []
    for y in range(out_size):
        start, end = np.float32(y) * scale, np.float32(y + 1) * scale
        row = []
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            pixel = np.float32(i)
            if pixel < start:
                overlap = scale if pixel + one > end else pixel + one - start
            else:
                overlap = end - pixel if pixel + one > end else one
            row.append((min(max(i, 0), in_size - 1), np.float32(overlap) * factor))
        taps.append(row)
    return _taps_from_lists(taps, in_size)


@rewrite_rule("ResizeArea", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}; {_TAPS_LIMIT}; {_NONFINITE_LIMIT}")
def resize_area(node: NodeView, images, size):
    """Separable area averaging: per axis, gather the input pixels each output cell overlaps and sum them.

    Output pixel y covers input interval [y s, (y + 1) s) with TF's scale s
    (``align_corners`` included); each input pixel weighs its overlap, and the
    sum is divided by the cell area s_h s_w. Any real input dtype; output float32.
    A NaN or +-inf pixel reaches exactly the output cells that overlap it, like TF.
    Preconditions: static H, W, C and output size, every side <= 2048; a pass
    with more than 256 taps per output (a downscale by more than 255) must
    gather at most 16M values at once.
    Error (float32): summation rounding, measured below 1e-6 of the value range.
    """
    height, width, channels, out_height, out_width = _resampling_sizes(node)
    align_corners = bool(node.attrs["align_corners"])
    row_scale = _resize_scale(height, out_height, align_corners)
    col_scale = _resize_scale(width, out_width, align_corners)
    rows = _area_taps(height, out_height, row_scale, np.float32(1.0 / (row_scale * col_scale)))
    cols = _area_taps(width, out_width, col_scale)
    _check_passes(node, (height, width, channels, out_height, out_width), rows[0].shape[1], cols[0].shape[1])
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


def _sampling_taps(kernel_type: str, antialias: bool, in_size: int, out_size: int, scale, translation):
    """(indices, weights), each (out_size, span), of ScaleAndTranslate along one axis, built in the graph.

    Output pixel x samples input position p = (x + 0.5) / scale - translation / scale.
    Like TF's spans: span = min(2 ceil(radius kernel_scale) + 1, in_size) taps (kernel_scale
    = max(1 / scale, 1) when antialiasing, else 1) from the first input pixel whose centre is
    within radius kernel_scale of p, clipped to the image (taps past its end read a zero
    padding pixel); the pixels up to the last one within that reach weigh
    kernel(distance / kernel_scale), normalised to sum 1, the rest of the span weighs 0 but
    is still summed. A position outside [0, in_size] gets the span at pixel 0 with weights 0
    (TF's empty span). ``span`` is a graph value: a constant once the converter folds a
    constant ``scale``, a run-time length otherwise.
    """
    radius, kernel = _SAMPLING_KERNELS[kernel_type]
    inverse_scale = 1.0 / scale
    inverse_translation = -inverse_scale * translation
    kernel_scale = tf.maximum(inverse_scale, 1.0) if antialias else tf.constant(1.0)
    reach = radius * kernel_scale
    span = tf.minimum(2.0 * tf.math.ceil(reach) + 1.0, float(in_size))
    sample = tf.constant(np.arange(out_size, dtype=np.float32)[:, None] + 0.5) * inverse_scale + inverse_translation
    first = tf.clip_by_value(tf.math.ceil(sample - reach - 0.5), 0.0, in_size - 1.0)
    last = tf.clip_by_value(tf.floor(sample + reach - 0.5), 0.0, in_size - 1.0)
    sampled = tf.logical_and(sample >= 0.0, sample <= float(in_size))  # (out, 1)
    start = tf.where(sampled, first, tf.zeros_like(first))
    source = start + tf.range(span)[tf.newaxis, :]  # (out, span)
    summed = source <= in_size - 1.0
    weighted = tf.logical_and(tf.logical_and(summed, source <= last), sampled)
    distance = tf.abs((source + 0.5 - sample) * (1.0 / kernel_scale))
    weights = tf.where(weighted, kernel(distance), tf.zeros_like(distance))
    total = tf.reduce_sum(weights, axis=1, keepdims=True)
    usable = tf.abs(total) >= _TINY_SUM
    weights = tf.where(usable, weights * (1.0 / tf.where(usable, total, tf.ones_like(total))), weights)
    indices = tf.cast(tf.where(summed, source, tf.fill(tf.shape(source), float(in_size))), tf.int32)
    return indices, weights


@rewrite_rule("ScaleAndTranslate", error_bound="1e-6 relative to the value range",
              limits=f"static image and output sizes <= {_MAX_SIDE}; {_NONFINITE_LIMIT}")
def scale_and_translate(node: NodeView, images, size, scale, translation):
    """Separable resampling (lanczos, gaussian, Keys/Mitchell cubic, box, triangle): per axis, gather
    each output's span of taps and sum them with TF's weights.

    Taps and weights are computed in the graph from ``scale`` and
    ``translation`` (constant-folded by the converter when those are constant,
    e.g. under tf.image.resize; evaluated at run time otherwise), following TF:
    sample position (x + 0.5 - t) / s, kernel stretched by max(1/s, 1) when
    ``antialias``, taps within the kernel radius, weights normalised to sum 1,
    zero weights for samples outside the image. Any real input dtype; output float32.
    A NaN or +-inf pixel reaches exactly the outputs whose span holds it, like
    TF's (which sums the whole span, zero weights included).
    Preconditions: static H, W, C and output size (constant ``size``), every side <= 2048.
    The span (taps per output, about 2 radius / scale when antialiasing a
    downscale) is computed in the graph like the weights, so a run-time scale
    gives a run-time span; each pass gathers output size x span values at once.
    Error (float32): weight and summation rounding, measured below 1e-6 of the value range.
    """
    height, width, _, out_height, out_width = _resampling_sizes(node)
    kernel_type = node.attrs["kernel_type"]
    kernel_type = kernel_type.decode() if isinstance(kernel_type, bytes) else kernel_type
    if kernel_type not in _SAMPLING_KERNELS:
        node.decline(f"unknown kernel_type {kernel_type!r}")
    antialias = bool(node.attrs["antialias"])
    scale, translation = tf.cast(scale, tf.float32), tf.cast(translation, tf.float32)
    rows = _sampling_taps(kernel_type, antialias, height, out_height, scale[0], translation[0])
    cols = _sampling_taps(kernel_type, antialias, width, out_width, scale[1], translation[1])
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


def _nonfinite_images(shape: Sequence[int]) -> List[np.ndarray]:
    """Random [0, 1] images of ``shape`` (NHWC) with one NaN pixel, one +inf pixel, and NaN, +inf and
    -inf in three corners: TF spreads each only to the outputs whose taps hold it."""
    base = np.random.default_rng(7).uniform(0.0, 1.0, shape).astype(np.float32)
    middle = (shape[1] // 2, shape[2] // 2)
    images = [base.copy() for _ in range(3)]
    images[0][(0,) + middle + (0,)] = np.nan
    images[1][(shape[0] - 1,) + middle + (shape[3] - 1,)] = np.inf
    images[2][0, 0, 0, 0] = np.nan
    images[2][0, -1, -1, shape[3] - 1] = np.inf
    images[2][-1, -1, 0, 0] = -np.inf
    return images


def _image_edges(shape: Sequence[int]) -> List[List[np.ndarray]]:
    """Constant, black and checkerboard [0, 1] images of ``shape`` (NHWC), and the non-finite ones."""
    rows, cols = np.indices(shape[1:3])
    checker = np.broadcast_to(((rows + cols) % 2)[None, :, :, None], shape).astype(np.float32)
    return [[np.ones(shape, np.float32)], [np.zeros(shape, np.float32)], [checker]] + [
        [image] for image in _nonfinite_images(shape)]


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
                  np.array([30.0, -1.0], np.float32)]]  # samples outside the image: zero rows
    + [[image, np.array(scale, np.float32), np.array(translation, np.float32)]  # NaN/inf spread like TF's spans,
       for image in _nonfinite_images((2, 7, 9, 3))  # also from pixel 0 into the empty spans outside the image
       for scale, translation in (((8 / 7, 6 / 9), (0.0, 0.0)), ((0.5, 0.25), (30.0, -1.0)))],
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
        edge_inputs=[[image] + _crop_inputs(np.random.default_rng(5))[1:] for image in _nonfinite_images((3, 7, 9, 2))],
    ))


_crop_case("crop_and_resize_bilinear", (5, 4), "bilinear", 0.0)
_crop_case("crop_and_resize_nearest", (4, 6), "nearest", -1.5)
_crop_case("crop_and_resize_single_row", (1, 3), "bilinear", 2.0)
