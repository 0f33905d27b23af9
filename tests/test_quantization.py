"""Quantized conversion: every mode, representative-data handling and its warnings, per-layer error."""

import numpy as np
import pytest
import tensorflow as tf

import digits
import tflite_fixups as tff
from tflite_fixups.verification.litert import open_interpreter


@pytest.fixture(scope="module", params=["keras3", "tf_keras"])
def cnn(request):
    import keras
    import tf_keras

    return digits.digits_cnn(keras if request.param == "keras3" else tf_keras)


@pytest.fixture(scope="module")
def cnn3():
    import keras

    return digits.digits_cnn(keras)


def _data():
    x_train, y_train, x_test, y_test = digits.digits()
    return x_train[:200], x_test[:48], y_test[:48]


def tensor_types(tflite_model):
    interpreter = open_interpreter(tflite_model, default_delegates=False)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    types = {}
    for op in interpreter._get_ops_details():
        types.setdefault(op["op_name"], set()).update(np.dtype(tensors[i]["dtype"]).name for i in op["outputs"])
    return types


@pytest.mark.parametrize("mode", ["dynamic", "float16", "int8", "int16x8"])
def test_every_mode_converts_and_is_verified_against_the_float_model(cnn, mode):
    calibration, x_test, y_test = _data()
    extra = {"representative_data": calibration} if mode in ("int8", "int16x8") else {}
    result = tff.convert_and_verify(cnn, sample_inputs=x_test, quantization=mode, **extra)
    assert result.ok, str(result)
    assert result.verification["probs"].argmax_agreement >= 0.95
    assert result.quantization.mode == mode and result.quantization.layers
    types = tensor_types(result.tflite_model)
    if mode == "int8":
        assert types["CONV_2D"] == {"int8"} and types["FULLY_CONNECTED"] == {"int8"}
    elif mode == "int16x8":
        assert types["CONV_2D"] == {"int16"}
    elif mode == "float16":
        assert "DEQUANTIZE" in result.ops  # float16 weights expand to float32
    else:
        assert types["CONV_2D"] == {"float32"}  # int8 weights, float activations
    runner = tff.LiteRTRunner(result.tflite_model)
    predictions = np.concatenate([runner.run({"digit": x[None]})["probs"] for x in x_test])
    assert digits.accuracy(predictions, y_test) >= digits.accuracy(cnn.predict(x_test, verbose=0), y_test) - 0.05


def test_int8_io_model_takes_and_gives_int8_and_is_still_verified(cnn):
    calibration, x_test, _ = _data()
    result = tff.convert_and_verify(cnn, sample_inputs=x_test, quantization="int8", representative_data=calibration,
                                    int8_io=True)
    runner = tff.LiteRTRunner(result.tflite_model)
    assert runner.input_details["digit"]["dtype"] == np.int8 and runner.output_details["probs"]["dtype"] == np.int8
    assert "QUANTIZE" not in result.ops and "DEQUANTIZE" not in result.ops
    assert result.ok and result.verification["probs"].argmax_agreement >= 0.95


def test_per_layer_error_names_keras_layers_most_damaging_first(cnn):
    calibration, x_test, _ = _data()
    result = tff.convert_and_verify(cnn, sample_inputs=x_test, quantization="int8", representative_data=calibration)
    layers = result.quantization.layers
    errors = [e.relative_rmse for e in layers]
    assert errors == sorted(errors, reverse=True) and all(e > 0 for e in errors)
    named = " ".join(e.layer for e in layers)
    assert all(name in named for name in ("conv1", "bn1", "conv2", "probs"))  # fused ops name every layer
    assert all(e.dtype == "int8" and e.scale > 0 for e in layers)
    assert result.quantization.most_damaging(2) == layers[:2]
    assert "most damaging" in str(result.quantization)


def test_keep_float_leaves_named_ops_and_tensors_in_float(cnn):
    calibration, x_test, _ = _data()
    plain = tff.convert_and_verify(cnn, sample_inputs=x_test, quantization="int8", representative_data=calibration)
    conv = next(e for e in plain.quantization.layers if e.op == "CONV_2D")
    result = tff.convert_and_verify(cnn, sample_inputs=x_test, quantization="int8", representative_data=calibration,
                                    keep_float=["FULLY_CONNECTED", conv.tensor])
    kept = {(op, why) for op, _, why in result.quantization.float_ops}
    assert {("FULLY_CONNECTED", "keep_float"), ("CONV_2D", "keep_float")} <= kept
    assert tensor_types(result.tflite_model)["FULLY_CONNECTED"] == {"float32"}
    assert result.ok and not [w for w in result.warnings if "keep_float" in w]


def test_keep_float_that_matches_nothing_is_warned(cnn3):
    calibration, x_test, _ = _data()
    # between two int8 ops, max pooling only passes quantization through: there is nothing to keep float
    result = tff.convert_and_verify(cnn3, sample_inputs=x_test, quantization="int8", representative_data=calibration,
                                    keep_float=["MAX_POOL_2D"])
    assert any("keep_float 'MAX_POOL_2D' matched no quantized op" in w for w in result.warnings)


def sin_model():
    import keras

    inputs = keras.Input((6,), name="x")
    x = keras.layers.Dense(6, name="dense")(inputs)
    x = keras.layers.Lambda(lambda t: tf.sin(t), name="sine")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def test_ops_without_int8_kernels_are_warned_or_refused():
    data = np.random.default_rng(0).uniform(-1, 1, (120, 6)).astype("float32")
    result = tff.convert_and_verify(sin_model(), sample_inputs=data[:8], quantization="int8", representative_data=data)
    assert any(op == "SIN" for op, _, _ in result.quantization.float_ops)
    assert any("stay float" in w and "SIN" in w for w in result.warnings)
    with pytest.raises(tff.QuantizationError, match="SIN") as caught:
        tff.convert_and_verify(sin_model(), quantization="int8", representative_data=data, require_full_int8=True)
    assert any(op == "SIN" for op, _, _ in caught.value.float_ops)


# --- the seed's case and the representative-data checks ------------------------------------------------


def test_the_seeds_one_random_normal_sample_is_accepted_and_warned_about():
    import keras

    inputs = keras.Input((10, 64), name="x")
    model = keras.Model(inputs, keras.layers.Dense(8, name="dense")(inputs))
    result = tff.convert_and_verify(
        model, quantization="int8", representative_data=lambda: (tf.random.normal(shape=(1, 10, 64)),)
    )
    assert result.quantization.calibration.num_samples == 1
    assert tensor_types(result.tflite_model)["FULLY_CONNECTED"] == {"int8"}
    text = " ".join(result.warnings)
    assert "only 1 representative sample" in text and "standard-normal noise" in text
    assert "real inputs" in text


def test_calibrating_on_noise_for_an_image_model_warns(cnn3):
    _, x_test, _ = _data()
    noise = np.random.default_rng(0).normal(size=(200, 8, 8, 1)).astype("float32")
    result = tff.convert_and_verify(cnn3, sample_inputs=x_test, quantization="int8", representative_data=noise)
    assert any("standard-normal noise" in w and "Calibrate on real inputs" in w for w in result.warnings)


def test_calibration_that_does_not_cover_the_data_is_measured_and_warned(cnn3):
    calibration, x_test, _ = _data()
    result = tff.convert_and_verify(cnn3, sample_inputs=x_test, quantization="int8",
                                    representative_data=calibration * 0.3)
    outside = result.quantization.calibration.inputs["digit"].outside_fraction
    assert outside > 0.05
    assert any("calibration does not cover" in w and "input 'digit'" in w for w in result.warnings)
    assert any("quantized activation" in w for w in result.warnings)
    assert max(e.outside_fraction for e in result.quantization.layers) > 0.01


def test_well_drawn_calibration_gives_no_warning(cnn3):
    calibration, x_test, _ = _data()
    result = tff.convert_and_verify(cnn3, sample_inputs=x_test, quantization="int8", representative_data=calibration)
    assert not [w for w in result.warnings if "calibrat" in w or "representative" in w], result.warnings


def generator_function():
    x = _data()[0]
    return lambda: (x[i:i + 1] for i in range(len(x)))


@pytest.mark.parametrize(
    "make, count, note",
    [
        (lambda x, y: generator_function(), 200, None),
        (lambda x, y: (x[i:i + 1] for i in range(150)), 150, None),
        (lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(1), 200, "labels were dropped"),
        (lambda x, y: [(x[i], y[i]) for i in range(120)], 120, "labels were dropped"),
        (lambda x, y: x, 200, "split into single-example samples"),
        (lambda x, y: {"digit": x[:130]}, 130, None),
        (lambda x, y: x.astype("float64"), 200, "cast float64"),
        (lambda x, y: [x[i] for i in range(110)], 110, "added the missing batch axis"),
        (lambda x, y: lambda: (tf.constant(x[:1]),), 1, None),
    ],
    ids=["generator function", "generator object", "dataset of (x, y)", "list of (x, y)", "array",
         "dict by name", "float64", "no batch axis", "callable returning one sample"],
)
def test_every_form_of_representative_data_is_accepted(cnn, make, count, note):
    x, y = _data()[0], digits.digits()[1][:200]
    report = tff.check_representative_data(cnn, make(x, y))
    assert report.num_samples == count
    if note == "labels were dropped":  # a warning: the user may not know their dataset yields pairs
        assert any(note in w for w in report.warnings), report.warnings
    elif note:
        assert any(note in n for n in report.notes), report.notes


def test_data_problems_become_warnings_that_say_what_to_do(cnn):
    x = _data()[0]
    few = tff.check_representative_data(cnn, x[:20])
    assert "only 20 representative sample" in few.warnings[0] and "at least 100" in few.warnings[0]
    zeros = tff.check_representative_data(cnn, np.concatenate([x[:150], np.zeros((10, 8, 8, 1), "float32")]))
    assert any("10 of 160 representative samples of input 'digit' are all zeros" in w for w in zeros.warnings)
    constant = tff.check_representative_data(cnn, np.concatenate([x[:150], np.full((5, 8, 8, 1), 0.5, "float32")]))
    assert any("are constant" in w for w in constant.warnings)
    covered = tff.check_representative_data(cnn, x, reference=_data()[1])
    assert covered.inputs["digit"].outside_fraction == 0.0 and not covered.warnings


@pytest.mark.parametrize(
    "data, message",
    [
        ((i for i in ()), "yielded no samples"),
        (np.zeros((10, 9, 9, 1), "float32"), "expects shape"),
        (object(), "expected a generator function"),
        (lambda n: n, "calling it with no arguments failed"),
        (np.zeros((10, 8, 8, 3), "float32"), "expects shape"),
    ],
    ids=["empty generator", "wrong image size", "not data", "callable with an argument", "wrong channels"],
)
def test_unusable_representative_data_raises_a_clear_error(cnn, data, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        tff.check_representative_data(cnn, data)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantization": "int4"}, "quantization must be one of"),
        ({"quantization": "int8"}, "pass representative_data"),
        ({"quantization": "int16x8"}, "pass representative_data"),
        ({"quantization": "dynamic", "int8_io": True}, "int8_io=True needs quantization='int8'"),
        ({"quantization": "float16", "keep_float": ["MEAN"]}, "apply to quantization='int8'"),
        ({"representative_data": np.zeros((4, 8, 8, 1))}, "need quantization="),
        ({"quantization": "dynamic", "representative_data": np.zeros((4, 8, 8, 1))}, "does not calibrate"),
        ({"quantization": "int8", "representative_data": np.zeros((4, 8, 8, 1)), "keep_float": [3]}, "keep_float"),
    ],
)
def test_bad_quantization_arguments_raise_clear_errors(cnn3, kwargs, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        tff.convert_and_verify(cnn3, **kwargs)


def test_quantizing_never_touches_the_users_model(cnn):
    import helpers

    before = helpers.weights_snapshot(cnn)
    calibration = _data()[0]
    tff.convert_and_verify(cnn, quantization="int8", representative_data=calibration)
    helpers.assert_same_weights(before, cnn)


def test_loops_are_refused_before_tfs_calibrator_crashes_and_unrolled_recurrent_models_quantize():
    import keras
    import sequence_models as models

    model = models.lstm(keras)
    calibration = np.random.default_rng(0).normal(size=(120, 20, models.FEATURES)).astype("float32")
    pin = tff.passes.pin_input_shapes((1, 20, models.FEATURES), mask=True)
    with pytest.raises(tff.QuantizationError, match="unroll_rnns"):
        tff.convert_and_verify(model, passes=[pin], quantization="int8", representative_data=calibration)
    result = tff.convert_and_verify(model, passes=[pin, tff.passes.unroll_rnns()], quantization="int8",
                                    representative_data=calibration, sample_inputs=models.sequences((5, 20, 27)))
    assert "WHILE" not in result.ops and tensor_types(result.tflite_model)["FULLY_CONNECTED"] == {"int8"}
    assert result.ok and result.verification.pinning.max_pinning_error == 0.0
    dynamic = tff.convert_and_verify(model, passes=[pin], quantization="dynamic", sample_inputs=models.sequences((5,)))
    assert dynamic.ok and "WHILE" in dynamic.ops


def test_a_quantized_model_litert_cannot_run_is_reported_per_sample_not_raised():
    """int16x8 keeps a LayerNorm's SQUARED_DIFFERENCE, which has no int16 kernel: LiteRT fails on every
    invoke. The per-layer measurement and every sample say so; nothing raises."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 8), name="x")
    hidden = keras.layers.LayerNormalization(name="norm")(keras.layers.Dense(8, name="up")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(4, name="out")(hidden))
    data = np.random.default_rng(0).uniform(-2, 2, (120, 6, 8)).astype(np.float32)
    result = tff.convert_and_verify(model, quantization="int16x8", representative_data=data, sample_inputs=data[:3])
    assert not result.ok and result.quantization.layers == []
    assert any("per-layer error could not be measured" in w and "SQUARED_DIFFERENCE" in w for w in result.warnings)
    failures = result.verification.sample_failures
    assert [(f.index, f.stage) for f in failures] == [(0, "tflite"), (1, "tflite"), (2, "tflite")]
    assert "SquaredDifference only supports" in failures[0].message and ". Node number" in failures[0].message
