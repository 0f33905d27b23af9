"""The library's public boundary: every failure leaves it as a :class:`TfliteFixupsError`.

Inputs are checked where they come in, each with an error that says what was
expected. This decorator is the safety net behind those checks: anything else
that escapes a public function (a TensorFlow error nobody anticipated, a bug)
becomes an :class:`InternalError` naming the function, with the original chained,
so ``except tff.TfliteFixupsError`` in a user's pipeline always holds.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from .errors import InternalError, InvalidInputError, TfliteFixupsError

F = TypeVar("F", bound=Callable[..., Any])


def public_api(function: F) -> F:
    """Mark ``function`` as a public entry point: a call that does not fit its signature raises
    :class:`InvalidInputError`, and other non-library exceptions become :class:`InternalError`.

    Example:
        >>> @public_api
        ... def parse(text):
        ...     return int(text)
        >>> parse("x")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        tflite_fixups.errors.InternalError: parse failed unexpectedly: ValueError: ...
    """
    name = function.__qualname__
    signature = inspect.signature(function)

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as error:  # a misspelt keyword, a missing or an extra argument
            parameters = ", ".join(p for p in signature.parameters if p != "self")
            raise InvalidInputError(f"{name}(): {error}; its parameters are ({parameters})") from None
        try:
            return function(*args, **kwargs)
        except TfliteFixupsError:
            raise
        except Exception as error:
            raise InternalError(
                f"{name} failed unexpectedly: {type(error).__name__}: {error}\n"
                "This is a bug in tflite_fixups or an input it does not check yet; please report it with the "
                "traceback (the original error is chained as __cause__)"
            ) from error

    return guarded  # type: ignore[return-value]
