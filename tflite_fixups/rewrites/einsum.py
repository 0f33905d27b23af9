"""Einsum: any equation over static shapes, as TRANSPOSE / RESHAPE / STRIDED_SLICE / SUM / BATCH_MATMUL / MUL.

TF 2.21's converter lowers Einsum itself only for some forms: it leaves
repeated indices (``'bii->bi'``) and many unary reductions (``'ij->'``) as
flex ops, and its own lowering crashes on others (``'bij,ij->b'``:
"'tf.BatchMatMulV2' op found invalid output dimension"). The rule below
lowers every equation; it declines quietly the forms the converter was
measured to lower correctly (see :func:`converter_lowers`), so those keep the
converter's own lowering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

Labels = Tuple[str, ...]
MAX_TRANSPOSE_RANK = 6  # TFLite's TRANSPOSE kernel handles at most 6 dimensions
_ELLIPSIS = "..."


@dataclass(frozen=True)
class EinsumSpec:
    """A parsed equation: the labels of each operand and of the output.

    Ellipsis dimensions are expanded into labels ``".0"``, ``".1"``... numbered
    left to right over the broadcast shape (right-aligned in each operand, as
    in NumPy), so they cannot clash with the letters of the equation.
    """

    inputs: Tuple[Labels, ...]
    output: Labels


def parse_equation(equation: str, ranks: Sequence[int]) -> EinsumSpec:
    """Parse ``equation`` for operands of the given ranks (implicit output as in NumPy).

    Raises:
        ValueError: if the equation does not fit the operands.
    """
    equation = "".join(equation.split())
    inputs_text, arrow, output_text = equation.partition("->")
    terms = inputs_text.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"equation '{equation}' has {len(terms)} operand(s), the op has {len(ranks)}")
    spans = []
    for term, rank in zip(terms, ranks):
        before, ellipsis, after = term.partition(_ELLIPSIS)
        letters = len(before) + len(after)
        if not (before + after).isalpha() and letters:
            raise ValueError(f"operand '{term}' of '{equation}' has characters other than letters and '...'")
        if (rank - letters) and not ellipsis or rank < letters:
            raise ValueError(f"operand '{term}' of '{equation}' does not fit rank {rank}")
        spans.append((before, rank - letters if ellipsis else 0, after))
    broadcast_rank = max((span[1] for span in spans), default=0)
    ellipsis_labels = tuple(f".{k}" for k in range(broadcast_rank))
    inputs = tuple(
        tuple(before) + ellipsis_labels[broadcast_rank - count:] + tuple(after) for before, count, after in spans
    )
    if not arrow:
        named = [label for labels in inputs for label in labels if not label.startswith(".")]
        return EinsumSpec(inputs, ellipsis_labels + tuple(sorted(l for l in set(named) if named.count(l) == 1)))
    before, ellipsis, after = output_text.partition(_ELLIPSIS)
    output = tuple(before) + (ellipsis_labels if ellipsis else ()) + tuple(after)
    known = {label for labels in inputs for label in labels}
    if len(set(output)) != len(output) or not set(output) <= known or not (before + after).isalpha() and before + after:
        raise ValueError(f"output '{output_text}' of '{equation}' repeats a label or names one no operand has")
    return EinsumSpec(inputs, output)


def label_sizes(spec: EinsumSpec, shapes: Sequence[Sequence[Optional[int]]]) -> Dict[str, Optional[int]]:
    """The size of each label: the largest known size among its occurrences (ellipsis dimensions broadcast)."""
    sizes: Dict[str, Optional[int]] = {}
    for labels, shape in zip(spec.inputs, shapes):
        for label, size in zip(labels, shape):
            if size is not None:
                sizes[label] = max(size, sizes.get(label) or 0)
            else:
                sizes.setdefault(label, None)
    return sizes


def without_broadcast(
    spec: EinsumSpec, shapes: Sequence[Sequence[Optional[int]]], sizes: Dict[str, Optional[int]]
) -> Tuple[Labels, ...]:
    """Each operand's labels, minus its size-1 dimensions that broadcast against a larger size elsewhere."""
    return tuple(
        tuple(l for l, size in zip(labels, shape) if not (size == 1 and (sizes[l] or 1) > 1))
        for labels, shape in zip(spec.inputs, shapes)
    )


def converter_lowers(inputs: Sequence[Labels], output: Labels) -> bool:
    """Whether TF 2.21's converter lowers this form to builtins correctly by itself.

    Measured, not derived: every two-operand class (number of batch, left-free,
    contracted and right-free labels, each 0-3, shuffled orders, some size-1
    dimensions, broadcast ellipses) and every unary form up to rank 4 was
    converted and run on LiteRT against TF. Forms outside the sets below
    failed to convert, crashed the converter, or were not all measured; the
    rule lowers those itself. ``inputs`` are the operands' labels without
    broadcast dimensions (:func:`without_broadcast`).
    """
    if any(len(set(labels)) != len(labels) for labels in inputs):
        return False  # repeated labels: Einsum stays a flex op
    if max(len(labels) for labels in [*inputs, output]) > MAX_TRANSPOSE_RANK:
        return False
    if len(inputs) == 1:
        (labels,) = inputs
        if len(output) == len(labels):
            return output != labels  # a transpose (the identity einsum is rejected)
        return 0 < len(output) and output == labels[: len(output)]  # summing trailing axes
    if len(inputs) != 2 or not output:
        return False
    lhs, rhs = inputs
    if any(l not in output and l not in other for labels, other in ((lhs, rhs), (rhs, lhs)) for l in labels):
        return False  # a label summed within one operand
    batch = sum(1 for l in lhs if l in rhs and l in output)
    contracted = sum(1 for l in lhs if l in rhs and l not in output)
    lhs_free = sum(1 for l in lhs if l not in rhs)
    rhs_free = sum(1 for l in rhs if l not in lhs)
    if max(batch, contracted, lhs_free, rhs_free) > 3:
        return False  # beyond the measured range ('abcd,abcd->abcd' is rejected)
    if contracted == 0:
        return rhs_free <= 1 and (lhs_free <= 1 or batch == 0)
    if contracted == 1:
        return batch + lhs_free >= 1
    return lhs_free >= 1 and rhs_free >= 1


# --- the lowering --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    """A tensor whose axes carry the given (distinct, after diagonals) labels."""

    tensor: object
    labels: Labels


class _Lowering:
    """Builds the replacement of one Einsum from static label sizes."""

    def __init__(self, node: NodeView, sizes: Dict[str, int]):
        self.node = node
        self.sizes = sizes

    def size(self, labels: Sequence[str]) -> int:
        return math.prod(self.sizes[l] for l in labels)

    def shape(self, labels: Sequence[str]) -> List[int]:
        return [self.sizes[l] for l in labels]

    def transpose(self, tensor, shape: Sequence[int], perm: Sequence[int]):
        """``tf.transpose(tensor, perm)`` with size-1 axes dropped and axes that stay adjacent merged.

        The TRANSPOSE then has as few dimensions as possible (none for a
        permutation that only moves size-1 axes); declines above TFLite's 6.
        """
        target_shape = [shape[axis] for axis in perm]
        kept_source = [axis for axis in range(len(shape)) if shape[axis] != 1]
        position = {axis: i for i, axis in enumerate(kept_source)}
        groups: List[List[int]] = []
        for axis in (a for a in perm if shape[a] != 1):
            if groups and position[axis] == position[groups[-1][-1]] + 1:
                groups[-1].append(axis)
            else:
                groups.append([axis])
        in_source_order = sorted(groups)
        group_perm = [in_source_order.index(group) for group in groups]
        if group_perm == sorted(group_perm):
            return tensor if list(perm) == sorted(perm) else tf.reshape(tensor, target_shape)
        if len(groups) > MAX_TRANSPOSE_RANK:
            self.node.decline(
                f"the lowering needs a {len(groups)}-D transpose; "
                f"TFLite's TRANSPOSE handles at most {MAX_TRANSPOSE_RANK}"
            )
        merged = [math.prod(shape[a] for a in group) for group in in_source_order]
        return tf.reshape(tf.transpose(tf.reshape(tensor, merged), group_perm), target_shape)

    def arrange(self, term: _Term, target: Sequence[str]):
        """The term's tensor with its axes in the order of ``target`` (a permutation of its labels)."""
        perm = [term.labels.index(label) for label in target]
        return self.transpose(term.tensor, self.shape(term.labels), perm)

    def drop_axes(self, term: _Term, labels: Labels):
        """Reshape away the given size-1 axes (ellipsis dimensions that broadcast)."""
        return _Term(tf.reshape(term.tensor, self.shape(labels)), labels) if labels != term.labels else term

    def diagonals(self, term: _Term) -> _Term:
        """Replace every repeated label by one axis holding the diagonal.

        The k axes of a label of size n are moved last and flattened to n**k;
        the diagonal entries sit at multiples of (n**k - 1) / (n - 1), which a
        STRIDED_SLICE picks exactly (no masking, so inf and NaN stay put).
        """
        while True:
            repeated = next((l for l in term.labels if term.labels.count(l) > 1), None)
            if repeated is None:
                return term
            others = [i for i, l in enumerate(term.labels) if l != repeated]
            copies = [i for i, l in enumerate(term.labels) if l == repeated]
            tensor = self.transpose(term.tensor, self.shape(term.labels), others + copies)
            n, k = self.sizes[repeated], len(copies)
            outer = self.shape([term.labels[i] for i in others])
            flat = tf.reshape(tensor, [math.prod(outer), n**k])
            if n > 1:
                flat = flat[:, :: (n**k - 1) // (n - 1)]
            labels = tuple(term.labels[i] for i in others) + (repeated,)
            term = _Term(tf.reshape(flat, outer + [n]), labels)

    def sum_out(self, term: _Term, keep: Set[str]) -> _Term:
        """Sum the axes whose labels are needed neither by the output nor by another operand."""
        axes = [i for i, label in enumerate(term.labels) if label not in keep]
        if not axes:
            return term
        return _Term(tf.reduce_sum(term.tensor, axis=axes), tuple(l for l in term.labels if l in keep))

    def contract(self, a: _Term, b: _Term, keep: Set[str]) -> _Term:
        """Multiply two terms and sum the labels they share that are not kept.

        Layout: batch labels (shared and kept), then each side's free labels,
        with the summed labels as the matrix dimension of one BATCH_MATMUL;
        with nothing to sum, a broadcast MUL of [batch, M, 1] and [batch, 1, N].
        The side without free labels goes second: the converter mis-fuses
        ``reshape([1, K]) -> MatMul -> reshape`` into a BATCH_MATMUL with a 1-D
        operand, which fails to verify.
        """
        if all(l in b.labels for l in a.labels) and any(l not in a.labels for l in b.labels):
            a, b = b, a
        batch = [l for l in a.labels if l in b.labels and l in keep]
        summed = [l for l in a.labels if l in b.labels and l not in keep]
        a_free = [l for l in a.labels if l not in b.labels]
        b_free = [l for l in b.labels if l not in a.labels]
        lead = [self.size(batch)] if batch else []
        m, n = self.size(a_free), self.size(b_free)
        if not summed:
            x = tf.reshape(self.arrange(a, batch + a_free), lead + [m, 1])
            y = tf.reshape(self.arrange(b, batch + b_free), lead + [1, n])
            product = x * y
        else:
            k = self.size(summed)
            x, transpose_a = self.matrix(a, batch, a_free, summed, lead + [m, k])
            y, transpose_b = self.matrix(b, batch, summed, b_free, lead + [k, n])
            product = tf.linalg.matmul(x, y, transpose_a=transpose_a, transpose_b=transpose_b)
        labels = tuple(batch + a_free + b_free)
        return _Term(tf.reshape(product, self.shape(labels)), labels)

    def matrix(self, term: _Term, batch: List[str], rows: List[str], columns: List[str], shape: List[int]):
        """The term as a (batched) ``rows x columns`` matrix of ``shape``; or its transpose, flagged,
        when the term is already laid out that way (BATCH_MATMUL's adjoint saves a TRANSPOSE)."""
        straight, flipped = batch + rows + columns, batch + columns + rows
        if tuple(flipped) == term.labels and tuple(straight) != term.labels:
            return tf.reshape(term.tensor, shape[:-2] + shape[-1:] + shape[-2:-1]), True
        return tf.reshape(self.arrange(term, straight), shape), False

    def run(self, terms: List[_Term], output: Labels):
        """Diagonals, then alternately private sums and pairwise contractions, then the output order."""
        terms = [self.diagonals(term) for term in terms]
        while True:
            terms = [
                self.sum_out(term, set(output).union(*(t.labels for j, t in enumerate(terms) if j != i)))
                for i, term in enumerate(terms)
            ]
            if len(terms) == 1:
                break
            first, second, *rest = terms
            terms = [self.contract(first, second, set(output).union(*(t.labels for t in rest)))] + rest
        return tf.reshape(self.arrange(terms[0], output), self.shape(output))


def lower_einsum(node: NodeView, spec: EinsumSpec, operands: Sequence, shapes: Sequence[Sequence[int]]):
    """The Einsum of float32 ``operands`` (static ``shapes``) built from builtin-convertible ops."""
    sizes = label_sizes(spec, shapes)
    lowering = _Lowering(node, sizes)  # type: ignore[arg-type]  (static: every size is known)
    terms = [
        lowering.drop_axes(_Term(tf.convert_to_tensor(x), labels), kept)
        for x, labels, kept in zip(operands, spec.inputs, without_broadcast(spec, shapes, sizes))
    ]
    return lowering.run(terms, spec.output)


_FLOATS = (tf.float32, tf.float16, tf.bfloat16)


@rewrite_rule(
    "Einsum",
    error_bound="1e-5 relative to the sum of |products| (summation order only)",
    limits="static shapes; transposes of at most 6 dimensions after merging adjacent axes",
)
def einsum(node: NodeView, *operands):
    """Diagonals by strided slice, private labels by SUM, each pairwise contraction as one BATCH_MATMUL (or MUL).

    Steps: ellipsis dimensions become labels and those of size 1 that
    broadcast are reshaped away; each repeated label within an operand is
    replaced by its diagonal (exact STRIDED_SLICE of the flattened axes);
    labels needed neither by the output nor by another operand are summed;
    operands are folded pairwise, each contraction a TRANSPOSE + RESHAPE +
    BATCH_MATMUL (a broadcast MUL when nothing is summed); a final TRANSPOSE /
    RESHAPE gives the output order. Transposes merge axes that stay adjacent.

    Preconditions: static shapes, float32/float16/bfloat16 (the latter two
    computed in float32). Forms the converter lowers correctly itself are
    declined quietly (:func:`converter_lowers`).

    Error bound: exact apart from the order of summation, within 1e-5 relative
    to the sum of absolute products in float32.
    """
    ranks = [None if shape is None else len(shape) for shape in node.input_shapes]
    if None in ranks:
        node.decline("Einsum operands need a known rank")
    equation = node.attrs["equation"]
    equation = equation.decode() if isinstance(equation, bytes) else str(equation)
    try:
        spec = parse_equation(equation, ranks)  # type: ignore[arg-type]
    except ValueError as error:
        node.decline(str(error))
    sizes = label_sizes(spec, node.input_shapes)  # type: ignore[arg-type]
    if converter_lowers(without_broadcast(spec, node.input_shapes, sizes), spec.output):
        node.decline(f"the converter lowers '{equation}' to builtins itself", quiet=True)
    shapes = [node.static_shape(i) for i in range(len(operands))]
    if any(0 in shape for shape in shapes):
        node.decline(f"'{equation}' has an empty operand {shapes}")
    dtype = node.input_dtypes[0]
    if dtype not in _FLOATS:
        node.decline(f"only float32/float16/bfloat16 Einsum is rewritten, got {dtype.name}")
    result = lower_einsum(node, spec, [tf.cast(x, tf.float32) for x in operands], shapes)
    return tf.cast(result, dtype)


# --- cases (data for the generic tests and the benchmarks) --------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402


def _normal(*shapes):
    return lambda rng: [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def _einsum_case(name: str, equations: Dict[str, Tuple[str, Tuple[int, ...]]], shapes, *, edge_inputs=(), dtype=None):
    """A case whose function evaluates several equations; ``equations[key] = (equation, operand indices)``."""
    dtype = dtype or tf.float32

    def function(*xs):
        return {key: tf.einsum(eq, *(tf.cast(xs[i], dtype) for i in which)) for key, (eq, which) in equations.items()}

    register_case(RewriteCase(
        name=name, op_type="Einsum", function=function,
        input_specs=[tf.TensorSpec(shape, tf.float32) for shape in shapes], make_inputs=_normal(*shapes),
        atol=1e-5, rtol=1e-5 if dtype == tf.float32 else 1e-2, edge_inputs=edge_inputs,
    ))


def _diagonal_edges():
    cube = np.zeros((2, 5, 5), np.float32)
    cube[0] = np.eye(5)
    cube[1] = np.arange(25, dtype=np.float32).reshape(5, 5)
    special = np.full((2, 5, 5), 1e30, np.float32)
    special[0, 1, 1], special[0, 2, 3], special[1, 4, 4] = np.inf, np.nan, -np.inf
    return [[cube], [special]]


_einsum_case("einsum_batch_diagonal_trace", {
    "diagonal": ("bii->bi", (0,)), "trace": ("bii->b", (0,)), "total": ("bii->", (0,)), "transposed": ("bii->ib", (0,)),
}, [(2, 5, 5)], edge_inputs=_diagonal_edges())
_einsum_case("einsum_repeated_index_forms", {
    "iij": ("iij->ij", (0,)), "iji": ("iji->j", (1,)), "iii": ("iii->i", (2,)), "ijj": ("ijj->ji", (2,)),
}, [(3, 3, 4), (3, 4, 3), (3, 3, 3)])
_einsum_case("einsum_contract_without_free_side", {
    "bij_ij": ("bij,ij->b", (0, 1)), "bij_bij": ("bij,bij->b", (0, 2)), "ijk_jk": ("ijk,jk->i", (3, 1)),
    "dot": ("i,i->", (4, 4)), "vector_matrix": ("i,ij->j", (4, 1)),
}, [(2, 3, 4), (3, 4), (2, 3, 4), (5, 3, 4), (3,)])
_einsum_case("einsum_private_sums_and_outer_products", {
    "private": ("ij,jk->i", (0, 1)), "both_private": ("ij,kl->il", (0, 1)), "outer": ("bi,bjk->bijk", (2, 3)),
    "scale": ("bij,b->bij", (3, 4)), "unary_reduce_transpose": ("ijk->ki", (3,)),
}, [(3, 4), (4, 5), (2, 3), (2, 4, 5), (2,)])
_einsum_case("einsum_repeated_with_contraction", {
    "diag_matvec": ("bii,bij->bj", (0, 1)), "diag_scale": ("ii,i->i", (2, 3)), "double_trace": ("iijj->", (4,)),
}, [(2, 4, 4), (2, 4, 3), (3, 3), (3,), (3, 3, 2, 2)])
_einsum_case("einsum_ellipsis_broadcast", {
    "diagonal_dot": ("...ii,...i->...", (0, 1)), "diagonal_batch": ("b...jj->...bj", (2,)),
}, [(2, 1, 4, 4), (3, 4), (2, 3, 1, 3, 3)])
_einsum_case("einsum_float16", {"trace": ("bii->b", (0,)), "contract": ("bij,ij->b", (0, 1))},
             [(2, 4, 4), (4, 4)], dtype=tf.float16)
