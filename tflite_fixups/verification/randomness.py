"""Which outputs of a model are random by design (a VAE's sampling layer), so cannot be compared.

The traced graph is walked back from each output through data inputs, into
called functions (``PartitionedCall``, ``If``/``While`` bodies, direct function
calls) of the function library. An output that depends on a random op
(``RandomStandardNormal``, ``RandomUniform``, ``StatelessRandomNormalV2`` fed
by a Keras 3 ``SeedGenerator``...) differs between any two runs, or between
TensorFlow's and LiteRT's random streams, so verification does not compare it.
Layers that are random only in training (``Dropout``, ``GaussianNoise``) trace
no random op in inference and are not affected.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

from ..models.signature_model import SignatureModel

#: Op types whose values are random draws (stateful, or stateless with a seed that may change between calls).
RANDOM_OP = re.compile(
    r"^(Random(StandardNormal|Uniform|UniformInt|Gamma|Poisson|PoissonV2|Shuffle|Crop|Binomial)"
    r"|TruncatedNormal|ParameterizedTruncatedNormal|Multinomial"
    r"|Stateless(Random\w*|TruncatedNormal\w*|Multinomial|ParameterizedTruncatedNormal|Shuffle)"
    r"|Stateful(StandardNormal\w*|Uniform\w*|TruncatedNormal|RandomBinomial)"
    r"|RandomIndexShuffle)$"
)
#: Ops that only derive a key and counter from a seed: random only through what consumes them.
_SEED_ONLY = {"StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg", "StatelessRandomGetAlg"}

#: One random op: (op type, node name).
RandomOp = Tuple[str, str]


def is_random_op(op_type: str) -> bool:
    """Whether ``op_type`` draws random values (``RandomStandardNormal``, ``StatelessRandomUniformV2``...)."""
    return op_type not in _SEED_ONLY and RANDOM_OP.match(op_type) is not None


def random_dependencies(model: SignatureModel) -> Dict[str, List[RandomOp]]:
    """Output name -> the random ops its value depends on, for the outputs that depend on any.

    Never raises: a graph that cannot be read is taken as deterministic.
    """
    try:
        graph_def = model.concrete_function.graph.as_graph_def()
        structure = model.concrete_function.structured_outputs
    except Exception:  # a model whose graph cannot be serialised is simply not analysed
        return {}
    library = {f.signature.name: f for f in graph_def.library.function}
    if not any(is_random_op(n.op) for n in graph_def.node) and not any(
            is_random_op(n.op) for f in library.values() for n in f.node_def):
        return {}
    taint = _Analysis(library).graph_taint(graph_def)
    found: Dict[str, List[RandomOp]] = {}
    for name, tensor in structure.items():
        ops = taint(tensor.op.name, tensor.value_index) if hasattr(tensor, "op") else set()
        if ops:
            found[str(name)] = sorted(ops)
    return found


class _Analysis:
    """Random taint through a GraphDef and its function library, each function analysed once."""

    def __init__(self, library):
        self.library = library
        self._function_taint: Dict[str, List[Set[RandomOp]]] = {}

    def graph_taint(self, graph_def):
        """A function (node name, output index) -> random ops, over the top-level graph."""
        nodes = {n.name: n for n in graph_def.node}
        memo: Dict[str, object] = {}

        def parse(text: str) -> Optional[Tuple[str, int]]:
            if text.startswith("^"):
                return None
            node, _, index = text.partition(":")
            return node, int(index or 0)

        def taint(name: str, index: int) -> Set[RandomOp]:
            return self._node_taint(nodes, name, memo, parse)(index)

        return taint

    def function_outputs(self, name: str) -> List[Set[RandomOp]]:
        """Random ops behind each flat output of library function ``name``."""
        if name in self._function_taint:
            return self._function_taint[name]
        function = self.library.get(name)
        if function is None:
            return []
        self._function_taint[name] = []  # recursion (a While body calling itself) ends here
        nodes = {n.name: n for n in function.node_def}
        arguments = {a.name for a in function.signature.input_arg}
        memo: Dict[str, object] = {}

        def parse(text: str) -> Optional[Tuple[str, int]]:
            if text.startswith("^"):
                return None
            parts = text.split(":")
            if parts[0] in arguments and parts[0] not in nodes:
                return None  # a function argument: random only through its caller, which is tracked there
            if len(parts) == 3:
                return parts[0], self._flat_index(nodes.get(parts[0]), parts[1], int(parts[2]))
            return parts[0], int(parts[1]) if len(parts) == 2 else 0

        result = []
        for arg in function.signature.output_arg:
            source = parse(function.ret[arg.name])
            result.append(set() if source is None or source[0] not in nodes
                          else self._node_taint(nodes, source[0], memo, parse)(source[1]))
        self._function_taint[name] = result
        return result

    def _flat_index(self, node, arg_name: str, index: int) -> int:
        """``node:out_arg:index`` as a flat output index, exact for function calls (whose outputs are one list)."""
        if node is not None and node.op in self.library:
            names = [a.name for a in self.library[node.op].signature.output_arg]
            return names.index(arg_name) + index if arg_name in names else index
        return index

    def _called(self, node) -> List[str]:
        called = [node.op] if node.op in self.library else []
        for value in node.attr.values():
            if value.HasField("func"):
                called.append(value.func.name)
            elif value.HasField("list"):
                called += [f.name for f in value.list.func]
        return [c for c in called if c in self.library]

    def _node_taint(self, nodes, start: str, memo, parse):
        """(output index -> random ops) for node ``start``, walking its inputs iteratively (graphs are deep)."""
        stack = [start]
        while stack:
            name = stack[-1]
            if name in memo:
                stack.pop()
                continue
            node = nodes.get(name)
            if node is None:
                memo[name] = lambda index: set()
                stack.pop()
                continue
            sources = [s for s in (parse(i) for i in node.input) if s is not None and s[0] in nodes]
            pending = [s[0] for s in sources if s[0] not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            inherited: Set[RandomOp] = set()
            for source, index in sources:
                inherited |= memo[source](index)
            if is_random_op(node.op):
                inherited.add((node.op, node.name))
            calls = self._called(node)
            direct_call = node.op in self.library or node.op in ("PartitionedCall", "StatefulPartitionedCall")
            if calls and direct_call and len(calls) == 1:
                per_output = self.function_outputs(calls[0])
                base = inherited

                def by_output(index, per_output=per_output, base=base):
                    return base | (per_output[index] if index < len(per_output) else set().union(*per_output))

                memo[name] = by_output
            else:  # control flow and other ops: any random value inside taints every output
                for called in calls:
                    for ops in self.function_outputs(called):
                        inherited |= ops
                    inherited |= self._any_random(called)
                memo[name] = lambda index, found=frozenset(inherited): set(found)
        return memo[start]

    def _any_random(self, name: str, seen: Optional[Set[str]] = None) -> Set[RandomOp]:
        seen = set() if seen is None else seen
        if name in seen or name not in self.library:
            return set()
        seen.add(name)
        found = {(n.op, n.name) for n in self.library[name].node_def if is_random_op(n.op)}
        for node in self.library[name].node_def:
            for called in self._called(node):
                found |= self._any_random(called, seen)
        return found
