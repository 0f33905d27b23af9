"""Property-based checks of the special-integral and Bessel J/Y rules, in TF and on LiteRT.

Each case compares with TF's float64 kernel (see the cases in special_integrals.py and bessel_jy.py);
beyond |x| = 36974 the Fresnel integrals are checked against their asymptotic expansion with the
phase reduced exactly, since TF's kernels return exactly 1/2 there.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tflite_fixups as tff
from case_runner import built, max_error

SHAPE = (4, 64)
FLOAT32_MAX = float(np.finfo(np.float32).max)
DOMAINS = {  # case name -> (low, high) of the valid domain checked with hypothesis
    "expint": (1e-30, 93.0), "spence": (0.0, FLOAT32_MAX), "dawsn": (-FLOAT32_MAX, FLOAT32_MAX),
    "fresnelcos": (-36974.0, 36974.0), "fresnelsin": (-36974.0, 36974.0),
    "besselj0": (-FLOAT32_MAX, FLOAT32_MAX), "besselj1": (-FLOAT32_MAX, FLOAT32_MAX),
    "bessely0": (1e-30, FLOAT32_MAX), "bessely1": (1e-30, FLOAT32_MAX),
}
FRESNEL_TF_CUTOFF = 36974.0  # beyond, TF's kernels return exactly +-1/2


def batch(values):
    return np.resize(np.asarray(values, np.float32), SHAPE)


def inward_float32(bound: float, toward: float) -> float:
    """The float32 nearest to ``bound`` on the side of ``toward`` (hypothesis wants exact float32 bounds)."""
    value = np.float32(bound)
    if (value < bound) if toward > bound else (value > bound):
        value = np.nextafter(value, np.float32(toward))
    return float(value)


def float32s(low: float, high: float):
    bounds = inward_float32(low, high), inward_float32(high, low)
    return st.lists(st.floats(*bounds, width=32, allow_subnormal=False), min_size=1, max_size=SHAPE[0] * SHAPE[1])


def assert_within_bound(name: str, inputs) -> None:
    case = built(name)
    want, rewritten, litert = case.outputs(inputs)
    for where, got in (("TF", rewritten), ("LiteRT", litert)):
        error = max_error(case.case, want, got, inputs)
        assert error <= case.case.atol, f"{name} in {where}: off by {error:.3g} > {case.case.atol:g}"


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_rule_matches_float64_kernel_on_generated_values(name):
    low, high = DOMAINS[name]

    @settings(max_examples=25, deadline=None)
    @given(float32s(low, high))
    def check(values):
        assert_within_bound(name, [batch(values)])

    check()


@settings(max_examples=25, deadline=None)
@given(a=float32s(1e-3, 100.0), b=float32s(1e-3, 100.0), x=float32s(0.0, 1.0))
def test_betainc_matches_float64_kernel_on_generated_values(a, b, x):
    assert_within_bound("betainc", [batch(a), batch(b), batch(x)])


@settings(max_examples=25, deadline=None)
@given(a=float32s(1.0, 100.0), b=float32s(1.0, 100.0), z=st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=256))
def test_betainc_near_the_mean_where_it_varies_fastest(a, b, z):
    a32, b32 = batch(a).astype(np.float64), batch(b).astype(np.float64)
    spread = np.sqrt(a32 * b32 / ((a32 + b32) ** 2 * (a32 + b32 + 1.0)))
    x = np.clip(a32 / (a32 + b32) + spread * np.resize(np.asarray(z), SHAPE), 0.0, 1.0)
    assert_within_bound("betainc", [batch(a), batch(b), batch(x)])


def fresnel_asymptotic(x: float):
    """(C(x), S(x)) for x > 1000 from the asymptotic series, with pi x^2 / 2 reduced exactly (x is a float32)."""
    quarter_turns = float((Fraction(x) ** 2) % 4)  # x^2 mod 4: the phase in units of pi/2
    phase = 0.5 * math.pi * quarter_turns
    w = 1.0 / (math.pi * x * x) ** 2
    f = (1.0 - 3.0 * w + 105.0 * w * w) / (math.pi * x)
    g = (1.0 - 15.0 * w + 945.0 * w * w) / (math.pi ** 2 * x ** 3)
    return 0.5 + f * math.sin(phase) - g * math.cos(phase), 0.5 - f * math.cos(phase) - g * math.sin(phase)


@settings(max_examples=25, deadline=None)
@given(float32s(FRESNEL_TF_CUTOFF, FLOAT32_MAX))
def test_fresnel_keeps_its_oscillation_beyond_tensorflows_cutoff(values):
    x = batch(values)
    exact = np.array([fresnel_asymptotic(float(v)) for v in x.ravel()]).reshape(SHAPE + (2,))
    for index, name in enumerate(("fresnelcos", "fresnelsin")):
        case = built(name)
        _, rewritten, litert = case.outputs([x])
        for got in (rewritten, litert):
            assert np.abs(got["output_0"] - exact[..., index]).max() <= case.case.atol


def test_betainc_broadcasts_scalar_parameters():
    function = tf.function(lambda x: tf.math.betainc(2.5, 4.0, x), input_signature=[tf.TensorSpec((16,), tf.float32)])
    result = tff.passes.replace_unsupported_ops().run(tff.load_model(function))
    assert result.report.changed
    x = np.linspace(0.0, 1.0, 16, dtype=np.float32)
    got = result.model.run({result.model.input_names[0]: x})["output_0"]
    want = tf.math.betainc(np.float64(2.5), np.float64(4.0), x.astype(np.float64)).numpy()
    np.testing.assert_allclose(got, want, atol=5e-6, rtol=0)


@pytest.mark.parametrize("function", [tf.math.betainc, lambda a, b, x: tf.math.special.bessel_j0(x + a + b)])
def test_float64_inputs_are_declined_not_mangled(function):
    spec = tf.TensorSpec((3,), tf.float64)
    model = tff.load_model(tf.function(function, input_signature=[spec] * 3))
    result = tff.passes.replace_unsupported_ops().run(model)
    assert not result.report.changed
    assert any("float32" in w for w in result.report.warnings)
