"""Models that capture TensorFlow lookup tables (StringLookup, IntegerLookup, TextVectorization, StaticHashTable).

A table is a resource the model captures, not a variable: freezing leaves its
handle as an extra input and the TFLite converter cannot take it (TF 2.21's
converter fails on these models too, with a Placeholder error). Such a model
loads and runs in TensorFlow; converting it raises a :class:`ConversionError`
that names the layer and the table op, instead of TensorFlow's ``TypeError``
from deep inside the freezing.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Tuple

from .._quiet import import_tensorflow
from ..errors import ConversionError, UnsupportedOp
from .keras_compat import layer_for_node, layer_names

#: TF ops that create, fill or read a lookup table.
TABLE_OPS = frozenset({
    "LookupTableFindV2", "LookupTableFind", "LookupTableImportV2", "LookupTableInsertV2", "LookupTableSizeV2",
    "LookupTableExportV2", "LookupTableRemoveV2", "HashTableV2", "HashTable", "MutableHashTableV2",
    "MutableHashTableOfTensorsV2", "MutableDenseHashTableV2", "InitializeTableV2", "InitializeTable",
    "InitializeTableFromTextFileV2", "AnonymousHashTable", "AnonymousMutableHashTable",
})
#: The table ops a message leads with: the ones that read the table at run time.
_READS = ("LookupTableFindV2", "LookupTableFind", "LookupTableSizeV2")


def refuse_lookup_tables(model: Any) -> None:
    """Raise :class:`ConversionError` when ``model`` (a SignatureModel) uses a lookup table.

    Raises:
        ConversionError: one :class:`UnsupportedOp` per table op found (kind
            ``"custom"``: nothing in TFLite takes a table captured from TF), naming
            its Keras layer when there is one.
    """
    found = list(_table_nodes(model.concrete_function.graph.as_graph_def()))
    if not found:
        return
    layers = layer_names(model)
    ops: List[UnsupportedOp] = []
    seen = set()
    for op_type, node, key_dtype in found:
        layer = layer_for_node(node, layers, model.kind)
        if (op_type, layer or node) in seen:
            continue
        seen.add((op_type, layer or node))
        ops.append(UnsupportedOp(op_type, "custom", node, layer, None))
    reads = [(op_type, node, key_dtype) for op_type, node, key_dtype in found if op_type in _READS] or found
    op_type, node, key_dtype = reads[0]
    layer = layer_for_node(node, layers, model.kind)
    where = f"layer '{layer}'" if layer else f"node '{node}'"
    keys = "strings" if key_dtype == "string" else f"{key_dtype} keys" if key_dtype else "keys"
    lines = [
        f"{where} uses {op_type} on {keys}: a TensorFlow lookup table (StringLookup, IntegerLookup, "
        "TextVectorization, tf.lookup tables) is a resource TFLite builtins cannot hold, and the converter "
        "cannot take a model that captures one. Split the preprocessing off: run the lookup in tf.data or on "
        "the device (the vocabulary as a plain array), and convert the model from its integer ids on",
    ]
    lines += [f"  - {op.describe().replace('; no pass rewrites it yet', '')}" for op in ops]
    raise ConversionError("\n".join(lines), unsupported_ops=ops,
                          hints=["split table lookups (StringLookup, TextVectorization...) off into preprocessing"])


def _table_nodes(graph_def: Any) -> Iterator[Tuple[str, str, Optional[str]]]:
    """``(op type, node name, key dtype)`` of every table op in the graph and its function library."""
    tf = import_tensorflow()
    bodies = [graph_def.node] + [function.node_def for function in graph_def.library.function]
    for nodes in bodies:
        for node in nodes:
            if node.op in TABLE_OPS:
                key = node.attr["Tin"].type if "Tin" in node.attr else node.attr["key_dtype"].type \
                    if "key_dtype" in node.attr else None
                yield node.op, node.name, tf.as_dtype(key).name if key else None
