"""3-D pooling and max pooling with argmax, from MAX_POOL_2D, PAD, STRIDED_SLICE, ADD, MUL and SELECT.

TF 2.21's converter rejects MaxPool3D, AvgPool3D and MaxPoolWithArgmax. The
1-D and 2-D pools convert natively (measured for unusual kernels, strides and
SAME padding), with runtime caveats the rules below stay clear of: LiteRT's
(XNNPACK) AVERAGE_POOL_2D divides by the wrong count when a SAME window
overhangs both edges of the input (kernel 7 over 5 rows, stride 2), and both
2-D pools return -inf for windows holding NaN (TF: NaN for the average, NaN
skipped for the maximum).
"""

from __future__ import annotations

import math
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

_FLOATS = (tf.float32, tf.float16, tf.bfloat16)
MAX_ARGMAX_WINDOW = 64  # kernel offsets unrolled by max_pool_with_argmax


def window_starts(size: int, kernel: int, stride: int, padding: str) -> List[int]:
    """First input index of each output window along one dimension (negative inside SAME padding).

    TF's convention: SAME gives ceil(size / stride) outputs with
    ``max((out - 1) * stride + kernel - size, 0) // 2`` padding before;
    VALID gives ``(size - kernel) // stride + 1`` outputs and no padding.
    """
    if padding == "SAME":
        count = -(-size // stride)
        before = max((count - 1) * stride + kernel - size, 0) // 2
    else:
        count, before = max((size - kernel) // stride + 1, 0), 0
    return [o * stride - before for o in range(count)]


def _output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    return len(window_starts(size, kernel, stride, padding))


def _padding_amounts(size: int, kernel: int, stride: int, padding: str) -> Tuple[int, int]:
    """Padding before and after that puts every window of :func:`window_starts` inside the input."""
    starts = window_starts(size, kernel, stride, padding)
    if not starts:
        return 0, 0
    return -starts[0], max(starts[-1] + kernel - size, 0)


def _valid_counts(size: int, kernel: int, stride: int, padding: str) -> np.ndarray:
    """How many real (not padding) elements each output window covers along one dimension."""
    return np.array([min(s + kernel, size) - max(s, 0) for s in window_starts(size, kernel, stride, padding)])


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pool_attrs(node: NodeView, rank: int) -> Tuple[List[int], List[int], str]:
    """Spatial kernel, strides and padding; declines batch/channel pooling, NCDHW and other paddings."""
    data_format = _text(node.attrs.get("data_format", b"NHWC"))
    if data_format.startswith("NC"):
        node.decline(f"data_format {data_format}: only channels-last pooling is rewritten (TF's CPU kernels too)")
    ksize, strides = list(node.attrs["ksize"]), list(node.attrs["strides"])
    padding = _text(node.attrs["padding"])
    if len(ksize) != rank or len(strides) != rank:
        node.decline(f"ksize {ksize} / strides {strides} should have {rank} entries")
    if ksize[0] != 1 or ksize[-1] != 1 or strides[0] != 1 or strides[-1] != 1:
        node.decline(f"pooling over the batch or channel dimension (ksize {ksize}, strides {strides})")
    if padding not in ("SAME", "VALID"):
        node.decline(f"padding {padding} (only SAME and VALID)")
    return ksize[1:-1], strides[1:-1], padding


def _float_input(node: NodeView) -> None:
    if node.input_dtypes[0] not in _FLOATS:
        node.decline(f"only float32/float16/bfloat16 pooling is rewritten, got {node.input_dtypes[0].name}")


def _spatial_shape(node: NodeView, rank: int) -> List[int]:
    """The static non-batch dimensions of input 0 (the batch may be unknown)."""
    shape = node.input_shapes[0]
    if shape is None or len(shape) != rank or any(d is None for d in shape[1:]):
        node.decline(f"{node.op_type} needs static spatial and channel dimensions, got {shape}")
    return list(shape[1:])  # type: ignore[index]


def _window_sums(x, shape: Sequence[int], axis: int, kernel: int, stride: int, count: int):
    """Sums of ``kernel`` consecutive entries every ``stride`` along ``axis`` of ``x`` ([batch, *shape]),
    ``count`` of them: one 3-D STRIDED_SLICE per kernel offset, summed by ADD (TFLite's ADD_N turns
    infinities into +-3.4e38)."""
    cube = tf.reshape(x, [-1, shape[axis], math.prod(shape[axis + 1:])])
    total = cube[:, : (count - 1) * stride + 1: stride, :]
    for offset in range(1, kernel):
        total = total + cube[:, offset: offset + (count - 1) * stride + 1: stride, :]
    return tf.reshape(total, [-1, *shape[:axis], count, *shape[axis + 1:]])


@rewrite_rule("MaxPool3D", error_bound="exact", limits="NDHWC; static D, H, W, C")
def max_pool_3d(node: NodeView, x):
    """NaN -> lowest, MAX_POOL_2D over (H, W) per depth plane, MAX_POOL_2D over depth, clamp at lowest.

    Max is separable, so the two passes give the 3-D window's maximum; both
    use the node's own SAME/VALID padding, which TF computes per dimension
    (depth is pooled with a (kd, 1) kernel over (D, H*W)). TF's kernel starts
    every window at the dtype's lowest finite value and never picks NaN, so
    TF's result is max(lowest, non-NaN values): NaN is replaced by lowest
    before the pools (LiteRT's MAX_POOL_2D returns -inf for NaN) and the
    result clamped at lowest (a window of -inf gives -3.4e38, not -inf).

    Preconditions: NDHWC, float32/float16/bfloat16, static D, H, W, C (any batch).
    Error bound: exact, NaN and infinities included.
    """
    _float_input(node)
    (kd, kh, kw), (sd, sh, sw), padding = _pool_attrs(node, 5)
    depth, height, width, channels = _spatial_shape(node, 5)
    lowest = x.dtype.min
    compute = tf.cast(x, tf.float32)
    compute = tf.where(tf.math.is_nan(compute), tf.constant(lowest, tf.float32), compute)
    out_h = _output_size(height, kh, sh, padding)
    out_w = _output_size(width, kw, sw, padding)
    out_d = _output_size(depth, kd, sd, padding)
    planes = tf.reshape(compute, [-1, height, width, channels])
    if (kh, kw, sh, sw) != (1, 1, 1, 1):
        planes = tf.nn.max_pool2d(planes, (kh, kw), (sh, sw), padding)
    columns = tf.reshape(planes, [-1, depth, out_h * out_w, channels])
    if (kd, sd) != (1, 1):
        columns = tf.nn.max_pool2d(columns, (kd, 1), (sd, 1), padding)
    pooled = tf.reshape(columns, [-1, out_d, out_h, out_w, channels])
    return tf.cast(tf.maximum(pooled, lowest), x.dtype)


@rewrite_rule("AvgPool3D", error_bound="1e-6 relative to the window's mean |x| (summation order)",
              limits="NDHWC; static D, H, W, C")
def avg_pool_3d(node: NodeView, x):
    """Zero PAD, window sums by strided slices and ADD one dimension at a time, DIV by the real-element count.

    The window sum is separable: summing kd, then kh, then kw strided slices
    (one per kernel offset, unrolled) gives the 3-D window sums; for SAME the
    zero padding adds nothing and TF's divisor, the number of real elements
    in the window, is the product of the per-dimension counts (a constant).
    Plain IEEE additions keep TF's NaN results (NaN inputs, +inf with -inf),
    which LiteRT's AVERAGE_POOL_2D does not, and no padding is ever counted
    by a pool kernel.

    Preconditions: NDHWC, float32/float16/bfloat16 (computed in float32),
    static D, H, W, C (any batch). Error bound: 1e-6 relative to the mean
    of |x| over the window (float32, summation order only); bfloat16 within
    2 bfloat16 ulp of TF's kernel.
    """
    _float_input(node)
    kernel, strides, padding = _pool_attrs(node, 5)
    dims = _spatial_shape(node, 5)
    amounts = [_padding_amounts(size, k, s, padding) for size, k, s in zip(dims[:3], kernel, strides)]
    total = tf.cast(x, tf.float32)
    if any(before or after for before, after in amounts):
        total = tf.pad(total, [[0, 0], *amounts, [0, 0]])
    shape = [size + before + after for size, (before, after) in zip(dims[:3], amounts)] + dims[3:]
    for axis, (size, k, s) in enumerate(zip(dims[:3], kernel, strides)):
        count = _output_size(size, k, s, padding)
        total = _window_sums(total, shape, axis, k, s, count)
        shape[axis] = count
    counts = [_valid_counts(size, k, s, padding) for size, k, s in zip(dims[:3], kernel, strides)]
    divisor = np.einsum("d,h,w->dhw", *counts).astype(np.float32)
    return tf.cast(total / tf.constant(divisor[None, :, :, :, None]), x.dtype)


def _window_offsets(
    dims: Sequence[int], kernel: Sequence[int], strides: Sequence[int], padding: str
) -> Iterator[Tuple[int, int, np.ndarray, np.ndarray]]:
    """Per kernel offset in row-major order: (dy, dx), then per output position whether the input
    element it reads is real (not padding), and that element's flat index y * W + x."""
    (height, width), (kh, kw), (sh, sw) = dims, kernel, strides
    rows = np.array(window_starts(height, kh, sh, padding))
    cols = np.array(window_starts(width, kw, sw, padding))
    for dy in range(kh):
        for dx in range(kw):
            y, x = rows[:, None] + dy, cols[None, :] + dx
            real = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            yield dy, dx, real, y * width + x


@rewrite_rule(
    "MaxPoolWithArgmax",
    error_bound="exact (values and indices)",
    limits=f"static H, W, C; kernel area <= {MAX_ARGMAX_WINDOW}; static batch with include_batch_in_index; "
    "indices < 2**31",
)
def max_pool_with_argmax(node: NodeView, x):
    """Unrolled over the kernel: a strided slice per offset, keeping the first maximum and its flat index.

    Windows are scanned in TF's order (row-major over the kernel); an offset
    replaces the running maximum when it is the window's first real element
    or strictly greater, so ties keep the first index and padding is never
    chosen, exactly as TF's kernel (a window of -inf gives -inf and the index
    of its first real element; a NaN first in its window stays). The index is
    (y * W + x) * C + c, plus b * H * W * C with include_batch_in_index.

    Preconditions: NHWC float32/float16/bfloat16, static H, W, C, kernel area
    <= 64 (unrolled), static batch when include_batch_in_index.
    Error bound: exact.
    """
    _float_input(node)
    kernel, strides, padding = _pool_attrs(node, 4)
    height, width, channels = _spatial_shape(node, 4)
    if math.prod(kernel) > MAX_ARGMAX_WINDOW:
        node.decline(f"kernel {kernel} has more than {MAX_ARGMAX_WINDOW} offsets to unroll")
    include_batch = bool(node.attrs.get("include_batch_in_index", False))
    batch = node.static_shape(0)[0] if include_batch else 1
    if batch * height * width * channels >= 2**31:
        node.decline("indices would overflow int32")
    compute = tf.cast(x, tf.float32)
    (pad_top, pad_bottom), (pad_left, pad_right) = (
        _padding_amounts(size, k, s, padding) for size, k, s in zip((height, width), kernel, strides)
    )
    if pad_top or pad_bottom or pad_left or pad_right:
        compute = tf.pad(compute, [[0, 0], [pad_top, pad_bottom], [pad_left, pad_right], [0, 0]])
    out_h = _output_size(height, kernel[0], strides[0], padding)
    out_w = _output_size(width, kernel[1], strides[1], padding)
    best = position = None
    seen = np.zeros((out_h, out_w), bool)
    for dy, dx, real, flat in _window_offsets((height, width), kernel, strides, padding):
        window = compute[:, dy: dy + (out_h - 1) * strides[0] + 1: strides[0],
                         dx: dx + (out_w - 1) * strides[1] + 1: strides[1], :]
        flat_index = tf.constant(flat[None, :, :, None].astype(np.int32))
        if best is None:
            best, position = window, tf.zeros_like(window, tf.int32) + flat_index
        else:
            take = window > best
            if not real.all():
                take = tf.logical_and(take, tf.constant(real[None, :, :, None]))
            first = real & ~seen
            if first.any():
                take = tf.logical_or(take, tf.constant(first[None, :, :, None]))
            best = tf.where(take, window, best)
            position = tf.where(take, flat_index, position)
        seen |= real
    index = position * channels + tf.range(channels, dtype=tf.int32)
    if include_batch:
        index = index + tf.reshape(tf.range(batch, dtype=tf.int32) * (height * width * channels), [-1, 1, 1, 1])
    return [tf.cast(best, x.dtype), tf.cast(index, node.output_dtypes[1])]


# --- cases (data for the generic tests and the benchmarks) --------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402


def _normal(shape):
    return lambda rng: [rng.standard_normal(shape).astype(np.float32)]


def _edge_inputs(shape) -> List[List[np.ndarray]]:
    """Integer values in [0, 3) (many ties); -inf with a few finite values, +inf and NaN; zeros."""
    rng = np.random.default_rng(7)
    ties = rng.integers(0, 3, shape).astype(np.float32)
    special = np.full(shape, -np.inf, np.float32)
    special.flat[::7] = rng.standard_normal(special.flat[::7].shape)
    special.flat[::11] = np.inf
    special.flat[5::17] = np.nan
    return [[ties], [special], [np.zeros(shape, np.float32)]]


def _pool_case(name, op_type, function, shape, *, atol=0.0, rtol=0.0, edges=True):
    register_case(RewriteCase(
        name=name, op_type=op_type, function=function, input_specs=[tf.TensorSpec(shape, tf.float32)],
        make_inputs=_normal(shape), atol=atol, rtol=rtol, edge_inputs=_edge_inputs(shape) if edges else (),
    ))


_pool_case("pool_max3d_same_uneven", "MaxPool3D",
           lambda x: tf.nn.max_pool3d(x, (2, 3, 2), (2, 2, 1), "SAME"), (2, 5, 7, 6, 3))
_pool_case("pool_max3d_valid_large_kernel", "MaxPool3D",
           lambda x: tf.nn.max_pool3d(x, (3, 4, 2), (1, 3, 2), "VALID"), (1, 4, 9, 5, 2))
_pool_case("pool_avg3d_same_borders", "AvgPool3D",
           lambda x: tf.nn.avg_pool3d(x, (3, 3, 2), (2, 2, 2), "SAME"), (2, 5, 6, 7, 3), atol=1e-6, rtol=1e-6)
_pool_case("pool_avg3d_same_kernel_over_input", "AvgPool3D",
           lambda x: tf.nn.avg_pool3d(x, (7, 8, 2), (2, 2, 1), "SAME"), (1, 5, 6, 3, 2), atol=1e-6, rtol=1e-6)
_pool_case("pool_avg3d_valid", "AvgPool3D",
           lambda x: tf.nn.avg_pool3d(x, (2, 2, 3), (2, 1, 2), "VALID"), (2, 4, 5, 7, 2), atol=1e-6, rtol=1e-6)
_pool_case("pool_avg3d_bfloat16", "AvgPool3D",
           lambda x: tf.cast(tf.nn.avg_pool3d(tf.cast(x, tf.bfloat16), 2, 2, "SAME"), tf.float32), (1, 3, 4, 5, 2),
           atol=4e-3, rtol=8e-3, edges=False)  # TF's bfloat16 kernel rounds differently: 2 bfloat16 ulp


def _argmax_case(name, shape, kernel, strides, padding, *, include_batch=False, index_dtype=tf.int64):
    def function(x):
        values, indices = tf.nn.max_pool_with_argmax(
            x, kernel, strides, padding, output_dtype=index_dtype, include_batch_in_index=include_batch)
        return {"values": values, "indices": indices}

    _pool_case(name, "MaxPoolWithArgmax", function, shape)


_argmax_case("pool_argmax_same_3x3_stride2", (2, 7, 6, 3), 3, 2, "SAME")
_argmax_case("pool_argmax_valid_with_batch_index", (3, 6, 7, 2), (2, 3), (2, 2), "VALID", include_batch=True)
_argmax_case("pool_argmax_same_overhang_int32", (1, 4, 5, 2), (4, 4), (3, 1), "SAME", include_batch=True,
             index_dtype=tf.int32)
