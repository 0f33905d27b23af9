"""Verification runs many samples per call only where that leaves every sample's outputs unchanged."""

import numpy as np
import pytest
import tensorflow as tf

import helpers
import tflite_fixups as tff
from tflite_fixups.verification import batching
from tflite_fixups.verification.batching import DIFFERENT_IN_BATCHES, outputs_agree, run_samples


def samples_of(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [{"x": rng.standard_normal(shape).astype(np.float32)} for shape in shapes]


class Recorder:
    """A fake model: records the batch sizes it was called with."""

    def __init__(self, compute):
        self.compute = compute
        self.calls = []

    def __call__(self, feed):
        self.calls.append(len(feed["x"]))
        return {"y": self.compute(feed["x"])}


def row_wise(x):
    return np.tanh(x) * 2.0


# --- the batching logic, on fake models ------------------------------------------------------------


def test_batch_independent_model_runs_in_few_calls_with_the_same_outputs():
    samples = samples_of([(1, 4)] * 10 + [(1, 6)] * 3 + [(2, 4)])
    model = Recorder(row_wise)
    run = run_samples(model, samples, run_batch=lambda: model)
    assert run.batch_size == 10 and not run.notes
    # one call per shape group, plus the first and last samples of the first group alone
    assert sorted(model.calls) == sorted([10, 1, 1, 3, 2])
    for sample, outputs in zip(samples, run.outputs):
        np.testing.assert_array_equal(outputs["y"], row_wise(sample["x"]))


def test_batch_coupled_model_falls_back_to_one_sample_per_call_and_says_why():
    samples = samples_of([(1, 4)] * 5)
    model = Recorder(lambda x: x - x.mean(axis=0))  # batch statistics: batching changes every output
    run = run_samples(model, samples, run_batch=lambda: model)
    assert run.batch_size == 1 and DIFFERENT_IN_BATCHES in run.notes[0]
    for sample, outputs in zip(samples, run.outputs):
        np.testing.assert_array_equal(outputs["y"], np.zeros_like(sample["x"]))


@pytest.mark.parametrize(
    "batched, why",
    [
        (lambda x: x.sum(axis=0, keepdims=True), "keep the batch axis first"),
        (lambda x: (_ for _ in ()).throw(RuntimeError("XNNPack failed to reshape")), "RuntimeError: XNNPack"),
    ],
    ids=["batch-axis-lost", "resize-refused"],
)
def test_models_that_cannot_batch_run_every_sample_alone(batched, why):
    samples = samples_of([(1, 4)] * 4)
    run = run_samples(Recorder(row_wise), samples, run_batch=lambda: Recorder(batched))
    assert run.batch_size == 1 and why in run.notes[0]
    for sample, outputs in zip(samples, run.outputs):
        np.testing.assert_array_equal(outputs["y"], row_wise(sample["x"]))


def test_max_batch_bounds_the_calls_and_one_turns_batching_off():
    samples = samples_of([(1, 4)] * 7)
    model = Recorder(row_wise)
    assert run_samples(model, samples, run_batch=lambda: model, max_batch=3).batch_size == 3
    assert max(model.calls) == 3
    model.calls.clear()
    assert run_samples(model, samples, run_batch=lambda: model, max_batch=1).batch_size == 1
    assert model.calls == [1] * 7


def test_big_inputs_batch_fewer_samples(monkeypatch):
    monkeypatch.setattr(batching, "MAX_BATCH_VALUES", 40)
    samples = samples_of([(1, 10)] * 9)
    model = Recorder(row_wise)
    assert run_samples(model, samples, run_batch=lambda: model).batch_size == 4


def test_outputs_agree_within_a_relative_tolerance_and_nan_equals_nan():
    a = {"y": np.array([1000.0, np.nan, 0.0])}
    assert outputs_agree(a, {"y": np.array([1000.0 + 1e-3, np.nan, 1e-3])})
    assert not outputs_agree(a, {"y": np.array([1000.1, np.nan, 0.0])})
    assert not outputs_agree(a, {"y": np.array([1000.0, np.nan])})
    assert not outputs_agree({"k": np.array([1, 2])}, {"k": np.array([1, 3])})


# --- real models on LiteRT ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["keras3", "tf_keras"])
def dynamic_batch_cnn(request):
    import keras
    import tf_keras

    model = helpers.small_cnn(keras if request.param == "keras3" else tf_keras)
    result = tff.convert(model, input_specs=[(None, 16, 16, 3)])
    rng = np.random.default_rng(3)
    samples = [rng.standard_normal((1, 16, 16, 3)).astype(np.float32) for _ in range(40)]
    return model, result, samples


def test_verification_batches_a_dynamic_batch_model_and_reports_what_one_per_call_reports(dynamic_batch_cnn):
    model, result, samples = dynamic_batch_cnn
    batched = tff.verify(model, result, sample_inputs=samples, input_specs=[(None, 16, 16, 3)])
    alone = tff.verify(model, result, sample_inputs=samples, input_specs=[(None, 16, 16, 3)], max_batch=1)
    assert batched.ok and alone.ok and tff.LiteRTRunner(result.tflite_model).batch_resizable
    assert batched.litert_batch_size == 32 and alone.litert_batch_size == 1  # 40 samples: 32 + 8
    for name, comparison in alone.outputs.items():
        assert batched[name].max_abs_error == pytest.approx(comparison.max_abs_error, abs=1e-6)
        assert batched[name].sample_max_abs_errors == pytest.approx(comparison.sample_max_abs_errors, abs=1e-6)


@pytest.mark.parametrize("max_batch", [0, 2.5, True])
def test_max_batch_must_be_a_positive_integer(dynamic_batch_cnn, max_batch):
    model, result, samples = dynamic_batch_cnn
    with pytest.raises(tff.InvalidInputError, match="max_batch must be a positive integer"):
        tff.verify(model, result, sample_inputs=samples[:2], max_batch=max_batch)


def test_a_model_converted_with_its_batch_pinned_runs_one_sample_per_invoke(dynamic_batch_cnn):
    model, _, samples = dynamic_batch_cnn
    result = tff.convert_and_verify(model, sample_inputs=samples[:12])  # default: batch pinned to 1
    assert result.ok and result.verification.litert_batch_size == 1
    assert not tff.LiteRTRunner(result.tflite_model).batch_resizable


def test_a_refused_resize_raises_clearly_and_leaves_the_runner_usable(K):
    inputs = K.Input((16, 16, 3), name="image")
    fixed = K.layers.Lambda(lambda t: tf.reshape(t, [1, 14 * 14 * 4]), name="flatten")  # batch 1 written in
    flattening = K.Model(inputs, K.layers.Dense(3, name="out")(fixed(K.layers.Conv2D(4, 3, name="conv")(inputs))))
    samples = list(np.random.default_rng(1).standard_normal((5, 1, 16, 16, 3)).astype(np.float32))
    # a dynamic batch declared, but its RESHAPE is fixed to one example: LiteRT refuses a bigger batch
    result = tff.convert(flattening, input_specs=[(None, 16, 16, 3)])
    runner = tff.LiteRTRunner(result.tflite_model)
    with pytest.raises(tff.InvalidInputError, match=r"could not run the model on inputs of shapes .*\(5, 16, 16, 3\)"):
        runner.run({"image": np.concatenate(samples[:5])})
    # and the runner is not left broken
    np.testing.assert_allclose(runner.run({"image": samples[0]})["out"], flattening(samples[0]).numpy(), atol=1e-5)
    # a batch axis the model declares fixed is never resized: refused before LiteRT sees it
    pinned = tff.LiteRTRunner(tff.convert(flattening).tflite_model)
    with pytest.raises(tff.InvalidInputError, match=r"has shape \(1, 16, 16, 3\), got \(5, 16, 16, 3\)"):
        pinned.run({"image": np.concatenate(samples[:5])})


def test_a_batch_coupled_model_is_caught_and_noted(K):
    inputs = K.Input((4,), name="x")
    centred = K.layers.Lambda(lambda x: x - tf.reduce_mean(x, axis=0, keepdims=True), name="centre")(inputs)
    model = K.Model(inputs, K.layers.Dense(2, name="out")(centred))
    samples = [np.random.default_rng(i).standard_normal((1, 4)).astype(np.float32) for i in range(6)]
    report = tff.verify(model, tff.convert(model, input_specs=[(None, 4)]), sample_inputs=samples,
                        input_specs=[(None, 4)])
    assert report.ok and report.litert_batch_size == 1  # alone, each sample centres to zero
    assert any(DIFFERENT_IN_BATCHES in note for note in report.notes)


def test_runner_invokes_directly_with_the_same_results_as_the_signature_runner(dynamic_batch_cnn):
    _, result, samples = dynamic_batch_cnn
    from ai_edge_litert.interpreter import Interpreter

    runner = tff.LiteRTRunner(result.tflite_model)
    reference = Interpreter(model_content=result.tflite_model).get_signature_runner()
    name = runner.input_names[0]
    for x in (samples[0], np.concatenate(samples[:5]), samples[1]):  # resizes up and back down
        got = runner.run({name: x})
        want = reference(**{name: x})
        assert set(got) == set(want)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_runner_names_missing_inputs(dynamic_batch_cnn):
    _, result, _ = dynamic_batch_cnn
    with pytest.raises(tff.InvalidInputError, match="missing"):
        tff.LiteRTRunner(result.tflite_model).run({})


def test_a_reference_traced_for_batch_one_is_retraced_for_batches_only_when_many_samples_pay_for_it(K):
    model = helpers.mlp(K)
    reference = tff.load_model(model)  # batch pinned to 1
    result = tff.convert(reference)
    rng = np.random.default_rng(0)
    few = [rng.standard_normal((1, 8)).astype(np.float32) for _ in range(8)]
    assert tff.verify(reference, result, sample_inputs=few).ok
    assert reference._dynamic_batch is None  # 8 samples: a retrace would cost more than it saves
    many = [rng.standard_normal((1, 8)).astype(np.float32) for _ in range(100)]
    report = tff.verify(reference, result, sample_inputs=many)
    assert report.ok and report.litert_batch_size == 1
    assert reference._dynamic_batch is not None and reference._dynamic_batch.input_specs[0].shape == (None, 8)


def test_a_rewritten_stage_is_measured_as_rewritten_however_many_samples(K):
    tokens = K.Input((6, 16), batch_size=1, name="tokens")  # a batch fixed in the model itself
    attended = helpers.eigh_layer_class(K)(name="eigh_attention")(K.layers.Dense(16, name="project")(tokens))
    model = K.Model(tokens, K.layers.Dense(4, name="head")(attended))
    samples = list(np.random.default_rng(0).standard_normal((70, 1, 6, 16)).astype(np.float32))
    pipeline = tff.Pipeline([tff.passes.replace_unsupported_ops()], check_after_each=True)
    result = tff.convert_and_verify(model, passes=pipeline, sample_inputs=samples)
    assert result.ok
    rewritten = [stage for stage in result.verification.stages if stage.stage not in ("original (frozen)", "tflite")]
    assert rewritten and 0 < rewritten[0].max_abs_error < 1e-4  # the Jacobi rewrite, not TF's own eigh again
    assert any("cannot be traced for inputs" in note for note in result.verification.notes)
