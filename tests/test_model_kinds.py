"""Model kinds from issue 12, section 2: subclassed Keras models, keras-hub backbones that cannot be cloned,
integer inputs that index small tables, TFSMLayer, ragged inputs, and models that capture lookup tables."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

import tflite_fixups as tff
from tflite_fixups.models.pinning import InputPinning, ShapePinning
from tflite_fixups.verification.pinning import SHORTER, length_samples

rng = np.random.default_rng(0)


def _floats(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# --- 1. subclassed Keras models ---------------------------------------------------------------------


def _subclassed(K):
    class Single(K.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    class Pair(K.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(3)

        def call(self, inputs):
            return self.dense(inputs[0]) - 2.0 * self.dense(inputs[1])

    class Keyed(K.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(3)

        def call(self, inputs):
            return self.dense(inputs["a"]) * inputs["b"]

    return Single, Pair, Keyed


def test_subclassed_models_called_once_convert_with_the_shapes_keras_recorded(K):
    Single, Pair, Keyed = _subclassed(K)
    single, pair, keyed = Single(), Pair(), Keyed()
    single(_floats(2, 5))
    pair([_floats(2, 5), _floats(2, 5)])
    keyed({"a": _floats(2, 5), "b": _floats(2, 1)})
    cases = [
        (single, [(1, 5)], _floats(1, 5)),
        (pair, [(1, 5), (1, 5)], [_floats(1, 5), _floats(1, 5)]),
        (keyed, [(1, 5), (1, 1)], {"a": _floats(1, 5), "b": _floats(1, 1)}),
    ]
    for model, shapes, sample in cases:
        result = tff.convert_and_verify(model, sample_inputs=sample)
        assert result.ok, str(result)
        assert [s.shape for s in result.input_specs] == shapes  # the call's batch of 2 is not kept
    assert [s.name for s in tff.load_model(keyed).input_specs] == ["a", "b"]


def test_subclassed_model_only_built_converts(K):
    Single, _, _ = _subclassed(K)
    model = Single()
    model.build((None, 5))
    loaded = tff.load_model(model)
    assert loaded.native_input_specs[0].shape == (None, 5) and loaded.input_specs[0].shape == (1, 5)
    x = _floats(1, 5)
    result = tff.convert_and_verify(model, sample_inputs=x)
    assert result.ok
    np.testing.assert_allclose(loaded.run({"input_0": x})["output_0"], np.asarray(model(x)), atol=1e-6)


def test_never_built_subclassed_models_take_input_specs_as_list_or_dict(K):
    _, Pair, Keyed = _subclassed(K)
    result = tff.convert_and_verify(Keyed(), input_specs={"a": (1, 5), "b": (1, 1)})
    assert result.ok and [s.name for s in result.input_specs] == ["a", "b"]
    result = tff.convert_and_verify(Pair(), input_specs=[(1, 5), (1, 5)])
    assert result.ok and len(result.input_specs) == 2
    with pytest.raises(tff.InvalidModelError, match="pass input_specs"):
        tff.load_model(Pair())


def test_input_specs_override_the_recorded_call_shapes(K):
    Single, _, _ = _subclassed(K)
    model = Single()
    model(_floats(2, 5))
    result = tff.convert_and_verify(model, input_specs=(4, 5))
    assert result.ok and result.input_specs[0].shape == (4, 5)


# --- 2. keras-hub: no Keras clone, pinned on the traced graph -------------------------------------


@pytest.fixture(scope="module")
def llama():
    keras_hub = pytest.importorskip("keras_hub")
    import keras

    keras.utils.set_random_seed(0)
    return keras_hub.models.LlamaBackbone(vocabulary_size=100, num_layers=2, num_query_heads=2,
                                          num_key_value_heads=1, hidden_dim=32, intermediate_dim=64)


@pytest.fixture(scope="module")
def bert():
    keras_hub = pytest.importorskip("keras_hub")
    import keras

    keras.utils.set_random_seed(0)
    return keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32,
                                         intermediate_dim=64, max_sequence_length=64)


def test_llama_that_keras_cannot_clone_is_pinned_on_its_traced_graph(llama):
    import keras

    with pytest.raises(Exception):  # its get_config does not round-trip (rope_scaling_factor)
        keras.models.clone_model(llama)
    weights = [w.copy() for w in llama.get_weights()]
    pin = tff.passes.pin_input_shapes({"token_ids": (1, 16), "padding_mask": (1, 16)}, pad_value=3)
    result = tff.convert_and_verify(llama, [pin])
    assert result.ok, str(result)
    report = result.passes[0]
    assert any("pinned on the traced graph" in n and "rope_scaling_factor" in n for n in report.notes), report.notes
    assert any("['padding_mask', 'token_ids']" in n and n.startswith("masking applies") for n in report.notes)
    assert result.pinning["padding_mask"].pad_value == 0 and result.pinning["token_ids"].pad_value == 3
    assert result.pinning["token_ids"].value_range == (0, 100)
    assert result.verification.pinning.max_pinning_error < 1e-5  # the mask makes padding exact
    assert all(np.array_equal(a, b) for a, b in zip(weights, llama.get_weights()))


def test_bert_pinned_to_16_converts_and_verifies_with_ids_in_range(bert):
    pin = tff.passes.pin_input_shapes({name: (1, 16) for name in ("token_ids", "segment_ids", "padding_mask")})
    result = tff.convert_and_verify(bert, [pin])
    assert result.ok, str(result)
    ranges = {e.name: e.value_range for e in result.pinning.inputs}
    assert ranges == {"token_ids": (0, 100), "segment_ids": (0, 2), "padding_mask": (0, 2)}
    assert result.verification.pinning.max_pinning_error < 1e-5
    assert any("segment_ids in [0, 2)" in n for n in result.passes[0].notes)


def test_bert_padding_probe_uses_the_users_samples(bert):
    samples = []
    for n in (10, 16, 20):
        samples.append({"token_ids": rng.integers(0, 100, (1, n)).astype(np.int32),
                        "segment_ids": (np.arange(n)[None] >= n // 2).astype(np.int32),
                        "padding_mask": np.ones((1, n), np.int32)})
    pin = tff.passes.pin_input_shapes({name: (1, 16) for name in ("token_ids", "segment_ids", "padding_mask")})
    result = tff.convert_and_verify(bert, [pin], sample_inputs=samples)
    assert result.ok, str(result)
    assert any("of your samples cut to shorter lengths" in n for n in result.passes[0].notes), result.passes[0].notes


def test_probe_samples_keep_integer_inputs_in_their_valid_range():
    pinning = ShapePinning([
        InputPinning("segment_ids", "int32", (None, None), (1, 40), value_range=(0, 2)),
        InputPinning("padding_mask", "int32", (None, None), (1, 40), value_range=(0, 2)),
        InputPinning("other", "int32", (None, None), (1, 40)),
    ])
    samples = length_samples(pinning, pinning.reference_specs, categories=(SHORTER,))
    assert samples
    for sample in samples:
        assert set(np.unique(sample["segment_ids"])) <= {0, 1}
        assert np.all(sample["padding_mask"] == 1)
    assert max(int(s["other"].max()) for s in samples) > 1  # no range known: as before
    assert ShapePinning.from_json(pinning.to_json()) == pinning


def test_subclassed_model_is_pinned_on_its_traced_graph(K):
    class Pool(K.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(4)

        def call(self, x):
            return tf.reduce_max(self.dense(x), axis=1)

    model = Pool()
    model(_floats(1, 7, 3))
    sequences = [_floats(1, n, 3) for n in (4, 10, 12)]
    pin = tff.passes.pin_input_shapes({"input_0": (1, 10, 3)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tff.convert_and_verify(model, [pin], input_specs=(1, None, 3), sample_inputs=sequences)
    assert result.input_specs[0].shape == (1, 10, 3)
    assert any("pinned on the traced graph" in n for n in result.passes[0].notes)
    assert result.verification.pinning is not None


# --- 4. TFSMLayer -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tfsm_layer(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,), name="x")
    exported = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    path = str(tmp_path_factory.mktemp("export") / "exported")
    exported.export(path, verbose=False)
    return keras.layers.TFSMLayer(path, call_endpoint="serve"), exported


def test_tfsm_layer_alone_converts_through_its_saved_model_endpoint(tfsm_layer):
    layer, exported = tfsm_layer
    x = _floats(1, 5)
    loaded = tff.load_model(layer)
    assert loaded.kind == "saved_model" and loaded.input_names == ["x"]
    result = tff.convert_and_verify(layer, sample_inputs=x)
    assert result.ok
    (out,) = tff.LiteRTRunner(result.tflite_model).run({"x": x}).values()
    np.testing.assert_allclose(out, np.asarray(exported(x)), atol=1e-5)


def test_tfsm_layer_inside_functional_and_sequential_models(tfsm_layer):
    import keras

    layer, _ = tfsm_layer
    inputs = keras.Input((5,), name="features")
    functional = keras.Model(inputs, keras.layers.Dense(2, name="head")(layer(inputs)))
    sequential = keras.Sequential([keras.Input((5,)), layer])
    for model in (functional, sequential):
        assert tff.convert_and_verify(model, sample_inputs=_floats(4, 5)).ok


# --- 5. ragged inputs ---------------------------------------------------------------------------------


@tf.function(input_signature=[tf.RaggedTensorSpec(shape=[None, None], dtype=tf.float32, ragged_rank=1)])
def ragged_row_sums(x):
    return tf.reduce_sum(x, axis=1)


def test_ragged_input_loads_as_values_and_row_splits_like_the_bare_converter():
    bare = tf.lite.TFLiteConverter.from_concrete_functions([ragged_row_sums.get_concrete_function()], ragged_row_sums)
    bare_runner = tf.lite.Interpreter(model_content=bare.convert())
    assert [(d["name"], d["dtype"]) for d in bare_runner.get_input_details()] == [("x", np.float32), ("x_1", np.int64)]

    loaded = tff.load_model(ragged_row_sums)
    assert [str(s) for s in loaded.input_specs] == ["x/values: float32[None]", "x/row_splits: int64[None]"]
    x = tf.ragged.constant([[1.0, 2.0, 3.0], [4.0], [5.0, 6.0]])
    result = tff.convert_and_verify(ragged_row_sums, sample_inputs=[x, {"x": x[:2]}])
    assert result.ok, str(result)
    (out,) = tff.LiteRTRunner(result.tflite_model).run(
        {"x/values": x.values.numpy(), "x/row_splits": x.row_splits.numpy()}).values()
    np.testing.assert_allclose(out, [6.0, 4.0, 11.0])


def test_ragged_input_random_samples_have_valid_row_splits():
    result = tff.convert_and_verify(ragged_row_sums)
    assert result.ok and not result.verification.sample_failures


# --- 6. lookup tables and strings -----------------------------------------------------------------------


def _lookup_models(K):
    words = K.Input((1,), dtype="string", name="words")
    text = K.Input((1,), dtype="string", name="text")
    ids = K.Input((1,), dtype="int64", name="ids")
    vectorize = K.layers.TextVectorization(max_tokens=10, output_sequence_length=4, vocabulary=["a", "b"],
                                           name="text_vectorization")
    return [
        (K.Model(words, K.layers.StringLookup(vocabulary=["a", "b"], name="string_lookup")(words)),
         "string_lookup", "on strings", np.array([["a"]])),
        (K.Model(text, vectorize(text)), "text_vectorization", "on strings", np.array([["a b"]])),
        (K.Model(ids, K.layers.IntegerLookup(vocabulary=[3, 5], name="integer_lookup")(ids)),
         "integer_lookup", "on int64 keys", np.array([[5]])),
    ]


def test_keras_lookup_layers_load_and_refuse_conversion_clearly(K):
    for model, layer, keys, sample in _lookup_models(K):
        loaded = tff.load_model(model)  # loads and runs in TensorFlow
        assert loaded.run({loaded.input_names[0]: sample})
        with pytest.raises(tff.ConversionError) as caught:
            tff.convert_and_verify(model, sample_inputs=sample)
        message = str(caught.value)
        assert f"layer '{layer}' uses LookupTableFindV2 {keys}" in message and "split the preprocessing off" in \
            message.lower(), message
        assert caught.value.unsupported_ops[0].layer == layer


def test_static_hash_table_in_a_tf_function_is_refused_clearly():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(["a", "b"]), tf.constant([1, 2], tf.int64)), -1)

    @tf.function(input_signature=[tf.TensorSpec([1], tf.string, name="key")])
    def lookup(key):
        return table.lookup(key)

    with pytest.raises(tff.ConversionError, match="uses LookupTableFindV2 on strings"):
        tff.convert(lookup)


def test_decode_jpeg_on_a_string_input_names_the_op_and_the_way_out():
    @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="jpeg")])
    def decode(data):
        return tf.cast(tf.io.decode_jpeg(data, channels=3), tf.float32) / 255.0

    with pytest.raises(tff.ConversionError) as caught:
        tff.convert(decode)
    assert [op.op_type for op in caught.value.unsupported_ops] == ["DecodeJpeg"]
    assert any("DecodeJpeg" in h and "on strings" in h and "preprocessing off" in h for h in caught.value.hints)


def test_random_verification_samples_keep_integer_inputs_in_range(bert):
    """Without samples and without pinning, random token/segment ids must fit their tables (not [0, 8))."""
    from tflite_fixups.models.value_ranges import random_sample_ranges

    model = tff.load_model(bert, {name: (1, 12) for name in ("token_ids", "segment_ids", "padding_mask")})
    ranges = random_sample_ranges(model)
    assert (ranges["segment_ids"].low, ranges["segment_ids"].high) == (0, 2)
    result = tff.convert_and_verify(bert, input_specs={name: (1, 12) for name in ("token_ids", "segment_ids",
                                                                                    "padding_mask")})
    assert result.ok, str(result)
    assert any("'segment_ids' in [0, 2)" in w for w in result.warnings), result.warnings
    report = tff.verify(bert, result, input_specs={name: (1, 12) for name in ("token_ids", "segment_ids",
                                                                                "padding_mask")})
    assert report.ok and not report.sample_failures


def test_a_clone_whose_weights_are_listed_in_another_order_gets_them_by_path():
    """keras-hub's Whisper builds lazily: its clone lists weights in another order than the model."""
    keras_hub = pytest.importorskip("keras_hub")
    import keras
    from tflite_fixups.models.keras_graph import clone_with_weights

    keras.utils.set_random_seed(0)
    whisper = keras_hub.models.WhisperBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64, num_mels=16,
        max_encoder_sequence_length=64, max_decoder_sequence_length=16)
    clone = clone_with_weights(whisper)
    assert [w.path for w in clone.weights] != [w.path for w in whisper.weights]  # what made set_weights fail
    feed = {"encoder_features": np.random.default_rng(0).normal(size=(1, 64, 16)).astype(np.float32),
            "decoder_token_ids": np.arange(16, dtype=np.int32)[None] % 100,
            "decoder_padding_mask": np.ones((1, 16), np.int32)}
    for name, value in whisper(feed).items():
        np.testing.assert_allclose(np.asarray(clone(feed)[name]), np.asarray(value), atol=1e-5)
