"""The library keeps TensorFlow's log noise out of its output without touching the user's logging."""

import logging

import helpers
import tflite_fixups as tff


def test_convert_and_verify_writes_nothing_to_stderr(capfd, K):
    model = helpers.mlp(K)
    capfd.readouterr()
    tff.convert_and_verify(model, num_random_samples=1)
    tff.diagnose(helpers.eigh_model(K))
    captured = capfd.readouterr()
    assert captured.err == "", captured.err[:2000]
    assert captured.out == ""


def test_user_logger_levels_are_restored(mlp):
    absl_logger = logging.getLogger("absl")
    absl_logger.setLevel(logging.DEBUG)
    try:
        tff.convert_and_verify(mlp, num_random_samples=1)
        assert absl_logger.level == logging.DEBUG
    finally:
        absl_logger.setLevel(logging.NOTSET)
