"""The .tflite schema as data: the tables and fields validation walks, and the facts about operators it checks.

Field layouts were read off TensorFlow's and LiteRT's generated reader classes
(``schema_py_generated``: each accessor's ``self._tab.Offset(4 + 2 * index)``
and value type); ``tests/test_tflite_validation.py`` checks them against both.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
MAX_FLATBUFFER_SIZE = 2**31 - 1  # flatbuffers' limit; bigger .tflite files append buffers after the flatbuffer
MAX_DEPTH = 64  # as FlatBuffers' verifier (this schema nests 6 deep)
MAX_TABLES = 1_000_000  # as FlatBuffers' verifier, and at most one per 4 bytes of the file

# --------------------------------------------------------------------------------------------
# The schema, as data: table -> [(field, field id, kind)]. The field's vtable slot is 4 + 2 * id.
# Kinds: a scalar type; "string"; a table name; "[kind]" a vector; "<Union>" a union whose type
# is the field before it ("<name>_type"). Only fields this module follows or reads are listed.
# --------------------------------------------------------------------------------------------
SCHEMA: Dict[str, List[Tuple[str, int, str]]] = {
    "Model": [
        ("version", 0, "uint32"), ("operator_codes", 1, "[OperatorCode]"), ("subgraphs", 2, "[SubGraph]"),
        ("description", 3, "string"), ("buffers", 4, "[Buffer]"), ("metadata_buffer", 5, "[int32]"),
        ("metadata", 6, "[Metadata]"), ("signature_defs", 7, "[SignatureDef]"),
        ("external_buffer_groups", 8, "[ExternalBufferGroup]"), ("external_buffers", 9, "[ExternalBuffer]"),
    ],
    "OperatorCode": [
        ("deprecated_builtin_code", 0, "int8"), ("custom_code", 1, "string"), ("version", 2, "int32"),
        ("builtin_code", 3, "int32"),
    ],
    "SubGraph": [
        ("tensors", 0, "[Tensor]"), ("inputs", 1, "[int32]"), ("outputs", 2, "[int32]"),
        ("operators", 3, "[Operator]"), ("name", 4, "string"), ("debug_metadata_index", 5, "int32"),
    ],
    "Tensor": [
        ("shape", 0, "[int32]"), ("type", 1, "int8"), ("buffer", 2, "uint32"), ("name", 3, "string"),
        ("quantization", 4, "QuantizationParameters"), ("is_variable", 5, "bool"),
        ("sparsity", 6, "SparsityParameters"), ("shape_signature", 7, "[int32]"), ("has_rank", 8, "bool"),
        ("variant_tensors", 9, "[VariantSubType]"), ("external_buffer", 10, "uint32"),
    ],
    "Operator": [
        ("opcode_index", 0, "uint32"), ("inputs", 1, "[int32]"), ("outputs", 2, "[int32]"),
        ("builtin_options_type", 3, "uint8"), ("builtin_options", 4, "<BuiltinOptions>"),
        ("custom_options", 5, "[uint8]"), ("custom_options_format", 6, "int8"),
        ("mutating_variable_inputs", 7, "[bool]"), ("intermediates", 8, "[int32]"),
        ("large_custom_options_offset", 9, "uint64"), ("large_custom_options_size", 10, "uint64"),
        ("builtin_options_2_type", 11, "uint8"), ("builtin_options_2", 12, "<BuiltinOptions2>"),
        ("debug_metadata_index", 13, "int32"),
    ],
    "Buffer": [("data", 0, "[uint8]"), ("offset", 1, "uint64"), ("size", 2, "uint64")],
    "Metadata": [("name", 0, "string"), ("buffer", 1, "uint32")],
    "SignatureDef": [
        ("inputs", 0, "[TensorMap]"), ("outputs", 1, "[TensorMap]"), ("signature_key", 2, "string"),
        ("subgraph_index", 4, "uint32"),
    ],
    "TensorMap": [("name", 0, "string"), ("tensor_index", 1, "uint32")],
    "ExternalBufferGroup": [("name", 0, "string")],
    "ExternalBuffer": [
        ("id", 0, "uint32"), ("group", 1, "uint32"), ("offset", 2, "uint64"), ("length", 3, "uint64"),
        ("packing", 4, "string"),
    ],
    "QuantizationParameters": [
        ("min", 0, "[float32]"), ("max", 1, "[float32]"), ("scale", 2, "[float32]"), ("zero_point", 3, "[int64]"),
        ("details_type", 4, "uint8"), ("details", 5, "<QuantizationDetails>"), ("quantized_dimension", 6, "int32"),
    ],
    "CustomQuantization": [("custom", 0, "[uint8]")],
    "BlockwiseQuantization": [
        ("scales", 0, "int32"), ("zero_points", 1, "int32"), ("block_size", 2, "int32"), ("block_shape", 3, "[int32]"),
    ],
    "MultiAxisQuantization": [
        ("scales", 0, "int32"), ("zero_points", 1, "int32"), ("block_size", 2, "int32"),
        ("quantized_dimensions", 3, "[int32]"),
    ],
    "SparsityParameters": [
        ("traversal_order", 0, "[int32]"), ("block_map", 1, "[int32]"), ("dim_metadata", 2, "[DimensionMetadata]"),
    ],
    "DimensionMetadata": [
        ("format", 0, "int8"), ("dense_size", 1, "int32"), ("array_segments_type", 2, "uint8"),
        ("array_segments", 3, "<SparseIndexVector>"), ("array_indices_type", 4, "uint8"),
        ("array_indices", 5, "<SparseIndexVector>"),
    ],
    "Int32Vector": [("values", 0, "[int32]")],
    "Uint16Vector": [("values", 0, "[uint16]")],
    "Uint8Vector": [("values", 0, "[uint8]")],
    "VariantSubType": [("shape", 0, "[int32]"), ("type", 1, "int8"), ("has_rank", 2, "bool")],
    # Operator options that hold vectors, strings or subgraph indices (every other options table is
    # checked as a table: vtable and inline fields in bounds).
    "ConcatEmbeddingsOptions": [("num_columns_per_channel", 1, "[int32]"), ("embedding_dim_per_channel", 2, "[int32]")],
    "FullyConnectedOptions": [("quant_spec", 5, "[uint8]")],
    "CallOptions": [("subgraph", 0, "uint32")],
    "ReshapeOptions": [("new_shape", 0, "[int32]")],
    "SplitOptions": [("num_splits", 0, "int32")],
    "SplitVOptions": [("num_splits", 0, "int32")],
    "SqueezeOptions": [("squeeze_dims", 0, "[int32]")],
    "IfOptions": [("then_subgraph_index", 0, "int32"), ("else_subgraph_index", 1, "int32")],
    "WhileOptions": [("cond_subgraph_index", 0, "int32"), ("body_subgraph_index", 1, "int32")],
    "CallOnceOptions": [("init_subgraph_index", 0, "int32")],
    "VarHandleOptions": [("container", 0, "string"), ("shared_name", 1, "string")],
    "BucketizeOptions": [("boundaries", 0, "[float32]")],
    "StablehloBroadcastInDimOptions": [("broadcast_dimensions", 0, "[int64]")],
    "StablehloSliceOptions": [
        ("start_indices", 0, "[int64]"), ("limit_indices", 1, "[int64]"), ("strides", 2, "[int64]"),
    ],
    "StablehloConvolutionOptions": [
        ("window_strides", 0, "[int64]"), ("padding", 1, "[int64]"), ("lhs_dilation", 2, "[int64]"),
        ("rhs_dilation", 3, "[int64]"), ("window_reversal", 4, "[bool]"), ("input_spatial_dimensions", 7, "[int64]"),
        ("kernel_spatial_dimensions", 10, "[int64]"), ("output_spatial_dimensions", 13, "[int64]"),
        ("precision_config", 16, "[uint32]"),
    ],
    "StablehloCustomCallOptions": [
        ("call_target_name", 0, "string"), ("backend_config", 2, "string"), ("called_computations", 4, "[int32]"),
        ("custom_attributes", 5, "[uint8]"),
    ],
    "StablehloReduceOptions": [("dimensions", 0, "[int64]"), ("body_subgraph_index", 1, "int32")],
    "StablehloScatterOptions": [
        ("update_window_dims", 1, "[int64]"), ("inserted_window_dims", 2, "[int64]"),
        ("scatter_dims_to_operand_dims", 3, "[int64]"), ("update_computation_subgraph_index", 6, "int32"),
    ],
    "StablehloDynamicSliceOptions": [("slice_sizes", 0, "[int64]")],
    "StablehloPadOptions": [("edge_padding_low", 0, "[int64]"), ("edge_padding_high", 1, "[int64]"),
                            ("interior_padding", 2, "[int64]")],
    "StablehloDotGeneralOptions": [
        ("lhs_batching_dimensions", 0, "[int64]"), ("rhs_batching_dimensions", 1, "[int64]"),
        ("lhs_contracting_dimensions", 2, "[int64]"), ("rhs_contracting_dimensions", 3, "[int64]"),
        ("precision_config", 4, "[uint32]"),
    ],
    "StablehloReduceWindowOptions": [
        ("window_dimensions", 0, "[int64]"), ("window_strides", 1, "[int64]"), ("base_dilations", 2, "[int64]"),
        ("window_dilations", 3, "[int64]"), ("padding", 4, "[int64]"), ("body_subgraph_index", 5, "int32"),
    ],
    "StablehloSortOptions": [("comparator_subgraph_index", 2, "int32")],
    "StablehloWhileOptions": [("cond_subgraph_index", 0, "int32"), ("body_subgraph_index", 1, "int32")],
    "StablehloGatherOptions": [
        ("offset_dims", 0, "[int64]"), ("collapsed_slice_dims", 1, "[int64]"), ("start_index_map", 2, "[int64]"),
        ("slice_sizes", 4, "[int64]"),
    ],
    "StablehloTransposeOptions": [("permutation", 0, "[int64]")],
    "StableHLOCompositeOptions": [
        ("name", 0, "string"), ("decomposition_subgraph_index", 1, "int32"), ("composite_attributes", 2, "[uint8]"),
    ],
    "StablehloCaseOptions": [("branch_subgraph_indices", 0, "[int32]")],
    "Table": [],  # any other union member: checked as a table only
}

# Union type number -> table (members not listed are checked as plain tables).
UNIONS: Dict[str, Dict[int, str]] = {
    "BuiltinOptions": {
        3: "ConcatEmbeddingsOptions", 8: "FullyConnectedOptions", 16: "CallOptions", 17: "ReshapeOptions",
        30: "SqueezeOptions", 35: "SplitOptions", 79: "SplitVOptions", 92: "IfOptions", 93: "WhileOptions",
        103: "CallOnceOptions", 111: "VarHandleOptions", 115: "BucketizeOptions",
    },
    "BuiltinOptions2": {
        2: "StablehloBroadcastInDimOptions", 3: "StablehloSliceOptions", 4: "StablehloConvolutionOptions",
        5: "StablehloCustomCallOptions", 6: "StablehloReduceOptions", 7: "StablehloScatterOptions",
        9: "StablehloDynamicSliceOptions", 10: "StablehloPadOptions", 12: "StablehloDotGeneralOptions",
        13: "StablehloReduceWindowOptions", 14: "StablehloSortOptions", 15: "StablehloWhileOptions",
        16: "StablehloGatherOptions", 17: "StablehloTransposeOptions", 21: "StableHLOCompositeOptions",
        23: "StablehloCaseOptions",
    },
    "QuantizationDetails": {1: "CustomQuantization", 2: "BlockwiseQuantization", 3: "MultiAxisQuantization"},
    "SparseIndexVector": {1: "Int32Vector", 2: "Uint16Vector", 3: "Uint8Vector"},
}

# Operators that run other subgraphs: builtin code -> (name, options field, options table, subgraph-index fields).
SUBGRAPH_CALLS: Dict[int, Tuple[str, str, str, Tuple[str, ...]]] = {
    31: ("CALL", "builtin_options", "CallOptions", ("subgraph",)),
    118: ("IF", "builtin_options", "IfOptions", ("then_subgraph_index", "else_subgraph_index")),
    119: ("WHILE", "builtin_options", "WhileOptions", ("cond_subgraph_index", "body_subgraph_index")),
    129: ("CALL_ONCE", "builtin_options", "CallOnceOptions", ("init_subgraph_index",)),
    174: ("STABLEHLO_REDUCE", "builtin_options_2", "StablehloReduceOptions", ("body_subgraph_index",)),
    190: ("STABLEHLO_SCATTER", "builtin_options_2", "StablehloScatterOptions", ("update_computation_subgraph_index",)),
    198: ("STABLEHLO_REDUCE_WINDOW", "builtin_options_2", "StablehloReduceWindowOptions", ("body_subgraph_index",)),
    199: ("STABLEHLO_SORT", "builtin_options_2", "StablehloSortOptions", ("comparator_subgraph_index",)),
    200: ("STABLEHLO_WHILE", "builtin_options_2", "StablehloWhileOptions",
          ("cond_subgraph_index", "body_subgraph_index")),
    206: ("STABLEHLO_COMPOSITE", "builtin_options_2", "StableHLOCompositeOptions", ("decomposition_subgraph_index",)),
    209: ("STABLEHLO_CASE", "builtin_options_2", "StablehloCaseOptions", ("branch_subgraph_indices",)),
}
CUSTOM_OPCODE = 32

# Inputs an operator cannot do without. LiteRT's kernels and its XNNPACK delegate read them without
# checking their count, and LiteRT passes an empty input (-1) on to them. The first input of every
# builtin operator is required; for these: code -> (name, inputs required, optional ones may follow).
REQUIRED_INPUTS: Dict[int, Tuple[str, int, bool]] = {
    **{code: (name, count, True) for code, (name, count) in {  # (input, weights[, bias])
        3: ("CONV_2D", 2), 4: ("DEPTHWISE_CONV_2D", 2), 9: ("FULLY_CONNECTED", 2), 67: ("TRANSPOSE_CONV", 3),
        132: ("CONV_3D", 2), 141: ("CONV_3D_TRANSPOSE", 3),
    }.items()},
    **{code: (name, count, False) for code, (name, count) in {
        0: ("ADD", 2), 2: ("CONCATENATION", 1), 18: ("MUL", 2), 22: ("RESHAPE", 1), 31: ("CALL", 0), 34: ("PAD", 2),
        36: ("GATHER", 2), 39: ("TRANSPOSE", 2), 40: ("MEAN", 2), 41: ("SUB", 2), 42: ("DIV", 2),
        45: ("STRIDED_SLICE", 4), 49: ("SPLIT", 2), 55: ("MAXIMUM", 2), 57: ("MINIMUM", 2), 58: ("LESS", 2),
        60: ("PADV2", 3), 61: ("GREATER", 2), 62: ("GREATER_EQUAL", 2), 63: ("LESS_EQUAL", 2), 64: ("SELECT", 3),
        65: ("SLICE", 3), 69: ("TILE", 2), 71: ("EQUAL", 2), 72: ("NOT_EQUAL", 2), 74: ("SUM", 2), 78: ("POW", 2),
        81: ("REDUCE_PROD", 2), 82: ("REDUCE_MAX", 2), 84: ("LOGICAL_OR", 2), 86: ("LOGICAL_AND", 2),
        89: ("REDUCE_MIN", 2), 90: ("FLOOR_DIV", 2), 91: ("REDUCE_ANY", 2), 95: ("FLOOR_MOD", 2),
        99: ("SQUARED_DIFFERENCE", 2), 102: ("SPLIT_V", 3), 118: ("IF", 1), 119: ("WHILE", 0), 123: ("SELECT_V2", 3),
        126: ("BATCH_MATMUL", 2),
    }.items()},
}

# Operators that write booleans: LiteRT retypes their outputs at run time, and IF/WHILE then copy
# a boolean result into a tensor declared of another type.
BOOLEAN_OUTPUTS: Dict[int, str] = {
    58: "LESS", 61: "GREATER", 62: "GREATER_EQUAL", 63: "LESS_EQUAL", 71: "EQUAL", 72: "NOT_EQUAL",
    84: "LOGICAL_OR", 86: "LOGICAL_AND", 87: "LOGICAL_NOT",
}
BOOL_TYPE = 6

DEQUANTIZE_OPCODE = 6  # LiteRT's XNNPACK delegate unpacks a constant's DEQUANTIZE at its output's declared shape

# Operators whose options must agree with their number of outputs: LiteRT's XNNPACK delegate
# trusts the option and crashes when it does not (its builtin kernels check it).
OUTPUT_COUNTS: Dict[int, Tuple[str, str, str]] = {
    49: ("SPLIT", "SplitOptions", "num_splits"),
    102: ("SPLIT_V", "SplitVOptions", "num_splits"),
}

# TensorType -> (name, bits per element); None for types without a fixed size.
TENSOR_TYPES: Dict[int, Tuple[str, Optional[int]]] = {
    0: ("float32", 32), 1: ("float16", 16), 2: ("int32", 32), 3: ("uint8", 8), 4: ("int64", 64), 5: ("string", None),
    6: ("bool", 8), 7: ("int16", 16), 8: ("complex64", 64), 9: ("int8", 8), 10: ("float64", 64),
    11: ("complex128", 128), 12: ("uint64", 64), 13: ("resource", None), 14: ("variant", None), 15: ("uint32", 32),
    16: ("uint16", 16), 17: ("int4", 4), 18: ("bfloat16", 16), 19: ("int2", 2), 20: ("uint4", 4),
    21: ("float8_e4m3fn", 8), 22: ("float8_e5m2", 8),
}
STRING_TYPE = 5
# Zero points a quantized type can hold (LiteRT's XNNPACK kernels index tables with them).
ZERO_POINT_RANGES: Dict[int, Tuple[int, int]] = {
    9: (-128, 127), 3: (0, 255), 7: (-32768, 32767), 17: (-8, 7), 20: (0, 15), 19: (-2, 1),
}
MIN_NORMAL_FLOAT = 1.1754943508222875e-38  # the smallest normal float32
MAX_FLOAT = 3.4028234663852886e38

SCALARS = {  # kind -> (struct format, size)
    "bool": ("?", 1), "int8": ("b", 1), "uint8": ("B", 1), "int16": ("h", 2), "uint16": ("H", 2),
    "int32": ("i", 4), "uint32": ("I", 4), "int64": ("q", 8), "uint64": ("Q", 8), "float32": ("f", 4),
    "float64": ("d", 8),
}

# Words for messages: a vector field's element ("subgraph 0's operator 12").
ELEMENT_NAMES = {
    "operator_codes": "operator code", "subgraphs": "subgraph", "tensors": "tensor", "operators": "operator",
    "buffers": "buffer", "metadata": "metadata entry", "signature_defs": "signature", "inputs": "input",
    "outputs": "output", "dim_metadata": "dimension", "variant_tensors": "variant subtype",
    "external_buffer_groups": "external buffer group", "external_buffers": "external buffer",
}
