"""convert / convert_and_verify / diagnose on small real models, both Keras flavours."""

import numpy as np
import pytest
import tensorflow as tf

import helpers
import tflite_fixups as tff
from tflite_fixups.models.keras_compat import layer_for_node
from tflite_fixups.conversion import hints
from tflite_fixups.verification.litert import LiteRTRunner


def test_convert_and_verify_small_models(K):
    for model in (helpers.mlp(K), helpers.small_cnn(K)):
        result = tff.convert_and_verify(model, num_random_samples=3)
        assert result.ok and result.verified, str(result)
        for comparison in result.verification.outputs.values():
            assert comparison.max_abs_error < 1e-5 and comparison.cosine_similarity > 0.99999


def test_result_report_ops_and_save(tmp_path, mlp):
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    result = tff.convert_and_verify(mlp, sample_inputs=x)
    assert result.ops == {"FULLY_CONNECTED": 2, "SOFTMAX": 1}
    assert result.verification.num_samples == 5 and result.verification.sample_source == "user"
    assert result.verification["scores"].argmax_agreement == 1.0
    assert not any("random" in w for w in result.warnings)
    text, html = str(result), result._repr_html_()
    assert "OK: converted and verified" in text and "FULLY_CONNECTED x2" in text
    assert "<table>" in html and "scores" in html
    path = result.save(tmp_path / "sub" / "mlp.tflite")
    runner = LiteRTRunner(open(path, "rb").read())
    np.testing.assert_allclose(runner.run({"features": x[:1]})["scores"], np.asarray(mlp(x[:1])), atol=1e-6)


def test_random_samples_are_reported(mlp):
    result = tff.convert_and_verify(mlp, num_random_samples=2)
    assert any("random samples" in w for w in result.warnings)
    assert result.verification.sample_source == "random"


def test_convert_alone_is_not_verified(mlp):
    result = tff.convert(mlp)
    assert not result.ok and not result.verified and result.verification is None
    assert "NOT VERIFIED" in str(result)
    report = tff.verify(mlp, result, sample_inputs=np.ones((1, 8), np.float32))
    assert report.ok


def test_keras3_dict_input_model(encoder_keras3):
    samples = [helpers.encoder_sample(seed=s) for s in range(4)]
    result = tff.convert_and_verify(encoder_keras3, sample_inputs=samples)
    assert result.ok, str(result)
    assert sorted(result.output_names) == ["pooled_output", "sequence_output"]
    assert max(o.max_abs_error for o in result.verification.outputs.values()) < 1e-4
    runner = LiteRTRunner(result.tflite_model)
    assert sorted(runner.input_names) == ["padding_mask", "segment_ids", "token_ids"]


def test_tf_keras_dict_input_model():
    import tf_keras

    model = helpers.dict_input_encoder(tf_keras)
    result = tff.convert_and_verify(model, sample_inputs=lambda: (helpers.encoder_sample(seed=s) for s in range(3)))
    assert result.ok, str(result)


def test_tf_function_concrete_function_and_saved_model(tmp_path, mlp):
    @tf.function(input_signature=[tf.TensorSpec((None, 8), tf.float32, name="features")])
    def serve(features):
        return {"scores": mlp(features)}

    for model in (serve, serve.get_concrete_function()):
        assert tff.convert_and_verify(model, num_random_samples=2).ok
    path = str(tmp_path / "saved")
    tf.saved_model.save(mlp, path)
    assert tff.convert_and_verify(path, num_random_samples=2).ok


def test_keras_file_paths(tmp_path, mlp):
    path = str(tmp_path / "model.keras")
    mlp.save(path)
    assert tff.convert_and_verify(path, num_random_samples=2).ok


def test_input_specs_pin_the_signature(mlp):
    result = tff.convert_and_verify(mlp, input_specs=(4, 8), sample_inputs=np.ones((4, 8), np.float32))
    assert result.ok and result.input_specs[0].shape == (4, 8)
    assert LiteRTRunner(result.tflite_model).input_details["features"]["shape"].tolist() == [4, 8]


def test_dynamic_axes_are_kept_and_warned():
    import keras

    inputs = keras.Input((None, 4), name="seq")
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(keras.layers.Dense(3)(inputs)))
    samples = [np.ones((1, length, 4), np.float32) for length in (2, 7)]
    result = tff.convert_and_verify(model, sample_inputs=samples)
    assert result.ok and result.input_specs[0].shape == (1, None, 4)
    assert any("dynamic axes [1]" in w for w in result.warnings)


@pytest.mark.parametrize(
    "make_samples, count",
    [
        (lambda: np.ones((1, 8), np.float32), 1),
        (lambda: np.ones((6, 8), np.float32), 6),  # a batch, split because the batch axis is pinned to 1
        (lambda: np.ones(8, np.float64), 1),  # missing batch axis and float64 are fixed
        (lambda: [np.ones((1, 8))], 1),
        (lambda: {"features": np.ones((1, 8))}, 1),
        (lambda: [np.ones((1, 8)), np.zeros((1, 8)), np.ones((1, 8))], 3),
        (lambda: lambda: (np.full((1, 8), i, np.float32) for i in range(4)), 4),  # generator function
        (lambda: (np.full((1, 8), i, np.float32) for i in range(2)), 2),  # generator object
        (lambda: tf.data.Dataset.from_tensor_slices(np.ones((3, 1, 8), np.float32)), 3),
    ],
)
def test_sample_input_forms(mlp, make_samples, count):
    result = tff.convert_and_verify(mlp, sample_inputs=make_samples())
    assert result.ok and result.verification.num_samples == count


@pytest.mark.parametrize(
    "samples, message",
    [
        ({"nope": np.ones((1, 8))}, "unknown names"),
        (np.ones((1, 9), np.float32), r"expects shape \(1, 8\)"),
        (np.ones((1, 2, 8), np.float32), "expects rank 2"),
        ([], "no samples"),
        (lambda x: x, "zero-argument"),
        ("abc", "expected an array"),
    ],
)
def test_bad_sample_inputs(mlp, samples, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        tff.convert_and_verify(mlp, sample_inputs=samples)


def test_integer_inputs_reject_fractional_samples(encoder_keras3):
    sample = {k: v.astype(np.float32) + 0.5 for k, v in helpers.encoder_sample().items()}
    with pytest.raises(tff.InvalidInputError, match="non-integral"):
        tff.convert_and_verify(encoder_keras3, sample_inputs=sample)


def test_bad_tolerances_and_models_raise_clear_errors(mlp):
    with pytest.raises(tff.InvalidInputError, match="atol must be a finite non-negative"):
        tff.convert_and_verify(mlp, atol=-1)
    with pytest.raises(tff.InvalidInputError, match="rtol must be a finite non-negative"):
        tff.convert_and_verify(mlp, quantization="float16", rtol=float("nan"))
    with pytest.raises(tff.InvalidModelError):
        tff.convert_and_verify("not/a/model.keras")


def test_conversion_error_names_ops_kinds_layers(K):
    with pytest.raises(tff.ConversionError) as info:
        tff.convert(helpers.eigh_model(K))
    (op,) = info.value.unsupported_ops
    assert (op.op_type, op.kind, op.layer) == ("SelfAdjointEigV2", "custom", "eigh_attention")
    assert op.node.endswith("SelfAdjointEigV2")
    assert "SelfAdjointEigV2 (custom) from layer 'eigh_attention'" in str(info.value)
    assert "neither a custom op nor a flex op" in info.value.converter_message

    with pytest.raises(tff.ConversionError) as info:
        tff.convert_and_verify(helpers.erf_model(K))
    (op,) = info.value.unsupported_ops
    assert (op.op_type, op.kind, op.layer) == ("Erf", "flex", "erf_act")


def test_conversion_error_names_the_registered_fix(K, monkeypatch):
    monkeypatch.setitem(hints._FIXES, "Erf", "my_erf_pass")  # restored after the test
    with pytest.raises(tff.ConversionError, match=r"fix: tff.passes.my_erf_pass\(\)"):
        tff.convert(helpers.erf_model(K))
    assert tff.diagnose(helpers.erf_model(K)).suggested_passes == ["my_erf_pass"]


def test_select_tf_ops_convert_but_are_never_reported_verified(K):
    result = tff.convert_and_verify(helpers.erf_model(K), allow_select_tf_ops=True)
    assert result.ops.get("FlexErf") == 1
    assert not result.ok and not result.verified
    assert "NOT verified" in result.verification.skipped
    assert any("Flex" in w for w in result.warnings)


def test_diagnose_eigh_model(K):
    diagnosis = tff.diagnose(helpers.eigh_model(K))
    assert not diagnosis.convertible
    assert [(o.op_type, o.kind, o.layer) for o in diagnosis.unsupported_ops] == [
        ("SelfAdjointEigV2", "custom", "eigh_attention")
    ]
    assert "SelfAdjointEigV2" in str(diagnosis) and "eigh_attention" in diagnosis._repr_html_()


def test_diagnose_clean_and_dynamic_models(mlp, K):
    clean = tff.diagnose(mlp)
    assert clean.convertible and clean.suggested_passes == [] and clean.dynamic_dims == []
    inputs = K.Input((None, 4), name="seq")
    dynamic = K.Model(inputs, K.layers.LSTM(3)(inputs))
    diagnosis = tff.diagnose(dynamic)
    assert diagnosis.dynamic_dims == [("seq", 1)]
    assert "pin_input_shapes" in diagnosis.suggested_passes


def test_diagnose_none_batch_recurrent_layer_points_to_shape_pinning(K):
    inputs = K.Input((5, 4), name="seq")
    model = K.Model(inputs, K.layers.LSTM(3)(inputs))
    diagnosis = tff.diagnose(model, input_specs=(None, 5, 4))
    assert diagnosis.dynamic_dims == [("seq", 0)]
    assert diagnosis.suggested_passes == ["pin_input_shapes"]


@pytest.mark.parametrize(
    "node, flavour, expected",
    [
        ("functional_1/dense_1/MatMul", "keras3", "dense"),
        ("functional_1/dense_1_2/MatMul", "keras3", "dense_1"),
        ("functional_1/eigh_attention_1/SelfAdjointEigV2", "keras3", "eigh_attention"),
        ("model/dense/MatMul", "tf_keras", "dense"),
        ("model/dense_1/MatMul", "tf_keras", "dense_1"),
        ("model/unknown/MatMul", "tf_keras", None),
    ],
)
def test_layer_attribution_rules(node, flavour, expected):
    assert layer_for_node(node, ["dense", "dense_1", "eigh_attention"], flavour) == expected


def test_layer_attribution_on_real_auto_named_layers(K):
    inputs = K.Input((4,))
    x = K.layers.Dense(4)(inputs)
    x = K.layers.Dense(4)(x)  # auto-named dense_N: the Keras 3 suffix case
    erf = K.layers.Lambda(lambda t: tf.math.erf(t))
    model = K.Model(inputs, K.layers.Dense(2)(erf(x)))
    with pytest.raises(tff.ConversionError) as info:
        tff.convert(model)
    assert info.value.unsupported_ops[0].layer == erf.name


def test_verify_accepts_paths_and_rejects_a_foreign_tflite(tmp_path, mlp, K):
    path = tff.convert(mlp).save(tmp_path / "mlp.tflite")
    report = tff.verify(mlp, path, sample_inputs=np.ones((2, 8), np.float32))
    assert report.ok and report.num_samples == 2
    assert "<table>" in report._repr_html_() and "verification: OK" in str(report)
    other = tff.convert(helpers.small_cnn(K)).tflite_model
    with pytest.raises(tff.InvalidInputError, match="was it converted from this model"):
        tff.verify(mlp, other)
    with pytest.raises(tff.InvalidInputError, match="expected .tflite bytes"):
        tff.verify(mlp, 123)
    with pytest.raises(tff.ModelFileError, match="no .tflite file"):
        tff.verify(mlp, tmp_path / "missing.tflite")


def test_verify_detects_a_wrong_model(mlp, K):
    """The check can fail: a .tflite of the same signature but other weights diverges."""
    other = helpers.mlp(K, seed=1)
    report = tff.verify(mlp, tff.convert(other), sample_inputs=np.ones((3, 8), np.float32))
    assert not report.ok and report.diverging_outputs == ["scores"]
    assert "DIVERGES" in str(report)


def test_bad_samples_fail_before_conversion(K):
    """An unconvertible model with bad samples reports the samples, without paying for a conversion."""
    with pytest.raises(tff.InvalidInputError, match="unknown names"):
        tff.convert_and_verify(helpers.eigh_model(K), sample_inputs={"wrong": np.ones((1, 10, 4))})
