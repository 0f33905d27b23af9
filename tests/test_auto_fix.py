"""auto_fix: the passes a model needs, chosen and ordered without naming any, on both Keras flavours."""

import numpy as np
import pytest
import tensorflow as tf

import helpers
import sequence_models as models
import tflite_fixups as tff
from tflite_fixups.conversion.flatbuffer import flex_ops


def eigvalsh_model(K):
    K.utils.set_random_seed(0)
    tokens = K.Input((6, 4), name="tokens")
    gram = K.layers.Lambda(lambda x: tf.matmul(x, x, transpose_a=True), name="gram")(tokens)
    spectrum = K.layers.Lambda(lambda g: tf.linalg.eigvalsh(g), name="spectrum")(gram)
    return K.Model(tokens, K.layers.Dense(3, name="head")(spectrum), name="spectral")


def test_a_lambda_calling_eigvalsh_is_rewritten_without_naming_a_pass(K):
    model = eigvalsh_model(K)
    with pytest.raises(tff.ConversionError):
        tff.convert(model)
    result = tff.auto_fix(model, sample_inputs=np.random.default_rng(0).normal(size=(8, 6, 4)).astype("float32"))
    assert result.ok and not flex_ops(result.ops)
    (report,) = result.passes
    assert report.name == "replace_unsupported_ops"
    assert report.notes[0].startswith("auto_fix chose it: the converter rejects SelfAdjointEigV2 (SelfAdjointEigV2 in spectrum)")


def test_a_dynamic_gru_is_pinned_padded_and_masked_from_input_specs(K):
    K.utils.set_random_seed(0)
    inputs = K.Input((None, 16), name="seq")
    model = models.randomise_biases(K.Model(inputs, K.layers.Dense(4, name="head")(K.layers.GRU(12)(inputs))))
    sequences = models.sequences((7, 30, 41), features=16)
    result = tff.auto_fix(model, input_specs=[(1, 30, 16)], sample_inputs=sequences)
    assert result.ok and not flex_ops(result.ops)
    assert [r.name for r in result.passes] == ["pin_input_shapes"]
    assert "pins 'seq' axis 1" in result.passes[0].notes[0] and "masked" in result.passes[0].notes[0]
    assert result.pinning["seq"].masked and result.verification.pinning.max_pinning_error == 0.0


def test_a_model_that_needs_nothing_gets_no_pass(K):
    result = tff.auto_fix(helpers.mlp(K))
    assert result.ok and result.passes == []


def test_input_specs_that_only_pin_the_batch_need_no_pin_pass(K):
    result = tff.auto_fix(helpers.mlp(K), input_specs=(1, 8))
    assert result.ok and result.passes == [] and result.input_specs[0].shape == (1, 8)


def test_what_is_left_unfixable_is_listed_with_its_layer_and_what_to_do():
    import keras

    inputs = keras.Input((3, 3), name="m")
    real_eigenvalues = keras.layers.Lambda(lambda m: tf.math.real(tf.linalg.eigvals(m)), name="eig")(inputs)
    model = keras.Model(inputs, real_eigenvalues)
    with pytest.raises(tff.ConversionError) as caught:
        tff.auto_fix(model)
    assert any(op.op_type == "Eig" and op.layer == "eig" for op in caught.value.unsupported_ops)
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "auto_fix applied no pass" in notes and "No rewrite rule exists for Eig" in notes


def test_auto_fix_never_touches_the_users_model(K):
    model = eigvalsh_model(K)
    before = helpers.weights_snapshot(model)
    tff.auto_fix(model)
    helpers.assert_same_weights(before, model)
