"""Records kept inside the .tflite file's metadata, so a device-side app can read them back."""

from __future__ import annotations

import os
from typing import Any, Optional

import flatbuffers
import numpy as np

from .._api import public_api
from .._quiet import import_tensorflow
from ..errors import InvalidInputError, ModelFileError
from .flatbuffer import read_tflite
from ..models.pinning import METADATA_NAME, ShapePinning

import_tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402  (generated flatbuffer reader)

_FILE_IDENTIFIER = b"TFL3"


def embed_pinning(tflite_model: bytes, pinning: ShapePinning) -> bytes:
    """``tflite_model`` with ``pinning`` stored as JSON under the metadata name ``tflite_fixups.pinning``.

    An earlier record of the same name is replaced. The JSON is readable with
    any flatbuffer metadata reader (e.g. LiteRT's metadata extractor on Android).
    The model is re-serialised, so the result is validated again like any .tflite.
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
    return read_tflite(bytes(builder.Output()), what="the pinned model")


@public_api
def read_pinning(tflite_model: Any) -> Optional[ShapePinning]:
    """The shape pinning recorded in a .tflite file (path, bytes or ConversionResult), or None when it has none.

    Raises:
        ModelFileError: the file is missing, not a well-formed .tflite model, or its pinning record is damaged.
        InvalidInputError: ``tflite_model`` is not bytes, a path or a ConversionResult.

    Example:
        >>> tff.read_pinning("lstm.tflite").inputs[0].pinned_shape   # doctest: +SKIP
        (1, 50, 32)
    """
    data = read_tflite(tflite_model)
    model = schema.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _name(entry) == METADATA_NAME:
            record = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()  # validated: the buffer holds data
            try:
                return ShapePinning.from_json(record)
            except InvalidInputError as error:
                path = os.fspath(tflite_model) if isinstance(tflite_model, (str, os.PathLike)) else None
                raise ModelFileError(f"the .tflite model's '{METADATA_NAME}' metadata is damaged: {error}",
                                     path=path) from error
    return None


def _name(entry) -> str:
    name = entry.name if hasattr(entry, "name") else entry.Name()
    return name.decode() if isinstance(name, bytes) else str(name)
