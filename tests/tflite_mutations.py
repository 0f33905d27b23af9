"""Seeded mutations of .tflite files, and LiteRT run on many files in subprocesses that survive its crashes.

Shared by tests/test_tflite_validation.py (fuzzing: whatever validate_tflite accepts loads in LiteRT
without crashing) and benchmarks/bench_validation.py (how many mutations crash LiteRT, with and
without validation).
"""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import sys
from typing import Dict, List, Sequence

from tensorflow.lite.python import schema_py_generated as schema

#: Runs in a subprocess: load (and optionally invoke) each file, printing START/REFUSED/DONE per file.
LITERT_BATCH = r'''
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
invoke = sys.argv[1] == "invoke"
for path in sys.argv[2:]:
    print("START", path, flush=True)
    try:
        interpreter = Interpreter(model_content=open(path, "rb").read())
        if all(int(np.prod(d["shape"])) < 2**20 for d in interpreter.get_tensor_details()):
            interpreter.allocate_tensors()
            interpreter.get_signature_list()
            if invoke:
                for detail in interpreter.get_input_details():
                    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
                interpreter.invoke()
    except Exception as error:
        print("REFUSED", type(error).__name__, flush=True)
    print("DONE", path, flush=True)
'''

OK, REFUSED, CRASHED, TIMED_OUT = "ran", "refused", "crashed", "timed out"


def structure_positions(data: bytes) -> List[int]:
    """Byte positions outside the big weight buffers, where a mutation changes the model's structure."""
    weights = bytearray(len(data))
    model = schema.Model.GetRootAs(data, 0)
    for index in range(model.BuffersLength()):
        buffer = model.Buffers(index)
        if buffer.DataLength() > 64:
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            weights[start:start + buffer.DataLength()] = b"\x01" * buffer.DataLength()
    return [position for position, inside in enumerate(weights) if not inside]


def mutate(data: bytes, rng: random.Random, positions: Sequence[int]) -> bytes:
    """Flips, overwritten words and halfwords (offsets, lengths, vtable entries, indices), splices, truncations."""
    changed = bytearray(data)
    kind, position = rng.randrange(6), rng.choice(positions)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            changed[rng.choice(positions)] ^= 1 << rng.randrange(8)
    elif kind in (1, 2):
        position &= ~3
        old = struct.unpack_from("<I", changed, position)[0]
        value = rng.choice([0, 1, 2, 3, 4, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(data), old + 4, old - 4,
                            old + 1, rng.randrange(2**32)])
        struct.pack_into("<I", changed, position, value & 0xFFFFFFFF)
    elif kind == 3:
        position &= ~1
        old = struct.unpack_from("<H", changed, position)[0]
        value = rng.choice([0, 2, 3, 4, 0xFFFF, old + 2, old - 2, rng.randrange(2**16)])
        struct.pack_into("<H", changed, position, value & 0xFFFF)
    elif kind == 4:
        source, size = rng.choice(positions), rng.randint(1, 16)
        changed[position:position + size] = data[source:source + size]
    else:
        del changed[rng.randrange(len(data)):]
    return bytes(changed)


def run_in_litert(paths: Sequence[str], *, invoke: bool, timeout: float = 240.0) -> Dict[str, str]:
    """Each file's outcome in LiteRT (:data:`OK`, :data:`REFUSED`, :data:`CRASHED`, :data:`TIMED_OUT`).

    The files run one after another in a subprocess; when LiteRT kills it, the file it was on is
    recorded as crashed and a new subprocess goes on with the next one.
    """
    outcomes: Dict[str, str] = {}
    pending = list(paths)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    while pending:
        try:
            done = subprocess.run([sys.executable, "-c", LITERT_BATCH, "invoke" if invoke else "load", *pending],
                                  capture_output=True, text=True, timeout=timeout, env=environment)
            stdout, finished_cleanly = done.stdout, done.returncode == 0
        except subprocess.TimeoutExpired as expired:
            stdout = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else expired.stdout or ""
            finished_cleanly = None
        current = None
        for line in stdout.splitlines():
            if line.startswith("START "):
                current = line[len("START "):]
                outcomes[current] = OK
            elif line.startswith("REFUSED") and current:
                outcomes[current] = REFUSED
            elif line.startswith("DONE "):
                current = None
        if current is not None:  # died (or hung) on this file
            outcomes[current] = CRASHED if finished_cleanly is False else TIMED_OUT
        elif not finished_cleanly and pending and pending[0] not in outcomes:
            outcomes[pending[0]] = CRASHED if finished_cleanly is False else TIMED_OUT
        pending = [path for path in pending if path not in outcomes]
    return outcomes


def started_and_finished(stdout: str):
    """(files started, files finished) in a LITERT_BATCH subprocess's output."""
    return re.findall(r"^START (.*)$", stdout, re.M), re.findall(r"^DONE (.*)$", stdout, re.M)
