"""Linear-algebra rules beyond the generic cases: declines at the size limit, attribute combinations
checked in TF only (no conversion), the non-positive-definite Cholesky, and the seed's Keras models."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers
import tflite_fixups as tff
from case_runner import built, graph_op_types, tflite_op_types
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.rewrites.linalg._common import MAX_UNROLLED_SIZE
from tflite_fixups.rewrites.linalg.elimination import _conditioned, _spd, _triangular_system
from tflite_fixups.rewrites.linalg.jacobi import _with_spectrum
from tflite_fixups.rewrites.linalg.sqrtm import SQRTM_MAX_SIZE

REPLACE = tff.passes.replace_unsupported_ops


def rewrite(function, *specs):
    """(original, rewritten, report) for ``function`` traced with ``specs``."""
    original = tff.load_model(tf.function(function, input_signature=list(specs)))
    result = REPLACE().run(original)
    return original, result.model, result.report


def rewritten_outputs(function, *inputs):
    """(TF outputs, rewritten-TF outputs), each a list in output order; asserts the rewrite happened."""
    original, rewritten, report = rewrite(function, *[tf.TensorSpec(x.shape, tf.as_dtype(x.dtype)) for x in inputs])
    assert report.changed and not report.warnings, str(report)
    feed = dict(zip(original.input_names, inputs))
    want, got = original.run(feed), rewritten.run(feed)
    return [want[k] for k in sorted(want)], [got[k] for k in sorted(got)]


# --- declines -------------------------------------------------------------------------------------

NEAR_MISS = MAX_UNROLLED_SIZE + 8  # 40


@pytest.mark.parametrize(
    "op_type, function, shapes",
    [
        ("SelfAdjointEigV2", tf.linalg.eigh, [(1, NEAR_MISS, NEAR_MISS)]),
        ("MatrixInverse", tf.linalg.inv, [(NEAR_MISS, NEAR_MISS)]),
        ("Svd", tf.linalg.svd, [(NEAR_MISS, 4)]),
        ("Qr", tf.linalg.qr, [(3, NEAR_MISS)]),
        ("Cholesky", tf.linalg.cholesky, [(2, NEAR_MISS, NEAR_MISS)]),
        ("MatrixTriangularSolve", tf.linalg.triangular_solve, [(NEAR_MISS, NEAR_MISS), (NEAR_MISS, 2)]),
    ],
)
def test_matrices_above_the_size_limit_are_declined_with_a_warning(op_type, function, shapes):
    original, rewritten, report = rewrite(function, *[tf.TensorSpec(shape, tf.float32) for shape in shapes])
    assert not report.changed
    assert op_type in graph_op_types(rewritten)
    (warning,) = report.warnings
    assert op_type in warning and f"exceeds {MAX_UNROLLED_SIZE}" in warning


def test_unknown_matrix_size_and_float64_are_declined():
    _, rewritten, report = rewrite(tf.linalg.inv, tf.TensorSpec((None, None), tf.float32))
    assert "MatrixInverse" in graph_op_types(rewritten) and "static matrix dimensions" in report.warnings[0]
    _, rewritten, report = rewrite(tf.linalg.eigh, tf.TensorSpec((4, 4), tf.float64))
    assert "SelfAdjointEigV2" in graph_op_types(rewritten) and "float64" in report.warnings[0]


def test_dynamic_batch_dimension_is_rewritten():
    original, rewritten, report = rewrite(tf.linalg.inv, tf.TensorSpec((2, None, 3, 3), tf.float32))
    assert report.changed
    x = _conditioned(np.random.default_rng(0), (2, 5, 3, 3))
    feed = dict(zip(original.input_names, [x]))
    np.testing.assert_allclose(rewritten.run(feed)["output_0"], original.run(feed)["output_0"], atol=1e-5)


# --- accuracy at the size limit and attribute combinations (TF only, no conversion) -------------


def test_eigh_at_the_size_limit_with_a_clustered_spectrum():
    rng = np.random.default_rng(1)
    n = MAX_UNROLLED_SIZE
    spectrum = np.concatenate([np.full(10, 2.0), 2.0 + 1e-5 * np.arange(6), rng.normal(size=n - 16)])
    a = _with_spectrum(rng, spectrum, [2])
    (want_w, _), (w, v) = rewritten_outputs(tf.linalg.eigh, a)
    a64 = a.astype(np.float64)
    scale = np.abs(a64).max()
    assert np.all(np.diff(w, axis=-1) >= 0)
    assert np.abs(w - want_w).max() / scale < 1e-4
    assert np.abs(a64 @ v - v * w[:, np.newaxis, :]).max() / scale < 1e-4
    assert np.abs(np.swapaxes(v, -1, -2) @ v - np.eye(n)).max() < 1e-4


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_triangular_solve_attributes(lower, adjoint):
    rng = np.random.default_rng(2)
    a, b = _triangular_system(rng, (2, 7, 7)), rng.normal(size=(2, 7, 3)).astype(np.float32)
    solve = lambda m, r: tf.linalg.triangular_solve(m, r, lower=lower, adjoint=adjoint)  # noqa: E731
    (want,), (got,) = rewritten_outputs(solve, a, b)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (5, 5)])
@pytest.mark.parametrize("full_matrices", [False, True])
def test_qr_shapes_match_tf_signs_included(shape, full_matrices):
    a = np.random.default_rng(3).normal(size=(2,) + shape).astype(np.float32)
    want, got = rewritten_outputs(lambda m: tf.linalg.qr(m, full_matrices=full_matrices), a)
    for expected, actual in zip(want, got):
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_svd_of_a_rank_deficient_wide_matrix_has_orthonormal_full_bases():
    a = np.outer([1.0, -2.0, 3.0], [1.0, 0.0, 2.0, -1.0, 0.5, 1.0]).astype(np.float32)
    (want_s, _, _), (s, u, v) = rewritten_outputs(lambda m: tf.linalg.svd(m, full_matrices=True), a)
    assert u.shape == (3, 3) and v.shape == (6, 6)
    np.testing.assert_allclose(s, want_s, atol=1e-5)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(v.T @ v, np.eye(6), atol=1e-5)
    np.testing.assert_allclose((u * s) @ v[:, :3].T, a, atol=1e-5)


def test_cholesky_of_a_non_positive_definite_matrix_has_a_nan_lower_triangle_like_tf():
    good = _spd(np.random.default_rng(4), (4, 4))
    bad = np.array([[1.0, 0, 0, 0], [2.0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]], np.float32)
    (want,), (got,) = rewritten_outputs(tf.linalg.cholesky, np.stack([good, bad]))
    lower = np.tril(np.ones((4, 4), bool))
    assert np.isnan(want[1][lower]).all() and np.isnan(got[1][lower]).all()
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)


def test_float16_inverse_is_computed_in_float32():
    a = _conditioned(np.random.default_rng(5), (3, 4, 4)).astype(np.float16)
    (_,), (got,) = rewritten_outputs(tf.linalg.inv, a)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, np.linalg.inv(a.astype(np.float64)), atol=2e-3, rtol=2e-3)


@settings(max_examples=20, deadline=None)
@given(
    rows=st.integers(1, 6), cols=st.integers(1, 6), low=st.integers(-5, 5), width=st.integers(0, 3),
    align=st.sampled_from(["LEFT_LEFT", "LEFT_RIGHT", "RIGHT_LEFT", "RIGHT_RIGHT"]),
)
def test_diag_part_matches_tf_for_any_band_and_alignment(rows, cols, low, width, align):
    low = max(-(rows - 1), min(low, cols - 1))
    high = min(low + width, cols - 1)
    x = np.arange(2 * rows * cols, dtype=np.float32).reshape(2, rows, cols)
    diag_part = lambda m: tf.linalg.diag_part(m, k=(low, high), padding_value=-1.0, align=align)  # noqa: E731
    (want,), (got,) = rewritten_outputs(diag_part, x)
    np.testing.assert_array_equal(got, want)


def test_euclidean_norm_over_all_axes_and_no_axes():
    x = np.array([[-3.0, 4.0], [0.0, 1e-20]], np.float32)
    (want_all, want_none), (got_all, got_none) = rewritten_outputs(
        lambda t: (tf.math.reduce_euclidean_norm(t), tf.raw_ops.EuclideanNorm(input=t, axis=tf.zeros([0], tf.int32))), x
    )
    np.testing.assert_allclose(got_all, want_all, rtol=1e-6)
    np.testing.assert_array_equal(got_none, want_none)


# --- the seed's model, both Keras flavours ------------------------------------------------------


def test_eigh_attention_model_converts_and_verifies(K):
    model = helpers.eigh_model(K)
    samples = [np.random.default_rng(seed).normal(size=(1, 10, 4)).astype(np.float32) for seed in range(4)]
    result = tff.convert_and_verify(model, passes=[REPLACE()], sample_inputs=samples, atol=1e-4, rtol=0.0)
    assert result.ok, str(result)
    assert not any(op.startswith("Flex") for op in result.ops)
    assert [r.kind for r in result.passes[0].replacements] == ["SelfAdjointEigV2"]
    assert max(o.max_abs_error for o in result.verification.outputs.values()) < 1e-4


# --- Lu and MatrixSquareRoot ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "op_type, function, n, limit",
    [("Lu", tf.linalg.lu, NEAR_MISS, MAX_UNROLLED_SIZE), ("MatrixSquareRoot", tf.linalg.sqrtm, 20, SQRTM_MAX_SIZE)],
)
def test_lu_and_sqrtm_above_their_size_limits_are_declined_with_a_warning(op_type, function, n, limit):
    _, rewritten, report = rewrite(function, tf.TensorSpec((2, n, n), tf.float32))
    assert not report.changed and op_type in graph_op_types(rewritten)
    (warning,) = report.warnings
    assert op_type in warning and f"exceeds {limit}" in warning


def test_lu_permutation_matches_tf_exactly_with_a_dynamic_batch():
    original, rewritten, report = rewrite(tf.linalg.lu, tf.TensorSpec((2, None, 9, 9), tf.float32))
    assert report.changed
    x = np.random.default_rng(6).normal(size=(2, 3, 9, 9)).astype(np.float32)
    feed = dict(zip(original.input_names, [x]))
    want, got = original.run(feed), rewritten.run(feed)
    np.testing.assert_array_equal(got["output_1"], want["output_1"])
    np.testing.assert_allclose(got["output_0"], want["output_0"], atol=1e-6)


@pytest.mark.parametrize("spread", [0.0, 2.3])
def test_sqrtm_at_the_domain_boundary_against_float64(spread):
    """cond(A) = 1e3 at n = 16, eigenvalues real (spread 0) or up to 2.3 rad off the positive axis:
    within 1e-5 of the float64 principal root, relative to |sqrtm(A)|_2."""
    rng = np.random.default_rng(7)
    n = SQRTM_MAX_SIZE
    radius = np.exp(np.linspace(-np.log(1e3), 0.0, n // 2))
    theta = np.linspace(-spread, spread, n // 2)
    blocks = np.zeros((n, n))
    for i, (r, t) in enumerate(zip(radius, theta)):
        blocks[2 * i:2 * i + 2, 2 * i:2 * i + 2] = r * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = (q @ blocks @ q.T).astype(np.float32)
    (_,), (got,) = rewritten_outputs(tf.linalg.sqrtm, a)
    exact = np.real(scipy.linalg.sqrtm(a.astype(np.float64)))
    assert np.abs(got - exact).max() / np.linalg.norm(exact, 2) < 1e-5


def test_expm_converts_after_the_pass_and_logm_is_left_alone():
    """expm's MatrixSolve is rewritten by the elimination rules; logm (complex only) has no rule."""
    _, rewritten, report = rewrite(tf.linalg.expm, tf.TensorSpec((3, 3), tf.float32))
    assert report.changed and not report.warnings
    assert not any(op.startswith("Flex") for op in tflite_op_types(convert_signature_model(rewritten)))
    assert "MatrixLogarithm" not in tff.rewrites.DEFAULT_REGISTRY


# --- singular and nearly singular systems: NaN, never finite garbage ------------------------------


def _singular_6x6(rng):
    """Exactly singular float32 6 x 6 matrices: zero, a zero column, a repeated row, integer rank 5
    (the last row a combination of the others, rows shuffled), rank 2, and rank 5 scaled by 1e-20 / 1e20."""
    integer = rng.integers(-9, 10, (6, 6)).astype(np.float64)
    integer[5] = 2 * integer[0] - 3 * integer[1] + integer[4]
    zero_column = rng.normal(size=(6, 6))
    zero_column[:, 2] = 0.0
    repeated = rng.normal(size=(6, 6))
    repeated[4] = repeated[1]
    scaled = integer[rng.permutation(6)] * np.array([1e-20, 1.0, 1e20, 1.0, 3.0, 1e-3])[:, None]
    return np.stack([np.zeros((6, 6)), zero_column, repeated, integer[rng.permutation(6)],
                     rng.integers(-3, 4, (6, 2)) @ rng.integers(-3, 4, (2, 6)), scaled]).astype(np.float32)


@pytest.mark.parametrize("name", ["linalg_inverse_3x6x6", "linalg_solve_adjoint_6x6_rhs1"])
def test_singular_matrices_give_nan_in_tf_and_on_litert(name):
    """TF raises on a singular matrix; the rules cannot, so the whole inverse/solution is NaN (it was
    finite garbage, e.g. entries of 1e6-1e7, when elimination met a rounding-noise pivot)."""
    case = built(name)
    rng = np.random.default_rng(8)
    singular = _singular_6x6(rng)
    good = _conditioned(rng, (6, 6))
    for index, matrix in enumerate(singular):
        if case.case.op_type == "MatrixInverse":
            inputs = [np.stack([good, matrix, good])]
        else:
            inputs = [matrix, rng.normal(size=(6, 1)).astype(np.float32)]
        feed = case.feed(inputs)
        for where, outputs in (("TF", case.rewritten.run(feed)), ("LiteRT", case.runner.run(feed))):
            (result,) = outputs.values()
            if case.case.op_type == "MatrixInverse":
                assert np.isnan(result[1]).all(), (where, index, result[1])
                np.testing.assert_allclose(result[0], np.linalg.inv(good.astype(np.float64)), atol=1e-5)
            else:
                assert np.isnan(result).all(), (where, index, result)


def test_singular_in_exact_arithmetic_but_not_in_float32_elimination():
    """[[1, 2, 3], [4, 5, 6], [7, 8, 9]] meets a rounding-noise pivot, not 0: the inverse used to
    be finite garbage of 1.4e6 to 5.6e6; a consistent right-hand side used to give one arbitrary solution."""
    a = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    original, rewritten, _ = rewrite(tf.linalg.inv, tf.TensorSpec((3, 3), tf.float32))
    feed = dict(zip(original.input_names, [a]))
    with pytest.raises(tff.InvalidInputError, match="not invertible"):
        original.run(feed)
    assert np.isnan(rewritten.run(feed)["output_0"]).all()
    original, rewritten, _ = rewrite(tf.linalg.solve, tf.TensorSpec((3, 3), tf.float32),
                                     tf.TensorSpec((3, 1), tf.float32))
    assert np.isnan(rewritten.run(dict(zip(original.input_names, [a, np.ones((3, 1), np.float32)])))["output_0"]).all()


@pytest.mark.parametrize("condition", [1e3, 1e5])
def test_nearly_singular_matrices_are_still_inverted(condition):
    """cond(A) up to 1e5 (n = 6) is far from the NaN threshold (estimate >= 2^23): the inverse stays within
    n cond(A) eps of the float64 one, relative to max|A^-1|, in TF and on LiteRT."""
    case = built("linalg_inverse_3x6x6")
    a = _conditioned(np.random.default_rng(9), (3, 6, 6), condition)
    exact = np.linalg.inv(a.astype(np.float64))
    feed = case.feed([a])
    for outputs in (case.rewritten.run(feed), case.runner.run(feed)):
        (inverse,) = outputs.values()
        error = np.abs(inverse - exact).max(axis=(1, 2)) / np.abs(exact).max(axis=(1, 2))
        assert np.all(error <= 6 * condition * 2.0 ** -24), error


def test_determinant_and_lu_of_singular_matrices_are_tfs_and_a_valid_factorization():
    """Not silently wrong, so left as they are: a singular matrix's determinant is 0 or the same
    rounding-noise value as TF's (<= n eps prod |row| unless rows are scaled apart); Lu still factors
    A[p] = L U to n eps."""
    singular = _singular_6x6(np.random.default_rng(10))
    (want_det,), (det,) = rewritten_outputs(tf.linalg.det, singular)
    np.testing.assert_allclose(det, want_det, rtol=1e-4, atol=0.0)
    rows = np.prod(np.linalg.norm(singular.astype(np.float64), axis=2), axis=1)
    assert np.all(np.abs(det[:5]) <= 6 * 2.0 ** -24 * rows[:5])  # the last one has rows scaled by 1e-20..1e20
    _, rewritten, _ = rewrite(tf.linalg.lu, tf.TensorSpec(singular.shape, tf.float32))
    outputs = rewritten.run({rewritten.input_names[0]: singular})
    lu, perm = outputs["output_0"].astype(np.float64), outputs["output_1"]
    lower = np.tril(lu, -1) + np.eye(6)
    residual = lower @ np.triu(lu) - np.take_along_axis(singular.astype(np.float64), perm[:, :, None], axis=1)
    assert np.isfinite(lu).all()
    assert np.all(np.abs(residual).max(axis=(1, 2)) <= 6 * 2.0 ** -24 * np.abs(singular).max(axis=(1, 2)) * 4)
