"""Read what a .tflite flatbuffer contains, using TensorFlow's generated schema reader."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Dict, List, Optional

from .._quiet import import_tensorflow
from ..errors import InvalidInputError, ModelFileError
from .tflite_validation import LargestTensor, validate_tflite

import_tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402  (generated flatbuffer reader)

_BUILTIN_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_") and isinstance(value, int)
}
_CUSTOM = schema.BuiltinOperator.CUSTOM
FLEX_PREFIX = "Flex"


class CheckedTflite(bytes):
    """.tflite bytes that :func:`read_tflite` has validated, with the largest tensor LiteRT will allocate.

    It is ``bytes`` to everyone else (``ConversionResult.tflite_model`` is one); the library's own
    readers see it was checked and do not check it again.
    """

    largest_tensor: LargestTensor

    def __new__(cls, data: bytes, largest_tensor: LargestTensor) -> "CheckedTflite":
        checked = super().__new__(cls, data)
        checked.largest_tensor = largest_tensor
        return checked

    def __reduce__(self):  # pickles (and copies) as itself, with what the check found
        return CheckedTflite, (bytes(self), self.largest_tensor)


def read_tflite(source: Any, *, what: str = "tflite_model") -> CheckedTflite:
    """The bytes of a .tflite model given as bytes, a path or a ``ConversionResult``, validated.

    Every reader of .tflite data in the library comes through here, so a
    corrupt, truncated or random file is refused with a :class:`ModelFileError`
    that says what is wrong, before TF's flatbuffer reader or LiteRT sees it.
    Bytes it already returned are passed through without a second check.

    Raises:
        InvalidInputError: ``source`` is not bytes, a path or a ConversionResult.
        ModelFileError: no such file, or the data is not a well-formed .tflite model.

    Example:
        >>> data = read_tflite("model.tflite")   # doctest: +SKIP
        >>> data.largest_tensor.text             # doctest: +SKIP
        "tensor 12 'conv1/Relu6' float32[1, 112, 112, 32]"
    """
    if isinstance(getattr(source, "tflite_model", None), (bytes, bytearray)):
        source = source.tflite_model
    if isinstance(source, CheckedTflite):
        return source
    path = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ModelFileError(f"{what}: no .tflite file at '{path}'", path=path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise ModelFileError(f"{what}: could not read '{path}': {error}", path=path) from error
    else:
        raise InvalidInputError(
            f"{what}: expected .tflite bytes, a path to a .tflite file or a ConversionResult, "
            f"got {type(source).__name__}"
        )
    source_text = f"'{path}'" if path else f"{what} (bytes)"
    return CheckedTflite(data, validate_tflite(data, source=source_text, path=path))


def require_memory_for(tflite_model: CheckedTflite) -> None:
    """InvalidInputError when one tensor of the model alone needs more memory than is free here.

    Checked where LiteRT is about to allocate (not at conversion: a model may
    be meant for a machine with more memory than this one).
    """
    largest, free = tflite_model.largest_tensor, available_memory()
    if free is not None and largest.bytes > free:
        raise InvalidInputError(
            f"the .tflite model's {largest.text} alone needs {largest.bytes / 2 ** 30:,.1f} GiB, more than the "
            f"{free / 2 ** 30:,.1f} GiB of memory free here (LiteRT would exhaust it); pin the shapes smaller"
        )


def available_memory() -> Optional[int]:
    """Bytes of memory free for a new allocation (Linux's MemAvailable), or None where it cannot be told."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def op_counts(tflite_model: bytes) -> Dict[str, int]:
    """Operator name -> number of uses over every subgraph.

    Builtins use their TFLite names (``"FULLY_CONNECTED"``); custom ops their
    custom code, so Select-TF ops appear as ``"FlexErf"``.
    """
    model = schema.Model.GetRootAs(tflite_model, 0)
    names: List[str] = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == _CUSTOM:
            custom = code.CustomCode()
            names.append(custom.decode("utf-8") if custom else "CUSTOM")
        else:
            names.append(_BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"))
    counts: Counter = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[names[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(sorted(counts.items()))


def flex_ops(counts: Dict[str, int]) -> List[str]:
    """TF op names that run through Select-TF (Flex) in a model with these op counts."""
    return sorted(name[len(FLEX_PREFIX):] for name in counts if name.startswith(FLEX_PREFIX))
