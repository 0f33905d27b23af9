"""Command line: ``python -m tflite_fixups diagnose MODEL`` and ``python -m tflite_fixups convert MODEL -o out.tflite``.

Both print the same report the library returns. ``convert`` exits with 0 only
when the model converted AND verification passed; 1 when it converted but its
outputs diverge (or could not be verified); 2 when it could not be converted or
the arguments are wrong. ``.keras`` files load in Keras safe mode unless
``--unsafe-deserialization`` says the file is trusted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

EXIT_OK, EXIT_DIVERGES, EXIT_FAILED = 0, 1, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    import tflite_fixups as tff

    if args.no_progress:
        tff.set_progress(False)
    try:
        loaded = tff.load_model(args.model, safe_mode=not args.unsafe_deserialization)
        model = loaded.source if loaded.kind in ("keras3", "tf_keras") else loaded  # Keras passes need the model
        specs = _input_shapes(args.input_shape)
        if args.command == "diagnose":
            print(tff.diagnose(model, input_specs=specs))
            return EXIT_OK
        return _convert(tff, model, args, specs)
    except tff.TfliteFixupsError as error:
        print(f"error: {error}", file=sys.stderr)
        for note in getattr(error, "__notes__", []):
            print(f"note: {note}", file=sys.stderr)
        return EXIT_FAILED


def _convert(tff, model, args, specs) -> int:
    samples = np.load(args.samples) if args.samples else None
    calibration = np.load(args.calibration) if args.calibration else None
    options = dict(input_specs=specs, sample_inputs=samples, quantization=args.quantize,
                   representative_data=calibration)
    if args.auto_fix:
        result = tff.auto_fix(model, **options)
    else:
        result = tff.convert_and_verify(model, **options)
    print(result)
    if args.output:
        print(f"wrote {result.save(args.output)}")
    return EXIT_OK if result.ok else EXIT_DIVERGES


def _input_shapes(values: Optional[List[str]]) -> Optional[Dict[str, Tuple[Optional[int], ...]]]:
    """``["seq=1,50,32", "mask=1,None"]`` -> ``{"seq": (1, 50, 32), "mask": (1, None)}``."""
    from .errors import InvalidInputError

    if not values:
        return None
    shapes = {}
    for value in values:
        name, _, dims = value.partition("=")
        try:
            shapes[name] = tuple(None if d.strip().lower() in ("none", "?", "") else int(d) for d in dims.split(","))
        except ValueError:
            raise InvalidInputError(f"--input-shape expects NAME=D1,D2,... such as seq=1,50,32, got {value!r}") from None
        if not name or not dims:
            raise InvalidInputError(f"--input-shape expects NAME=D1,D2,... such as seq=1,50,32, got {value!r}")
    return shapes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tflite_fixups", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("diagnose", "list what keeps the model from converting, and what fixes it"),
                       ("convert", "convert (optionally auto-fixing and quantizing), verify, and write the .tflite")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("model", help="a SavedModel directory or a .keras/.h5 file")
        command.add_argument("--input-shape", action="append", metavar="NAME=D1,D2,...",
                             help="pin an input's shape, e.g. seq=1,50,32 (None keeps an axis dynamic); repeatable")
        command.add_argument("--unsafe-deserialization", action="store_true",
                             help="allow Python code in a .keras file (Lambda layers): only for files you trust")
        command.add_argument("--no-progress", action="store_true",
                             help="no progress bars (they show on a terminal for calibration and long verification)")
        if name == "convert":
            command.add_argument("-o", "--output", help="where to write the .tflite file")
            command.add_argument("--auto-fix", action="store_true",
                                 help="choose the passes the model needs (pinning, op rewrites) automatically")
            command.add_argument("--quantize", choices=["dynamic", "float16", "int8", "int16x8"])
            command.add_argument("--calibration", metavar="DATA.npy",
                                 help="representative data for int8/int16x8: an array whose first axis is samples")
            command.add_argument("--samples", metavar="DATA.npy",
                                 help="verification samples (first axis is samples); random ones without it")
    return parser
