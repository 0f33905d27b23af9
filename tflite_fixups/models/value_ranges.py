"""Which values an integer input may take: an Embedding's table size, a mask's {0, 1}.

Random probe data must stay inside these ranges: BERT's segment ids index a
table of 2 rows, so a segment id of 5 makes the model fail (or, in TFLite,
read out of bounds) instead of measuring anything.

The ranges are read from the traced graph, so they hold for Keras 3 and
tf-keras models (``GatherV2`` / ``ResourceGather`` on an Embedding's table),
keras-hub backbones and plain functions alike: an integer input is followed
forward through index arithmetic (casts, Keras 3's wrapping of negative
indices, reshapes) to the gathers it indexes, and the smallest table bounds it.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from .._quiet import import_tensorflow

#: Ops an index passes through on its way to a gather (elementwise arithmetic, casts, shape changes).
_INDEX_PATH_OPS = frozenset({
    "Cast", "Identity", "IdentityN", "ExpandDims", "Reshape", "Squeeze", "StridedSlice", "Slice", "Transpose",
    "AddV2", "Add", "Sub", "SelectV2", "Select", "Maximum", "Minimum", "ClipByValue", "Abs", "FloorMod",
    "Tile", "BroadcastTo", "ConcatV2", "Pack", "GatherV2", "Gather", "ResourceGather",
    "PartitionedCall", "StatefulPartitionedCall",
})
_GATHERS = frozenset({"GatherV2", "Gather", "ResourceGather"})
_CALLS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
_MAX_DEPTH = 12
#: An integer input named like this is a padding/attention mask: 1 for a real position, 0 for padding.
MASK_NAME = re.compile(r"mask", re.IGNORECASE)
#: Integer inputs of unknown meaning take values in [0, 2): small enough for any table they might index.
UNKNOWN_RANGE = (0, 2)


class ValueRange(NamedTuple):
    """Integer values in ``[low, high)`` and why."""

    low: int
    high: int
    why: str


def is_mask_input(name: str, dtype: str) -> bool:
    """An integer or bool input named like ``*mask*`` (keras-hub's ``padding_mask``)."""
    return bool(MASK_NAME.search(name)) and (dtype == "bool" or np.issubdtype(np.dtype(dtype), np.integer))


def integer_value_ranges(model: Any) -> Dict[str, ValueRange]:
    """The valid range of each integer input of a :class:`SignatureModel`, by input name.

    ``[0, n)`` for an input that indexes a table of n rows (the smallest, if
    several); ``[0, 2)`` for a ``*mask*`` input; ``[0, 2)`` when nothing says
    (an integer input that indexes nothing known).
    """
    found: Dict[str, ValueRange] = {}
    graph = model.concrete_function.graph
    placeholders = list(graph.inputs[: len(model.input_specs)])
    for spec, placeholder in zip(model.input_specs, placeholders):
        if spec.dtype == "bool" or not np.issubdtype(np.dtype(spec.dtype), np.integer):
            continue
        if is_mask_input(spec.name, spec.dtype):
            found[spec.name] = ValueRange(0, 2, "a mask: 1 for real positions, 0 for padding")
            continue
        tables = _table_sizes(graph, placeholder)
        if tables:
            size, where = min(tables)
            found[spec.name] = ValueRange(0, size, f"indexes a table of {size} rows ({where})")
        else:
            found[spec.name] = ValueRange(*UNKNOWN_RANGE, "no table it indexes was found")
    return found


def _table_sizes(graph: Any, start: Any) -> List[tuple]:
    """``(rows, node name)`` of every gather reached from ``start`` along index paths."""
    sizes: List[tuple] = []
    seen = set()
    frontier = [(graph, start, 0)]
    while frontier:
        current_graph, tensor, depth = frontier.pop()
        if depth > _MAX_DEPTH or (id(current_graph), tensor.name) in seen:
            continue
        seen.add((id(current_graph), tensor.name))
        for op in tensor.consumers():
            if op.type not in _INDEX_PATH_OPS:
                continue
            positions = [i for i, t in enumerate(op.inputs) if t is tensor]
            if op.type in _GATHERS:
                if 1 in positions:
                    rows = _gathered_rows(op)
                    if rows:
                        sizes.append((rows, op.name))
                continue  # the gathered values are not indices any more
            if op.type in _CALLS:
                body = _call_body(current_graph, op)
                if body is not None:
                    captured = len(body.inputs) - len(op.inputs)
                    for position in positions:
                        if position < len(body.inputs) - max(captured, 0):
                            frontier.append((body, body.inputs[position], depth + 1))
                continue
            for output in op.outputs:
                if output.dtype.is_integer:
                    frontier.append((current_graph, output, depth + 1))
    return sizes


def _gathered_rows(op: Any) -> Optional[int]:
    """The size of the gathered axis of a gather's table, when static."""
    tf = import_tensorflow()
    axis = 0
    if op.type == "GatherV2":
        axis_value = tf.get_static_value(op.inputs[2])
        if axis_value is None:
            return None
        axis = int(axis_value)
    params = op.inputs[0]
    shape = _resource_shape(params) if params.dtype == tf.resource else params.shape
    if shape is None or shape.rank is None or not -shape.rank <= axis < shape.rank:
        return None
    rows = shape[axis]
    return int(rows) if rows is not None else None


def _resource_shape(handle: Any) -> Optional[Any]:
    """The shape of the variable a resource handle points at, from the handle's own data."""
    tf = import_tensorflow()
    try:
        from tensorflow.python.ops import handle_data_util  # no public equivalent

        data = handle_data_util.get_resource_handle_data(handle)
    except Exception:  # a handle without shape data
        return None
    if not data.is_set or not data.shape_and_type:
        return None
    return tf.TensorShape(data.shape_and_type[0].shape)


def _call_body(graph: Any, op: Any) -> Optional[Any]:
    try:
        name = op.get_attr("f").name
        function = graph._get_function(name)  # the traced body of a nested tf.function (no public accessor)
    except Exception:  # not a function call we can open
        return None
    return getattr(function, "graph", None)


def describe_ranges(ranges: Dict[str, ValueRange], names: Sequence[str]) -> str:
    """E.g. ``"token_ids in [0, 100) (indexes a table of 100 rows ...)"`` for the named inputs."""
    return "; ".join(f"{name} in [{ranges[name].low}, {ranges[name].high}) ({ranges[name].why})"
                     for name in names if name in ranges)


def random_sample_ranges(model: Any) -> Dict[str, ValueRange]:
    """:func:`integer_value_ranges` for drawing random samples; {} for a model without integer inputs.

    The ranges only narrow random integers, so a graph this walk cannot read
    leaves the defaults (and says nothing), rather than failing the conversion.
    """
    if not any(s.dtype != "bool" and np.issubdtype(np.dtype(s.dtype), np.integer)
               for s in model.input_specs if s.dtype != "string"):
        return {}
    try:
        return integer_value_ranges(model)
    except Exception:  # noqa: BLE001 (a model this walk does not understand keeps the default ranges)
        return {}
