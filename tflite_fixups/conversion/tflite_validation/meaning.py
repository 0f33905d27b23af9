"""Meaning: the indices, sizes and operator rules LiteRT relies on without checking them."""

from __future__ import annotations

import math
import struct
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from .schema import (
    BOOL_TYPE, BOOLEAN_OUTPUTS, CUSTOM_OPCODE, DEQUANTIZE_OPCODE, MAX_FLOAT, MIN_NORMAL_FLOAT, OUTPUT_COUNTS,
    REQUIRED_INPUTS, SCHEMA_VERSION, STRING_TYPE, SUBGRAPH_CALLS, TENSOR_TYPES, ZERO_POINT_RANGES,
)
from .structure import I32, Invalid, Span

# --------------------------------------------------------------------------------------------
# 3. Meaning: the indices and sizes LiteRT relies on
# --------------------------------------------------------------------------------------------
class LargestTensor(NamedTuple):
    """The largest tensor LiteRT must allocate for a model (constants excepted), at its declared shape."""

    bytes: int
    subgraph: int
    index: int
    text: str  # "tensor 3 'dense/MatMul' float32[1, 100000]"


class _Dataflow:
    """Which tensors of a subgraph hold data when an operator runs (LiteRT runs operators in order)."""

    def __init__(self) -> None:
        self.constants: Set[int] = set()  # hold data from a buffer
        self.inputs: Set[int] = set()  # the subgraph's inputs
        self.written: Set[int] = set()  # an earlier operator's outputs
        self.readable: Set[int] = set()  # all of these, plus variables and tensors with no elements


class Semantics:
    def __init__(self, data: bytes, model: Dict[str, Any]):
        self.data = data
        self.model = model
        self.file_size = len(data)
        # Vectors may share storage; bound the values read so sharing cannot blow up the work.
        self.values_budget = max(1_000_000, len(data))
        self.largest = LargestTensor(0, 0, -1, "")

    def ints(self, span: Optional[Span], element: str = "i") -> Tuple[Any, ...]:
        """The values of a vector of int32 (or another ``element`` format)."""
        if span is None or not span.count:
            return ()
        self.values_budget -= span.count
        if self.values_budget < 0:
            raise Invalid("corrupt: its vectors overlap far more than any converter writes "
                           "(the file is crafted or corrupt)")
        return struct.unpack_from(f"<{span.count}{element}", self.data, span.start)

    def floats(self, span: Span) -> Tuple[float, ...]:
        return self.ints(span, "f")

    def int64s(self, span: Span) -> Tuple[int, ...]:
        return self.ints(span, "q")

    def check(self) -> "LargestTensor":
        """Raise :class:`Invalid` for the first problem; return the largest tensor LiteRT will allocate."""
        model = self.model
        if model["version"] != SCHEMA_VERSION:
            raise Invalid(f"schema version {model['version']}, LiteRT reads version {SCHEMA_VERSION} only")
        subgraphs = model["subgraphs"]
        if not subgraphs:
            raise Invalid("the model has no subgraphs (nothing to run)")
        if model["buffers"] is None:
            raise Invalid("the model has no buffers vector (LiteRT requires one, with the empty buffer 0)")
        codes = model["operator_codes"] or ()
        self.codes = [max(code["builtin_code"], code["deprecated_builtin_code"]) for code in codes]
        for index, code in enumerate(codes):
            if self.codes[index] == CUSTOM_OPCODE and code["custom_code"] is None:
                raise Invalid(f"operator code {index} is CUSTOM but has no custom_code (name)")
        self.buffers = model["buffers"]
        self._check_buffers()
        self.tensor_counts = [len(subgraph["tensors"] or ()) for subgraph in subgraphs]
        calls: Dict[int, Set[int]] = {}
        for index, subgraph in enumerate(subgraphs):
            calls[index] = self._check_subgraph(index, subgraph)
        self._check_no_recursion(calls)
        self._check_metadata()
        self._check_signatures()
        return self.largest

    # Buffers and metadata ------------------------------------------------------------------
    def _check_buffers(self) -> None:
        for index, buffer in enumerate(self.buffers):
            offset, size = buffer["offset"], buffer["size"]
            if buffer["data"] is None and offset > 1 and offset + size > self.file_size:
                raise Invalid(
                    f"truncated: buffer {index} is stored after the flatbuffer at bytes {offset:,}-{offset + size:,}, "
                    f"past the end of the {self.file_size:,}-byte file (was the download cut short?)"
                )

    def _buffer_bytes(self, index: int) -> Optional[int]:
        """How many bytes buffer ``index`` holds, or None when it holds no data (not a constant)."""
        buffer = self.buffers[index]
        if buffer["data"] is not None:
            return buffer["data"].count
        if buffer["offset"] > 1:
            return buffer["size"]
        return None

    def _check_metadata(self) -> None:
        for index, entry in enumerate(self.model["metadata"] or ()):
            name = entry["name"]
            if name is None:
                raise Invalid(f"metadata entry {index} has no name")
            buffer = entry["buffer"]
            if buffer >= len(self.buffers):
                raise Invalid(f"metadata entry {index} ('{name}') points to buffer {buffer}, "
                               f"but the model has {len(self.buffers)} buffers")
            if self.buffers[buffer]["data"] is None:
                raise Invalid(f"metadata entry {index} ('{name}') points to buffer {buffer}, which holds no data")

    def _check_signatures(self) -> None:
        n_subgraphs = len(self.model["subgraphs"])
        for index, signature in enumerate(self.model["signature_defs"] or ()):
            key = signature["signature_key"]
            if key is None:
                raise Invalid(f"signature {index} has no signature key (name)")
            subgraph = signature["subgraph_index"]
            if subgraph >= n_subgraphs:
                raise Invalid(f"signature '{key}' runs subgraph {subgraph}, but the model has {n_subgraphs} subgraphs")
            n_tensors = self.tensor_counts[subgraph]
            for side in ("inputs", "outputs"):
                for position, entry in enumerate(signature[side] or ()):
                    if entry["name"] is None:
                        raise Invalid(f"signature '{key}' {side[:-1]} {position} has no name")
                    if entry["tensor_index"] >= n_tensors:
                        raise Invalid(
                            f"signature '{key}' {side[:-1]} '{entry['name']}' is tensor {entry['tensor_index']}, "
                            f"but subgraph {subgraph} has {n_tensors} tensors"
                        )

    # Subgraphs -----------------------------------------------------------------------------
    def _check_subgraph(self, index: int, subgraph: Dict[str, Any]) -> Set[int]:
        """Checks one subgraph; returns the subgraphs its operators run."""
        tensors = subgraph["tensors"]
        if tensors is None:
            raise Invalid(f"subgraph {index} has no tensors vector")
        n_tensors = len(tensors)
        where = f"subgraph {index}"
        flow = _Dataflow()
        for position, tensor in enumerate(tensors):
            if self._check_tensor(index, position, tensor):
                flow.constants.add(position)
                continue
            if tensor["is_variable"] or self._is_empty(tensor):
                flow.readable.add(position)
            self._note_allocation(index, position, tensor)
        flow.readable |= flow.constants
        for side in ("inputs", "outputs"):
            values = self.ints(subgraph[side])
            if values and (min(values) < 0 or max(values) >= n_tensors):
                bad = next(v for v in values if not 0 <= v < n_tensors)
                raise Invalid(f"{where}'s {side} include tensor {bad}, but the subgraph has {n_tensors} tensors")
            if side == "inputs":
                constant_inputs = flow.constants.intersection(values)
                if constant_inputs:
                    raise Invalid(f"{where} takes {self._tensor_text(index, min(constant_inputs))} as an input, but "
                                   "it holds constant data (LiteRT would write the input into read-only memory)")
                flow.inputs.update(values)
                flow.readable.update(values)
        called: Set[int] = set()
        for position, operator in enumerate(subgraph["operators"] or ()):
            called |= self._check_operator(index, position, operator, n_tensors, flow)
        for tensor in self.ints(subgraph["outputs"]):
            if tensor not in flow.readable:
                raise Invalid(f"{where} returns {self._tensor_text(index, tensor)}, which holds no data, is no "
                               "subgraph input and is written by no operator")
        return called

    def _note_allocation(self, subgraph: int, index: int, tensor: Dict[str, Any]) -> None:
        """Remember the largest tensor LiteRT allocates (not a constant) at its declared shape."""
        bits = TENSOR_TYPES.get(tensor["type"], ("", None))[1] or 8
        size = (math.prod(max(1, d) for d in self._shape(tensor)) * bits + 7) // 8
        if size > self.largest.bytes:
            self.largest = LargestTensor(size, subgraph, index, self._tensor_text(subgraph, index))

    def _shape(self, tensor: Dict[str, Any]) -> Tuple[int, ...]:
        shape = tensor.get("_shape")
        if shape is None:
            shape = tensor["_shape"] = self.ints(tensor["shape"])
        return shape

    def _is_empty(self, tensor: Dict[str, Any]) -> bool:
        return 0 in self._shape(tensor)

    def _check_tensor(self, subgraph: int, index: int, tensor: Dict[str, Any]) -> bool:
        """Checks one tensor; returns whether it is a constant (holds data, here or in an external file)."""
        buffer = tensor["buffer"]
        if buffer >= len(self.buffers):
            raise Invalid(f"{self._tensor_text(subgraph, index)} uses buffer {buffer}, "
                           f"but the model has {len(self.buffers)} buffers")
        quantization = tensor["quantization"]
        if quantization is not None:
            self._check_quantization(subgraph, index, tensor, quantization)
        if tensor["external_buffer"]:  # weights in a separate file (LiteRT's external buffers): not read here
            return True
        have = self._buffer_bytes(buffer) if buffer else None
        if have is None:
            return False
        bits = TENSOR_TYPES.get(tensor["type"], ("", None))[1]
        shape = self._shape(tensor)
        if tensor["sparsity"] is None and min(shape, default=0) >= 0:
            elements = math.prod(shape)
            if bits is not None:
                needed = (elements * bits + 7) // 8
                if have < needed:
                    raise Invalid(f"buffer {buffer} holds {have:,} bytes but {self._tensor_text(subgraph, index)} "
                                   f"needs {needed:,}")
            elif tensor["type"] == STRING_TYPE:
                self._check_string_buffer(subgraph, index, buffer, have, elements)
        return True

    def _check_string_buffer(self, subgraph: int, index: int, buffer: int, have: int, elements: int) -> None:
        """A constant string tensor's buffer: count, count + 1 ascending offsets, then the characters."""
        data = self.buffers[buffer]["data"]
        if data is None:  # stored outside the flatbuffer: bounds were checked, contents are not read here
            return
        what = f"buffer {buffer} of string {self._tensor_text(subgraph, index)}"
        if have < 4:
            raise Invalid(f"{what} holds {have} bytes, too few for its string count")
        count = I32(self.data, data.start)[0]
        if count != elements or 4 * (count + 2) > have:
            raise Invalid(f"{what} declares {count:,} strings in {have:,} bytes; the tensor has {elements:,}")
        offsets = self.ints(Span(data.start + 4, count + 1))
        if offsets[0] != 4 * (count + 2) or offsets[-1] > have or any(b < a for a, b in zip(offsets, offsets[1:])):
            raise Invalid(f"{what} has string offsets outside its {have:,} bytes or out of order")

    def _check_quantization(self, subgraph: int, index: int, tensor: Dict[str, Any], quantization) -> None:
        scales = quantization["scale"].count if quantization["scale"] else 0
        zero_points = quantization["zero_point"].count if quantization["zero_point"] else 0
        if scales and scales != zero_points:
            raise Invalid(f"{self._tensor_text(subgraph, index)} has {scales} quantization scale(s) "
                           f"but {zero_points} zero point(s)")
        if scales:
            values = self.floats(quantization["scale"])
            if not MIN_NORMAL_FLOAT <= min(values) <= max(values) <= MAX_FLOAT or any(v != v for v in values):
                bad = next(v for v in values if not MIN_NORMAL_FLOAT <= v <= MAX_FLOAT)
                raise Invalid(f"{self._tensor_text(subgraph, index)} has quantization scale {bad!r}: scales must be "
                               "positive, finite and not subnormal (LiteRT's XNNPACK kernels crash on it)")
        limits = ZERO_POINT_RANGES.get(tensor["type"])
        if zero_points and limits:
            values = self.int64s(quantization["zero_point"])
            if not limits[0] <= min(values) <= max(values) <= limits[1]:
                bad = next(v for v in values if not limits[0] <= v <= limits[1])
                raise Invalid(f"{self._tensor_text(subgraph, index)} has zero point {bad}, outside the "
                               f"{TENSOR_TYPES[tensor['type']][0]} range [{limits[0]}, {limits[1]}]")
        shape = self._shape(tensor)
        dimension = quantization["quantized_dimension"]
        if scales > 1 and shape and not 0 <= dimension < len(shape):
            raise Invalid(f"{self._tensor_text(subgraph, index)} is quantized along axis {dimension}, "
                           f"but has {len(shape)} axes")
        details = quantization["details"]
        if details is not None and details["_table"] in ("BlockwiseQuantization", "MultiAxisQuantization"):
            n_tensors = self.tensor_counts[subgraph]
            for field in ("scales", "zero_points"):  # tensors that hold the block scales and zero points
                if not -1 <= details[field] < n_tensors:
                    raise Invalid(f"{self._tensor_text(subgraph, index)}'s block quantization {field} is tensor "
                                   f"{details[field]}, but the subgraph has {n_tensors} tensors")

    # Operators -----------------------------------------------------------------------------
    def _check_operator(self, subgraph: int, index: int, operator: Dict[str, Any], n_tensors: int,
                        flow: "_Dataflow") -> Set[int]:
        opcode = operator["opcode_index"]
        if opcode >= len(self.codes):
            raise Invalid(f"operator {index} of subgraph {subgraph} uses operator code {opcode}, "
                           f"but the model has {len(self.codes)} operator codes")
        code = self.codes[opcode]
        what = _OperatorText(subgraph, index, code)
        inputs = self.ints(operator["inputs"])
        outputs = self.ints(operator["outputs"])
        for side, values in (("reads", inputs), ("writes", outputs),
                             ("has intermediate", self.ints(operator["intermediates"]))):
            if values and (min(values) < -1 or max(values) >= n_tensors):
                bad = next(v for v in values if not -1 <= v < n_tensors)
                raise Invalid(f"{what} {side} tensor {bad}, but the subgraph has {n_tensors} tensors")
        if code != CUSTOM_OPCODE:
            _, required, optional_after = REQUIRED_INPUTS.get(code, ("", 0, True))
            if len(inputs) < required:
                raise Invalid(f"{what} has {len(inputs)} input(s), but it takes at least {required}")
            if -1 in inputs:
                position = inputs.index(-1)
                if position == 0 or position < required or not optional_after:
                    raise Invalid(f"{what} leaves its input {position} empty (-1), but it cannot run without it")
        for tensor in inputs:
            if tensor >= 0 and tensor not in flow.readable:
                raise Invalid(f"{what} reads {self._tensor_text(subgraph, tensor)}, which holds no data, is no "
                               "subgraph input and is written by no earlier operator")
        for tensor in outputs:
            if tensor < 0:
                continue
            if tensor in flow.constants or tensor in flow.inputs or tensor in flow.written:
                why = ("holds constant data" if tensor in flow.constants else
                       "is an input of the subgraph" if tensor in flow.inputs else "an earlier operator writes")
                raise Invalid(f"{what} writes {self._tensor_text(subgraph, tensor)}, which {why}")
            flow.written.add(tensor)
        flow.readable.update(outputs)
        flow.readable.update(self.ints(operator["intermediates"]))
        if operator["large_custom_options_offset"] > 1:
            end = operator["large_custom_options_offset"] + operator["large_custom_options_size"]
            if end > self.file_size:
                raise Invalid(f"truncated: {what}'s custom options end at byte {end:,}, past the end of the "
                               f"{self.file_size:,}-byte file")
        if code == DEQUANTIZE_OPCODE and inputs and outputs and inputs[0] in flow.constants and outputs[0] >= 0:
            tensors = self.model["subgraphs"][subgraph]["tensors"]
            if self._shape(tensors[inputs[0]]) != self._shape(tensors[outputs[0]]):
                raise Invalid(f"{what} turns {self._tensor_text(subgraph, inputs[0])} into "
                               f"{self._tensor_text(subgraph, outputs[0])}: the shapes must be equal")
        if code in BOOLEAN_OUTPUTS:
            tensors = self.model["subgraphs"][subgraph]["tensors"]
            for tensor in outputs:
                if tensor >= 0 and tensors[tensor]["type"] != BOOL_TYPE:
                    raise Invalid(f"{what} writes booleans into {self._tensor_text(subgraph, tensor)}")
        if code in OUTPUT_COUNTS:
            _, table, field = OUTPUT_COUNTS[code]
            options = operator["builtin_options"]
            declared = options[field] if options is not None and options["_table"] == table else 0
            if declared != len(outputs):
                raise Invalid(f"{what} has {len(outputs)} outputs but its {table} say {field} = {declared}")
        return self._called_subgraphs(subgraph, what, code, operator, inputs, outputs)

    def _called_subgraphs(self, subgraph: int, what: _OperatorText, code: int, operator: Dict[str, Any],
                          inputs: Sequence[int], outputs: Sequence[int]) -> Set[int]:
        call = SUBGRAPH_CALLS.get(code)
        if call is None:
            return set()
        _, field, table, index_fields = call
        options = operator[field]
        if options is None or options["_table"] != table:
            raise Invalid(f"{what} carries no {table} (LiteRT would run subgraph 0 in its place, recursively)")
        n_subgraphs = len(self.model["subgraphs"])
        called: List[int] = []
        for name in index_fields:
            value = options[name]
            for value in self.ints(value) if name.endswith("indices") else (value,):
                if not 0 <= value < n_subgraphs:
                    raise Invalid(f"{what} runs subgraph {value} ({name.replace('_', ' ')}), "
                                   f"but the model has {n_subgraphs} subgraphs")
                if value == subgraph:
                    raise Invalid(f"{what} runs subgraph {value}, the one it is in "
                                   "(LiteRT would recurse until the stack overflows)")
                called.append(value)
        self._check_arity(what, code, options, inputs, outputs)
        return set(called)

    def _check_arity(self, what: _OperatorText, code: int, options: Dict[str, Any], inputs: Sequence[int],
                     outputs: Sequence[int]) -> None:
        """WHILE and IF pass their tensors to the subgraphs they run: the counts must agree."""
        subgraphs = self.model["subgraphs"]

        def arity(index: int) -> Tuple[int, int]:
            return (subgraphs[index]["inputs"] or Span(0, 0)).count, (subgraphs[index]["outputs"] or Span(0, 0)).count

        if code == 119:  # WHILE
            cond, body = arity(options["cond_subgraph_index"]), arity(options["body_subgraph_index"])
            if not len(inputs) == len(outputs) == cond[0] == body[0] == body[1]:
                raise Invalid(f"{what} has {len(inputs)} inputs and {len(outputs)} outputs, its condition takes "
                               f"{cond[0]} and its body takes {body[0]} and returns {body[1]}: they must be equal")
        elif code == 118:  # IF
            for branch in ("then_subgraph_index", "else_subgraph_index"):
                taken, returned = arity(options[branch])
                if taken != len(inputs) - 1 or returned != len(outputs):
                    raise Invalid(f"{what} passes {len(inputs) - 1} inputs and expects {len(outputs)} outputs, but "
                                   f"its {branch.split('_')[0]} branch takes {taken} and returns {returned}")

    def _check_no_recursion(self, calls: Dict[int, Set[int]]) -> None:
        """LiteRT runs a called subgraph inside the caller: a cycle recurses until the stack overflows."""
        state: Dict[int, int] = {}  # 1: on the current path, 2: done
        for start in calls:
            if state.get(start):
                continue
            stack = [(start, iter(sorted(calls[start])))]
            state[start] = 1
            path = [start]
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    path.pop()
                    state[node] = 2
                elif state.get(child) == 1:
                    cycle = path[path.index(child):] + [child]
                    raise Invalid("subgraphs call each other in a cycle (" + " -> ".join(map(str, cycle)) +
                                   "): LiteRT would recurse until the stack overflows")
                elif not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(calls[child]))))

    # Messages ------------------------------------------------------------------------------
    def _tensor_text(self, subgraph: int, index: int) -> str:
        tensor = self.model["subgraphs"][subgraph]["tensors"][index]
        type_name = TENSOR_TYPES.get(tensor["type"], (f"type{tensor['type']}", None))[0]
        shape = ", ".join(map(str, self._shape(tensor)))
        name = f" '{tensor['name']}'" if tensor["name"] else ""
        return f"tensor {index}{name} {type_name}[{shape}]"


class _OperatorText:
    """"operator 3 (IF) of subgraph 0", formatted only when a message needs it."""

    __slots__ = ("subgraph", "index", "code")

    def __init__(self, subgraph: int, index: int, code: int):
        self.subgraph, self.index, self.code = subgraph, index, code

    def __str__(self) -> str:
        return f"operator {self.index} ({_op_name(self.code)}) of subgraph {self.subgraph}"


_OP_NAMES: Dict[int, str] = {}


def _op_name(code: int) -> str:
    """The builtin operator's name, from LiteRT's generated schema when it is installed."""
    if not _OP_NAMES:
        try:
            from ai_edge_litert import schema_py_generated as schema

            _OP_NAMES.update({value: name for name, value in vars(schema.BuiltinOperator).items()
                              if not name.startswith("_") and isinstance(value, int)})
        except ImportError:  # pragma: no cover - LiteRT is a dependency
            _OP_NAMES.update({code: name for code, (name, *_) in SUBGRAPH_CALLS.items()})
    return _OP_NAMES.get(code, f"builtin code {code}")
