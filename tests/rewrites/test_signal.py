"""Signal rules: what must stay builtin, what is declined, and complex values never left in the graph."""

import numpy as np
import tensorflow as tf

import tflite_fixups as tff
from case_runner import built, tflite_op_types


def run_pass(function, *specs):
    model = tff.load_model(tf.function(function, input_signature=list(specs)))
    return model, tff.passes.replace_unsupported_ops().run(model)


def test_power_of_two_rfft_stays_on_the_builtin_kernel():
    model, result = run_pass(lambda x: tf.abs(tf.signal.rfft(x)), tf.TensorSpec((1, 16)))
    assert not result.report.changed and result.model is model
    assert any("builtin RFFT2D" in note for note in result.report.notes)
    assert not result.report.warnings


def test_power_of_two_rfft_feeding_complex_slicing_is_read_through_real_and_imag():
    """dct's complex StridedSlice is lowered; the RFFT2D kernel itself is kept."""
    ops = tflite_op_types(built("signal_dct2").tflite)
    assert "RFFT2D" in ops and {"REAL", "IMAG"} <= set(ops)


def test_lengths_above_the_limit_are_declined_with_a_warning():
    _, result = run_pass(lambda x: tf.abs(tf.signal.rfft(x)), tf.TensorSpec((1, 1500)))
    assert not result.report.changed
    assert any("outside 1..1024" in w for w in result.report.warnings)


def test_no_complex_tensor_survives_a_lowered_chain():
    """stft with a non-power-of-two frame: the whole complex chain becomes float pairs."""
    case = built("signal_stft_12")
    assert not any(op.startswith("COMPLEX") or op in ("RFFT2D", "REAL", "IMAG") for op in tflite_op_types(case.tflite))


def test_idct_matches_a_numpy_reference():
    case = built("signal_idct")
    x = np.random.default_rng(3).standard_normal((2, 16)).astype(np.float32)
    n = 16
    k = np.arange(n)
    basis = np.cos(np.pi * (2 * np.arange(n)[:, None] + 1) * k[None, :] / (2 * n))  # DCT-III (unnormalised)
    expected = x[:, :1] + 2 * (x[:, 1:] @ basis[:, 1:].T)
    (got,) = case.runner.run(case.feed([x])).values()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
