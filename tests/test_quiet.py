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


def test_importing_the_library_prints_nothing():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", "import tflite_fixups"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr[:2000]


def test_importing_the_library_leaves_tensorflow_configurable():
    """Initialising TF's runtime at import would lock the user's threading/device settings."""
    import subprocess
    import sys

    script = (
        "import tflite_fixups, tensorflow as tf\n"
        "tf.config.threading.set_intra_op_parallelism_threads(1)\n"
        "tf.config.threading.set_inter_op_parallelism_threads(1)\n"
        "print('configurable')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and "configurable" in done.stdout, done.stderr[-2000:]
