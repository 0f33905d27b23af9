"""Helpers and limits shared by the image rule modules (resampling, colour, windows)."""

from __future__ import annotations

from typing import Tuple

from ..._quiet import import_tensorflow
from ..registry import NodeView

tf = import_tensorflow()

_MAX_GATHER = 1 << 22  # gather-based rules: at most 4M gathered pixels (a 16 MB index table)


def _float_only(node: NodeView) -> None:
    """Decline anything but float32/float16/bfloat16 images (the types computed in float32 and cast back)."""
    dtype = node.input_dtypes[0]
    if dtype not in (tf.float32, tf.float16, tf.bfloat16):
        node.decline(f"only float32/float16/bfloat16 images are rewritten, got {dtype.name}")


def _image_hwc(node: NodeView) -> Tuple[int, int, int]:
    """Static (height, width, channels) of the NHWC image input 0 (the batch may be unknown)."""
    shape = node.input_shapes[0]
    if shape is None or len(shape) != 4 or any(d is None for d in shape[1:]):
        node.decline(f"{node.op_type} needs an NHWC image with static height, width and channels, got {shape}")
    return shape[1], shape[2], shape[3]  # type: ignore[index,return-value]
