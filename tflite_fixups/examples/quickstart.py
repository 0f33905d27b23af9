import keras
import numpy as np
import tensorflow as tf

import tflite_fixups as tff


class EighAttention(keras.layers.Layer):
    """Softmax over the eigenvalues of symmetrised attention scores (the layer that won't convert)."""

    def call(self, x):
        scores = tf.matmul(x, x, transpose_b=True) / 8.0
        symmetric = 0.5 * (scores + tf.transpose(scores, [0, 2, 1]))
        eigenvalues, _ = tf.linalg.eigh(symmetric)
        return tf.nn.softmax(eigenvalues)


keras.utils.set_random_seed(0)
tokens = keras.Input((10, 16), batch_size=1, name="tokens")
features = keras.layers.Dense(16, name="project")(tokens)
model = keras.Model(tokens, keras.layers.Dense(4, name="head")(EighAttention(name="eigh_attention")(features)))
samples = np.random.default_rng(0).standard_normal((8, 10, 16)).astype(np.float32)

# 1. The converter alone rejects it (builtin ops only):
try:
    tff.convert(model)
except tff.ConversionError as error:
    print(error)

# 2. Rewrite the rejected op into TFLite builtins, convert, and check against Keras on LiteRT:
result = tff.convert_and_verify(model, passes=[tff.passes.replace_unsupported_ops()], sample_inputs=samples)
print(result)
assert result.ok and result.verification["head"].max_abs_error < 1e-4
result.save("eigh_attention.tflite")
