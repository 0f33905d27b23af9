"""validate_tflite: real models pass; empty, truncated, foreign, corrupt, crafted and fuzzed files
raise ModelFileError naming the problem, and whatever passes loads in LiteRT without crashing."""

import inspect
import os
import random
import re
import struct
import subprocess
import sys

import flatbuffers
import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from ai_edge_litert import schema_py_generated as litert_schema
from tensorflow.lite.python import schema_py_generated as schema

import helpers
import tflite_mutations as mutations
import tflite_fixups as tff
from tflite_fixups.conversion import tflite_validation as tv
from tflite_fixups.conversion.flatbuffer import op_counts
from tflite_fixups.conversion.tflite_validation import validate_tflite
from tflite_fixups.errors import ModelFileError


# ------------------------------------------------------------------------------------------------
# Real models (converted once per module)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models():
    """name -> .tflite bytes: an MLP, int8 and float16 CNNs, a pinned LSTM (WHILE + metadata), control flow."""
    keras.utils.set_random_seed(0)
    representative = [np.random.default_rng(i).standard_normal((1, 16, 16, 3)).astype(np.float32) for i in range(4)]
    steps = keras.Input((None, 4), name="seq")
    lstm = keras.Model(steps, keras.layers.Dense(2, name="scores")(keras.layers.LSTM(3)(steps)))
    module = helpers.ControlFlow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    return {
        "mlp": tff.convert(helpers.mlp(keras)).tflite_model,
        "int8": tff.convert(helpers.small_cnn(keras), quantization="int8",
                            representative_data=representative).tflite_model,
        "float16": tff.convert(helpers.small_cnn(keras), quantization="float16").tflite_model,
        "pinned_lstm": tff.convert(lstm, passes=[tff.passes.pin_input_shapes((1, 6, 4), mask=True)]).tflite_model,
        "control_flow": converter.convert(),
    }


def test_models_converted_by_this_library_pass(K):
    for model in (helpers.mlp(K), helpers.small_cnn(K)):
        validate_tflite(tff.convert(model).tflite_model)


def test_quantized_pinned_and_control_flow_models_pass(models):
    for name, data in models.items():
        validate_tflite(data, source=name)
        validate_tflite(bytearray(data))
        validate_tflite(memoryview(data))
    assert tff.read_pinning(models["pinned_lstm"]).inputs[0].pinned_shape == (1, 6, 4)
    ops = op_counts(models["control_flow"])
    assert {"IF", "WHILE", "SPLIT"} <= set(ops)


def test_weights_in_an_external_file_are_constants(models):
    """LiteRT's external buffers: the weights live in another file, the tensor names them by id."""
    def change(model):
        weights = model.subgraphs[0].tensors[_first_op(model, OPS.FULLY_CONNECTED).inputs[1]]
        model.buffers[weights.buffer].data = None
        weights.buffer, weights.externalBuffer = 0, 1
    validate_tflite(_edit(change)(models["mlp"]))


def test_trailing_data_after_the_flatbuffer_is_allowed(models):
    """Models with metadata may carry a zip of associated files after the flatbuffer."""
    validate_tflite(models["mlp"] + b"PK\x03\x04" + bytes(100))


def _add_chain(n_ops: int, weight_bytes: int = 0) -> bytes:
    """x -> ADD(c) -> ADD(c) ... n_ops times, plus an unused constant of ``weight_bytes`` bytes."""
    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.ADD
    model.operatorCodes = [code]
    constant = schema.BufferT()
    constant.data = np.zeros(32, np.uint8)
    model.buffers = [schema.BufferT(), constant]

    def tensor(name, buffer=0, shape=(1, 8)):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, np.array(shape, np.int32), schema.TensorType.FLOAT32, buffer
        return t

    tensors = [tensor("x"), tensor("c", 1)] + [tensor(f"t{i}") for i in range(n_ops)]
    operators = []
    for i in range(n_ops):
        op = schema.OperatorT()
        op.opcodeIndex = 0
        op.inputs = np.array([i + 1 if i else 0, 1], np.int32)  # the previous output (x first) + c
        op.outputs = np.array([i + 2], np.int32)
        operators.append(op)
    if weight_bytes:
        weights = schema.BufferT()
        weights.data = np.zeros(weight_bytes, np.uint8)
        model.buffers.append(weights)
        tensors.append(tensor("w", 2, (weight_bytes // 4,)))
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.operators = tensors, operators
    subgraph.inputs, subgraph.outputs = np.array([0], np.int32), np.array([n_ops + 1], np.int32)
    model.subgraphs = [subgraph]
    builder = flatbuffers.Builder(1024 + weight_bytes)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_deep_graphs_and_big_weights_validate():
    """A 9,000-operator graph and 20 MB of weights (checked by their bounds only) are accepted; the largest
    tensor LiteRT allocates is a (1, 8) activation, not the weights (speed: benchmarks/bench_validation.py)."""
    for data in (_add_chain(9000), _add_chain(10, weight_bytes=20_000_000)):
        largest = validate_tflite(data)
        assert largest.bytes == 32 and "float32[1, 8]" in largest.text


@pytest.mark.slow
def test_mobilenet_validates():
    data = tff.convert(keras.applications.MobileNet(weights=None, input_shape=(224, 224, 3))).tflite_model
    assert len(data) > 16_000_000
    largest = validate_tflite(data)
    assert largest.bytes == 4 * 112 * 112 * 64  # MobileNet's widest activation, float32[1, 112, 112, 64]


# ------------------------------------------------------------------------------------------------
# The schema description agrees with TensorFlow's and LiteRT's generated readers
# ------------------------------------------------------------------------------------------------
_FLAGS = {"bool": "Bool", "int8": "Int8", "uint8": "Uint8", "int16": "Int16", "uint16": "Uint16", "int32": "Int32",
          "uint32": "Uint32", "int64": "Int64", "uint64": "Uint64", "float32": "Float32", "float64": "Float64"}


@pytest.mark.parametrize("generated", [litert_schema, schema], ids=["litert", "tensorflow"])
def test_schema_matches_the_generated_readers(generated):
    checked = 0
    for table, fields in tv.SCHEMA.items():
        reader = getattr(generated, table, None)
        if table == "Table" or reader is None:
            continue
        for name, index, kind in fields:
            accessor = getattr(reader, "".join(part.capitalize() for part in name.split("_")), None)
            if accessor is None:  # a field only the newer (LiteRT) schema has
                assert generated is schema, f"{table}.{name}"
                continue
            source = inspect.getsource(accessor)
            assert f"self._tab.Offset({4 + 2 * index})" in source, f"{table}.{name}"
            element = kind.strip("[]<>")
            if element in _FLAGS:
                assert f"number_types.{_FLAGS[element]}Flags" in source, f"{table}.{name}"
            elif kind.startswith("<"):
                assert "self._tab.Union(" in source, f"{table}.{name}"
            elif element == "string":
                assert "self._tab.String(" in source, f"{table}.{name}"
            else:
                assert f"obj = {element}()" in source, f"{table}.{name}"
            checked += 1
    assert checked > 100
    for union, members in tv.UNIONS.items():
        enum = getattr(generated, union)
        for number, table in members.items():
            assert getattr(enum, table, number) == number, (union, table)
    named_codes = {**tv.SUBGRAPH_CALLS, **tv.OUTPUT_COUNTS, **tv.REQUIRED_INPUTS, tv.DEQUANTIZE_OPCODE: ("DEQUANTIZE",),
                   **{code: (name,) for code, name in tv.BOOLEAN_OUTPUTS.items()}}
    for code, (name, *_rest) in named_codes.items():
        assert getattr(generated.BuiltinOperator, name, code) == code, name
    for number, (name, _) in tv.TENSOR_TYPES.items():
        assert getattr(generated.TensorType, name.upper(), number) == number, name


# ------------------------------------------------------------------------------------------------
# A corpus of wrong, corrupt and crafted files, each refused with a message naming the problem
# ------------------------------------------------------------------------------------------------
OPS = schema.BuiltinOperator
CORPUS = {}  # case -> (base model, mutation: bytes -> bytes, pattern the message must match)


def case(name: str, base: str, expected: str):
    """Register the decorated mutation as a corpus case."""
    def register(mutate):
        CORPUS[name] = (base, mutate, expected)
        return mutate
    return register


# Byte-level mutations: the generated reader locates a field, the mutation overwrites it.
def _root(data):
    return schema.Model.GetRootAs(data, 0)


def _tensor(data, index=0):
    return _root(data).Subgraphs(0).Tensors(index)


def _field(table, index: int) -> int:
    """Where field ``index`` of a generated-reader table object sits in the file."""
    offset = table._tab.Offset(4 + 2 * index)
    assert offset, "field absent"
    return table._tab.Pos + offset


def _vector(table, index: int) -> int:
    """Where the vector (or string) in field ``index`` starts: its length prefix."""
    return table._tab.Vector(table._tab.Offset(4 + 2 * index)) - 4


def _vtable(table) -> int:
    return table._tab.Pos - struct.unpack_from("<i", table._tab.Bytes, table._tab.Pos)[0]


def _put(data: bytes, pos: int, fmt: str, value) -> bytes:
    changed = bytearray(data)
    struct.pack_into(fmt, changed, pos, value)
    return bytes(changed)


def _overwrite(locate, value, fmt="<I"):
    """Write ``value`` (or ``value(old value, data, position)``) at the position ``locate(data)`` returns."""
    def mutate(data: bytes) -> bytes:
        pos = locate(data)
        new = value(struct.unpack_from(fmt, data, pos)[0], data, pos) if callable(value) else value
        return _put(data, pos, fmt, new)
    return mutate


def _truncate(length):
    return lambda data: data[:length]


def _random_bytes(seed, size, identifier=b""):
    data = random.Random(seed).randbytes(size)
    data = data[:4] + identifier + data[4 + len(identifier):]
    return lambda _: data


# Model-level mutations: unpack (ModelT), edit, pack again.
def _edit(change):
    def mutate(data: bytes) -> bytes:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        change(model)
        builder = flatbuffers.Builder(len(data) + 1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
    return mutate


def _set(path: str, value):
    """Set one attribute of the unpacked model: ``_set("subgraphs.0.operators.1.opcodeIndex", 99)``."""
    def change(model):
        *parents, last = path.split(".")
        target = model
        for part in parents:
            target = target[int(part)] if part.isdigit() else getattr(target, part)
        if last.isdigit():
            target[int(last)] = value
        else:
            setattr(target, last, value)
    return _edit(change)


def _first_op(model, code: int):
    """The first operator with builtin ``code``."""
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    return next(op for subgraph in model.subgraphs for op in subgraph.operators if codes[op.opcodeIndex] == code)


def _weights(model):
    """The TensorT of the first FULLY_CONNECTED's weights."""
    return model.subgraphs[0].tensors[_first_op(model, OPS.FULLY_CONNECTED).inputs[1]]


def _quantize_input(scales, zero_points):
    def change(model):
        quantization = schema.QuantizationParametersT()
        quantization.scale = np.array(scales, np.float32)
        quantization.zeroPoint = np.array(zero_points, np.int64)
        model.subgraphs[0].tensors[0].quantization = quantization
    return _edit(change)


_MLP_FILE_SIZE = r"2,\d{3}-byte file"

# -- not a .tflite file at all
case("empty", "mlp", r"the file is empty \(0 bytes\)")(lambda d: b"")
for _n in range(1, 8):
    case(f"first_{_n}_bytes", "mlp", rf"not a \.tflite flatbuffer: the file is {_n} bytes?, a TFLite model starts "
         "with a 4-byte root offset and the identifier 'TFL3'")(_truncate(_n))
case("zip", "mlp", r"\(got b'PK\\x03\\x04.*': a zip archive: a \.keras file\?\)")(
    lambda d: b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40))
case("hdf5", "mlp", r"an HDF5 file: a Keras \.h5 model\?")(lambda d: b"\x89HDF\r\n\x1a\n" + bytes(100))
case("json", "mlp", r"JSON text")(lambda d: b'  {"class_name": "Functional", "config": {}}')
case("savedmodel_pb", "mlp", r"protocol buffer")(lambda d: b"\x08\x01\x12\xa4\x03\n\x9d\x02\n\x12" + bytes(200))
case("git_lfs_pointer", "mlp", r"Git LFS pointer.*git lfs pull")(
    lambda d: b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 2052\n")
case("size_prefixed", "mlp", r"size-prefixed .*strip the first 4 bytes")(lambda d: struct.pack("<I", len(d)) + d)
case("random_bytes", "mlp", r"not a \.tflite flatbuffer")(_random_bytes(1, 500))
case("random_bytes_with_identifier", "mlp", r"corrupt|truncated")(_random_bytes(2, 500, b"TFL3"))
case("other_identifier", "mlp", r"identifier 'TFL2'")(lambda d: d[:4] + b"TFL2" + d[8:])

# -- truncated
case("first_8_bytes", "mlp", r"truncated: the root offset points past the end of the 8-byte file")(_truncate(8))
for _n in (12, 64, 300, 1000, 1500, 2000):
    case(f"truncated_to_{_n}", "mlp", rf"truncated: .*past the end of the {_n:,}-byte file|truncated: .*claims")(
        _truncate(_n))
case("truncated_before_weights", "pinned_lstm", r"truncated: ")(lambda d: d[:len(d) // 3])

# -- offsets that cannot be followed, lengths that do not fit
case("root_offset_negative", "mlp", r"corrupt: the root offset has a negative offset")(
    _overwrite(lambda d: 0, 0x80000004))
case("root_offset_far_past_end", "mlp", rf"corrupt: the root offset points to byte 2,147,483,632, far past the end of "
     rf"the {_MLP_FILE_SIZE}")(_overwrite(lambda d: 0, 0x7FFFFFF0))
case("subgraphs_past_end", "mlp", rf"truncated: the model's subgraphs points past the end of the {_MLP_FILE_SIZE} "
     r"\(to byte [\d,]+; was the download cut short\?\)")(
    _overwrite(lambda d: _field(_root(d), 2), lambda old, d, pos: len(d) - pos + 40))
case("zero_offset", "mlp", r"corrupt: subgraph 0's operators has offset 0")(
    _overwrite(lambda d: _field(_root(d).Subgraphs(0), 3), 0))
case("operator_offset_negative", "mlp", r"corrupt: subgraph 0's operator 1 has a negative offset \(-256\)")(
    _overwrite(lambda d: _vector(_root(d).Subgraphs(0), 3) + 8, 0xFFFFFF00))
case("tensor_offset_misaligned", "mlp", r"corrupt: subgraph 0's tensor 2 is at byte [\d,]+, not a multiple of 4 as "
     "flatbuffers require")(_overwrite(lambda d: _vector(_root(d).Subgraphs(0), 0) + 12, lambda old, d, pos: old + 1))
case("vector_length_huge", "mlp", r"corrupt: subgraph 0's tensors claims 2,147,483,647 element\(s\) of 4 byte\(s\)")(
    _overwrite(lambda d: _vector(_root(d).Subgraphs(0), 0), 0x7FFFFFFF))
case("string_length_huge", "mlp", r"subgraph 0's tensor 0's name claims 4,294,967,280 element")(
    _overwrite(lambda d: _vector(_tensor(d), 3), 0xFFFFFFF0))
case("shape_length_past_end", "mlp", r"truncated: subgraph 0's tensor 0's shape claims [\d,]+ element\(s\)")(
    _overwrite(lambda d: _vector(_tensor(d), 0), lambda old, d, pos: len(d) // 4))
case("vtable_outside_file", "mlp", r"corrupt: subgraph 0's tensor 1's vtable would be at byte [\d,]+, outside")(
    _overwrite(lambda d: _tensor(d, 1)._tab.Pos, -0x7FFFFFF0, "<i"))
case("vtable_field_outside_table", "mlp", r"subgraph 0's tensor \d+'s field 0 lies at byte 65520 of a \d+-byte table")(
    _overwrite(lambda d: _vtable(_tensor(d, 1)) + 4, 0xFFF0, "<H"))
case("string_not_terminated", "mlp", r"subgraph 0's tensor 0's name \(a string of \d+ bytes\) is not NUL-terminated")(
    _overwrite(lambda d: _vector(_tensor(d), 3) + 4 + len(_tensor(d).Name()), 0x41, "<B"))
case("name_not_utf8", "mlp", r"subgraph 0's tensor 0's name is not UTF-8 text \(b'\\xff")(
    _overwrite(lambda d: _vector(_tensor(d), 3) + 4, 0xFF, "<B"))


@case("shared_tables_bomb", "mlp", r"more than [\d,]+ tables in a [\d,]+-byte file .* crafted or corrupt")
def _table_bomb(_) -> bytes:
    """One tensor listed 2,000 times by a subgraph listed 2,000 times: 4 million tables to visit in 32 kB."""
    builder = flatbuffers.Builder(64_000)
    schema.TensorStart(builder)
    tensor = schema.TensorEnd(builder)
    schema.SubGraphStartTensorsVector(builder, 2000)
    for _ in range(2000):
        builder.PrependUOffsetTRelative(tensor)
    tensors = builder.EndVector()
    schema.SubGraphStart(builder)
    schema.SubGraphAddTensors(builder, tensors)
    subgraph = schema.SubGraphEnd(builder)
    schema.ModelStartSubgraphsVector(builder, 2000)
    for _ in range(2000):
        builder.PrependUOffsetTRelative(subgraph)
    subgraphs = builder.EndVector()
    schema.ModelStart(builder)
    schema.ModelAddVersion(builder, 3)
    schema.ModelAddSubgraphs(builder, subgraphs)
    builder.Finish(schema.ModelEnd(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# -- indices out of range, missing names
case("opcode_index", "mlp", r"operator 1 of subgraph 0 uses operator code 99, but the model has 2 operator codes")(
    _set("subgraphs.0.operators.1.opcodeIndex", 99))
case("op_reads_missing_tensor", "mlp", r"operator 0 \(FULLY_CONNECTED\) of subgraph 0 reads tensor 97, but the "
     r"subgraph has \d+ tensors")(_set("subgraphs.0.operators.0.inputs.0", 97))
case("op_reads_negative_tensor", "mlp", r"reads tensor -5, but")(_set("subgraphs.0.operators.0.inputs.0", -5))
case("op_writes_missing_tensor", "mlp", r"writes tensor 97, but")(_set("subgraphs.0.operators.0.outputs.0", 97))
case("required_input_empty", "mlp", r"operator 0 \(FULLY_CONNECTED\) of subgraph 0 leaves its input 1 empty \(-1\)")(
    _set("subgraphs.0.operators.0.inputs.1", -1))
case("tensor_buffer_index", "mlp", r"tensor 2 '.*' float32\[.*\] uses buffer 999, but the model has \d+ buffers")(
    _set("subgraphs.0.tensors.2.buffer", 999))
case("subgraph_input_index", "mlp", r"subgraph 0's inputs include tensor 50, but")(_set("subgraphs.0.inputs.0", 50))
case("signature_subgraph", "mlp", r"signature 'serving_default' runs subgraph 7, but the model has 1 subgraphs")(
    _set("signatureDefs.0.subgraphIndex", 7))
case("signature_tensor", "mlp", r"signature 'serving_default' output 'scores' is tensor 999, but subgraph 0 has "
     r"\d+ tensors")(_set("signatureDefs.0.outputs.0.tensorIndex", 999))
case("signature_without_name", "mlp", r"signature 'serving_default' input 0 has no name")(
    _set("signatureDefs.0.inputs.0.name", None))
case("metadata_buffer", "mlp", r"metadata entry 0 \('min_runtime_version'\) points to buffer 999, but the model has "
     r"\d+ buffers")(_set("metadata.0.buffer", 999))
case("metadata_empty_buffer", "mlp", r"points to buffer 0, which holds no data")(_set("metadata.0.buffer", 0))
case("metadata_without_name", "mlp", r"metadata entry 1 has no name")(_set("metadata.1.name", None))
case("schema_version", "mlp", r"schema version 2, LiteRT reads version 3 only")(_set("version", 2))
case("no_subgraphs", "mlp", r"the model has no subgraphs")(_set("subgraphs", []))
case("custom_without_name", "mlp", r"operator code 0 is CUSTOM but has no custom_code")(
    _set("operatorCodes.0.builtinCode", OPS.CUSTOM))

# -- data that does not fit the tensors, tensors written or read out of turn
case("buffer_too_small", "mlp", r"buffer \d+ holds 12 bytes but tensor \d+ '.*' float32\[16, 8\] needs 512")(
    _edit(lambda m: setattr(m.buffers[_weights(m).buffer], "data", m.buffers[_weights(m).buffer].data[:12])))
case("weights_without_data", "mlp", r"reads tensor \d+ '.*' float32\[16, 8\], which holds no data, is no subgraph "
     "input and is written by no earlier operator")(
    _edit(lambda m: setattr(m.buffers[_weights(m).buffer], "data", None)))
case("not_a_string_table", "mlp", r"buffer \d+ of string tensor \d+ .* declares [-\d,]+ strings in 512 bytes")(
    _edit(lambda m: setattr(_weights(m), "type", schema.TensorType.STRING)))
case("quantization_scale_nan", "mlp", r"tensor 0 .* has quantization scale nan: scales must be positive, finite")(
    _quantize_input([float("nan")], [0]))
case("quantization_counts", "mlp", r"has 2 quantization scale\(s\) but 1 zero point\(s\)")(
    _quantize_input([0.5, 0.5], [0]))


@case("stored_after_the_file", "mlp", r"truncated: buffer \d+ is stored after the flatbuffer at bytes [\d,]+-[\d,]+, "
      r"past the end of the [\d,]+-byte file")
def _weights_past_the_end(data):
    def change(model):
        buffer = model.buffers[_weights(model).buffer]
        buffer.data, buffer.offset, buffer.size = None, len(data) + 64, 512
    return _edit(change)(data)


@case("zero_point_out_of_range", "int8", r"int8\[.*\] has zero point 300, outside the int8 range \[-128, 127\]")
@_edit
def _int8_zero_point(model):
    tensor = next(t for t in model.subgraphs[0].tensors if t.type == schema.TensorType.INT8 and t.quantization
                  and t.quantization.zeroPoint is not None and len(t.quantization.zeroPoint) == 1)
    tensor.quantization.zeroPoint = np.array([300], np.int64)


@case("constant_written", "mlp", r"operator 0 \(FULLY_CONNECTED\) of subgraph 0 writes tensor \d+ .*, which holds "
      "constant data")
@_edit
def _write_into_weights(model):
    output = model.subgraphs[0].operators[0].outputs[0]
    model.subgraphs[0].tensors[output].buffer = _weights(model).buffer


@case("constant_input", "mlp", r"subgraph 0 takes tensor 0 'features' float32\[1, 8\] as an "
      "input, but it holds constant data")
@_edit
def _constant_input(model):
    model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].buffer = _weights(model).buffer


@case("tensor_written_twice", "mlp", r"operator 1 \(FULLY_CONNECTED\) of subgraph 0 writes tensor \d+ .*, which an "
      "earlier operator writes")
@_edit
def _write_twice(model):
    operators = model.subgraphs[0].operators
    operators[1].outputs = operators[0].outputs.copy()


# -- control flow
@case("if_without_options", "control_flow", r"operator \d+ \(IF\) of subgraph 0 carries no IfOptions \(LiteRT would "
      r"run subgraph 0 in its place, recursively\)")
@_edit
def _if_without_options(model):
    operator = _first_op(model, OPS.IF)
    operator.builtinOptionsType, operator.builtinOptions = 0, None


case("if_branch_out_of_range", "control_flow", r"\(IF\) of subgraph 0 runs subgraph 99 \(then subgraph index\), but "
     "the model has 5 subgraphs")(
    _edit(lambda m: setattr(_first_op(m, OPS.IF).builtinOptions, "thenSubgraphIndex", 99)))
case("while_runs_itself", "control_flow", r"\(WHILE\) of subgraph 0 runs subgraph 0, the one it is in \(LiteRT would "
     "recurse")(_edit(lambda m: setattr(_first_op(m, OPS.WHILE).builtinOptions, "bodySubgraphIndex", 0)))
case("while_arity", "control_flow", r"\(WHILE\) of subgraph 0 has \d+ inputs and \d+ outputs, its condition takes")(
    _edit(lambda m: setattr(_first_op(m, OPS.WHILE), "outputs", _first_op(m, OPS.WHILE).outputs[:-1])))
case("split_count", "control_flow", r"\(SPLIT\) of subgraph 0 has 2 outputs but its SplitOptions say num_splits = 3")(
    _edit(lambda m: setattr(_first_op(m, OPS.SPLIT).builtinOptions, "numSplits", 3)))
case("comparison_into_float", "control_flow", r"operator 0 \(GREATER\) of subgraph \d writes booleans into tensor "
     r"\d+ .* float32\[")(_edit(lambda m: setattr(m.subgraphs[1].operators[0], "opcodeIndex",
                                               next(i for i, c in enumerate(m.operatorCodes)
                                                    if c.builtinCode == OPS.GREATER))))
case("too_few_inputs", "control_flow", r"operator 0 \(STRIDED_SLICE\) of subgraph \d has 2 input\(s\), but it takes "
     "at least 4")(_edit(lambda m: setattr(m.operatorCodes[m.subgraphs[1].operators[0].opcodeIndex], "builtinCode",
                                           OPS.STRIDED_SLICE)))
case("dequantized_shape", "float16", r"operator \d+ \(DEQUANTIZE\) of subgraph 0 turns tensor \d+ .* float16\[.*\] "
     r"into tensor \d+ .* float32\[8, 3, 99, 3\]: the shapes must be equal")(
    _edit(lambda m: setattr(m.subgraphs[0].tensors[_first_op(m, OPS.DEQUANTIZE).outputs[0]], "shape",
                            np.array([8, 3, 99, 3], np.int32))))
case("subgraph_without_operators", "control_flow", r"subgraph 1 returns tensor \d+ .*, which holds no data, is no "
     "subgraph input and is written by no operator")(_edit(lambda m: setattr(m.subgraphs[1], "operators", [])))


@case("op_writes_subgraph_input", "control_flow", r"of subgraph 2 writes tensor \d+ .*, which is an input of the "
      "subgraph")
@_edit
def _write_subgraph_input(model):
    subgraph = model.subgraphs[2]
    subgraph.operators[0].outputs = np.array([subgraph.inputs[0]], np.int32)


@case("call_once_cycle", "mlp", r"subgraphs call each other in a cycle \(0 -> 1 -> 0\): LiteRT would recurse until "
      "the stack overflows")
def _call_once_cycle(_) -> bytes:
    """Subgraph 0 runs subgraph 1 once (CALL_ONCE), which runs subgraph 0 once."""
    model = schema.ModelT()
    model.version, model.buffers, model.subgraphs = 3, [schema.BufferT()], []
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode = OPS.CALL_ONCE, OPS.PLACEHOLDER_FOR_GREATER_OP_CODES
    model.operatorCodes = [code]
    for calls in (1, 0):
        operator = schema.OperatorT()
        operator.builtinOptionsType = schema.BuiltinOptions.CallOnceOptions
        operator.builtinOptions = schema.CallOnceOptionsT()
        operator.builtinOptions.initSubgraphIndex = calls
        subgraph = schema.SubGraphT()
        subgraph.tensors, subgraph.operators = [], [operator]
        model.subgraphs.append(subgraph)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_corrupt_files_raise_model_file_error_naming_the_problem(models, case):
    base, mutate, expected = CORPUS[case]
    data = mutate(models[base])
    with pytest.raises(ModelFileError) as caught:
        validate_tflite(data, source="model.tflite")
    message = str(caught.value)
    assert message.startswith("model.tflite: "), message
    assert re.search(expected, message), message
    assert caught.value.path is None


def test_every_truncation_is_refused(models):
    data = models["control_flow"]
    for length in range(0, len(data), 7):
        with pytest.raises(ModelFileError, match=r"not a \.tflite|truncated|corrupt"):
            validate_tflite(data[:length])


def test_source_and_path_name_the_model_in_messages(models):
    with pytest.raises(ModelFileError, match=r"^the bytes given: not a \.tflite") as caught:
        validate_tflite(b"\x00" * 3, source="the bytes given")
    assert caught.value.path is None
    with pytest.raises(ModelFileError, match=r"^/models/m\.tflite: truncated") as caught:
        validate_tflite(models["mlp"][:900], path="/models/m.tflite")
    assert caught.value.path == "/models/m.tflite"
    assert isinstance(caught.value, tff.TfliteFixupsError) and isinstance(caught.value, TypeError)


def test_real_keras_h5_and_saved_model_files_are_recognised(tmp_path):
    model = helpers.mlp(keras)
    model.save(tmp_path / "m.keras")
    helpers.mlp(tf_keras).save(tmp_path / "m.h5")
    tf.saved_model.save(helpers.ControlFlow(), str(tmp_path / "saved"))
    for name, kind in (("m.keras", "zip archive: a .keras file?"), ("m.h5", "HDF5 file: a Keras .h5 model?"),
                       ("saved/saved_model.pb", "protocol buffer: a SavedModel's saved_model.pb")):
        path = str(tmp_path / name)
        with pytest.raises(ModelFileError, match=re.escape(kind)):
            validate_tflite(open(path, "rb").read(), path=path)


# ------------------------------------------------------------------------------------------------
# Fuzzing: whatever passes validation loads (and runs) in LiteRT without crashing
# ------------------------------------------------------------------------------------------------
def _fuzz(data: bytes, count: int, seed: int, tmp_path, invoke: bool):
    rng, positions = random.Random(seed), mutations.structure_positions(data)
    accepted, refused = [], 0
    for index in range(count):
        mutated = mutations.mutate(data, rng, positions)
        try:
            validate_tflite(mutated)
        except ModelFileError:
            refused += 1
            continue
        if mutated != data:
            path = tmp_path / f"mutant_{index}.tflite"
            path.write_bytes(mutated)
            accepted.append(str(path))
    assert refused > count // 10 and accepted, (refused, len(accepted))
    done = subprocess.run([sys.executable, "-c", mutations.LITERT_BATCH, "invoke" if invoke else "load", *accepted],
                          capture_output=True, text=True, timeout=240,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    started, finished = mutations.started_and_finished(done.stdout)
    crashed = started[-1] if len(finished) < len(started) else None
    assert done.returncode == 0 and len(finished) == len(accepted), (
        f"LiteRT died (exit {done.returncode}) on {crashed}, which validate_tflite accepted\n{done.stderr[-2000:]}"
    )


@pytest.mark.parametrize("base", ["mlp", "int8", "float16", "control_flow"])
def test_fuzzed_models_are_refused_or_load_in_litert(models, base, tmp_path):
    # Loops are not invoked: a mutated loop bound can run (legitimately) for a very long time.
    _fuzz(models[base], count=1000, seed=sum(map(ord, base)), tmp_path=tmp_path, invoke=base != "control_flow")


@pytest.mark.slow
@pytest.mark.parametrize("base", ["mlp", "int8", "float16", "pinned_lstm", "control_flow"])
def test_many_fuzzed_models_are_refused_or_load_in_litert(models, base, tmp_path):
    _fuzz(models[base], count=20000, seed=7, tmp_path=tmp_path, invoke=base in ("mlp", "int8", "float16"))


def test_checked_bytes_pass_through_and_pickle(models):
    """read_tflite checks bytes once: what it returned comes back as it is, and survives pickling."""
    import pickle

    from tflite_fixups.conversion.flatbuffer import read_tflite

    checked = read_tflite(models["mlp"])
    assert isinstance(checked, bytes) and read_tflite(checked) is checked
    again = pickle.loads(pickle.dumps(checked))
    assert again == checked and again.largest_tensor == checked.largest_tensor
    assert read_tflite(tff.convert(helpers.mlp(keras))).largest_tensor.bytes > 0  # a ConversionResult's bytes
