"""Counting-family rules: attribute combinations, runtime inputs, exact histogram bins, and near-misses."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tflite_fixups as tff
from case_runner import built, graph_op_types, tflite_op_types
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.rewrites.counting import _histogram_bins
from tflite_fixups.verification.litert import LiteRTRunner

SHAPE = (3, 4, 5)


def rewrite(function, specs):
    """(original, pass result) for a tf.function of ``specs``."""
    original = tff.load_model(tf.function(function, input_signature=specs))
    return original, tff.passes.replace_unsupported_ops().run(original)


def feed(model, inputs):
    return dict(zip(model.input_names, inputs))


@pytest.mark.parametrize("op", ["cumprod", "logsumexp"])
@pytest.mark.parametrize("exclusive, reverse", list(itertools.product([False, True], repeat=2)))
def test_scans_every_axis_and_attribute_combination(op, exclusive, reverse):
    """One rewrite with a runtime axis covers every axis, negative ones included (TF only, no conversion)."""
    scan = tf.math.cumprod if op == "cumprod" else tf.math.cumulative_logsumexp
    original, result = rewrite(lambda x, axis: scan(x, axis=axis, exclusive=exclusive, reverse=reverse),
                               [tf.TensorSpec(SHAPE, tf.float32), tf.TensorSpec((), tf.int32)])
    x = np.random.default_rng(0).uniform(0.5, 1.5, SHAPE).astype(np.float32)
    for axis in range(-3, 3):
        inputs = feed(original, [x, np.int32(axis)])
        want, got = original.run(inputs)["output_0"], result.model.run(inputs)["output_0"]
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6, err_msg=f"axis {axis}")


def test_runtime_axis_converts_and_runs_on_litert():
    """A non-constant axis is not declined: every axis is scanned and the right one selected at run time."""
    original, result = rewrite(lambda x, axis: tf.math.cumprod(x, axis=axis, reverse=True),
                               [tf.TensorSpec(SHAPE, tf.float32), tf.TensorSpec((), tf.int32)])
    runner = LiteRTRunner(convert_signature_model(result.model))
    x = np.random.default_rng(1).uniform(-2.0, 2.0, SHAPE).astype(np.float32)
    for axis in (0, 2, -1, -3):
        inputs = feed(original, [x, np.int32(axis)])
        np.testing.assert_allclose(runner.run(inputs)["output_0"], original.run(inputs)["output_0"], rtol=1e-6)


def test_constant_axis_folds_to_a_single_scan():
    """With a constant axis the converter drops the scans along the other axes: no SELECT remains."""
    ops = tflite_op_types(built("count_cumprod_3x5x7_axis1").tflite)
    assert not any(op.startswith("SELECT") for op in ops), ops
    assert ops.get("MUL") == 3, ops  # ceil(log2 5) multiplication steps


def test_dynamic_shape_is_declined_with_a_warning():
    _, result = rewrite(lambda x: tf.math.cumprod(x, axis=0), [tf.TensorSpec((2, None), tf.float32)])
    assert graph_op_types(result.model).get("Cumprod") == 1
    assert any("Cumprod" in w and "static shape" in w for w in result.report.warnings), result.report.warnings


def test_bincount_with_data_dependent_size_runs_on_litert():
    """tf.math.bincount without minlength/maxlength: the size (max + 1) is only known at run time."""
    original, result = rewrite(tf.math.bincount, [tf.TensorSpec((12,), tf.int32)])
    assert "DenseBincount" not in graph_op_types(result.model)
    runner = LiteRTRunner(convert_signature_model(result.model))
    for values in ([0, 1, 1, 5, 2, 2, 2, 0, 9, 3, 3, 1], [0] * 12, [4] * 12):
        inputs = feed(original, [np.array(values, np.int32)])
        want = original.run(inputs)["output_0"]
        np.testing.assert_array_equal(result.model.run(inputs)["output_0"], want)
        np.testing.assert_array_equal(runner.run(inputs)["output_0"], want)


@pytest.mark.parametrize("function, specs, op_type, reason", [
    (lambda x, w: tf.math.bincount(x, weights=w, minlength=4, maxlength=4),
     [tf.TensorSpec((6,), tf.int32), tf.TensorSpec((6,), tf.float64)], "DenseBincount", "float64"),
    (lambda x, n: tf.histogram_fixed_width(x, [0.0, 1.0], nbins=n),
     [tf.TensorSpec((6,), tf.float32), tf.TensorSpec((), tf.int32)], "HistogramFixedWidth", "constant nbins"),
    (lambda s, v: tf.searchsorted(s, v), [tf.TensorSpec((64, 512)), tf.TensorSpec((64, 1024))],
     "LowerBound", "limit"),
    (lambda x: tf.raw_ops.NthElement(input=x, n=1), [tf.TensorSpec((2, None))], "NthElement", "static last axis"),
])
def test_near_misses_are_declined_with_a_warning(function, specs, op_type, reason):
    _, result = rewrite(function, specs)
    assert graph_op_types(result.model).get(op_type) == 1
    assert any(op_type in w and reason in w for w in result.report.warnings), result.report.warnings


def exact_bin(value: float, low: float, high: float, nbins: int) -> int:
    """floor((clip(value) - low) * nbins / (high - low)) in exact rational arithmetic, capped like TF."""
    clipped = min(max(Fraction(value), Fraction(low)), Fraction(high))
    return min(int((clipped - Fraction(low)) * nbins // (Fraction(high) - Fraction(low))), nbins - 1)


FLOAT32 = st.floats(-2.0 ** 20, 2.0 ** 20, width=32)


@settings(max_examples=50, deadline=None)
@given(low=FLOAT32, width=st.floats(2.0 ** -10, 1e6, width=32), nbins=st.integers(1, 1000),
       positions=st.lists(st.integers(0, 1000), min_size=1, max_size=64), nudges=st.integers(-2, 2))
def test_histogram_bins_are_exact(low, width, nbins, positions, nudges):
    """Values on, just below and just above bin edges land in the exact rational bin."""
    high = np.float32(np.float32(low) + np.float32(width))
    assume(high > low)
    edges = np.float32(low) + (high - np.float32(low)) * (np.array(positions) % (nbins + 1)) / nbins
    values = edges.astype(np.float32)
    for _ in range(abs(nudges)):
        values = np.nextafter(values, np.float32(np.sign(nudges) * np.inf), dtype=np.float32)
    got = _histogram_bins(tf.constant(values), tf.constant([low, high], tf.float32), tf.constant(float(nbins)))
    want = [exact_bin(float(v), float(low), float(high), nbins) for v in values]
    np.testing.assert_array_equal(got.numpy(), want)


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(-0.5, 1.5, width=32), min_size=1, max_size=256))
def test_histogram_matches_tensorflow_on_litert(values):
    case = built("count_histogram_unit_range")
    inputs = [np.resize(np.array(values, np.float32), case.case.input_specs[0].shape)]
    want, rewritten, litert = case.outputs(inputs)
    np.testing.assert_array_equal(rewritten["output_0"], want["output_0"])
    np.testing.assert_array_equal(litert["output_0"], want["output_0"])
