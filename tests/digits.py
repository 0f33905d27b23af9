"""scikit-learn's handwritten digits (ships with the package: no download) and a small CNN trained on them."""

from __future__ import annotations

import functools

import numpy as np

TRAIN = 1400


@functools.lru_cache(maxsize=None)
def digits():
    """(x_train, y_train, x_test, y_test): 8x8x1 images scaled to [0, 1], labels 0-9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images[..., None] / 16.0).astype("float32")
    y = data.target.astype("int64")
    return x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]


def digits_cnn(K, *, epochs: int = 8, seed: int = 0):
    """Conv-BN-ReLU, Conv-ReLU, max pooling, Dense softmax: trained in a few seconds to about 95% test accuracy."""
    K.utils.set_random_seed(seed)
    x_train, y_train, _, _ = digits()
    inputs = K.Input((8, 8, 1), name="digit")
    x = K.layers.Conv2D(16, 3, padding="same", name="conv1")(inputs)
    x = K.layers.BatchNormalization(name="bn1")(x)
    x = K.layers.ReLU(name="relu1")(x)
    x = K.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = K.layers.MaxPooling2D(2, name="pool")(x)
    x = K.layers.Flatten(name="flatten")(x)
    model = K.Model(inputs, K.layers.Dense(10, activation="softmax", name="probs")(x), name="digits_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=-1) == labels))


FINE_TUNE_EPOCHS = 2
CALIBRATION = 200
FLOAT, PTQ, OURS, TFMOT = "float", "int8 PTQ", "int8 fake-quant fine-tuned (ours)", "int8 tfmot QAT"


def litert_accuracy(result) -> float:
    """Accuracy of a converted model on the held-out digits, run on LiteRT."""
    import tflite_fixups as tff

    _, _, x_test, y_test = digits()
    runner = tff.LiteRTRunner(result.tflite_model)
    output = result.output_names[0]
    predictions = np.concatenate([runner.run({result.input_specs[0].name: x[None]})[output] for x in x_test])
    return accuracy(predictions, y_test)


def fine_tune(K, model, epochs: int = FINE_TUNE_EPOCHS, seed: int = 0):
    K.utils.set_random_seed(seed)
    x_train, y_train, _, _ = digits()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def accuracy_table(K) -> dict:
    """Float vs int8 PTQ vs fake-quant fine-tuning vs (tf-keras only) tfmot QAT, int8 models on LiteRT."""
    import tflite_fixups as tff

    x_train, _, x_test, y_test = digits()
    model = digits_cnn(K)
    row = {FLOAT: accuracy(model.predict(x_test, verbose=0), y_test)}
    ptq = tff.convert_and_verify(model, sample_inputs=x_test[:64], quantization="int8",
                                 representative_data=x_train[:CALIBRATION])
    row[PTQ] = litert_accuracy(ptq)
    ours = fine_tune(K, tff.passes.insert_fake_quant()(model))
    row[OURS] = litert_accuracy(tff.convert_and_verify(ours, sample_inputs=x_test[:64], quantization="int8"))
    if K.__name__ == "tf_keras":
        import tensorflow_model_optimization as tfmot

        qat = fine_tune(K, tfmot.quantization.keras.quantize_model(model))
        row[TFMOT] = litert_accuracy(tff.convert_and_verify(qat, sample_inputs=x_test[:64], quantization="int8"))
    return row
