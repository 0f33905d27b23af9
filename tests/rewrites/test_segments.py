"""Segment reductions: near-misses (non-constant or unsorted ids, native SegmentSum), NaN propagation,
and which related segment ops convert natively."""

import numpy as np
import pytest
import tensorflow as tf

import tflite_fixups as tff
from case_runner import graph_op_types, tflite_op_types
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.verification.litert import LiteRTRunner

SEGMENT_OPS = {"SegmentSum": tf.math.segment_sum, "SegmentMean": tf.math.segment_mean,
               "SegmentMax": tf.math.segment_max, "SegmentMin": tf.math.segment_min,
               "SegmentProd": tf.math.segment_prod}


def rewrite(function, specs):
    """(original, pass result) for a tf.function of ``specs``."""
    original = tff.load_model(tf.function(function, input_signature=specs))
    return original, tff.passes.replace_unsupported_ops().run(original)


def feed(model, inputs):
    return dict(zip(model.input_names, inputs))


@pytest.mark.parametrize("op_type", sorted(SEGMENT_OPS))
def test_runtime_segment_ids_are_declined_with_a_warning(op_type):
    _, result = rewrite(lambda x, ids: SEGMENT_OPS[op_type](x, ids),
                        [tf.TensorSpec((6, 2), tf.float32), tf.TensorSpec((6,), tf.int32)])
    assert graph_op_types(result.model).get(op_type) == 1
    assert any(op_type in w and "constant segment_ids" in w for w in result.report.warnings), result.report.warnings


def test_unsorted_constant_ids_are_declined():
    _, result = rewrite(lambda x: tf.raw_ops.SegmentMax(data=x, segment_ids=tf.constant([0, 2, 1])),
                        [tf.TensorSpec((3,), tf.float32)])
    assert graph_op_types(result.model).get("SegmentMax") == 1
    assert any("sorted" in w for w in result.report.warnings), result.report.warnings


def test_contiguous_segment_sum_is_left_to_tflite_quietly():
    """Ids without gaps: TFLite's SEGMENT_SUM computes it; no rewrite and no warning."""
    original, result = rewrite(lambda x: tf.math.segment_sum(x, tf.constant([0, 0, 1, 2, 2])),
                               [tf.TensorSpec((5, 3), tf.float32)])
    assert graph_op_types(result.model).get("SegmentSum") == 1 and not result.report.warnings
    tflite = convert_signature_model(result.model)
    assert "SEGMENT_SUM" in tflite_op_types(tflite)
    inputs = feed(original, [np.arange(15, dtype=np.float32).reshape(5, 3)])
    np.testing.assert_array_equal(LiteRTRunner(tflite).run(inputs)["output_0"], original.run(inputs)["output_0"])


def test_float16_segment_sum_is_rewritten_even_when_contiguous():
    """TFLite's SEGMENT_SUM has no float16 kernel (the converter rejects it): the rule computes in float32."""
    original, result = rewrite(lambda x: tf.math.segment_sum(x, tf.constant([0, 0, 1])),
                               [tf.TensorSpec((3, 2), tf.float16)])
    assert "SegmentSum" not in graph_op_types(result.model)
    inputs = feed(original, [np.array([[1, 2], [3, 4], [5, 6]], np.float16)])
    np.testing.assert_array_equal(result.model.run(inputs)["output_0"], original.run(inputs)["output_0"])


@pytest.mark.parametrize("op_type", ["SegmentMax", "SegmentMin"])
def test_nan_propagates_through_max_and_min(op_type):
    """A segment holding a NaN gives NaN in TF (rewritten) and on LiteRT; TF's own kernel may not (documented)."""
    original, result = rewrite(lambda x: SEGMENT_OPS[op_type](x, tf.constant([0, 0, 0, 1, 1, 3])),
                               [tf.TensorSpec((6, 2), tf.float32)])
    x = np.array([[5, 1], [np.nan, 2], [1, 3], [2, np.nan], [-np.inf, 4], [7, -7]], np.float32)
    inputs = feed(original, [x])
    first, second = (3, 2) if op_type == "SegmentMax" else (1, -np.inf)
    expected = np.array([[np.nan, first], [second, np.nan], [0, 0], [7, -7]], np.float32)  # segment 2 is empty
    runner = LiteRTRunner(convert_signature_model(result.model))
    for got in (result.model.run(inputs)["output_0"], runner.run(inputs)["output_0"]):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("reduce", [tf.math.unsorted_segment_sum, tf.math.unsorted_segment_max,
                                    tf.math.unsorted_segment_min, tf.math.unsorted_segment_prod,
                                    tf.math.unsorted_segment_mean, tf.math.unsorted_segment_sqrt_n],
                         ids=lambda f: f.__name__)
def test_unsorted_segment_ops_convert_natively(reduce):
    """No rule needed: the UnsortedSegment* ops (and mean/sqrt_n, built from them) are TFLite builtins."""
    model = tff.load_model(tf.function(lambda x: reduce(x, tf.constant([2, 0, 2, 1]), 4),
                                       input_signature=[tf.TensorSpec((4, 3), tf.float32)]))
    ops = tflite_op_types(convert_signature_model(model))
    assert not [op for op in ops if op.startswith("Flex") or not op.isupper()], ops


def test_segment_ids_captured_from_outside_the_function_count_as_constant():
    """tf.constant made outside the tf.function reaches the op through an Identity (and here a Cast)."""
    import numpy as np
    import tensorflow as tf

    import tflite_fixups as tff

    ids = tf.constant([0, 0, 1, 3], tf.int64)
    function = tf.function(lambda x: {"y": tf.math.segment_max(x, tf.cast(ids, tf.int32))},
                           input_signature=[tf.TensorSpec((4, 3), tf.float32)])
    result = tff.convert_and_verify(function, [tff.passes.replace_unsupported_ops()],
                                    sample_inputs=np.arange(12, dtype=np.float32).reshape(4, 3))
    assert result.ok and [r.kind for r in result.passes[0].replacements] == ["SegmentMax"]
