"""Records kept inside the .tflite file's metadata, so a device-side app can read them back."""

from __future__ import annotations

import os
from typing import Any, Optional

import flatbuffers
import numpy as np

from .._quiet import import_tensorflow
from ..errors import InvalidInputError
from ..models.pinning import METADATA_NAME, ShapePinning

import_tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402  (generated flatbuffer reader)

_FILE_IDENTIFIER = b"TFL3"


def embed_pinning(tflite_model: bytes, pinning: ShapePinning) -> bytes:
    """``tflite_model`` with ``pinning`` stored as JSON under the metadata name ``tflite_fixups.pinning``.

    An earlier record of the same name is replaced. The JSON is readable with
    any flatbuffer metadata reader (e.g. LiteRT's metadata extractor on Android).
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_model), 0)
    payload = schema.BufferT()
    payload.data = np.frombuffer(pinning.to_json().encode("utf-8"), dtype=np.uint8)
    model.buffers = list(model.buffers or [])
    kept = [entry for entry in (model.metadata or []) if _name(entry) != METADATA_NAME]
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers)
    model.buffers.append(payload)
    model.metadata = kept + [entry]
    builder = flatbuffers.Builder(len(tflite_model) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=_FILE_IDENTIFIER)
    return bytes(builder.Output())


def read_pinning(tflite_model: Any) -> Optional[ShapePinning]:
    """The shape pinning recorded in a .tflite file (path or bytes), or None when it has none.

    Example:
        >>> tff.read_pinning("lstm.tflite").inputs[0].pinned_shape   # doctest: +SKIP
        (1, 50, 32)
    """
    data = _read_bytes(tflite_model)
    model = schema.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _name(entry) == METADATA_NAME:
            buffer = model.Buffers(entry.Buffer())
            return ShapePinning.from_json(buffer.DataAsNumpy().tobytes())
    return None


def _name(entry) -> str:
    name = entry.name if hasattr(entry, "name") else entry.Name()
    return name.decode() if isinstance(name, bytes) else str(name)


def _read_bytes(tflite_model: Any) -> bytes:
    if isinstance(tflite_model, (bytes, bytearray, memoryview)):
        data = bytes(tflite_model)
    elif isinstance(tflite_model, (str, os.PathLike)):
        if not os.path.isfile(tflite_model):
            raise InvalidInputError(f"no .tflite file at '{os.fspath(tflite_model)}'")
        with open(tflite_model, "rb") as handle:
            data = handle.read()
    else:
        raise InvalidInputError(f"expected .tflite bytes or a path, got {type(tflite_model).__name__}")
    if len(data) < 8 or data[4:8] != _FILE_IDENTIFIER:
        raise InvalidInputError("not a .tflite flatbuffer (missing the TFL3 identifier)")
    return data
