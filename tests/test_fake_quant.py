"""insert_fake_quant on small real models, Keras 3 and tf-keras: rebuild, calibrate, fine-tune, convert to int8."""

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import digits
import helpers
import tflite_fixups as tff
from tflite_fixups.errors import InvalidInputError, InvalidModelError
from tflite_fixups.passes.fake_quant import insert_fake_quant
from tflite_fixups.quantization.fake_quant import INITIAL_RANGE, activation_ranges, fake_quant_layers

WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def cnn(K, batch_norm_statistics: bool = True):
    """Rescaling, Conv-BN-ReLU, DepthwiseConv-BN-ReLU6, Add skip, Concatenate, pooling, UpSampling2D, Dense."""
    K.utils.set_random_seed(0)
    L = K.layers
    inputs = K.Input((8, 8, 1), name="digit")
    x = L.Rescaling(2.0, offset=-1.0, name="rescale")(inputs)
    x = L.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(x)
    x = L.BatchNormalization(momentum=0.9, name="bn1")(x)
    x = L.ReLU(name="relu1")(x)
    y = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    y = L.BatchNormalization(momentum=0.9, name="bn_dw")(y)
    y = L.ReLU(6.0, name="relu_dw")(y)
    x = L.Add(name="skip")([x, y])
    side = L.Conv2D(4, 1, activation="relu", name="side")(x)
    x = L.Concatenate(name="concat")([x, side])
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.UpSampling2D(2, name="up")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = K.Model(inputs, L.Dense(10, name="logits")(x), name="cnn")
    if batch_norm_statistics:
        _give_batch_norms_statistics(model, K)
    return model


def _give_batch_norms_statistics(model, K):
    """Non-trivial gamma/beta/mean/variance, as after training, so that folding has something to fold."""
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, K.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])


def tflite_tensors(tflite_model: bytes):
    interpreter = Interpreter(model_content=tflite_model)
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    return interpreter, details, ops


def weighted_outputs(tflite_model: bytes):
    """(op name, output tensor details) for every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED."""
    _, details, ops = tflite_tensors(tflite_model)
    return [(op["op_name"], details[int(op["outputs"][0])]) for op in ops if op["op_name"] in WEIGHTED_OPS]


def run_tflite(tflite_model: bytes, batch: np.ndarray) -> np.ndarray:
    runner = tff.LiteRTRunner(tflite_model)
    name = runner.input_names[0]
    return np.concatenate([next(iter(runner.run({name: sample[None]}).values())) for sample in batch])


# --- the Functional CNN, end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["keras3", "tf_keras"])
def fine_tuned(request):
    """The float CNN, its fake-quant copy before and after one epoch of fine-tuning, and the int8 conversion."""
    import keras
    import tf_keras

    K = keras if request.param == "keras3" else tf_keras
    x_train, y_train, x_test, _ = digits.digits()
    model = cnn(K, batch_norm_statistics=False)
    model.compile(optimizer=K.optimizers.Adam(1e-2), loss=K.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)  # real BatchNormalization statistics
    float_weights = helpers.weights_snapshot(model)
    float_outputs = model.predict(x_test, verbose=0)
    result = insert_fake_quant(calibration_data=x_train).run(model)
    qat = result.model
    calibrated = {"outputs": qat.predict(x_test, verbose=0), "ranges": activation_ranges(qat),
                  "kernel": qat.get_layer("conv1").get_weights()[0].copy()}
    qat.compile(optimizer=K.optimizers.Adam(1e-3),
                loss=K.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    qat.fit(x_train[:512], y_train[:512], epochs=1, batch_size=32, verbose=0)
    converted = tff.convert_and_verify(qat, quantization="int8", sample_inputs=x_test[:16])
    return dict(K=K, model=model, float_weights=float_weights, float_outputs=float_outputs, report=result.report,
                qat=qat, calibrated=calibrated, converted=converted, x_test=x_test)


def test_the_pass_returns_a_new_model_and_leaves_the_users_model_alone(fine_tuned):
    model, qat = fine_tuned["model"], fine_tuned["qat"]
    assert qat is not model and isinstance(qat, fine_tuned["K"].Model)
    assert not set(map(id, qat.layers)) & set(map(id, model.layers))
    helpers.assert_same_weights(fine_tuned["float_weights"], model)  # also after fine-tuning the copy
    np.testing.assert_array_equal(model.predict(fine_tuned["x_test"], verbose=0), fine_tuned["float_outputs"])


def test_the_report_says_what_was_quantized_folded_and_left_float(fine_tuned):
    report = fine_tuned["report"]
    folded = {r.target: r.replacement for r in report.replacements if r.kind == "BatchNormalization"}
    assert folded == {"bn1": "folded into 'conv1'", "bn_dw": "folded into 'dw'"}
    quantized = {r.target: r for r in report.replacements if r.replacement.startswith("fake-quant")}
    assert set(quantized) == {"rescale", "conv1", "relu1", "dw", "relu_dw", "skip", "side", "concat", "up", "gap",
                              "logits"}
    assert quantized["conv1"].details["weights"] == "int8 per channel, symmetric"
    assert quantized["conv1"].details["output"] == "quantized by 'relu1'"  # CONV_2D + RELU fuse in TFLite
    assert quantized["side"].details["output"] == "quantized by 'concat'"  # CONCATENATION shares one range
    assert quantized["skip"].details["output"] == "range learned (EMA)"  # it also feeds 'side'
    assert quantized["logits"].details["weights"] == "int8 per tensor, symmetric"
    assert report.metrics["float_layers"] == 0 and report.metrics["folded_batch_norms"] == 2
    assert any("MaxPooling2D 'pool'" in note for note in report.notes)
    assert not fine_tuned["qat"].get_layer("conv1").fake_quant.output == "learned"
    with pytest.raises(ValueError):
        fine_tuned["qat"].get_layer("bn1")  # folded away


def test_before_training_the_fake_quant_model_differs_from_float_by_quantization_noise(fine_tuned):
    float_outputs, calibrated = fine_tuned["float_outputs"], fine_tuned["calibrated"]["outputs"]
    spread = float(float_outputs.max() - float_outputs.min())
    error = np.abs(calibrated - float_outputs)
    assert error.max() < 0.03 * spread, (error.max(), spread)  # measured 1.3% (Keras 3) and 1.0% (tf-keras)
    assert error.max() > 0  # it does quantize
    agreement = np.mean(np.argmax(calibrated, -1) == np.argmax(float_outputs, -1))
    assert agreement > 0.9  # a 3-epoch model: many digits are near ties


def test_fine_tuning_moves_the_ema_ranges_and_trains_through_the_fake_quant(fine_tuned):
    before, after = fine_tuned["calibrated"]["ranges"], activation_ranges(fine_tuned["qat"])
    assert set(before) == set(after) and len(after) == 9
    unmoved = {name for name in after if after[name] == before[name]}
    # every batch spans the data's own bounds here: inputs [0, 1], rescaled [-1, 1], ReLU6 [0, 6]
    assert unmoved == {"digit_quant/output", "rescale/output", "relu_dw/output"}, (before, after)
    assert all(low <= 0.0 <= high for low, high in after.values())
    kernel_after = fine_tuned["qat"].get_layer("conv1").get_weights()[0]
    assert np.abs(kernel_after - fine_tuned["calibrated"]["kernel"]).max() > 1e-4  # gradients pass the fake quant
    labels = digits.digits()[3]
    float_accuracy = digits.accuracy(fine_tuned["float_outputs"], labels)
    assert digits.accuracy(fine_tuned["qat"].predict(fine_tuned["x_test"], verbose=0), labels) > float_accuracy - 0.02


def test_int8_conversion_uses_the_learned_ranges(fine_tuned):
    converted = fine_tuned["converted"]
    assert converted.ok, str(converted)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "CONCATENATION"} <= set(converted.ops)
    assert converted.quantization.float_ops == []  # every op between the input QUANTIZE and output DEQUANTIZE
    outputs = weighted_outputs(converted.tflite_model)
    # rescale (a 1x1 depthwise convolution), conv1, dw, side, logits
    assert [op for op, _ in outputs] == ["DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D",
                                         "FULLY_CONNECTED"]
    assert all(tensor["dtype"] == np.int8 for _, tensor in outputs), outputs
    _, details, _ = tflite_tensors(converted.tflite_model)
    activations = [t for t in details.values()
                   if t["dtype"] == np.int8 and len(t["quantization_parameters"]["scales"]) == 1]
    for name, (low, high) in activation_ranges(fine_tuned["qat"]).items():
        scale = (high - low) / 255.0
        zero_point = round(-128 - low / scale)
        matches = [t for t in activations if np.isclose(t["quantization_parameters"]["scales"][0], scale, rtol=1e-5)]
        assert matches, f"no int8 tensor uses the range of {name}: scale {scale}"
        assert any(abs(int(t["quantization_parameters"]["zero_points"][0]) - zero_point) <= 1 for t in matches)


def test_the_int8_model_matches_the_fake_quant_model_within_a_few_steps(fine_tuned):
    qat, x_test = fine_tuned["qat"], fine_tuned["x_test"][:64]
    expected = qat.predict(x_test, verbose=0)
    got = run_tflite(fine_tuned["converted"].tflite_model, x_test)
    low, high = activation_ranges(qat)["logits/output"]
    step = (high - low) / 255.0
    assert np.abs(got - expected).max() <= 3 * step, (np.abs(got - expected).max(), step)  # measured: 2 steps
    assert np.abs(got - expected).mean() <= step


# --- other model shapes ----------------------------------------------------------------------------------------


def test_sequential_model_stays_sequential_and_converts_to_int8(K):
    x_train, y_train, x_test, _ = digits.digits()
    K.utils.set_random_seed(0)
    L = K.layers
    model = K.Sequential([
        K.Input((8, 8, 1)), L.Conv2D(8, 3, activation="relu", name="conv"), L.MaxPooling2D(name="pool"),
        L.Flatten(name="flat"), L.Dense(10, activation="softmax", name="probs"),
    ], name="seq")
    result = tff.convert_and_verify(
        model, passes=[insert_fake_quant(calibration_data=x_train[:128])], quantization="int8",
        sample_inputs=x_test[:8],
    )
    assert result.ok, str(result)
    report = result.passes[0]
    assert {r.target for r in report.replacements if r.replacement.startswith("fake-quant")} == {"conv", "probs"}
    assert "pre-activation" in next(r for r in report.replacements if r.target == "probs").details
    qat = insert_fake_quant()(model)
    assert type(qat) is K.Sequential
    assert [type(layer).__name__ for layer in qat.layers] == [
        "FakeQuant", "FakeQuantConv2D", "MaxPooling2D", "Flatten", "FakeQuantDense"]
    assert all(tensor["dtype"] == np.int8 for _, tensor in weighted_outputs(result.tflite_model))


def test_conv1d_with_folded_batch_norm_keeps_per_channel_weights(K):
    K.utils.set_random_seed(0)
    L = K.layers
    inputs = K.Input((20, 3), name="signal")
    x = L.Conv1D(6, 3, padding="causal", name="conv_a")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU(name="relu")(x)
    x = L.Conv1D(5, 3, dilation_rate=2, activation="relu", name="conv_b")(x)
    model = K.Model(inputs, L.Dense(2, name="out")(L.GlobalAveragePooling1D(name="gap")(x)))
    _give_batch_norms_statistics(model, K)
    signals = np.random.default_rng(0).normal(size=(64, 20, 3)).astype(np.float32)
    result = insert_fake_quant(calibration_data=signals).run(model)
    assert [r.replacement for r in result.report.replacements if r.target == "bn"] == ["folded into 'conv_a'"]
    expected = model.predict(signals, verbose=0)
    error = np.abs(result.model.predict(signals, verbose=0) - expected).max()
    assert error < 0.03 * (expected.max() - expected.min())
    converted = tff.convert(result.model, quantization="int8")
    _, details, ops = tflite_tensors(converted.tflite_model)
    convolutions = [op for op in ops if op["op_name"] == "CONV_2D"]
    assert len(convolutions) == 2
    for op, filters in zip(convolutions, (6, 5)):
        kernel = details[int(op["inputs"][1])]
        assert kernel["dtype"] == np.int8 and len(kernel["quantization_parameters"]["scales"]) == filters
        assert details[int(op["outputs"][0])]["dtype"] == np.int8


def test_merges_unfolded_batch_norm_and_a_nested_model_convert_without_float_ops(K):
    K.utils.set_random_seed(0)
    L = K.layers
    block_input = K.Input((6, 6, 4))
    block = K.Model(block_input, L.ReLU(name="relu")(L.BatchNormalization(name="bn")(
        L.Conv2D(4, 3, padding="same", name="conv")(block_input))), name="block")
    inputs = K.Input((6, 6, 4), name="image")
    a, b = block(inputs), L.Conv2D(4, 1, name="conv")(inputs)  # the same name as the block's conv
    mean = L.Average(name="mean")([a, b])
    x = L.Multiply(name="product")([mean, L.Subtract(name="difference")([a, b])])
    x = L.BatchNormalization(name="free_bn")(x)  # after a merge: nothing to fold into
    x = L.AveragePooling2D(2, name="avg_pool")(x)
    model = K.Model(inputs, L.Dense(2, activation="tanh", name="out")(L.Flatten(name="flat")(x)))
    _give_batch_norms_statistics(model, K)
    _give_batch_norms_statistics(block, K)
    images = np.random.default_rng(0).normal(size=(64, 6, 6, 4)).astype(np.float32)
    result = insert_fake_quant(calibration_data=images).run(model)
    replaced = {r.target: r for r in result.report.replacements}
    assert replaced["block/bn"].replacement == "folded into 'block/conv'"
    assert replaced["free_bn"].details["runs as"] == "1x1 depthwise convolution (int8)"
    assert replaced["out"].details["output"] == "fixed [-1, 0.9922] (TFLite's own output range)"
    assert "nested models inlined: block" in result.report.notes
    assert {"conv", "block_conv"} <= {layer.name for layer in result.model.layers}
    expected = model.predict(images, verbose=0)
    assert np.abs(result.model.predict(images, verbose=0) - expected).max() < 0.1  # tanh output: 5% of its range
    converted = tff.convert_and_verify(result.model, quantization="int8", sample_inputs=images[:4])
    assert converted.ok and converted.quantization.float_ops == [], str(converted)
    assert {"ADD", "MUL", "SUB", "AVERAGE_POOL_2D", "TANH"} <= set(converted.ops)


def test_calibration_data_forms_give_the_same_ranges(mlp):
    x = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    y = np.zeros(40, np.int64)
    from_array = activation_ranges(insert_fake_quant(calibration_data=x)(mlp))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    assert activation_ranges(insert_fake_quant(calibration_data=dataset)(mlp)) == from_array
    assert activation_ranges(insert_fake_quant(calibration_data=(x, y))(mlp)) == from_array
    assert activation_ranges(insert_fake_quant(calibration_data=[x[:10], x[10:]])(mlp)) == from_array
    low, high = from_array["features_quant/output"]
    assert (low, high) == (float(x.min()), float(x.max()))
    with pytest.raises(InvalidInputError, match="calibration_data"):
        insert_fake_quant(calibration_data=3.0)(mlp)


def test_lstm_is_left_float_and_listed(K):
    K.utils.set_random_seed(0)
    L = K.layers
    inputs = K.Input((10, 4), name="tokens")
    x = L.Dense(8, activation="relu", name="embed")(inputs)
    x = L.LSTM(8, name="lstm")(x)
    model = K.Model(inputs, L.Dense(3, activation="sigmoid", name="head")(x))
    sequences = np.random.default_rng(0).normal(size=(32, 10, 4)).astype(np.float32)
    result = insert_fake_quant(calibration_data=sequences).run(model)
    report = result.report
    assert any(n.startswith("left float: LSTM 'lstm' (recurrent layers are not covered") for n in report.notes)
    assert report.metrics["float_layers"] == 1
    entry = next(r for r in report.replacements if r.kind == "float output")
    assert entry.target == "lstm" and "lstm_quant" in entry.replacement
    converted = tff.convert(result.model, quantization="int8")
    assert "WHILE" in converted.ops  # the LSTM, in float
    outputs = dict(weighted_outputs(converted.tflite_model)[-1:])
    assert outputs["FULLY_CONNECTED"]["dtype"] == np.int8  # the head after the LSTM is int8 again
    expected = model.predict(sequences, verbose=0)
    assert np.abs(result.model.predict(sequences, verbose=0) - expected).max() < 0.02


def test_skip_and_unfolded_batch_norm(K):
    model = cnn(K)
    result = insert_fake_quant(skip=["side"], fold_batch_norm=False).run(model)
    report = result.report
    assert "left float: Conv2D 'side' (in skip)" in report.notes
    assert report.metrics["folded_batch_norms"] == 0
    bn = next(r for r in report.replacements if r.target == "bn1")
    assert bn.details["runs as"] == "1x1 depthwise convolution (int8)"
    assert type(result.model.get_layer("side")) is K.layers.Conv2D
    # no calibration data: ranges start at [-6, 6] and the first training batch sets them
    assert any("first training batch" in w for w in report.warnings)
    layer = result.model.get_layer("relu1")
    assert (float(layer.output_range.min.numpy()), float(layer.output_range.max.numpy())) == INITIAL_RANGE
    x_train, y_train, _, _ = digits.digits()
    result.model.compile(optimizer="adam", loss=K.losses.SparseCategoricalCrossentropy(from_logits=True))
    result.model.fit(x_train[:32], y_train[:32], batch_size=32, epochs=1, verbose=0)
    low, high = activation_ranges(result.model)["relu1/output"]
    assert low == 0.0 and 0 < high < 6.0  # set from the batch, not averaged with the initial range


def test_fake_quant_model_saves_and_loads(K, tmp_path):
    x_train, _, x_test, _ = digits.digits()
    qat = insert_fake_quant(calibration_data=x_train[:64])(cnn(K))
    path = str(tmp_path / "qat.keras")
    qat.save(path)
    fake_quant_layers("keras3" if K.__name__ == "keras" else "tf_keras")  # registers the classes for loading
    loaded = K.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x_test[:16], verbose=0), qat.predict(x_test[:16], verbose=0))
    assert activation_ranges(loaded) == activation_ranges(qat)


# --- bad input ---------------------------------------------------------------------------------------------------


def test_a_non_keras_model_is_rejected():
    function = tf.function(lambda x: {"y": x * 2.0}, input_signature=[tf.TensorSpec((1, 4), tf.float32)])
    with pytest.raises(InvalidModelError, match="rebuilds Keras layers"):
        insert_fake_quant()(function)


def test_a_sequential_model_without_input_shape_is_rejected(K):
    unbuilt = K.Sequential([K.layers.Dense(2, name="dense")])
    with pytest.raises(InvalidModelError, match="built Sequential"):
        insert_fake_quant()(unbuilt)


@pytest.mark.parametrize("num_bits", [4, 16, 7.5, True])
def test_only_eight_bits(num_bits):
    with pytest.raises(InvalidInputError, match="num_bits must be 8"):
        insert_fake_quant(num_bits=num_bits)


@pytest.mark.parametrize("arguments", [{"ema_decay": 1.0}, {"ema_decay": -0.1}, {"per_channel": "yes"},
                                       {"skip": [3]}])
def test_bad_arguments(arguments):
    with pytest.raises(InvalidInputError):
        insert_fake_quant(**arguments)


def test_unknown_skip_names_are_rejected(mlp):
    with pytest.raises(InvalidInputError, match=r"skip names \['hiden'\] are not layers"):
        insert_fake_quant(skip=["hiden"])(mlp)


def test_an_already_fake_quantized_model_is_rejected(mlp):
    with pytest.raises(InvalidInputError, match="already fake-quantized"):
        insert_fake_quant()(insert_fake_quant()(mlp))
