"""Helpers shared by the linear-algebra rule modules (jacobi, elimination, structure): the size limit,
dtype and shape checks, batching, the Householder QR (used by Qr and Svd) and case registration."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from ..._quiet import import_tensorflow
from ..cases import RewriteCase, register_case
from ..registry import NodeView

tf = import_tensorflow()

MAX_UNROLLED_SIZE = 32
_FLOAT_DTYPES = ("float32", "float16", "bfloat16")
_INF, _NAN = float("inf"), float("nan")


def _compute_dtype(node: NodeView, index: int = 0) -> tf.DType:
    """The dtype of input ``index``, declining anything but float32/float16/bfloat16."""
    dtype = node.input_dtypes[index]
    if dtype.name not in _FLOAT_DTYPES:
        node.decline(f"{node.op_type} with dtype {dtype.name} is not rewritten (float32/float16/bfloat16 only)")
    return dtype


def _matrix_dims(node: NodeView, index: int = 0, *, square: bool = False, unrolled: bool = True) -> Tuple[int, int]:
    """Static (rows, cols) of matrix input ``index``; declines unknown or empty ones and, for a matrix
    the algorithm is ``unrolled`` over (not a right-hand side), sizes above the limit."""
    shape = node.input_shapes[index]
    if shape is None or len(shape) < 2 or shape[-1] is None or shape[-2] is None:
        node.decline(f"{node.op_type} needs static matrix dimensions, got input shape {shape} (pin input shapes)")
    rows, cols = shape[-2], shape[-1]
    if rows == 0 or cols == 0:
        node.decline(f"empty {rows}x{cols} matrices are left to TensorFlow")
    if square and rows != cols:
        node.decline(f"{node.op_type} needs square matrices, got {rows}x{cols}")
    if unrolled and max(rows, cols) > MAX_UNROLLED_SIZE:
        node.decline(
            f"matrix size {rows}x{cols} exceeds {MAX_UNROLLED_SIZE}: the unrolled algorithm would be too large"
        )
    return rows, cols


def _batched(x, rows: int, cols: int):
    """``x`` (..., rows, cols) as (B, rows, cols) float32, and ``restore(y, tail)`` giving ``y`` the shape
    ``batch + tail`` and the dtype of ``x`` back."""
    dtype = x.dtype
    if x.shape[:-2].is_fully_defined():
        batch_shape = x.shape[:-2].as_list()
    else:
        batch_shape = tf.shape(x)[:-2]

    def restore(y, tail: Sequence[int]):
        if isinstance(batch_shape, list):
            shape = batch_shape + list(tail)
        else:
            shape = tf.concat([batch_shape, tf.constant(list(tail), tf.int32)], axis=0)
        return tf.cast(tf.reshape(y, shape), dtype)

    return tf.reshape(tf.cast(x, tf.float32), [-1, rows, cols]), restore


def _lower_symmetrized(a, n: int):
    """The symmetric matrix whose lower triangle is that of ``a`` (what LAPACK-style kernels read)."""
    lower = tf.constant(np.tril(np.ones((n, n), bool)))
    return tf.where(lower, a, tf.linalg.matrix_transpose(a))


def _householder_qr(a, m: int, n: int):
    """Q (B, m, m) and upper-triangular R (B, m, n) with A = Q R, for (B, m, n) ``a``.

    One Householder reflection H = I - tau v v^T per column k < min(m, n), with
    Eigen's (and LAPACK's) convention so R matches TF: v[k] = 1, R[k, k] = beta
    = -sign(alpha) |x| (alpha = x[k], sign(0) = +1); no reflection (tau = 0,
    R[k, k] = alpha) when the squared norm below the diagonal is <= FLT_MIN.
    """
    rows = np.arange(m)
    q = tf.broadcast_to(tf.eye(m), tf.concat([tf.shape(a)[:1], [m, m]], axis=0))
    r = a
    for k in range(min(m, n)):
        column = r[:, :, k]
        alpha = column[:, k:k + 1]
        tail = tf.where(tf.constant(rows > k), column, tf.zeros_like(column))
        tail_squared = tf.reduce_sum(tail * tail, axis=1, keepdims=True)
        norm = tf.sqrt(alpha * alpha + tail_squared)
        beta = tf.where(alpha >= 0.0, -norm, norm)
        reflect = tail_squared > float(np.finfo(np.float32).tiny)
        tau = tf.where(reflect, (beta - alpha) / beta, tf.zeros_like(beta))
        v = tf.constant(rows == k, tf.float32) + tail / tf.where(reflect, alpha - beta, tf.ones_like(beta))
        tau_v = tau * v
        r = r - tau_v[:, :, tf.newaxis] * tf.matmul(v[:, tf.newaxis, :], r)
        q = q - tf.matmul(q, v[:, :, tf.newaxis]) * tau_v[:, tf.newaxis, :]
    return q, tf.where(tf.constant(np.triu(np.ones((m, n), bool))), r, tf.zeros_like(r))


def _shape_case(name: str, op_type: str, function, shapes: Sequence[Sequence[int]], make_inputs, *,
                atol: float, rtol: float = 0.0, edges: Sequence = (), compare=None, dtypes=None) -> None:
    """Register case ``linalg_<name>`` with static input ``shapes`` (float32 unless ``dtypes``)."""
    register_case(RewriteCase(
        name=f"linalg_{name}", op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(shape, dtype) for shape, dtype in zip(shapes, dtypes or [tf.float32] * len(shapes))],
        make_inputs=make_inputs, atol=atol, rtol=rtol, edge_inputs=[list(edge) for edge in edges], compare=compare,
    ))
