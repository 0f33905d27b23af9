"""Which pass fixes what: the lookup the conversion error handler uses.

Rewrite families register the TF op types they replace with
:func:`register_fix`; messages that point to dynamic shapes map to the shape
pinning pass. Nothing here imports the passes, so there are no cycles.
"""

from __future__ import annotations

import re
import warnings
from typing import Dict, Iterable, List, Optional

_FIXES: Dict[str, str] = {}

#: Converter messages that mean "pin the input shapes", with the advice to give.
_SHAPE_MESSAGES = (
    ("requires element_shape to be static", "a recurrent layer needs static shapes"),
    ("TensorListReserve", "a recurrent layer needs static shapes"),
    ("dynamic shape", "the model has dynamic shapes"),
)
SHAPE_PASS = "pin_input_shapes"
#: Ops that decode or process strings (encoded images, text): TFLite builtins have none.
_STRING_OPS = re.compile(
    r"\btf\.(Decode(?:Jpeg|Png|Image|Gif|Bmp|Raw|Base64|CSV)|EncodeJpeg|EncodePng|String\w+|Substr|"
    r"(?:Static)?RegexReplace|RegexFullMatch|AsString|ReduceJoin|Unicode\w+|ParseExample\w*|ParseSingleExample)\b"
)


def register_fix(op_types: Iterable[str], pass_name: str) -> None:
    """Record that ``tff.passes.<pass_name>()`` rewrites each of ``op_types``.

    Registering an op type a second time under another pass warns and keeps the newer entry.
    """
    for op_type in op_types:
        previous = _FIXES.get(op_type)
        if previous is not None and previous != pass_name:
            warnings.warn(f"op type {op_type} was fixed by '{previous}', now by '{pass_name}'", stacklevel=2)
        _FIXES[op_type] = pass_name


def fix_for_op(op_type: str) -> Optional[str]:
    """Name of the pass that rewrites ``op_type``, if any."""
    return _FIXES.get(op_type)


def hints_for_message(message: str) -> List[str]:
    """Advice for converter failures that are not about one op."""
    hints = []
    for needle, problem in _SHAPE_MESSAGES:
        if needle in message:
            hints.append(
                f"{problem}: pin them with tff.passes.{SHAPE_PASS}((1, length, ...), mask=True), which "
                "pads/truncates data and masks the padding so sequence outputs stay exact "
                "(for a None batch alone, input_specs with batch 1 is enough)"
            )
            break
    string_ops = sorted(set(_STRING_OPS.findall(message)))
    if string_ops:
        hints.append(
            f"{', '.join(string_ops)} work(s) on strings (encoded images, text): TFLite builtins have no string "
            "ops. Split the preprocessing off (tf.data, or on the device) and convert the model from the decoded "
            "tensor on, or pass allow_select_tf_ops=True and link the Flex delegate"
        )
    return hints
