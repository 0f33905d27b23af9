"""Graph surgery: replace nodes of a frozen TF graph, function library included.

How a node is replaced: the rule runs on placeholders with the node's static
input shapes in a scratch ``tf.Graph``; the resulting nodes are renamed under
``<node>/tff_<rule>/`` and spliced in, their placeholders wired to the node's
real inputs, and an ``IdentityN`` *named like the original node* gathers the
outputs, so every consumer (``node:0``, ``node:1``, ``^node``) stays wired
without being touched. The converter folds the ``IdentityN`` away.

Functions (``While``/``If`` bodies, ``PartitionedCall`` targets) are rewritten
callees first, each re-traced into a function with its original name, so the
ops calling them need no change either.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .._quiet import import_tensorflow, quiet_tensorflow
from ..errors import InvalidInputError, RuleError, TfliteFixupsError
from ..models.signature_model import SignatureModel
from ..passes.base import count_ops
from ..rewrites.registry import ComplexParts, NodeView, Rule, RuleDeclined

tf = import_tensorflow()
from tensorflow.core.framework import graph_pb2, node_def_pb2  # noqa: E402
from tensorflow.python.framework import function_def_to_graph  # noqa: E402  (TF's own FunctionDef reader)

RuleSelector = Callable[[str], Sequence[Rule]]
_INPUT_PREFIX = "tff_input_"
_OUTPUTS = "tff_outputs"
_PARTS = "tff_complex_parts"
_fresh = itertools.count()  # rewritten functions get new names: the old ones live on in TF's eager context


@dataclass
class Replaced:
    """One node that a rule replaced."""

    node: str
    op_type: str
    rule: Rule
    function: Optional[str] = None


@dataclass
class Declined:
    """One node every applicable rule declined."""

    node: str
    op_type: str
    reason: str
    quiet: bool
    function: Optional[str] = None


@dataclass
class SurgeryResult:
    model: SignatureModel
    replaced: List[Replaced] = field(default_factory=list)
    declined: List[Declined] = field(default_factory=list)
    ops_before: Dict[str, int] = field(default_factory=dict)
    ops_after: Dict[str, int] = field(default_factory=dict)


def rewrite_model(model: SignatureModel, select: RuleSelector) -> SurgeryResult:
    """Replace every node for which ``select(op_type)`` yields a rule that accepts it.

    Returns a new :class:`SignatureModel` (the input is untouched) with the
    same input and output names; it re-runs this surgery when retraced for
    other input shapes.
    """
    with quiet_tensorflow():
        frozen = model.frozen_function()
        graph_def = frozen.graph.as_graph_def()
        library = {f.signature.name: f for f in graph_def.library.function}
        graphs = _function_graphs(frozen.graph, library)
        result = SurgeryResult(model=model, ops_before=count_ops(graph_def))
        renamed: Dict[str, str] = {}
        for name in _callees_first(library):
            function_graph = graphs.get(name)
            if function_graph is None:
                continue
            nodes, new_functions = _rewrite_nodes(function_graph, select, result, function=name)
            library.update(new_functions)
            if nodes is None and not any(callee in renamed for callee in _callees(library[name])):
                continue
            nodes = _renamed_calls(nodes if nodes is not None else list(function_graph.as_graph_def().node), renamed)
            renamed[name] = f"{name}_tff{next(_fresh)}"
            library.update(_retrace_function(library[name], renamed[name], function_graph, nodes, library))
        nodes, new_functions = _rewrite_nodes(frozen.graph, select, result, function=None)
        library.update(new_functions)
        if nodes is None and not renamed:
            result.ops_after = result.ops_before
            return result
        nodes = _renamed_calls(nodes if nodes is not None else list(graph_def.node), renamed)
        main = _graph_def(nodes, _reachable(nodes, library), graph_def.versions)
        main = _without_placeholders(main, frozen.inputs)
        result.ops_after = count_ops(main)
        result.ops_after["Placeholder"] = result.ops_before.get("Placeholder", 0)  # fed by input_map now
        result.model = _signature_model(model, frozen, main, select, _replaced_ops(result))
    return result


def _replaced_ops(result: SurgeryResult) -> Counter:
    return Counter(r.op_type for r in result.replaced)


# --- one graph ---------------------------------------------------------------------------


def _rewrite_nodes(graph, select: RuleSelector, result: SurgeryResult, *, function: Optional[str]):
    """The graph's nodes with replacements spliced in (None if nothing changed) and new functions."""
    nodes = list(graph.as_graph_def().node)  # creation order, so producers come before consumers
    out: List = []
    new_functions: Dict[str, object] = {}
    parts: Dict[str, Tuple[str, str]] = {}  # complex tensor -> (real, imag) tensors, once lowered
    touched = False
    for node in nodes:
        rules = select(node.op)
        if not rules:
            out.append(node)
            continue
        view = _node_view(graph.get_operation_by_name(node.name), function)
        rules = [rule for rule in rules if rule.applies_to(view)]
        replacement = None
        for rule in rules:
            try:
                replacement = _replacement(node, view, rule, parts)
            except RuleDeclined as declined:
                result.declined.append(Declined(node.name, node.op, declined.reason, declined.quiet, function))
                continue
            result.replaced.append(Replaced(node.name, node.op, rule, function))
            break
        if replacement is None:
            out.append(node)
            continue
        replacement_nodes, functions = replacement
        out.extend(replacement_nodes)
        new_functions.update(functions)
        touched = True
    return (out if touched else None), new_functions


def _node_view(op, function: Optional[str]) -> NodeView:
    attrs = {}
    for key in op.node_def.attr:
        if not key.startswith("_"):
            attrs[key] = op.get_attr(key)
    return NodeView(
        name=op.name,
        op_type=op.type,
        attrs=attrs,
        raw_attrs={key: op.node_def.attr[key] for key in op.node_def.attr},
        input_constants=[_constant_value(t) for t in op.inputs],
        input_shapes=[_shape(t) for t in op.inputs],
        input_dtypes=[t.dtype for t in op.inputs],
        output_shapes=[_shape(t) for t in op.outputs],
        output_dtypes=[t.dtype for t in op.outputs],
        function=function,
    )


def _constant_value(tensor):
    """The value of ``tensor`` when TF can fold it (a Const, or one behind Identity/Cast/Pack... chains:
    constants captured from outside a tf.function arrive through such an Identity)."""
    if tensor.op.type == "Placeholder":
        return None
    try:
        return tf.get_static_value(tensor)
    except (TypeError, ValueError, tf.errors.OpError):
        return None


def _shape(tensor) -> Optional[Tuple[Optional[int], ...]]:
    return None if tensor.shape.rank is None else tuple(tensor.shape.as_list())


def _replacement(node, view: NodeView, rule: Rule, parts: Dict[str, Tuple[str, str]]):
    """NodeDefs (renamed and wired) and library functions that replace ``node``.

    Records in ``parts`` the (real, imag) tensors of complex outputs the rule lowered.
    """
    data_inputs = [i for i in node.input if not i.startswith("^")]
    control_inputs = [i for i in node.input if i.startswith("^")]
    view.lowered_inputs = [rule.complex_parts and _tensor_ref(i) in parts for i in data_inputs]
    scratch = tf.Graph()
    with scratch.as_default():
        arguments = [_rule_argument(i, dtype, shape, rule, lowered)
                     for i, (dtype, shape, lowered) in enumerate(zip(view.input_dtypes, view.input_shapes,
                                                                     view.lowered_inputs))]
        try:
            outputs = rule.function(view, *arguments)
        except (RuleDeclined, TfliteFixupsError):
            raise
        except Exception as error:
            raise _rule_error(rule, view, f"raised {type(error).__name__}: {error}") from error
        outputs, lowered_outputs = _check_outputs(outputs, view, rule)
        tf.raw_ops.IdentityN(input=outputs, name=_OUTPUTS)
        if lowered_outputs:
            tf.raw_ops.IdentityN(input=[t for _, pair in lowered_outputs for t in pair], name=_PARTS)
    scratch_def = scratch.as_graph_def()
    prefix = f"{node.name}/tff_{rule.name}/"

    def rename(name: str) -> str:
        return node.name if name == _OUTPUTS else prefix + name

    def rewire(reference: str) -> str:
        control = reference.startswith("^")
        base, _, index = reference.lstrip("^").partition(":")
        if base.startswith(_INPUT_PREFIX):
            position, _, part = base[len(_INPUT_PREFIX):].partition("_")
            real = data_inputs[int(position)]
            if part:
                real = parts[_tensor_ref(real)][0 if part == "re" else 1]
            return "^" + real.split(":")[0] if control else real
        return ("^" if control else "") + rename(base) + (f":{index}" if index else "")

    new_nodes = []
    for scratch_node in scratch_def.node:
        if scratch_node.op == "Placeholder" and scratch_node.name.startswith(_INPUT_PREFIX):
            continue
        copy = node_def_pb2.NodeDef()
        copy.CopyFrom(scratch_node)
        copy.name = rename(scratch_node.name)
        del copy.input[:]
        copy.input.extend(rewire(i) for i in scratch_node.input)
        if scratch_node.name == _OUTPUTS:
            copy.input.extend(control_inputs)
        copy.device = node.device
        new_nodes.append(copy)
    for position, (index, _) in enumerate(lowered_outputs):
        parts[f"{node.name}:{index}"] = (f"{prefix}{_PARTS}:{2 * position}", f"{prefix}{_PARTS}:{2 * position + 1}")
    return new_nodes, {f.signature.name: f for f in scratch_def.library.function}


def _tensor_ref(reference: str) -> str:
    """``node`` and ``node:0`` name the same tensor."""
    return reference if ":" in reference else f"{reference}:0"


def _rule_argument(index: int, dtype, shape, rule: Rule, lowered: bool):
    """What the rule receives for one input: a placeholder, or ComplexParts for complex-aware rules."""
    if not (rule.complex_parts and dtype.is_complex):
        return tf.compat.v1.placeholder(dtype, shape=shape, name=f"{_INPUT_PREFIX}{index}")
    if lowered:
        part_dtype = dtype.real_dtype
        return ComplexParts(
            tf.compat.v1.placeholder(part_dtype, shape=shape, name=f"{_INPUT_PREFIX}{index}_re"),
            tf.compat.v1.placeholder(part_dtype, shape=shape, name=f"{_INPUT_PREFIX}{index}_im"),
        )
    whole = tf.compat.v1.placeholder(dtype, shape=shape, name=f"{_INPUT_PREFIX}{index}")
    return ComplexParts(tf.math.real(whole), tf.math.imag(whole))  # REAL/IMAG are builtins


def _rule_error(rule: Rule, view: NodeView, what: str) -> RuleError:
    return RuleError(
        f"rewrite rule '{rule.name}' for {view.op_type} {what} on node '{view.where()}'; fix the rule, or leave the "
        f"op alone with replace_unsupported_ops(exclude=['{view.op_type}'])",
        rule=rule.name, op_type=view.op_type, node=view.name,
    )


def _check_outputs(outputs, view: NodeView, rule: Rule):
    """The outputs as tensors (lowered complex ones re-assembled) and the lowered (index, parts) pairs."""
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    if len(outputs) != len(view.output_dtypes):
        raise _rule_error(rule, view, f"returned {len(outputs)} outputs where the node has {len(view.output_dtypes)}")
    tensors, lowered = [], []
    for i, (value, dtype, shape) in enumerate(zip(outputs, view.output_dtypes, view.output_shapes)):
        if isinstance(value, ComplexParts):
            if not dtype.is_complex:
                raise _rule_error(rule, view, f"returned ComplexParts for real output {i}")
            pair = (tf.convert_to_tensor(value.real, dtype.real_dtype), tf.convert_to_tensor(value.imag, dtype.real_dtype))
            lowered.append((i, pair))
            value = tf.complex(*pair)  # dead once every consumer takes the parts; the converter drops it
        try:
            tensor = tf.convert_to_tensor(value)
        except (TypeError, ValueError) as error:
            raise _rule_error(rule, view, f"returned a {type(value).__name__} for output {i}, not a tensor") from error
        if tensor.dtype != dtype:
            raise _rule_error(rule, view, f"returned {tensor.dtype.name} for output {i}, expected {dtype.name}")
        if shape is not None and not tensor.shape.is_compatible_with(shape):
            raise _rule_error(rule, view, f"returned shape {tensor.shape} for output {i}, expected {shape}")
        tensors.append(tensor)
    return tensors, lowered


# --- functions ------------------------------------------------------------------------------


def _callees(function_def) -> List[str]:
    return [name for node in function_def.node_def for name in _node_callees(node)]


def _renamed_calls(nodes, renamed: Dict[str, str]) -> List:
    """Copies of ``nodes`` whose function-valued attributes point at the renamed functions."""
    if not renamed:
        return list(nodes)
    updated = []
    for node in nodes:
        copy = node_def_pb2.NodeDef()
        copy.CopyFrom(node)
        for value in copy.attr.values():
            if value.HasField("func") and value.func.name in renamed:
                value.func.name = renamed[value.func.name]
            for function in value.list.func:
                if function.name in renamed:
                    function.name = renamed[function.name]
        updated.append(copy)
    return updated


def _node_callees(node) -> List[str]:
    names = []
    for value in node.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names.extend(f.name for f in value.list.func)
    return names


def _reachable(nodes, library: Dict[str, object]) -> Dict[str, object]:
    """The library functions ``nodes`` call, directly or through other functions."""
    pending = [name for node in nodes for name in _node_callees(node)]
    kept: Dict[str, object] = {}
    while pending:
        name = pending.pop()
        if name in kept or name not in library:
            continue
        kept[name] = library[name]
        pending.extend(_callees(library[name]))
    return kept


def _callees_first(library: Dict[str, object]) -> List[str]:
    order: List[str] = []
    seen = set()

    def visit(name: str) -> None:
        if name in seen or name not in library:
            return
        seen.add(name)
        for callee in _callees(library[name]):
            visit(callee)
        order.append(name)

    for name in list(library):
        visit(name)
    return order


def _call_input_shapes(op) -> Dict[str, List]:
    """Input shapes each function called by ``op`` will see (While/If/PartitionedCall)."""
    shapes = [t.shape for t in op.inputs]
    found: Dict[str, List] = {}
    for key in op.node_def.attr:
        value = op.node_def.attr[key]
        names = ([value.func.name] if value.HasField("func") else []) + [f.name for f in value.list.func]
        for name in names:
            found[name] = shapes[1:] if op.type in ("If", "StatelessIf") else shapes
    return found


def _function_graphs(main_graph, library) -> Dict[str, object]:
    """A FuncGraph per library function, with input shapes taken from its callers where known."""
    hints: Dict[str, List] = {}
    for op in main_graph.get_operations():
        hints.update({k: v for k, v in _call_input_shapes(op).items() if k not in hints})
    graphs: Dict[str, object] = {}
    pending = list(hints) + [name for name in library if name not in hints]
    while pending:
        name = pending.pop(0)
        if name in graphs or name not in library:
            continue
        shapes = hints.get(name)
        try:
            graph = function_def_to_graph.function_def_to_graph(library[name], input_shapes=shapes)
        except (ValueError, TypeError):
            graph = function_def_to_graph.function_def_to_graph(library[name])
        graphs[name] = graph
        for op in graph.get_operations():
            for callee, callee_shapes in _call_input_shapes(op).items():
                if callee not in hints:
                    hints[callee] = callee_shapes
                    pending.append(callee)
    return graphs


def _retrace_function(original_def, new_name: str, function_graph, nodes, library) -> Dict[str, object]:
    """Re-trace a rewritten function body as ``new_name`` (plus the functions it needs)."""
    body = _without_placeholders(_graph_def(nodes, library, None), function_graph.inputs)
    specs = [tf.TensorSpec(t.shape, t.dtype) for t in function_graph.inputs]
    input_names = [t.name for t in function_graph.inputs]
    output_names = [t.name for t in function_graph.outputs]

    def replay(*args):
        by_name = dict(zip(input_names, args))
        used = _consumed(body, by_name)
        imported_names = [n for n in output_names if n not in by_name]
        imported = tf.graph_util.import_graph_def(
            body, input_map=used, return_elements=imported_names, name=""
        ) if imported_names else []
        imported_by_name = dict(zip(imported_names, imported))
        return [by_name.get(n, imported_by_name.get(n)) for n in output_names]

    concrete = tf.function(replay, input_signature=specs, autograph=False).get_concrete_function()
    traced = concrete.graph.as_graph_def()
    definition = type(original_def)()
    definition.CopyFrom(concrete.function_def)
    definition.signature.name = new_name
    for key, value in original_def.attr.items():
        definition.attr[key].CopyFrom(value)
    functions = {f.signature.name: f for f in traced.library.function}
    functions[definition.signature.name] = definition
    return functions


# --- assembling the new model -----------------------------------------------------------------


def _graph_def(nodes, library: Dict[str, object], versions):
    graph_def = graph_pb2.GraphDef()
    graph_def.node.extend(nodes)
    graph_def.library.function.extend(library.values())
    if versions is not None:
        graph_def.versions.CopyFrom(versions)
    return graph_def


def _without_placeholders(graph_def, inputs):
    """Drop the placeholder nodes of ``inputs``: they are fed through ``input_map`` instead."""
    names = {t.op.name for t in inputs}
    kept = graph_pb2.GraphDef()
    kept.CopyFrom(graph_def)
    del kept.node[:]
    kept.node.extend(n for n in graph_def.node if n.name not in names)
    return kept


def _consumed(graph_def, feeds: Dict[str, object]) -> Dict[str, object]:
    """The feeds some node reads: import_graph_def refuses to map an input nothing consumes
    (an If branch's unused argument, a model input the outputs do not depend on)."""
    read = {reference.lstrip("^").split(":")[0] for node in graph_def.node for reference in node.input}
    return {name: tensor for name, tensor in feeds.items() if name.split(":")[0] in read}


def _signature_model(model: SignatureModel, frozen, graph_def, select: RuleSelector, replaced: Counter) -> SignatureModel:
    input_names = [t.name for t in frozen.inputs]
    output_names = [t.name for t in frozen.outputs]
    structure = model.concrete_function.structured_outputs

    def flat_function(*args):
        feeds = dict(zip(input_names, args))
        imported = [n for n in output_names if n not in feeds]
        outputs = dict(zip(imported, tf.graph_util.import_graph_def(
            graph_def, input_map=_consumed(graph_def, feeds), return_elements=imported, name="rewritten"
        ))) if imported else {}
        outputs = [feeds.get(n, outputs.get(n)) for n in output_names]
        return tf.nest.pack_sequence_as(structure, outputs)

    def retrace(specs):
        """The surgery again at other shapes; it must replace what it replaced the first time."""
        again = rewrite_model(model.with_input_specs(specs), select)
        if _replaced_ops(again) != replaced:
            why = "; ".join(sorted({f"{d.op_type}: {d.reason}" for d in again.declined})) or "rules declined"
            raise InvalidInputError(
                f"the rewritten model cannot be traced for inputs {[str(s) for s in specs]}: at those shapes "
                f"the rewrite would keep ops it replaced before ({why})"
            )
        return again.model

    rewritten = SignatureModel(
        flat_function, model.input_specs, kind="graph", source=model, retrace=retrace,
        native_input_specs=model.native_input_specs,
    )
    rewritten.pinning = model.pinning
    return rewritten
