"""Turn the TFLite converter's errors into :class:`~tflite_fixups.errors.UnsupportedOp` records.

The converter attaches structured ``ConverterErrorData`` to its exception:
an error code (``ERROR_NEEDS_FLEX_OPS``, ``ERROR_NEEDS_CUSTOM_OPS``...), the
op (``tf.Erf``) and a call-site location whose names are graph node names
(``functional_1/attention_1/Erf``, or ``...Erf@__inference_serve_60`` inside a called function). We read those, and
fall back to the summary lines of the message text when they are missing.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ConversionError, UnsupportedOp
from ..models.keras_compat import layer_for_node, layer_names
from ..models.signature_model import SignatureModel
from .hints import fix_for_op, hints_for_message

_KINDS = {"ERROR_NEEDS_FLEX_OPS": "flex", "ERROR_NEEDS_CUSTOM_OPS": "custom"}
_SUMMARY = {"flex": re.compile(r"TF Select ops: ([^\n]+)"), "custom": re.compile(r"Custom ops: ([^\n]+)")}


def conversion_error(error: Exception, model: SignatureModel, log: str = "") -> ConversionError:
    """A :class:`ConversionError` naming each rejected op, where it came from and what fixes it."""
    message = str(error)
    ops = unsupported_ops_from(error, model)
    hints = hints_for_message(message + "\n" + log)
    lines = [f"the TFLite converter rejected the model ({len(ops)} unsupported op(s))" if ops else
             f"the TFLite converter failed: {_first_error_line(message)}"]
    lines += [f"  - {op.describe()}" for op in ops]
    lines += [f"  hint: {h}" for h in hints]
    lines.append("  (the converter's full message is in .converter_message)")
    return ConversionError("\n".join(lines), unsupported_ops=ops, converter_message=message, hints=hints)


def unsupported_ops_from(error: Exception, model: SignatureModel) -> List[UnsupportedOp]:
    """Rejected ops in the order the converter reported them, one entry per node."""
    known_layers = layer_names(model)
    found: Dict[Tuple[str, Optional[str]], UnsupportedOp] = {}
    for data in getattr(error, "errors", []) or []:
        kind = _kind_of(data)
        if kind is None or not data.operator.name:
            continue
        op_type = data.operator.name.split(".", 1)[-1]
        node = _node_name(data)
        layer = layer_for_node(node, known_layers, model.kind) if node else None
        found.setdefault((op_type, node), UnsupportedOp(op_type, kind, node, layer, fix_for_op(op_type)))
    seen_types = {op.op_type for op in found.values()}
    for kind, pattern in _SUMMARY.items():
        for match in pattern.finditer(str(error)):
            for op_type in (t.strip() for t in match.group(1).split(",")):
                if op_type and op_type not in seen_types:
                    seen_types.add(op_type)
                    found[(op_type, None)] = UnsupportedOp(op_type, kind, None, None, fix_for_op(op_type))
    return list(found.values())


def _kind_of(data: Any) -> Optional[str]:
    from tensorflow.compiler.mlir.lite.metrics import converter_error_data_pb2 as pb  # the converter's own proto

    return _KINDS.get(pb.ConverterErrorData.ErrorCode.Name(data.error_code))


def _node_name(data: Any) -> Optional[str]:
    """The graph node of a located error: ``node@function`` (inside a called function) or ``node`` (top level)."""
    for call in data.location.call:
        name = call.name.split("@", 1)[0]
        if name and not name.startswith(("StatefulPartitionedCall", "PartitionedCall")):
            return name
    return None


def _first_error_line(message: str) -> str:
    for line in message.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    return message.strip().splitlines()[0] if message.strip() else "unknown error"
