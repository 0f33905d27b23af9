"""The issue's acceptance models: full-size architectures through convert_and_verify."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import helpers
import tflite_fixups as tff

pytestmark = pytest.mark.slow
IMAGE = (1, 96, 96, 3)


def image_samples(count=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, IMAGE).astype(np.float32) for _ in range(count)]


@pytest.fixture(scope="module")
def mobilenet_v2_tf_keras():
    tf_keras.utils.set_random_seed(0)
    return tf_keras.applications.MobileNetV2(input_shape=IMAGE[1:], weights=None)


def assert_ok_below(result, bound=1e-4):
    assert result.ok, str(result)
    worst = max(o.max_abs_error for o in result.verification.outputs.values())
    assert worst < bound, str(result)


def test_keras3_mobilenet_v3_small():
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV3Small(input_shape=IMAGE[1:], weights=None)
    before = helpers.weights_snapshot(model)
    result = tff.convert_and_verify(model, sample_inputs=image_samples())
    assert_ok_below(result)
    assert result.ops.get("CONV_2D", 0) > 10 and not any(op.startswith("Flex") for op in result.ops)
    helpers.assert_same_weights(before, model)


def test_tf_keras_mobilenet_v2(mobilenet_v2_tf_keras):
    result = tff.convert_and_verify(mobilenet_v2_tf_keras, sample_inputs=image_samples())
    assert_ok_below(result)
    assert result.verification["predictions"].argmax_agreement == 1.0


def test_tf_keras_mobilenet_v2_as_saved_model(tmp_path, mobilenet_v2_tf_keras):
    path = str(tmp_path / "mobilenet_v2")
    tf.saved_model.save(mobilenet_v2_tf_keras, path)
    result = tff.convert_and_verify(path, sample_inputs=image_samples())
    assert_ok_below(result)
    assert result.input_specs[0].shape == IMAGE


def test_keras3_dict_input_encoder_larger():
    model = helpers.dict_input_encoder(keras, vocab=1000, length=64, width=64)
    samples = [helpers.encoder_sample(length=64, seed=s, vocab=1000) for s in range(4)]
    assert_ok_below(tff.convert_and_verify(model, sample_inputs=samples))
