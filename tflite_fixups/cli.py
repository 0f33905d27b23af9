"""Command line: ``python -m tflite_fixups diagnose MODEL`` and ``python -m tflite_fixups convert MODEL -o out.tflite``.

Both print the same report the library returns. Exit codes: 0 when ``convert``
converted AND verification passed (``diagnose``: the report was printed); 1 when
the model converted but its outputs diverge or could not be verified; 2 when it
failed: a model that cannot be loaded or converted, or wrong arguments. Errors
print one ``error:`` line (``--debug`` adds the traceback). Model files load in
safe mode unless ``--unsafe-deserialization`` says the file is trusted.

This module imports TensorFlow only once a command runs, so ``--help`` and
``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import sys
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

EXIT_OK, EXIT_DIVERGES, EXIT_FAILED = 0, 1, 2

EXIT_CODES = """\
exit codes:
  0  converted and verified (diagnose: the report was printed)
  1  converted, but the outputs diverge from the original or could not be verified
  2  failed: the model could not be loaded or converted, or the arguments are wrong
"""


class UsageError(Exception):
    """A command-line argument that cannot be used (a missing --samples file, a bad --import)."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit code.

    Example:
        >>> main(["diagnose", "model.keras", "--no-progress"])   # doctest: +SKIP
        0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # every failure ends as one line (and exit code 2); --debug shows the traceback
        _report(error, debug=args.debug)
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    samples = _load_array(getattr(args, "samples", None), "--samples")
    calibration = _load_array(getattr(args, "calibration", None), "--calibration")
    specs = _input_shapes(args.input_shape)
    import tflite_fixups as tff
    from ._quiet import import_tensorflow

    import_tensorflow()  # here, quietly and before the user's modules (which may import it loudly); not for --help
    custom_objects = _import_modules(args.imports)
    if args.no_progress:
        tff.set_progress(False)
    loaded = tff.load_model(args.model, safe_mode=not args.unsafe_deserialization, custom_objects=custom_objects)
    model = loaded.source if loaded.kind in ("keras3", "tf_keras") else loaded  # Keras passes need the model
    if args.command == "diagnose":
        print(in_cli_terms(str(tff.diagnose(model, input_specs=specs))))
        return EXIT_OK
    options: Dict[str, Any] = dict(
        input_specs=specs, sample_inputs=samples, quantization=args.quantize, representative_data=calibration,
        allow_select_tf_ops=args.allow_select_tf_ops, atol=args.atol, rtol=args.rtol,
    )
    result = tff.auto_fix(model, **options) if args.auto_fix else tff.convert_and_verify(model, **options)
    print(in_cli_terms(str(result)))
    if args.output:
        print(f"wrote {result.save(args.output)}")
    return EXIT_OK if result.ok else EXIT_DIVERGES


def _report(error: BaseException, *, debug: bool) -> None:
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    from .errors import InternalError, TfliteFixupsError

    known = isinstance(error, (TfliteFixupsError, UsageError)) and not isinstance(error, InternalError)
    text = str(error) if known else f"{type(error).__name__}: {error}"
    print(f"error: {in_cli_terms(text)}", file=sys.stderr)
    for note in getattr(error, "__notes__", []):
        print(f"note: {in_cli_terms(note)}", file=sys.stderr)
    if not debug and not known:
        print("(an unexpected failure: run with --debug for the traceback, and please report it)", file=sys.stderr)


def _example_shape(match: "re.Match[str]") -> str:
    dims = ",".join(d.strip() for d in match.group(1).split(",") if d.strip())
    return f"--input-shape NAME={dims}"


#: How the library's messages name Python arguments, and what the same thing is on the command line.
_CLI_TERMS: List[Tuple[str, Any]] = [
    (r"safe_mode=False", "--unsafe-deserialization"),
    (r"Import the module that registers it \(([^)]*\))\) before loading, or pass it in custom_objects=\{[^}]*\}",
     r"Pass --import MODULE with a module that registers it (\1) or defines a dict CUSTOM_OBJECTS"),
    (r"custom_objects=\{[^}]*\}", "--import MODULE"),
    (r"\bcustom_objects\b", "--import MODULE"),
    (r"input_specs=\[?\(([^)]*)\)\]?", _example_shape),
    (r"\binput_specs\b", "--input-shape"),
    (r"\bsample_inputs\b", "--samples"),
    (r"\brepresentative_data\b", "--calibration"),
    (r"\bquantization=", "--quantize "),
    (r"allow_select_tf_ops=True", "--allow-select-tf-ops"),
    (r"tff\.passes\.replace_unsupported_ops\(\)", "--auto-fix"),
    (r"passes=\[tff\.passes\.pin_input_shapes\([^\]]*\]", "--auto-fix with --input-shape"),
    (r"\batol\b", "--atol"),
    (r"\brtol\b", "--rtol"),
]


def in_cli_terms(message: str) -> str:
    """A library message with Python arguments renamed to the command-line flags that set them.

    Example:
        >>> in_cli_terms("Pass safe_mode=False only if you trust the file")
        'Pass --unsafe-deserialization only if you trust the file'
    """
    for pattern, replacement in _CLI_TERMS:
        message = re.sub(pattern, replacement, message)
    return message


def _import_modules(names: Optional[List[str]]) -> Dict[str, Any]:
    """Import each ``--import`` module (a name or a .py path); collect the ``CUSTOM_OBJECTS`` dicts they define."""
    custom_objects: Dict[str, Any] = {}
    for name in names or []:
        try:
            module = _import_one(name)
        except UsageError:
            raise
        except BaseException as error:  # the module's own code failed (even sys.exit): say so, exit 2
            raise UsageError(f"--import {name}: importing it failed: {type(error).__name__}: {error}") from error
        found = getattr(module, "CUSTOM_OBJECTS", None)
        if found is not None:
            if not isinstance(found, dict):
                raise UsageError(f"--import {name}: its CUSTOM_OBJECTS must be a dict of names to classes or "
                                 f"functions, got {type(found).__name__}")
            custom_objects.update(found)
    return custom_objects


def _import_one(name: str):
    if name.endswith(".py") or os.sep in name:
        if not os.path.isfile(name):
            raise UsageError(f"--import {name}: no such file")
        module_name = os.path.splitext(os.path.basename(name))[0]
        spec = importlib.util.spec_from_file_location(module_name, name)
        if spec is None or spec.loader is None:
            raise UsageError(f"--import {name}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise UsageError(f"--import {name}: no module named '{error.name}' (give an importable module name or "
                         "the path of a .py file)") from error


def _load_array(path: Optional[str], flag: str):
    """A .npy array or a .npz dict of arrays (by input name), read without pickles."""
    if path is None:
        return None
    import numpy as np

    if not os.path.isfile(path):
        raise UsageError(f"{flag}: no such file '{path}' (expected a .npy array whose first axis is samples, or a "
                         ".npz of arrays named like the model's inputs)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as error:
        raise UsageError(f"{flag}: '{path}' is not a .npy/.npz file NumPy can read without pickles "
                         f"({type(error).__name__}: {error})") from error
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    return loaded


def _input_shapes(values: Optional[List[str]]) -> Optional[Dict[str, Tuple[Optional[int], ...]]]:
    """``["seq=1,50,32", "mask=1,None"]`` -> ``{"seq": (1, 50, 32), "mask": (1, None)}``."""
    if not values:
        return None
    shapes = {}
    for value in values:
        name, _, dims = value.partition("=")
        problem = f"--input-shape expects NAME=D1,D2,... such as seq=1,50,32 (None for a dynamic axis), got {value!r}"
        try:
            shape = tuple(None if d.strip().lower() in ("none", "?", "") else int(d) for d in dims.split(","))
        except ValueError:
            raise UsageError(problem) from None
        if not name or not dims or any(d is not None and d <= 0 for d in shape):
            raise UsageError(problem)
        shapes[name] = shape
    return shapes


def _version() -> str:
    from . import __version__

    return f"tflite_fixups {__version__}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tflite_fixups", description=__doc__.splitlines()[0], epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("diagnose", "list what keeps the model from converting, and what fixes it"),
                       ("convert", "convert (optionally auto-fixing and quantizing), verify, and write the .tflite")):
        command = commands.add_parser(name, help=text, description=text, epilog=EXIT_CODES,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("model", help="a SavedModel directory or a .keras/.h5 file")
        command.add_argument("--input-shape", action="append", metavar="NAME=D1,D2,...",
                             help="pin an input's shape, e.g. seq=1,50,32 (None keeps an axis dynamic); repeatable")
        command.add_argument("--unsafe-deserialization", action="store_true",
                             help="run Python code stored in the model file (Lambda layers): only for files you trust")
        command.add_argument("--import", dest="imports", action="append", metavar="MODULE",
                             help="import a module (a name or a .py path) first: one that registers custom layers "
                                  "with @keras.saving.register_keras_serializable() or defines a dict "
                                  "CUSTOM_OBJECTS (names the model file uses -> classes, functions); repeatable")
        command.add_argument("--no-progress", action="store_true",
                             help="no progress bars (they show on a terminal for calibration and long verification)")
        command.add_argument("--debug", action="store_true", help="print the traceback of an error")
        if name == "convert":
            command.add_argument("-o", "--output", help="where to write the .tflite file")
            command.add_argument("--auto-fix", action="store_true",
                                 help="choose the passes the model needs (pinning, op rewrites) automatically")
            command.add_argument("--quantize", choices=["dynamic", "float16", "int8", "int16x8"])
            command.add_argument("--calibration", metavar="DATA.npy",
                                 help="representative data for int8/int16x8: an array whose first axis is samples "
                                      "(.npz: one array per input name)")
            command.add_argument("--samples", metavar="DATA.npy",
                                 help="verification samples (first axis is samples; .npz: one array per input name); "
                                      "random ones without it")
            command.add_argument("--atol", type=float, help="absolute tolerance (default 1e-4; per mode when quantized)")
            command.add_argument("--rtol", type=float, help="relative tolerance (default 1e-4; per mode when quantized)")
            command.add_argument("--allow-select-tf-ops", action="store_true",
                                 help="let Select-TF (Flex) ops through: the app must link the Flex delegate, and the "
                                      "result cannot be verified here")
    return parser
