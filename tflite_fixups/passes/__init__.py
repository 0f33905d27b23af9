"""Passes: composable ``model -> model`` transforms that each report what they changed.

The pass families (op rewrites, shape pinning, fake quantization) are exported
here; write your own by subclassing :class:`Pass` or decorating a
function with :func:`function_pass`, and drop it into a :class:`Pipeline`.
"""

from .base import FunctionPass, Pass, PassContext, PassReport, PassResult, Replacement, as_pass, count_ops, function_pass
from .fake_quant import InsertFakeQuant, insert_fake_quant
from .pipeline import Pipeline, PipelineRun, Stage
from .replace_ops import ReplaceUnsupportedOps, replace_unsupported_ops
from .shapes import PinInputShapes, UnrollRnns, pin_input_shapes, unroll_rnns

__all__ = [
    "FunctionPass", "InsertFakeQuant", "Pass", "PassContext", "PassReport", "PassResult", "PinInputShapes", "Pipeline",
    "PipelineRun", "Replacement", "ReplaceUnsupportedOps", "Stage", "UnrollRnns", "as_pass", "count_ops",
    "function_pass", "insert_fake_quant", "pin_input_shapes", "replace_unsupported_ops", "unroll_rnns",
]
