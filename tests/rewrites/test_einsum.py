"""Einsum: forms the converter lowers itself are left alone quietly; the lowering holds for any equation."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tflite_fixups as tff
from case_runner import graph_op_types, tflite_op_types
from tflite_fixups.conversion.converter import convert_signature_model
from tflite_fixups.rewrites.einsum import converter_lowers, lower_einsum, parse_equation
from tflite_fixups.rewrites.registry import NodeView
from tflite_fixups.verification.litert import LiteRTRunner


def einsum_model(equation, *shapes):
    function = tf.function(lambda *xs: tf.einsum(equation, *xs), input_signature=[tf.TensorSpec(s) for s in shapes])
    return tff.load_model(function)


def rewrite(model):
    return tff.passes.replace_unsupported_ops(only=["Einsum"]).run(model)


@pytest.mark.parametrize("equation, shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]),
])
def test_forms_the_converter_lowers_are_left_alone_quietly(equation, shapes):
    model = einsum_model(equation, *shapes)
    result = rewrite(model)
    assert not result.report.changed and not result.report.warnings
    assert any("lowers" in note and equation in note for note in result.report.notes)
    assert "Einsum" in graph_op_types(result.model)
    tflite = convert_signature_model(result.model)  # ...and the converter does lower it, correctly
    assert not [op for op in tflite_op_types(tflite) if op.startswith("Flex") or not op.isupper()]
    inputs = [np.random.default_rng(0).standard_normal(s).astype(np.float32) for s in shapes]
    feed = dict(zip(model.input_names, inputs))
    want, got = model.run(feed), LiteRTRunner(tflite).run(feed)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)


def test_a_dynamic_native_form_is_left_alone_quietly():
    result = rewrite(einsum_model("bij,bjk->bik", (2, None, 4), (2, 4, None)))  # a None batch would be pinned to 1
    assert not result.report.changed and not result.report.warnings


def test_a_dynamic_shape_is_declined_with_a_warning():
    result = rewrite(einsum_model("bii->bi", (2, None, None)))
    assert not result.report.changed
    assert any("static shape" in warning for warning in result.report.warnings)


def test_a_seven_dimensional_transpose_is_declined_with_a_warning():
    result = rewrite(einsum_model("abcdefg->gfedcba", (2, 3, 2, 3, 2, 3, 2)))
    assert "Einsum" in graph_op_types(result.model)
    assert any("6" in warning and "transpose" in warning for warning in result.report.warnings)


def test_adjacent_axes_move_together():
    """'abcdefg->efgabcd' is a 2-group transpose once runs of adjacent axes are merged."""
    x = np.random.default_rng(1).standard_normal((2, 3, 2, 3, 2, 3, 2)).astype(np.float32)
    result = rewrite(einsum_model("abcdefg->efgabcd", x.shape))
    assert result.report.changed
    got = result.model.run({result.model.input_names[0]: x})
    np.testing.assert_array_equal(next(iter(got.values())), np.einsum("abcdefg->efgabcd", x))


def test_parse_equation_expands_ellipses_right_aligned():
    spec = parse_equation("...ii, j...->...j", [4, 3])
    assert spec.inputs == ((".0", ".1", "i", "i"), ("j", ".0", ".1"))
    assert spec.output == (".0", ".1", "j")
    assert parse_equation("ij,jk", [2, 2]).output == ("i", "k")  # implicit output, as NumPy
    with pytest.raises(ValueError):
        parse_equation("ij->k", [2])
    with pytest.raises(ValueError):
        parse_equation("ijk->i", [2])


@pytest.mark.parametrize("equation, lowered", [
    ("bij,bjk->bik", True), ("abcd,cde->abe", True), ("aecd,abcd->acbe", True), ("ij->ji", True),
    ("bii->bi", False), ("ij->", False), ("bij,ij->b", False), ("bij,bij->b", False),
    ("i,ij->j", False), ("bi,bjk->bijk", False), ("ij,jk->i", False), ("abcd,abcd->abcd", False),
])
def test_converter_lowers_matches_measurements(equation, lowered):
    lhs = equation.split("->")[0].split(",")
    spec = parse_equation(equation, [len(term) for term in lhs])
    assert converter_lowers(spec.inputs, spec.output) is lowered


@st.composite
def equations(draw):
    """Random valid equations: 1-3 operands, repeated labels, private labels, broadcast ellipses, size-1 axes."""
    pool = "abcde"[: draw(st.integers(2, 5))]
    sizes = {label: draw(st.integers(1, 4)) for label in pool}
    ellipsis_shape = draw(st.lists(st.integers(2, 3), max_size=2)) if draw(st.booleans()) else None
    terms, shapes = [], []
    for _ in range(draw(st.integers(1, 3))):
        labels = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
        shape = [sizes[label] for label in labels]
        if ellipsis_shape is not None:
            kept = ellipsis_shape[len(ellipsis_shape) - draw(st.integers(0, len(ellipsis_shape))):]
            broadcast = [d if draw(st.booleans()) else 1 for d in kept]
            at = draw(st.integers(0, len(labels)))
            labels, shape = labels[:at] + ["..."] + labels[at:], shape[:at] + broadcast + shape[at:]
        terms.append("".join(labels))
        shapes.append(tuple(shape))
    used = sorted({c for term in terms for c in term if c != "."})
    output = draw(st.permutations(used))[: draw(st.integers(0, len(used)))]
    ellipsis = "..." if ellipsis_shape is not None else ""
    return ",".join(terms) + "->" + ellipsis + "".join(output), shapes


@settings(max_examples=50, deadline=None)
@given(equations())
def test_lowering_matches_numpy_einsum(example):
    equation, shapes = example
    rng = np.random.default_rng(0)
    operands = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    spec = parse_equation(equation, [len(shape) for shape in shapes])
    node = NodeView("einsum", "Einsum", {}, list(shapes), [tf.float32] * len(shapes), [None], [tf.float32])
    got = lower_einsum(node, spec, operands, shapes).numpy()
    want = np.einsum(equation, *(x.astype(np.float64) for x in operands))
    scale = np.einsum(equation, *(np.abs(x).astype(np.float64) for x in operands))  # sum of |products|
    assert got.shape == want.shape
    assert np.all(np.abs(got - want) <= 1e-5 * scale + 1e-30), equation
