"""Run .tflite models with LiteRT (``ai_edge_litert``), the successor of ``tf.lite.Interpreter``."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import numpy as np

from .._quiet import quiet_tensorflow
from ..errors import InvalidInputError


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
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.AUTO if default_delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        with quiet_tensorflow():  # the XNNPACK delegate announces itself at the first allocation
            self.interpreter = Interpreter(
                model_content=bytes(tflite_model), num_threads=num_threads, experimental_op_resolver_type=resolver
            )
            self.interpreter.allocate_tensors()
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
        """One invoke; inputs are cast to the model's input dtypes."""
        missing = [n for n in self.input_names if n not in feed]
        if missing:
            raise InvalidInputError(f"the .tflite model needs inputs {self.input_names}; missing {missing}")
        arrays = {
            name: np.ascontiguousarray(feed[name], dtype=self.input_details[name]["dtype"]) for name in self.input_names
        }
        outputs = self._runner(**arrays)
        return {name: np.array(value, copy=True) for name, value in outputs.items()}
