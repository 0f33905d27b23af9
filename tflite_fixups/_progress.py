"""Progress bars (tqdm) for the library's long loops: calibration, verification over many samples.

Bars appear only when someone is watching (a terminal or a Jupyter kernel), only
for loops that last longer than half a second, and never when silenced with
:func:`set_progress` or the ``TFLITE_FIXUPS_PROGRESS`` environment variable
(``0`` never, ``1`` always).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Iterable, Iterator, Optional, TypeVar

from .errors import InvalidInputError

T = TypeVar("T")

ENVIRONMENT_VARIABLE = "TFLITE_FIXUPS_PROGRESS"
#: A bar appears only once a loop has run this long (seconds), so short loops stay silent.
DELAY_SECONDS = 0.5

_setting: Optional[bool] = None


def set_progress(enabled: Optional[bool]) -> None:
    """Show progress bars always (``True``), never (``False``) or when interactive (``None``, the default).

    Example:
        >>> import tflite_fixups as tff
        >>> tff.set_progress(False)   # silence calibration and verification bars, e.g. in CI logs
        >>> tff.set_progress(None)    # back to the default
    """
    global _setting
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInputError(f"set_progress expects True, False or None, got {enabled!r}")
    _setting = enabled


def progress_enabled() -> bool:
    """Whether bars are shown now: the explicit setting, else the environment variable, else interactivity."""
    if _setting is not None:
        return _setting
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if from_environment in ("0", "false", "no", "off"):
        return False
    if from_environment in ("1", "true", "yes", "on"):
        return True
    return _interactive()


def _interactive() -> bool:
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        return True
    return "ipykernel" in sys.modules and type(stream).__module__.startswith("ipykernel")


class Progress:
    """A bar over ``total`` items that advances by any step; a no-op when bars are off.

    Example:
        >>> with Progress(total=1000, description="verifying on LiteRT") as bar:  # doctest: +SKIP
        ...     for chunk in chunks:
        ...         run(chunk)
        ...         bar.advance(len(chunk))
    """

    def __init__(self, *, total: Optional[int], description: str, unit: str = "sample"):
        self._bar = None
        if progress_enabled():
            self._bar = _tqdm_class()(
                total=total, desc=description, unit=unit, delay=DELAY_SECONDS, leave=False, dynamic_ncols=True,
            )

    def advance(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def counting(self, items: Iterable[T]) -> Iterable[T]:
        """``items``, advancing the bar by one for each (the items themselves when the bar is off)."""
        if self._bar is None:
            return items
        return self._counted(items)

    def _counted(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            self.advance()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def visible(self) -> bool:
        return self._bar is not None

    @property
    def completed(self) -> Optional[int]:
        """Items counted so far (None when the bar is off)."""
        return None if self._bar is None else int(self._bar.n)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def progress(iterable: Iterable[T], *, total: Optional[int] = None, description: str, unit: str = "sample") -> Iterator[T]:
    """Yield from ``iterable`` with a bar (``total`` taken from ``len()`` when it has one)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total=total, description=description, unit=unit) as bar:
        yield from bar.counting(iterable)


def _tqdm_class():
    """tqdm's notebook widget where ipywidgets can draw it, the text bar elsewhere."""
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm

    return tqdm
