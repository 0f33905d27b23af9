"""The .tflite keeps the model's I/O contract: input and output order, names and dtypes, by index and by name.

An app on a device addresses tensors by index (``interpreter->input(0)``); these tests
feed every converted model by index through LiteRT's plain tensor API, with no
SignatureDef involved, and compare with the original model.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import tflite_fixups as tff
from tflite_fixups.conversion.io_contract import read_io_contract

INPUTS = [("zeta", (4,), "float32"), ("alpha", (3, 5), "float32"), ("ids", (2,), "int32")]
OUTPUTS = ["zz_out", "aa_out"]  # not alphabetical: a sorted dict would swap them


def _sample(seed=0, batch=1):
    rng = np.random.default_rng(seed)
    return {
        "zeta": rng.normal(size=(batch, 4)).astype(np.float32),
        "alpha": rng.normal(size=(batch, 3, 5)).astype(np.float32),
        "ids": rng.integers(0, 10, (batch, 2)).astype(np.int32),
    }


def _keras_layers(K, zeta, alpha, ids):
    K.utils.set_random_seed(0)
    embedded = K.layers.Flatten()(K.layers.Embedding(10, 3, name="embed")(ids))
    hidden = K.layers.Concatenate()([zeta, K.layers.Flatten()(alpha), embedded])
    hidden = K.layers.Dense(8, activation="tanh", name="hidden")(hidden)
    return K.layers.Dense(2, name="zz_out")(hidden), K.layers.Dense(5, name="aa_out")(hidden)


def keras_list_model(K):
    inputs = [K.Input(shape, name=name, dtype=dtype) for name, shape, dtype in INPUTS]
    return K.Model(inputs, list(_keras_layers(K, *inputs)), name="three_inputs")


def keras_dict_model(K):
    inputs = {name: K.Input(shape, name=name, dtype=dtype) for name, shape, dtype in INPUTS}
    zz, aa = _keras_layers(K, inputs["zeta"], inputs["alpha"], inputs["ids"])
    return K.Model(inputs, {"zz_out": zz, "aa_out": aa}, name="dict_inputs")


def _function_body(zeta, alpha, ids):
    mixed = tf.reduce_sum(alpha, axis=-1) * tf.cast(ids[:, :1], tf.float32)
    return {"zz_out": tf.tanh(zeta[:, :2]) + tf.reduce_mean(mixed), "aa_out": tf.reduce_max(alpha, axis=1) * 2.0}


SIGNATURE = [tf.TensorSpec((1,) + shape, dtype, name=name) for name, shape, dtype in INPUTS]


def tf_function_model():
    return tf.function(_function_body, input_signature=SIGNATURE)


def concrete_function_model():
    return tf_function_model().get_concrete_function()


def saved_model_dir(tmp_path):
    module = tf.Module()
    module.serve = tf.function(_function_body, input_signature=SIGNATURE)
    path = str(tmp_path / "saved")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def run_by_index(tflite_bytes, sample):
    """Feed input i with the model's input i and read output j, through the plain tensor API only."""
    interpreter = Interpreter(model_content=bytes(tflite_bytes))
    interpreter.allocate_tensors()
    for position, (name, _, _) in enumerate(INPUTS):
        interpreter.set_tensor(interpreter.get_input_details()[position]["index"], sample[name])
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def assert_contract(result, reference, sample, outputs=OUTPUTS):
    io = result.io
    assert io.input_names == [name for name, _, _ in INPUTS]
    assert io.output_names == outputs
    assert [t.dtype for t in io.inputs] == [dtype for _, _, dtype in INPUTS]
    assert [t.shape for t in io.inputs] == [(1,) + shape for _, shape, _ in INPUTS]
    assert [t.index for t in io.inputs] == [0, 1, 2]
    details = Interpreter(model_content=bytes(result.tflite_model)).get_input_details()
    assert [d["name"] for d in details] == io.input_names  # the tensors carry the model's names too
    expected = tff.load_model(reference).run(sample)
    by_index = run_by_index(result.tflite_model, sample)
    for name, got in zip(outputs, by_index):
        np.testing.assert_allclose(got, expected[name], atol=1e-5, rtol=1e-5)
    by_name = tff.LiteRTRunner(result).run(sample)
    for name in outputs:
        np.testing.assert_allclose(by_name[name], expected[name], atol=1e-5, rtol=1e-5)
    assert result.ok and not result.verification.io_problems


def test_keras_models_keep_input_and_output_order(K):
    model = keras_list_model(K)
    result = tff.convert_and_verify(model, sample_inputs=[_sample(s) for s in range(3)])
    assert_contract(result, model, _sample(7))


def test_keras_dict_input_models_keep_the_order_of_model_inputs(K):
    """A dict of inputs has the order Keras gives ``model.inputs`` (sorted by key in both Kerases)."""
    model = keras_dict_model(K)
    order = [getattr(t, "name", None) for t in model.inputs]
    result = tff.convert_and_verify(model, sample_inputs=[_sample(s) for s in range(3)])
    assert result.io.input_names == order == ["alpha", "ids", "zeta"]
    assert result.io.output_names == OUTPUTS
    expected = tff.load_model(model).run(_sample(7))
    interpreter = Interpreter(model_content=bytes(result.tflite_model))
    interpreter.allocate_tensors()
    for detail, name in zip(interpreter.get_input_details(), order):
        interpreter.set_tensor(detail["index"], _sample(7)[name])
    interpreter.invoke()
    for detail, name in zip(interpreter.get_output_details(), OUTPUTS):
        np.testing.assert_allclose(interpreter.get_tensor(detail["index"]), expected[name], atol=1e-5)
    assert result.ok


@pytest.mark.parametrize("build", [tf_function_model, concrete_function_model], ids=["tf_function", "concrete"])
def test_functions_keep_argument_order(build):
    model = build()
    result = tff.convert_and_verify(model, sample_inputs=_sample(1))
    assert_contract(result, model, _sample(2))


def test_saved_model_keeps_the_signature_functions_argument_order(tmp_path):
    """A SavedModel stores a signature as maps (a fresh load lists them in no fixed order); the
    argument order is read back from the call to the function it was made from. The dict the
    function returned was saved in key order, so that is the outputs' order."""
    path = saved_model_dir(tmp_path)
    for _ in range(3):  # a fresh load orders the signature's dicts differently each time
        result = tff.convert_and_verify(path, sample_inputs=_sample(1))
        assert_contract(result, path, _sample(3), outputs=sorted(OUTPUTS))


def test_keras3_export_keeps_input_order(tmp_path):
    import keras

    model = keras_list_model(keras)
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    result = tff.convert_and_verify(path, sample_inputs=_sample(1))
    assert_contract(result, path, _sample(3), outputs=["output_0", "output_1"])
    keras_outputs = model(_sample(3))
    by_index = run_by_index(result.tflite_model, _sample(3))
    for expected, got in zip(keras_outputs, by_index):  # output_0 is the Keras model's first output
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_contract_survives_a_graph_pass(K):
    """A rewrite rule (Erf -> builtins) runs on the graph; the contract is the model's still."""
    inputs = [K.Input(shape, name=name, dtype=dtype) for name, shape, dtype in INPUTS]
    zz, aa = _keras_layers(K, *inputs)
    zz = K.layers.Lambda(lambda t: tf.math.erf(t), name="erf")(zz)
    model = K.Model(inputs, [zz, aa])
    result = tff.convert_and_verify(model, [tff.passes.replace_unsupported_ops()], sample_inputs=_sample(4))
    assert result.passes[0].changed
    assert "FlexErf" not in result.ops
    assert_contract(result, model, _sample(5), outputs=["erf", "aa_out"])


def test_contract_survives_pinning(K):
    """A dynamic time axis pinned to 6 steps: order, names and dtypes stay, the shapes are the pinned ones."""
    K.utils.set_random_seed(0)
    frames = K.Input((None, 3), name="frames")
    speaker = K.Input((2,), name="speaker", dtype="int32")
    encoded = K.layers.LSTM(4, name="lstm")(frames)
    voice = K.layers.Flatten()(K.layers.Embedding(5, 2, name="voice")(speaker))
    hidden = K.layers.Concatenate()([encoded, voice])
    model = K.Model([frames, speaker], [K.layers.Dense(3, name="z_logits")(hidden),
                                        K.layers.Dense(1, name="a_energy")(encoded)])
    rng = np.random.default_rng(0)
    samples = [{"frames": rng.normal(size=(1, 6, 3)).astype(np.float32),
                "speaker": rng.integers(0, 5, (1, 2)).astype(np.int32)} for _ in range(3)]
    result = tff.convert_and_verify(model, [tff.passes.pin_input_shapes({"frames": (1, 6, 3)}, mask=True)],
                                    sample_inputs=samples)
    assert result.io.input_names == ["frames", "speaker"]
    assert result.io.output_names == ["z_logits", "a_energy"]
    assert [t.dtype for t in result.io.inputs] == ["float32", "int32"]
    assert result.io.inputs[0].shape == (1, 6, 3)
    interpreter = Interpreter(model_content=bytes(result.tflite_model))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], samples[0]["frames"])
    interpreter.set_tensor(interpreter.get_input_details()[1]["index"], samples[0]["speaker"])
    interpreter.invoke()
    expected = tff.load_model(model).run(samples[0])
    got = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    np.testing.assert_allclose(got[0], expected["z_logits"], atol=1e-4)
    np.testing.assert_allclose(got[1], expected["a_energy"], atol=1e-4)
    assert result.ok


def test_int8_io_keeps_order_with_quantized_dtypes(K):
    model = keras_list_model(K)
    data = [_sample(s) for s in range(20)]
    result = tff.convert_and_verify(model, sample_inputs=data[:4], quantization="int8", representative_data=data,
                                    int8_io=True)
    io = result.io
    assert io.input_names == ["zeta", "alpha", "ids"] and io.output_names == OUTPUTS
    assert io.inputs[0].dtype == "int8" and io.inputs[0].quantization is not None
    assert io.inputs[2].dtype == "int32"  # integer inputs stay what they are
    assert not result.verification.io_problems


def test_verify_catches_a_tflite_whose_inputs_are_reordered():
    """TF's own SavedModel route reorders the inputs: verification by name alone would pass it."""
    function = tf_function_model()
    module = tf.Module()
    module.f = function
    bare = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], module).convert()
    bare_io = read_io_contract(bare)
    assert bare_io.input_names != ["zeta", "alpha", "ids"]  # what this test guards against still happens upstream
    report = tff.verify(function, bare, sample_inputs=_sample(1))
    assert not report.ok
    assert report.io_problems and "inputs by index" in report.io_problems[0]
    assert "I/O by index" in str(report)
    assert all(o.within_tolerance for o in report.outputs.values())  # by name it matched


def test_keras3_silu_model_converts_with_a_signature():
    """Keras 3's SiLU has a custom gradient that TF cannot save: conversion must not depend on saving."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(16, activation="silu")(inputs)
    hidden = keras.layers.Dense(16, activation="swish")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, name="scores")(hidden))
    result = tff.convert_and_verify(model)
    assert result.ok
    assert result.io.input_names == ["features"] and result.io.output_names == ["scores"]
    assert result.io.signature_key == "serving_default"


def test_io_contract_is_stated_in_the_result(K):
    model = keras_list_model(K)
    result = tff.convert(model)
    text = str(result.io)
    assert "0: zeta float32[1, 4]" in text and "1: aa_out float32[1, 5]" in text
    assert result.io.to_dict()["inputs"][2] == {"name": "ids", "index": 2, "dtype": "int32", "shape": [1, 2],
                                                "quantization": None}
    assert "zeta" in result._repr_html_() and "I/O" in str(result)
    saved = result.save(os.path.join(os.environ.get("TMPDIR", "/tmp"), "io_contract_test.tflite"))
    assert read_io_contract(saved) == result.io


@pytest.mark.slow
def test_keras3_efficientnet_b0_converts_and_verifies():
    """EfficientNetB0 (swish everywhere) failed with "no SignatureDef" when the save route was used."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.EfficientNetB0(weights=None, input_shape=(64, 64, 3), classes=10)
    rng = np.random.default_rng(0)
    result = tff.convert_and_verify(model, sample_inputs=list(rng.uniform(0, 255, (2, 1, 64, 64, 3)).astype(np.float32)),
                                    atol=1e-3, rtol=1e-3)
    assert result.ok, str(result)
    assert result.io.input_names == [model.layers[0].name]  # the InputLayer's name
    assert result.io.signature_key == "serving_default"


def _spec(name, shape=(1, 3), dtype=tf.float32):
    return tf.TensorSpec(shape, dtype, name=name)


EDGE_CASES = {
    "unused_input": (lambda a, b: {"y": a * 2.0}, [_spec("a"), _spec("b", (1, 2))]),
    "two_outputs_one_tensor": (lambda a: (lambda t: {"y": t, "z": t})(tf.tanh(a)), [_spec("a")]),
    "output_is_an_input": (lambda a, b: {"same": a, "sum": a + b}, [_spec("a"), _spec("b")]),
    "constant_output": (lambda a: {"c": tf.constant([1.0, 2.0]), "y": a + 1}, [_spec("a")]),
    "scalar_input": (lambda a: {"s": tf.reduce_sum(a) * a}, [_spec("a", ())]),
    "bool_and_int64": (lambda m, n: {"o": tf.where(m, n, tf.zeros_like(n))},
                       [_spec("m", dtype=tf.bool), _spec("n", dtype=tf.int64)]),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_contract_edge_cases(case):
    body, signature = EDGE_CASES[case]
    function = tf.function(body, input_signature=signature)
    result = tff.convert_and_verify(function)
    assert result.io.input_names == [s.name for s in signature]
    assert [t.dtype for t in result.io.inputs] == [s.dtype.name for s in signature]
    assert result.io.output_names == list(function.get_concrete_function().structured_outputs)
    assert result.ok and not result.verification.io_problems


def test_a_tflite_without_signature_is_run_and_checked_by_index():
    """The converter's frozen-graph route writes no SignatureDef and names outputs Identity, Identity_1."""
    function = tf.function(lambda zeta, alpha, ids: tuple(_function_body(zeta, alpha, ids).values()),
                           input_signature=SIGNATURE)
    bare = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()]).convert()
    assert read_io_contract(bare).signature_key is None
    assert read_io_contract(bare).output_names == ["Identity", "Identity_1"]
    runner = tff.LiteRTRunner(bare)
    assert runner.input_names == ["zeta", "alpha", "ids"]
    report = tff.verify(function, bare, sample_inputs=_sample(1))
    assert report.ok and not report.io_problems, str(report)
    assert any("matched them by index" in note for note in report.notes)
    with pytest.raises(tff.InvalidInputError, match="no SignatureDef"):
        tff.LiteRTRunner(bare, signature_key="serving_default")


def test_io_problems_name_reordered_inputs_and_changed_dtypes():
    from tflite_fixups.conversion.io_contract import IOContract, TensorIO, io_contract_problems
    from tflite_fixups.models.specs import InputSpec

    specs = [InputSpec("a", (1, 3)), InputSpec("b", (1, 2), "int32")]
    good = IOContract([TensorIO("a", 0, 0, "float32", (1, 3)), TensorIO("b", 1, 1, "int32", (1, 2))],
                      [TensorIO("y", 0, 5, "float32", (1,))])
    assert io_contract_problems(good, specs, ["y"]) == []
    swapped = IOContract(list(reversed(good.inputs)), good.outputs)
    assert "inputs by index are ['b', 'a']" in io_contract_problems(swapped, specs, ["y"])[0]
    retyped = IOContract([good.inputs[0], TensorIO("b", 1, 1, "int64", (1, 2))], good.outputs)
    assert io_contract_problems(retyped, specs, ["y"]) == ["input 1 'b' is int64 in the .tflite, int32 in the model"]
    quantized = IOContract([TensorIO("a", 0, 0, "int8", (1, 3), (0.1, 3)), good.inputs[1]], good.outputs)
    assert io_contract_problems(quantized, specs, ["y"]) == []
    renamed = IOContract(good.inputs, [TensorIO("Identity", 0, 5, "float32", (1,))])
    assert io_contract_problems(renamed, specs, ["y"]) == []  # other names: paired by index
    assert io_contract_problems(good, specs, ["y", "z"])  # an output missing


def test_model_files_keep_the_contract(K, tmp_path):
    """A .keras / .h5 file and a tf-keras SavedModel keep the order of the model they hold."""
    model = keras_list_model(K)
    paths = [str(tmp_path / "model.keras")] if K.__name__ == "keras" else [str(tmp_path / "model.h5")]
    model.save(paths[0])
    if K.__name__ == "tf_keras":
        model.save(str(tmp_path / "saved_tf_keras"), save_format="tf")
        paths.append(str(tmp_path / "saved_tf_keras"))
    for path in paths:
        result = tff.convert_and_verify(path, sample_inputs=_sample(1))
        assert result.io.input_names == ["zeta", "alpha", "ids"], path
        if path.endswith((".keras", ".h5")):
            assert_contract(result, model, _sample(3))
        else:  # a tf-keras SavedModel's serving signature returns a dict, saved in key order
            assert result.io.output_names == sorted(OUTPUTS) and result.ok


def test_subclassed_models_keep_the_order_of_their_call(K):
    """A subclassed model called on [zeta, alpha, ids] keeps that order; its outputs keep theirs."""

    class ThreeInputs(K.Model):
        def __init__(self):
            super().__init__()
            self.embed = K.layers.Embedding(10, 3)
            self.hidden = K.layers.Dense(8, activation="tanh")
            self.zz = K.layers.Dense(2)
            self.aa = K.layers.Dense(5)

        def call(self, inputs):
            zeta, alpha, ids = inputs
            flat = tf.concat([zeta, tf.reshape(alpha, (-1, 15)), tf.reshape(self.embed(ids), (-1, 6))], axis=-1)
            hidden = self.hidden(flat)
            return [self.zz(hidden), self.aa(hidden)]

    K.utils.set_random_seed(0)
    model = ThreeInputs()
    sample = _sample(0)
    expected = model([sample["zeta"], sample["alpha"], sample["ids"]])
    specs = [tf.TensorSpec((1,) + shape, dtype, name=name) for name, shape, dtype in INPUTS]
    result = tff.convert_and_verify(model, input_specs=specs, sample_inputs=[_sample(1)])
    assert result.io.input_names == ["zeta", "alpha", "ids"]
    assert [t.dtype for t in result.io.inputs] == ["float32", "float32", "int32"]
    got = run_by_index(result.tflite_model, sample)
    assert [g.shape for g in got] == [(1, 2), (1, 5)]
    for value, want in zip(got, expected):
        np.testing.assert_allclose(value, np.asarray(want), atol=1e-5)
    assert result.ok
