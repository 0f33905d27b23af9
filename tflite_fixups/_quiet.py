"""Keep TensorFlow's log noise out of the library's own output.

TensorFlow's converter and LiteRT write to the C-level stderr and to the
``absl``/``tensorflow`` Python loggers. While tflite_fixups works we capture
both and restore them afterwards, so the user's own logging setup is never
changed. The captured text is kept so it can be attached to errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from typing import Iterator, List

_LOGGERS = ("absl", "tensorflow", "h5py")
_lock = threading.RLock()
_depth = 0


class CapturedLog:
    """Text that TensorFlow wrote while it was silenced."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[CapturedLog]:
    """Silence TF's C++ stderr and its Python loggers inside the block.

    Re-entrant: nested uses share the outer capture. Not meant to run in
    several threads at once (file descriptor 2 is process-wide).
    """
    global _depth
    captured = CapturedLog()
    with _lock:
        _depth += 1
        outermost = _depth == 1
    if not outermost:
        try:
            yield captured
        finally:
            with _lock:
                _depth -= 1
        return

    saved_levels: List[int] = []
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved_levels.append(logger.level)
        logger.setLevel(logging.ERROR)
    stderr_fd = _stderr_fd()
    saved_fd = os.dup(stderr_fd) if stderr_fd is not None else None
    sink = tempfile.TemporaryFile(mode="w+b")
    try:
        if saved_fd is not None:
            sys.stderr.flush()
            os.dup2(sink.fileno(), stderr_fd)
        yield captured
    finally:
        if saved_fd is not None:
            try:
                sys.stderr.flush()
            except Exception:  # pragma: no cover - a closed stderr is not our problem
                pass
            os.dup2(saved_fd, stderr_fd)
            os.close(saved_fd)
        sink.seek(0)
        captured.text = sink.read().decode("utf-8", "replace")
        sink.close()
        for name, level in zip(_LOGGERS, saved_levels):
            logging.getLogger(name).setLevel(level)
        with _lock:
            _depth -= 1


def _stderr_fd():
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    except (AttributeError, OSError, ValueError):  # e.g. stderr replaced by an object without a fd
        return None


def import_tensorflow():
    """Import TensorFlow once with its import-time chatter captured."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        with quiet_tensorflow() as log:
            import tensorflow as tf
    except Exception:
        sys.stderr.write(log.text)
        raise
    return tf
