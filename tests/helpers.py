"""Small real models used across the tests, buildable with Keras 3 or tf-keras."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def mlp(K, seed: int = 0):
    """Input(8) -> Dense(16, relu) -> Dense(3, softmax), deterministic weights."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((8,), name="features")
    hidden = K.layers.Dense(16, activation="relu", name="hidden")(inputs)
    return K.Model(inputs, K.layers.Dense(3, activation="softmax", name="scores")(hidden), name="mlp")


def small_cnn(K, seed: int = 0):
    K.utils.set_random_seed(seed)
    inputs = K.Input((16, 16, 3), name="image")
    x = K.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = K.layers.BatchNormalization(name="bn")(x)
    x = K.layers.GlobalAveragePooling2D(name="pool")(x)
    return K.Model(inputs, K.layers.Dense(4, name="logits")(x), name="cnn")


def eigh_layer_class(K):
    class EighAttention(K.layers.Layer):
        """Symmetrised attention scores -> softmax of their eigenvalues (the seed's layer)."""

        def call(self, x):
            scores = tf.matmul(x, x, transpose_b=True)
            scores = 0.5 * (scores + tf.transpose(scores, [0, 2, 1]))
            eigenvalues, _ = tf.linalg.eigh(scores)
            return tf.nn.softmax(eigenvalues)

    return EighAttention


def eigh_model(K):
    inputs = K.Input((10, 4), name="tokens")
    attended = eigh_layer_class(K)(name="eigh_attention")(inputs)
    return K.Model(inputs, K.layers.Dense(3, name="head")(attended), name="eigh_model")


def erf_model(K):
    """A model whose only problem is Erf (Select-able, i.e. a "flex" op)."""
    inputs = K.Input((6,), name="x")
    hidden = K.layers.Dense(6, name="dense_in")(inputs)
    activated = K.layers.Lambda(lambda t: tf.math.erf(t), name="erf_act")(hidden)
    return K.Model(inputs, K.layers.Dense(2, name="dense_out")(activated), name="erf_model")


def dict_input_encoder(K, vocab: int = 64, length: int = 12, width: int = 16, seed: int = 0):
    """A keras-hub BertBackbone-style model: dict inputs, dict outputs, masked attention."""
    K.utils.set_random_seed(seed)
    token_ids = K.Input((length,), dtype="int32", name="token_ids")
    segment_ids = K.Input((length,), dtype="int32", name="segment_ids")
    padding_mask = K.Input((length,), dtype="int32", name="padding_mask")
    x = K.layers.Embedding(vocab, width, name="token_embedding")(token_ids)
    x = x + K.layers.Embedding(2, width, name="segment_embedding")(segment_ids)
    mask = K.layers.Lambda(lambda m: tf.cast(m[:, None, :], "bool"), name="attention_mask")(padding_mask)
    attended = K.layers.MultiHeadAttention(2, width // 2, name="attention")(x, x, attention_mask=mask)
    x = K.layers.LayerNormalization(name="norm")(x + attended)
    x = K.layers.Dense(width, activation="gelu", name="ffn")(x)
    pooled = K.layers.Dense(width, activation="tanh", name="pooler")(x[:, 0, :])
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    return K.Model(inputs, {"sequence_output": x, "pooled_output": pooled}, name="encoder")


def encoder_sample(length: int = 12, seed: int = 0, vocab: int = 64):
    rng = np.random.default_rng(seed)
    valid = int(rng.integers(3, length + 1))
    mask = np.zeros((1, length), np.int32)
    mask[0, :valid] = 1
    return {
        "token_ids": rng.integers(0, vocab, (1, length)).astype(np.int32) * mask,
        "segment_ids": (np.arange(length) >= valid // 2).astype(np.int32)[None] * mask,
        "padding_mask": mask,
    }


def weights_snapshot(model):
    return [np.array(w, copy=True) for w in model.get_weights()]


def assert_same_weights(before, model):
    after = model.get_weights()
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


class ControlFlow(tf.Module):
    """SPLIT, IF (tf.cond) and WHILE (tf.while_loop): three subgraphs called from the main one."""

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def f(self, x):
        a, b = tf.split(x, 2, axis=1)
        y = tf.cond(tf.reduce_sum(a) > 0, lambda: a * 2.0, lambda: b - 1.0)
        _, z = tf.while_loop(lambda i, z: i < 3, lambda i, z: (i + 1, tf.tanh(z) + y), (tf.constant(0), y))
        return {"out": tf.reshape(z, [4, 1])}
