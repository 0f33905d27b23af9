import keras
import numpy as np
import tensorflow as tf

import tflite_fixups as tff

# A small classifier, and samples shaped like its real inputs.
inputs = keras.Input((28, 28, 1), name="image")
x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
x = keras.layers.MaxPooling2D()(x)
x = keras.layers.Flatten()(x)
model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="digits")(x))
samples = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)

# Convert with builtin TFLite ops only, run it on LiteRT, compare with Keras.
result = tff.convert_and_verify(model, sample_inputs=samples)
print(result)
assert result.ok, "TFLite outputs differ from Keras"
result.save("quickstart.tflite")


# A model the converter rejects: diagnose says which op, from which layer.
class EighAttention(keras.layers.Layer):
    def call(self, scores):
        eigenvalues, _ = tf.linalg.eigh(0.5 * (scores + tf.transpose(scores, [0, 2, 1])))
        return tf.nn.softmax(eigenvalues)


scores = keras.Input((10, 10), name="scores")
attention_model = keras.Model(scores, EighAttention(name="eigh_attention")(scores))
print(tff.diagnose(attention_model))
