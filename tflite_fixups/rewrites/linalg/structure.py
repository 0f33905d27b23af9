"""Matrix structure: MatrixDiagPartV3 (diagonals and bands), EuclideanNorm and Cross, with their cases."""

from __future__ import annotations

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _INF, _NAN, _compute_dtype, _shape_case, tf


def _real_only(node: NodeView) -> None:
    dtype = node.input_dtypes[0]
    if dtype.is_complex or not (dtype.is_floating or dtype.is_integer):
        node.decline(f"{node.op_type} with dtype {dtype.name} is not rewritten (real types only)")


@rewrite_rule(
    "MatrixDiagPartV3",
    error_bound="exact",
    limits="static matrix and output shapes (so k is a constant)",
)
def gather_diag_part(node: NodeView, x, k, padding_value):
    """A GATHER of the flattened matrices with a table of flat indices; padded slots index an appended
    ``padding_value``.

    k is a scalar (one diagonal, output (..., len)) or a pair (k0, k1) (band,
    output (..., k1 - k0 + 1, max_len), top diagonal first). ``align``
    ("RIGHT_LEFT" by default) says whether superdiagonals (first word) and
    subdiagonals (second word) shorter than max_len are padded on the right
    (LEFT) or the left (RIGHT). The index table is computed in the graph from
    k; the converter folds it to a constant when k is constant.
    """
    _real_only(node)
    shape, out_shape = node.input_shapes[0], node.output_shapes[0]
    if shape is None or out_shape is None or None in shape[-2:] or None in out_shape[len(shape) - 2:]:
        node.decline(f"MatrixDiagPartV3 needs static matrix and diagonal sizes, got {shape} -> {out_shape}")
    m, n = shape[-2], shape[-1]
    band = len(out_shape) == len(shape)
    count, length = (out_shape[-2], out_shape[-1]) if band else (1, out_shape[-1])
    align = node.attrs.get("align", b"RIGHT_LEFT")
    align = align.decode() if isinstance(align, bytes) else align
    super_right, sub_right = (part == "RIGHT" for part in align.split("_"))
    k = tf.reshape(tf.cast(k, tf.int32), [-1])
    d = k[-1] - tf.range(count, dtype=tf.int32)[:, tf.newaxis]  # (count, 1), top diagonal first
    diagonal_length = tf.minimum(m + tf.minimum(d, 0), n - tf.maximum(d, 0))
    right = tf.where(d >= 0, super_right, sub_right)
    position = tf.range(length, dtype=tf.int32)[tf.newaxis, :] - tf.where(right, length - diagonal_length, 0)
    valid = tf.logical_and(position >= 0, position < diagonal_length)
    flat = (position + tf.maximum(-d, 0)) * n + position + tf.maximum(d, 0)
    indices = tf.where(valid, flat, m * n)
    padding = tf.broadcast_to(padding_value, tf.concat([tf.shape(x)[:-2], [1]], axis=0))
    table = tf.concat([tf.reshape(x, tf.concat([tf.shape(x)[:-2], [m * n]], axis=0)), padding], axis=-1)
    return tf.gather(table, indices if band else indices[0], axis=-1)


@rewrite_rule("EuclideanNorm", error_bound="2 ulp (sqrt of the sum of squares, like TF)",
              limits="float32/float16/bfloat16 (integer norms are left to TF)")
def euclidean_norm(node: NodeView, x, axes):
    """sqrt(reduce_sum(x * x, axes, keep_dims)); overflows for |x| > 1.8e19 exactly like TF's kernel.

    Empty ``axes`` give |x|, like TF.
    """
    _compute_dtype(node)
    keep_dims = bool(node.attrs.get("keep_dims", False))
    squared = tf.cast(x, tf.float32) * tf.cast(x, tf.float32)
    return tf.cast(tf.sqrt(tf.reduce_sum(squared, axis=axes, keepdims=keep_dims)), x.dtype)


@rewrite_rule("Cross", error_bound="exact (same products and differences as TF)", limits="last dimension 3")
def cross(node: NodeView, a, b):
    """a x b = a_yzx * b_zxy - a_zxy * b_yzx, with the component permutations as GATHERs."""
    _real_only(node)
    yzx, zxy = [1, 2, 0], [2, 0, 1]
    a_yzx, a_zxy = tf.gather(a, yzx, axis=-1), tf.gather(a, zxy, axis=-1)
    b_yzx, b_zxy = tf.gather(b, yzx, axis=-1), tf.gather(b, zxy, axis=-1)
    return a_yzx * b_zxy - a_zxy * b_yzx


# --- cases (data for the generic tests and the benchmarks) --------------------------------------


_shape_case("trace_2x4x5", "MatrixDiagPartV3", tf.linalg.trace, [(2, 4, 5)],
            lambda rng: [rng.normal(size=(2, 4, 5)).astype(np.float32)], atol=1e-6, rtol=1e-6)
_shape_case("diag_part_k1_3x4", "MatrixDiagPartV3", lambda a: tf.linalg.diag_part(a, k=1), [(2, 3, 4)],
            lambda rng: [rng.normal(size=(2, 3, 4)).astype(np.float32)], atol=0.0)
_shape_case("diag_part_band_left_right", "MatrixDiagPartV3",
            lambda a: tf.linalg.diag_part(a, k=(-2, 1), padding_value=-9.0, align="LEFT_RIGHT"), [(2, 4, 5)],
            lambda rng: [rng.normal(size=(2, 4, 5)).astype(np.float32)], atol=0.0,
            edges=[[np.array([[[_INF, -_INF, _NAN, 0, -0.0]] * 4] * 2, np.float32)]])
_shape_case("diag_part_band_int32", "MatrixDiagPartV3",
            lambda a: tf.linalg.diag_part(a, k=(1, 3), padding_value=7, align="RIGHT_RIGHT"), [(5, 4)],
            lambda rng: [rng.integers(-100, 100, size=(5, 4)).astype(np.int32)], atol=0.0, dtypes=[tf.int32])
_shape_case("euclidean_norm_keepdims", "EuclideanNorm",
            lambda a: tf.math.reduce_euclidean_norm(a, axis=[1, 2], keepdims=True), [(2, 3, 4)],
            lambda rng: [rng.normal(size=(2, 3, 4)).astype(np.float32)], atol=1e-7, rtol=1e-6,
            edges=[[np.resize(np.array([0, -0.0, 1e-25, 1e20, -3, _INF, _NAN, 1], np.float32), (2, 3, 4))]])
_shape_case("euclidean_norm_last_axis", "EuclideanNorm", lambda a: tf.math.reduce_euclidean_norm(a, axis=-1),
            [(3, 7)], lambda rng: [rng.normal(size=(3, 7)).astype(np.float32)], atol=1e-7, rtol=1e-6)
_CROSS_EDGES = [[np.array([[1, 0, 0], [_INF, 1, 2], [1e20, 1e20, 0], [_NAN, 0, 0]], np.float32),
                 np.array([[0, 1, 0], [1, 2, 3], [1e20, 1e20, 1], [1, 1, 1]], np.float32)]]
_shape_case("cross_4x3", "Cross", tf.linalg.cross, [(4, 3), (4, 3)],
            lambda rng: [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)],
            atol=1e-6, rtol=1e-6, edges=_CROSS_EDGES)
_shape_case("cross_int32_2x2x3", "Cross", tf.linalg.cross, [(2, 2, 3), (2, 2, 3)],
            lambda rng: [rng.integers(-1000, 1000, size=(2, 2, 3)).astype(np.int32),
                         rng.integers(-1000, 1000, size=(2, 2, 3)).astype(np.int32)],
            atol=0.0, dtypes=[tf.int32, tf.int32])
