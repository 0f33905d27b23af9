"""Sliding-window image ops: ExtractImagePatches and Dilation2D.

Patches are one gather of the zero-padded pixels with a constant index table;
dilation is unrolled over the static filter taps with strided slices and
selects. Both follow TensorFlow's CPU kernels (SAME/VALID padding, rates,
NaN and Inf handling) and are exact.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _MAX_GATHER, _float_only, _image_hwc, tf

_MAX_DILATION_TAPS = 121  # Dilation2D: unrolled over at most 11 x 11 kernel offsets


# --- window helpers -------------------------------------------------------------------------------


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

from ..cases import RewriteCase, register_case  # noqa: E402


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
