"""Banded and tridiagonal solves: the band storage convention against dense solves, accuracy against
float64 at the size limits, and near-misses (too large, perturb_singular)."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

import tflite_fixups as tff
from case_runner import graph_op_types
from tflite_fixups.rewrites.linalg.banded import MAX_BANDED_SIZE, MAX_TRIDIAGONAL_SIZE, _tridiagonal


def rewrite(function, specs):
    """(original, pass result) for a tf.function of ``specs``."""
    original = tff.load_model(tf.function(function, input_signature=specs))
    return original, tff.passes.replace_unsupported_ops().run(original)


def run(model, inputs):
    return model.run(dict(zip(model.input_names, inputs)))["output_0"]


def dense_from_bands(bands: np.ndarray, lower: bool) -> np.ndarray:
    """The (n, n) matrix of TF's LEFT_RIGHT band storage (K, n), built independently of the rule."""
    count, n = bands.shape
    a = np.zeros((n, n))
    for k in range(count):
        for i in range(n):
            if lower and i - k >= 0:
                a[i, i - k] = bands[k, i]
            if not lower and i + k < n:
                a[i, i + k] = bands[count - 1 - k, i]
    return a


def dense_from_diagonals(d: np.ndarray) -> np.ndarray:
    return np.diag(d[1]) + np.diag(d[0][:-1], 1) + np.diag(d[2][1:], -1)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.mark.parametrize("lower, adjoint, n", [(lower, adjoint, MAX_BANDED_SIZE if lower and adjoint else 48)
                                               for lower, adjoint in itertools.product([True, False], repeat=2)])
def test_banded_solve_matches_a_float64_dense_solve(lower, adjoint, n):
    """All lower/adjoint combinations (one at the largest n), against numpy on the dense matrix (TF only)."""
    count = 5
    rng = np.random.default_rng(7)
    bands = (0.3 * rng.normal(size=(count, n)) / count).astype(np.float32)
    bands[0 if lower else count - 1] = rng.uniform(1.0, 2.0, n) * rng.choice([-1.0, 1.0], n)
    rhs = rng.normal(size=(n, 2)).astype(np.float32)
    _, result = rewrite(lambda a, b: tf.linalg.banded_triangular_solve(a, b, lower=lower, adjoint=adjoint),
                        [tf.TensorSpec((count, n), tf.float32), tf.TensorSpec((n, 2), tf.float32)])
    assert "BandedTriangularSolve" not in graph_op_types(result.model)
    dense = dense_from_bands(bands.astype(np.float64), lower)
    want = np.linalg.solve(dense.T if adjoint else dense, rhs.astype(np.float64))
    assert relative_error(run(result.model, [bands, rhs]), want) < 1e-6


@pytest.mark.parametrize("pivoting", [True, False])
def test_tridiagonal_solve_at_the_size_limit_matches_float64(pivoting):
    """n = 64: pivoting on matrices with cond(A) <= 100 that need it; no pivoting on diagonally dominant ones."""
    n = MAX_TRIDIAGONAL_SIZE
    rng = np.random.default_rng(11)
    diagonals = _tridiagonal(rng, (4, 3, n))
    if not pivoting:
        diagonals[:, 1] = 2.5 * np.sign(diagonals[:, 1]) + diagonals[:, 1]
    rhs = rng.normal(size=(4, n, 3)).astype(np.float32)
    original, result = rewrite(lambda d, b: tf.linalg.tridiagonal_solve(d, b, partial_pivoting=pivoting),
                               [tf.TensorSpec((4, 3, n), tf.float32), tf.TensorSpec((4, n, 3), tf.float32)])
    assert "TridiagonalSolve" not in graph_op_types(result.model)
    got = run(result.model, [diagonals, rhs])
    for index in range(4):
        want = np.linalg.solve(dense_from_diagonals(diagonals[index].astype(np.float64)), rhs[index])
        assert relative_error(got[index], want) < 1e-5
    assert relative_error(got, run(original, [diagonals, rhs])) < 1e-6


def test_tridiagonal_solve_above_the_limit_is_declined():
    n = MAX_TRIDIAGONAL_SIZE + 1
    _, result = rewrite(tf.linalg.tridiagonal_solve, [tf.TensorSpec((3, n), tf.float32), tf.TensorSpec((n, 1))])
    assert graph_op_types(result.model).get("TridiagonalSolve") == 1
    assert any("exceeds" in w for w in result.report.warnings), result.report.warnings


def test_perturb_singular_is_declined():
    _, result = rewrite(lambda d, b: tf.linalg.tridiagonal_solve(d, b, perturb_singular=True),
                        [tf.TensorSpec((3, 5), tf.float32), tf.TensorSpec((5, 1))])
    assert graph_op_types(result.model).get("TridiagonalSolve") == 1
    assert any("perturb_singular" in w for w in result.report.warnings), result.report.warnings


def test_banded_solve_with_too_many_bands_is_declined():
    _, result = rewrite(tf.linalg.banded_triangular_solve, [tf.TensorSpec((65, 70)), tf.TensorSpec((70, 1))])
    assert graph_op_types(result.model).get("BandedTriangularSolve") == 1
    assert any("band count" in w for w in result.report.warnings), result.report.warnings
