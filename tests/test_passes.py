"""The pass contract: callables with reports, pipelines, errors that name the pass, no mutation."""

import numpy as np
import pytest

import helpers
import tflite_fixups as tff
from tflite_fixups.passes import Pass, PassReport, PassResult, Replacement, function_pass


def rebuilt_with_scaled_output(K, model, factor):
    """A new model computing ``factor * model(x)`` on a copy of the weights (input untouched)."""
    clone = K.models.clone_model(model)
    clone.set_weights(model.get_weights())
    outputs = K.layers.Rescaling(factor)(clone.output)
    return K.Model(clone.input, outputs, name=f"{model.name}_scaled")


class ScaleOutput(Pass):
    """A real rebuild-a-copy pass, used to check the contract and error attribution."""

    def __init__(self, K, factor):
        super().__init__()
        self.K, self.factor = K, factor

    def call(self, model, context):
        new = rebuilt_with_scaled_output(self.K, model, self.factor)
        replacement = Replacement(model.name, "Functional", f"Functional*{self.factor}")
        return PassResult(new, PassReport(self.name, changed=True, replacements=[replacement]))


def test_pass_subclass_runs_and_reports(mlp, K):
    scale = ScaleOutput(K, 1.0)
    result = scale.run(mlp)
    assert result.report.name == "scale_output" and result.report.changed
    assert "Functional*1.0" in str(result.report)
    assert scale(mlp) is not mlp and scale.last_report.changed


def test_function_pass_adapter_and_context(mlp):
    seen = {}

    @function_pass
    def identity(model, context):
        seen["specs"] = context.input_specs
        return model

    pipeline = tff.Pipeline([identity])
    assert pipeline(mlp) is mlp
    assert pipeline.last_report.children[0].changed is False
    tff.convert_and_verify(mlp, [identity], input_specs=(2, 8), num_random_samples=1)
    assert seen["specs"] == (2, 8)


def test_plain_callable_is_a_pass(mlp, K):
    pipeline = tff.Pipeline([lambda m: rebuilt_with_scaled_output(K, m, 2.0)])
    out = pipeline(mlp)
    x = np.ones((1, 8), np.float32)
    np.testing.assert_allclose(np.asarray(out(x)), 2 * np.asarray(mlp(x)), rtol=1e-6)
    assert pipeline.last_report.changed


def test_passes_never_mutate_the_user_model(mlp, K):
    before = helpers.weights_snapshot(mlp)
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    expected = np.asarray(mlp(x))
    result = tff.convert_and_verify(mlp, [ScaleOutput(K, 3.0), ScaleOutput(K, 0.5)], num_random_samples=2)
    helpers.assert_same_weights(before, mlp)
    np.testing.assert_array_equal(np.asarray(mlp(x)), expected)
    assert [r.name for r in result.passes] == ["scale_output", "scale_output"]


def test_error_is_attributed_to_the_stage_that_caused_it(mlp, K):
    result = tff.convert_and_verify(
        mlp, tff.Pipeline([ScaleOutput(K, 1.0), ScaleOutput(K, 1.5)]), num_random_samples=3
    )
    assert not result.ok
    assert result.verification.diverging_outputs == ["scores"]
    frozen, first, second, tflite = result.verification.stages  # stage 0: the original frozen
    assert frozen.stage == "original (frozen)" and frozen.max_abs_error < 1e-6
    assert first.max_abs_error < 1e-6 and second.max_abs_error > 1e-3
    assert abs(tflite.max_abs_error - second.max_abs_error) < 1e-4
    assert "error by stage" in str(result.verification)
    assert any("diverge" in w for w in result.warnings)


def test_a_renamed_pass_names_its_stage_and_report_and_leaves_the_original_alone(mlp, K):
    scale = ScaleOutput(K, 1.0)
    first, second = scale.renamed("identity scale"), ScaleOutput(K, 1.5).renamed("scale by 1.5")
    result = tff.convert_and_verify(mlp, [first, second], num_random_samples=2)
    assert [stage.stage for stage in result.verification.stages] == [
        "original (frozen)", "identity scale", "scale by 1.5", "tflite"]
    assert [report.name for report in result.passes] == ["identity scale", "scale by 1.5"]
    assert scale.name == "scale_output" and scale.last_report is None
    with pytest.raises(tff.InvalidInputError, match="non-empty string"):
        scale.renamed("  ")


def test_failing_pass_is_named_with_the_passes_before_it(mlp, K):
    def explode(model):
        raise RuntimeError("boom")

    pipeline = tff.Pipeline([ScaleOutput(K, 1.0), explode])
    with pytest.raises(tff.PassError, match=r"pass 'explode' failed after \['scale_output'\]: RuntimeError: boom") as info:
        pipeline(mlp)
    assert info.value.pass_name == "explode" and info.value.passes_run == ["scale_output"]


def test_library_errors_keep_their_type_and_gain_a_note(mlp):
    def bad_specs(model):
        return tff.load_model(model, input_specs={"nope": (1, 8)})

    with pytest.raises(tff.InvalidInputError) as info:
        tff.Pipeline([bad_specs])(mlp)
    assert any("bad_specs" in note for note in info.value.__notes__)


def test_check_after_each_catches_a_pass_returning_a_non_model(mlp):
    pipeline = tff.Pipeline([lambda m: "not a model"], check_after_each=True)
    with pytest.raises(tff.InvalidModelError) as info:
        pipeline(mlp)
    assert any("<lambda>" in note for note in info.value.__notes__)


def test_nested_pipelines_flatten_their_reports(mlp, K):
    inner = tff.Pipeline([ScaleOutput(K, 1.0)], name="inner")
    outer = tff.Pipeline([inner, ScaleOutput(K, 1.0)])
    outer(mlp)
    assert [r.name for r in outer.last_report.children] == ["scale_output", "scale_output"]


def test_op_count_changes_read_like_tf2onnx():
    report = PassReport("x", True, ops_before={"Erf": 1, "Mul": 2}, ops_after={"Mul": 5, "Exp": 1})
    assert report.op_count_changes() == ["Erf -1 (1->0)", "Exp +1 (0->1)", "Mul +3 (2->5)"]


def test_non_callable_pass_is_rejected():
    with pytest.raises(tff.InvalidInputError, match="a pass must be a Pass or a callable"):
        tff.Pipeline([42])


def test_long_op_count_changes_show_removals_and_the_largest_additions():
    before = {"SelfAdjointEigV2": 1}
    after = {f"Op{i}": i + 1 for i in range(12)}
    text = str(PassReport("p", True, ops_before=before, ops_after=after))
    assert "SelfAdjointEigV2 -1 (1->0)" in text and "Op11 +12 (0->12)" in text
    assert "Op0 " not in text and "... 4 more op types" in text
