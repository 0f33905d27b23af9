"""pin_input_shapes / unroll_rnns on real sequence models, Keras 3 and tf-keras, converted with builtin ops only."""

import numpy as np
import pytest
import tensorflow as tf

import helpers
import sequence_models as models
import tflite_fixups as tff
from tflite_fixups.conversion.flatbuffer import flex_ops

PIN = (1, 20, models.FEATURES)
LENGTHS = (3, 11, 20, 27)  # shorter, shorter, equal, longer than the pinned 20


def pin(shapes=PIN, **kwargs):
    return tff.passes.pin_input_shapes(shapes, **kwargs)


def assert_builtin_only(result):
    assert not flex_ops(result.ops), result.ops


def assert_exact_pinning(result):
    report = result.verification.pinning
    assert result.ok, str(result)
    assert report.categories == ["equal", "longer", "shorter"]
    assert report.max_pinning_error < 1e-5, str(report)
    assert report.max_conversion_error < 1e-4


# --- the seed's case -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["keras3", "tf_keras"])
def seed_lstm(request):
    import keras
    import tf_keras

    return models.trained_seed_lstm(keras if request.param == "keras3" else tf_keras)


def test_seed_lstm_pinned_with_mask_matches_the_original_at_every_length(seed_lstm, tmp_path):
    biases = seed_lstm.get_layer("lstm").get_weights()[2]
    assert np.abs(biases).mean() > 0.01  # trained: zero biases would hide padding errors

    sequences = models.sequences((5, 37, 50, 64), features=32)
    result = tff.convert_and_verify(seed_lstm, passes=[pin((1, 50, 32), mask=True)], sample_inputs=sequences)
    assert_builtin_only(result)
    assert result.ok and result.input_specs[0].shape == (1, 50, 32)
    assert result.verification.pinning.max_pinning_error == 0.0
    assert result.verification.pinning.pinned_lengths == {"seq": (50,)}

    path = result.save(tmp_path / "seed.tflite")
    assert tff.read_pinning(path) == result.pinning
    runner = tff.LiteRTRunner(open(path, "rb").read())
    for sample in sequences:
        sequence = sample["seq"][0]  # as a device-side app holds it: (steps, features)
        with np.testing.suppress_warnings() as quiet:
            quiet.filter(tff.PinningWarning)
            fitted = tff.pad_or_truncate(sequence, path)
        expected = seed_lstm(sequence[None, :50]).numpy()
        np.testing.assert_allclose(runner.run({"seq": fitted})["head"], expected, atol=1e-4, rtol=0)


def test_seed_lstm_without_mask_reports_the_padding_error_apart_from_conversion(seed_lstm):
    sequences = models.sequences((5, 37, 50, 64), features=32)
    result = tff.convert_and_verify(seed_lstm, passes=[pin((1, 50, 32))], sample_inputs=sequences)
    report = result.verification.pinning
    assert not result.ok
    assert report.max_pinning_error > 1e-2 and report.max_conversion_error < 1e-4
    assert {c.category for c in report.checks if c.pinning_error > 1e-2} == {"shorter"}
    assert any("mask=True" in w for w in result.passes[0].warnings)
    assert any("shape pinning" in w for w in result.warnings)
    assert result.passes[0].metrics["padding_max_abs_error"] > 1e-2


def test_pinning_does_not_touch_the_users_model(seed_lstm):
    before = helpers.weights_snapshot(seed_lstm)
    x = models.sequences([7], features=32)[0]["seq"]
    expected = seed_lstm(x).numpy()
    pinned = pin((1, 50, 32), mask=True)(seed_lstm)
    unrolled = tff.passes.unroll_rnns()(pinned)
    assert pinned is not seed_lstm and unrolled is not pinned
    padded = tff.pad_or_truncate(x, pinned)  # the pinned model runs in TF and carries its pinning
    np.testing.assert_allclose(pinned(padded).numpy(), expected, atol=1e-6)
    helpers.assert_same_weights(before, seed_lstm)
    np.testing.assert_array_equal(seed_lstm(x).numpy(), expected)  # still dynamic, same outputs
    assert seed_lstm.input_shape == (None, None, 32)
    assert tff.load_model(seed_lstm).pinning is None


# --- the architectures users pin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "build", [models.lstm, models.gru, models.simple_rnn, models.bidirectional, models.stacked_time_distributed],
    ids=lambda b: b.__name__,
)
def test_masked_pinning_is_exact_for_recurrent_models(K, build):
    result = tff.convert_and_verify(build(K), passes=[pin(mask=True)], sample_inputs=models.sequences(LENGTHS))
    assert_builtin_only(result)
    assert_exact_pinning(result)


def test_time_distributed_outputs_are_compared_at_the_unpadded_length(K):
    model = models.stacked_time_distributed(K)
    result = tff.convert_and_verify(model, passes=[pin(mask=True)], sample_inputs=models.sequences([6]))
    assert result.ok
    assert result.verification["per_step"].shape == (1, 6, 4)


def test_embedding_mask_zero_with_int_tokens_is_exact(K):
    model = models.embedding_lstm(K)
    passes = [pin((1, 20), mask=True)]
    result = tff.convert_and_verify(model, passes=passes, sample_inputs=models.token_sequences(LENGTHS))
    assert_builtin_only(result)
    assert_exact_pinning(result)
    assert result.pinning["tokens"].masked and result.input_specs[0].dtype == "int32"


@pytest.mark.filterwarnings("ignore:.*was passed an input with a mask attached")  # Keras says it too, rightly
def test_conv1d_padding_cannot_be_masked_so_it_is_warned_and_measured(K):
    model = models.conv1d_pooling(K)
    result = tff.convert_and_verify(model, passes=[pin(mask=True)], sample_inputs=models.sequences(LENGTHS))
    assert_builtin_only(result)
    warning = " ".join(result.passes[0].warnings)
    assert "cannot make padding exact" in warning
    report = result.verification.pinning
    assert report.max_pinning_error > 1e-3 and report.max_conversion_error < 1e-4
    assert all(c.pinning_error < 1e-5 for c in report.by_category("equal"))


def test_only_the_dynamic_input_of_a_multi_input_model_is_pinned(K):
    model = models.multi_input(K)
    rng = np.random.default_rng(0)
    samples = [dict(s, side=rng.normal(size=(1, 4)).astype("float32")) for s in models.sequences(LENGTHS)]
    result = tff.convert_and_verify(model, passes=[pin({"seq": PIN}, mask=True)], sample_inputs=samples)
    assert_builtin_only(result)
    assert_exact_pinning(result)
    assert {s.name: s.shape for s in result.input_specs} == {"seq": PIN, "side": (1, 4)}
    assert result.pinning["side"].pinned_axes == (0,)


def test_random_verification_probes_shorter_equal_and_longer_lengths(K):
    result = tff.convert_and_verify(models.gru(K), passes=[pin(mask=True)])
    lengths = sorted({c.lengths["seq"][0] for c in result.verification.pinning.checks})
    assert lengths == [2, 10, 19, 20, 25]
    assert_exact_pinning(result)


def test_a_pinned_batch_above_one_is_padded_and_cropped(K):
    result = tff.convert_and_verify(models.gru(K), passes=[pin((4, 20, models.FEATURES), mask=True)],
                                    sample_inputs=models.sequences(LENGTHS))
    assert result.input_specs[0].shape == (4, 20, models.FEATURES)
    assert_exact_pinning(result)


def test_images_pin_height_and_width_and_padding_is_measured_not_masked(K):
    K.utils.set_random_seed(0)
    image = K.Input((None, None, 3), name="image")
    x = K.layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    model = K.Model(image, K.layers.Dense(2, name="head")(K.layers.GlobalMaxPooling2D()(x)))
    pinner = pin((1, 16, 16, 3), mask=True)
    result = tff.convert_and_verify(model, passes=[pinner])
    assert_builtin_only(result)
    assert result.pinning["image"].pinned_axes == (0, 1, 2) and not result.pinning["image"].masked
    assert any("cannot be masked" in w for w in pinner.last_report.warnings)
    report = result.verification.pinning
    assert report.categories == ["equal", "longer", "shorter"]
    assert report.max_conversion_error < 1e-4
    assert all(c.pinning_error == 0 for c in report.by_category("equal"))


# --- chaining, unrolling, non-Keras models ------------------------------------------------------------


def test_pinning_survives_graph_passes_and_lands_in_the_tflite_metadata(K):
    passes = [pin(mask=True), tff.passes.replace_unsupported_ops()]
    result = tff.convert_and_verify(models.lstm_with_erf(K), passes=passes, sample_inputs=models.sequences(LENGTHS))
    assert_builtin_only(result)
    assert_exact_pinning(result)
    assert tff.read_pinning(result.tflite_model) == result.pinning


@pytest.mark.parametrize("build", [models.lstm, models.stacked_time_distributed], ids=lambda b: b.__name__)
def test_unroll_rnns_removes_every_while_loop(K, build):
    passes = [pin(mask=True), tff.passes.unroll_rnns()]
    result = tff.convert_and_verify(build(K), passes=passes, sample_inputs=models.sequences(LENGTHS))
    assert "WHILE" not in result.ops
    assert_builtin_only(result)
    assert_exact_pinning(result)
    assert result.passes[1].replacements
    x = tff.pad_or_truncate(models.sequences([7])[0], result)
    with_xnnpack = tff.LiteRTRunner(result.tflite_model).run(x)
    builtin_kernels = tff.LiteRTRunner(result.tflite_model, default_delegates=False).run(x)
    for name, value in with_xnnpack.items():
        np.testing.assert_allclose(builtin_kernels[name], value, atol=1e-5)


def test_unroll_keeps_a_masked_backward_rnn_rolled_because_keras_unrolls_it_wrongly(K):
    passes = [pin(mask=True), tff.passes.unroll_rnns()]
    result = tff.convert_and_verify(models.bidirectional(K), passes=passes, sample_inputs=models.sequences(LENGTHS))
    assert_exact_pinning(result)
    assert result.ops.get("WHILE") == 1
    assert any("backward half left as a loop" in n for n in result.passes[1].notes)


def test_unroll_needs_static_lengths_and_a_keras_model(K):
    with pytest.raises(tff.InvalidInputError, match="static sequence lengths"):
        tff.passes.unroll_rnns()(models.lstm(K))
    with pytest.raises(tff.InvalidModelError, match="Keras"):
        tff.passes.unroll_rnns()(tff.load_model(models.lstm(K)))


@pytest.mark.parametrize("reduce, exact", [(tf.reduce_sum, True), (tf.reduce_mean, False)])
def test_a_tf_function_is_pinned_without_a_mask_and_says_so(reduce, exact):
    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.float32, name="seq")])
    def pool(seq):
        return {"pooled": reduce(seq, axis=1)}

    pinner = pin((1, 10, 3), mask=True)
    result = tff.convert_and_verify(pool, passes=[pinner], sample_inputs=models.sequences((4, 10, 13), features=3))
    assert result.pinning["seq"].pinned_shape == (1, 10, 3) and not result.pinning["seq"].masked
    said = pinner.last_report.notes if exact else pinner.last_report.warnings
    assert any("needs a Keras model" in line for line in said)
    assert result.ok == exact
    assert (result.verification.pinning.max_pinning_error < 1e-6) == exact


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shapes, kwargs, message",
    [
        ((1, 0, models.FEATURES), {}, "positive size"),
        ((1, -5, models.FEATURES), {}, "positive size"),
        ((1, 20), {}, "rank 2 .* does not match the model's rank 3"),
        ({"sequence": PIN}, {}, "unknown input"),
        ((1, 20, 5), {}, "axis 2 is fixed to 8"),
    ],
)
def test_bad_shapes_raise_clear_errors(K, shapes, kwargs, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        pin(shapes, **kwargs)(models.lstm(K))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pad": "end"}, "pad must be 'post'"),
        ({"truncate": "middle"}, "truncate must be 'post'"),
        ({"pad_value": float("nan")}, "finite number"),
        ({"pad_value": "0"}, "finite number"),
        ({"mask": "yes"}, "mask must be True or False"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        pin(**kwargs)


def test_pinning_a_pinned_model_again_is_refused(K):
    pinned = pin()(models.lstm(K))
    with pytest.raises(tff.InvalidInputError, match="already pinned"):
        pin()(pinned)


def test_a_model_without_dynamic_axes_is_returned_unchanged():
    @tf.function(input_signature=[tf.TensorSpec((1, 8), tf.float32, name="x")])
    def double(x):
        return {"y": 2 * x}

    pinner = pin((1, 8))
    assert pinner(double) is double
    assert not pinner.last_report.changed and "no dynamic axis" in pinner.last_report.notes[0]


def test_none_in_a_pinned_shape_keeps_that_axis_dynamic(K):
    result = tff.convert_and_verify(models.lstm(K), passes=[pin((1, None, models.FEATURES))],
                                    sample_inputs=models.sequences((4, 9)))
    assert result.ok and result.pinning["seq"].pinned_shape == (1, None, models.FEATURES)
    assert result.pinning["seq"].pinned_axes == (0,) and result.input_specs[0].dynamic_axes == (1,)


def test_pinning_only_the_batch_axis_needs_no_padding_check(K):
    pinner = pin((1, 8))
    pinned = pinner(helpers.mlp(K))
    assert pinner.last_report.changed and not pinner.last_report.metrics
    assert tff.load_model(pinned).input_specs[0].shape == (1, 8)
