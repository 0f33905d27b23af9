"""Banded and tridiagonal solves: BandedTriangularSolve and TridiagonalSolve, with their cases.

Both are substitutions unrolled over the static matrix size, one row of the
solution per step, from slices of the band storage (no dense matrix is
formed): BandedTriangularSolve reads the K bands directly; TridiagonalSolve
is Gaussian elimination of the three diagonals, with the row interchanges of
LAPACK's gtsv when ``partial_pivoting`` is set (TF's default), then back
substitution. Batch dimensions broadcast and may be dynamic.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _NAN, _compute_dtype, _matrix_dims, _shape_case, tf

MAX_BANDED_SIZE = 256  # rows of a banded system: each unrolled step is about 6 TFLite ops
MAX_BANDS = 64  # bands of a banded system: each step multiplies up to MAX_BANDS - 1 earlier solution rows
MAX_TRIDIAGONAL_SIZE = 64  # rows of a tridiagonal system: each unrolled step is about 30 TFLite ops


def _check_size(node: NodeView, what: str, size: int, limit: int) -> None:
    if size > limit:
        node.decline(f"{what} {size} exceeds {limit}: the unrolled substitution would be too large")


def _shifted(row, shift: int, size: int):
    """(..., size) ``row`` moved ``shift`` places to the left (right if negative), zero-filled."""
    if shift == 0:
        return row
    if shift >= size or -shift >= size:
        return tf.zeros_like(row)
    if shift > 0:
        return tf.concat([row[..., shift:], tf.zeros_like(row[..., :shift])], axis=-1)
    return tf.concat([tf.zeros_like(row[..., shift:]), row[..., :shift]], axis=-1)


def _row_coefficients(bands, count: int, size: int, lower: bool, adjoint: bool):
    """(..., count, size) C with C[0, i] the diagonal entry of row i of the solved matrix (A, or A^T with
    ``adjoint``) and C[k, i] its entry k places off the diagonal (towards the already solved rows).

    TF's band storage is LEFT_RIGHT aligned: for ``lower``, row k holds
    subdiagonal k with A[i, i - k] = bands[k, i]; otherwise row count - 1 - k
    holds superdiagonal k with A[i, i + k] = bands[count - 1 - k, i]. A^T reads
    the same diagonals, shifted by k.
    """
    rows = [bands[..., k, :] for k in range(count)]
    if not lower:
        rows = rows[::-1]
    if adjoint:
        rows = [_shifted(row, k if lower else -k, size) for k, row in enumerate(rows)]
    return tf.stack(rows, axis=-2)


@rewrite_rule(
    "BandedTriangularSolve",
    error_bound="~n cond(A) eps relative to max|X| (measured <= 6e-8 vs float64 at n = 256, K = 5)",
    limits=f"static n <= {MAX_BANDED_SIZE} and K <= {MAX_BANDS} bands (batch dimensions broadcast, may be dynamic)",
)
def banded_substitution(node: NodeView, bands, rhs):
    """Forward or back substitution reading the K bands directly: one row of X per step, each a
    (1 x K-1) by (K-1 x m) product with the earlier rows.

    Forward for ``lower`` (back with ``adjoint``, which solves A^T X = B),
    back for upper (forward with ``adjoint``). Entries outside the band
    storage's meaningful part (its padding) are never read. A zero on the
    diagonal gives inf/NaN, as in TF. The error is that of any substitution:
    about n cond(A) eps relative to max|X| (measured <= 6e-8 against float64
    at n = 256, K = 5, all four lower/adjoint forms; <= 8e-8 against TF).
    """
    _compute_dtype(node)
    count, n = _matrix_dims(node, 0, unrolled=False)
    rows, _ = _matrix_dims(node, 1, unrolled=False)
    if rows != n:
        node.decline(f"bands of a {n}x{n} matrix with a right-hand side of {rows} rows (TF raises an error)")
    _check_size(node, "matrix size", n, MAX_BANDED_SIZE)
    _check_size(node, "band count", count, MAX_BANDS)
    lower, adjoint = bool(node.attrs.get("lower", True)), bool(node.attrs.get("adjoint", False))
    coefficients = _row_coefficients(tf.cast(bands, tf.float32), count, n, lower, adjoint)
    b = tf.cast(rhs, tf.float32)
    forward = lower != adjoint
    solution: List = [None] * n
    for step, i in enumerate(range(n) if forward else reversed(range(n))):
        residual = b[..., i:i + 1, :]
        width = min(step, count - 1)
        if width:
            solved = [solution[i - k if forward else i + k] for k in range(1, width + 1)]
            weights = tf.expand_dims(coefficients[..., 1:width + 1, i], -2)
            residual = residual - tf.matmul(weights, tf.concat(solved, axis=-2))
        solution[i] = residual / coefficients[..., 0:1, i:i + 1]
    return tf.cast(tf.concat(solution, axis=-2), rhs.dtype)


def _tridiagonal_eliminate(upper: Sequence, diagonal: Sequence, lower: Sequence, rhs: Sequence, pivoting: bool):
    """Gaussian elimination of a tridiagonal system, row by row, as LAPACK's gtsv.

    Arguments are per-row lists: the row's super-, main and subdiagonal entries
    (each (..., 1)) and right-hand side (..., m). With ``pivoting``, rows i and
    i + 1 are interchanged when |sub_{i+1}| > |pivot_i|, which fills in a
    second superdiagonal. Returns the upper-triangular factor's three
    diagonals (pivot, super, second super) and the transformed right-hand
    side, one entry per row.
    """
    n = len(diagonal)
    pivot, super_, rest = diagonal[0], upper[0], rhs[0]
    factor_rows = []
    for i in range(n - 1):
        below_sub, below_diag, below_rhs = lower[i + 1], diagonal[i + 1], rhs[i + 1]
        below_super = upper[i + 1] if i + 1 < n - 1 else tf.zeros_like(below_diag)  # TF ignores the last one
        if pivoting:
            swap = tf.abs(below_sub) > tf.abs(pivot)
            top = (tf.where(swap, below_sub, pivot), tf.where(swap, below_diag, super_),
                   tf.where(swap, below_super, tf.zeros_like(below_super)), tf.where(swap, below_rhs, rest))
            bottom = (tf.where(swap, pivot, below_sub), tf.where(swap, super_, below_diag),
                      tf.where(swap, tf.zeros_like(below_super), below_super), tf.where(swap, rest, below_rhs))
        else:
            top = (pivot, super_, tf.zeros_like(below_super), rest)
            bottom = (below_sub, below_diag, below_super, below_rhs)
        factor_rows.append(top)
        multiplier = bottom[0] / top[0]
        pivot = bottom[1] - multiplier * top[1]
        super_ = bottom[2] - multiplier * top[2]
        rest = bottom[3] - multiplier * top[3]
    factor_rows.append((pivot, tf.zeros_like(pivot), tf.zeros_like(pivot), rest))
    return factor_rows


def _back_substitute(factor_rows: Sequence):
    """X (..., n, m) from the upper-triangular factor with two superdiagonals (as ``_tridiagonal_eliminate``);
    all NaN for a system with a zero pivot (a singular matrix), as TF's kernel returns."""
    n = len(factor_rows)
    solution: List = [None] * n
    for i in reversed(range(n)):
        pivot, super_, second, residual = factor_rows[i]
        if i + 1 < n:
            residual = residual - super_ * solution[i + 1]
        if i + 2 < n:
            residual = residual - second * solution[i + 2]
        solution[i] = residual / pivot
    pivots = tf.concat([row[0] for row in factor_rows], axis=-1)
    singular = tf.reduce_any(tf.equal(pivots, 0.0), axis=-1, keepdims=True)[..., tf.newaxis]
    x = tf.stack(solution, axis=-2)
    return tf.where(singular, tf.constant(_NAN, tf.float32), x)


@rewrite_rule(
    "TridiagonalSolve",
    error_bound="~cond(A) eps relative to max|X| (measured <= 8.2e-7 vs float64 at n = 64, cond(A) <= 100)",
    limits=f"static n <= {MAX_TRIDIAGONAL_SIZE}; perturb_singular=False",
)
def tridiagonal_elimination(node: NodeView, diagonals, rhs):
    """Gaussian elimination on the three diagonals, with gtsv's row interchanges when ``partial_pivoting``
    (TF's default), then back substitution; without it the plain Thomas algorithm.

    Compact storage (..., 3, n): superdiagonal (its last entry ignored),
    diagonal, subdiagonal (its first entry ignored); tf.linalg.tridiagonal_solve
    emits this op for every ``diagonals_format`` (a Pack or a
    MatrixDiagPartV3 in front). With pivoting the elimination is backward
    stable (growth factor <= 2): the error is about cond(A) eps relative to
    max|X|, like TF's kernel (measured <= 8.2e-7 against float64 at n = 64,
    cond(A) <= 100, results bit-identical to TF's). Without pivoting it is as
    accurate for diagonally dominant or symmetric positive definite matrices
    (measured <= 8e-8 at n = 64, diagonally dominant) and may be unstable
    otherwise, as TF's own non-pivoting kernel. A zero pivot (a
    singular matrix) makes the whole system NaN, as in TF;
    ``perturb_singular=True`` is declined.
    """
    _compute_dtype(node)
    three, n = _matrix_dims(node, 0, unrolled=False)
    rows, _ = _matrix_dims(node, 1, unrolled=False)
    if three != 3 or rows != n:
        node.decline(f"TridiagonalSolve needs diagonals (..., 3, n) and rhs (..., n, m), got "
                     f"{node.input_shapes[0]} and {node.input_shapes[1]}")
    _check_size(node, "matrix size", n, MAX_TRIDIAGONAL_SIZE)
    if node.attrs.get("perturb_singular", False):
        node.decline("perturb_singular=True (TF's perturbation of tiny pivots) is not rewritten")
    entries = tf.expand_dims(tf.cast(diagonals, tf.float32), -1)  # (..., 3, n, 1): entries broadcast over rhs rows
    upper, diagonal, lower = ([tf.squeeze(entry, [-3, -2]) for entry in tf.split(band, n, axis=-2)]
                              for band in tf.split(entries, 3, axis=-3))
    b = [tf.squeeze(row, -2) for row in tf.split(tf.cast(rhs, tf.float32), n, axis=-2)]
    factor_rows = _tridiagonal_eliminate(upper, diagonal, lower, b, bool(node.attrs.get("partial_pivoting", True)))
    return tf.cast(_back_substitute(factor_rows), rhs.dtype)


# --- cases (data for the generic tests and the benchmarks) --------------------------------------


def _banded(rng: np.random.Generator, shape: Sequence[int], lower: bool = True) -> np.ndarray:
    """Well-conditioned band storage: diagonal +-(1..2), small off-diagonal bands (shape (..., K, n))."""
    count = shape[-2]
    bands = 0.3 * rng.normal(size=shape) / count
    diagonal_row = 0 if lower else count - 1
    sign = rng.choice([-1.0, 1.0], size=tuple(shape[:-2]) + (shape[-1],))
    bands[..., diagonal_row, :] = rng.uniform(1.0, 2.0, size=sign.shape) * sign
    return bands.astype(np.float32)


def _tridiagonal(rng: np.random.Generator, shape: Sequence[int], condition: float = 100.0) -> np.ndarray:
    """Random compact tridiagonals (..., 3, n) with entries in [-1, 1], each matrix with cond(A) <= ``condition``
    (these need pivoting: small diagonal entries are common)."""
    out = np.empty(shape, np.float32)
    n = shape[-1]
    for index in np.ndindex(*shape[:-2]):
        while True:
            d = rng.uniform(-1.0, 1.0, (3, n))
            dense = np.diag(d[1]) + np.diag(d[0][:-1], 1) + np.diag(d[2][1:], -1)
            if np.linalg.cond(dense) <= condition:
                out[index] = d
                break
    return out


def _dominant(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Compact tridiagonals (..., 3, n) whose diagonal dominates the off-diagonal entries (no pivoting needed)."""
    d = rng.uniform(-1.0, 1.0, shape)
    d[..., 1, :] = (2.5 + rng.uniform(0.0, 1.0, shape[:-2] + (shape[-1],))) * np.sign(d[..., 1, :])
    return d.astype(np.float32)


def _rhs(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return rng.normal(size=shape).astype(np.float32)


_shape_case("banded_lower_2x3x8_rhs2", "BandedTriangularSolve", tf.linalg.banded_triangular_solve,
            [(2, 3, 8), (2, 8, 2)], lambda rng: [_banded(rng, (2, 3, 8)), _rhs(rng, (2, 8, 2))],
            atol=1e-5, rtol=1e-5,
            edges=[[np.stack([np.pad(np.ones((1, 8)), [[0, 2], [0, 0]])] * 2).astype(np.float32),
                    np.full((2, 8, 2), 1e30, np.float32)]])
_shape_case("banded_upper_adjoint_4x6_rhs3", "BandedTriangularSolve",
            lambda a, b: tf.linalg.banded_triangular_solve(a, b, lower=False, adjoint=True), [(4, 6), (6, 3)],
            lambda rng: [_banded(rng, (4, 6), lower=False), _rhs(rng, (6, 3))], atol=1e-5, rtol=1e-5,
            edges=[[np.concatenate([np.full((3, 6), _NAN), np.ones((1, 6))]).astype(np.float32),  # padding: NaN
                    np.ones((6, 3), np.float32)]])
_shape_case("banded_lower_adjoint_5x5_rhs1", "BandedTriangularSolve",
            lambda a, b: tf.linalg.banded_triangular_solve(a, b, adjoint=True), [(5, 5), (5, 1)],
            lambda rng: [_banded(rng, (5, 5)), _rhs(rng, (5, 1))], atol=1e-5, rtol=1e-5)
_shape_case("banded_upper_40", "BandedTriangularSolve",
            lambda a, b: tf.linalg.banded_triangular_solve(a, b, lower=False), [(4, 40), (40, 2)],
            lambda rng: [_banded(rng, (4, 40), lower=False), _rhs(rng, (40, 2))], atol=1e-5, rtol=1e-5)

_NEEDS_PIVOTING = np.array([[[2, 1, 3, 0], [0, 0, 1e-3, 1], [1, 4, 1, 5]],  # zero first pivot, tiny second one
                            [[1, 1, 1, 0], [1e-20, 1, 2, 1], [0, 1, 1, 1]],  # tiny first pivot
                            [[1, 1, 1, 0], [1e-20, 1, 1, 1], [0, 1, 1, 1]]], np.float32)  # singular: all NaN
_shape_case("tridiagonal_pivoting_3x12_rhs2", "TridiagonalSolve", tf.linalg.tridiagonal_solve,
            [(3, 3, 12), (3, 12, 2)], lambda rng: [_tridiagonal(rng, (3, 3, 12)), _rhs(rng, (3, 12, 2))],
            atol=1e-5, rtol=1e-5)
_shape_case("tridiagonal_pivoting_edges_3x4", "TridiagonalSolve", tf.linalg.tridiagonal_solve,
            [(3, 3, 4), (3, 4, 3)], lambda rng: [_tridiagonal(rng, (3, 3, 4)), _rhs(rng, (3, 4, 3))],
            atol=1e-5, rtol=1e-5, edges=[[_NEEDS_PIVOTING, np.ones((3, 4, 3), np.float32)]])
_shape_case("tridiagonal_no_pivoting_2x10", "TridiagonalSolve",
            lambda d, b: tf.linalg.tridiagonal_solve(d, b, partial_pivoting=False), [(2, 3, 10), (2, 10, 3)],
            lambda rng: [_dominant(rng, (2, 3, 10)), _rhs(rng, (2, 10, 3))], atol=1e-5, rtol=1e-5)
_shape_case("tridiagonal_sequence_7", "TridiagonalSolve",
            lambda u, d, l, b: tf.linalg.tridiagonal_solve((u, d, l), b, diagonals_format="sequence"),
            [(7,), (7,), (7,), (7, 1)],
            lambda rng: [*_tridiagonal(rng, (3, 7)), _rhs(rng, (7, 1))], atol=1e-5, rtol=1e-5)
_shape_case("tridiagonal_matrix_6", "TridiagonalSolve",
            lambda m, b: tf.linalg.tridiagonal_solve(m, b, diagonals_format="matrix"), [(2, 6, 6), (2, 6, 2)],
            lambda rng: [(lambda d: np.stack([np.diag(x[1]) + np.diag(x[0][:-1], 1) + np.diag(x[2][1:], -1)
                                              for x in d]).astype(np.float32))(_tridiagonal(rng, (2, 3, 6))),
                         _rhs(rng, (2, 6, 2))], atol=1e-5, rtol=1e-5)
_shape_case("tridiagonal_64", "TridiagonalSolve", tf.linalg.tridiagonal_solve, [(3, 64), (64, 2)],
            lambda rng: [_tridiagonal(rng, (3, 64)), _rhs(rng, (64, 2))], atol=1e-5, rtol=1e-5)
