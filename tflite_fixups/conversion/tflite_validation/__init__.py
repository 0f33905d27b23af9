"""Check that bytes are a well-formed .tflite model before anything reads them.

A ``.tflite`` file is a FlatBuffer: tables reached through 32-bit offsets, each
table laid out by a "vtable" of field offsets. Readers trust those offsets.
TensorFlow's generated Python reader (``schema_py_generated``) answers a
corrupt file with ``struct.error``, with garbage, or with nothing at all; LiteRT
runs FlatBuffers' own verifier on the structure, but not on what the structure
*means*: an ``IF`` without its options runs subgraph 0 inside itself until the
stack overflows, a signature whose tensor map has no name, a metadata entry
pointing at an empty buffer, or a constant tensor that an operator writes into,
crash the process.

:func:`validate_tflite` is the one place that checks both, trusting no offset:

1. **What the file is**: size and the ``TFL3`` identifier, with a guess at
   common wrong files (a ``.keras`` zip, an HDF5 ``.h5``, a SavedModel
   ``.pb``, JSON or text, a Git LFS pointer, a size-prefixed flatbuffer).
2. **Structure**, as FlatBuffers' verifier does it: every table's vtable and
   inline fields, every vector, string and nested table lies inside the file;
   offsets are non-zero, non-negative and aligned; strings are NUL-terminated
   UTF-8; the nesting depth and the number of tables visited are bounded, so a
   crafted file cannot make it loop or explode. The tables walked are those
   LiteRT and this library read (:data:`SCHEMA` below), including the options
   tables an operator carries; an options table not listed there is checked as
   a table (vtable and inline fields in bounds).
3. **Meaning**, what LiteRT relies on without checking: operator codes,
   tensor, buffer and subgraph indices are in range; control-flow operators
   (``IF``, ``WHILE``, ``CALL_ONCE``, StableHLO ``while``/``case``/
   ``composite``...) carry their options, pass as many tensors as the
   subgraphs they run take and call no subgraph recursively; an operator reads
   only tensors that hold data, are subgraph inputs or an earlier operator
   wrote, and writes no constant, no subgraph input and no tensor another
   operator writes; a constant buffer is large enough for its tensor's static
   shape and type; buffers stored after the flatbuffer (models over 2 GB) lie
   inside the file; signatures and metadata entries have names; quantization
   scales are positive normal floats and zero points fit their type.
   A few operator rules close crashes found by fuzzing LiteRT (its XNNPACK
   delegate trusts the model): the inputs an operator cannot do without
   (:data:`REQUIRED_INPUTS`), ``SPLIT``'s ``num_splits``, comparisons write
   booleans, ``DEQUANTIZE`` of a constant keeps its shape.

Big byte buffers (weights) are checked by their bounds only, never byte by
byte, so the cost grows with the number of tables (operators, tensors), not
with the weights: ``benchmarks/bench_validation.py`` measures it against
LiteRT's own load.

The field layouts in :data:`SCHEMA` were read off TensorFlow's and LiteRT's
generated reader classes (``schema_py_generated``: each accessor's
``self._tab.Offset(4 + 2 * index)`` and value type); the test suite checks them
against those classes.
"""

from __future__ import annotations

from typing import Optional

from ...errors import ModelFileError
from .meaning import LargestTensor, Semantics
from .schema import (  # noqa: F401  (the tables, for tests and readers)
    BOOLEAN_OUTPUTS, DEQUANTIZE_OPCODE, OUTPUT_COUNTS, REQUIRED_INPUTS, SCHEMA, SUBGRAPH_CALLS, TENSOR_TYPES, UNIONS,
)
from .structure import Invalid, Reader, check_identifier

__all__ = ["LargestTensor", "validate_tflite", "SCHEMA"]


def validate_tflite(data: bytes, *, source: str = ".tflite model", path: Optional[str] = None) -> LargestTensor:
    """Raise :class:`~tflite_fixups.errors.ModelFileError` unless ``data`` is a well-formed .tflite model.

    Checks the file identifier, the whole flatbuffer structure that LiteRT and
    this library read, and the indices and sizes LiteRT relies on (see the
    module docstring). Returns the largest tensor LiteRT will allocate, so a
    caller can refuse a model that cannot fit in memory. Trailing data after the flatbuffer (a metadata zip, the
    buffers of a model over 2 GB) is allowed. Nothing is read through an
    offset before it is checked.

    Args:
        data: the file's bytes.
        source: how messages name the model, e.g. ``"the bytes given"``.
        path: the file the bytes came from; names the model in messages and is
            set as the error's ``path``.

    Example:
        >>> validate_tflite(open("model.tflite", "rb").read(), path="model.tflite")  # doctest: +SKIP
        >>> validate_tflite(b"PK\\x03\\x04...")                                      # doctest: +SKIP
        ModelFileError: .tflite model: not a .tflite flatbuffer: the file is 7 bytes, a TFLite model ...
    """
    if path is not None and source == ".tflite model":
        source = str(path)
    try:
        if not isinstance(data, bytes):
            data = bytes(data)
        check_identifier(data)
        model = Reader(data).model()
        return Semantics(data, model).check()
    except Invalid as problem:
        raise ModelFileError(f"{source}: {problem}", path=path) from None
