"""Matrix functions: MatrixSquareRoot (tf.linalg.sqrtm), with its cases.

``tf.linalg.expm`` needs no rule of its own: its Pade approximant is built
from ordinary ops plus one MatrixSolve, which the elimination rules replace
(and its ``While``/``If`` convert). ``tf.linalg.logm`` only accepts complex
matrices, which TFLite cannot represent, so MatrixLogarithm is not rewritten.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..registry import NodeView, rewrite_rule
from ._common import _batched, _compute_dtype, _matrix_dims, _shape_case, tf
from .elimination import _gauss_jordan
from .jacobi import _with_spectrum

SQRTM_MAX_SIZE = 16
SQRTM_ITERATIONS = 8
RESIDUAL_TOLERANCE = 1e-3


def _frobenius(m):
    """Frobenius norms (B, 1, 1) of (B, n, n) ``m``."""
    return tf.sqrt(tf.reduce_sum(m * m, axis=[1, 2], keepdims=True))


def _denman_beavers_sqrt(a, n: int):
    """A^(1/2) of (B, n, n) ``a`` (max|a| = 1): the scaled product-form Denman-Beavers iteration.

    M_0 = X_0 = A; with mu^2 = sqrt(|M_k^-1|_F / |M_k|_F) (norm scaling, which
    centres M's spectrum on 1 and tends to 1 as M_k -> I):
    X_{k+1} = mu X_k (I + mu^-2 M_k^-1) / 2, M_{k+1} = I/2 + (mu^2 M_k + mu^-2 M_k^-1) / 4.
    This is Newton's sign iteration in disguise: X_k -> A^(1/2), M_k -> I
    quadratically; the product form is numerically stable (Higham, Functions of
    Matrices, 2008, eq. 6.29).
    """
    identity = tf.broadcast_to(tf.eye(n), tf.shape(a))
    m = x = a
    for _ in range(SQRTM_ITERATIONS):
        m_inverse = _gauss_jordan(m, identity, n)
        mu_squared = tf.sqrt(_frobenius(m_inverse) / _frobenius(m))
        x = 0.5 * tf.sqrt(mu_squared) * tf.matmul(x, identity + m_inverse / mu_squared)
        m = 0.5 * identity + 0.25 * (mu_squared * m + m_inverse / mu_squared)
    return x


@rewrite_rule(
    "MatrixSquareRoot",
    error_bound="1e-5 relative to |sqrtm(A)|_2 for cond(A) <= 1e3 (measured <= 3e-6)",
    limits=(f"static n <= {SQRTM_MAX_SIZE}; eigenvalues off the closed negative real axis "
            "(|arg| <= 3pi/4, cond(A) <= 1e3 for the stated bound); else NaN"),
)
def denman_beavers_sqrtm(node: NodeView, x):
    """Principal square root by 8 unrolled, norm-scaled Denman-Beavers iterations (one pivoted inverse each).

    A is first divided by s = max|A| (the result multiplied by sqrt(s)), so
    norms cannot overflow. Domain: real matrices with no eigenvalue on the
    closed negative real axis; the fixed 8 iterations converge to float32
    precision for cond(A) <= 1e4 with real positive eigenvalues and for
    cond(A) <= 1e3 with eigenvalues up to 3pi/4 from the positive axis
    (6-7 are needed there). Error bound 1e-5 relative to |sqrtm(A)|_2 at
    cond(A) <= 1e3 for diagonalizable A with a well-conditioned eigenbasis
    (it grows like cond(A) eps; measured <= 3e-6, TF's own kernel ~1e-6).
    Outside the domain (a negative real eigenvalue, a singular or zero
    matrix) there is no real principal root: any result whose residual
    |X^2 - A|_F exceeds 1e-3 |A|_F becomes NaN, which is what TF returns
    for negative eigenvalues and the zero matrix.
    """
    _compute_dtype(node)
    n, _ = _matrix_dims(node, square=True)
    if n > SQRTM_MAX_SIZE:
        node.decline(f"matrix size {n}x{n} exceeds {SQRTM_MAX_SIZE}: the unrolled iteration would be too large")
    a, restore = _batched(x, n, n)
    scale = tf.reduce_max(tf.abs(a), axis=[1, 2], keepdims=True)
    a = a / scale
    root = _denman_beavers_sqrt(a, n)
    converged = _frobenius(tf.matmul(root, root) - a) <= RESIDUAL_TOLERANCE * _frobenius(a)
    return restore(tf.where(converged, root * tf.sqrt(scale), float("nan")), [n, n])


# --- cases (data for the generic tests and the benchmarks) --------------------------------------


def _spd_spectrum(rng: np.random.Generator, n: int, condition: float) -> np.ndarray:
    """n eigenvalues log-uniform in [1 / condition, 1], both ends included (so |sqrtm(A)|_2 = 1)."""
    spectrum = np.exp(rng.uniform(-math.log(condition), 0.0, n))
    spectrum[:2] = [1.0, 1.0 / condition]
    return spectrum


def _rotation_scalings(rng: np.random.Generator, shape: Sequence[int], condition: float) -> np.ndarray:
    """Non-normal V B V^-1 with B block diagonal r R(theta) (complex pairs r e^(+-i theta), |theta| <= 2,
    r log-uniform in [1 / condition, 1]) and V = I + 0.3 G / sqrt(n) (a well-conditioned eigenbasis)."""
    n = shape[-1]
    batch = tuple(shape[:-2])
    radius = np.exp(rng.uniform(-math.log(condition), 0.0, batch + (n // 2,)))
    theta = rng.uniform(-2.0, 2.0, batch + (n // 2,))
    blocks = np.zeros(batch + (n, n))
    for i in range(n // 2):
        c, s = radius[..., i] * np.cos(theta[..., i]), radius[..., i] * np.sin(theta[..., i])
        blocks[..., 2 * i, 2 * i], blocks[..., 2 * i, 2 * i + 1] = c, -s
        blocks[..., 2 * i + 1, 2 * i], blocks[..., 2 * i + 1, 2 * i + 1] = s, c
    v = np.eye(n) + 0.3 * rng.normal(size=batch + (n, n)) / math.sqrt(n)
    return (v @ blocks @ np.linalg.inv(v)).astype(np.float32)


_SQRTM_EDGES = np.stack([
    np.eye(4), np.diag([1e-3, 1.0, 0.25, 1e-2]), np.zeros((4, 4)),  # zero matrix: NaN, like TF
    np.diag([-1.0, 4.0, 1.0, 1.0]),  # negative eigenvalue, no real root: NaN, like TF
    np.array([[1, -2, 0, 0], [2, 1, 0, 0], [0, 0, 4, 1], [0, 0, 0, 9]]),
]).astype(np.float32)
_shape_case("sqrtm_5x4x4", "MatrixSquareRoot", tf.linalg.sqrtm, [(5, 4, 4)],
            lambda rng: [_with_spectrum(rng, _spd_spectrum(rng, 4, 10.0), [5])], atol=1e-5, rtol=1e-5,
            edges=[[_SQRTM_EDGES], [_SQRTM_EDGES * np.float32(1e20)], [_SQRTM_EDGES * np.float32(1e-20)]])
_shape_case("sqrtm_spd_16x16", "MatrixSquareRoot", tf.linalg.sqrtm, [(2, 16, 16)],
            lambda rng: [_with_spectrum(rng, _spd_spectrum(rng, 16, 1e3), [2])], atol=1e-5)
_shape_case("sqrtm_nonnormal_3x8x8", "MatrixSquareRoot", tf.linalg.sqrtm, [(3, 8, 8)],
            lambda rng: [_rotation_scalings(rng, (3, 8, 8), 1e3)], atol=1e-5)
