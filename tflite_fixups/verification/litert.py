"""Run .tflite models with LiteRT (``ai_edge_litert``), the successor of ``tf.lite.Interpreter``."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import numpy as np

from .._quiet import quiet_tensorflow
from ..errors import InvalidInputError


def open_interpreter(
    tflite_model: bytes, *, preserve_all_tensors: bool = False, default_delegates: bool = True,
    num_threads: Optional[int] = None,
):
    """A LiteRT interpreter with tensors allocated (quietly); ``preserve_all_tensors`` keeps intermediates readable."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

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

    Example:
        >>> runner = LiteRTRunner(result.tflite_model)          # doctest: +SKIP
        >>> runner.run({"image": x})["predictions"].shape       # doctest: +SKIP
        (1, 10)
    """

    def __init__(
        self,
        tflite_model: bytes,
        *,
        num_threads: Optional[int] = None,
        signature_key: Optional[str] = None,
        default_delegates: bool = True,
    ):
        """``default_delegates=False`` runs LiteRT's builtin kernels without XNNPACK, as runtimes
        without delegates (TFLite Micro, some NPUs' CPU fallback) do."""
        self.interpreter = open_interpreter(tflite_model, default_delegates=default_delegates, num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise InvalidInputError(
                "the .tflite model has no SignatureDef; convert it with tflite_fixups (or from a SavedModel) "
                "so inputs and outputs have names"
            )
        if signature_key is None:
            signature_key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
        self.signature_key = signature_key
        self._runner = self.interpreter.get_signature_runner(signature_key)
        self.input_details = self._runner.get_input_details()
        self.output_details = self._runner.get_output_details()

    @property
    def input_names(self) -> List[str]:
        return list(self.input_details)

    @property
    def output_names(self) -> List[str]:
        return list(self.output_details)

    def run(self, feed: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """One invoke. Inputs are cast to the model's input dtypes; float data for an
        int8/int16 input is quantized with its scale and zero point, and integer
        outputs that carry a scale are dequantized, so callers always see real values."""
        missing = [n for n in self.input_names if n not in feed]
        if missing:
            raise InvalidInputError(f"the .tflite model needs inputs {self.input_names}; missing {missing}")
        arrays = {name: to_input(feed[name], self.input_details[name]) for name in self.input_names}
        outputs = self._runner(**arrays)
        return {name: _from_output(value, self.output_details[name]) for name, value in outputs.items()}


def to_input(value, details) -> np.ndarray:
    """``value`` as the dtype an input wants; float data for an integer input with a scale is quantized."""
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details.get("quantization", (0.0, 0))
    array = np.asarray(value)
    if scale and np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.floating):
        info = np.iinfo(dtype)
        array = np.clip(np.round(array / scale + zero_point), info.min, info.max)
    return np.ascontiguousarray(array, dtype=dtype)


def _from_output(value, details) -> np.ndarray:
    scale, zero_point = details.get("quantization", (0.0, 0))
    if scale and np.issubdtype(np.asarray(value).dtype, np.integer):
        return ((np.asarray(value, np.float32) - zero_point) * scale).astype(np.float32)
    return np.array(value, copy=True)
