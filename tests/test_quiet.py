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


def test_other_threads_and_user_logging_keep_their_stderr(capfd, mlp):
    """Only TensorFlow's own log lines are held back: 40 of 40 lines from another thread and a
    logging handler made beforehand reach stderr while the library converts and verifies."""
    import threading
    import sys
    import time

    handler = logging.StreamHandler(sys.stderr)
    user_logger = logging.getLogger("user_code")
    user_logger.addHandler(handler)
    user_logger.setLevel(logging.INFO)
    stop = threading.Event()

    def chatter():
        for i in range(40):
            print(f"thread line {i}", file=sys.stderr, flush=True)
            time.sleep(0.02)
        stop.set()

    capfd.readouterr()
    worker = threading.Thread(target=chatter)
    try:
        worker.start()
        tff.convert_and_verify(mlp, num_random_samples=4)
        user_logger.info("user logging line")
        worker.join()
    finally:
        user_logger.removeHandler(handler)
    err = capfd.readouterr().err
    assert [f"thread line {i}" for i in range(40)] == [line for line in err.splitlines() if line.startswith("thread")]
    assert "user logging line" in err
    assert "I0000" not in err and "XNNPACK" not in err, err[:2000]


def test_tensorflow_lines_are_kept_for_errors_and_the_rest_passes_through(capfd):
    import os

    from tflite_fixups._quiet import quiet_tensorflow

    capfd.readouterr()
    with quiet_tensorflow() as captured:
        os.write(2, b"I0000 00:00:1796675770.024642    5912 port.cc:153] TensorFlow noise\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"progress 10%\r")
        os.write(2, b"a C library's own line\n")
    err = capfd.readouterr().err
    assert "TensorFlow noise" in captured.text and "XNNPACK" in captured.text
    assert err == "progress 10%\ra C library's own line\n"


def test_a_crash_inside_tensorflow_leaves_a_python_trace():
    """faulthandler writes to the real stderr even while fd 2 is captured."""
    import subprocess
    import sys

    script = (
        "import ctypes, tflite_fixups as tff\n"
        "from tflite_fixups._quiet import quiet_tensorflow\n"
        "def crash_in_native_code():\n"
        "    with quiet_tensorflow():\n"
        "        ctypes.string_at(0)\n"
        "crash_in_native_code()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Fatal Python error: Segmentation fault" in done.stderr, done.stderr[-2000:]
    assert "crash_in_native_code" in done.stderr


def test_quantization_flex_and_pinning_write_nothing_to_stderr(capfd, K):
    """The converter's quantizer, its Flex summary and pinning's model runs all print from native code."""
    import numpy as np

    model = helpers.small_cnn(K)
    data = np.random.default_rng(0).random((24, 16, 16, 3)).astype(np.float32)
    sequence_input = K.Input((None, 8), name="seq")
    lstm = K.Model(sequence_input, K.layers.LSTM(4)(sequence_input))
    capfd.readouterr()
    for mode in ("int8", "int16x8"):
        tff.convert_and_verify(model, quantization=mode, representative_data=data, sample_inputs=data[:2])
    tff.convert(helpers.erf_model(K), allow_select_tf_ops=True)
    tff.auto_fix(lstm, input_specs=[(1, 10, 8)], num_random_samples=2)
    captured = capfd.readouterr()
    assert captured.err == "", captured.err[:2000]
