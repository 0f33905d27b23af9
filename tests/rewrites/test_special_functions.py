"""Property-based checks of the elementwise special-function rules against TensorFlow's kernels."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from case_runner import built
from tflite_fixups.rewrites.cases import all_cases

SIZE = 4 * 64
DOMAINS = {  # op case name -> (low, high) of the valid domain checked with hypothesis
    "erf": (-8, 8), "erfc": (-8, 8), "erfinv": (-0.99, 0.99), "ndtri": (1e-6, 1 - 1e-6), "tan": (-1.5, 1.5),
    "atan": (-1e6, 1e6), "asin": (-1, 1), "acos": (-1, 1), "sinh": (-80, 80), "cosh": (-80, 80),
    "asinh": (-1e30, 1e30), "acosh": (1, 1e30), "atanh": (-0.999, 0.999), "besseli0e": (-500, 500),
    "besseli1e": (-500, 500), "besseli0": (-50, 50), "besseli1": (-50, 50), "digamma": (1e-3, 1e4),
    "besselk0e": (1e-3, 500), "besselk1e": (1e-3, 500), "besselk0": (1e-3, 50), "besselk1": (1e-3, 50),
}
CASES = {c.name: c for c in all_cases() if c.name in DOMAINS}


def batch(values):
    return np.resize(np.asarray(values, np.float32), SIZE).reshape(4, 64)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_rule_matches_tensorflow_on_generated_values(name):
    low, high = DOMAINS[name]
    case = built(name)

    bounds = float(np.float32(low)), float(np.float32(high))
    bounds = (bounds[0] if bounds[0] >= low else float(np.nextafter(np.float32(low), np.float32(np.inf))),
              bounds[1] if bounds[1] <= high else float(np.nextafter(np.float32(high), np.float32(-np.inf))))

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.floats(*bounds, width=32, allow_subnormal=False), min_size=1, max_size=SIZE))
    def check(values):
        x = batch(values)
        want = case.original.run({case.original.input_names[0]: x})["output_0"].astype(np.float64)
        got = case.rewritten.run({case.original.input_names[0]: x})["output_0"].astype(np.float64)
        excess = np.abs(got - want) - case.case.rtol * np.abs(want)
        assert np.nanmax(np.where(got == want, 0.0, excess)) <= case.case.atol

    check()


def test_digamma_negative_arguments_follow_reflection():
    case = built("digamma")
    x = batch(np.linspace(-4.9, -0.1, SIZE))
    x = np.where(np.abs(x - np.round(x)) < 0.05, x + 0.05, x).astype(np.float32)  # stay away from the poles
    want = tf.math.digamma(x).numpy()
    got = case.rewritten.run({case.original.input_names[0]: x})["output_0"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_float64_inputs_are_declined_not_mangled():
    import tflite_fixups as tff

    function = tf.function(lambda x: tf.math.erf(x), input_signature=[tf.TensorSpec((3,), tf.float64)])
    result = tff.passes.replace_unsupported_ops().run(tff.load_model(function))
    assert not result.report.changed
    assert any("float32" in w for w in result.report.warnings)


# --- outside the domain: exact limits or NaN, never silently wrong numbers -------------------------


def run_both(case, *inputs):
    """(rewritten TF, LiteRT) outputs of a built case on ``inputs``."""
    feed = case.feed(list(inputs))
    return case.rewritten.run(feed)["output_0"], case.runner.run(feed)["output_0"]


def test_erfinv_is_exactly_infinite_at_plus_minus_one_in_tf_and_on_litert():
    """erfinv(+-1) = +-inf exactly, also on LiteRT (it was +-3.4e38 there: a saturated inf constant).
    The infinity is w = -log(0) computed at run time, which TFLite's kernels leave unsaturated."""
    case = built("erfinv")
    x = batch([1.0, -1.0, 1.5, -1.0000001, np.inf, -np.inf, np.nan, 0.5])
    want = case.original.run(case.feed([x]))["output_0"]
    for got in run_both(case, x):
        np.testing.assert_array_equal(got[0, :2], [np.inf, -np.inf])
        assert np.isposinf(got[x == 1.0]).all() and np.isneginf(got[x == -1.0]).all()
        assert np.isnan(got[(np.abs(x) > 1.0) | np.isnan(x)]).all()
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def wilson_hilferty(a, x):
    """P(a, x) by the Wilson-Hilferty cube-root normal approximation, in float64: error ~ 5e-3 / a
    (measured against TF's float64 kernel at a = 1e3..1e5), so below 5e-9 from a = 1e6 on, where
    TF's and scipy's float64 kernels themselves are off by up to 0.4 and 1e-6."""
    from scipy.special import ndtr

    with np.errstate(divide="ignore"):
        cube_root = np.expm1(np.log1p((x - a) / a) / 3.0)
    return ndtr((cube_root + 1.0 / (9.0 * a)) * np.sqrt(9.0 * a))


@pytest.mark.parametrize("a0", [1e6, 1e10, 1e20, 1e30, 1e37])
def test_incomplete_gamma_for_huge_a_within_its_bound(a0):
    """Beyond a = 100 (and up to float32 max) Temme's uniform expansion keeps P and Q within 2e-6 of the
    exact value, across x = a +- 12 sqrt(a) and at x = 0; the old series and continued fraction were off by
    0.0166 to 0.44 from a = 150 to 1e4 (their 96 terms and 48 steps converge only for a <= 100)."""
    rng = np.random.default_rng(int(np.log10(a0)))
    a = (a0 * rng.uniform(1.0, 2.0, SIZE)).astype(np.float32)
    x = np.maximum(a + np.sqrt(a) * np.linspace(-12.0, 12.0, SIZE), 0.0).astype(np.float32)
    a, x = a.reshape(4, 64), x.reshape(4, 64)
    x[0, 0] = 0.0
    exact = wilson_hilferty(a.astype(np.float64), x.astype(np.float64))
    for name, reference in (("igamma", exact), ("igammac", 1.0 - exact)):
        for got in run_both(built(name), a, x):
            assert np.abs(got - reference).max() <= 2e-6, name


def test_incomplete_gamma_limits_are_exact():
    """P(a, +inf) = 1 and Q(a, +inf) = 0 exactly (they were NaN); P(+inf, x) = 0 for finite x; NaN for
    a <= 0, x < 0, a NaN input, or a = x = +inf (no limit)."""
    a = batch([0.5, 3.0, 100.0, 150.0, 1e4, 1e30, np.inf, np.inf, np.inf, 0.0, -1.0, 2.0, np.nan, 1.0])
    x = batch([np.inf] * 6 + [1.0, 0.0, np.inf, 1.0, 1.0, -1.0, 1.0, np.nan])
    p_expected = np.resize(np.array([1.0] * 6 + [0.0, 0.0] + [np.nan] * 6, np.float32), SIZE).reshape(4, 64)
    q_expected = np.where(np.isnan(p_expected), np.nan, 1.0 - p_expected).astype(np.float32)
    for name, expected in (("igamma", p_expected), ("igammac", q_expected)):
        for got in run_both(built(name), a, x):
            np.testing.assert_array_equal(got, expected, err_msg=name)
