"""Every accepted model kind becomes a SignatureModel; bad models and specs get clear errors."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import helpers
import tflite_fixups as tff


def test_keras_model_pins_batch_to_one_and_names_inputs(mlp, K):
    model = tff.load_model(mlp)
    assert [(s.name, s.shape, s.dtype) for s in model.input_specs] == [("features", (1, 8), "float32")]
    assert model.output_names == ["scores"]
    assert model.kind == ("keras3" if K is keras else "tf_keras")
    x = np.ones((1, 8), np.float32)
    np.testing.assert_allclose(model.run({"features": x})["scores"], np.asarray(mlp(x)), rtol=1e-6)


@pytest.mark.parametrize(
    "specs, expected",
    [
        ((4, 8), (4, 8)),
        ([(2, 8)], (2, 8)),
        ({"features": (3, 8)}, (3, 8)),
        (tf.TensorSpec((5, 8), tf.float32), (5, 8)),
        ((None, 8), (None, 8)),
    ],
)
def test_input_specs_forms(mlp, specs, expected):
    assert tff.load_model(mlp, input_specs=specs).input_specs[0].shape == expected


@pytest.mark.parametrize(
    "specs, message",
    [
        ((1, 9), "axis 1 is fixed to 8"),
        ((1, 8, 1), "rank 3"),
        ({"nope": (1, 8)}, "unknown input"),
        ((0, 8), "positive"),
        ([(1, 8), (1, 8)], "2 shapes but the model has 1"),
        ("1,8", "expected a shape"),
    ],
)
def test_bad_input_specs_raise_clear_errors(mlp, specs, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        tff.load_model(mlp, input_specs=specs)


def test_dict_input_model_keeps_names_and_dtypes(K):
    keras_model = helpers.dict_input_encoder(K)
    model = tff.load_model(keras_model)
    # in the order of model.inputs (both Kerases sort a dict of inputs by key), not the dict's
    assert model.input_names == [t.name for t in keras_model.inputs] == ["padding_mask", "segment_ids", "token_ids"]
    assert {s.dtype for s in model.input_specs} == {"int32"}
    assert sorted(model.output_names) == ["pooled_output", "sequence_output"]


def test_tf_function_and_concrete_function():
    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="x"), tf.TensorSpec((None, 3), tf.float32)])
    def add_mul(x, y):
        return {"sum": x + y, "prod": x * y}

    model = tff.load_model(add_mul)
    assert [s.shape for s in model.input_specs] == [(1, 3), (1, 3)]
    assert model.input_names[0] == "x"
    out = model(np.ones((1, 3), np.float32), 2 * np.ones((1, 3), np.float32))
    np.testing.assert_allclose(out["prod"], 2.0)

    concrete = tff.load_model(add_mul.get_concrete_function())
    assert concrete.kind == "concrete_function" and concrete.output_names == model.output_names


def test_tf_function_without_signature_needs_specs():
    @tf.function
    def double(x):
        return 2 * x

    with pytest.raises(tff.InvalidModelError, match="input_signature"):
        tff.load_model(double)
    model = tff.load_model(double, input_specs={"x": (2, 2)})
    assert model.input_specs[0].shape == (2, 2) and model.output_names == ["output_0"]


def test_subclassed_model_without_inputs_needs_specs(K):
    class Scale(K.Model):
        def call(self, x):
            return 3.0 * x

    with pytest.raises(tff.InvalidModelError, match="pass input_specs"):
        tff.load_model(Scale())
    model = tff.load_model(Scale(), input_specs=(1, 4))
    np.testing.assert_allclose(model.run({"input_0": np.ones((1, 4))})["output_0"], 3.0)


def test_saved_model_directory_and_loaded_object(tmp_path, mlp):
    path = str(tmp_path / "saved")
    tf.saved_model.save(mlp, path)
    from_path = tff.load_model(path)
    from_object = tff.load_model(tf.saved_model.load(path))
    assert from_path.kind == from_object.kind == "saved_model"
    x = np.random.default_rng(0).standard_normal((1, 8)).astype(np.float32)
    expected = np.asarray(mlp(x))
    for model in (from_path, from_object):
        (out,) = model.run({model.input_names[0]: x}).values()
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_keras_file_is_loaded_in_safe_mode(tmp_path):
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs))
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(tff.InvalidModelError, match="safe mode"):
        tff.load_model(path)
    loaded = tff.load_model(path, safe_mode=False)
    np.testing.assert_allclose(loaded.run({"x": np.ones((1, 4))})["double"], 2.0)


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_keras_and_h5_files(tmp_path, mlp, K):
    for suffix in (".keras", ".h5"):
        path = str(tmp_path / f"model{suffix}")
        mlp.save(path)
        model = tff.load_model(path)
        x = np.ones((1, 8), np.float32)
        (out,) = model.run({model.input_names[0]: x}).values()
        np.testing.assert_allclose(out, np.asarray(mlp(x)), rtol=1e-5)


@pytest.mark.parametrize("bad", [42, object(), np.zeros(3), [1, 2]])
def test_not_a_model(bad):
    with pytest.raises(tff.InvalidModelError, match="expected a Keras 3 or tf-keras model"):
        tff.load_model(bad)


def test_bad_paths(tmp_path):
    with pytest.raises(tff.InvalidModelError, match="no such file"):
        tff.load_model(str(tmp_path / "missing.keras"))
    with pytest.raises(tff.InvalidModelError, match="not a SavedModel"):
        tff.load_model(str(tmp_path))
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(tff.InvalidModelError, match="SavedModel directory or a .keras/.h5"):
        tff.load_model(os.fspath(other))


def test_errors_share_one_base_class():
    for error in (tff.InvalidInputError, tff.InvalidModelError, tff.ConversionError, tff.PassError):
        assert issubclass(error, tff.TfliteFixupsError)


def test_signature_model_passes_through_and_retraces(mlp):
    model = tff.load_model(mlp)
    assert tff.load_model(model) is model
    retraced = tff.load_model(model, input_specs=(4, 8))
    assert retraced.input_specs[0].shape == (4, 8)
    assert retraced.run({"features": np.zeros((4, 8))})["scores"].shape == (4, 3)


def test_tf_keras_models_work_with_legacy_env_var_in_a_fresh_process(tmp_path):
    """The way tf-keras users actually run: TF_USE_LEGACY_KERAS=1 and tf.keras."""
    import subprocess
    import sys

    script = (
        "import numpy as np, tensorflow as tf, tflite_fixups as tff\n"
        "i = tf.keras.Input((5,), name='x')\n"
        "m = tf.keras.Model(i, tf.keras.layers.Dense(2, name='y')(i))\n"
        "assert type(m).__module__.startswith('tf_keras'), type(m)\n"
        f"m.save(r'{tmp_path / 'legacy.h5'}')\n"
        f"r = tff.convert_and_verify(r'{tmp_path / 'legacy.h5'}')\n"
        "assert r.ok, r\n"
        "print('legacy ok', r.input_specs[0])\n"
    )
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "legacy ok" in done.stdout


def test_tf_function_with_python_default_arguments():
    """tf.function(tf.linalg.diag_part): k=0, align=... are constants, only the matrix is an input."""
    model = tff.load_model(tf.function(tf.linalg.diag_part, input_signature=[tf.TensorSpec((2, 3, 3))]))
    assert len(model.input_specs) == 1
    x = np.arange(18, dtype=np.float32).reshape(2, 3, 3)
    np.testing.assert_array_equal(model.run({model.input_names[0]: x})["output_0"], np.diagonal(x, axis1=1, axis2=2))


class _FileWriter(tf.Module):
    """A SavedModel whose serving function writes a file each time it runs."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker
        self.scale = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec((1, 3), tf.float32, name="x")])
    def serve(self, x):
        tf.io.write_file(self.marker, tf.strings.as_string(x[0, 0]))
        return {"y": x * self.scale}


def test_saved_model_that_reaches_outside_the_model_is_refused_in_safe_mode(tmp_path):
    marker = tmp_path / "written_by_the_model"
    module = _FileWriter(str(marker))
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    with pytest.raises(tff.UnsafeModelError, match=r"WriteFile .*writes files.*safe_mode=False") as info:
        tff.convert_and_verify(str(tmp_path / "sm"))
    assert info.value.code_locations and not marker.exists()
    trusted = tff.load_model(str(tmp_path / "sm"), safe_mode=False)
    trusted.run({"x": np.ones((1, 3), np.float32)})
    assert marker.exists()  # the op was real: refusing it was not a false alarm


def test_ordinary_saved_models_are_not_refused(tmp_path, mlp, K):
    """Every SavedModel holds SaveV2/RestoreV2 in its checkpoint functions: those are not the model's own ops."""
    path = str(tmp_path / "exported")
    if K is keras:
        mlp.export(path, verbose=False)
    else:
        tf.saved_model.save(mlp, path)
    assert tff.load_model(path).input_names


@pytest.mark.parametrize("config, expected", [
    ({"class_name": "Lambda", "config": {"name": "f", "function": ["4wEA", None, None], "function_type": "lambda",
                                         "output_shape": ["4wEA", None, None], "output_shape_type": "lambda"}},
     ["layer 'f' (Lambda): function", "layer 'f' (Lambda): output_shape"]),
    ({"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "Functional", "config": {"name": "inner", "layers": [
            {"class_name": "Lambda", "config": {"name": "g", "function": {"class_name": "__lambda__",
                                                                           "config": {"code": "4wEA"}}}}]}}]}},
     ["layer 'outer' (Functional) > layer 'inner' (Functional) > layer 'g' (Lambda): function"]),
    ({"class_name": "Lambda", "config": {"name": "named", "function": "relu", "function_type": "function"}}, []),
])
def test_code_in_a_keras_config_is_found_wherever_it_nests(config, expected):
    from tflite_fixups.models.files import code_locations

    assert code_locations(config) == expected
