"""Sequence models with dynamic lengths for the shape-pinning tests, buildable with Keras 3 or tf-keras.

Biases are randomised (or trained) so that padding errors cannot hide behind zero biases.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

FEATURES = 8


def randomise_biases(model, seed: int = 1, scale: float = 0.5):
    rng = np.random.default_rng(seed)
    weights = []
    for variable, value in zip(model.weights, model.get_weights()):
        is_bias = "bias" in variable.name
        weights.append(rng.normal(scale=scale, size=value.shape).astype(value.dtype) if is_bias else value)
    model.set_weights(weights)
    return model


def trained_seed_lstm(K, seed: int = 0):
    """The seed's model: Input((None, 32)) -> LSTM(64) -> Dense(10), fitted briefly so its biases are non-zero."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((None, 32), name="seq")
    model = K.Model(inputs, K.layers.Dense(10, name="head")(K.layers.LSTM(64, name="lstm")(inputs)), name="seed_lstm")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 24, 32)).astype("float32")
    model.fit(x, np.tanh(x.sum(axis=(1, 2)))[:, None] * np.ones((1, 10), "float32"), epochs=3, batch_size=16, verbose=0)
    return model


def _recurrent(K, layer, name):
    K.utils.set_random_seed(0)
    inputs = K.Input((None, FEATURES), name="seq")
    return randomise_biases(K.Model(inputs, K.layers.Dense(3, name="head")(layer(inputs)), name=name))


def lstm(K):
    return _recurrent(K, K.layers.LSTM(12, name="lstm"), "lstm_model")


def gru(K):
    return _recurrent(K, K.layers.GRU(12, name="gru"), "gru_model")


def simple_rnn(K):
    return _recurrent(K, K.layers.SimpleRNN(12, name="rnn"), "simple_rnn_model")


def bidirectional(K):
    return _recurrent(K, K.layers.Bidirectional(K.layers.LSTM(8), name="bi"), "bidirectional_model")


def stacked_time_distributed(K):
    """Two return_sequences=True recurrent layers and a TimeDistributed head: the output has a time axis."""
    K.utils.set_random_seed(0)
    inputs = K.Input((None, FEATURES), name="seq")
    x = K.layers.GRU(10, return_sequences=True, name="gru")(inputs)
    x = K.layers.LSTM(10, return_sequences=True, name="lstm")(x)
    outputs = K.layers.TimeDistributed(K.layers.Dense(4), name="per_step")(x)
    return randomise_biases(K.Model(inputs, outputs, name="stacked"))


def embedding_lstm(K, vocab: int = 40):
    """Token ids (int32) -> Embedding(mask_zero=True) -> LSTM: 0 is the padding token."""
    K.utils.set_random_seed(0)
    tokens = K.Input((None,), dtype="int32", name="tokens")
    x = K.layers.Embedding(vocab, 8, mask_zero=True, name="embed")(tokens)
    x = K.layers.LSTM(12, name="lstm")(x)
    return randomise_biases(K.Model(tokens, K.layers.Dense(3, name="head")(x), name="embedding_lstm"))


def conv1d_pooling(K):
    """Conv1D + global pooling: no mask can make padding exact here."""
    K.utils.set_random_seed(0)
    inputs = K.Input((None, FEATURES), name="seq")
    x = K.layers.Conv1D(6, 3, padding="same", activation="relu", name="conv")(inputs)
    x = K.layers.GlobalAveragePooling1D(name="pool")(x)
    return randomise_biases(K.Model(inputs, K.layers.Dense(3, name="head")(x), name="conv1d_model"))


def multi_input(K):
    """A dynamic sequence plus a static feature vector: only one input needs pinning."""
    K.utils.set_random_seed(0)
    seq = K.Input((None, FEATURES), name="seq")
    side = K.Input((4,), name="side")
    x = K.layers.Concatenate(name="join")([K.layers.GRU(8, name="gru")(seq), side])
    return randomise_biases(K.Model([seq, side], K.layers.Dense(3, name="head")(x), name="multi_input"))


def lstm_with_erf(K):
    """An LSTM followed by an op the converter rejects (Erf), to chain pinning with op rewrites."""
    K.utils.set_random_seed(0)
    inputs = K.Input((None, FEATURES), name="seq")
    x = K.layers.LSTM(8, name="lstm")(inputs)
    x = K.layers.Lambda(lambda t: tf.math.erf(t), name="erf")(x)
    return randomise_biases(K.Model(inputs, K.layers.Dense(3, name="head")(x), name="lstm_erf"))


def sequences(lengths, features=FEATURES, seed=0, name="seq"):
    rng = np.random.default_rng(seed)
    return [{name: rng.normal(size=(1, n, features)).astype("float32")} for n in lengths]


def token_sequences(lengths, vocab: int = 40, seed=0):
    rng = np.random.default_rng(seed)
    return [{"tokens": rng.integers(1, vocab, size=(1, n)).astype("int32")} for n in lengths]
