"""A bad-input matrix: every public entry point x every kind of bad input it may be given.

Each case asserts (1) the exact exception class (a ``tff.TfliteFixupsError`` subclass, never a raw Python
or TensorFlow exception and never ``tff.InternalError``), (2) that the message names what was expected,
and (3) where the input is a user object, that it was not modified. Inputs that can crash the process
(bad ``.tflite`` bytes, infinite calibration values), hang it (endless inputs) or run code from a file
(Lambda layers) run in worker processes (tests/bad_inputs.py) with a timeout; a crash or a hang costs
one case (a crash is told by the worker's exit status: fd 2 is often redirected by the library then, so
"Segmentation fault" text may never reach a pipe). Those workers start in the background when the first
test of this module runs, so the in-process matrix runs meanwhile; the tests reading their outcomes come
last. Every worker outcome is also written to ``<basetemp>/bad_inputs0/job_<name>.json``.

Groups (test function -> kind of bad input):
    test_model_argument                 1. the model argument: not a model, or a missing/damaged file
    test_unsafe_file_*, test_custom_*   2. Keras files carrying code, custom layers, --import
    test_bad_tflite*, test_verify_*     3. the .tflite argument
    test_litert_runner_feed             3+. malformed data given to LiteRTRunner.run (beyond the brief's list)
    test_sample_inputs*                 4. sample_inputs, num_random_samples, seed
    test_endless_input                  5. infinite sample_inputs / representative_data
    test_input_specs                    6. input_specs
    test_tolerance*, test_max_batch     7. atol, rtol, max_batch
    test_*pass*, test_rule_error, ...   8. passes and pipelines
    test_quantization_*, test_*representative*  9. quantization arguments and calibration data
    test_original_model_raises_*        10. the original model raises on one sample
    test_cli_*                          11. the command line
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import bad_inputs as bad
import helpers
import tflite_fixups as tff
import tflite_fixups.errors as tff_errors

# ================================================================================================
# Error classes (looked up by name: a class the library does not define yet fails its cases, not the module)
# ================================================================================================

ERROR_NAMES = ("TfliteFixupsError", "InvalidModelError", "ModelFileError", "UnsafeModelError", "InvalidInputError",
               "PassError", "RuleError", "ConversionError", "QuantizationError", "InternalError")
MISSING_CLASSES = set()


def _error_class(name):
    found = getattr(tff, name, None) or getattr(tff_errors, name, None)
    if found is None:
        MISSING_CLASSES.add(name)
        found = type(name, (Exception,), {"__module__": "tflite_fixups.errors.MISSING"})
    return found


InvalidModelError = _error_class("InvalidModelError")
ModelFileError = _error_class("ModelFileError")
UnsafeModelError = _error_class("UnsafeModelError")
InvalidInputError = _error_class("InvalidInputError")
PassError = _error_class("PassError")
RuleError = _error_class("RuleError")

KERAS = {"keras3": keras, "tf_keras": tf_keras}
FLAVOUR_OF = {"keras": "keras3", "tf_keras": "tf_keras"}

# ================================================================================================
# Assertions shared by in-process and worker cases
# ================================================================================================


def _patterns(match):
    if match is None:
        return []
    return [match] if isinstance(match, str) else list(match)


def check_raised(raised, cls, match=None, *, path=None):
    """``raised``: an exception or bad.describe_exception's dict. Exact class, every pattern, ``.path``."""
    __tracebackhide__ = True
    info = raised if isinstance(raised, dict) else bad.describe_exception(raised)
    name = cls.__name__
    got = f"{info['module']}.{info['name']}: {bad.head(info['message'], 400)}"
    if name in MISSING_CLASSES:
        pytest.fail(f"tff.{name} does not exist yet; got {got}")
    if info["name"] != name or not info["module"].startswith("tflite_fixups"):
        pytest.fail(f"expected {name}, got {got}")
    for pattern in _patterns(match):
        if not re.search(pattern, info["message"]):
            pytest.fail(f"{name} raised, but its message does not match {pattern!r}: {bad.head(info['message'], 700)}")
    if path is not None:
        found = info.get("path")
        if not found:
            pytest.fail(f"{name} has no .path (expected {path!r})")
        found, wanted = os.path.abspath(found), os.path.abspath(path)
        if not (found == wanted or found.startswith(wanted + os.sep)):
            pytest.fail(f"{name}.path is {found!r}, expected {wanted!r}")
    return info


class expect_error:
    """Like ``pytest.raises(cls, match=...)`` but the class must be exactly ``cls``, and a failure says what
    happened instead (another class and its message, or silent acceptance). ``.value`` is the exception."""

    def __init__(self, cls, match=None, *, path=None):
        self.cls, self.match, self.path, self.value = cls, match, path, None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback_):
        __tracebackhide__ = True
        if kind is None:
            pytest.fail(f"DID NOT RAISE {self.cls.__name__}: silently accepted")
        if not issubclass(kind, Exception):
            return False
        self.value = value
        check_raised(value, self.cls, self.match, path=self.path)
        return True


def check_worker_raised(outcome, cls, match=None, *, path=None):
    __tracebackhide__ = True
    if outcome.get("status") != "done" or "harness_error" in outcome:
        pytest.fail(bad.describe_outcome(outcome))
    if "raised" not in outcome:
        pytest.fail(f"DID NOT RAISE {cls.__name__}: {bad.describe_outcome(outcome)}")
    return check_raised(outcome["raised"], cls, match, path=path)


def check_worker_returned(outcome):
    __tracebackhide__ = True
    if outcome.get("status") != "done" or "harness_error" in outcome:
        pytest.fail(bad.describe_outcome(outcome))
    if "raised" in outcome:
        raised = outcome["raised"]
        pytest.fail(f"expected it to work, but it raised {raised['module']}.{raised['name']}: "
                    f"{bad.head(raised['message'], 600)}")


def check_cli_error(outcome, flags=(), *, also=()):
    """Exit code 2, stderr starting with 'error:', no traceback, the CLI's flags and never Python names."""
    __tracebackhide__ = True
    if outcome.get("status") not in (None, "done") or "harness_error" in outcome:
        pytest.fail(bad.describe_outcome(outcome))
    stderr = outcome["stderr"]
    shown = f"exit {outcome['exit']}; stderr: {bad.head(stderr[-1500:], 900)}"
    assert "Traceback" not in stderr, f"a traceback reached the user: {shown}"
    assert "Segmentation fault" not in stderr and "Fatal Python error" not in stderr, shown
    assert outcome["exit"] == 2, f"expected exit code 2: {shown}"
    assert stderr.lstrip().startswith("error:"), f"stderr does not start with 'error:': {shown}"
    for flag in flags:
        assert flag in stderr, f"the message does not mention {flag}: {shown}"
    for pattern in also:
        assert re.search(pattern, stderr), f"the message does not match {pattern!r}: {shown}"
    leaked = [name for name in bad.PYTHON_ARGUMENT_NAMES if name in stderr]
    assert not leaked, f"the CLI message uses Python argument names {leaked} instead of its flags: {shown}"


def check_cli_ok(outcome):
    __tracebackhide__ = True
    if outcome.get("status") not in (None, "done") or "harness_error" in outcome:
        pytest.fail(bad.describe_outcome(outcome))
    assert outcome["exit"] == 0, f"exit {outcome['exit']}; stderr: {bad.head(outcome['stderr'][-1500:], 900)}"


def snapshot(data):
    """A copy of a sample structure to compare with later (object arrays keep their elements)."""
    if isinstance(data, dict):
        return {key: snapshot(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(snapshot(value) for value in data)
    if isinstance(data, np.ndarray):
        return data.copy()
    return data


def assert_same_array(before, after):
    __tracebackhide__ = True
    assert type(before) is type(after)
    if isinstance(before, np.ndarray):
        assert before.dtype == after.dtype and before.shape == after.shape, "the user's array was modified"
        if before.dtype.kind in "fciub":
            assert np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"), "the user's array was modified"
        else:
            assert all(a is b or a == b for a, b in zip(before.ravel().tolist(), after.ravel().tolist())), (
                "the user's array was modified")


def assert_same_data(before, after):
    """A sample structure (array, list, dict of arrays) unchanged."""
    __tracebackhide__ = True
    if isinstance(before, dict):
        assert isinstance(after, dict) and list(before) == list(after), "the user's dict was modified"
        for key in before:
            assert_same_data(before[key], after[key])
    elif isinstance(before, (list, tuple)):
        assert type(before) is type(after) and len(before) == len(after), "the user's list was modified"
        for a, b in zip(before, after):
            assert_same_data(a, b)
    elif isinstance(before, np.ndarray):
        assert_same_array(before, after)


# ================================================================================================
# Shared models, files and .tflite models (built once)
# ================================================================================================


class Models:
    """Small models by (name, flavour), their weights at build time, and their .tflite bytes."""

    builders = {"mlp": bad.mlp, "seq": bad.seq_model, "two_inputs": bad.two_input_model,
                "embedding": bad.embedding_model, "lstm": bad.lstm_model}

    def __init__(self):
        self._models, self._weights, self._tflite = {}, {}, {}

    def get(self, name, flavour="keras3"):
        key = (name, flavour)
        if key not in self._models:
            self._models[key] = self.builders[name](KERAS[flavour])
            self._weights[key] = helpers.weights_snapshot(self._models[key])
        return self._models[key]

    def tflite(self, name, flavour="keras3"):
        key = (name, flavour)
        if key not in self._tflite:
            self._tflite[key] = tff.convert(self.get(name, flavour)).tflite_model
        return self._tflite[key]

    def assert_unchanged(self):
        __tracebackhide__ = True
        for key, model in self._models.items():
            helpers.assert_same_weights(self._weights[key], model)


@pytest.fixture(scope="module")
def models():
    return Models()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bad_inputs")


@pytest.fixture(scope="session")
def model_files(workdir):
    files = bad.build_model_files(workdir / "model_files")
    mlp_tflite = tff.convert(helpers.mlp(keras)).tflite_model
    Path(files["tflite_path_as_model"]).write_bytes(mlp_tflite)
    files["real_keras3_keras"] = str(workdir / "model_files" / "real" / "mlp_keras3.keras")
    files["real_keras3_h5"] = str(workdir / "model_files" / "real" / "mlp_keras3.h5")
    return files


@pytest.fixture(scope="session")
def pinned_tflite(workdir):
    """A .tflite with a pinning record: 'seq' (None, None, 4) pinned to (1, 6, 4)."""
    result = tff.convert(bad.seq_model(keras), passes=[tff.passes.pin_input_shapes((1, 6, 4))])
    return result.save(str(workdir / "tflite" / "seq_pinned.tflite"))


@pytest.fixture(scope="session")
def lambda_files(workdir):
    return bad.build_lambda_files(workdir / "lambda_files")


@pytest.fixture(scope="session")
def tf_lambda_file(workdir):
    return bad.build_tf_lambda_file(workdir / "tf_lambda")


# ================================================================================================
# Background jobs: worker processes started with the first test of this module
# ================================================================================================


class Jobs:
    """At most two worker processes at a time beside the in-process tests; results by job name."""

    def __init__(self, record_dir=None):
        self.record_dir = record_dir
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bad-inputs-job")
        self._futures = {}
        self._lock = threading.Lock()
        self.seconds = {}

    def submit(self, name, function):
        with self._lock:
            if name not in self._futures:
                self._futures[name] = self._pool.submit(self._timed, name, function)
            return self._futures[name]

    def _timed(self, name, function):
        start = time.monotonic()
        try:
            results = function()
            if self.record_dir is not None:  # every outcome, for reading after the run
                (self.record_dir / f"job_{name}.json").write_text(json.dumps(results, indent=1, default=str))
            return results
        finally:
            self.seconds[name] = round(time.monotonic() - start, 1)

    def result(self, name):
        return self._futures[name].result(timeout=3600)

    def shutdown(self):
        """Cancel what has not started; stop the running workers (the processes this module started)."""
        for future in self._futures.values():
            future.cancel()
        if not all(future.done() for future in self._futures.values()):
            bad.STOP.set()
        self._pool.shutdown(wait=True)


class Once:
    """A value computed by the first thread that asks for it (the others wait)."""

    def __init__(self, function):
        self._function, self._lock, self._done, self._value = function, threading.Lock(), False, None

    def __call__(self):
        with self._lock:
            if not self._done:
                self._value, self._done = self._function(), True
            return self._value


@pytest.fixture(scope="session")
def jobs(workdir):
    pool = Jobs(record_dir=workdir)
    yield pool
    pool.shutdown()
    (workdir / "job_seconds.json").write_text(json.dumps(pool.seconds, indent=1))


@pytest.fixture(scope="session")
def custom_build(workdir):
    """The custom-layer files, built in a worker (registering their classes there, not here)."""
    root = workdir / "custom"
    modules = bad.write_import_modules(root / "import_modules")

    def build():
        outcome = bad.run_isolated(
            [{"id": "build", "func": "build_only",
              "kwargs": {"kind": "custom", "builder_dir": str(root / "builder"), "out_dir": str(root / "files")}}],
            root / "build_worker", case_timeout=300)["build"]
        if outcome.get("status") != "done" or "built" not in outcome:
            raise RuntimeError(f"building the custom-layer files failed: {bad.describe_outcome(outcome)}")
        return {**outcome["built"], "modules": modules, "modules_dir": str(root / "import_modules")}

    return Once(build)


#: in the order they start: the endless inputs run longest
JOB_FIXTURES = ("job_endless", "job_nonfinite", "job_security_keras3", "job_security_tf_keras", "job_custom",
                "job_fast", "job_cli_real")


@pytest.fixture(scope="session", autouse=True)
def _start_background_jobs(request):
    """Start every worker job some selected test of this module will read, longest first."""
    needed = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for name in JOB_FIXTURES:
        if name in needed:
            request.getfixturevalue(name)


# ================================================================================================
# 0. The matrix and the error classes
# ================================================================================================


def _matrix_size():
    """Cases this module defines, counted from its parametrisations (independent of -k / -m selection)."""
    total = 0
    for name, function in sorted(globals().items()):
        if not name.startswith("test_") or not callable(function):
            continue
        cases = 1
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize":
                cases *= len(mark.args[1])
        if "K" in inspect.signature(function).parameters:
            cases *= 2
        total += cases
    return total


def test_matrix_has_at_least_300_cases():
    assert _matrix_size() >= 300, f"the bad-input matrix shrank to {_matrix_size()} cases"


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_class_is_exported(name):
    assert hasattr(tff, name), f"tff.{name} is not exported"
    cls = getattr(tff, name)
    assert cls is getattr(tff_errors, name), f"tff.{name} is not tflite_fixups.errors.{name}"
    assert issubclass(cls, tff.TfliteFixupsError)
    parents = {"ModelFileError": "InvalidModelError", "UnsafeModelError": "InvalidModelError", "RuleError": "PassError"}
    if name in parents:
        assert issubclass(cls, getattr(tff, parents[name]))


# ================================================================================================
# 1. The model argument
# ================================================================================================

MODEL_ENTRY_POINTS = ("load_model", "convert", "convert_and_verify", "auto_fix", "diagnose", "verify",
                      "check_representative_data")
ACCEPTED_KINDS = (r"(?i)keras", r"SavedModel")


def call_with_model(entry, model, models):
    if entry == "load_model":
        return tff.load_model(model)
    if entry == "convert":
        return tff.convert(model)
    if entry == "convert_and_verify":
        return tff.convert_and_verify(model)
    if entry == "auto_fix":
        return tff.auto_fix(model)
    if entry == "diagnose":
        return tff.diagnose(model)
    if entry == "verify":
        return tff.verify(model, models.tflite("mlp"), sample_inputs=np.zeros((1, 8), np.float32))
    if entry == "check_representative_data":
        return tff.check_representative_data(model, np.zeros((4, 8), np.float32))
    raise KeyError(entry)


#: kind -> (build the object from `models`, patterns the message must match)
MODEL_OBJECTS = {
    "none": (lambda m: None, [*ACCEPTED_KINDS, r"NoneType|None"]),
    "int_42": (lambda m: 42, [*ACCEPTED_KINDS, r"\bint\b"]),
    "list_holding_a_model": (lambda m: [m.get("mlp")], [*ACCEPTED_KINDS, r"\blist\b"]),
    "dict_holding_a_model": (lambda m: {"model": m.get("mlp")}, [*ACCEPTED_KINDS, r"\bdict\b"]),
    "numpy_array": (lambda m: np.arange(8, dtype=np.float32).reshape(1, 8), [*ACCEPTED_KINDS, r"ndarray|array"]),
    "lambda_without_signature": (lambda m: (lambda x: x * 2.0), [r"input_signature|tf\.function"]),
    "tf_function_without_input_signature": (lambda m: tf.function(lambda x: x * 2.0),
                                            [r"input_signature", r"input_specs"]),
}

PROBLEM = (r"(?i)corrupt|damaged|truncat|incomplete|not a valid|invalid|unreadable|could not (be )?(read|load|open)"
           r"|cannot (be )?(read|load|open)|not an? |zip|archive|hdf5")
EXPECTED_KIND = r"(?i)SavedModel|\.keras|\.h5\b"
NOT_FOUND = r"(?i)no such|does not exist|doesn't exist|not exist|not found|cannot find|missing|\bno [.\w]* ?file at"
#: kind -> patterns besides the path (every one must match)
MODEL_FILES = {
    "nonexistent_path": [NOT_FOUND],
    "dir_without_saved_model_pb": [r"saved_model\.pb"],
    "unknown_extension_onnx": [EXPECTED_KIND],
    "unknown_extension_txt": [EXPECTED_KIND],
    "tflite_path_as_model": [EXPECTED_KIND + r"|tff\.verify|LiteRTRunner"],
    "keras_random_bytes": [PROBLEM],
    "keras_empty_file": [PROBLEM + r"|empty|0 bytes"],
    "keras_truncated_zip_keras3": [PROBLEM],
    "keras_truncated_zip_tf_keras": [PROBLEM],
    "keras_zip_without_config_keras3": [r"config\.json"],
    "keras_zip_without_config_tf_keras": [r"config\.json"],
    "keras_config_not_json_keras3": [r"config\.json"],
    "keras_config_not_json_tf_keras": [r"config\.json"],
    "h5_random_bytes": [PROBLEM],
    "h5_truncated_keras3": [PROBLEM],
    "h5_truncated_tf_keras": [PROBLEM],
    "saved_model_pb_random_bytes": [r"(?i)SavedModel|saved_model\.pb", PROBLEM],
    "saved_model_pb_truncated_tf_saved_model": [r"(?i)SavedModel|saved_model\.pb", PROBLEM],
    "saved_model_pb_truncated_keras_export": [r"(?i)SavedModel|saved_model\.pb", PROBLEM],
    "saved_model_variables_deleted_tf_saved_model": [r"(?i)variables"],
    "saved_model_variables_deleted_keras_export": [r"(?i)variables"],
}


@pytest.mark.parametrize("kind", list(MODEL_OBJECTS) + list(MODEL_FILES))
@pytest.mark.parametrize("entry", MODEL_ENTRY_POINTS)
def test_model_argument(entry, kind, models, model_files):
    if kind in MODEL_OBJECTS:
        make, patterns = MODEL_OBJECTS[kind]
        model = make(models)
        before = copy.copy(model) if isinstance(model, (list, dict, np.ndarray)) else None
        with expect_error(InvalidModelError, patterns):
            call_with_model(entry, model, models)
        if isinstance(model, (list, dict)):
            assert model == before, "the user's container was modified"
        elif isinstance(model, np.ndarray):
            assert_same_array(before, model)
        models.assert_unchanged()
        return
    path = model_files[kind]
    with expect_error(ModelFileError, [re.escape(os.path.basename(path)), *MODEL_FILES[kind]], path=path):
        call_with_model(entry, path, models)


# ================================================================================================
# 3. The .tflite argument (bad bytes and paths run in a worker: LiteRT is C++)
# ================================================================================================

TFLITE_ENTRY_POINTS = ("verify", "LiteRTRunner", "read_pinning", "pad_or_truncate")
TFLITE_PATTERN = r"(?i)tflite|flatbuffer|TFL3"


def _tflite_cases(workdir, pinned, keras_path):
    return [
        {"id": f"{entry}-{kind}", "func": "tflite_case",
         "kwargs": {"entry": entry, "kind": kind, "real_path": pinned, "scratch": str(workdir / "tflite_scratch"),
                    "keras_path": keras_path},
         "timeout": 60}
        for entry in TFLITE_ENTRY_POINTS
        for kind in bad.TFLITE_BYTE_KINDS + bad.TFLITE_PATH_KINDS + bad.TFLITE_TYPE_KINDS
    ]




def test_verify_with_the_tflite_of_another_model_names_the_inputs(models):
    mlp = models.get("mlp")
    with expect_error(InvalidInputError, [r"features", r"\bseq\b"]):
        tff.verify(mlp, models.tflite("seq"), sample_inputs=np.zeros((1, 8), np.float32))
    models.assert_unchanged()


# ================================================================================================
# 4. sample_inputs, num_random_samples, seed (convert_and_verify, verify, auto_fix; both Kerases)
# ================================================================================================

SAMPLE_ENTRY_POINTS = ("convert_and_verify", "verify", "auto_fix")


def run_with_samples(entry, models, name, flavour, **options):
    model = models.get(name, flavour)
    if entry == "convert_and_verify":
        return tff.convert_and_verify(model, **options)
    if entry == "auto_fix":
        return tff.auto_fix(model, **options)
    if entry == "verify":
        return tff.verify(model, models.tflite(name, flavour), **options)
    raise KeyError(entry)


def _raising_generator():
    good = np.full((1, 8), 0.5, np.float32)
    yield good
    yield good
    raise RuntimeError("sensor unplugged")


SIGNAL = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
IDS = np.array([[1, 2, 3, 4, 5]], np.int32)
SAMPLE_INDEX_2 = r"(?i)\b(sample|index|item|element)\W{0,3}#?2\b"
#: kind -> (model, make sample_inputs, patterns)
BAD_SAMPLES = {
    "string_array": ("mlp", lambda: np.array([["a"] * 8]), [r"features", r"(?i)str|text|numeric|number"]),
    "object_array": ("mlp", lambda: np.array([[object() for _ in range(8)]], dtype=object),
                     [r"features", r"(?i)object|numeric|number"]),
    "empty_array": ("mlp", lambda: np.zeros((0, 8), np.float32),
                    [r"features", r"(?i)empty|no (values|samples|examples)|size 0|zero|\(0, 8\)"]),
    "complex_values_for_float_input": ("mlp", lambda: np.full((1, 8), 1 + 2j, np.complex64),
                                       [r"features", r"(?i)complex"]),
    "int64_beyond_int32_range": ("two_inputs", lambda: {"signal": SIGNAL, "ids": np.full((1, 5), 2 ** 40, np.int64)},
                                 [r"\bids\b", r"int32",
                                  r"(?i)range|overflow|beyond|exceed|too (large|big)|out of|fit|wrap|2147483647"]),
    "non_integral_floats_for_int_input": ("two_inputs", lambda: {"signal": SIGNAL, "ids": np.full((1, 5), 1.5)},
                                          [r"\bids\b", r"(?i)integ|int32"]),
    "wrong_rank": ("mlp", lambda: np.zeros((1, 1, 8), np.float32), [r"features", r"(?i)rank|dimension|ndim"]),
    "wrong_shape": ("mlp", lambda: np.zeros((1, 7), np.float32), [r"features", r"(?i)shape", r"\b8\b"]),
    "wrong_dict_names": ("two_inputs", lambda: {"signal": SIGNAL, "idz": IDS}, [r"\bidz\b", r"\bids\b"]),
    "list_with_wrong_number_of_arrays": ("two_inputs", lambda: [SIGNAL, IDS, IDS], [r"\bsignal\b", r"\bids\b"]),
    "generator_raising_midway": ("mlp", _raising_generator, [r"sample_inputs", SAMPLE_INDEX_2, r"sensor unplugged"]),
    "empty_iterable": ("mlp", lambda: [], [r"sample_inputs", r"(?i)no samples|empty|nothing|zero|\b0 samples"]),
}


@pytest.mark.parametrize("kind", list(BAD_SAMPLES))
@pytest.mark.parametrize("entry", SAMPLE_ENTRY_POINTS)
def test_sample_inputs(entry, kind, K, models):
    name, make, patterns = BAD_SAMPLES[kind]
    samples = make()
    before = snapshot(samples) if not inspect.isgenerator(samples) else None
    with expect_error(InvalidInputError, patterns) as raised:
        run_with_samples(entry, models, name, FLAVOUR_OF[K.__name__], sample_inputs=samples)
    if kind == "generator_raising_midway":
        cause = raised.value.__cause__
        assert isinstance(cause, RuntimeError) and "sensor unplugged" in str(cause), (
            f"the generator's own exception is not chained as __cause__ (got {cause!r})")
    if before is not None:
        assert_same_data(before, samples)
    models.assert_unchanged()


BAD_COUNTS = {
    "num_random_samples_0": {"num_random_samples": 0},
    "num_random_samples_minus_1": {"num_random_samples": -1},
    "num_random_samples_1_5": {"num_random_samples": 1.5},
    "num_random_samples_true": {"num_random_samples": True},
    "num_random_samples_string_8": {"num_random_samples": "8"},
    "seed_string_x": {"seed": "x"},
    "seed_minus_1": {"seed": -1},
}


@pytest.mark.parametrize("kind", list(BAD_COUNTS))
@pytest.mark.parametrize("entry", SAMPLE_ENTRY_POINTS)
def test_sample_count_and_seed(entry, kind, K, models):
    options = BAD_COUNTS[kind]
    argument = next(iter(options))
    with expect_error(InvalidInputError, rf"\b{argument}\b"):
        run_with_samples(entry, models, "mlp", FLAVOUR_OF[K.__name__], **options)
    models.assert_unchanged()


@pytest.mark.parametrize("value", ["nan", "inf"])
@pytest.mark.parametrize("entry", SAMPLE_ENTRY_POINTS)
def test_sample_inputs_with_nan_and_inf_are_accepted(entry, value, K, models):
    samples = np.full((1, 8), float(value), np.float32)
    samples[0, :4] = 0.25
    before = samples.copy()
    run_with_samples(entry, models, "mlp", FLAVOUR_OF[K.__name__], sample_inputs=samples)
    assert_same_array(before, samples)
    models.assert_unchanged()


# ================================================================================================
# 6. input_specs
# ================================================================================================

SPEC_ENTRY_POINTS = ("load_model", "convert", "convert_and_verify", "auto_fix", "diagnose", "verify")
BAD_SPECS = {
    "tensorspec_dtype_differs_from_model": (tf.TensorSpec((1, 8), tf.int32), [r"int32", r"float32"]),
    "negative_dim": ((-1, 8), [r"input_specs", r"-1"]),
    "zero_dim": ((0, 8), [r"input_specs", r"\b0\b"]),
    "wrong_rank": ((1, 8, 1), [r"input_specs", r"(?i)rank"]),
    "string": ("1,8", [r"input_specs"]),
    "float_dims": ((1.0, 8.0), [r"input_specs"]),
    "unknown_name_in_dict": ({"nope": (1, 8)}, [r"\bnope\b", r"features"]),
    "fixed_axis_mismatch": ((1, 9), [r"input_specs", r"\b9\b", r"\b8\b"]),
}


@pytest.mark.parametrize("kind", list(BAD_SPECS))
@pytest.mark.parametrize("entry", SPEC_ENTRY_POINTS)
def test_input_specs(entry, kind, K, models):
    specs, patterns = BAD_SPECS[kind]
    flavour = FLAVOUR_OF[K.__name__]
    model = models.get("mlp", flavour)
    with expect_error(InvalidInputError, patterns):
        if entry == "load_model":
            tff.load_model(model, input_specs=specs)
        elif entry == "convert":
            tff.convert(model, input_specs=specs)
        elif entry == "convert_and_verify":
            tff.convert_and_verify(model, input_specs=specs)
        elif entry == "auto_fix":
            tff.auto_fix(model, input_specs=specs)
        elif entry == "diagnose":
            tff.diagnose(model, input_specs=specs)
        else:
            tff.verify(model, models.tflite("mlp", flavour), sample_inputs=SIGNAL, input_specs=specs)
    models.assert_unchanged()


# ================================================================================================
# 7. Tolerances and numbers
# ================================================================================================

BAD_NUMBERS = {"true": True, "false": False, "string_1e-4": "1e-4", "minus_1": -1, "nan": float("nan"),
               "inf": float("inf")}


@pytest.mark.parametrize("value", list(BAD_NUMBERS))
@pytest.mark.parametrize("argument", ["atol", "rtol"])
@pytest.mark.parametrize("entry", SAMPLE_ENTRY_POINTS)
def test_tolerance(entry, argument, value, models):
    with expect_error(InvalidInputError, rf"\b{argument}\b"):
        run_with_samples(entry, models, "mlp", "keras3", sample_inputs=SIGNAL, **{argument: BAD_NUMBERS[value]})
    models.assert_unchanged()


@pytest.mark.parametrize("argument", ["atol", "rtol"])
def test_tolerance_none_in_verify(argument, models):
    with expect_error(InvalidInputError, rf"\b{argument}\b"):
        tff.verify(models.get("mlp"), models.tflite("mlp"), sample_inputs=SIGNAL, **{argument: None})


@pytest.mark.parametrize("value", [0, -1, True, 2.5], ids=["0", "minus_1", "true", "2_5"])
def test_max_batch(value, models):
    with expect_error(InvalidInputError, r"max_batch"):
        tff.verify(models.get("mlp"), models.tflite("mlp"), sample_inputs=SIGNAL, max_batch=value)


# ================================================================================================
# 8. Passes and pipelines
# ================================================================================================


def keep_model(model):
    """A plain function pass that changes nothing."""
    return model


def returns_none(model):
    return None


def returns_a_number(model):
    return 42


def raises_midway(model):
    raise RuntimeError("lost the weights")


@pytest.mark.parametrize("kind", ["pass_object", "plain_function"])
@pytest.mark.parametrize("entry", ["convert", "convert_and_verify"])
def test_single_pass_is_accepted_like_a_list_of_one(entry, kind, models):
    model = models.get("mlp")
    single = tff.passes.unroll_rnns() if kind == "pass_object" else keep_model
    run = tff.convert if entry == "convert" else tff.convert_and_verify
    result = run(model, passes=single)
    assert len(result.passes) == 1 and result.tflite_model
    models.assert_unchanged()


BAD_PASS_LISTS = {
    "int_42": (42, [r"(?i)pass", r"\b42\b|\bint\b"]),
    "string_name": ("replace_unsupported_ops", [r"(?i)pass", r"replace_unsupported_ops|\bstr\b"]),
    "list_with_none": ([None], [r"(?i)pass", r"None"]),
    "list_with_int": ([42], [r"(?i)pass", r"\b42\b|\bint\b"]),
}


@pytest.mark.parametrize("kind", list(BAD_PASS_LISTS))
@pytest.mark.parametrize("entry", ["Pipeline", "convert", "convert_and_verify"])
def test_bad_passes_argument(entry, kind, models):
    value, patterns = BAD_PASS_LISTS[kind]
    model = models.get("mlp")
    with expect_error(InvalidInputError, patterns):
        if entry == "Pipeline":
            tff.Pipeline(value)(model)
        elif entry == "convert":
            tff.convert(model, passes=value)
        else:
            tff.convert_and_verify(model, passes=value)
    models.assert_unchanged()


FAILING_PASSES = {"returns_none": returns_none, "returns_a_number": returns_a_number, "raises_midway": raises_midway}


@pytest.mark.parametrize("kind", list(FAILING_PASSES))
@pytest.mark.parametrize("entry", ["Pipeline", "convert", "convert_and_verify"])
def test_failing_function_pass_names_itself_and_the_passes_before(entry, kind, models):
    model = models.get("mlp")
    passes = [tff.passes.function_pass(keep_model), tff.passes.function_pass(FAILING_PASSES[kind])]
    with expect_error(PassError, [rf"\b{kind}\b", r"\bkeep_model\b"]) as raised:
        if entry == "Pipeline":
            tff.Pipeline(passes)(model)
        elif entry == "convert":
            tff.convert(model, passes=passes)
        else:
            tff.convert_and_verify(model, passes=passes)
    assert raised.value.pass_name == kind and raised.value.passes_run == ["keep_model"]
    if kind == "raises_midway":
        assert isinstance(raised.value.__cause__, RuntimeError)
    models.assert_unchanged()


BAD_REPLACE_ARGUMENTS = {
    "rules_int_42": ({"rules": 42}, [r"\brules\b"]),
    "rules_list_with_int": ({"rules": [42]}, [r"\brules\b"]),
    "rules_string": ({"rules": "erf"}, [r"\brules\b"]),
    "only_unknown_op": ({"only": ["NotAnOp"]}, [r"NotAnOp"]),
    "only_int_42": ({"only": 42}, [r"\bonly\b"]),
    "exclude_int_42": ({"exclude": 42}, [r"\bexclude\b"]),
    "exclude_list_with_int": ({"exclude": [42]}, [r"\bexclude\b"]),
}


@pytest.mark.parametrize("kind", list(BAD_REPLACE_ARGUMENTS))
def test_replace_unsupported_ops_arguments(kind):
    options, patterns = BAD_REPLACE_ARGUMENTS[kind]
    with expect_error(InvalidInputError, patterns):
        tff.passes.replace_unsupported_ops(**options)


@pytest.fixture(scope="module")
def erf_function():
    return tf.function(lambda x: {"y": tf.math.erf(x)}, input_signature=[tf.TensorSpec((1, 6), tf.float32, name="x")])


def _bad_rule_registry(kind):
    from tflite_fixups.rewrites import RuleRegistry, rewrite_rule

    registry = RuleRegistry()
    if kind == "raises_zero_division":
        @rewrite_rule("Erf", error_bound="exact", registry=registry)
        def exploding_erf(node, x):
            return x * (1 / 0)

        return registry, "exploding_erf"
    if kind == "returns_wrong_dtype":
        @rewrite_rule("Erf", error_bound="exact", registry=registry)
        def integer_erf(node, x):
            return tf.cast(x, tf.int32)

        return registry, "integer_erf"

    @rewrite_rule("Erf", error_bound="exact", registry=registry)
    def two_output_erf(node, x):
        return [tf.tanh(x), tf.tanh(x)]

    return registry, "two_output_erf"


@pytest.mark.parametrize("kind", ["raises_zero_division", "returns_wrong_dtype", "returns_wrong_number_of_outputs"])
@pytest.mark.parametrize("entry", ["pass_call", "convert", "convert_and_verify"])
def test_rule_error_names_the_rule_and_the_node(entry, kind, erf_function):
    registry, rule = _bad_rule_registry(kind)
    replace = tff.passes.replace_unsupported_ops(rules=registry)
    with expect_error(RuleError, [rf"\b{rule}\b", r"Erf"]) as raised:
        if entry == "pass_call":
            replace(erf_function)
        elif entry == "convert":
            tff.convert(erf_function, passes=[replace])
        else:
            tff.convert_and_verify(erf_function, passes=[replace])
    error = raised.value
    assert error.rule == rule and error.op_type == "Erf" and "Erf" in (error.node or ""), (
        f"RuleError attributes: rule={error.rule!r} op_type={error.op_type!r} node={error.node!r}")
    if kind == "raises_zero_division":
        assert isinstance(error.__cause__, ZeroDivisionError)


PIN_ARGUMENTS = {
    "shapes_none": ({"shapes": None}, [r"shapes"]),
    "pad_middle": ({"pad": "middle"}, [r"\bpad\b", r"middle"]),
    "truncate_sideways": ({"truncate": "sideways"}, [r"\btruncate\b", r"sideways"]),
    "pad_value_nan": ({"pad_value": float("nan")}, [r"pad_value"]),
    "pad_value_inf": ({"pad_value": float("inf")}, [r"pad_value"]),
    "pad_value_string": ({"pad_value": "0"}, [r"pad_value"]),
    "pad_value_bool": ({"pad_value": True}, [r"pad_value"]),
    "mask_int_1": ({"mask": 1}, [r"\bmask\b"]),
    "mask_string": ({"mask": "yes"}, [r"\bmask\b"]),
    "shapes_negative_dim": ({"shapes": (1, -5, 4)}, [r"-5"]),
    "shapes_zero_dim": ({"shapes": (1, 0, 4)}, [r"\b0\b"]),
    "shapes_wrong_rank": ({"shapes": (1, 6)}, [r"(?i)rank"]),
    "shapes_string": ({"shapes": "1,6,4"}, [r"(?i)shape"]),
    "shapes_float_dims": ({"shapes": (1, 6.0, 4)}, [r"(?i)shape"]),
    "shapes_unknown_name": ({"shapes": {"nope": (1, 6, 4)}}, [r"\bnope\b", r"\bseq\b"]),
    "shapes_fixed_axis_mismatch": ({"shapes": (1, 6, 5)}, [r"\b5\b", r"\b4\b"]),
}


@pytest.mark.parametrize("kind", list(PIN_ARGUMENTS))
@pytest.mark.parametrize("entry", ["pass_call", "convert_and_verify"])
def test_pin_input_shapes_arguments(entry, kind, K, models):
    options, patterns = PIN_ARGUMENTS[kind]
    options = {"shapes": (1, 6, 4), **options}
    model = models.get("seq", FLAVOUR_OF[K.__name__])
    with expect_error(InvalidInputError, patterns):
        pin = tff.passes.pin_input_shapes(options.pop("shapes"), **options)
        if entry == "pass_call":
            pin(model)
        else:
            tff.convert_and_verify(model, passes=[pin])
    models.assert_unchanged()


@pytest.mark.parametrize("kind", ["not_a_keras_model", "lstm_with_dynamic_length"])
@pytest.mark.parametrize("entry", ["pass_call", "convert_and_verify"])
def test_unroll_rnns_on_the_wrong_model(entry, kind, K, models, erf_function):
    if kind == "not_a_keras_model":
        model, cls, patterns = erf_function, InvalidModelError, [r"(?i)keras"]
    else:
        model, cls, patterns = models.get("lstm", FLAVOUR_OF[K.__name__]), InvalidInputError, [r"pin_input_shapes"]
    with expect_error(cls, patterns):
        if entry == "pass_call":
            tff.passes.unroll_rnns()(model)
        else:
            tff.convert_and_verify(model, passes=[tff.passes.unroll_rnns()])
    models.assert_unchanged()


FAKE_QUANT_ARGUMENTS = {
    "num_bits_4": ({"num_bits": 4}, InvalidInputError, [r"num_bits"]),
    "ema_decay_1_5": ({"ema_decay": 1.5}, InvalidInputError, [r"ema_decay"]),
    "per_channel_string": ({"per_channel": "yes"}, InvalidInputError, [r"per_channel"]),
    "fold_batch_norm_int": ({"fold_batch_norm": 1}, InvalidInputError, [r"fold_batch_norm"]),
    "skip_list_with_int": ({"skip": [42]}, InvalidInputError, [r"\bskip\b"]),
    "calibration_data_string": ({"calibration_data": "images/*.png"}, InvalidInputError, [r"calibration_data"]),
    "calibration_data_wrong_shape": ({"calibration_data": np.zeros((4, 7), np.float32)}, InvalidInputError,
                                     [r"features|calibration_data", r"(?i)shape"]),
    "not_a_keras_model": ({}, InvalidModelError, [r"(?i)keras"]),
}


@pytest.mark.parametrize("kind", list(FAKE_QUANT_ARGUMENTS))
def test_insert_fake_quant_arguments(kind, K, models, erf_function):
    options, cls, patterns = FAKE_QUANT_ARGUMENTS[kind]
    model = erf_function if kind == "not_a_keras_model" else models.get("mlp", FLAVOUR_OF[K.__name__])
    with expect_error(cls, patterns):
        tff.passes.insert_fake_quant(**options)(model)
    models.assert_unchanged()


@pytest.mark.parametrize("kind", ["not_callable_42", "string", "name_not_a_string"])
def test_function_pass_arguments(kind):
    with expect_error(InvalidInputError, [r"(?i)function|callable|name"]):
        if kind == "not_callable_42":
            tff.passes.function_pass(42)
        elif kind == "string":
            tff.passes.function_pass("keep_model")
        else:
            tff.passes.function_pass(keep_model, name=42)


# ================================================================================================
# 9. Quantization arguments and calibration data
# ================================================================================================

CALIBRATION = (np.random.default_rng(0).normal(size=(20, 8)) * 0.5).astype(np.float32)
BAD_QUANTIZATION = {
    "quantization_int4": ({"quantization": "int4"}, [r"quantization", r"int8"]),
    "quantization_8": ({"quantization": 8}, [r"quantization", r"int8"]),
    "quantization_true": ({"quantization": True}, [r"quantization", r"int8"]),
    "keep_float_42": ({"quantization": "int8", "keep_float": 42, "representative_data": CALIBRATION},
                      [r"keep_float"]),
}


@pytest.mark.parametrize("kind", list(BAD_QUANTIZATION))
@pytest.mark.parametrize("entry", ["convert", "convert_and_verify", "auto_fix"])
def test_quantization_arguments(entry, kind, models):
    options, patterns = BAD_QUANTIZATION[kind]
    model = models.get("mlp")
    with expect_error(InvalidInputError, patterns):
        {"convert": tff.convert, "convert_and_verify": tff.convert_and_verify, "auto_fix": tff.auto_fix}[entry](
            model, **options)
    models.assert_unchanged()


def _empty_generator():
    return
    yield  # noqa: unreachable - makes this a generator function


BAD_REPRESENTATIVE = {
    "empty_list": (lambda: [], [r"representative_data", r"(?i)no samples|empty|nothing"]),
    "exhausted_generator": (lambda: _empty_generator(), [r"representative_data", r"(?i)no samples|empty|nothing"]),
    "wrong_shape": (lambda: np.zeros((20, 7), np.float32), [r"features", r"(?i)shape"]),
    "strings": (lambda: np.array([["a"] * 8] * 20), [r"features", r"(?i)str|text|numeric|number"]),
}


@pytest.mark.parametrize("kind", list(BAD_REPRESENTATIVE))
@pytest.mark.parametrize("entry", ["convert", "convert_and_verify", "check_representative_data"])
def test_bad_representative_data(entry, kind, models):
    make, patterns = BAD_REPRESENTATIVE[kind]
    data = make()
    before = snapshot(data) if isinstance(data, (list, np.ndarray)) else None
    model = models.get("mlp")
    with expect_error(InvalidInputError, patterns):
        if entry == "check_representative_data":
            tff.check_representative_data(model, data)
        else:
            {"convert": tff.convert, "convert_and_verify": tff.convert_and_verify}[entry](
                model, quantization="int8", representative_data=data)
    if before is not None:
        assert_same_data(before, data)
    models.assert_unchanged()


# ================================================================================================
# 10. The original model raises on one sample: reported, not raised
# ================================================================================================


@pytest.fixture(scope="module")
def inverse_function():
    return tf.function(lambda m: {"inverse": tf.linalg.inv(m)},
                       input_signature=[tf.TensorSpec((1, 3, 3), tf.float32, name="matrix")])


@pytest.fixture(scope="module")
def inverse_tflite(inverse_function):
    return tff.convert(inverse_function, passes=[tff.passes.replace_unsupported_ops()]).tflite_model


FAILING_SAMPLE_MODELS = {
    "embedding_keras3": ("keras3", [np.array([[1, 2, 3]], np.int32), np.array([[1, 50, 3]], np.int32),
                                    np.array([[4, 5, 6]], np.int32)],
                         r"(?i)not in \[0, ?10\)|indices|out of (range|bounds)"),
    "embedding_tf_keras": ("tf_keras", [np.array([[1, 2, 3]], np.int32), np.array([[1, 50, 3]], np.int32),
                                        np.array([[4, 5, 6]], np.int32)],
                           r"(?i)not in \[0, ?10\)|indices|out of (range|bounds)"),
    "inverse_of_zeros": (None, [2 * np.eye(3, dtype=np.float32)[None], np.zeros((1, 3, 3), np.float32),
                                np.eye(3, dtype=np.float32)[None] + 0.1],
                         r"(?i)not invertible|singular|invert"),
}


@pytest.mark.parametrize("kind", list(FAILING_SAMPLE_MODELS))
@pytest.mark.parametrize("entry", ["convert_and_verify", "verify"])
def test_original_model_raises_on_one_sample(entry, kind, models, inverse_function, inverse_tflite):
    flavour, samples, tf_error = FAILING_SAMPLE_MODELS[kind]
    before = snapshot(samples)
    if flavour is None:
        model, tflite, passes = inverse_function, inverse_tflite, [tff.passes.replace_unsupported_ops()]
    else:
        model, passes = models.get("embedding", flavour), []
        tflite = models.tflite("embedding", flavour) if entry == "verify" else None
    if entry == "convert_and_verify":
        result = tff.convert_and_verify(model, passes=passes, sample_inputs=samples)
        assert not result.ok
        report = result.verification
    else:
        report = tff.verify(model, tflite, sample_inputs=samples)
    assert not report.ok
    failures = getattr(report, "sample_failures", None)
    assert failures is not None, "the report has no .sample_failures"
    original = [f for f in failures if f.index == 1 and f.stage == "original"]
    assert original, f"sample 1 (the bad one) is not listed as failing in the original model: {failures!r}"
    assert re.search(tf_error, original[0].message), f"the failure does not name TF's error: {original[0].message!r}"
    assert all(f.index == 1 for f in failures), f"good samples were reported as failing: {failures!r}"
    compared = [e for o in report.outputs.values() for e in o.sample_max_abs_errors if np.isfinite(e)]
    assert len(compared) >= 2, f"the other samples were not compared: {report.outputs!r}"
    assert_same_data(before, samples)
    models.assert_unchanged()


# ================================================================================================
# 10+. Objects the library hands back, used with bad input: SignatureModel.run, ConversionResult.save
# ================================================================================================

SIGNATURE_RUN_FEEDS = {
    "not_a_dict": (lambda: np.ones((1, 3, 3), np.float32), r"(?i)dict of inputs.*matrix"),
    "missing_input": (lambda: {"other": np.ones((1, 3, 3), np.float32)}, r"missing \['matrix'\]"),
    "text": (lambda: {"matrix": np.array([[["a"] * 3] * 3])}, r"matrix.*float32"),
    "singular_matrix": (lambda: {"matrix": np.zeros((1, 3, 3), np.float32)}, r"(?i)failed on these inputs.*invertible"),
}


@pytest.mark.parametrize("kind", list(SIGNATURE_RUN_FEEDS))
def test_signature_model_run(kind, inverse_function):
    make, pattern = SIGNATURE_RUN_FEEDS[kind]
    feed = make()
    before = snapshot(feed)
    with pytest.raises(InvalidInputError) as info:
        tff.load_model(inverse_function).run(feed)
    check_raised(info.value, InvalidInputError, pattern)
    assert_same_data(before, feed)


@pytest.mark.parametrize("kind", ["missing_parent_is_a_file", "not_a_path"])
def test_conversion_result_save(kind, models, workdir):
    result = tff.convert(models.get("mlp"))
    blocker = workdir / "save_blocker"
    blocker.write_text("a file where a folder should be")
    target = 42 if kind == "not_a_path" else blocker / "model.tflite"
    with pytest.raises(InvalidInputError) as info:
        result.save(target)
    check_raised(info.value, InvalidInputError, r"(?i)path|write")


@pytest.fixture(scope="module")
def huge_tensor_tflite():
    """A valid .tflite whose TILE output is float32[1e6, 1e6]: 3.6 TB, more than any machine has free."""
    tile = tf.function(lambda x: {"y": tf.tile(x, [1_000_000, 1_000_000])},
                       input_signature=[tf.TensorSpec((1, 1), tf.float32, name="x")])
    return tile, tff.convert(tile).tflite_model


@pytest.mark.parametrize("entry", ["LiteRTRunner", "verify", "convert_and_verify"])
def test_a_model_too_big_for_memory_is_refused_before_litert_allocates_it(entry, huge_tensor_tflite):
    tile, tflite = huge_tensor_tflite
    with pytest.raises(InvalidInputError) as info:
        if entry == "LiteRTRunner":
            tff.LiteRTRunner(tflite)
        elif entry == "verify":
            tff.verify(tile, tflite, sample_inputs=np.ones((1, 1), np.float32))
        else:
            tff.convert_and_verify(tile, sample_inputs=np.ones((1, 1), np.float32))
    check_raised(info.value, InvalidInputError, [r"GiB", r"1000000, 1000000", r"(?i)memory"])


def test_random_samples_too_big_to_draw_are_refused():
    identity = tf.function(lambda x: {"y": x * 2.0}, input_signature=[tf.TensorSpec((1, 100_000, 100_000), tf.float32)])
    with pytest.raises(InvalidInputError) as info:
        tff.convert_and_verify(identity)
    check_raised(info.value, InvalidInputError, [r"GiB", r"(?i)sample_inputs"])


# ================================================================================================
# Worker jobs (started in the background; the tests reading them follow)
# ================================================================================================

SECURITY_REFUSALS = ("load_model", "load_model_safe_mode_true", "convert_and_verify", "diagnose", "cli_diagnose",
                     "cli_convert")
SECURITY_TRUSTED = ("load_model_safe_mode_false", "cli_diagnose_unsafe")
LAMBDA_FILES = [f"{flavour}_{placement}_{fmt}" for flavour in ("keras3", "tf_keras")
                for placement in ("top", "nested") for fmt in ("keras", "h5")]


def _security_job(flavour, lambda_files, tf_lambda_path, workdir):
    out = workdir / f"security_{flavour}"
    out.mkdir(parents=True, exist_ok=True)
    names = [name for name in LAMBDA_FILES if name.startswith(flavour + "_")]
    cases = []
    for entries in (SECURITY_REFUSALS, SECURITY_TRUSTED):  # every refusal before anything runs the file's code
        for name in names:
            for entry in entries:
                cases.append({"id": f"{entry}-{name}", "func": "security_case", "timeout": 120,
                              "kwargs": {"entry": entry, "path": lambda_files[name]["path"],
                                         "marker": lambda_files[name]["marker"], "out_dir": str(out)}})
    if flavour == "keras3":
        for entry in ("load_model_and_convert", "cli_convert_unsafe"):
            cases.append({"id": f"tf_lambda-{entry}", "func": "tf_lambda_case", "timeout": 120,
                          "kwargs": {"entry": entry, "path": tf_lambda_path, "out_dir": str(out)}})
    return lambda: bad.run_isolated(cases, out / "worker", case_timeout=120)


@pytest.fixture(scope="session")
def job_security_keras3(jobs, lambda_files, tf_lambda_file, workdir):
    return jobs.submit("security_keras3", _security_job("keras3", lambda_files, tf_lambda_file, workdir))


@pytest.fixture(scope="session")
def job_security_tf_keras(jobs, lambda_files, tf_lambda_file, workdir):
    return jobs.submit("security_tf_keras", _security_job("tf_keras", lambda_files, tf_lambda_file, workdir))


CUSTOM_FILES = ("scale_keras3_keras", "scale_keras3_h5", "scale_tf_keras_keras", "scale_tf_keras_h5")
IMPORT_CASES = {
    # case -> (file, --import values; a value ending in .py is a path to the module's file)
    "gain_by_module_name": ("gain_keras3_keras", ["tff_bad_gain"]),
    "bias_by_file_path": ("bias_tf_keras_h5", ["tff_bad_bias.py"]),
    "pair_repeated_name_and_path": ("pair_tf_keras_keras", ["tff_bad_shift", "tff_bad_tilt.py"]),
}


def _cli_variants(command, path, options):
    """The same command line with options after the sub-command, then before it."""
    return [[command, path, *options], [*options, command, path]]


def _import_options(values, modules_dir):
    options = []
    for value in values:
        options += ["--import", os.path.join(modules_dir, value) if value.endswith(".py") else value]
    return options


@pytest.fixture(scope="session")
def job_custom(jobs, custom_build, workdir):
    def run():
        built = custom_build()
        files, modules_dir = built["files"], built["modules_dir"]
        cases = []
        for name in CUSTOM_FILES:
            for entry in ("load_model", "convert_and_verify", "diagnose"):
                cases.append({"id": f"{entry}-{name}", "func": "custom_case",
                              "kwargs": {"entry": entry, "path": files[name]}})
            cases.append({"id": f"cli_diagnose-{name}", "func": "custom_case",
                          "kwargs": {"entry": "cli", "path": files[name],
                                     "argv": _cli_variants("diagnose", files[name], [])}})
        for case, (name, _) in IMPORT_CASES.items():
            cases.append({"id": f"without_import-{case}", "func": "custom_case",
                          "kwargs": {"entry": "cli", "path": files[name],
                                     "argv": _cli_variants("diagnose", files[name], [])}})
        for name in CUSTOM_FILES:
            cases.append({"id": f"custom_objects-{name}", "func": "custom_case",
                          "kwargs": {"entry": "load_model_custom_objects", "path": files[name],
                                     "unregistered_module": built["unregistered_module"]}})
        for case, (name, values) in IMPORT_CASES.items():  # last: each registers its layers in the worker
            options = _import_options(values, modules_dir)
            cases.append({"id": f"with_import-{case}", "func": "custom_case",
                          "kwargs": {"entry": "cli", "path": files[name],
                                     "argv": _cli_variants("diagnose", files[name], options)}})
        env = bad.subprocess_env(extra_paths=[modules_dir])  # module names resolve; the builder's do not
        return bad.run_isolated(cases, workdir / "custom" / "worker", case_timeout=120, env=env,
                                cwd=workdir / "custom")

    return jobs.submit("custom", run)


NONFINITE_VALUES = ("plus_inf", "minus_inf", "nan")


def _nonfinite_cases():
    cases = [{"id": f"check_representative_data-{value}", "func": "representative_nonfinite_case",
              "kwargs": {"entry": "check_representative_data", "value": value}} for value in NONFINITE_VALUES]
    return cases + [{"id": f"{entry}-{value}", "func": "representative_nonfinite_case",
                     "kwargs": {"entry": entry, "value": value}}
                    for entry in ("convert_and_verify", "convert", "auto_fix") for value in NONFINITE_VALUES]


ENDLESS_ENTRIES = ("convert_and_verify", "verify", "auto_fix", "representative_convert_and_verify",
                   "representative_check")


def _endless_cases():
    return [{"id": f"{entry}-{source}", "func": "endless_case", "kwargs": {"entry": entry, "source": source},
             "timeout": 120}
            for entry in ENDLESS_ENTRIES for source in ("generator", "dataset_repeat")]


@pytest.fixture(scope="session")
def job_endless(jobs, workdir):
    """Endless inputs: read forever before the fix, 10,000 samples (2,000 for calibration) after it."""
    cases = _endless_cases()
    return jobs.submit("endless", lambda: bad.run_isolated(cases, workdir / "endless", case_timeout=120,
                                                           rss_limit_mb=3000))


@pytest.fixture(scope="session")
def job_nonfinite(jobs, workdir):
    """Calibration data with +-inf (TF's quantizer segfaults on it) or NaN."""
    cases = _nonfinite_cases()
    return jobs.submit("nonfinite", lambda: bad.run_isolated(cases, workdir / "nonfinite", case_timeout=120))


def _cli_error_cases(files, lambda_files, workdir):
    """case -> (command line variants, flags the message must mention, other patterns)."""
    data = workdir / "cli_data"
    data.mkdir(parents=True, exist_ok=True)
    np.save(data / "wrong_shape.npy", np.zeros((10, 7), np.float32))
    np.save(data / "good.npy", (np.random.default_rng(0).normal(size=(150, 8)) * 0.5).astype(np.float32))
    (data / "notes.txt").write_text("not an array\n")
    good, out = files["real_keras3_keras"], str(data / "out.tflite")
    missing = str(data / "absent_samples.npy")
    convert = ["convert", good, "-o", out]
    int8 = [*convert, "--quantize", "int8"]
    name = re.escape
    return {
        "corrupt_keras_file_diagnose": ([["diagnose", files["keras_random_bytes"]]], [],
                                        [name(os.path.basename(files["keras_random_bytes"]))]),
        "corrupt_h5_file_convert": ([["convert", files["h5_truncated_keras3"], "-o", out]], [],
                                    [name(os.path.basename(files["h5_truncated_keras3"]))]),
        "nonexistent_model_diagnose": ([["diagnose", files["nonexistent_path"]]], [],
                                       [name(os.path.basename(files["nonexistent_path"]))]),
        "nonexistent_model_convert": ([["convert", files["nonexistent_path"], "-o", out]], [],
                                      [name(os.path.basename(files["nonexistent_path"]))]),
        "directory_without_saved_model_pb": ([["convert", files["dir_without_saved_model_pb"], "-o", out]], [],
                                             [r"saved_model\.pb"]),
        "samples_file_missing": ([[*convert, "--samples", missing]], ["--samples"], [r"absent_samples\.npy"]),
        "samples_wrong_shape": ([[*convert, "--samples", str(data / "wrong_shape.npy")]], ["--samples"],
                                [r"(?i)shape"]),
        "samples_not_a_npy_file": ([[*convert, "--samples", str(data / "notes.txt")]], ["--samples"], []),
        "calibration_file_missing": ([[*int8, "--calibration", missing]], ["--calibration"],
                                     [r"absent_samples\.npy"]),
        "calibration_wrong_shape": ([[*int8, "--calibration", str(data / "wrong_shape.npy")]], ["--calibration"],
                                    [r"(?i)shape"]),
        "int8_without_calibration": ([int8], ["--calibration"], []),
        "input_shape_not_a_number": ([[*convert, "--input-shape", "features=1,x"]], ["--input-shape"], []),
        "input_shape_without_name": ([[*convert, "--input-shape", "1,8"]], ["--input-shape"], []),
        "input_shape_empty_name": ([[*convert, "--input-shape", "=1,8"]], ["--input-shape"], []),
        "input_shape_negative_dim": ([[*convert, "--input-shape", "features=-1,8"]], ["--input-shape"], []),
        "input_shape_unknown_input": ([[*convert, "--input-shape", "nope=1,8"]], ["--input-shape"], [r"\bnope\b"]),
        "input_shape_wrong_rank": ([[*convert, "--input-shape", "features=1,8,3"]], ["--input-shape"], []),
        "import_missing_module": (_cli_variants("diagnose", good, ["--import", "tff_bad_no_such_module"]),
                                  ["--import"], [r"tff_bad_no_such_module"]),
        "import_missing_file": (_cli_variants("diagnose", good, ["--import", str(data / "absent_module.py")]),
                                ["--import"], [r"absent_module\.py"]),
        "unsafe_lambda_file": ([["diagnose", lambda_files["keras3_top_keras"]["path"]]],
                               ["--unsafe-deserialization"], []),
    }


@pytest.fixture(scope="session")
def cli_error_cases(model_files, lambda_files, workdir):
    return _cli_error_cases(model_files, lambda_files, workdir)


@pytest.fixture(scope="session")
def job_fast(jobs, cli_error_cases, workdir, pinned_tflite, model_files):
    """Bad .tflite bytes (LiteRT is C++) and the command line's error cases, in one worker."""
    cases = _tflite_cases(workdir, pinned_tflite, model_files["real_keras3_keras"])
    cases += [{"id": f"feed-{kind}", "func": "litert_feed_case", "kwargs": {"kind": kind, "real_path": pinned_tflite}}
              for kind in bad.LITERT_FEED_KINDS]
    cases += [{"id": f"cli-{case}", "func": "cli_case", "kwargs": {"variants": variants}}
              for case, (variants, _, _) in cli_error_cases.items()]
    return jobs.submit("fast", lambda: bad.run_isolated(cases, workdir / "fast", case_timeout=120))


HELP_WRAPPER = r'''
import runpy, sys
sys.argv = ["python -m tflite_fixups", "--help"]
code = 0
try:
    runpy.run_module("tflite_fixups", run_name="__main__", alter_sys=True)
except SystemExit as exit_:
    code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
heavy = sorted(name for name in ("tensorflow", "keras", "tf_keras", "ai_edge_litert") if name in sys.modules)
print("@@IMPORTED " + ",".join(heavy))
sys.exit(code)
'''


@pytest.fixture(scope="session")
def job_cli_real(jobs, model_files, workdir):
    """Real ``python -m tflite_fixups`` processes, for what only a fresh process shows."""
    cwd = workdir / "cli_real"
    cwd.mkdir(parents=True, exist_ok=True)
    main = [sys.executable, "-m", "tflite_fixups"]
    corrupt = model_files["keras_random_bytes"]
    # tf-keras's own .h5 loader ignores safe_mode; a file of its own, so no other worker touches its marker
    entry = bad.build_lambda_file(cwd, "tf_keras", "top", "h5", "real_cli_tf_keras_top_h5")

    def run():
        found = {
            "help": bad.run_command([sys.executable, "-c", HELP_WRAPPER], cwd=cwd),
            "version": bad.run_command([*main, "--version"], cwd=cwd),
            "corrupt_model": bad.run_command([*main, "diagnose", corrupt], cwd=cwd),
        }
        debug = bad.run_command([*main, "diagnose", corrupt, "--debug"], cwd=cwd)
        if debug.get("exit") == 2 and "unrecognized arguments" in debug.get("stderr", ""):
            debug = bad.run_command([*main, "--debug", "diagnose", corrupt], cwd=cwd)
        found["debug"] = debug
        found["unsafe_tf_keras_h5_diagnose"] = {**bad.run_command([*main, "diagnose", entry["path"]], cwd=cwd),
                                                "marker": os.path.exists(entry["marker"])}
        return found

    return jobs.submit("cli_real", run)


# ================================================================================================
# 2. Hostile Keras files (worker outcomes)
# ================================================================================================


@pytest.mark.parametrize("name", LAMBDA_FILES)
@pytest.mark.parametrize("entry", SECURITY_REFUSALS)
def test_unsafe_file_is_refused_before_its_code_runs(entry, name, job_security_keras3, job_security_tf_keras, jobs):
    flavour = "keras3" if name.startswith("keras3") else "tf_keras"
    outcome = jobs.result(f"security_{flavour}")[f"{entry}-{name}"]
    if entry.startswith("cli"):
        check_cli_error(outcome, ["--unsafe-deserialization"])
    else:
        check_worker_raised(outcome, UnsafeModelError, [r"safe_mode=False", r"(?i)trust"])
    assert outcome["marker"] is False, "the file's Lambda code RAN (its marker file was written)"


@pytest.mark.parametrize("name", LAMBDA_FILES)
@pytest.mark.parametrize("entry", SECURITY_TRUSTED)
def test_unsafe_file_loads_when_trusted(entry, name, job_security_keras3, job_security_tf_keras, jobs):
    flavour = "keras3" if name.startswith("keras3") else "tf_keras"
    outcome = jobs.result(f"security_{flavour}")[f"{entry}-{name}"]
    if entry.startswith("cli"):
        check_cli_ok(outcome)
    else:
        check_worker_returned(outcome)
    assert outcome["marker"] is True, "the trusted file's Lambda never ran"


@pytest.mark.parametrize("entry", ["load_model_and_convert", "cli_convert_unsafe"])
def test_keras3_lambda_using_tf_loads_and_converts_when_trusted(entry, job_security_keras3, jobs):
    outcome = jobs.result("security_keras3")[f"tf_lambda-{entry}"]
    if entry.startswith("cli"):
        check_cli_ok(outcome)
        assert outcome["written"], "no .tflite was written"
    else:
        check_worker_returned(outcome)
        assert "'ok': True" in outcome["returned"]["repr"], outcome["returned"]["repr"]


@pytest.mark.parametrize("name", CUSTOM_FILES)
@pytest.mark.parametrize("entry", ["load_model", "convert_and_verify", "diagnose", "cli_diagnose"])
def test_custom_layer_not_registered(entry, name, job_custom, jobs):
    outcome = jobs.result("custom")[f"{entry}-{name}"]
    if entry.startswith("cli"):
        check_cli_error(outcome, ["--import"])
    else:
        check_worker_raised(outcome, InvalidModelError, [r"custom_objects", r"\bScale\b"])


@pytest.mark.parametrize("name", CUSTOM_FILES)
def test_custom_objects_are_passed_through(name, job_custom, jobs):
    check_worker_returned(jobs.result("custom")[f"custom_objects-{name}"])


@pytest.mark.parametrize("case", list(IMPORT_CASES))
@pytest.mark.parametrize("given", ["without_import", "with_import"])
def test_cli_import_option(given, case, job_custom, jobs):
    outcome = jobs.result("custom")[f"{given}-{case}"]
    if given == "without_import":
        check_cli_error(outcome, ["--import"])
    else:
        check_cli_ok(outcome)


# ================================================================================================
# 3. The .tflite argument (worker outcomes)
# ================================================================================================


@pytest.mark.parametrize("kind", bad.TFLITE_BYTE_KINDS + bad.TFLITE_PATH_KINDS)
@pytest.mark.parametrize("entry", TFLITE_ENTRY_POINTS)
def test_bad_tflite(entry, kind, job_fast, jobs):
    outcome = jobs.result("fast")[f"{entry}-{kind}"]
    path = outcome.get("path")
    patterns = [TFLITE_PATTERN]
    if path:
        patterns.append(re.escape(os.path.basename(path)))
    if kind == "nonexistent_path":
        patterns.append(NOT_FOUND)
    if kind == "truncated_file_path":
        patterns.append(PROBLEM)
    check_worker_raised(outcome, ModelFileError, patterns, path=path)


@pytest.mark.parametrize("kind", bad.TFLITE_TYPE_KINDS)
@pytest.mark.parametrize("entry", TFLITE_ENTRY_POINTS)
def test_bad_tflite_type(entry, kind, job_fast, jobs):
    expected = r"(?i)bytes|path|\.tflite|ConversionResult" if entry == "pad_or_truncate" else r"(?i)bytes|path"
    check_worker_raised(jobs.result("fast")[f"{entry}-{kind}"], InvalidInputError, [expected])


LITERT_FEED_PATTERNS = {
    "string_values": [r"\bseq\b", r"(?i)str|text|numeric|number|float32"],
    "object_values": [r"\bseq\b", r"(?i)object|numeric|number|float32"],
    "complex_values": [r"\bseq\b", r"(?i)complex"],
    "wrong_rank": [r"\bseq\b", r"(?i)rank|shape"],
    "static_axis_mismatch": [r"\bseq\b", r"(?i)shape", r"\b6\b"],
    "unknown_input_name": [r"\bseq\b"],
    "list_instead_of_dict": [r"\bseq\b", r"(?i)dict"],
}


@pytest.mark.parametrize("kind", bad.LITERT_FEED_KINDS)
def test_litert_runner_feed(kind, job_fast, jobs):
    """Not in the brief's list: malformed data given to LiteRTRunner.run (the model is pinned to (1, 6, 4))."""
    check_worker_raised(jobs.result("fast")[f"feed-{kind}"], InvalidInputError, LITERT_FEED_PATTERNS[kind])


# ================================================================================================
# 5. Endless inputs (worker outcomes)
# ================================================================================================


@pytest.mark.slow
@pytest.mark.parametrize("source", ["generator", "dataset_repeat"])
@pytest.mark.parametrize("entry", ENDLESS_ENTRIES)
def test_endless_input_is_read_up_to_a_cap(entry, source, job_endless, jobs):
    outcome = jobs.result("endless")[f"{entry}-{source}"]
    check_worker_returned(outcome)
    constant = ("tflite_fixups.quantization.representative.MAX_SAMPLES" if entry.startswith("representative")
                else "tflite_fixups.verification.samples.MAX_SAMPLE_INPUTS")
    cap = outcome["cap"]
    assert cap, f"no documented cap: {constant} is missing"
    slack = 1 if source == "generator" else 64
    assert outcome["count"] <= cap + slack, f"read {outcome['count']} items, more than the cap {cap}"
    told = [line for line in outcome["said"]
            if re.search(rf"\b({cap}|{cap:,})\b", line)
            and re.search(r"(?i)cut|limit|\bcap\b|first|at most|truncat|stopp", line)]
    assert told, f"no warning or note says the input was cut at {cap}: {outcome['said']}"


# ================================================================================================
# 9. Non-finite calibration data (worker outcomes: TF's quantizer crashes on inf)
# ================================================================================================


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("entry", ["convert_and_verify", "convert", "auto_fix"])
def test_representative_data_with_non_finite_values(entry, value, job_nonfinite, jobs):
    outcome = jobs.result("nonfinite")[f"{entry}-{value}"]
    check_worker_raised(outcome, InvalidInputError,
                        [r"(?i)non-?finite|not finite", r"features", r"(?i)\b(sample|index)\W{0,3}#?3\b"])
    assert outcome["data_unchanged"], "the user's calibration array was modified"


@pytest.mark.parametrize("value", NONFINITE_VALUES)
def test_check_representative_data_reports_non_finite_values(value, job_nonfinite, jobs):
    outcome = jobs.result("nonfinite")[f"check_representative_data-{value}"]
    check_worker_returned(outcome)
    warnings = "\n".join(outcome["warnings"])
    assert re.search(r"(?i)non-?finite|not finite|infinit|\bnan\b|\binf\b", warnings), (
        f"the report's warnings do not mention the non-finite values: {bad.head(warnings, 600)}")
    assert outcome["data_unchanged"], "the user's calibration array was modified"


# ================================================================================================
# 11. The command line
# ================================================================================================


CLI_ERROR_CASES = ("corrupt_keras_file_diagnose", "corrupt_h5_file_convert", "nonexistent_model_diagnose",
                   "nonexistent_model_convert", "directory_without_saved_model_pb", "samples_file_missing",
                   "samples_wrong_shape", "samples_not_a_npy_file", "calibration_file_missing",
                   "calibration_wrong_shape", "int8_without_calibration", "input_shape_not_a_number",
                   "input_shape_without_name", "input_shape_empty_name", "input_shape_negative_dim",
                   "input_shape_unknown_input", "input_shape_wrong_rank", "import_missing_module",
                   "import_missing_file", "unsafe_lambda_file")


@pytest.mark.parametrize("case", CLI_ERROR_CASES)
def test_cli_error(case, cli_error_cases, job_fast, jobs):
    _, flags, patterns = cli_error_cases[case]
    check_cli_error(jobs.result("fast")[f"cli-{case}"], flags, also=patterns)


def test_cli_help_lists_the_exit_codes(job_cli_real, jobs):
    outcome = jobs.result("cli_real")["help"]
    assert outcome["status"] == "done" and outcome["exit"] == 0, bad.describe_outcome(outcome)
    text = outcome["stdout"]
    assert re.search(r"(?is)exit.*\b0\b.*\b1\b.*\b2\b", text), f"--help does not list the exit codes: {text[-1500:]}"


def test_cli_help_does_not_import_tensorflow(job_cli_real, jobs):
    outcome = jobs.result("cli_real")["help"]
    assert outcome["status"] == "done", bad.describe_outcome(outcome)
    imported = [line for line in outcome["stdout"].splitlines() if line.startswith("@@IMPORTED")]
    assert imported and "tensorflow" not in imported[-1], f"--help imported {imported}"


def test_cli_version(job_cli_real, jobs):
    outcome = jobs.result("cli_real")["version"]
    assert outcome["status"] == "done" and outcome["exit"] == 0, bad.describe_outcome(outcome)
    assert tff.__version__ in outcome["stdout"] + outcome["stderr"]


@pytest.mark.parametrize("case", ["corrupt_model", "unsafe_tf_keras_h5_diagnose"])
def test_cli_real_process_fails_cleanly(case, job_cli_real, jobs):
    outcome = jobs.result("cli_real")[case]
    check_cli_error(outcome, ["--unsafe-deserialization"] if case.startswith("unsafe") else [])
    if case.startswith("unsafe"):
        assert outcome["marker"] is False, "the file's Lambda code RAN (its marker file was written)"


def test_cli_debug_shows_the_traceback(job_cli_real, jobs):
    outcome = jobs.result("cli_real")["debug"]
    assert outcome["status"] == "done", bad.describe_outcome(outcome)
    assert outcome["exit"] != 0 and "Traceback" in outcome["stderr"], (
        f"exit {outcome['exit']}; stderr: {bad.head(outcome['stderr'][-1500:], 900)}")
