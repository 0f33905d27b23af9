"""The command line: diagnose and convert SavedModels and .keras/.h5 files, with honest exit codes."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import sequence_models as models
from tflite_fixups.cli import EXIT_DIVERGES, EXIT_FAILED, EXIT_OK, main

import tflite_fixups as tff


@pytest.fixture(scope="module")
def gru_file(tmp_path_factory):
    import keras

    path = tmp_path_factory.mktemp("cli") / "gru.keras"
    models.gru(keras).save(path)
    return str(path)


@pytest.fixture(scope="module")
def eigh_saved_model(tmp_path_factory):
    class Spectrum(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((1, 4, 4), tf.float32, name="m")])
        def __call__(self, m):
            return {"eigenvalues": tf.linalg.eigvalsh(tf.matmul(m, m, transpose_b=True))}

    path = str(tmp_path_factory.mktemp("cli") / "spectrum")
    module = Spectrum()
    tf.saved_model.save(module, path, signatures=module.__call__)
    return path


def test_diagnose_prints_what_is_rejected_and_the_fix(eigh_saved_model, capsys):
    assert main(["diagnose", eigh_saved_model]) == EXIT_OK
    out = capsys.readouterr().out
    assert "does NOT convert" in out and "SelfAdjointEigV2" in out and "replace_unsupported_ops" in out


def test_convert_fails_with_exit_2_then_auto_fix_writes_a_verified_tflite(eigh_saved_model, tmp_path, capsys):
    assert main(["convert", eigh_saved_model, "-o", str(tmp_path / "x.tflite")]) == EXIT_FAILED
    assert "SelfAdjointEigV2" in capsys.readouterr().err
    out_path = tmp_path / "spectrum.tflite"
    assert main(["convert", eigh_saved_model, "--auto-fix", "-o", str(out_path)]) == EXIT_OK
    assert "OK: converted and verified" in capsys.readouterr().out and out_path.exists()


def test_convert_pins_shapes_with_masking_for_a_keras_file(gru_file, tmp_path, capsys):
    out_path = tmp_path / "gru.tflite"
    code = main(["convert", gru_file, "--auto-fix", "--input-shape", "seq=1,20,8", "-o", str(out_path)])
    assert code == EXIT_OK
    assert "pinned: seq: (None, None, 8) -> (1, 20, 8)" in capsys.readouterr().out
    assert tff.read_pinning(out_path)["seq"].masked


def int8_command(tmp_path, file_name):
    """``convert FILE --quantize int8`` for a one-layer Keras file, with calibration data in a .npy file."""
    import keras

    path = tmp_path / file_name
    inputs = keras.Input((6,), name="x")
    keras.Model(inputs, keras.layers.Dense(3, name="y")(inputs)).save(path)
    data = tmp_path / "calibration.npy"
    np.save(data, np.random.default_rng(0).normal(size=(150, 6)).astype("float32") * 0.5)
    return ["convert", str(path), "--quantize", "int8", "--calibration", str(data), "--samples", str(data)]


def test_convert_quantizes_with_calibration_data_from_a_npy_file(tmp_path, capsys):
    assert main(int8_command(tmp_path, "mlp.h5")) == 0
    assert "quantization: int8" in capsys.readouterr().out


def test_progress_bars_show_when_asked_and_no_progress_silences_them(tmp_path, capsys, monkeypatch):
    from tflite_fixups import _progress

    command = int8_command(tmp_path, "mlp.keras")
    monkeypatch.setenv(_progress.ENVIRONMENT_VARIABLE, "1")
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)
    try:
        assert main(command) == 0
        assert "calibrating (int8)" in capsys.readouterr().err
        assert main(command + ["--no-progress"]) == 0
        assert "calibrating" not in capsys.readouterr().err
    finally:
        tff.set_progress(None)


def test_outputs_that_diverge_exit_with_1(tmp_path, capsys):
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path / "mlp.keras"
    inputs = keras.Input((6,), name="x")
    keras.Model(inputs, keras.layers.Dense(3, name="y")(inputs)).save(path)
    zeros, data = tmp_path / "zeros.npy", tmp_path / "data.npy"
    np.save(zeros, np.zeros((150, 6), "float32"))  # calibrated on nothing: every activation range collapses
    np.save(data, np.random.default_rng(0).normal(size=(16, 6)).astype("float32") * 3)
    code = main(["convert", str(path), "--quantize", "int8", "--calibration", str(zeros), "--samples", str(data)])
    out = capsys.readouterr().out
    assert code == EXIT_DIVERGES and "OUTPUTS DIVERGE" in out and "all zeros" in out


def test_bad_arguments_and_unsafe_files_fail_clearly(gru_file, tmp_path, capsys):
    assert main(["convert", gru_file, "--input-shape", "seq=1,x,8"]) == EXIT_FAILED
    assert "--input-shape expects NAME=D1,D2" in capsys.readouterr().err
    assert main(["diagnose", str(tmp_path / "missing.keras")]) == EXIT_FAILED
    import keras

    lambda_file = tmp_path / "lambda.keras"
    inputs = keras.Input((4,), name="x")
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(lambda_file)
    assert main(["diagnose", str(lambda_file)]) == EXIT_FAILED
    assert "safe mode" in capsys.readouterr().err
    assert main(["diagnose", str(lambda_file), "--unsafe-deserialization"]) == EXIT_OK


def test_python_dash_m_runs_the_cli(eigh_saved_model):
    done = subprocess.run([sys.executable, "-m", "tflite_fixups", "diagnose", eigh_saved_model],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK and "SelfAdjointEigV2" in done.stdout
