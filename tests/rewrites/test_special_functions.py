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
