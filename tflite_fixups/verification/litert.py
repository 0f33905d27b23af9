"""Run .tflite models with LiteRT (``ai_edge_litert``), the successor of ``tf.lite.Interpreter``."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from .._api import public_api
from .._quiet import quiet_tensorflow
from ..conversion.flatbuffer import read_tflite, require_memory_for
from ..errors import InvalidInputError, describe_error
from ..models.specs import InputSpec
from .samples import cast_values


def open_interpreter(
    tflite_model: bytes, *, preserve_all_tensors: bool = False, default_delegates: bool = True,
    num_threads: Optional[int] = None,
):
    """A LiteRT interpreter with tensors allocated (quietly); ``preserve_all_tensors`` keeps intermediates readable.

    Every interpreter the library opens comes through here: the bytes are validated (once: bytes
    from :func:`read_tflite` or the converter are not checked again) and must fit in memory.
    """
    import warnings

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    tflite_model = read_tflite(tflite_model)
    require_memory_for(tflite_model)
    resolver = OpResolverType.AUTO if default_delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with quiet_tensorflow(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # preserve_all_tensors warns that it is for debugging: it is, here
        interpreter = Interpreter(
            model_content=bytes(tflite_model), experimental_op_resolver_type=resolver,
            experimental_preserve_all_tensors=preserve_all_tensors, num_threads=num_threads,
        )
        interpreter.allocate_tensors()
    return interpreter


class LiteRTRunner:
    """Invoke one signature of a .tflite model by input name.

    ``input_names`` / ``output_names`` are in index order (the model's I/O contract).
    A model without a SignatureDef is run by index, its tensors named by their tensor names.

    Example:
        >>> runner = LiteRTRunner(result.tflite_model)          # doctest: +SKIP
        >>> runner.run({"image": x})["predictions"].shape       # doctest: +SKIP
        (1, 10)
    """

    @public_api
    def __init__(
        self,
        tflite_model: Any,
        *,
        num_threads: Optional[int] = None,
        signature_key: Optional[str] = None,
        default_delegates: bool = True,
    ):
        """``tflite_model`` is .tflite bytes, a path or a ConversionResult; it is checked before LiteRT
        reads it (:class:`~tflite_fixups.ModelFileError` when it is not a well-formed model).
        ``default_delegates=False`` runs LiteRT's builtin kernels without XNNPACK, as runtimes
        without delegates (TFLite Micro, some NPUs' CPU fallback) do."""
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                        or num_threads < 1):
            raise InvalidInputError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        if signature_key is not None and not isinstance(signature_key, str):
            raise InvalidInputError(f"signature_key must be a signature name (str) or None, got {signature_key!r}")
        self._start(read_tflite(tflite_model), num_threads, signature_key, default_delegates)

    def _start(self, tflite_bytes: bytes, num_threads: Optional[int], signature_key: Optional[str],
               default_delegates: bool) -> None:
        self._options = dict(default_delegates=bool(default_delegates), num_threads=num_threads)
        self._tflite_model = tflite_bytes
        self.signature_key = signature_key
        self._open()

    def _open(self) -> None:
        """A fresh interpreter at the model's own input shapes (also after a resize the model refused)."""
        self.interpreter = open_interpreter(self._tflite_model, **self._options)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            if self.signature_key is not None:
                raise InvalidInputError(
                    f"the .tflite model has no SignatureDef, so no signature '{self.signature_key}'; "
                    "leave signature_key out to address its inputs and outputs by index"
                )
            # no SignatureDef (e.g. the converter's frozen-graph route): inputs and outputs by index, named by tensor
            self._runner, self._direct = None, True
            self.input_details = {d["name"]: d for d in self.interpreter.get_input_details()}
            self.output_details = {d["name"]: d for d in self.interpreter.get_output_details()}
            if len(self.input_details) != len(self.interpreter.get_input_details()) or len(
                    self.output_details) != len(self.interpreter.get_output_details()):
                raise InvalidInputError("the .tflite model has no SignatureDef and two of its inputs or outputs "
                                        "share a tensor name, so they cannot be told apart by name")
        else:
            if self.signature_key is None:
                self.signature_key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
            elif self.signature_key not in signatures:
                raise InvalidInputError(
                    f"the .tflite model has no signature '{self.signature_key}'; its signatures are "
                    f"{sorted(signatures)}"
                )
            self._runner = self.interpreter.get_signature_runner(self.signature_key)
            self.input_details = _in_index_order(self._runner.get_input_details(), self.interpreter.get_input_details())
            self.output_details = _in_index_order(self._runner.get_output_details(),
                                                  self.interpreter.get_output_details())
            self._direct = len(signatures) == 1 and _in_main_subgraph(
                self.interpreter, self.input_details, self.output_details)
            if self._direct:
                self._runner = None  # it holds the interpreter's internals, which makes the plain API refuse to invoke
        self._shapes = {name: tuple(int(n) for n in d["shape"]) for name, d in self.input_details.items()}
        self._output_index = [(name, d["index"]) for name, d in self.output_details.items()]
        # (name, tensor index, dtype, whether an array of that dtype needs no quantizing)
        self._input_plan = [(name, d["index"], np.dtype(d["dtype"]), not d.get("quantization", (0.0, 0))[0])
                            for name, d in self.input_details.items()]
        self._dequantized = [name for name, d in self.output_details.items()
                             if d.get("quantization", (0.0, 0))[0] and np.issubdtype(np.dtype(d["dtype"]), np.integer)]

    @property
    def input_names(self) -> List[str]:
        return list(self.input_details)

    @property
    def output_names(self) -> List[str]:
        return list(self.output_details)

    def run(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """One invoke. Inputs are cast to the model's input dtypes; float data for an
        int8/int16 input is quantized with its scale and zero point, and integer
        outputs that carry a scale are dequantized, so callers always see real values.

        A new input shape resizes the input and reallocates (the signature runner
        would do it on every call, which costs more than a small model's invoke).
        """
        arrays, resized = [], False
        for name, index, dtype, ready_as_is in self._input_plan:
            try:
                value = feed[name]
            except (KeyError, TypeError, IndexError):
                missing = [n for n in self.input_names if not isinstance(feed, Mapping) or n not in feed]
                raise InvalidInputError(
                    f"the .tflite model needs a dict of inputs {self.input_names}; missing {missing}"
                ) from None
            if not (ready_as_is and type(value) is np.ndarray and value.dtype == dtype and value.flags.c_contiguous):
                value = self._fit(name, value)
            if value.shape != self._shapes[name]:
                self._check_shape(name, value.shape)
                resized = True
            arrays.append((name, index, value))
        interpreter = self.interpreter
        try:
            if not self._direct:
                outputs = self._runner(**{name: value for name, _, value in arrays})
            else:
                if resized:
                    self._resize(arrays)
                for _, index, value in arrays:
                    interpreter.set_tensor(index, value)
                interpreter.invoke()
                outputs = {name: interpreter.get_tensor(index) for name, index in self._output_index}
        except Exception as error:
            self._open()  # a refused resize can leave the interpreter unusable; the next call starts clean
            raise InvalidInputError(
                f"LiteRT could not run the model on inputs of shapes { {n: v.shape for n, _, v in arrays} } "
                f"(the model's: { {n: tuple(int(x) for x in d['shape_signature']) for n, d in self.input_details.items()} }): "
                f"{describe_error(error)}"
            ) from error
        for name in self._dequantized:
            outputs[name] = _from_output(outputs[name], self.output_details[name])
        return outputs

    def _fit(self, name: str, value) -> np.ndarray:
        """``value`` as input ``name`` wants it; values that would change in the cast are refused."""
        details = self.input_details[name]
        try:
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"input '{name}' of the .tflite model expects an array, got "
                                    f"{type(value).__name__} ({error})") from error
        scale = details.get("quantization", (0.0, 0))[0]
        if not (scale and array.dtype.kind == "f"):  # float data for a quantized input is quantized below
            spec = InputSpec(name, tuple(int(d) for d in details["shape"]), np.dtype(details["dtype"]).name)
            array = cast_values(array, spec, "LiteRTRunner.run", [])
        return to_input(array, details)

    def _check_shape(self, name: str, shape) -> None:
        """A shape the model declares (``-1`` axes may take any size), so no fixed axis is silently resized."""
        signature = tuple(int(d) for d in self.input_details[name]["shape_signature"])
        fits = len(shape) == len(signature) and all(want in (-1, got) for want, got in zip(signature, shape))
        if not fits:
            declared = tuple(None if d == -1 else d for d in signature)
            free = " (None: any size)" if None in declared else ""
            raise InvalidInputError(f"input '{name}' of the .tflite model has shape {declared}{free}, got {tuple(shape)}")

    @property
    def batch_resizable(self) -> bool:
        """Whether the model declares every input's batch axis dynamic (-1), so batches of any size fit."""
        return all(len(d["shape_signature"]) and d["shape_signature"][0] == -1 for d in self.input_details.values())

    def _resize(self, arrays) -> None:
        for name, index, value in arrays:
            if value.shape != self._shapes[name]:
                self.interpreter.resize_tensor_input(index, value.shape, strict=False)
                self._shapes[name] = value.shape
        self.interpreter.allocate_tensors()


def to_input(value, details) -> np.ndarray:
    """``value`` as the dtype an input wants; float data for an integer input with a scale is quantized."""
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details.get("quantization", (0.0, 0))
    array = np.asarray(value)
    if scale and np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.floating):
        info = np.iinfo(dtype)
        array = np.clip(np.round(array / scale + zero_point), info.min, info.max)
    return np.asarray(array, dtype=dtype, order="C")  # ascontiguousarray would make a scalar 1-d


def _from_output(value, details) -> np.ndarray:
    """Integer outputs with a scale dequantized; others as LiteRT returned them (already a copy)."""
    scale, zero_point = details.get("quantization", (0.0, 0))
    if scale and np.issubdtype(np.asarray(value).dtype, np.integer):
        return ((np.asarray(value, np.float32) - zero_point) * scale).astype(np.float32)
    return np.asarray(value)


def _in_index_order(by_name: Dict[str, Dict], main_details: List[Dict]) -> Dict[str, Dict]:
    """A signature's details in the order of the primary subgraph's inputs/outputs (the I/O contract's)."""
    position = {d["index"]: i for i, d in enumerate(main_details)}
    return dict(sorted(by_name.items(), key=lambda item: position.get(item[1]["index"], len(position))))


def _in_main_subgraph(interpreter, input_details, output_details) -> bool:
    """Whether the (only) signature's tensors are the primary subgraph's, which the plain tensor API addresses."""
    main_inputs = {d["index"] for d in interpreter.get_input_details()}
    main_outputs = {d["index"] for d in interpreter.get_output_details()}
    return ({d["index"] for d in input_details.values()} == main_inputs
            and {d["index"] for d in output_details.values()} == main_outputs)
