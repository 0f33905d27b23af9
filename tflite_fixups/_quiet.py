"""Keep TensorFlow's log noise out of the library's output, and nothing else.

TensorFlow's runtime, its converter and LiteRT write log lines straight to the
C-level stderr (file descriptor 2), and to the ``absl``/``tensorflow`` Python
loggers. Around the calls that produce them (:func:`quiet_tensorflow`), fd 2
is pointed at a temporary file. A thread sorts what arrives: TensorFlow's own log
lines (absl's ``I0000 00:00:...] ...`` format, LiteRT's ``INFO: ...``, the
converter's MLIR diagnostics) are kept for error messages; everything else,
Python's own stderr, a logging handler, a progress bar, another thread's
output, is passed on to the real stderr within a twentieth of a second. So nothing of the user's is
lost, and their logging setup is never changed (logger levels are restored).

A crash inside TensorFlow leaves a trace: :mod:`faulthandler` is enabled on
the real stderr (unless the program enabled it already), so a segmentation
fault prints the Python stack that led to it even while fd 2 is captured.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import re
import sys
import tempfile
import threading
import time
from typing import Iterator, List, Optional

_LOGGERS = ("absl", "tensorflow", "h5py")
#: One log line of TensorFlow's C++ runtime, the converter or LiteRT, as opposed to anything else on stderr.
_TENSORFLOW_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] "    # absl/glog: I0000 00:00:17.1 5912 port.cc:153] ...
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "           # TF's older format: 2025-01-01 12:00:00.1: W ...
    r"|(?:INFO|WARNING|ERROR|VERBOSE): "                        # LiteRT / TFLite's logger
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|loc\(|<unknown>:\d|\s*(?:error|note|warning): "          # MLIR diagnostics of the converter
    r"|To enable the following instructions: "                  # continuation of the CPU-feature message
    r"|fully_quantize: \d"                                     # printed by the MLIR quantizer
    r"|Some ops (?:in the model are custom ops|are not supported by the native TFLite runtime)"
    r"|(?:Custom|TF Select|Flex) ops: |Details:\s*$|See instructions: "  # the converter's summary of rejected ops
    r"|\s+\[\[\{\{(?:function_)?node "                          # op-failure context lines
    r"|\s+(?:tf|tfl|func|mhlo|stablehlo)\.\w"                   # ops quoted under a converter diagnostic
    r")"
)
#: Lines that must reach the user even though TensorFlow wrote them: the text of a fatal error.
_FATAL_LINE = re.compile(r"^(?:F\d{4} |\d{4}-\d\d-\d\d [\d:.]+: F |.*Check failed: )")

_lock = threading.RLock()
_depth = 0
_tee: Optional["_StderrTee"] = None


class CapturedLog:
    """Text that TensorFlow wrote while it was silenced."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[CapturedLog]:
    """Capture TensorFlow's log lines on stderr inside the block; pass everything else through.

    Re-entrant: nested uses share the outer capture. fd 2 is process-wide, so
    a block in one thread also filters another thread's stderr, but only
    TensorFlow's log lines are held back.
    """
    global _depth, _tee
    captured = CapturedLog()
    with _lock:
        _depth += 1
        outermost = _depth == 1
        if outermost and (_tee is None or not _tee.usable):
            _tee = _StderrTee.start()
        tee = _tee if outermost else None
    if tee is None or tee.failed:
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
    redirected = tee.redirect()
    try:
        yield captured
    finally:
        if redirected:
            captured.text = tee.restore()
        for name, level in zip(_LOGGERS, saved_levels):
            logging.getLogger(name).setLevel(level)
        with _lock:
            _depth -= 1


class _StderrTee:
    """fd 2 into a temporary file while redirected; what arrives is sorted as it comes.

    A file, not a pipe: a writer never blocks on it, even when the native code
    writing holds the GIL and the sorting thread cannot run. A thread reads
    what arrived every :data:`POLL_SECONDS` and passes on what is not
    TensorFlow's; the rest is sorted when the block ends.
    """

    def __init__(self, stderr_fd: int) -> None:
        self.stderr_fd = stderr_fd
        self.failed = False
        self._lock = threading.Lock()
        self._active = threading.Event()
        self._sink = None
        self._offset = 0
        self._target: Optional[int] = None  # a dup of what fd 2 was when the block started
        self._kept: List[str] = []
        self._pending = b""
        self._in_tensorflow_message = False
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._poll, name="tflite_fixups-stderr", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls) -> Optional["_StderrTee"]:
        stderr_fd = _stderr_fd()
        return None if stderr_fd is None else cls(stderr_fd)

    @property
    def usable(self) -> bool:
        """False in a forked child (the sorting thread did not come along) or once it has died."""
        return os.getpid() == self._pid and self._thread.is_alive()

    def redirect(self) -> bool:
        try:
            _flush_python_stderr()
            if self._sink is None:
                self._sink = tempfile.TemporaryFile()  # one file, emptied for each block
            os.ftruncate(self._sink.fileno(), 0)
            os.lseek(self._sink.fileno(), 0, os.SEEK_SET)
            target = os.dup(self.stderr_fd)
            _enable_faulthandler(target)
            with self._lock:
                self._target, self._offset, self._pending = target, 0, b""
            os.dup2(self._sink.fileno(), self.stderr_fd)
        except OSError:  # no usable fd 2 (closed, or a sandbox refusing dup): capture nothing
            self.failed = True
            return False
        self._active.set()
        return True

    def restore(self) -> str:
        """Put fd 2 back, sort whatever arrived last; TensorFlow's lines, as text."""
        _flush_python_stderr()
        os.dup2(self._target, self.stderr_fd)
        with self._lock:
            self._active.clear()
            self._drain(final=True)
            os.close(self._target)
            self._target = None
            kept, self._kept = self._kept, []
        return "".join(kept)

    def _poll(self) -> None:
        while True:
            self._active.wait()
            time.sleep(POLL_SECONDS)
            with self._lock:
                if self._target is not None:
                    self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        data = _read_from(self._sink, self._offset)
        self._offset += len(data)
        self._pending = self._sort_bytes(self._pending + data, final=final)

    def _sort_bytes(self, data: bytes, *, final: bool) -> bytes:
        """Keep TF's complete lines, forward the others; return an unfinished last line that may still be TF's."""
        lines = data.split(b"\n")
        tail = lines.pop()
        for line in lines:
            self._one_line(line + b"\n")
        if not tail:
            return b""
        if final:
            self._one_line(tail)
            return b""
        if not _could_become_tensorflow(tail.decode("utf-8", "replace")):
            self._forward(tail)  # a progress bar's "\r..." or a prompt: on the terminal now, not at the newline
            return b""
        return tail

    def _one_line(self, line: bytes) -> None:
        """TF's if it looks like a TF log line, or continues one: an indented or blank line right after
        one (the op signatures under a converter diagnostic, a failed op's ``[[{{node ...}}]]``)."""
        text = line.decode("utf-8", "replace")
        is_tensorflow = bool(_TENSORFLOW_LINE.match(text)) or (
            self._in_tensorflow_message and (not text.strip() or text[:1] in (" ", "\t")))
        self._in_tensorflow_message = is_tensorflow
        if is_tensorflow:
            self._kept.append(text)
        if not is_tensorflow or _FATAL_LINE.match(text):
            self._forward(line)

    def _forward(self, data: bytes) -> None:
        try:
            os.write(self._target, data)
        except OSError:  # a closed terminal is not ours to fix
            pass


#: How often what arrived on the captured stderr is sorted and passed on (seconds).
POLL_SECONDS = 0.05


def _read_from(sink, offset: int) -> bytes:
    """Everything written to ``sink`` from ``offset`` on, without moving the writers' file position."""
    if hasattr(os, "pread"):
        chunks = []
        while True:
            chunk = os.pread(sink.fileno(), 1 << 20, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)
    sink.seek(offset)  # no pread (Windows): read at the end of the block only, when nobody writes
    return sink.read()


def _could_become_tensorflow(partial: str) -> bool:
    """Whether an unfinished line may still turn out to be one of TensorFlow's (it is held until its newline)."""
    return "\r" not in partial and (bool(_TENSORFLOW_LINE.match(partial)) or len(partial) < 12)


def _flush_python_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed or exotic stderr is not ours to fix
            pass


_faulthandler_fd: Optional[int] = None


def _enable_faulthandler(real_stderr_fd: int) -> None:
    """Enable faulthandler on (a dup of) the real stderr, once, unless the program already enabled it."""
    global _faulthandler_fd
    if _faulthandler_fd is not None or faulthandler.is_enabled():
        return
    try:
        _faulthandler_fd = os.dup(real_stderr_fd)
        faulthandler.enable(file=_faulthandler_fd, all_threads=True)
    except (OSError, RuntimeError, ValueError):
        _faulthandler_fd = None


def _stderr_fd() -> Optional[int]:
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        os.fstat(fd)
        return fd
    except (AttributeError, OSError, ValueError):  # stderr replaced by an object without a fd, or closed
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
