"""Elimination and factorizations: MatrixInverse, MatrixSolve, MatrixDeterminant, LogMatrixDeterminant,
Lu, Cholesky, MatrixTriangularSolve and Qr, with their cases.

* MatrixInverse, MatrixSolve, MatrixDeterminant, LogMatrixDeterminant and Lu
  use partial pivoting: the pivot row is found with ARG_MAX and swapped in
  with a batched GATHER.
* Cholesky, MatrixTriangularSolve and Qr (Householder, with Eigen/LAPACK's
  sign convention so ``R`` matches TensorFlow) are unrolled column by column.

At the n = 32 limit the elimination and triangular rules are a few hundred TFLite ops.
"""

from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import (
    _NAN, MAX_UNROLLED_SIZE, _batched, _compute_dtype, _householder_qr, _lower_symmetrized, _matrix_dims, _shape_case,
    tf,
)


# --- elimination with partial pivoting ----------------------------------------------------------


def _swap_rows(m, first: int, pivot):
    """(B, r, c) ``m`` with row ``first`` and row ``pivot`` (B,) exchanged, by a batched GATHER (exact)."""
    rows = tf.range(m.shape[1], dtype=tf.int32)[tf.newaxis, :]
    pivot = pivot[:, tf.newaxis]
    order = tf.where(tf.equal(rows, first), pivot, tf.where(tf.equal(rows, pivot), first, rows))
    return tf.gather(m, order, batch_dims=1)


def _pivot_row(column, first: int):
    """Index (B,) of the largest |entry| of (B, r) ``column`` at or below row ``first`` (the first such on ties)."""
    below = tf.constant(np.arange(column.shape[1]) >= first)
    return tf.argmax(tf.where(below, tf.abs(column), -tf.ones_like(column)), axis=1, output_type=tf.int32)


def _gauss_jordan(a, b, n: int):
    """A^-1 B for (B, n, n) ``a`` and (B, n, k) ``b``: Gauss-Jordan elimination with partial pivoting.

    Works on the augmented matrix [A | B]; after column j is eliminated it is
    dropped, so the last step leaves A^-1 B. A zero pivot (singular A) gives
    inf/NaN here; the rules built on it turn that, and every numerically
    singular A, into NaN (see :func:`_numerically_singular`).
    """
    m = tf.concat([a, b], axis=2)
    is_row = np.eye(n, dtype=bool)[:, :, np.newaxis]
    for j in range(n):
        m = _swap_rows(m, j, _pivot_row(m[:, :, 0], j))
        pivot = m[:, j:j + 1, :] / m[:, j:j + 1, 0:1]
        m = tf.where(is_row[j], pivot, m - m[:, :, 0:1] * pivot)[:, :, 1:]
    return m


# A is numerically singular in float32 when its condition estimate reaches 1 / (2 eps): the computed
# inverse then carries no correct digit. Measured over 10^3..10^4 random matrices per n = 2..32: exactly
# singular ones (integer, dyadic, sparse) and rank 1..n-1 products rounded to float32: always >= 1.7 x
# this; invertible ones with cond(A) <= 1e6: at most 0.76 x. Rows and columns scaled by up to e^+-8
# before rounding blur the edge (0.1-0.3 % of such singular ones missed, 0.03 % of cond(A) = 1e5 flagged).
SINGULAR_CONDITION = 2.0 ** 23


def _numerically_singular(a, inverse):
    """(B,) bool: True where (B, n, n) ``a`` is singular to float32 precision, judged from its computed ``inverse``.

    The estimate is Skeel's condition number || |A^-1| |A| ||_inf of A with its columns
    equilibrated (D = diag(max_i |a_ij|)): max_i sum_k (|X| |A|)_ik d_i / d_k, with X the
    computed inverse. It does not change when rows or columns of A are scaled (a diagonal
    matrix of 1e-20s and 1e20s is perfectly conditioned), and a zero or rounding-noise pivot
    makes X, hence the estimate, huge, infinite or NaN. True where it is >= SINGULAR_CONDITION
    or NaN (a NaN or inf in A counts as singular: its inverse is NaN anyway).
    """
    magnitude = tf.abs(a)
    column_scale = tf.reduce_max(magnitude, axis=1, keepdims=True)  # (B, 1, n)
    products = tf.matmul(tf.abs(inverse), magnitude)  # (|X| |A|)_ik
    condition = tf.reduce_max(tf.reduce_sum(products / column_scale, axis=2) * column_scale[:, 0, :], axis=1)
    # not logical_not(condition < limit): grappler rewrites that to condition >= limit, False for NaN
    return tf.logical_or(condition >= SINGULAR_CONDITION, tf.not_equal(condition, condition))


def _nan_where(singular, x):
    """``x`` (B, ...) with every entry of batch item b NaN where ``singular[b]``."""
    mask = tf.reshape(singular, [-1] + [1] * (len(x.shape) - 1))
    return tf.where(mask, tf.fill(tf.shape(x), _NAN), x)


def _lu_factor(a, n: int):
    """LU factorization with partial pivoting (LAPACK's getrf order) of (B, n, n) ``a``.

    Returns the packed factors (B, n, n) (L strictly below the diagonal, its
    unit diagonal implied, U on and above), the row permutation (B, n) int32
    with A[perm] = L U, the pivots (B, n) (U's diagonal) and the
    permutation's sign (B,). Step k swaps the largest |entry| of column k at
    or below row k (the first on ties) into row k, across the whole row (L's
    columns too), then updates the trailing block. A zero column gives a
    zero pivot and no division by zero (its multipliers stay 0).
    """
    rows = np.arange(n)[:, np.newaxis]
    perm = tf.broadcast_to(tf.range(n, dtype=tf.int32), tf.shape(a)[:2])
    sign = tf.ones_like(a[:, 0, 0])
    pivots = []
    for k in range(n):
        row = _pivot_row(a[:, :, k], k)
        sign = tf.where(tf.equal(row, k), sign, -sign)
        a = _swap_rows(a, k, row)
        perm = _swap_rows(perm[:, :, tf.newaxis], k, row)[:, :, 0]
        pivot = a[:, k:k + 1, k:k + 1]
        pivots.append(pivot[:, 0, 0])
        safe = tf.where(tf.equal(pivot, 0.0), tf.ones_like(pivot), pivot)
        multipliers = a[:, :, k:k + 1] / safe
        a = tf.where(tf.constant((rows > k) & (rows.T > k)), a - multipliers * a[:, k:k + 1, :],
                     tf.where(tf.constant((rows > k) & (rows.T == k)), multipliers, a))
    return a, perm, tf.stack(pivots, axis=1), sign


def _adjointed(node: NodeView, a):
    """``a`` transposed if the node's ``adjoint`` attribute is set (real matrices: adjoint = transpose)."""
    return tf.linalg.matrix_transpose(a) if node.attrs.get("adjoint", False) else a


_SINGULAR_LIMIT = ("numerically singular A (zero pivot, or the condition estimate || |A^-1| |A| ||_inf with "
                   "columns equilibrated >= 2^23) gives NaN for that matrix, where TF raises")


@rewrite_rule(
    "MatrixInverse",
    error_bound="~n cond(A) eps relative to max|A^-1| (measured <= 2e-6 at cond(A) = 100, n = 32)",
    limits=f"static n <= {MAX_UNROLLED_SIZE}; {_SINGULAR_LIMIT}",
)
def gauss_jordan_inverse(node: NodeView, x):
    """Gauss-Jordan elimination with partial pivoting on [A | I], unrolled over the n columns.

    ``adjoint`` inverts A^T. Stable in practice: the error relative to
    max|A^-1| is about n cond(A) eps, like TF's own LU-based kernel (measured
    <= 2e-6 against TF and float64 at cond(A) = 100, n = 32).

    Singular A: TF raises; a rule cannot, so every entry of that matrix's
    inverse is NaN (never finite garbage) when A is singular to float32
    precision: a zero pivot, or a condition estimate >= 2^23 = 1 / (2 eps)
    (Skeel's || |A^-1| |A| ||_inf with the columns of A equilibrated, from the
    computed inverse; see :func:`_numerically_singular`). It is invariant to
    row and column scaling, so a well-conditioned but badly scaled matrix
    (diag(1e-20, 1e20)) is inverted as usual. Measured: every exactly singular
    sample (integer, sparse, rank 1..n-1, n = 2..32) gives NaN; cond(A) <= 1e6
    never does unscaled.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    a = _adjointed(node, a)
    inverse = _gauss_jordan(a, tf.broadcast_to(tf.eye(n), tf.shape(a)), n)
    return restore(_nan_where(_numerically_singular(a, inverse), inverse), [n, n])


@rewrite_rule(
    "MatrixSolve",
    error_bound="~n cond(A) eps relative to max|X| (measured <= 2e-6 at cond(A) = 100, n = 32)",
    limits=f"static n <= {MAX_UNROLLED_SIZE}, same batch shape for matrix and rhs; {_SINGULAR_LIMIT}",
)
def gauss_jordan_solve(node: NodeView, matrix, rhs):
    """X with A X = B (A^T X = B with ``adjoint``): Gauss-Jordan with partial pivoting on [A | B | I].

    Error relative to max|X| about n cond(A) eps, like TF's LU-based kernel
    (measured <= 2e-6 at cond(A) = 100, n = 32). The identity columns carry
    A^-1 along for the singularity test of MatrixInverse: where TF raises on a
    numerically singular A, every entry of that system's X is NaN (also for a
    consistent right-hand side, which has no unique solution).
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, 0, square=True)
    rows, k = _matrix_dims(node, 1, unrolled=False)
    if node.input_shapes[0][:-2] != node.input_shapes[1][:-2]:
        node.decline(f"matrix batch shape {node.input_shapes[0][:-2]} differs from rhs {node.input_shapes[1][:-2]}")
    a, _ = _batched(matrix, n, n)
    b, restore = _batched(rhs, rows, k)
    a = _adjointed(node, a)
    both = _gauss_jordan(a, tf.concat([b, tf.broadcast_to(tf.eye(n), tf.shape(a))], axis=2), n)
    solution, inverse = both[:, :, :k], both[:, :, k:]
    return restore(_nan_where(_numerically_singular(a, inverse), solution), [n, k])


def _slogdet(a, n: int):
    """(sign, log|det|), each (B,), of (B, n, n) ``a`` from the pivots of LU with partial pivoting."""
    _, _, pivots, sign = _lu_factor(a, n)
    sign = sign * tf.reduce_prod(tf.sign(pivots), axis=1)
    return sign, tf.reduce_sum(tf.math.log(tf.abs(pivots)), axis=1)


@rewrite_rule(
    "MatrixDeterminant",
    error_bound="(n cond(A) + |log|det||) eps relative (measured <= 4e-6 at cond(A) = 100)",
    limits=f"static n <= {MAX_UNROLLED_SIZE}; singular A: 0, or TF's own rounding-noise value",
)
def lu_determinant(node: NodeView, x):
    """sign * exp(sum log|pivot|) over the pivots of LU with partial pivoting (TF's own formula).

    Exactly 0 for a matrix whose elimination meets a zero column (e.g. zeros or
    repeated rows), like TF. Summing logarithms keeps intermediate products
    from overflowing and gives TF's range; the relative error is about
    (n cond(A) + |log|det||) eps. Other singular matrices give a rounding-noise
    pivot, so a determinant within n eps prod_i |row_i| of the exact 0 (more when
    rows are scaled far apart): the same pivots, hence the same value, as TF's
    (measured equal to 1e-4 relative), not NaN, since 0 is a legitimate determinant.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    sign, log_abs = _slogdet(a, n)
    return restore(sign * tf.exp(log_abs), [])


@rewrite_rule(
    "LogMatrixDeterminant",
    error_bound="n cond(A) eps abs on log|det| (measured <= 4e-6 at cond(A) = 100); sign exact",
    limits=f"static n <= {MAX_UNROLLED_SIZE}",
)
def lu_log_determinant(node: NodeView, x):
    """(sign, log|det|) from the pivots of LU with partial pivoting: sum of log|pivot|, product of signs.

    A singular matrix (zero pivot) gives (0, -inf) like TF; one whose elimination meets
    a rounding-noise pivot instead gives TF's own (sign, log|det|) of that pivot.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    sign, log_abs = _slogdet(a, n)
    return [restore(sign, []), restore(log_abs, [])]


@rewrite_rule(
    "Lu",
    error_bound="~n cond(A) eps relative to max|A| on lu (measured <= 1e-6 at n = 32); p exact",
    limits=f"static n <= {MAX_UNROLLED_SIZE}; singular A (TF raises): still a factorization A[p] = L U, "
           "with a zero or rounding-noise pivot in U",
)
def partial_pivoting_lu(node: NodeView, x):
    """LU with partial pivoting unrolled over the columns: the same pivots as TF (and LAPACK's getrf).

    Each step takes the largest |entry| of the column at or below the
    diagonal (the first on ties), so ``p`` equals TF's exactly and ``lu``
    (unit-diagonal L below, U on and above) agrees to ~n cond(A) eps (TF's
    kernel may block the updates differently). Pivots can only differ from
    TF's where two candidates tie up to rounding. A singular matrix, where TF
    raises an error, gives a zero (or rounding-noise) pivot here, and the
    result is still a valid factorization: A[p] = L U to ~n eps max|A|, finite
    (a zero column leaves its multipliers 0), measured on exactly singular
    matrices; not finite garbage, so it is returned rather than NaN.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    lu, perm, _, _ = _lu_factor(a, n)
    perm_shape = x.shape[:-1].as_list() if x.shape[:-1].is_fully_defined() else tf.shape(x)[:-1]
    return [restore(lu, [n, n]), tf.cast(tf.reshape(perm, perm_shape), node.attrs["output_idx_type"])]


# --- triangular factorizations and solves --------------------------------------------------------


@rewrite_rule(
    "Cholesky",
    error_bound="~n cond(A) eps relative to max|L| (measured <= 2e-7 at n = 32)",
    limits=f"static n <= {MAX_UNROLLED_SIZE}; symmetric positive definite (else a NaN lower triangle, like TF)",
)
def cholesky(node: NodeView, x):
    """Right-looking Cholesky, one column per step: l_j = s_j / sqrt(s_jj), then the Schur complement.

    Reads the lower triangle only and returns zeros above the diagonal (like
    TF). When a pivot is not positive (the matrix is not positive definite)
    TF fills the lower triangle with NaN, leaving the upper one undefined;
    here the lower triangle is NaN too and the upper one zeros.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    s = _lower_symmetrized(a, n)
    columns = []
    definite = tf.ones_like(a[:, 0, 0], dtype=tf.bool)
    for j in range(n):
        pivot = s[:, 0:1, 0]
        definite = tf.logical_and(definite, pivot[:, 0] > 0.0)
        root = tf.sqrt(pivot)
        below = s[:, 1:, 0] / root
        columns.append(tf.pad(tf.concat([root, below], axis=1), [[0, 0], [j, 0]]))
        s = s[:, 1:, 1:] - below[:, :, tf.newaxis] * below[:, tf.newaxis, :]
    lower = tf.stack(columns, axis=2)
    failed = tf.where(tf.constant(np.tril(np.ones((n, n), bool))), float("nan"), 0.0)
    return restore(tf.where(definite[:, tf.newaxis, tf.newaxis], lower, failed), [n, n])


@rewrite_rule(
    "MatrixTriangularSolve",
    error_bound="~n cond(T) eps relative to max|X| (measured <= 2e-7 at n = 32)",
    limits=f"static n <= {MAX_UNROLLED_SIZE} (batch dimensions broadcast, may be dynamic)",
)
def substitution_triangular_solve(node: NodeView, matrix, rhs):
    """Forward (lower) or back (upper) substitution, one row of X per step, column-oriented updates.

    Only the ``lower`` (or upper) triangle of ``matrix`` is read; ``adjoint``
    solves with its transpose, i.e. the other substitution direction. Batch
    dimensions broadcast like TF's. A zero on the diagonal gives inf/NaN,
    like TF.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, 0, square=True)
    lower = bool(node.attrs.get("lower", True))
    mask = np.tril(np.ones((n, n), bool)) if lower else np.triu(np.ones((n, n), bool))
    a = tf.cast(matrix, tf.float32)
    a = tf.where(tf.constant(mask), a, tf.zeros_like(a))
    if node.attrs.get("adjoint", False):
        a, lower = tf.linalg.matrix_transpose(a), not lower
    b = tf.cast(rhs, tf.float32)
    solution: List = [None] * n
    order = list(range(n)) if lower else list(reversed(range(n)))
    for step, i in enumerate(order):
        solution[i] = b[..., i:i + 1, :] / a[..., i:i + 1, i:i + 1]
        if step < n - 1:
            b = b - a[..., :, i:i + 1] * solution[i]
    return tf.cast(tf.concat(solution, axis=-2), rhs.dtype)


# --- Householder QR ------------------------------------------------------------------------------


@rewrite_rule(
    "Qr",
    error_bound="1e-5 relative to max|A| vs TF's Q and R, same signs (measured <= 2e-6 at n = 32)",
    limits=f"static m, n <= {MAX_UNROLLED_SIZE}",
)
def householder_qr(node: NodeView, x):
    """Householder QR unrolled over the columns, Eigen/LAPACK sign convention (so Q and R match TF's).

    ``full_matrices`` gives Q (m, m) and R (m, n), else Q (m, k) and R (k, n),
    k = min(m, n). Householder QR is backward stable: Q R - A and Q^T Q - I
    are a few eps; Q and R agree with TF's to ~n eps cond(A) (the factors are
    unique given the sign convention, except where a column is exactly
    dependent on the previous ones); measured <= 2e-6 at 32 x 32, cond(A) <= 200.
    """
    _compute_dtype(node)
    m, n = _matrix_dims(node)
    a, restore = _batched(x, m, n)
    q, r = _householder_qr(a, m, n)
    k = m if node.attrs.get("full_matrices", False) else min(m, n)
    return [restore(q[:, :, :k], [m, k]), restore(r[:, :k, :], [k, n])]


# --- cases (data for the generic tests and the benchmarks) --------------------------------------


def _conditioned(rng: np.random.Generator, shape: Sequence[int], condition: float = 10.0) -> np.ndarray:
    """Random square matrices U diag(s) V^T with singular values s in [1, condition]."""
    n = shape[-1]
    u, _ = np.linalg.qr(rng.normal(size=tuple(shape)))
    v, _ = np.linalg.qr(rng.normal(size=tuple(shape)))
    s = np.exp(rng.uniform(0.0, math.log(condition), size=tuple(shape[:-2]) + (n,)))
    return ((u * s[..., np.newaxis, :]) @ np.swapaxes(v, -1, -2)).astype(np.float32)


def _spd(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    a = rng.normal(size=shape)
    return (a @ np.swapaxes(a, -1, -2) / shape[-1] + np.eye(shape[-1])).astype(np.float32)


def _triangular_system(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Well-conditioned triangular-solve matrices: diagonal +-(1..2), small off-diagonal entries."""
    n = shape[-1]
    a = 0.3 * rng.normal(size=shape) / math.sqrt(n)
    diagonal = rng.uniform(1.0, 2.0, size=tuple(shape[:-1])) * rng.choice([-1.0, 1.0], size=tuple(shape[:-1]))
    return (a + diagonal[..., np.newaxis] * np.eye(n)).astype(np.float32)


_PIVOTING = np.stack([np.eye(6), np.eye(6)[::-1], np.diag([1e10, -1e-10, 3, 1e20, 1e-20, 1])]).astype(np.float32)


def _nearly_singular(n: int) -> np.ndarray:
    """Rows shuffled of blocks [[c, c], [c, c (1 + 2^-k)]] (cond(A) up to 5e5), eliminated without rounding:
    invertible, so never NaN, and their inverses (entries up to 2^16) are computed exactly."""
    blocks = [np.array([[c, c], [c, c * (1.0 + 2.0 ** -k)]]) for c, k in [(1.0, 16), (3.0, 14), (0.5, 12)]]
    a = np.zeros((n, n))
    for i, block in enumerate(blocks[:n // 2]):
        a[2 * i:2 * i + 2, 2 * i:2 * i + 2] = block
    return a[np.random.default_rng(n).permutation(n)].astype(np.float32)


_shape_case("inverse_3x6x6", "MatrixInverse", tf.linalg.inv, [(3, 6, 6)],
            lambda rng: [_conditioned(rng, (3, 6, 6))], atol=1e-5, rtol=1e-5,
            edges=[[_PIVOTING], [np.stack([_nearly_singular(6), _nearly_singular(6).T, np.eye(6, dtype=np.float32)])]])
_shape_case("inverse_adjoint_4x4", "MatrixInverse", lambda a: tf.linalg.inv(a, adjoint=True), [(4, 4)],
            lambda rng: [_conditioned(rng, (4, 4))], atol=1e-5, rtol=1e-5,
            edges=[[np.array([[0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 3], [0, 0, 4, 1]], np.float32)]])
_NEAR_5 = np.eye(5, dtype=np.float32)
_NEAR_5[:4, :4] = _nearly_singular(4)
_shape_case("solve_2x5x5_rhs3", "MatrixSolve", tf.linalg.solve, [(2, 5, 5), (2, 5, 3)],
            lambda rng: [_conditioned(rng, (2, 5, 5)), rng.normal(size=(2, 5, 3)).astype(np.float32)],
            atol=1e-5, rtol=1e-5,
            edges=[[np.stack([_NEAR_5, _NEAR_5.T]), np.stack([np.eye(5, 3), -np.ones((5, 3))]).astype(np.float32)]])
_shape_case("solve_adjoint_6x6_rhs1", "MatrixSolve", lambda a, b: tf.linalg.solve(a, b, adjoint=True),
            [(6, 6), (6, 1)], lambda rng: [_conditioned(rng, (6, 6)), rng.normal(size=(6, 1)).astype(np.float32)],
            atol=1e-5, rtol=1e-5)

_SINGULAR = np.array([[[0, 0, 0], [0, 0, 0], [0, 0, 0]], [[1, 2, 3], [2, 4, 6], [1, 0, 1]],
                      [[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[1e20, 0, 0], [0, 1e20, 0], [0, 0, 1e-3]]], np.float32)
_shape_case("det_4x3x3", "MatrixDeterminant", tf.linalg.det, [(4, 3, 3)],
            lambda rng: [_conditioned(rng, (4, 3, 3))], atol=1e-6, rtol=1e-5, edges=[[_SINGULAR]])
_shape_case("det_2x6x6", "MatrixDeterminant", tf.linalg.det, [(2, 6, 6)],
            lambda rng: [rng.normal(size=(2, 6, 6)).astype(np.float32)], atol=1e-6, rtol=2e-5)
_shape_case("slogdet_4x3x3", "LogMatrixDeterminant", lambda a: tf.linalg.slogdet(a), [(4, 3, 3)],
            lambda rng: [_conditioned(rng, (4, 3, 3)) * np.float32(1e3)], atol=1e-5, rtol=1e-6, edges=[[_SINGULAR]])

_SPD_EDGES = [
    [np.stack([np.eye(6), np.diag([4.0, 1e-6, 9, 1e10, 1, 2])]).astype(np.float32)],
    [np.tril(_spd(np.random.default_rng(3), (2, 6, 6))) + np.triu(np.full((6, 6), _NAN, np.float32), 1)],
]
_shape_case("cholesky_2x6x6", "Cholesky", tf.linalg.cholesky, [(2, 6, 6)],
            lambda rng: [_spd(rng, (2, 6, 6))], atol=1e-5, rtol=1e-5, edges=_SPD_EDGES)
_shape_case("logdet_5x5", "Cholesky", tf.linalg.logdet, [(5, 5)],
            lambda rng: [_spd(rng, (5, 5))], atol=1e-5, rtol=1e-5,
            edges=[[np.diag([1e-20, 1e20, 2, 3, 4]).astype(np.float32)]])
_shape_case("triangular_solve_lower_2x1x5x5", "MatrixTriangularSolve", tf.linalg.triangular_solve,
            [(2, 1, 5, 5), (3, 5, 2)],
            lambda rng: [_triangular_system(rng, (2, 1, 5, 5)), rng.normal(size=(3, 5, 2)).astype(np.float32)],
            atol=1e-5, rtol=1e-5)
_UNIT_UPPER_NAN_BELOW = np.triu(np.ones((6, 6), np.float32)) + np.tril(np.full((6, 6), _NAN, np.float32), -1)
_shape_case("triangular_solve_upper_adjoint_6x6", "MatrixTriangularSolve",
            lambda a, b: tf.linalg.triangular_solve(a, b, lower=False, adjoint=True), [(6, 6), (6, 3)],
            lambda rng: [_triangular_system(rng, (6, 6)), rng.normal(size=(6, 3)).astype(np.float32)],
            atol=1e-5, rtol=1e-5, edges=[[_UNIT_UPPER_NAN_BELOW, np.ones((6, 3), np.float32)]])

_shape_case("qr_2x6x4", "Qr", tf.linalg.qr, [(2, 6, 4)],
            lambda rng: [rng.normal(size=(2, 6, 4)).astype(np.float32)], atol=1e-5, rtol=1e-5,
            edges=[[np.stack([np.zeros((6, 4)), np.triu(-np.ones((6, 4)))]).astype(np.float32)]])
_shape_case("qr_full_4x6", "Qr", lambda a: tf.linalg.qr(a, full_matrices=True), [(4, 6)],
            lambda rng: [rng.normal(size=(4, 6)).astype(np.float32)], atol=1e-5, rtol=1e-5,
            edges=[[np.eye(4, 6, dtype=np.float32)]])
_shape_case("qr_full_3x5x3", "Qr", lambda a: tf.linalg.qr(a, full_matrices=True), [(3, 5, 3)],
            lambda rng: [rng.normal(size=(3, 5, 3)).astype(np.float32) * np.float32(100)], atol=1e-3, rtol=1e-5)

_TIES = np.stack([  # exact ties in |pivot| at every step (the first row wins), and a permutation
    np.array([[1, 1, 1, 1], [-1, 1, -1, 1], [1, -1, -1, 1], [-1, -1, 1, 1]]),
    np.eye(4)[[2, 0, 3, 1]] * np.array([1e-20, 1e20, -3, 1]),
]).astype(np.float32)
_shape_case("lu_2x4x4", "Lu", tf.linalg.lu, [(2, 4, 4)], lambda rng: [_conditioned(rng, (2, 4, 4))],
            atol=1e-5, rtol=1e-5, edges=[[_TIES]])
_shape_case("lu_int64_3x7x7", "Lu", lambda a: tf.linalg.lu(a, output_idx_type=tf.int64), [(3, 7, 7)],
            lambda rng: [rng.normal(size=(3, 7, 7)).astype(np.float32)], atol=1e-5, rtol=1e-5)
_shape_case("lu_32x32", "Lu", tf.linalg.lu, [(32, 32)],  # scaled to max|A| = 1: atol is relative to max|A|
            lambda rng: [(lambda a: a / np.abs(a).max())(_conditioned(rng, (32, 32), 100.0))], atol=1e-5)
