"""Real-model corpus: public architectures (random weights) through convert_and_verify / auto_fix, against the bare converter.

Every entry of ``benchmarks/corpus`` (keras.applications, tf_keras.applications, keras-hub
backbones in tiny configurations, RNN text models, a detector with NMS, audio front-ends,
multi-input models) is built, converted with the call a user would make (``tff.convert_and_verify``
or ``tff.auto_fix``, with the entry's ``input_specs``) on realistic samples, and checked: builtin
ops only (no Flex ops) and verified within tolerance. The bare converter converts the same model
at the same input shapes (tf-keras with static shapes: ``from_keras_model``; otherwise a traced
function with its variables frozen, ``from_concrete_functions``); its .tflite is run on LiteRT
against the model first, and its time is used only when its outputs are right. Times: our whole
call (conversion, passes and verification on the samples) and the bare ``convert()``.

Entries run one after another in a worker subprocess; one that crashes or exceeds its timeout is
recorded as such and the worker restarts with the next entry.

    python benchmarks/bench_corpus.py                  # the development corpus (about 10 minutes on 2 cores)
    python benchmarks/bench_corpus.py --held-out       # the held-out list (measure only)
    python benchmarks/bench_corpus.py --all            # both
    python benchmarks/bench_corpus.py --only hub_bert,k3_efficientnet_b0   # named entries, from either list
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Figure, publish  # noqa: E402
from corpus import DEVELOPMENT, HELD_OUT, by_name  # noqa: E402  (imports no TensorFlow)

ERROR_LINES = 3  # lines of an error message kept in the table
BARE_ATOL = BARE_RTOL = 1e-4


# --- the worker: one entry at a time, in a subprocess -----------------------------------------------

def first_lines(text: str, lines: int = ERROR_LINES) -> str:
    kept = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return " / ".join(kept[:lines])[:600]


def is_keras_model(model: Any) -> bool:
    return hasattr(model, "inputs") and hasattr(model, "layers")


def reference_outputs(model: Any, sample: Any) -> List[Any]:
    """The model's own outputs on one sample, flattened (dicts in key order)."""
    import numpy as np
    import tensorflow as tf

    if is_keras_model(model):
        out = model(sample, training=False)
    else:
        out = model(sample)
    return [np.asarray(value) for value in tf.nest.flatten(out)]


def _sample_specs(sample: Any):
    import tensorflow as tf

    if isinstance(sample, dict):
        return {name: tf.TensorSpec(value.shape, tf.as_dtype(value.dtype), name=name) for name, value in sample.items()}
    return tf.TensorSpec(sample.shape, tf.as_dtype(sample.dtype), name="input")


def bare_convert(entry, model: Any, sample: Any):
    """The converter used directly, builtin ops only: (tflite bytes, route, seconds). Raises what it raises."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from tflite_fixups._quiet import quiet_tensorflow

    start = time.perf_counter()
    static = is_keras_model(model) and all(None not in tuple(t.shape)[1:] for t in model.inputs)
    with quiet_tensorflow():
        if entry.flavour == "tf_keras" and static:
            route = "from_keras_model"
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        else:
            route = "from_concrete_functions (frozen)"
            if is_keras_model(model):
                function = tf.function(lambda x: model(x, training=False), input_signature=[_sample_specs(sample)])
                concrete = function.get_concrete_function()
            else:  # a tf.function with its own input signature
                concrete = model.get_concrete_function()
            converter = tf.lite.TFLiteConverter.from_concrete_functions([convert_variables_to_constants_v2(concrete)])
        tflite = converter.convert()
    return tflite, route, time.perf_counter() - start


def run_tflite(tflite: bytes, sample: Any) -> List[Any]:
    """Run .tflite bytes on one sample with LiteRT; inputs matched by name (in order when there is one)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    details = interpreter.get_input_details()
    values = sample if isinstance(sample, dict) else {"input": sample}
    chosen = {}
    for detail in details:
        if len(details) == 1 and len(values) == 1:
            chosen[detail["index"]] = next(iter(values.values()))
            continue
        matches = [name for name in values if name in detail["name"]]
        if not matches:
            raise RuntimeError(f"cannot match .tflite input {detail['name']!r} to a sample input {sorted(values)}")
        chosen[detail["index"]] = values[max(matches, key=len)]
    for detail in details:
        if tuple(detail["shape"]) != chosen[detail["index"]].shape:
            interpreter.resize_tensor_input(detail["index"], chosen[detail["index"]].shape)
    interpreter.allocate_tensors()
    for detail in details:
        interpreter.set_tensor(detail["index"], chosen[detail["index"]].astype(detail["dtype"]))
    interpreter.invoke()
    return [np.asarray(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()]


def match_error(reference: List[Any], produced: List[Any]) -> float:
    """Largest relative-to-tolerance error after pairing each reference output with a .tflite output of its shape."""
    import numpy as np

    if len(reference) != len(produced):
        raise RuntimeError(f"{len(produced)} outputs from the .tflite, {len(reference)} from the model")
    left, worst = list(produced), 0.0
    for ref in reference:
        candidates = [p for p in left if p.shape == ref.shape]
        if not candidates:
            raise RuntimeError(f"no .tflite output of shape {ref.shape} (have {[p.shape for p in left]})")
        errors = [float(np.max(np.abs(p.astype(np.float64) - ref.astype(np.float64)), initial=0.0)) for p in candidates]
        best = int(np.argmin(errors))
        worst = max(worst, errors[best])
        del left[next(i for i, p in enumerate(left) if p is candidates[best])]  # by identity: == compares arrays
    return worst


def bare_check(entry, model: Any, samples: List[Any], atol: float) -> Dict[str, Any]:
    """Convert with the bare converter, then check its .tflite on LiteRT against the model on every sample."""
    import numpy as np

    try:
        tflite, route, seconds = bare_convert(entry, model, samples[0])
    except Exception as error:  # noqa: BLE001 - the bare route failing is a finding, not a crash
        return {"bare_status": "convert failed", "bare_error": first_lines(f"{type(error).__name__}: {error}")}
    try:
        worst, bound = 0.0, False
        for sample in samples:
            reference = reference_outputs(model, sample)
            worst = max(worst, match_error(reference, run_tflite(tflite, sample)))
            scale = max(float(np.max(np.abs(r.astype(np.float64)), initial=0.0)) for r in reference)
            bound = bound or worst > atol + BARE_RTOL * scale or not np.isfinite(worst)
    except Exception as error:  # noqa: BLE001
        return {"bare_status": "run failed", "bare_route": route,
                "bare_error": first_lines(f"{type(error).__name__}: {error}")}
    status = "wrong outputs" if bound else "ok"
    return {"bare_status": status, "bare_route": route, "bare_seconds": seconds, "bare_max_error": worst}


def why_not_ok(result) -> str:
    """The verification's reasons, from whichever of its fields say something (the report keeps growing)."""
    report = result.verification
    if report is None:
        return "no verification"
    if report.skipped:
        return str(report.skipped)
    reasons = []
    for name, output in report.outputs.items():
        if getattr(output, "ok", output.within_tolerance):
            continue
        verdict = getattr(output, "verdict", "")
        reasons.append(f"{name}: max abs {output.max_abs_error:.3g}" + (f" ({verdict})" if verdict else "")
                       + (f" [{output.problem}]" if output.problem else ""))
    reasons += [f"I/O by index: {problem}" for problem in getattr(report, "io_problems", [])]
    reasons += [f"sample failed: {failure}" for failure in getattr(report, "sample_failures", [])]
    if not reasons:
        lines = report.judgement_lines() if callable(getattr(report, "judgement_lines", None)) else []
        reasons = list(lines) + list(getattr(report, "warnings", []))
    return "; ".join(reasons) or "report.ok is False with no reason given"


def run_entry(entry, on_ours=None) -> Dict[str, Any]:
    """Build, run our call, run the bare converter; one record."""
    import tflite_fixups as tff

    record: Dict[str, Any] = {"name": entry.name}
    start = time.perf_counter()
    try:
        model = entry.build()
        samples = entry.samples()
    except Exception as error:  # noqa: BLE001
        record.update(status="build failed", error=first_lines(f"{type(error).__name__}: {error}"))
        return record
    record["build_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        result = entry.run(model, samples)
        record["seconds"] = time.perf_counter() - start
        record["converter_seconds"] = result.conversion_seconds
        flex = sorted(op for op in result.ops if op.startswith("Flex"))
        record["builtin_only"] = not flex
        record["ok"] = bool(result.ok)
        record["passes"] = [report.name for report in result.passes]
        outputs = result.verification.outputs.values() if result.verification is not None else []
        errors = [o.max_abs_error for o in outputs if o.max_abs_error is not None]
        record["max_error"] = float(max(errors)) if errors else None
        if flex:
            record["error"] = f"Flex ops: {', '.join(flex)}"
        elif not result.ok:
            record["error"] = first_lines("verification failed: " + why_not_ok(result))
        record["status"] = "ok" if record["ok"] and not flex else "failed"
    except tff.TfliteFixupsError as error:
        record.update(seconds=time.perf_counter() - start, status="failed", ok=False, builtin_only=False,
                      error=first_lines(f"{type(error).__name__}: {error}"))
    except Exception as error:  # noqa: BLE001 - should not happen: the public API wraps everything
        record.update(seconds=time.perf_counter() - start, status="failed", ok=False, builtin_only=False,
                      error=first_lines(f"(escaped the public API) {type(error).__name__}: {error}"))
        traceback.print_exc()
    if on_ours is not None:
        on_ours(record)  # kept if the bare converter then hangs past the entry's timeout
    record.update(bare_check(entry, model, samples, float(entry.options.get("atol", BARE_ATOL))))
    return record


def worker(names: List[str], results_path: str) -> None:
    """Run the named entries in order, appending a start line and a result line per entry to ``results_path``."""
    from tflite_fixups import set_progress
    from tflite_fixups._quiet import import_tensorflow

    import_tensorflow()
    set_progress(False)
    for name in names:
        with open(results_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"start": name, "time": time.time()}) + "\n")
        def partial(record):
            with open(results_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"partial": record}) + "\n")

        record = run_entry(by_name(name), partial)
        with open(results_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"result": record}) + "\n")
        print(f"[worker] {name}: {record.get('status')}", file=sys.stderr, flush=True)


# --- the parent: per-entry timeouts and restarts ------------------------------------------------------

def read_lines(path: str) -> List[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip().endswith("}")]
    except OSError:
        return []


def run_all_entries(names: List[str], python: str, log_path: str) -> Dict[str, Dict[str, Any]]:
    """Every entry in a worker; a hung or crashed entry is recorded and the worker restarts after it."""
    records: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tff-corpus-") as folder:
        results_path = os.path.join(folder, "results.jsonl")
        seen, partials = 0, {}
        while len(records) < len(names):
            remaining = [name for name in names if name not in records]
            with open(log_path, "a", encoding="utf-8") as log:
                process = subprocess.Popen([python, os.path.abspath(__file__), "--worker", ",".join(remaining),
                                            "--results", results_path], stdout=log, stderr=log,
                                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
                current, started = None, time.time()
                while True:
                    lines = read_lines(results_path)
                    for line in lines[seen:]:
                        if "start" in line:
                            current, started = line["start"], time.time()
                        elif "partial" in line:
                            partials[line["partial"]["name"]] = line["partial"]
                        else:
                            record = line["result"]
                            records[record["name"]] = record
                            report_progress(len(records), len(names), record)
                            current = None
                    seen = len(lines)
                    code = process.poll()
                    if code is not None:
                        if code != 0 and current is None and len(records) < len(names):
                            current = next(name for name in names if name not in records)  # died before starting
                        if current is not None and current not in records:
                            records[current] = {"name": current, "status": "crashed",
                                                "error": f"the worker died (exit code {code}); see {log_path}"}
                            report_progress(len(records), len(names), records[current])
                        break
                    if current is not None and time.time() - started > by_name(current).timeout:
                        process.kill()  # our own worker, by its handle
                        process.wait()
                        limit = by_name(current).timeout
                        if current in partials:  # ours finished; the bare converter did not
                            records[current] = dict(partials[current], bare_status="timed out",
                                                    bare_error=f"bare route unfinished after {limit:.0f} s")
                        else:
                            records[current] = {"name": current, "status": "timed out",
                                                "error": f"no result within {limit:.0f} s"}
                        report_progress(len(records), len(names), records[current])
                        break
                    time.sleep(0.2)
    return records


def report_progress(done: int, total: int, record: Dict[str, Any]) -> None:
    extra = f" ({record['seconds']:.1f} s)" if "seconds" in record else ""
    print(f"[{done}/{total}] {record['name']}: {record['status']}{extra}", file=sys.stderr, flush=True)


# --- the report --------------------------------------------------------------------------------------

def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def yes_no(value: Optional[bool]) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def outcome(record: Dict[str, Any]) -> str:
    return "ok" if record.get("status") == "ok" else "fail"


def bare_text(record: Dict[str, Any]) -> str:
    status = record.get("bare_status")
    if status is None:
        return "-"
    if status == "ok":
        return f"{record['bare_seconds']:.2f} s"
    if status == "wrong outputs":
        return f"wrong outputs (max err {record['bare_max_error']:.2g}), not timed"
    return f"{status}, not timed"


def table(title: str, entries, records: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    print(f"\n### {title}\n")
    print("| entry | source | flavour | call | builtin only | verified | max abs err | ours | (converter) | bare "
          "convert | ratio | expected | error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios, passed, unexpected, bare_bad = [], 0, [], []
    for entry in entries:
        record = records[entry.name]
        ok = record.get("status") == "ok"
        passed += ok
        ratio = "-"
        if record.get("bare_status") == "ok" and record.get("seconds") is not None and record.get("status") != "crashed":
            value = record["seconds"] / record["bare_seconds"]
            ratios.append(value)
            ratio = f"{value:.2f}x"
        if record.get("bare_status") not in (None, "ok"):
            bare_bad.append(entry.name)
        matches = outcome(record) == entry.expected
        if not matches:
            unexpected.append(entry.name)
        max_error = record.get("max_error")
        error = record.get("error", "")
        if record.get("bare_status") not in (None, "ok"):
            error = (error + " " if error else "") + f"[bare: {record.get('bare_error', record['bare_status'])}]"
        print("| " + " | ".join(cell(c) for c in [
            entry.name, entry.source, entry.flavour, entry.call + (" +specs" if entry.input_specs else ""),
            yes_no(record.get("builtin_only")), yes_no(record.get("ok")),
            "-" if max_error is None else f"{max_error:.2g}",
            f"{record['seconds']:.1f} s" if "seconds" in record else record.get("status", "-"),
            f"{record['converter_seconds']:.1f} s" if "converter_seconds" in record else "-",
            bare_text(record), ratio,
            entry.expected + ("" if matches else f" (got {outcome(record)})"), error]) + " |")
    total = len(entries)
    median = statistics.median(ratios) if ratios else None
    print(f"\n**{passed} of {total} convert builtin-only and verify.** Outcome as expected: "
          f"{total - len(unexpected)} of {total}" + (f" (not: {', '.join(unexpected)})" if unexpected else "") + ".")
    if ratios:
        print(f"Our whole call / the bare convert(), median over the {len(ratios)} entries where the bare route "
              f"converts correctly: {median:.2f}x (ours includes passes and verification on "
              f"the samples; the bare time is convert() alone).")
    if bare_bad:
        print(f"The bare converter fails or gives wrong outputs on {len(bare_bad)}: {', '.join(bare_bad)}.")
    return {"passed": passed, "total": total, "median_ratio": median, "unexpected": unexpected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", action="store_true", help="run the held-out list instead of the development one")
    parser.add_argument("--all", action="store_true", help="run both lists")
    parser.add_argument("--only", default="", help="comma-separated entry names (from either list)")
    parser.add_argument("--log", default=os.path.join(tempfile.gettempdir(), "tff_bench_corpus.log"),
                        help="where the workers' stdout/stderr go")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker.split(","), args.results)
        return

    if args.only:
        chosen = {"selected entries": [by_name(name.strip()) for name in args.only.split(",") if name.strip()]}
    elif args.all:
        chosen = {"development corpus": DEVELOPMENT, "held-out list": HELD_OUT}
    elif args.held_out:
        chosen = {"held-out list": HELD_OUT}
    else:
        chosen = {"development corpus": DEVELOPMENT}
    names = [entry.name for entries in chosen.values() for entry in entries]
    open(args.log, "w").close()
    start = time.perf_counter()
    records = run_all_entries(names, sys.executable, args.log)
    elapsed = time.perf_counter() - start

    machine = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                              "from _common import machine; print(machine())", os.path.dirname(__file__)],
                             capture_output=True, text=True).stdout.strip().splitlines()
    print(f"machine: {machine[-1] if machine else 'unknown'}; {len(names)} entries in {elapsed / 60:.1f} min. "
          "Random weights, tiny configurations; ours = the entry's call (convert_and_verify or auto_fix) end to end "
          "on its samples; bare = convert() alone, timed only when its .tflite matches the model on LiteRT.")
    figures = []
    for title, entries in chosen.items():
        summary = table(title, entries, records)
        figures.append(Figure("real-model corpus", f"{title}: convert builtin-only and verify",
                              f"{summary['passed']} of {summary['total']}"))
        if summary["median_ratio"] is not None:
            figures.append(Figure("real-model corpus", f"{title}: our call / bare convert(), median",
                                  f"{summary['median_ratio']:.2f}x"))
    publish(figures)


if __name__ == "__main__":
    main()
