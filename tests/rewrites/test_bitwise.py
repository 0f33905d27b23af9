"""Bitwise rules: exactness over the full int32 range (hypothesis, on LiteRT), and the forms left alone."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tflite_fixups as tff
from case_runner import built, graph_op_types
from tflite_fixups.rewrites import DEFAULT_REGISTRY

INT32 = st.integers(-(2 ** 31), 2 ** 31 - 1)


def int32_batch(values, shape):
    """Hypothesis values repeated to fill a case's input shape."""
    return np.resize(np.array(values, dtype=np.int64), shape).astype(np.int32)


def assert_exact(case_name: str, inputs) -> None:
    case = built(case_name)
    want, rewritten, litert = case.outputs(inputs)
    for name, expected in want.items():
        np.testing.assert_array_equal(rewritten[name], expected)
        np.testing.assert_array_equal(litert[name], expected)


@pytest.mark.parametrize("case_name", ["bitwise_and_int32", "bitwise_or_int32"])
@settings(max_examples=50, deadline=None)
@given(first=st.lists(INT32, min_size=1, max_size=256), second=st.lists(INT32, min_size=1, max_size=256))
def test_and_or_exact_on_full_int32_range(case_name, first, second):
    shape = built(case_name).case.input_specs[0].shape
    assert_exact(case_name, [int32_batch(first, shape), int32_batch(second, shape)])


@settings(max_examples=50, deadline=None)
@given(values=st.lists(INT32, min_size=1, max_size=256),
       shifts=st.lists(st.integers(-5, 40), min_size=1, max_size=256))
def test_left_shift_exact_on_full_int32_range(values, shifts):
    shape = built("bitwise_left_shift_int32").case.input_specs[0].shape
    assert_exact("bitwise_left_shift_int32", [int32_batch(values, shape), int32_batch(shifts, shape)])


@pytest.mark.parametrize("case_name", ["bitwise_invert_int32", "bitwise_popcount_int32"])
@settings(max_examples=50, deadline=None)
@given(values=st.lists(INT32, min_size=1, max_size=256))
def test_unary_exact_on_full_int32_range(case_name, values):
    shape = built(case_name).case.input_specs[0].shape
    assert_exact(case_name, [int32_batch(values, shape)])


def test_every_int8_pair_is_exact():
    """All 256 x 256 int8 operand pairs through AND and OR (TF only: one rewrite, no conversion)."""
    grid = np.arange(-128, 128, dtype=np.int8)
    a, b = np.repeat(grid, 256), np.tile(grid, 256)
    spec = tf.TensorSpec(a.shape, tf.int8)
    function = tf.function(lambda x, y: {"and": tf.bitwise.bitwise_and(x, y), "or": tf.bitwise.bitwise_or(x, y)},
                           input_signature=[spec, spec])
    rewritten = tff.passes.replace_unsupported_ops().run(tff.load_model(function)).model
    got = rewritten.run(dict(zip(rewritten.input_names, [a, b])))
    np.testing.assert_array_equal(got["and"], a & b)
    np.testing.assert_array_equal(got["or"], a | b)


def test_int64_is_declined_with_a_warning():
    spec = tf.TensorSpec((8,), tf.int64)
    model = tff.load_model(tf.function(tf.bitwise.bitwise_and, input_signature=[spec, spec]))
    result = tff.passes.replace_unsupported_ops().run(model)
    assert graph_op_types(result.model).get("BitwiseAnd") == 1
    assert any("BitwiseAnd" in w and "int64" in w for w in result.report.warnings), result.report.warnings


@pytest.mark.parametrize("op_type", ["BitwiseXor", "RightShift"])
def test_natively_converted_ops_have_no_rule(op_type):
    """BITWISE_XOR and RIGHT_SHIFT are TFLite builtins: the pass must leave them alone."""
    assert op_type not in DEFAULT_REGISTRY
