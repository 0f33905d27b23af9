"""3-D pooling and MaxPoolWithArgmax: attribute combinations against TF's kernels, declines, native 1-D/2-D pools."""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tflite_fixups as tff
from case_runner import graph_op_types, tflite_op_types
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.rewrites import DEFAULT_REGISTRY
from tflite_fixups.rewrites.pooling import avg_pool_3d, max_pool_3d, max_pool_with_argmax
from tflite_fixups.rewrites.registry import NodeView
from tflite_fixups.verification.litert import LiteRTRunner


def node_view(op_type, shape, ksize, strides, padding, outputs=(tf.float32,), **attrs):
    attrs = {"ksize": ksize, "strides": strides, "padding": padding.encode(), **attrs}
    return NodeView(op_type, op_type, attrs, [shape], [tf.float32], [None] * len(outputs), list(outputs))


def with_ties(rng, shape):
    """Small integers, so windows often hold equal maxima, with some -inf and NaN."""
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x[rng.random(shape) < 0.1] = -np.inf
    x[rng.random(shape) < 0.05] = np.nan
    return x


def assert_same(got, want, rtol=0.0):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    with np.errstate(invalid="ignore"):  # inf - inf
        close = np.abs(got - want) <= rtol * np.abs(want)
    assert np.all((np.isnan(got) & np.isnan(want)) | (got == want) | close)


pool_3d = st.tuples(
    st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(1, 2)),
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    st.sampled_from(["SAME", "VALID"]),
    st.integers(0, 2**16),
).filter(lambda p: p[3] == "SAME" or all(k <= n for k, n in zip(p[1], p[0][1:4])))


@settings(max_examples=40, deadline=None)
@given(pool_3d)
def test_3d_pools_match_tf_for_any_kernel_stride_and_padding(params):
    shape, kernel, strides, padding, seed = params
    x = with_ties(np.random.default_rng(seed), shape)
    ksize, stride = [1, *kernel, 1], [1, *strides, 1]
    node = node_view("MaxPool3D", shape, ksize, stride, padding, data_format=b"NDHWC")
    assert_same(max_pool_3d(node, tf.constant(x)), tf.nn.max_pool3d(x, kernel, strides, padding))
    node = node_view("AvgPool3D", shape, ksize, stride, padding, data_format=b"NDHWC")
    assert_same(avg_pool_3d(node, tf.constant(x)), tf.nn.avg_pool3d(x, kernel, strides, padding), 1e-6)


pool_2d = st.tuples(
    st.tuples(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.integers(1, 3)),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.sampled_from(["SAME", "VALID"]),
    st.booleans(),
    st.integers(0, 2**16),
).filter(lambda p: p[3] == "SAME" or all(k <= n for k, n in zip(p[1], p[0][1:3])))


@settings(max_examples=40, deadline=None)
@given(pool_2d)
def test_argmax_matches_tf_with_ties_infinities_and_nan(params):
    shape, kernel, strides, padding, include_batch, seed = params
    x = with_ties(np.random.default_rng(seed), shape)
    node = node_view("MaxPoolWithArgmax", shape, [1, *kernel, 1], [1, *strides, 1], padding,
                     outputs=(tf.float32, tf.int64), include_batch_in_index=include_batch, Targmax=tf.int64)
    values, indices = max_pool_with_argmax(node, tf.constant(x))
    want_values, want_indices = tf.nn.max_pool_with_argmax(
        x, kernel, strides, padding, include_batch_in_index=include_batch)
    assert_same(values, want_values)
    np.testing.assert_array_equal(indices, want_indices)


def rewrite(function, shape):
    model = tff.load_model(tf.function(function, input_signature=[tf.TensorSpec(shape)]))
    return model, tff.passes.replace_unsupported_ops().run(model)


def test_ncdhw_is_declined_with_a_warning():
    _, result = rewrite(lambda x: tf.nn.max_pool3d(x, 2, 2, "VALID", data_format="NCDHW"), (1, 2, 4, 4, 4))
    assert "MaxPool3D" in graph_op_types(result.model)
    assert any("NCDHW" in warning for warning in result.report.warnings)


def test_an_argmax_kernel_above_the_unroll_limit_is_declined_with_a_warning():
    _, result = rewrite(lambda x: tf.nn.max_pool_with_argmax(x, 9, 1, "SAME")[0], (1, 10, 10, 1))
    assert "MaxPoolWithArgmax" in graph_op_types(result.model)
    assert any("64" in warning for warning in result.report.warnings)


def test_dynamic_spatial_dimensions_are_declined_with_a_warning():
    _, result = rewrite(lambda x: tf.nn.avg_pool3d(x, 2, 2, "SAME"), (1, None, 4, 4, 2))
    assert "AvgPool3D" in graph_op_types(result.model)
    assert any("static spatial" in warning for warning in result.report.warnings)


def test_1d_and_2d_pools_convert_natively_and_have_no_rule():
    """Unusual strides and SAME padding; averages whose windows overhang only one edge (see pooling.py)."""
    def pools(x):
        rows = tf.reshape(x, [2, 12, 6])
        return {
            "max1d": tf.nn.max_pool1d(rows, 3, 2, "SAME"), "avg1d": tf.nn.avg_pool1d(rows, 4, 3, "VALID"),
            "max2d": tf.nn.max_pool2d(x, (3, 2), (1, 3), "SAME"), "avg2d": tf.nn.avg_pool2d(x, (4, 5), (3, 2), "SAME"),
            "strided": tf.nn.max_pool2d(x, 2, 3, "VALID"),
        }

    model = tff.load_model(tf.function(pools, input_signature=[tf.TensorSpec((2, 6, 12, 1))]))
    assert not {"MaxPool", "AvgPool"} & set(DEFAULT_REGISTRY.op_types())
    tflite = convert_signature_model(model)
    assert not [op for op in tflite_op_types(tflite) if op.startswith("Flex") or not op.isupper()]
    x = np.random.default_rng(0).standard_normal((2, 6, 12, 1)).astype(np.float32)
    want, got = model.run({model.input_names[0]: x}), LiteRTRunner(tflite).run({model.input_names[0]: x})
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-6)


def test_an_unknown_batch_is_supported():
    spec = tf.TensorSpec((None, 3, 5, 4, 2))
    function = tf.function(lambda t: {
        "max": tf.nn.max_pool3d(t, 2, (1, 2, 2), "SAME"), "avg": tf.nn.avg_pool3d(t, 2, 2, "SAME"),
        "argmax": tf.nn.max_pool_with_argmax(t[:, 0], 2, 2, "SAME")[1],
    }, input_signature=[spec])
    model = tff.load_model(function, input_specs=[spec])  # keeps the None batch
    result = tff.passes.replace_unsupported_ops().run(model)
    assert len(result.report.replacements) == 3 and not result.report.warnings
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 5, 4, 2)).astype(np.float32)
        want, got = model.run({model.input_names[0]: x}), result.model.run({model.input_names[0]: x})
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6)
