"""Read what a .tflite flatbuffer contains, using TensorFlow's generated schema reader."""

from __future__ import annotations

from collections import Counter
from typing import Dict, List

from .._quiet import import_tensorflow

import_tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402  (generated flatbuffer reader)

_BUILTIN_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_") and isinstance(value, int)
}
_CUSTOM = schema.BuiltinOperator.CUSTOM
FLEX_PREFIX = "Flex"


def op_counts(tflite_model: bytes) -> Dict[str, int]:
    """Operator name -> number of uses over every subgraph.

    Builtins use their TFLite names (``"FULLY_CONNECTED"``); custom ops their
    custom code, so Select-TF ops appear as ``"FlexErf"``.
    """
    model = schema.Model.GetRootAs(tflite_model, 0)
    names: List[str] = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == _CUSTOM:
            custom = code.CustomCode()
            names.append(custom.decode("utf-8") if custom else "CUSTOM")
        else:
            names.append(_BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"))
    counts: Counter = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[names[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(sorted(counts.items()))


def flex_ops(counts: Dict[str, int]) -> List[str]:
    """TF op names that run through Select-TF (Flex) in a model with these op counts."""
    return sorted(name[len(FLEX_PREFIX):] for name in counts if name.startswith(FLEX_PREFIX))

