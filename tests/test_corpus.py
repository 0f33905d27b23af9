"""The real-model corpus (benchmarks/corpus): it is well-formed, and six named entries have the outcome expected today.

The whole corpus runs in ``python benchmarks/bench_corpus.py`` (minutes), not here. These tests
check that every entry builds offline and that its samples fit the model's inputs (cheap), and
convert six representative entries with the call a user would make. An entry expected to fail
today is an ``xfail(strict=True)``: when a fix lands it XPASSes, and its ``expected`` in
``benchmarks/corpus/architectures.py`` should become ``"ok"``.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from corpus import ALL, DEVELOPMENT, HELD_OUT, by_name  # noqa: E402

pytestmark = pytest.mark.slow

# One of each kind the issue names: a Keras 3 CNN with SiLU, a keras-hub BERT, a keras-hub Llama,
# a tf-keras application, an RNN text model in tf-keras, a multi-input model.
OUTCOME_ENTRIES = ["k3_efficientnet_b0", "hub_bert", "hub_llama", "tk_mobilenet_v2", "tk_embedding_lstm",
                   "k3_multi_input"]


def test_the_lists_are_large_enough_disjoint_and_named_uniquely():
    assert len(DEVELOPMENT) >= 30 and len(HELD_OUT) >= 35
    names = [entry.name for entry in ALL]
    assert len(set(names)) == len(names)
    assert not {e.name for e in DEVELOPMENT} & {e.name for e in HELD_OUT}
    architectures = {(e.source, e.flavour) for e in DEVELOPMENT}
    assert not architectures & {(e.source, e.flavour) for e in HELD_OUT}, "held-out repeats a development model"


def test_the_corpus_covers_both_kerases_and_the_families_the_issue_names():
    for entries in (DEVELOPMENT, HELD_OUT):
        flavours = {e.flavour for e in entries}
        assert flavours == {"keras3", "tf_keras"}
        sources = " ".join(e.source for e in entries)
        for family in ("keras.applications.", "tf_keras.applications.", "keras_hub.models.", "LSTM", "GRU",
                       "non_max_suppression", "stft"):
            assert family in sources, f"no {family} entry"
    for name in OUTCOME_ENTRIES:
        assert by_name(name) in DEVELOPMENT


def test_every_entry_names_its_call_and_why_it_is_expected_to_fail():
    for entry in ALL:
        assert entry.recommended_call().startswith(f"tff.{entry.call}(model")
        assert entry.expected == "ok" or entry.expected_note, f"{entry.name}: say why it is expected to fail"


def _inputs(model):
    """name -> (shape without batch, dtype) of a Keras model's inputs, or of a tf.function's signature."""
    if hasattr(model, "inputs") and hasattr(model, "layers"):
        tensors = model.inputs
        names = [getattr(t, "name", "").split(":")[0] for t in tensors]
        if hasattr(model, "input_names") and model.input_names:
            names = list(model.input_names)  # tf-keras names the inputs here
        return {name: (tuple(t.shape)[1:], str(getattr(t.dtype, "name", t.dtype))) for name, t in zip(names, tensors)}
    specs = model.input_signature
    return {spec.name: (tuple(spec.shape)[1:], spec.dtype.name) for spec in specs}


def _check_sample_fits(entry, model, sample):
    """Same input names (a dict sample) or a single input; batch 1; rank, fixed sizes and dtype as declared."""
    inputs = _inputs(model)
    if isinstance(sample, dict):
        assert sorted(sample) == sorted(inputs), f"{entry.name}: sample inputs {sorted(sample)} for {sorted(inputs)}"
        pairs = [(name, sample[name], inputs[name]) for name in sample]
    else:
        assert len(inputs) == 1, f"{entry.name}: one array for {len(inputs)} inputs"
        pairs = [(None, sample, next(iter(inputs.values())))]
    for name, value, (shape, dtype) in pairs:
        assert isinstance(value, np.ndarray) and value.shape[0] == 1, f"{entry.name}: batch 1 arrays"
        assert value.ndim == len(shape) + 1, f"{entry.name}/{name}: rank {value.ndim} for {shape}"
        assert all(d is None or d == v for d, v in zip(shape, value.shape[1:])), f"{entry.name}/{name}: {shape}"
        assert np.dtype(value.dtype).name == dtype, f"{entry.name}/{name}: {value.dtype} for {dtype}"
        assert np.all(np.isfinite(value))


def _check_sample_values(entry, sample):
    """Realistic values: masks 0/1 with at least one 1, token ids inside the vocabulary, segment ids in range."""
    if not isinstance(sample, dict):
        return
    for name, value in sample.items():
        if "padding_mask" in name:
            assert set(np.unique(value)) <= {0, 1} and value[0, 0] == 1, f"{entry.name}/{name}"
        if "segment_ids" in name:
            assert value.min() >= 0 and value.max() <= 3, f"{entry.name}/{name}"
        if "token_ids" in name:
            assert value.min() >= 0 and value.max() < 100, f"{entry.name}/{name}"


def _is_application(entry):
    return entry.source.startswith(("keras.applications.", "tf_keras.applications."))


# Building every application costs minutes; the held-out ones are checked without building (below).
BUILT = [entry.name for entry in ALL if not (_is_application(entry) and entry in HELD_OUT)]


def test_held_out_applications_exist_and_their_samples_are_images():
    import keras
    import tf_keras

    for entry in HELD_OUT:
        if not _is_application(entry):
            continue
        module = keras.applications if entry.flavour == "keras3" else tf_keras.applications
        assert callable(getattr(module, entry.source.rsplit(".", 1)[1])), entry.source
        sample = entry.samples(1)[0]
        assert sample.shape[0] == 1 and sample.shape[1] == sample.shape[2] >= 32 and sample.shape[3] == 3
        assert sample.dtype == np.float32 and np.all(np.isfinite(sample))


@pytest.mark.parametrize("name", BUILT)
def test_each_entry_builds_offline_and_its_samples_fit(name):
    entry = by_name(name)
    model = entry.build()
    samples = entry.samples(2, seed=1)
    assert len(entry.samples(seed=1)) == entry.num_samples
    for sample in samples:
        _check_sample_fits(entry, model, sample)
        _check_sample_values(entry, sample)
    again = entry.samples(2, seed=1)  # reproducible
    for first, second in zip(samples, again):
        for a, b in zip(_as_dict(first).values(), _as_dict(second).values()):
            np.testing.assert_array_equal(a, b)


def _as_dict(sample):
    return sample if isinstance(sample, dict) else {"x": sample}


@pytest.mark.parametrize("name", [entry.name for entry in DEVELOPMENT
                                  if not entry.source.startswith(("keras.applications", "tf_keras.applications"))])
def test_samples_run_through_the_model_in_tensorflow(name):
    """The model accepts its samples and gives finite outputs (the applications' layers are checked by shape only)."""
    import tensorflow as tf

    entry = by_name(name)
    model = entry.build()
    sample = entry.samples(1)[0]
    outputs = model(sample, training=False) if hasattr(model, "layers") else model(sample)
    for value in tf.nest.flatten(outputs):
        assert np.all(np.isfinite(np.asarray(value, np.float64))), name


def _outcome_param(name):
    entry = by_name(name)
    if entry.expected == "ok":
        return pytest.param(name, id=name)
    return pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=entry.expected_note))


@pytest.mark.parametrize("name", [_outcome_param(name) for name in OUTCOME_ENTRIES])
def test_outcome_expected_today(name):
    """The entry's recommended call converts with builtin ops only and verifies (or fails as recorded)."""
    entry = by_name(name)
    result = entry.run()
    flex = [op for op in result.ops if op.startswith("Flex")]
    assert not flex, f"Flex ops: {flex}"
    assert result.ok, str(result)
