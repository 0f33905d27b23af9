"""Verification metrics on hand-made arrays whose answers are known."""

import math

import numpy as np

from tflite_fixups.verification.metrics import compare_arrays, compare_outputs, looks_like_class_scores


def test_exact_match():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    c = compare_arrays("y", [(x, x.copy())], atol=0, rtol=0)
    assert c.within_tolerance and c.max_abs_error == 0 and c.cosine_similarity == 1.0
    assert c.argmax_agreement == 1.0


def test_errors_and_tolerance():
    ref = np.array([[1.0, 100.0, 0.0]])
    got = np.array([[1.1, 100.5, 1e-6]])
    c = compare_arrays("y", [(ref, got)], atol=1e-4, rtol=1e-2)
    assert math.isclose(c.max_abs_error, 0.5, rel_tol=1e-9)
    assert math.isclose(c.max_rel_error, 0.1, rel_tol=1e-6)  # 0.1 / 1.0; the 0 reference is skipped
    assert math.isclose(c.mean_abs_error, (0.1 + 0.5 + 1e-6) / 3, rel_tol=1e-6)
    assert not c.within_tolerance  # 0.1 > 1e-4 + 1e-2 * 1
    assert compare_arrays("y", [(ref, got)], atol=0.2, rtol=1e-2).within_tolerance


def test_nan_and_inf_handling():
    ref = np.array([np.nan, np.inf, 1.0])
    assert compare_arrays("y", [(ref, ref.copy())], atol=0, rtol=0).within_tolerance
    bad = compare_arrays("y", [(ref, np.array([0.0, np.inf, 1.0]))], atol=1, rtol=1)
    assert not bad.within_tolerance and bad.nonfinite_mismatches == 1


def test_argmax_and_cosine():
    ref = np.array([[0.1, 0.9], [0.8, 0.2]])
    got = np.array([[0.2, 0.8], [0.3, 0.7]])
    c = compare_arrays("y", [(ref, got)], atol=1, rtol=0)
    assert c.argmax_agreement == 0.5
    assert 0 < c.cosine_similarity < 1
    assert compare_arrays("y", [(np.ones((1, 4, 2)), np.ones((1, 4, 2)))], atol=0, rtol=0).argmax_agreement is None
    assert looks_like_class_scores(np.zeros((3, 10))) and not looks_like_class_scores(np.zeros((3, 1)))


def test_shape_mismatch_and_missing_outputs():
    c = compare_arrays("y", [(np.zeros((1, 3)), np.zeros((1, 4)))], atol=1, rtol=1)
    assert not c.within_tolerance and "shape" in c.problem
    out = compare_outputs([{"a": np.zeros(2)}], [{"b": np.zeros(2)}], atol=1, rtol=1)
    assert not out["a"].within_tolerance and out["a"].problem == "output missing"


def test_statistics_pool_all_samples():
    pairs = [(np.zeros(2), np.zeros(2)), (np.zeros(2), np.array([0.0, 2.0]))]
    c = compare_arrays("y", pairs, atol=0, rtol=0)
    assert c.num_values == 4 and c.max_abs_error == 2.0 and c.mean_abs_error == 0.5


def test_saturated_infinities_match_but_finite_max_values_do_not():
    ref = np.array([np.inf, -np.inf, 1.0])
    assert compare_arrays("y", [(ref, np.array([3.4028235e38, -3.4028235e38, 1.0]))], atol=0, rtol=0).within_tolerance
    assert not compare_arrays("y", [(ref, np.array([-3.4028235e38, -np.inf, 1.0]))], atol=0, rtol=0).within_tolerance


def test_per_sample_errors_and_decade_histogram():
    ref = [np.zeros((1, 3)), np.zeros((1, 2))]
    got = [np.array([[0.0, 3e-7, 2e-3]]), np.array([[5e-13, np.nan]])]
    c = compare_arrays("y", list(zip(ref, got)), atol=0, rtol=0)
    assert c.sample_max_abs_errors == (2e-3, math.inf)
    histogram = c.error_histogram
    assert histogram.total == 5 and histogram.zeros == 1 and histogram.below == 1 and histogram.above == 1
    decade_of = {edge: count for edge, count in zip(histogram.edges, histogram.counts) if count}
    assert decade_of == {1e-7: 1, 1e-3: 1}
