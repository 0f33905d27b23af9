"""Model files: tell what a path holds, check it is whole, and find Python code in it before loading.

Everything here reads a file without running anything from it, so a corrupt,
truncated or hostile file is refused with a :class:`ModelFileError` or an
:class:`UnsafeModelError` before Keras or TensorFlow touches it.

A Keras model file carries Python code in two ways, both as marshalled
bytecode that runs while the model loads: Keras 3 (and tf-keras's ``.keras``
format for nested objects) store a ``{"class_name": "__lambda__", ...}``
object; tf-keras stores ``function``/``output_shape``/``mask`` with a
sibling ``<key>_type`` of ``"lambda"``. Keras 3's loaders refuse both in
safe mode, but tf-keras's ``.h5`` loader ignores ``safe_mode``, so the check
is done here, once, for every format.

Example:
    >>> found = inspect_model_file("model.keras")    # doctest: +SKIP
    >>> found.kind, found.keras_version, found.code_locations
    ('keras_zip', '3.15.1', [])
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import ModelFileError, UnsafeModelError, describe_error

KERAS_ZIP = "keras_zip"
HDF5 = "h5"
SAVED_MODEL = "saved_model"

_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: HDF5 files may start with a user block of 512, 1024, 2048... bytes; the signature then follows it
_HDF5_SIGNATURE_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)
_TFLITE_IDENTIFIER = b"TFL3"
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
WHAT_A_KERAS_FILE_IS = "a .keras file is a zip archive (config.json, metadata.json, model.weights.h5) written by model.save()"
WHAT_AN_H5_FILE_IS = "an .h5 file is an HDF5 file written by model.save('model.h5'), with the model's config"


@dataclass
class ModelFile:
    """What a model path holds, read without running anything from it.

    Attributes:
        path: the file or directory.
        kind: ``"keras_zip"`` (``.keras``), ``"h5"`` or ``"saved_model"``.
        keras_version: the ``keras_version`` the file records (Keras files), else None.
        config: the model's architecture as saved (Keras files), else None.
        code_locations: where the file carries code that safe mode refuses: Python bytecode in a Keras
            file (``"layer 'scale' (Lambda): function"``), or ops of a SavedModel that reach outside
            the model (``"op WriteFile 'w' in function '__inference_serve_16' (writes files)"``).
    """

    path: str
    kind: str
    keras_version: Optional[str] = None
    config: Optional[Dict[str, Any]] = None
    code_locations: List[str] = field(default_factory=list)

    def refuse_code(self) -> None:
        """Raise :class:`UnsafeModelError` when the file carries Python code."""
        if not self.code_locations:
            return
        listed = "; ".join(self.code_locations[:5]) + ("; ..." if len(self.code_locations) > 5 else "")
        what = ("ops that reach outside the model when it runs" if self.kind == SAVED_MODEL
                else "Python code that would run while it loads")
        raise UnsafeModelError(
            f"'{self.path}' contains {what} ({listed}), and safe mode refuses to load it. Pass safe_mode=False "
            "only if you trust the file", path=self.path, code_locations=self.code_locations,
        )


def inspect_model_file(path: str) -> ModelFile:
    """Recognise and check the model at ``path`` (a ``.keras``/``.h5`` file or a SavedModel directory).

    Raises:
        ModelFileError: missing, unreadable, corrupt, truncated, or not a model of a kind this library loads.
    """
    if os.path.isdir(path):
        return _inspect_saved_model(path)
    if not os.path.exists(path):
        raise ModelFileError(f"no such file or directory: '{path}'", path=path)
    if not os.path.isfile(path):
        raise ModelFileError(f"'{path}' is not a regular file or a SavedModel directory", path=path)
    head = _head(path, 16)
    lower = path.lower()
    if lower.endswith(".keras"):
        if not head.startswith(_ZIP_MAGIC):
            raise ModelFileError(f"'{path}' is not a .keras file: {WHAT_A_KERAS_FILE_IS}; {_looks_like(head, path)}",
                                 path=path)
        return _inspect_keras_zip(path)
    if lower.endswith((".h5", ".hdf5")):
        if not _is_hdf5(path, head):
            raise ModelFileError(f"'{path}' is not an HDF5 file: {WHAT_AN_H5_FILE_IS}; {_looks_like(head, path)}",
                                 path=path)
        return _inspect_hdf5(path)
    if head[4:8] == _TFLITE_IDENTIFIER or lower.endswith(".tflite"):
        raise ModelFileError(
            f"'{path}' is a .tflite model, which is already converted: to check it against the original, call "
            "tff.verify(original_model, path)", path=path,
        )
    raise ModelFileError(
        f"'{path}': expected a SavedModel directory or a .keras/.h5 file; {_looks_like(head, path)}", path=path
    )


# --- .keras ----------------------------------------------------------------------------------


def _inspect_keras_zip(path: str) -> ModelFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ModelFileError(
                    f"'{path}' is a zip archive without config.json, so it is not a .keras model: "
                    f"{WHAT_A_KERAS_FILE_IS}", path=path,
                )
            broken = archive.testzip()  # CRC of every member: catches truncation and flipped bytes
            if broken is not None:
                raise ModelFileError(f"'{path}' is corrupt: the member '{broken}' fails its checksum", path=path)
            config = _json_object(archive.read("config.json"), path, "config.json")
            metadata = (_json_object(archive.read("metadata.json"), path, "metadata.json")
                        if "metadata.json" in names else {})
    except zipfile.BadZipFile as error:
        raise ModelFileError(f"'{path}' is a damaged or truncated zip archive ({error}): {WHAT_A_KERAS_FILE_IS}",
                             path=path) from error
    except (OSError, EOFError) as error:
        raise ModelFileError(f"could not read '{path}': {error}", path=path) from error
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return ModelFile(path, KERAS_ZIP, str(version) if version else None, config, code_locations(config))


# --- .h5 -------------------------------------------------------------------------------------


def _inspect_hdf5(path: str) -> ModelFile:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            attributes = dict(handle.attrs)
            has_weights_only = "model_config" not in attributes and (
                "layer_names" in attributes or "model_weights" not in handle)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"'{path}' is a damaged or truncated HDF5 file ({describe_error(error)}): "
                             f"{WHAT_AN_H5_FILE_IS}", path=path) from error
    raw = attributes.get("model_config")
    if raw is None:
        what = ("holds weights only (written by model.save_weights)" if has_weights_only
                else "has no model_config attribute")
        raise ModelFileError(
            f"'{path}' {what}, so the model's architecture is missing: build the model in Python, load the weights "
            "into it with model.load_weights(path), and pass the model", path=path,
        )
    config = _json_object(raw, path, "the model_config attribute")
    version = attributes.get("keras_version")
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    return ModelFile(path, HDF5, str(version) if version else None, config, code_locations(config))


def _is_hdf5(path: str, head: bytes) -> bool:
    if head.startswith(_HDF5_MAGIC):
        return True
    with open(path, "rb") as handle:
        for offset in _HDF5_SIGNATURE_OFFSETS[1:]:
            handle.seek(offset)
            if handle.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC:
                return True
    return False


# --- SavedModel ------------------------------------------------------------------------------


def _inspect_saved_model(path: str) -> ModelFile:
    """A SavedModel directory: saved_model.pb must parse; TF's loader checks the rest (variables, assets).

    Its graphs are searched for ops that reach outside the model (files, Python
    callbacks, debugger URLs) everywhere except the checkpoint save/restore
    functions every SavedModel carries.
    """
    proto_path = os.path.join(path, "saved_model.pb")
    if not os.path.isfile(proto_path):
        text_path = os.path.join(path, "saved_model.pbtxt")
        if os.path.isfile(text_path):
            return ModelFile(path, SAVED_MODEL)
        raise ModelFileError(
            f"'{path}' is a directory without saved_model.pb, so it is not a SavedModel (write one with "
            "tf.saved_model.save(...) or Keras 3's model.export(path))", path=path,
        )
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        with open(proto_path, "rb") as handle:
            proto.ParseFromString(handle.read())
    except Exception as error:  # protobuf's DecodeError, or a RuntimeWarning-turned-error for odd bytes
        raise ModelFileError(
            f"'{proto_path}' is damaged or truncated, so '{path}' is not a readable SavedModel "
            f"({describe_error(error)})", path=path,
        ) from error
    if not proto.meta_graphs:
        raise ModelFileError(f"'{path}' holds no graph (saved_model.pb has no MetaGraph)", path=path)
    return ModelFile(path, SAVED_MODEL, code_locations=[
        location for meta_graph in proto.meta_graphs for location in _outside_ops(meta_graph)])


#: Ops that reach outside the model when it runs (or loads): a SavedModel holding them is refused in safe mode.
OUTSIDE_OPS = {
    **dict.fromkeys(("PyFunc", "PyFuncStateless", "EagerPyFunc"), "calls into the Python process"),
    **dict.fromkeys(("WriteFile", "Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints", "CreateSummaryFileWriter",
                     "CreateSummaryDbWriter"), "writes files"),
    **dict.fromkeys(("ReadFile", "MatchingFiles", "ImmutableConst", "Restore", "RestoreV2", "RestoreSlice",
                     "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2", "TFRecordReader",
                     "TFRecordReaderV2", "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "LMDBReader",
                     "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset", "FixedLengthRecordDataset",
                     "FixedLengthRecordDatasetV2"), "reads files"),
    **dict.fromkeys(("DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
                     "DebugNumericSummaryV2"), "sends tensors to a debugger"),
}


def _outside_ops(meta_graph) -> List[str]:
    """Where a MetaGraph's functions (the checkpoint saver's own excepted) use :data:`OUTSIDE_OPS`."""
    graph = meta_graph.graph_def
    functions = {f.signature.name: f for f in graph.library.function}
    saver_nodes = {name.split(":")[0] for name in (meta_graph.saver_def.save_tensor_name,
                                                   meta_graph.saver_def.restore_op_name) if name}
    saver_functions = _called(
        [n for n in graph.node if n.name in saver_nodes], functions)
    checked = [(None, n) for n in graph.node if n.name not in saver_nodes]
    checked += [(name, n) for name, f in functions.items() if name not in saver_functions for n in f.node_def]
    found = []
    for function, node in checked:
        why = OUTSIDE_OPS.get(node.op)
        if node.op == "PrintV2" and node.attr["output_stream"].s.decode("utf-8", "replace").startswith("file://"):
            why = "writes files"
        if why:
            where = f"function '{function}'" if function else "the main graph"
            found.append(f"op {node.op} '{node.name}' in {where} ({why})")
    return found


def _called(nodes, functions) -> set:
    """Names of the functions ``nodes`` call, directly or through other functions."""
    pending = [value.func.name for node in nodes for value in node.attr.values() if value.HasField("func")]
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        pending += [value.func.name for node in functions[name].node_def for value in node.attr.values()
                    if value.HasField("func")]
    return seen


# --- code in a Keras config ------------------------------------------------------------------


def code_locations(config: Any) -> List[str]:
    """Where a saved Keras config carries Python bytecode (Keras 3 ``__lambda__`` objects, tf-keras ``*_type: lambda``).

    Example:
        >>> code_locations({"class_name": "Lambda", "config": {"name": "f", "function": ["4wEA..", None, None],
        ...                                                   "function_type": "lambda"}})
        ["layer 'f' (Lambda): function"]
    """
    found: List[str] = []
    _walk(config, [], None, found)
    return found


def _walk(value: Any, layers: List[str], key: Optional[str], found: List[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, layers, key, found)
        return
    if not isinstance(value, dict):
        return
    if value.get("class_name") == "__lambda__":
        found.append(_location(layers, key))
        return
    inner = value.get("config")
    if isinstance(value.get("class_name"), str) and isinstance(inner, dict) and "name" in inner:
        layers = layers + [f"layer '{inner['name']}' ({value['class_name']})"]
    for child_key, item in value.items():
        if isinstance(child_key, str) and child_key.endswith("_type") and item == "lambda":
            found.append(_location(layers, child_key[: -len("_type")]))
        else:
            _walk(item, layers, child_key, found)


def _location(layers: List[str], key: Optional[str]) -> str:
    return (" > ".join(layers) or "the model config") + (f": {key}" if key else "")


# --- helpers ---------------------------------------------------------------------------------


def _json_object(raw: Any, path: str, what: str) -> Dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"'{path}' is corrupt: {what} is not valid JSON ({error})", path=path) from error
    if not isinstance(value, dict):
        raise ModelFileError(f"'{path}' is corrupt: {what} should hold a JSON object, got {type(value).__name__}",
                             path=path)
    return value


def _head(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise ModelFileError(f"could not read '{path}': {error}", path=path) from error


def _looks_like(head: bytes, path: str) -> str:
    """A short guess at what the file is instead, for error messages."""
    size = os.path.getsize(path)
    if size == 0:
        return "the file is empty"
    if head.startswith(_ZIP_MAGIC):
        return "it is a zip archive (a .keras file under another name?)"
    if head.startswith(_HDF5_MAGIC):
        return "it is an HDF5 file (an .h5 model under another name?)"
    if head[4:8] == _TFLITE_IDENTIFIER:
        return "it is a .tflite model"
    if head.lstrip()[:1] in (b"{", b"["):
        return "it is text that looks like JSON"
    return f"its {size:,} bytes start with {head[:8]!r}, which matches no model format"
