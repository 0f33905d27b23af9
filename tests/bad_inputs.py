"""Bad inputs for tests/test_bad_inputs.py: damaged model files, bad .tflite bytes, hostile Keras files,
and a runner that executes cases in worker processes so a crash or a hang costs one case, not the suite.

Nothing here imports TensorFlow at import time: the worker processes import this module first.

The runner (:func:`run_isolated`) starts ``python -c "import bad_inputs; bad_inputs.worker_main(spec)"``,
which runs the cases listed in ``spec`` one after the other and reports each on a private pipe. When the
worker dies inside a case (SIGSEGV, ``os._exit``) the case is recorded as crashed; when a case runs past
its timeout or the worker's memory grows past a limit (an endless input being read into a list), the
worker is killed and the case recorded as hung. Either way a fresh worker carries on with the next case.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

#: Python argument names that must never appear in a command-line message (the CLI has its own flags).
PYTHON_ARGUMENT_NAMES = ("safe_mode=False", "input_specs", "sample_inputs", "representative_data", "custom_objects")
#: an infinite input that is read past this many items (times the library's cap, when it has one) is runaway
RUNAWAY_FACTOR = 20
RUNAWAY_WITHOUT_CAP = {"generator": 300_000, "dataset": 50_000}
RUNAWAY_EXIT_CODE = 97


# ================================================================================================
# Subprocesses
# ================================================================================================


def subprocess_env(extra_paths: Sequence[os.PathLike] = ()) -> Dict[str, str]:
    """The environment of every child: this checkout's tflite_fixups and tests first on the path, TF quiet."""
    env = dict(os.environ)
    paths = [str(REPO_DIR), str(TESTS_DIR), *(str(p) for p in extra_paths)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["TF_NUM_INTRAOP_THREADS"] = "1"
    env["TF_NUM_INTEROP_THREADS"] = "1"
    env["TFLITE_FIXUPS_PROGRESS"] = "0"
    env["PYTHONFAULTHANDLER"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("TF_USE_LEGACY_KERAS", None)
    return env


def run_command(argv: Sequence[str], *, cwd: os.PathLike, timeout: float = 300, env=None) -> Dict[str, Any]:
    """Run a command; exit code, stdout and stderr (a timeout is reported, not raised)."""
    start = time.monotonic()
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=env or subprocess_env())
    except subprocess.TimeoutExpired as error:
        return {"status": "hang", "seconds": time.monotonic() - start, "reason": f"timeout {timeout}s",
                "stdout": _text(error.stdout), "stderr": _text(error.stderr)}
    return {"status": "done", "exit": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "seconds": time.monotonic() - start}


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


WORKER_CODE = "import sys, bad_inputs; bad_inputs.worker_main(sys.argv[1])"
#: set to stop every run_isolated: its worker is killed and no new one starts (the rest become "worker_failed")
STOP = threading.Event()


def run_isolated(
    cases: Sequence[Dict[str, Any]],
    workdir: os.PathLike,
    *,
    case_timeout: float = 120.0,
    start_timeout: float = 300.0,
    rss_limit_mb: float = 3000.0,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[os.PathLike] = None,
) -> Dict[str, Dict[str, Any]]:
    """Run ``cases`` (``{"id", "func", "kwargs", "timeout"?}``) in worker processes; one outcome per id.

    An outcome is the case function's dict with ``status="done"``, or ``status`` ``"crashed"`` (the
    worker died in the case: ``returncode``, ``stderr_tail``), ``"hang"`` (killed after ``seconds``:
    ``reason``) or ``"worker_failed"`` (the worker died outside any case).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Dict[str, Any]] = {}
    remaining = list(cases)
    by_id = {case["id"]: case for case in cases}
    while remaining and not STOP.is_set():
        tag = uuid.uuid4().hex[:8]
        spec = workdir / f"spec_{tag}.json"
        spec.write_text(json.dumps({"cases": remaining}))
        err_path = workdir / f"worker_{tag}.stderr"
        with open(err_path, "w+b") as err:
            process = subprocess.Popen([sys.executable, "-c", WORKER_CODE, str(spec)], stdout=subprocess.PIPE,
                                       stderr=err, env=env or subprocess_env(), cwd=cwd or workdir)
            lines: "queue.Queue[Optional[str]]" = queue.Queue()

            def read(stream=process.stdout):
                for raw in stream:
                    lines.put(raw.decode("utf-8", "replace"))
                lines.put(None)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            current, since, killed, peak = None, time.monotonic(), None, 0.0
            while True:
                try:
                    line = lines.get(timeout=0.25)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line.startswith("@@START "):
                    current, since = json.loads(line[len("@@START "):]), time.monotonic()
                elif line.startswith("@@RESULT "):
                    record = json.loads(line[len("@@RESULT "):])
                    results[record["id"]] = {"status": "done", "seconds": time.monotonic() - since, **record["result"]}
                    current, since = None, time.monotonic()
                if killed is None:
                    limit = by_id[current].get("timeout", case_timeout) if current is not None else start_timeout
                    rss = _rss_mb(process.pid)
                    peak = max(peak, rss)
                    if STOP.is_set():
                        killed = "the test session ended"
                    elif time.monotonic() - since > limit:
                        killed = f"no result after {limit:.0f}s"
                    elif rss > rss_limit_mb:
                        killed = f"memory grew past {rss_limit_mb:.0f} MB"
                    if killed is not None:
                        process.kill()
            process.wait()
            reader.join(timeout=5)
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-6000:]
        elapsed = time.monotonic() - since
        if current is not None:
            if killed is not None:
                results[current] = {"status": "hang", "seconds": elapsed, "reason": killed, "rss_mb": peak,
                                    "stderr_tail": tail}
            else:
                results[current] = {"status": "crashed", "returncode": process.returncode, "seconds": elapsed,
                                    "stderr_tail": tail}
        remaining = [case for case in remaining if case["id"] not in results]
        if (current is None or STOP.is_set()) and remaining:  # died outside any case: do not loop forever
            for case in remaining:
                results[case["id"]] = {"status": "worker_failed", "returncode": process.returncode,
                                       "reason": killed, "stderr_tail": tail}
            remaining = []
    return results


def worker_main(spec_path: str) -> None:
    """Run the cases of a spec file, reporting each on the original stdout (stray output goes to stderr)."""
    spec = json.loads(Path(spec_path).read_text())
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    for case in spec["cases"]:
        protocol.write("@@START " + json.dumps(case["id"]) + "\n")
        protocol.flush()
        try:
            result = globals()[case["func"]](**case.get("kwargs", {}))
        except BaseException as error:  # a bug in the case itself, reported as such
            result = {"harness_error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-4000:]}
        protocol.write("@@RESULT " + json.dumps({"id": case["id"], "result": result}, default=str) + "\n")
        protocol.flush()
    protocol.close()


# ================================================================================================
# What happened: exceptions and return values as plain data
# ================================================================================================


def describe_exception(error: BaseException) -> Dict[str, Any]:
    cause = error.__cause__ or error.__context__
    return {
        "module": type(error).__module__,
        "name": type(error).__qualname__,
        "message": str(error)[:6000],
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__],
        "path": None if getattr(error, "path", None) is None else str(getattr(error, "path")),
        "rule": getattr(error, "rule", None),
        "op_type": getattr(error, "op_type", None),
        "node": getattr(error, "node", None),
        "cause": None if cause is None else f"{type(cause).__module__}.{type(cause).__name__}: {str(cause)[:300]}",
        "explicit_cause": error.__cause__ is not None,
        "notes": list(getattr(error, "__notes__", []) or []),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))[-3000:],
    }


def capture(function: Callable[[], Any]) -> Dict[str, Any]:
    """``{"raised": {...}}`` or ``{"returned": {...}}``."""
    try:
        value = function()
    except Exception as error:
        return {"raised": describe_exception(error)}
    return {"returned": {"type": type(value).__name__, "repr": repr(value)[:500]}}


def head(text: str, size: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 3] + "..."


def describe_outcome(outcome: Dict[str, Any]) -> str:
    """One line on what a worker case did, for failure messages."""
    status = outcome.get("status")
    if status == "crashed":
        code = outcome.get("returncode")
        how = f"killed by {signal.Signals(-code).name}" if isinstance(code, int) and code < 0 else f"exit code {code}"
        tail = outcome.get("stderr_tail", "")
        if code == RUNAWAY_EXIT_CODE or "RUNAWAY" in tail:
            return "kept reading an endless input: " + head(tail[tail.find("RUNAWAY"):], 200)
        return f"the process CRASHED ({how}); stderr tail: {head(tail[-600:], 400)}"
    if status == "hang":
        return f"HUNG: killed after {outcome.get('seconds', 0):.0f}s ({outcome.get('reason')})"
    if status == "worker_failed":
        tail = head(outcome.get("stderr_tail", "")[-800:], 500)
        return f"worker failed outside any case (exit {outcome.get('returncode')}): {tail}"
    if "harness_error" in outcome:
        return f"harness error: {outcome['harness_error']}\n{outcome.get('traceback', '')}"
    if "raised" in outcome:
        raised = outcome["raised"]
        return f"raised {raised['module']}.{raised['name']}: {head(raised['message'])}"
    if "returned" in outcome:
        return f"returned {outcome['returned'].get('type')} (no exception)"
    return head(json.dumps(outcome, default=str), 400)


# ================================================================================================
# Small models (both Keras flavours)
# ================================================================================================


def mlp(K):
    import helpers

    return helpers.mlp(K)


def seq_model(K):
    """Input (None, None, 4) named 'seq' -> average over time -> Dense(2): a dynamic length to pin."""
    K.utils.set_random_seed(0)
    inputs = K.Input((None, 4), name="seq")
    pooled = K.layers.GlobalAveragePooling1D(name="pool")(inputs)
    return K.Model(inputs, K.layers.Dense(2, name="scores")(pooled), name="seq_model")


def two_input_model(K):
    """A float input 'signal' (8,) and an int32 input 'ids' (5,) into Embedding(10, 4): dict inputs."""
    K.utils.set_random_seed(0)
    signal_in = K.Input((8,), name="signal")
    ids = K.Input((5,), dtype="int32", name="ids")
    embedded = K.layers.Flatten(name="flat")(K.layers.Embedding(10, 4, name="embed")(ids))
    joined = K.layers.Concatenate(name="join")([signal_in, embedded])
    return K.Model({"signal": signal_in, "ids": ids}, K.layers.Dense(3, name="scores")(joined), name="two_inputs")


def embedding_model(K):
    """Token ids (3,) into Embedding(10, 4): an id >= 10 makes TensorFlow raise on that sample."""
    K.utils.set_random_seed(0)
    tokens = K.Input((3,), dtype="int32", name="tokens")
    embedded = K.layers.Flatten(name="flat")(K.layers.Embedding(10, 4, name="embed")(tokens))
    return K.Model(tokens, K.layers.Dense(2, name="scores")(embedded), name="embedding_model")


def lstm_model(K):
    K.utils.set_random_seed(0)
    inputs = K.Input((None, 4), name="seq")
    return K.Model(inputs, K.layers.Dense(2, name="scores")(K.layers.LSTM(3, name="lstm")(inputs)), name="lstm_model")


# ================================================================================================
# Damaged model files
# ================================================================================================


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def random_bytes(size: int, seed: int) -> bytes:
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def truncated_copy(source: Path, target: Path, fraction: float) -> str:
    data = Path(source).read_bytes()
    return _write(target, data[: max(1, int(len(data) * fraction))])


def rezipped(source: Path, target: Path, *, drop=(), replace: Optional[Dict[str, bytes]] = None) -> str:
    """A copy of a .keras zip without the members in ``drop`` and with ``replace``'s members swapped in."""
    replace = replace or {}
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename in drop:
                continue
            new.writestr(item, replace.get(item.filename, old.read(item.filename)))
    return str(target)


def build_model_files(root: Path) -> Dict[str, str]:
    """Every damaged model file or directory by kind (``*_keras3`` / ``*_tf_keras`` where the writer matters)."""
    import keras
    import numpy as np
    import tensorflow as tf
    import tf_keras

    root = Path(root)
    real = root / "real"
    files: Dict[str, str] = {}
    files["nonexistent_path"] = str(root / "absent_model.keras")
    empty_dir = root / "empty_dir_model"
    empty_dir.mkdir(parents=True, exist_ok=True)
    (empty_dir / "notes.txt").write_text("not a SavedModel")
    files["dir_without_saved_model_pb"] = str(empty_dir)
    files["unknown_extension_onnx"] = _write(root / "model_file.onnx",
                                             b"\x08\x07\x12\x07pytorch" + random_bytes(200, 1))
    files["unknown_extension_txt"] = _write(root / "model_notes.txt", b"Dense(16) -> Dense(3)\n")
    files["keras_random_bytes"] = _write(root / "random_bytes.keras", random_bytes(3000, 2))
    files["keras_empty_file"] = _write(root / "empty_file.keras", b"")
    files["h5_random_bytes"] = _write(root / "random_bytes.h5", random_bytes(3000, 3))
    for flavour, K in (("keras3", keras), ("tf_keras", tf_keras)):
        model = mlp(K)
        real_keras, real_h5 = real / f"mlp_{flavour}.keras", real / f"mlp_{flavour}.h5"
        real.mkdir(parents=True, exist_ok=True)
        with _quiet_warnings():
            model.save(real_keras)
            model.save(real_h5)
        files[f"keras_truncated_zip_{flavour}"] = truncated_copy(real_keras, root / f"truncated_{flavour}.keras", 0.5)
        files[f"keras_zip_without_config_{flavour}"] = rezipped(
            real_keras, root / f"no_config_{flavour}.keras", drop=("config.json",))
        files[f"keras_config_not_json_{flavour}"] = rezipped(
            real_keras, root / f"config_not_json_{flavour}.keras",
            replace={"config.json": b"{'class_name': Functional,"})
        files[f"h5_truncated_{flavour}"] = truncated_copy(real_h5, root / f"truncated_{flavour}.h5", 0.5)
    # SavedModels: one written by tf.saved_model.save (a tf.Module with a variable), one by Keras 3's export
    module = tf.Module()
    module.scale = tf.Variable(np.ones((8, 3), np.float32))
    module.serve = tf.function(lambda features: {"scores": tf.matmul(features, module.scale)},
                               input_signature=[tf.TensorSpec((None, 8), tf.float32, name="features")])
    sources = {"tf_saved_model": real / "saved_model_tf", "keras_export": real / "saved_model_export"}
    tf.saved_model.save(module, str(sources["tf_saved_model"]), signatures=module.serve)
    with _quiet_stdout():
        mlp(keras).export(str(sources["keras_export"]))
    random_pb = Path(shutil.copytree(sources["tf_saved_model"], root / "sm_pb_random_bytes"))
    (random_pb / "saved_model.pb").write_bytes(random_bytes(4000, 4))
    files["saved_model_pb_random_bytes"] = str(random_pb)
    for origin, source in sources.items():
        truncated = Path(shutil.copytree(source, root / f"sm_pb_truncated_{origin}"))
        pb = (truncated / "saved_model.pb").read_bytes()
        (truncated / "saved_model.pb").write_bytes(pb[: len(pb) // 2])
        files[f"saved_model_pb_truncated_{origin}"] = str(truncated)
        no_variables = Path(shutil.copytree(source, root / f"sm_no_variables_{origin}"))
        shutil.rmtree(no_variables / "variables")
        files[f"saved_model_variables_deleted_{origin}"] = str(no_variables)
    files["tflite_path_as_model"] = str(root / "converted_model.tflite")  # written by the caller (needs a .tflite)
    return files


@contextlib.contextmanager
def _quiet_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _quiet_stdout():
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# ================================================================================================
# Hostile Keras files: a Lambda layer that writes a marker file when it runs
# ================================================================================================


def marker_lambda(marker: str):
    """``lambda t: (open(MARKER, "w").write("x"), t)[1]`` with the marker path baked into its bytecode."""
    return eval(f"lambda t: (open({str(marker)!r}, 'w').write('x'), t)[1]")  # noqa: S307 - the point of the test


def build_lambda_file(root: Path, flavour: str, placement: str, fmt: str, name: str) -> Dict[str, str]:
    """One model file whose Lambda layer (at the top, or nested in a sub-model) writes ``root/marker_<name>``."""
    import keras
    import tf_keras

    K = {"keras3": keras, "tf_keras": tf_keras}[flavour]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    marker = root / f"marker_{name}"
    code = marker_lambda(str(marker))
    x = K.Input((4,), name="x")
    if placement == "top":
        hidden = K.layers.Lambda(code, name="evil")(x)
    else:
        inner_in = K.Input((4,), name="inner_x")
        inner = K.Model(inner_in, K.layers.Lambda(code, name="evil")(inner_in), name="inner_block")
        hidden = inner(x)
    model = K.Model(x, K.layers.Dense(2, name="scores")(hidden), name=f"lambda_{placement}")
    path = root / f"{name}.{fmt}"
    with _quiet_warnings():
        model.save(path)
    if marker.exists():  # building the model ran the Lambda once, symbolically
        marker.unlink()
    return {"path": str(path), "marker": str(marker), "flavour": flavour}


def build_lambda_files(root: Path) -> Dict[str, Dict[str, str]]:
    """``{flavour}_{top|nested}_{keras|h5}`` -> {"path", "marker", "flavour"}."""
    return {
        f"{flavour}_{placement}_{fmt}": build_lambda_file(root, flavour, placement, fmt, f"{flavour}_{placement}_{fmt}")
        for flavour in ("keras3", "tf_keras") for placement in ("top", "nested") for fmt in ("keras", "h5")
    }


def build_tf_lambda_file(root: Path) -> str:
    """A Keras 3 ``.keras`` file whose Lambda uses ``tf`` (a NameError when Keras 3 rebuilds it by itself)."""
    import keras
    import tensorflow as tf  # noqa: F401 - the lambda's global

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    x = keras.Input((6,), name="x")
    code = eval("lambda t: tf.math.tanh(t) * 2.0", {"tf": tf})  # noqa: S307
    activated = keras.layers.Lambda(code, name="tf_lambda")(keras.layers.Dense(6, name="dense_in")(x))
    model = keras.Model(x, keras.layers.Dense(2, name="scores")(activated), name="tf_lambda_model")
    path = root / "tf_lambda_keras3.keras"
    model.save(path)
    return str(path)


# ================================================================================================
# Custom layer files (built in a worker process, so the test process registers nothing)
# ================================================================================================

#: layer definitions; ``REGISTER`` is replaced by a registration decorator or by nothing
_LAYER_SOURCE = '''
class {name}(BASE):
    def __init__(self, factor={factor}, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor + {offset}

    def get_config(self):
        return {{**super().get_config(), "factor": self.factor}}
'''


def layer_module_source(names: Sequence[str], *, register: bool, suffix: str = "") -> str:
    """Python source defining each layer for Keras 3 (``<Name>``) and tf-keras (``<Name>TfKeras``)."""
    lines = ["import keras", "import tf_keras", ""]
    for index, name in enumerate(names):
        for flavour, base in (("", "keras.layers.Layer"), ("TfKeras", "tf_keras.layers.Layer")):
            cls = name + flavour + suffix
            body = _LAYER_SOURCE.format(name=cls, factor=2.0 + index, offset=float(index)).replace("BASE", base)
            if register:
                decorator = "keras.saving.register_keras_serializable" if not flavour else \
                    "tf_keras.utils.register_keras_serializable"
                lines.append(f"@{decorator}(package='tffbad', name={name!r})")
            lines.append(body.strip("\n"))
            lines.append("")
        if not register:
            lines.append(f"{name}{suffix}.__name__ = {name}{suffix}.__qualname__ = {name!r}")
            lines.append(f"{name}TfKeras{suffix}.__name__ = {name}TfKeras{suffix}.__qualname__ = {name!r}")
    return "\n".join(lines) + "\n"


def write_import_modules(modules_dir: Path) -> Dict[str, str]:
    """The modules ``--import`` loads: each registers its layer under ``tffbad>Name`` in both Kerases."""
    modules_dir = Path(modules_dir)
    modules_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for module, layer in (("tff_bad_gain", "Gain"), ("tff_bad_bias", "Bias"), ("tff_bad_shift", "Shift"),
                          ("tff_bad_tilt", "Tilt")):
        path = modules_dir / f"{module}.py"
        path.write_text(layer_module_source([layer], register=True))
        written[module] = str(path)
    return written


def build_custom_files(builder_dir: str, out_dir: str) -> Dict[str, Any]:
    """(Worker case.) Save models with custom layers; the defining module is not importable afterwards.

    - ``scale_{flavour}_{keras|h5}``: an unregistered ``Scale`` layer (loads only with custom_objects);
    - ``gain_keras3_keras``, ``bias_tf_keras_h5``, ``pair_tf_keras_keras`` (Shift + Tilt): layers
      registered as ``tffbad>Name``, which the ``--import`` modules register again.
    """
    import importlib.util

    import keras
    import tf_keras

    builder_dir, out_dir = Path(builder_dir), Path(out_dir)
    builder_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    unregistered = builder_dir / "tff_bad_builder_unregistered.py"
    unregistered.write_text(layer_module_source(["Scale"], register=False))
    registered = builder_dir / "tff_bad_builder_registered.py"
    registered.write_text(layer_module_source(["Gain", "Bias", "Shift", "Tilt"], register=True))

    def load(path):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    plain, named = load(unregistered), load(registered)
    flavours = {"keras3": (keras, ""), "tf_keras": (tf_keras, "TfKeras")}

    def model_with(flavour, layer_names, module):
        K, suffix = flavours[flavour]
        K.utils.set_random_seed(0)
        x = K.Input((4,), name="x")
        hidden = x
        for layer_name in layer_names:
            hidden = getattr(module, layer_name + suffix)(name=layer_name.lower())(hidden)
        return K.Model(x, K.layers.Dense(2, name="scores")(hidden), name="custom_model")

    saved = {}
    with _quiet_warnings():
        for flavour in flavours:
            for fmt in ("keras", "h5"):
                path = out_dir / f"scale_{flavour}.{fmt}"
                model_with(flavour, ["Scale"], plain).save(path)
                saved[f"scale_{flavour}_{fmt}"] = str(path)
        for key, flavour, layers, fmt in (("gain_keras3_keras", "keras3", ["Gain"], "keras"),
                                          ("bias_tf_keras_h5", "tf_keras", ["Bias"], "h5"),
                                          ("pair_tf_keras_keras", "tf_keras", ["Shift", "Tilt"], "keras")):
            path = out_dir / f"{key}.{fmt}"
            model_with(flavour, layers, named).save(path)
            saved[key] = str(path)
    return {"files": saved, "unregistered_module": str(unregistered)}


# ================================================================================================
# Bad .tflite inputs
# ================================================================================================

TFLITE_BYTE_KINDS = (
    "empty_bytes", "first_4_bytes", "first_8_bytes", "first_16_bytes", "random_bytes", "random_bytes_with_tfl3_id",
    "truncated_10pct", "truncated_50pct", "truncated_90pct", "truncated_minus_1_byte",
    "bitflip_root_offset", "bitflip_identifier", "bitflip_root_vtable", "zip_header", "hdf5_header",
)
TFLITE_PATH_KINDS = ("nonexistent_path", "truncated_file_path", "keras_file_path")
TFLITE_TYPE_KINDS = ("int_42", "none", "list_of_ints")


def bad_tflite_bytes(kind: str, real: bytes) -> bytes:
    def flipped(position: int) -> bytes:
        data = bytearray(real)
        data[position] ^= 0xFF
        return bytes(data)

    if kind == "empty_bytes":
        return b""
    if kind.startswith("first_"):
        return real[: int(kind.split("_")[1])]
    if kind == "random_bytes":
        return random_bytes(4096, 11)
    if kind == "random_bytes_with_tfl3_id":
        data = bytearray(random_bytes(4096, 12))
        data[4:8] = b"TFL3"
        return bytes(data)
    if kind.startswith("truncated_") and kind.endswith("pct"):
        return real[: len(real) * int(kind[len("truncated_"):-3]) // 100]
    if kind == "truncated_minus_1_byte":
        return real[:-1]
    if kind == "bitflip_root_offset":
        return flipped(2)  # the root table offset becomes far larger than the file
    if kind == "bitflip_identifier":
        return flipped(5)
    if kind == "bitflip_root_vtable":
        root = int.from_bytes(real[:4], "little")
        return flipped(root + 1)  # the root table's vtable offset now points outside the file
    if kind == "zip_header":
        return b"PK\x03\x04" + random_bytes(2000, 13)
    if kind == "hdf5_header":
        return b"\x89HDF\r\n\x1a\n" + random_bytes(2000, 14)
    raise KeyError(kind)


def tflite_argument(kind: str, real_path: str, scratch: str, keras_path: str):
    """(argument, path or None) for a bad .tflite kind."""
    real = Path(real_path).read_bytes()
    if kind in TFLITE_BYTE_KINDS:
        return bad_tflite_bytes(kind, real), None
    if kind == "nonexistent_path":
        path = os.path.join(scratch, "absent_model.tflite")
        return path, path
    if kind == "truncated_file_path":
        path = os.path.join(scratch, "truncated_on_disk.tflite")
        Path(path).write_bytes(real[: len(real) // 2])
        return path, path
    if kind == "keras_file_path":
        return keras_path, keras_path
    return {"int_42": 42, "none": None, "list_of_ints": [1, 2, 3]}[kind], None


def tflite_case(entry: str, kind: str, real_path: str, scratch: str, keras_path: str) -> Dict[str, Any]:
    """(Worker case.) One bad .tflite argument given to one entry point."""
    import keras
    import numpy as np

    import tflite_fixups as tff

    os.makedirs(scratch, exist_ok=True)
    argument, path = tflite_argument(kind, real_path, scratch, keras_path)
    if entry == "verify":
        model = seq_model(keras)
        sample = np.zeros((1, 6, 4), np.float32)
        outcome = capture(lambda: tff.verify(model, argument, sample_inputs=sample,
                                             input_specs=(1, 6, 4)))
    elif entry == "LiteRTRunner":
        outcome = capture(lambda: tff.LiteRTRunner(argument))
    elif entry == "read_pinning":
        outcome = capture(lambda: tff.read_pinning(argument))
    elif entry == "pad_or_truncate":
        outcome = capture(lambda: tff.pad_or_truncate(np.zeros((3, 4), np.float32), argument))
    else:
        raise KeyError(entry)
    outcome["path"] = path
    return outcome


#: feeds for LiteRTRunner.run on the pinned 'seq' model (static (1, 6, 4)): kind -> (feed, patterns)
LITERT_FEED_KINDS = ("string_values", "object_values", "complex_values", "wrong_rank", "static_axis_mismatch",
                     "unknown_input_name", "list_instead_of_dict")


def litert_feed(kind: str):
    import numpy as np

    good = np.zeros((1, 6, 4), np.float32)
    return {
        "string_values": {"seq": np.full((1, 6, 4), "a")},
        "object_values": {"seq": np.array([object() for _ in range(24)], dtype=object).reshape(1, 6, 4)},
        "complex_values": {"seq": np.full((1, 6, 4), 1 + 2j, np.complex64)},
        "wrong_rank": {"seq": np.zeros((1, 1, 6, 4), np.float32)},
        "static_axis_mismatch": {"seq": np.zeros((1, 9, 4), np.float32)},
        "unknown_input_name": {"sequence": good},
        "list_instead_of_dict": [good],
    }[kind]


def litert_feed_case(kind: str, real_path: str) -> Dict[str, Any]:
    """(Worker case.) A malformed feed given to LiteRTRunner.run on a valid model."""
    import tflite_fixups as tff

    runner = tff.LiteRTRunner(Path(real_path).read_bytes())
    return capture(lambda: runner.run(litert_feed(kind)))


# ================================================================================================
# Worker cases: hostile files, custom layers, non-finite calibration data, endless inputs, the CLI
# ================================================================================================


def cli_run(argv: Sequence[str]) -> Dict[str, Any]:
    """``python -m tflite_fixups ARGV`` inside this process: exit code, stdout, stderr; an uncaught exception
    is printed as Python would print it (a traceback, exit code 1)."""
    import runpy

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["python -m tflite_fixups", *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_module("tflite_fixups", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exit_:
                if exit_.code is None or isinstance(exit_.code, int):
                    code = exit_.code or 0
                else:
                    print(exit_.code, file=sys.stderr)
                    code = 1
            except BaseException:
                sys.stderr.write(traceback.format_exc())
                code = 1
    finally:
        sys.argv = saved
    return {"exit": code, "stdout": out.getvalue()[-6000:], "stderr": err.getvalue()[-6000:]}


def _refused_by_argparse(outcome: Dict[str, Any]) -> bool:
    stderr = outcome["stderr"]
    return outcome["exit"] == 2 and ("unrecognized arguments" in stderr or "invalid choice" in stderr)


def cli_run_either(variants: Sequence[Sequence[str]]) -> Dict[str, Any]:
    """The first of several spellings of one command line that argparse accepts (an option may be defined on
    the sub-command or before it); the first spelling's outcome when argparse accepts none."""
    first: Dict[str, Any] = {}
    for argv in variants:
        outcome = {**cli_run(argv), "argv": list(argv)}
        first = first or outcome
        if not _refused_by_argparse(outcome):
            return outcome
    return first


def security_case(entry: str, path: str, marker: str, out_dir: str) -> Dict[str, Any]:
    """(Worker case.) A file with a marker-writing Lambda given to one entry point; did the marker appear?"""
    import tflite_fixups as tff

    if os.path.exists(marker):
        os.remove(marker)
    output = os.path.join(out_dir, f"{uuid.uuid4().hex[:6]}.tflite")
    calls = {
        "load_model": lambda: tff.load_model(path),
        "load_model_safe_mode_true": lambda: tff.load_model(path, safe_mode=True),
        "convert_and_verify": lambda: tff.convert_and_verify(path),
        "diagnose": lambda: tff.diagnose(path),
        "load_model_safe_mode_false": lambda: tff.load_model(path, safe_mode=False),
    }
    if entry in calls:
        outcome = capture(calls[entry])
    elif entry == "cli_diagnose":
        outcome = cli_run(["diagnose", path])
    elif entry == "cli_convert":
        outcome = cli_run(["convert", path, "-o", output])
    elif entry == "cli_diagnose_unsafe":
        outcome = cli_run(["diagnose", path, "--unsafe-deserialization"])
    else:
        raise KeyError(entry)
    outcome["marker"] = os.path.exists(marker)
    return outcome


def tf_lambda_case(entry: str, path: str, out_dir: str) -> Dict[str, Any]:
    """(Worker case.) The Keras 3 file whose Lambda uses ``tf``, loaded unsafely and converted."""
    import tflite_fixups as tff

    if entry == "load_model_and_convert":
        def run():
            loaded = tff.load_model(path, safe_mode=False)
            result = tff.convert_and_verify(loaded)
            return {"ok": result.ok, "warnings": result.warnings}

        outcome = capture(run)
        if "returned" in outcome:
            outcome["returned"]["repr"] = repr(run())
        return outcome
    if entry == "cli_convert_unsafe":
        output = os.path.join(out_dir, "tf_lambda.tflite")
        outcome = cli_run(["convert", path, "--unsafe-deserialization", "-o", output])
        outcome["written"] = os.path.exists(output)
        return outcome
    raise KeyError(entry)


def custom_case(entry: str, path: str, unregistered_module: str = "",
                argv: Sequence[Sequence[str]] = ()) -> Dict[str, Any]:
    """(Worker case.) A file with a custom layer: refused without its class, loaded with it."""
    import tflite_fixups as tff

    if entry == "load_model":
        return capture(lambda: tff.load_model(path))
    if entry == "convert_and_verify":
        return capture(lambda: tff.convert_and_verify(path))
    if entry == "diagnose":
        return capture(lambda: tff.diagnose(path))
    if entry == "load_model_custom_objects":
        import importlib.util

        spec = importlib.util.spec_from_file_location("scale_layers_given_by_hand", unregistered_module)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cls = module.Scale if "keras3" in os.path.basename(path) else module.ScaleTfKeras

        def run():
            loaded = tff.load_model(path, safe_mode=False, custom_objects={"Scale": cls})
            import numpy as np

            outputs = loaded.run({loaded.input_names[0]: np.ones((1, 4), np.float32)})
            return {name: np.asarray(value).tolist() for name, value in outputs.items()}

        return capture(run)
    if entry == "cli":
        return cli_run_either(argv)
    raise KeyError(entry)


def representative_nonfinite_case(entry: str, value: str) -> Dict[str, Any]:
    """(Worker case.) Calibration data whose sample 3 holds +inf, -inf or NaN (TF's quantizer crashes on inf)."""
    import keras
    import numpy as np

    import tflite_fixups as tff

    model = mlp(keras)
    data = (np.random.default_rng(0).normal(size=(20, 8)) * 0.5).astype(np.float32)
    data[3, 2] = {"plus_inf": np.inf, "minus_inf": -np.inf, "nan": np.nan}[value]
    before = data.copy()
    calls = {
        "convert_and_verify": lambda: tff.convert_and_verify(model, quantization="int8", representative_data=data),
        "convert": lambda: tff.convert(model, quantization="int8", representative_data=data),
        "auto_fix": lambda: tff.auto_fix(model, quantization="int8", representative_data=data),
    }
    if entry in calls:
        outcome = capture(calls[entry])
    elif entry == "check_representative_data":
        box = {}

        def run():
            report = tff.check_representative_data(model, data)
            box["warnings"] = list(report.warnings)
            return report

        outcome = capture(run)
        outcome["warnings"] = box.get("warnings", [])
    else:
        raise KeyError(entry)
    outcome["data_unchanged"] = bool(np.array_equal(before, data, equal_nan=True))
    return outcome


def _library_cap(module_name: str, attribute: str) -> Optional[int]:
    import importlib

    try:
        value = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def endless_case(entry: str, source: str) -> Dict[str, Any]:
    """(Worker case.) An infinite generator or ``tf.data`` ``.repeat()`` as samples or calibration data.

    Each item read is counted; past RUNAWAY_FACTOR x the library's cap (or RUNAWAY_WITHOUT_CAP when the
    library declares none) the process exits with RUNAWAY_EXIT_CODE, so an unbounded read ends quickly.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    import tflite_fixups as tff

    calibration = entry.startswith("representative")
    cap = (_library_cap("tflite_fixups.quantization.representative", "MAX_SAMPLES") if calibration
           else _library_cap("tflite_fixups.verification.samples", "MAX_SAMPLE_INPUTS"))
    guard = RUNAWAY_FACTOR * cap if cap else RUNAWAY_WITHOUT_CAP["generator" if source == "generator" else "dataset"]
    count = [0]

    def bump():
        count[0] += 1
        if count[0] > guard:
            sys.stderr.write(f"RUNAWAY: read {count[0]} items of an endless input without stopping "
                             f"(library cap: {cap})\n")
            sys.stderr.flush()
            os._exit(RUNAWAY_EXIT_CODE)

    sample = (np.random.default_rng(0).normal(size=(1, 8)) * 0.5).astype(np.float32)
    if source == "generator":
        def endless():
            while True:
                bump()
                yield sample

        data: Any = endless()
    else:
        def counted(t):
            bump()
            return t

        data = tf.data.Dataset.from_tensors(sample).map(
            lambda t: tf.ensure_shape(tf.py_function(counted, [t], tf.float32), (1, 8))).repeat()
        options = tf.data.Options()  # no read-ahead: the count is what the library pulled
        options.autotune.enabled = False
        options.experimental_optimization.inject_prefetch = False
        data = data.with_options(options)
    model = mlp(keras)
    said: List[str] = []  # warnings and notes only: what the user is told
    texts: List[str] = []

    def calibration_notes(result):
        calibration = getattr(getattr(result, "quantization", None), "calibration", None)
        return list(getattr(calibration, "notes", [])) + list(getattr(calibration, "warnings", []))

    def run():
        if entry in ("convert_and_verify", "auto_fix"):
            call = tff.convert_and_verify if entry == "convert_and_verify" else tff.auto_fix
            result = call(model, sample_inputs=data)
            said.extend(result.warnings + list(result.verification.notes))
            texts.append(str(result))
        elif entry == "verify":
            tflite = tff.convert(model).tflite_model
            report = tff.verify(model, tflite, sample_inputs=data)
            said.extend(report.notes)
            texts.append(str(report))
        elif entry == "representative_convert_and_verify":
            result = tff.convert_and_verify(model, quantization="int8", representative_data=data)
            said.extend(result.warnings + calibration_notes(result))
            texts.append(str(result))
        elif entry == "representative_check":
            report = tff.check_representative_data(model, data)
            said.extend(list(report.warnings) + list(report.notes))
            texts.append(str(report))
        else:
            raise KeyError(entry)

    outcome = capture(run)
    outcome.update(count=count[0], cap=cap, said=said[-50:], text="\n".join(texts)[-6000:])
    return outcome


def cli_case(variants: Sequence[Sequence[str]]) -> Dict[str, Any]:
    """(Worker case.) One command line (in the first spelling argparse accepts)."""
    return cli_run_either(variants)


def build_only(kind: str, **kwargs) -> Dict[str, Any]:
    """(Worker case.) Run a builder in the worker, e.g. the custom-layer files."""
    return {"built": {"custom": build_custom_files}[kind](**kwargs)}
