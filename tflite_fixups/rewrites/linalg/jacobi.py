"""Jacobi methods: SelfAdjointEigV2 (two-sided) and Svd (one-sided), with their cases.

Both use the parallel cyclic ("round robin") ordering: each round rotates n/2
disjoint index pairs at once with one orthogonal matrix ``J`` assembled from
constant selector matrices, so a round is ``J^T A J`` (two-sided, eigh) or
``A J`` (one-sided, svd). At the n = 32 limit eigh is about 8,700 TFLite ops
(8 sweeps x 31 rounds; ~13 s to convert, ~1.5 ms on LiteRT's CPU); at n = 10
it is ~2,200 ops (3 s, 0.2 ms).
"""

from __future__ import annotations

import functools
import math
from typing import List, Sequence, Tuple

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import (
    _INF, MAX_UNROLLED_SIZE, _batched, _compute_dtype, _householder_qr, _lower_symmetrized, _matrix_dims, _shape_case,
    tf,
)

_TINY_DENOMINATOR = 1e-18  # keeps 0 / 0 out of the Jacobi rotation; far below float32 resolution of O(1) entries


def _flat_indices(rows: Sequence[int], cols: Sequence[int], n: int) -> np.ndarray:
    return np.asarray(rows, np.int32) * n + np.asarray(cols, np.int32)


def _diagonal(a, n: int):
    """The main diagonal of (B, n, n) ``a`` as (B, n), by a gather (no 0 * inf)."""
    return tf.gather(tf.reshape(a, [-1, n * n]), _flat_indices(range(n), range(n), n), axis=1)


def _empty_output(node: NodeView, index: int):
    """The placeholder TF returns for an output it does not compute (``v`` of eigvalsh, ``u``/``v`` of svd)."""
    shape = node.output_shapes[index]
    return tf.zeros(shape if shape is not None and None not in shape else [0], node.output_dtypes[index])


def _max_abs(a):
    """max |a| over each (B, m, n) matrix as (B, 1, 1), with 1 for all-zero matrices."""
    peak = tf.reduce_max(tf.abs(a), axis=[1, 2], keepdims=True)
    return tf.where(peak > 0.0, peak, tf.ones_like(peak))


# --- Jacobi rotations (parallel cyclic ordering) ------------------------------------------------


@functools.lru_cache(maxsize=None)
def _round_robin(n: int) -> Tuple[Tuple[Tuple[int, int], ...], ...]:
    """Rounds of disjoint index pairs covering every pair (p < q) of range(n) exactly once.

    The circle method of a round-robin tournament: index 0 stays, the others
    rotate; for odd n a dummy index n sits out one index per round.
    """
    players = list(range(n + n % 2))
    size = len(players)
    rounds = []
    for _ in range(size - 1):
        pairs = [(players[i], players[size - 1 - i]) for i in range(size // 2)]
        pairs = [(min(p, q), max(p, q)) for p, q in pairs if max(p, q) < n]
        if pairs:
            rounds.append(tuple(pairs))
        players = [players[0], players[-1]] + players[1:-1]
    return tuple(rounds)


class _JacobiRound:
    """Constants of one round: where its pairs sit in a flattened n x n matrix and how to build ``J``.

    ``J`` is the identity except, for each pair (p, q): J[p,p] = J[q,q] = c, J[p,q] = s, J[q,p] = -s.
    A product with a small constant ``spread`` turns the (c, s) of each pair into the row scales
    (cos_rows, sin_rows) of length n, and J = cos_rows * I + sin_rows * P (P swaps each p with
    its q) is a product with ``patterns`` = [I, P] summed over its first axis: exact, and the
    constants stay O(n^2) per round.
    """

    def __init__(self, pairs: Sequence[Tuple[int, int]], n: int):
        p = [pair[0] for pair in pairs]
        q = [pair[1] for pair in pairs]
        self.n = n
        self.gather = np.concatenate([_flat_indices(p, p, n), _flat_indices(q, q, n), _flat_indices(p, q, n)])
        count = len(pairs)
        spread = np.zeros((2 * count, 2 * n), np.float32)
        swap = np.zeros((n, n), np.float32)
        for k, (i, j) in enumerate(pairs):
            spread[k, [i, j]] = 1.0
            spread[count + k, n + i] = 1.0
            spread[count + k, n + j] = -1.0
            swap[i, j] = swap[j, i] = 1.0
        unpaired = np.eye(n, dtype=np.float32)
        unpaired[p + q, p + q] = 0.0
        self.spread = spread
        self.patterns = np.stack([np.eye(n, dtype=np.float32) - unpaired, swap])[np.newaxis]
        self.unpaired = unpaired if unpaired.any() else None

    def rotation(self, gram):
        """``J`` (B, n, n) zeroing the pairs' off-diagonal entries of the symmetric (B, n, n) ``gram``.

        Rutishauser's small-angle rotation, t = tan(phi) with |phi| <= pi/4:
        t = h sgn(d) / (|d| + sqrt(d^2 + h^2)), h = 2 a_pq, d = a_qq - a_pp, sgn(0) = 1. A tiny
        term in the denominator gives t = 0 for a_pq = d = 0; it only perturbs rotations of
        entries below 1e-15, negligible as the caller keeps ``gram`` scaled to entries of order 1.
        c = 1 / sqrt(1 + t^2), then (c, s) take one Newton step towards c^2 + s^2 = 1: RSQRT
        (TF's, or the one the converter fuses 1/sqrt into) is a few ulp off and biased, and
        hundreds of slightly non-orthogonal rotations would drift the eigenvalues by ~1e-4 at n = 32.
        """
        entries = tf.gather(tf.reshape(gram, [-1, self.n * self.n]), self.gather, axis=1)
        app, aqq, apq = tf.split(entries, 3, axis=1)
        d = aqq - app
        h = 2.0 * apq
        signed_h = tf.where(d >= 0.0, h, -h)
        t = signed_h / (tf.abs(d) + tf.sqrt(d * d + h * h) + _TINY_DENOMINATOR)
        c = 1.0 / tf.sqrt(1.0 + t * t)
        s = t * c
        correction = 1.5 - 0.5 * (c * c + s * s)
        rows = tf.matmul(tf.concat([c * correction, s * correction], axis=1), self.spread)
        j = tf.reduce_sum(tf.reshape(rows, [-1, 2, self.n, 1]) * self.patterns, axis=1)
        return j if self.unpaired is None else j + self.unpaired


def _jacobi_sweeps(n: int) -> int:
    """Sweeps after which float32 Jacobi has converged for n x n: ceil(log2 n) + 3 (8 at n = 32).

    Convergence is quadratic once the off-diagonal mass is small; measured at
    n = 2..32 on random, clustered and graded spectra, one sweep fewer leaves
    residuals up to 1e-4 at n = 32, this many leave them below 1e-5.
    """
    return max(1, math.ceil(math.log2(n))) + 3


@functools.lru_cache(maxsize=None)
def _jacobi_rounds(n: int) -> Tuple[_JacobiRound, ...]:
    return tuple(_JacobiRound(pairs, n) for pairs in _round_robin(n))


def _sort_columns(values, matrices: Sequence, n: int, *, descending: bool):
    """``values`` (B, n) sorted (TOP_K; ties keep their order) and the columns of each (B, m, n)
    matrix permuted alike.

    The permutation is applied as a product with a one-hot matrix: exact for finite entries.
    """
    keys = values if descending else -values
    top, order = tf.math.top_k(keys, k=n, sorted=True)
    permutation = tf.one_hot(order, n, dtype=tf.float32)  # permutation[b, i, j] = [order[b, i] == j]
    permuted = [tf.matmul(matrix, permutation, transpose_b=True) for matrix in matrices]
    return (top if descending else -top), permuted


def _scaled_jacobi(a, n: int, *, two_sided: bool, accumulate: bool):
    """(A', V, scale): ``_jacobi_sweeps(n)`` sweeps of the round-robin rounds over (B, m, n) ``a``.

    ``a`` is first divided by ``scale`` = ``_max_abs(a)`` so the rotations see entries of order 1.
    ``two_sided`` (eigh, m = n) applies each round as J^T A J, choosing ``J`` from A itself; otherwise
    (svd) as A J, choosing ``J`` from the Gram matrix A^T A. With ``accumulate`` V (1 or B, n, n) is
    the product of the rotations, else ``None``.
    """
    scale = _max_abs(a)
    a = a / scale
    v = tf.eye(n, batch_shape=[1]) if accumulate else None
    for _ in range(_jacobi_sweeps(n)):
        for jacobi_round in _jacobi_rounds(n):
            if two_sided:
                j = jacobi_round.rotation(a)
                a = tf.matmul(j, tf.matmul(a, j), transpose_a=True)
            else:
                j = jacobi_round.rotation(tf.matmul(a, a, transpose_a=True))
                a = tf.matmul(a, j)
            if accumulate:
                v = tf.matmul(v, j)
    return a, v, scale


# --- SelfAdjointEigV2 ---------------------------------------------------------------------------


@rewrite_rule(
    "SelfAdjointEigV2",
    error_bound="1e-4 relative to max|A| (eigenvalues; A V - V diag(w) and V^T V - I likewise)",
    limits=f"static n <= {MAX_UNROLLED_SIZE}; float32/float16",
)
def jacobi_eigh(node: NodeView, x):
    """Parallel cyclic Jacobi, ceil(log2 n) + 3 sweeps of J^T A J rounds; eigenvalues ascending, vectors reordered.

    Reads the lower triangle only (like TF). The matrix is scaled by its
    largest entry first, so huge and tiny matrices behave alike. After the
    sweeps (8 at n = 32) the off-diagonal mass is below float32 resolution
    (quadratic convergence); eigenvalues, the residual A V - V diag(w) and
    V^T V - I are within 1e-4 of max|A| (measured <= 1.1e-5 at n = 32,
    <= 2.4e-6 at n = 10), clustered, graded and repeated eigenvalues included.
    Eigenvectors are unique only up to sign (and rotation within a repeated
    eigenvalue's space), so they may differ from TF's by such a change. With
    ``compute_v=False`` (eigvalsh) no vectors are accumulated and ``v`` is the
    empty tensor, like TF's.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    a, restore = _batched(x, n, n)
    compute_v = bool(node.attrs.get("compute_v", True))
    a, v, scale = _scaled_jacobi(_lower_symmetrized(a, n), n, two_sided=True, accumulate=compute_v)
    w, vectors = _sort_columns(_diagonal(a, n) * scale[:, :, 0], [v] if compute_v else [], n, descending=False)
    if not compute_v:
        return [restore(w, [n]), _empty_output(node, 1)]
    return [restore(w, [n]), restore(vectors[0], [n, n])]


# --- one-sided Jacobi SVD -----------------------------------------------------------------------


def _orthonormal_completion(u, m: int, n: int):
    """(B, m, m) orthonormal Q whose first n columns are those of (B, m, n) ``u``, whose nonzero columns
    are orthonormal and come first: a Householder QR of ``u`` with the signs of R's diagonal put back.

    Zero columns (zero singular values) become unit vectors orthogonal to the others.
    """
    q, r = _householder_qr(u, m, n)
    signs = tf.where(_diagonal(r[:, :n, :], n) < 0.0, -1.0, 1.0)
    return tf.concat([q[:, :, :n] * signs[:, tf.newaxis, :], q[:, :, n:]], axis=2)


@rewrite_rule(
    "Svd",
    error_bound="1e-4 relative to max|A| (singular values, U S V^T - A, U^T U - I, V^T V - I; "
    "measured <= 5e-6 at 32 x 32)",
    limits=f"static m, n <= {MAX_UNROLLED_SIZE}",
)
def jacobi_svd(node: NodeView, x):
    """One-sided (Hestenes) Jacobi on the columns with the round-robin ordering; singular values descending.

    Each round computes the Gram matrix G = U^T U and rotates column pairs so
    that their G entry vanishes (the eigh rotation, applied on one side only);
    after ceil(log2 n) + 3 sweeps the columns are orthogonal, their norms are
    the singular values and V is the product of the rotations. For m < n the
    transpose is decomposed. U is re-orthonormalised (and, with
    ``full_matrices``, completed to m x m) by a Householder QR, so zero
    singular values still get orthonormal singular vectors. Vectors are
    unique only up to sign (and rotation within a repeated singular value's
    space), so they may differ from TF's by such a change.
    """
    _compute_dtype(node)
    rows, cols = _matrix_dims(node)
    a, restore = _batched(x, rows, cols)
    transposed = rows < cols
    m, n = (cols, rows) if transposed else (rows, cols)
    if transposed:
        a = tf.linalg.matrix_transpose(a)
    compute_uv = bool(node.attrs.get("compute_uv", True))
    u, v, scale = _scaled_jacobi(a, n, two_sided=False, accumulate=compute_uv)
    sigma = tf.sqrt(tf.reduce_sum(u * u, axis=1))
    if not compute_uv:
        s, _ = _sort_columns(sigma * scale[:, :, 0], [], n, descending=True)
        return [restore(s, [n]), _empty_output(node, 1), _empty_output(node, 2)]
    u = u / tf.where(sigma > 0.0, sigma, tf.ones_like(sigma))[:, tf.newaxis, :]
    s, (u, v) = _sort_columns(sigma * scale[:, :, 0], [u, v], n, descending=True)
    u = _orthonormal_completion(u, m, n)
    if not node.attrs.get("full_matrices", False):
        u = u[:, :, :n]
    if transposed:
        u, v = v, u
    return [restore(s, [n]), restore(u, u.shape[1:]), restore(v, v.shape[1:])]


# --- cases (data for the generic tests and the benchmarks) --------------------------------------


def _symmetric(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    a = rng.normal(size=shape)
    return ((a + np.swapaxes(a, -1, -2)) / 2).astype(np.float32)


def _attention_scores(rng: np.random.Generator, shape: Sequence[int], depth: int = 16) -> np.ndarray:
    """Symmetrised attention scores (Q K^T + K Q^T) / (2 sqrt(d)): the seed model's eigh input."""
    q = rng.normal(size=tuple(shape[:-1]) + (depth,))
    k = rng.normal(size=tuple(shape[:-1]) + (depth,))
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(depth)
    return ((scores + np.swapaxes(scores, -1, -2)) / 2).astype(np.float32)


def _with_spectrum(rng: np.random.Generator, spectrum: Sequence[float], batch: Sequence[int] = ()) -> np.ndarray:
    """Q diag(spectrum) Q^T with random orthogonal Q, per batch entry."""
    n = len(spectrum)
    q, _ = np.linalg.qr(rng.normal(size=tuple(batch) + (n, n)))
    return ((q * np.asarray(spectrum, np.float64)) @ np.swapaxes(q, -1, -2)).astype(np.float32)


def _norm_scale(a: np.ndarray) -> np.ndarray:
    """max |a| per matrix (1 for zero matrices), shaped to broadcast against (..., m, n)."""
    peak = np.abs(a).max(axis=(-1, -2), keepdims=True)
    return np.where(peak > 0, peak, 1.0)


def _orthonormality_error(q: np.ndarray) -> float:
    return float(np.abs(np.swapaxes(q, -1, -2) @ q - np.eye(q.shape[-1])).max())


def _symmetric_from_lower(a: np.ndarray) -> np.ndarray:
    """The float64 symmetric matrix whose lower triangle is that of ``a`` (what eigh reads)."""
    a = np.asarray(a, np.float64)
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


def _eigh_compare(want, got, inputs) -> float:
    """Largest of: eigenvalue error and residual |A V - V diag(w)| relative to max|A|, |V^T V - I|;
    inf unless ascending."""
    a = _symmetric_from_lower(inputs[0])
    scale = _norm_scale(a)
    w, v = np.asarray(got["output_0"], np.float64), np.asarray(got["output_1"], np.float64)
    if np.any(np.diff(w, axis=-1) < 0):
        return _INF
    value_error = np.abs(w - want["output_0"]) / scale[..., 0]
    residual = np.abs(a @ v - v * w[..., np.newaxis, :]) / scale
    return float(max(value_error.max(), residual.max(), _orthonormality_error(v)))


def _eigvalsh_compare(want, got, inputs) -> float:
    """Eigenvalue error relative to max|A| (v is empty for eigvalsh)."""
    scale = _norm_scale(_symmetric_from_lower(inputs[0]))[..., 0]
    return float((np.abs(np.asarray(got["output_0"], np.float64) - want["output_0"]) / scale).max())


def _svd_compare(want, got, inputs) -> float:
    """Largest of: singular value error and |U S V^T - A| relative to max|A|, |U^T U - I|, |V^T V - I|;
    inf unless descending."""
    a = np.asarray(inputs[0], np.float64)
    scale = _norm_scale(a)
    s = np.asarray(got["output_0"], np.float64)
    if np.any(np.diff(s, axis=-1) > 0):
        return _INF
    error = (np.abs(s - want["output_0"]) / scale[..., 0]).max()
    if "output_1" in got and got["output_1"].size:
        u, v = np.asarray(got["output_1"], np.float64), np.asarray(got["output_2"], np.float64)
        k = s.shape[-1]
        rebuilt = (u[..., :, :k] * s[..., np.newaxis, :]) @ np.swapaxes(v[..., :, :k], -1, -2)
        error = max(error, (np.abs(rebuilt - a) / scale).max(), _orthonormality_error(u), _orthonormality_error(v))
    return float(error)


def _eigh_edges(n: int, batch: Sequence[int]) -> List[List[np.ndarray]]:
    """Identity, zeros, unsorted diagonal, repeated eigenvalues, an asymmetric input (lower triangle
    read), huge and tiny scales."""
    rng = np.random.default_rng(100 + n)
    shape = tuple(batch) + (n, n)

    def tile(matrix: np.ndarray) -> np.ndarray:
        return np.broadcast_to(matrix, shape).astype(np.float32)

    repeated = _with_spectrum(rng, [1.0] * (n // 2) + [-2.0] * (n - n // 2), batch)
    asymmetric = rng.normal(size=shape).astype(np.float32)
    huge, tiny = _symmetric(rng, shape) * np.float32(1e18), _symmetric(rng, shape) * np.float32(1e-18)
    diagonal = tile(np.diag(rng.normal(size=n)))
    return [[edge] for edge in (tile(np.eye(n)), tile(np.zeros((n, n))), diagonal, repeated, asymmetric, huge, tiny)]


_shape_case("eigh_attention_1x10x10", "SelfAdjointEigV2", tf.linalg.eigh, [(1, 10, 10)],
            lambda rng: [_attention_scores(rng, (1, 10, 10))], atol=1e-4, compare=_eigh_compare,
            edges=_eigh_edges(10, [1]))
_CLUSTERED = _with_spectrum(np.random.default_rng(7), [1, 1 + 1e-6, 2, 2 + 1e-6, 3], [2, 3])
_shape_case("eigh_batch_2x3x5x5", "SelfAdjointEigV2", tf.linalg.eigh, [(2, 3, 5, 5)],
            lambda rng: [_symmetric(rng, (2, 3, 5, 5))], atol=1e-4, compare=_eigh_compare,
            edges=_eigh_edges(5, [2, 3]) + [[_CLUSTERED]])
_shape_case("eigvalsh_4x8x8", "SelfAdjointEigV2", tf.linalg.eigvalsh, [(4, 8, 8)],
            lambda rng: [_symmetric(rng, (4, 8, 8))], atol=1e-4, compare=_eigvalsh_compare,
            edges=_eigh_edges(8, [4]))

_RANK_ONE = np.outer([1.0, -2.0, 0.5, 3.0, 1.0, 0.0], [2.0, 1.0, -1.0, 0.5]).astype(np.float32)
_SVD_EDGES = [[np.stack([_RANK_ONE, np.zeros((6, 4), np.float32)])],
              [np.stack([np.eye(6, 4), -np.eye(6, 4)]).astype(np.float32)]]
_shape_case("svd_2x6x4", "Svd", lambda a: tf.linalg.svd(a), [(2, 6, 4)],
            lambda rng: [rng.normal(size=(2, 6, 4)).astype(np.float32)], atol=1e-4, compare=_svd_compare,
            edges=_SVD_EDGES)
_shape_case("svd_full_4x7", "Svd", lambda a: tf.linalg.svd(a, full_matrices=True), [(4, 7)],
            lambda rng: [rng.normal(size=(4, 7)).astype(np.float32)], atol=1e-4, compare=_svd_compare,
            edges=[[np.outer([1.0, -2.0, 0.5, 3.0], [2.0, 1.0, -1.0, 0.5, 0.0, 1.0, 3.0]).astype(np.float32)]])
_shape_case("svd_full_square_3x5x5", "Svd", lambda a: tf.linalg.svd(a, full_matrices=True), [(3, 5, 5)],
            lambda rng: [rng.normal(size=(3, 5, 5)).astype(np.float32)], atol=1e-4, compare=_svd_compare)
_shape_case("singular_values_3x8x5", "Svd", lambda a: tf.linalg.svd(a, compute_uv=False), [(3, 8, 5)],
            lambda rng: [rng.normal(size=(3, 8, 5)).astype(np.float32)], atol=1e-4, compare=_svd_compare)
