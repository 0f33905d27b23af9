"""replace_unsupported_ops on real models: custom/Lambda layers, While/If bodies, nested functions,
SavedModels, user rules, declines, and the report."""

import numpy as np
import pytest
import tensorflow as tf

import helpers
import tflite_fixups as tff
from tflite_fixups.errors import RuleError
from tflite_fixups.passes.base import count_ops
from tflite_fixups.rewrites import RuleRegistry, rewrite_rule

REPLACE = tff.passes.replace_unsupported_ops


def all_op_types(model):
    return count_ops(tff.load_model(model).graph_def())


def assert_converts_and_matches(model, samples, bound=1e-5):
    result = tff.convert_and_verify(model, [REPLACE()], sample_inputs=samples, atol=bound, rtol=bound)
    assert result.ok, str(result)
    assert not any(op.startswith("Flex") for op in result.ops)
    return result


def test_lambda_layer_erf_both_flavours(K):
    model = helpers.erf_model(K)
    before = helpers.weights_snapshot(model)
    samples = np.random.default_rng(0).standard_normal((6, 6)).astype(np.float32) * 3
    result = assert_converts_and_matches(model, samples)
    (report,) = result.passes
    (replaced,) = report.replacements
    assert replaced.kind == "Erf" and replaced.replacement == "erf"
    assert replaced.details["error_bound"] == "5e-7 abs"
    assert "Erf -1 (1->0)" in report.op_count_changes()
    helpers.assert_same_weights(before, model)


def test_ops_inside_while_and_if_bodies_and_nested_functions():
    @tf.function
    def inner(t):
        return tf.math.erf(t) + tf.sinh(0.1 * t)

    @tf.function(input_signature=[tf.TensorSpec((2, 5), tf.float32, name="x")])
    def model(x):
        def body(i, acc):
            return i + 1, acc + tf.math.erfc(acc * 0.1)

        _, looped = tf.while_loop(lambda i, acc: i < 3, body, [tf.constant(0), x])
        branch = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.asin(tf.tanh(x)), lambda: tf.acos(tf.tanh(x)))
        return {"y": looped + branch + inner(x)}

    before = all_op_types(model)
    assert {"Erf", "Erfc", "Asin", "Acos", "Sinh"} <= set(before)
    samples = [np.random.default_rng(s).standard_normal((2, 5)).astype(np.float32) for s in range(4)]
    result = assert_converts_and_matches(model, samples)
    kinds = sorted(r.kind for r in result.passes[0].replacements)
    assert kinds == ["Acos", "Asin", "Erf", "Erfc", "Sinh"]
    assert any("in" in r.details for r in result.passes[0].replacements), "function bodies are named in the report"
    assert {"WHILE", "IF"} & set(result.ops) or "WHILE" in result.ops


def test_keras3_recurrent_layer_with_erf_activation_in_its_loop_body():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((7, 4), batch_size=1, name="seq")
    outputs = keras.layers.SimpleRNN(5, activation=tf.math.erf)(inputs)
    model = keras.Model(inputs, outputs)
    with pytest.raises(tff.ConversionError, match="Erf"):
        tff.convert(model)
    samples = [np.random.default_rng(s).standard_normal((1, 7, 4)).astype(np.float32) for s in range(3)]
    assert_converts_and_matches(model, samples)


def test_saved_model_directory(tmp_path):
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.f = tf.function(lambda x: {"y": tf.math.erfinv(tf.tanh(x)) * module.scale},
                           input_signature=[tf.TensorSpec((3, 4), tf.float32, name="x")])
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.f})
    samples = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert_converts_and_matches(str(tmp_path), samples, bound=1e-4)


def test_error_message_and_diagnosis_name_the_pass(K):
    with pytest.raises(tff.ConversionError, match=r"fix: tff.passes.replace_unsupported_ops\(\)"):
        tff.convert(helpers.erf_model(K))
    assert tff.diagnose(helpers.erf_model(K)).suggested_passes == ["replace_unsupported_ops"]


def test_only_exclude_and_unknown_op_types():
    function = tf.function(lambda x: {"y": tf.math.erf(x) + tf.sinh(x)}, input_signature=[tf.TensorSpec((3,))])
    model = tff.load_model(function)
    only_erf = REPLACE(only=["Erf"]).run(model)
    assert [r.kind for r in only_erf.report.replacements] == ["Erf"]
    assert "Sinh" in count_ops(only_erf.model.graph_def())
    no_erf = REPLACE(exclude="Erf").run(model)
    assert [r.kind for r in no_erf.report.replacements] == ["Sinh"]
    with pytest.raises(tff.InvalidInputError, match="no rewrite rule for op type"):
        REPLACE(only=["NotAnOp"])
    with pytest.raises(tff.InvalidInputError, match=r"rules\[0\]: expected a Rule"):
        REPLACE(rules=["erf"])


def test_user_rule_overrides_and_declines():
    registry = RuleRegistry()

    @rewrite_rule("Erf", error_bound="4e-4 abs", registry=registry)
    def erf_tanh(node, x):
        """A cheap erf: tanh(1.12838 x + 0.1009 x^3), max error 3.6e-4 (the user's own trade-off)."""
        if node.input_shapes[0][-1] > 4:
            node.decline("too wide for the demo rule")
        return tf.tanh(1.12838 * x + 0.1009 * x * x * x)

    narrow = tf.function(lambda x: {"y": tf.math.erf(x)}, input_signature=[tf.TensorSpec((2, 4))])
    result = tff.convert_and_verify(narrow, [REPLACE(rules=registry)], atol=4e-4, rtol=0)
    assert result.ok and result.passes[0].replacements[0].replacement == "erf_tanh"

    wide = tf.function(lambda x: {"y": tf.math.erf(x)}, input_signature=[tf.TensorSpec((2, 8))])
    declined = REPLACE(rules=registry).run(tff.load_model(wide))
    assert not declined.report.changed
    assert len(declined.report.warnings) == 1
    assert "too wide for the demo rule" in declined.report.warnings[0]
    with pytest.raises(tff.ConversionError, match="Erf"):
        tff.convert(declined.model)


def test_a_rule_returning_the_wrong_dtype_is_reported_as_a_rule_bug():
    registry = RuleRegistry()

    @rewrite_rule("Erf", error_bound="none", registry=registry)
    def broken(node, x):
        return tf.cast(x, tf.int32)

    function = tf.function(lambda x: {"y": tf.math.erf(x)}, input_signature=[tf.TensorSpec((2,))])
    with pytest.raises(RuleError, match="returned int32 for output 0, expected float32") as info:
        tff.Pipeline([REPLACE(rules=registry)])(tff.load_model(function))
    assert any("replace_unsupported_ops" in note for note in info.value.__notes__)


def test_rewritten_model_retraces_for_new_shapes():
    function = tf.function(lambda x: {"y": tf.math.erf(x)}, input_signature=[tf.TensorSpec((None, 3))])
    rewritten = REPLACE()(tff.load_model(function))
    assert rewritten.kind == "graph" and rewritten.input_specs[0].shape == (1, 3)
    wider = tff.load_model(rewritten, input_specs=(4, 3))
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(wider.run({wider.input_names[0]: x})["y"], tf.math.erf(x).numpy(), atol=5e-7)


def test_nothing_to_replace_returns_the_input_unchanged(mlp):
    result = REPLACE().run(mlp)
    assert result.model is mlp and not result.report.changed
    assert "no node matched a rule" in result.report.notes


def test_unused_inputs_and_unused_branch_arguments():
    """An input no output depends on, and an If branch ignoring its argument (tf.linalg.expm has one)."""

    @tf.function(input_signature=[tf.TensorSpec((2, 3, 3), tf.float32, name="m"), tf.TensorSpec((2,), name="unused")])
    def model(m, unused):
        return {"expm": tf.linalg.expm(0.1 * m), "erf": tf.math.erf(m)}

    samples = [[np.random.default_rng(s).standard_normal((2, 3, 3)).astype(np.float32), np.zeros(2, np.float32)]
               for s in range(3)]
    assert_converts_and_matches(model, samples, bound=1e-5)


def test_the_users_model_is_traced_once_through_convert_and_verify(monkeypatch, K):
    from tflite_fixups.models import loading

    calls = []
    original = loading._from_keras
    monkeypatch.setattr(loading, "_from_keras", lambda *a, **k: calls.append(1) or original(*a, **k))
    result = tff.convert_and_verify(helpers.erf_model(K), [REPLACE()], num_random_samples=2)
    assert result.ok and len(calls) == 1
