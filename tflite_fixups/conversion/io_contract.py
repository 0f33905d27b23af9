"""The I/O contract of a .tflite model: which tensor is input/output number i, its name, dtype and shape.

An app on a device addresses a model's tensors by index (``interpreter->input(0)``
in C++, ``getInputTensor(0)`` on Android) or by SignatureDef key. TF's converter
keeps neither the model's order nor its names reliably: its SavedModel route
orders inputs by its own graph walk and names them ``serving_default_x:0``, its
frozen-graph route writes no SignatureDef and names outputs ``Identity_1``.
:func:`write_io_contract` puts them right after conversion; :func:`read_io_contract`
reads what a file actually promises; :func:`io_contract_problems` compares the two.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import flatbuffers
import numpy as np

from .._quiet import import_tensorflow
from ..errors import InternalError
from ..models.specs import InputSpec
from .flatbuffer import CheckedTflite, read_tflite

import_tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402  (generated flatbuffer reader)

SIGNATURE_KEY = "serving_default"
_FILE_IDENTIFIER = b"TFL3"
_TYPE_NAMES = {
    value: name.lower() for name, value in vars(schema.TensorType).items() if not name.startswith("_")
    and isinstance(value, int)
}
_TYPE_NAMES.update({schema.TensorType.FLOAT32: "float32", schema.TensorType.FLOAT16: "float16",
                    schema.TensorType.FLOAT64: "float64", schema.TensorType.BOOL: "bool"})
#: dtypes a float model input may legitimately take in the .tflite (int8/int16 I/O with a scale)
_QUANTIZED_IO = ("int8", "uint8", "int16")


@dataclass(frozen=True)
class TensorIO:
    """One input or output of a .tflite model as a device app sees it.

    Attributes:
        name: the SignatureDef key (also the tensor's name).
        index: its position: ``interpreter.input(index)`` / ``getInputTensor(index)``.
        tensor: the tensor's id in the flatbuffer.
        dtype: e.g. ``"float32"``, ``"int8"``.
        shape: ``None`` marks a dynamic axis.
        quantization: ``(scale, zero_point)`` for a quantized tensor, else None.
    """

    name: str
    index: int
    tensor: int
    dtype: str
    shape: Tuple[Optional[int], ...]
    quantization: Optional[Tuple[float, int]] = None

    def __str__(self) -> str:
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        quantized = f" (scale {self.quantization[0]:.3g}, zero point {self.quantization[1]})" if self.quantization else ""
        return f"{self.index}: {self.name} {self.dtype}[{dims}]{quantized}"


@dataclass(frozen=True)
class IOContract:
    """The inputs and outputs of a .tflite model, in the order a device app addresses them.

    Example:
        >>> result.io.inputs[0]                       # doctest: +SKIP
        TensorIO(name='zeta', index=0, tensor=0, dtype='float32', shape=(1, 4), quantization=None)
        >>> print(result.io)                          # doctest: +SKIP
        inputs:  0: zeta float32[1, 4]  1: alpha float32[1, 3]  2: ids int32[1, 2]
        outputs: 0: zz_out float32[1, 2]  1: aa_out float32[1, 5]
    """

    inputs: List[TensorIO] = field(default_factory=list)
    outputs: List[TensorIO] = field(default_factory=list)
    signature_key: Optional[str] = SIGNATURE_KEY

    @property
    def input_names(self) -> List[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> List[str]:
        return [t.name for t in self.outputs]

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (e.g. to write next to the model for the app developer)."""
        def entry(t: TensorIO) -> Dict[str, Any]:
            return {"name": t.name, "index": t.index, "dtype": t.dtype, "shape": list(t.shape),
                    "quantization": list(t.quantization) if t.quantization else None}
        return {"signature_key": self.signature_key, "inputs": [entry(t) for t in self.inputs],
                "outputs": [entry(t) for t in self.outputs]}

    def __str__(self) -> str:
        return ("inputs:  " + "  ".join(str(t) for t in self.inputs) + "\n"
                + "outputs: " + "  ".join(str(t) for t in self.outputs))

    def _repr_html_(self) -> str:
        rows = [[kind, str(t.index), html.escape(t.name), t.dtype, str(t.shape)]
                for kind, tensors in (("input", self.inputs), ("output", self.outputs)) for t in tensors]
        head = "".join(f"<th>{h}</th>" for h in ("", "index", "name", "dtype", "shape"))
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body}</table>"


def read_io_contract(tflite_model: Any) -> IOContract:
    """What a .tflite model promises: its primary subgraph's inputs and outputs, in order.

    Names come from the SignatureDef whose tensors are the subgraph's (else the tensor names).
    """
    data = read_tflite(tflite_model)
    model = schema.Model.GetRootAs(data, 0)
    subgraph = model.Subgraphs(0)
    listed: Dict[str, List[Tuple[str, int]]] = {"in": [], "out": []}  # the SignatureDef's (key, tensor) in order
    signature_key = None
    for s in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(s)
        if signature.SubgraphIndex() != 0:
            continue
        signature_key = (signature.SignatureKey() or b"").decode("utf-8", "replace")
        for kind, count, get in (("in", signature.InputsLength(), signature.Inputs),
                                 ("out", signature.OutputsLength(), signature.Outputs)):
            listed[kind] = [((get(i).Name() or b"").decode("utf-8", "replace"), get(i).TensorIndex())
                            for i in range(count)]
        break

    def key_of(kind: str, position: int, tensor_index: int) -> Optional[str]:
        entries = listed[kind]
        if position < len(entries) and entries[position][1] == tensor_index:
            return entries[position][0]  # two outputs may share a tensor: the position tells them apart
        return next((name for name, index in entries if index == tensor_index), None)

    def describe(kind: str, position: int, tensor_index: int) -> TensorIO:
        tensor = subgraph.Tensors(tensor_index)
        signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else tensor.ShapeAsNumpy()
        shape = tuple(None if int(d) < 0 else int(d) for d in np.atleast_1d(signature)) if tensor.ShapeLength() or \
            tensor.ShapeSignatureLength() else ()
        quantization = None
        q = tensor.Quantization()
        if q is not None and q.ScaleLength() == 1 and q.ZeroPointLength() == 1:
            quantization = (float(q.Scale(0)), int(q.ZeroPoint(0)))
        name = key_of(kind, position, tensor_index) or (tensor.Name() or b"").decode("utf-8", "replace")
        return TensorIO(name, position, tensor_index, _TYPE_NAMES.get(tensor.Type(), f"type_{tensor.Type()}"),
                        shape, quantization)

    return IOContract(
        inputs=[describe("in", i, int(subgraph.Inputs(i))) for i in range(subgraph.InputsLength())],
        outputs=[describe("out", i, int(subgraph.Outputs(i))) for i in range(subgraph.OutputsLength())],
        signature_key=signature_key,
    )


def write_io_contract(
    tflite_model: bytes, input_names: Sequence[str], output_names: Sequence[str],
    *, converted_output_names: Optional[Sequence[str]] = None, signature_key: str = SIGNATURE_KEY,
) -> CheckedTflite:
    """``tflite_model`` whose primary subgraph's inputs and outputs carry these names, with one SignatureDef.

    The subgraph's inputs must already be in the model's order (the converter's
    frozen-graph route keeps argument order); its outputs are in
    ``converted_output_names`` order (default: ``output_names``) and are put in
    ``output_names`` order. This names their tensors and writes the SignatureDef
    listing them in that order, replacing any other. An output that is also an
    input keeps the input's tensor name; the SignatureDef still maps the output's key to it.

    Raises:
        InternalError: the converted model has another number of inputs or outputs than asked for.
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_model), 0)
    subgraph = model.subgraphs[0]
    inputs = [int(i) for i in (subgraph.inputs if subgraph.inputs is not None else [])]
    outputs = [int(i) for i in (subgraph.outputs if subgraph.outputs is not None else [])]
    converted_output_names = list(output_names if converted_output_names is None else converted_output_names)
    if (len(inputs) != len(input_names) or len(outputs) != len(output_names)
            or sorted(converted_output_names) != sorted(output_names)):
        raise InternalError(
            f"the converted model has {len(inputs)} input(s) and {len(outputs)} output(s); the model has "
            f"{list(input_names)} and {list(output_names)}"
        )
    position = {name: i for i, name in enumerate(converted_output_names)}
    outputs = [outputs[position[name]] for name in output_names]
    subgraph.outputs = np.asarray(outputs, dtype=np.int32)
    named = set()
    for tensor_index, name in list(zip(inputs, input_names)) + list(zip(outputs, output_names)):
        if tensor_index not in named:
            subgraph.tensors[tensor_index].name = name
            named.add(tensor_index)

    def tensor_map(name: str, tensor_index: int):
        entry = schema.TensorMapT()
        entry.name, entry.tensorIndex = name, tensor_index
        return entry

    signature = schema.SignatureDefT()
    signature.inputs = [tensor_map(n, t) for n, t in zip(input_names, inputs)]
    signature.outputs = [tensor_map(n, t) for n, t in zip(output_names, outputs)]
    signature.signatureKey = signature_key
    signature.subgraphIndex = 0
    model.signatureDefs = [signature]
    builder = flatbuffers.Builder(len(tflite_model) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=_FILE_IDENTIFIER)
    return read_tflite(bytes(builder.Output()), what="the converted model")


def io_contract_problems(
    contract: IOContract, input_specs: Sequence[InputSpec], output_names: Sequence[str],
) -> List[str]:
    """How a .tflite model's contract breaks the source model's order, dtypes or shapes (empty: none).

    Names the two share must sit at the same indices. A file whose names are
    all different (one written without a SignatureDef names outputs ``Identity``)
    is paired by index and only its dtypes and shapes are checked. A float
    input may be int8/uint8/int16 with a scale (quantized I/O).
    """
    problems = [p for p in (_order_problem("inputs", contract.input_names, [s.name for s in input_specs]),
                            _order_problem("outputs", contract.output_names, list(output_names))) if p]
    if problems and problems[0].startswith("inputs"):
        return problems  # dtypes and shapes of inputs paired wrongly say nothing more
    for spec, tensor in zip(input_specs, contract.inputs):
        if tensor.dtype != spec.dtype and not (spec.dtype.startswith("float") and tensor.dtype in _QUANTIZED_IO
                                               and tensor.quantization):
            problems.append(f"input {tensor.index} '{spec.name}' is {tensor.dtype} in the .tflite, {spec.dtype} "
                            "in the model")
        if len(tensor.shape) != len(spec.shape) or any(
                want is not None and got is not None and want != got for want, got in zip(spec.shape, tensor.shape)):
            problems.append(f"input {tensor.index} '{spec.name}' has shape {tensor.shape} in the .tflite, "
                            f"{spec.shape} in the model")
    return problems


def _order_problem(kind: str, got: List[str], want: List[str]) -> Optional[str]:
    shared_in_got = [name for name in got if name in want]
    shared_in_want = [name for name in want if name in got]
    if shared_in_got == shared_in_want and (len(got) == len(want) or not shared_in_got):
        if got == want or not shared_in_got or [got.index(n) for n in shared_in_got] == [
                want.index(n) for n in shared_in_want]:
            return None
    return f"{kind} by index are {got}, the model's are {want}"
