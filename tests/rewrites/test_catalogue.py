"""Every registered rewrite case, four ways: op present then gone, TF equivalence, builtin-only
conversion, LiteRT equivalence (random inputs and the case's edge values)."""

import pytest

from case_runner import built, input_sets, max_error, target_nodes, tflite_op_types
from tflite_fixups.rewrites.cases import all_cases

CASES = [pytest.param(case.name, id=case.name) for case in all_cases()]


@pytest.mark.parametrize("name", CASES)
def test_op_is_replaced(name):
    case = built(name)
    assert target_nodes(case.case, case.original) > 0, "the case does not exercise its op"
    assert target_nodes(case.case, case.rewritten) == 0
    assert case.report.changed and any(r.kind == case.case.op_type for r in case.report.replacements)


@pytest.mark.parametrize("name", CASES)
def test_converts_with_builtin_ops_only(name):
    ops = tflite_op_types(built(name).tflite)
    assert not [op for op in ops if op.startswith("Flex") or not op.isupper()], ops


@pytest.mark.parametrize("name", CASES)
def test_matches_tensorflow_in_tf_and_on_litert(name):
    case = built(name)
    bound = case.case.atol
    for index, inputs in enumerate(input_sets(case.case)):
        want, rewritten, litert = case.outputs(inputs)
        in_tf, on_litert = max_error(case.case, want, rewritten, inputs), max_error(case.case, want, litert, inputs)
        assert in_tf <= bound, f"input set {index}: rewritten TF off by {in_tf:.3g} > {bound:g}"
        assert on_litert <= bound, f"input set {index}: LiteRT off by {on_litert:.3g} > {bound:g}"
