"""What the file is, and its structure: every table, vector and string the schema reaches, trusting no offset."""

from __future__ import annotations

import struct
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .schema import ELEMENT_NAMES, FILE_IDENTIFIER, MAX_DEPTH, MAX_FLATBUFFER_SIZE, MAX_TABLES, SCALARS, SCHEMA, UNIONS

U32 = struct.Struct("<I").unpack_from
I32 = struct.Struct("<i").unpack_from
_U16X2 = struct.Struct("<HH").unpack_from


class Span(NamedTuple):
    """A vector of scalars in the file: where its first element is and how many it holds."""

    start: int
    count: int


class _Field(NamedTuple):
    name: str
    slot: int  # index into the vtable's field offsets
    category: str  # "scalar", "string", "table", "vector", "strings", "tables", "union"
    unpack: Any  # reads a scalar field's value; None for the other categories
    size: int  # inline size: the scalar's, or 4 for an offset
    element: Any  # table name, element size of a vector, or union name
    label: str  # how messages name the field ("builtin options")
    item: str  # ... and its elements, for vectors ("operator")


def _compile(kind_by_field: List[Tuple[str, int, str]]) -> Tuple[_Field, ...]:
    fields = []
    for name, slot, kind in kind_by_field:
        label = name.replace("_", " ")
        if kind in SCALARS:
            fmt, size = SCALARS[kind]
            fields.append(_Field(name, slot, "scalar", struct.Struct("<" + fmt).unpack_from, size, None, label, label))
        elif kind == "string":
            fields.append(_Field(name, slot, "string", None, 4, None, label, label))
        elif kind.startswith("<"):
            fields.append(_Field(name, slot, "union", None, 4, kind[1:-1], label, label))
        elif kind.startswith("["):
            element = kind[1:-1]
            item = ELEMENT_NAMES.get(name, label[:-1] if label.endswith("s") else label)
            if element in SCALARS:
                fields.append(_Field(name, slot, "vector", None, 4, SCALARS[element][1], label, item))
            elif element == "string":
                fields.append(_Field(name, slot, "strings", None, 4, None, label, item))
            else:
                fields.append(_Field(name, slot, "tables", None, 4, element, label, item))
        else:
            fields.append(_Field(name, slot, "table", None, 4, kind, label, label))
    return tuple(fields)


_LAYOUTS: Dict[str, Tuple[_Field, ...]] = {table: _compile(fields) for table, fields in SCHEMA.items()}
_HALFWORDS = [struct.Struct(f"<{n}H").unpack_from for n in range(64)]

Where = Optional[tuple]  # (parent, label, index or None): formatted only when a message needs it
MODEL: Where = (None, "the model", None)


def describe(where: Where) -> str:
    """``(((None, "the model", None), "subgraph", 0), "operator", 12)`` -> "subgraph 0's operator 12"."""
    parts = []
    while where:
        where, label, index = where
        parts.append(label if index is None else f"{label} {index}")
    parts.reverse()
    if len(parts) > 1 and parts[1][-1].isdigit():  # "subgraph 0", not "the model's subgraph 0"
        parts.pop(0)
    return "'s ".join(parts)


class Invalid(Exception):
    """A problem found in the file; validate_tflite adds the source and raises ModelFileError."""


# --------------------------------------------------------------------------------------------
# 1. What the file is
# --------------------------------------------------------------------------------------------
_MAGIC = [
    (b"PK\x03\x04", "a zip archive: a .keras file?"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file: a Keras .h5 model?"),
    (b"\x1f\x8b", "a gzip archive: a compressed model?"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x7fELF", "a compiled program or library"),
    (b"version https://git-lfs", "a Git LFS pointer, not the model: run 'git lfs pull'"),
]


def _guess_kind(data: bytes) -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        return "a Python pickle"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            return "JSON text: a Keras config.json, or the model's metadata?"
        if stripped[:1] == "<":
            return "HTML or XML text: an error page saved in place of the model?"
        return "text"
    if data[:1] == b"\x08":
        return "a protocol buffer: a SavedModel's saved_model.pb, or an ONNX model?"
    if data[:1] == b"\x0a":
        return "a protocol buffer: a frozen GraphDef .pb?"
    identifier = data[4:8]
    if len(identifier) == 4 and all(48 <= c < 127 for c in identifier):
        return f"a flatbuffer with identifier {identifier.decode()!r}: not a TFLite model, or an older schema"
    return "not a format this library recognises"


def check_identifier(data: bytes) -> None:
    size = len(data)
    if size == 0:
        raise Invalid("not a .tflite flatbuffer: the file is empty (0 bytes)")
    if size >= 8 and data[4:8] == FILE_IDENTIFIER:
        return
    if size >= 12 and data[8:12] == FILE_IDENTIFIER:
        raise Invalid(
            "a size-prefixed .tflite flatbuffer: the model starts after a 4-byte length "
            f"({U32(data, 0)[0]:,}); strip the first 4 bytes"
        )
    raise Invalid(
        f"not a .tflite flatbuffer: the file is {size:,} byte{'s' if size > 1 else ''}, a TFLite model starts with "
        f"a 4-byte root offset and the identifier 'TFL3' (got {data[:8]!r}: {_guess_kind(data)})"
    )


# --------------------------------------------------------------------------------------------
# 2. Structure: walk every table, vector and string the schema reaches, trusting no offset
# --------------------------------------------------------------------------------------------
class Reader:
    """Decodes the flatbuffer into dicts (tables), lists (vectors of tables or strings),
    :class:`Span` (vectors of scalars) and plain values, checking every read first."""

    def __init__(self, data: bytes):
        self.data = data
        self.file_size = len(data)
        self.end = min(len(data), MAX_FLATBUFFER_SIZE)
        self.tables = 0
        # Every table is reached through a 4-byte offset of its own, unless tables are shared, which
        # no converter does: more visits than that is a crafted file making the walk explode.
        self.max_tables = min(MAX_TABLES, self.end // 4)

    def model(self) -> Dict[str, Any]:
        root = U32(self.data, 0)[0]
        return self._table(self._follow(0, root, None, "the root offset"), "Model", MODEL, 1)

    # Where an offset leads, or why it cannot be followed.
    def _follow(self, at: int, offset: int, where: Where, what: str = "") -> int:
        if offset == 0:
            raise Invalid(f"corrupt: {what or describe(where)} has offset 0 (it would point at itself)")
        if offset >= 2**31:
            raise Invalid(f"corrupt: {what or describe(where)} has a negative offset ({offset - 2**32:,})")
        target = at + offset
        if target >= self.end:
            self._past_end(target, where, what)
        return target

    def _past_end(self, target: int, where: Where, what: str = "") -> None:
        name = what or describe(where)
        if target <= max(4 * self.end, self.end + 2**26):  # plausibly inside the file it was cut from
            raise Invalid(
                f"truncated: {name} points past the end of the {self.end:,}-byte file "
                f"(to byte {target:,}; was the download cut short?)"
            )
        raise Invalid(f"corrupt: {name} points to byte {target:,}, far past the end of the {self.end:,}-byte file")

    def _misaligned(self, pos: int, align: int, where: Where, what: str) -> None:
        raise Invalid(
            f"corrupt: {describe(where)}{what} is at byte {pos:,}, not a multiple of {align} as flatbuffers require"
        )

    def _table(self, pos: int, kind: str, where: Where, depth: int) -> Dict[str, Any]:
        self.tables += 1
        if self.tables > self.max_tables:
            raise Invalid(f"corrupt: more than {self.max_tables:,} tables in a {self.end:,}-byte file (reached at "
                           f"{describe(where)}): its tables are shared over and over, the file is crafted or corrupt")
        if depth > MAX_DEPTH:
            raise Invalid(f"corrupt: tables nested deeper than {MAX_DEPTH} at {describe(where)}")
        data, end = self.data, self.end
        if pos & 3:
            self._misaligned(pos, 4, where, "")
        if pos + 4 > end:
            self._past_end(pos + 4, where)
        vtable = pos - I32(data, pos)[0]
        if vtable < 0 or vtable + 4 > end:
            raise Invalid(f"corrupt: {describe(where)}'s vtable would be at byte {vtable:,}, "
                           f"outside the {end:,}-byte file")
        if vtable & 1:
            self._misaligned(vtable, 2, where, "'s vtable")
        vtable_size, object_size = _U16X2(data, vtable)
        if vtable_size < 4 or vtable_size & 1 or vtable + vtable_size > end:
            raise Invalid(f"corrupt: {describe(where)}'s vtable declares {vtable_size} bytes "
                           f"at byte {vtable:,} of the {end:,}-byte file")
        if object_size < 4:
            raise Invalid(f"corrupt: {describe(where)} declares an inline size of {object_size} bytes")
        if pos + object_size > end:
            raise Invalid(f"truncated or corrupt: {describe(where)} is {object_size:,} bytes long from byte {pos:,}: "
                           f"past the end of the {end:,}-byte file")
        n_slots = (vtable_size - 4) >> 1
        slots = _HALFWORDS[n_slots](data, vtable + 4) if n_slots < 64 else struct.unpack_from(
            f"<{n_slots}H", data, vtable + 4)
        if slots and max(slots) >= object_size:
            slot = max(range(n_slots), key=slots.__getitem__)
            raise Invalid(f"corrupt: {describe(where)}'s field {slot} lies at byte {slots[slot]} "
                           f"of a {object_size}-byte table")
        values: Dict[str, Any] = {}
        for name, slot, category, unpack, size, element, label, item in _LAYOUTS[kind]:
            offset = slots[slot] if slot < n_slots else 0
            if not offset:
                values[name] = 0 if unpack else None
                continue
            at = pos + offset
            if offset + size > object_size:
                raise Invalid(f"corrupt: {describe(where)}'s {label} overruns its {object_size}-byte table")
            if at & (size - 1):
                self._misaligned(at, size, where, f"'s {label}")
            if unpack:  # a scalar
                values[name] = unpack(data, at)[0]
                continue
            child = (where, label, None)
            target = self._follow(at, U32(data, at)[0], child)
            if category == "vector":
                values[name] = Span(target + 4, self._vector(target, element, child))
            elif category == "string":
                values[name] = self._string(target, child)
            elif category == "table":
                values[name] = self._table(target, element, child, depth + 1)
            elif category == "tables":
                values[name] = self._tables(target, element, child, (where, item), depth + 1)
            elif category == "strings":
                values[name] = self._strings(target, child, (where, item))
            else:  # a union: its type is the field before it
                member = values.get(name + "_type", 0)
                if member:
                    table = UNIONS[element].get(member, "Table")
                    values[name] = self._table(target, table, child, depth + 1)
                    values[name]["_table"] = table
                else:
                    values[name] = None
        return values

    def _vector(self, pos: int, element_size: int, where: Where) -> int:
        if pos & 3:
            self._misaligned(pos, 4, where, "")
        if pos + 4 > self.end:
            self._past_end(pos + 4, where)
        count = U32(self.data, pos)[0]
        if pos + 4 + count * element_size > self.end:
            raise Invalid(
                f"{'truncated' if count * element_size <= 4 * self.end else 'corrupt'}: {describe(where)} claims "
                f"{count:,} element(s) of {element_size} byte(s) but the file ends {self.end - pos - 4:,} bytes "
                f"after it starts (at byte {pos:,} of {self.end:,})"
            )
        return count

    def _string(self, pos: int, where: Where) -> str:
        length = self._vector(pos, 1, where)
        end = pos + 4 + length
        if end >= self.end:
            self._past_end(end + 1, where)
        if self.data[end] != 0:
            raise Invalid(f"corrupt: {describe(where)} (a string of {length:,} bytes) is not NUL-terminated")
        raw = self.data[pos + 4:end]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(f"corrupt: {describe(where)} is not UTF-8 text ({raw[:40]!r})") from None

    def _offsets(self, pos: int, where: Where) -> Tuple[int, ...]:
        count = self._vector(pos, 4, where)
        return struct.unpack_from(f"<{count}I", self.data, pos + 4)

    def _tables(self, pos: int, table: str, where: Where, element: Tuple[Where, str],
                depth: int) -> List[Dict[str, Any]]:
        parent, item = element
        tables = []
        at = pos + 4
        for index, offset in enumerate(self._offsets(pos, where)):
            here = (parent, item, index)
            tables.append(self._table(self._follow(at, offset, here), table, here, depth))
            at += 4
        return tables

    def _strings(self, pos: int, where: Where, element: Tuple[Where, str]) -> List[str]:
        parent, item = element
        return [self._string(self._follow(pos + 4 + 4 * i, offset, (parent, item, i)), (parent, item, i))
                for i, offset in enumerate(self._offsets(pos, where))]
