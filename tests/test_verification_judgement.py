"""How verification judges outputs that are not plain values: tiny, random, detections; and the frozen stage."""

import numpy as np
import pytest
import tensorflow as tf

import tflite_fixups as tff
from tflite_fixups.reports.verification import DETECTION_AGREEMENT
from tflite_fixups.verification.detection import find_detection_groups, match_boxes
from tflite_fixups.verification.metrics import compare_arrays, compare_outputs
from tflite_fixups.verification.randomness import is_random_op, random_dependencies
from tflite_fixups.verification.verify import FROZEN_STAGE


# ---------------------------------------------------------------- tiny outputs


def tiny_output_model(K, seed):
    """Five Dense layers with weights shrunk 1e3-fold: outputs about 1e-11, like a random-weight MobileNetV3's logits."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((16,), batch_size=1, name="features")
    x = inputs
    for i in range(4):
        x = K.layers.Dense(16, activation="tanh", name=f"dense_{i}")(x)
    model = K.Model(inputs, K.layers.Dense(4, name="logits")(x))
    for layer in model.layers:
        if layer.get_weights():
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel * 2e-3, bias * 0])
    return model


def test_tiny_outputs_from_a_different_model_now_fail(K):
    model, other = tiny_output_model(K, 0), tiny_output_model(K, 1)
    samples = np.random.default_rng(0).standard_normal((8, 1, 16)).astype(np.float32)
    scale = float(np.abs(np.asarray(model(samples[0]))).max())
    assert 1e-14 < scale < 1e-9
    wrong = tff.verify(model, tff.convert(other), sample_inputs=list(samples))
    logits = wrong["logits"]
    assert logits.max_abs_error < 1e-4  # the absolute criterion alone passed this wrong model
    assert not wrong.ok and wrong.diverging_outputs == ["logits"]
    assert logits.judged_by == "scale" and logits.scale == pytest.approx(scale, rel=0.5)
    assert "compared relative to its own scale" in str(wrong)


def test_tiny_outputs_of_the_right_model_pass_relative_to_their_scale(K):
    model = tiny_output_model(K, 0)
    samples = np.random.default_rng(0).standard_normal((8, 1, 16)).astype(np.float32)
    result = tff.convert_and_verify(model, sample_inputs=list(samples))
    logits = result.verification["logits"]
    assert result.ok and logits.judged_by == "scale" and not logits.too_small_to_judge
    assert logits.max_abs_error / logits.scale < 1e-4
    assert logits.verdict == "ok (relative to scale)"


def test_outputs_that_are_zero_everywhere_are_flagged_too_small_to_judge(K):
    inputs = K.Input((4,), batch_size=1, name="x")
    dead = K.layers.Dense(3, activation="relu", bias_initializer=K.initializers.Constant(-1e3), name="dead")(inputs)
    alive = K.layers.Dense(2, name="alive")(inputs)
    model = K.Model(inputs, {"dead": dead, "alive": alive})
    result = tff.convert_and_verify(model, num_random_samples=4)
    assert result.ok
    assert result.verification["dead"].too_small_to_judge and result.verification["dead"].verdict == "too small to judge"
    assert not result.verification["alive"].too_small_to_judge
    assert result.verification.too_small_outputs == ["dead"]
    assert any("too small to judge" in w and "'dead'" in w for w in result.warnings)


def test_a_softmax_of_near_zero_logits_is_too_flat_to_judge(K):
    model = tiny_output_model(K, 0)
    flat = K.Model(model.inputs, K.layers.Softmax(name="probabilities")(model.output))
    report = tff.verify(flat, tff.convert(flat), num_random_samples=4)
    probabilities = report["probabilities"]
    assert report.ok and probabilities.judged_by == "values" and probabilities.too_small_to_judge
    assert "varies less than the tolerance" in str(report)


def test_normal_outputs_are_judged_exactly_as_before():
    ref = np.array([[0.5, -2.0, 1e-3]])
    close = compare_arrays("y", [(ref, ref + 9e-5)], atol=1e-4, rtol=0)
    far = compare_arrays("y", [(ref, ref + 1.1e-4)], atol=1e-4, rtol=0)
    assert close.within_tolerance and close.judged_by == "values" and not close.too_small_to_judge
    assert not far.within_tolerance and close.scale == 2.0
    tiny = np.array([[3e-9, -1e-9]])
    assert not compare_arrays("y", [(tiny, -tiny)], atol=1e-4, rtol=1e-4).within_tolerance
    assert compare_arrays("y", [(tiny, tiny * (1 + 1e-6))], atol=1e-4, rtol=1e-4).within_tolerance
    assert compare_arrays("y", [(tiny, -tiny)], atol=0, rtol=0).judged_by == "values"  # exact stays exact
    labels = compare_arrays("y", [(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))], atol=0, rtol=0)
    assert labels.agreement == 0.75 and labels.scale is None


@pytest.mark.slow
def test_random_weight_mobilenet_v3_logits_are_judged_relative_to_their_scale():
    import keras

    def mobilenet(seed):
        keras.utils.set_random_seed(seed)
        image = keras.Input((96, 96, 3), batch_size=1, name="image")
        return keras.applications.MobileNetV3Small(input_tensor=image, weights=None, classes=10,
                                                   classifier_activation=None)

    model, other = mobilenet(0), mobilenet(1)
    right = tff.convert_and_verify(model)
    wrong = tff.verify(model, tff.convert(other))
    name = model.output_names[0] if hasattr(model, "output_names") else right.output_names[0]
    assert right.ok and right.verification[name].judged_by == "scale" and right.verification[name].scale < 1e-8
    assert not wrong.ok and wrong[name].max_abs_error < 1e-4


# ---------------------------------------------------------------- random outputs


def sampling_layer(K, keras3_seed_generator=False):
    class Sampling(K.layers.Layer):
        """z = mean + exp(log_var / 2) * eps, eps drawn at every call (a VAE's reparameterisation)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if keras3_seed_generator:
                self.seed_generator = K.random.SeedGenerator(1337)

        def call(self, inputs):
            mean, log_var = inputs
            if keras3_seed_generator:
                eps = K.random.normal(K.ops.shape(mean), seed=self.seed_generator)
            else:
                eps = tf.random.normal(tf.shape(mean))
            return mean + tf.exp(0.5 * log_var) * eps

    return Sampling


def vae_encoder(K, keras3_seed_generator=False):
    K.utils.set_random_seed(0)
    x = K.Input((8,), batch_size=1, name="x")
    hidden = K.layers.Dense(16, activation="relu", name="hidden")(x)
    mean = K.layers.Dense(4, name="z_mean")(hidden)
    log_var = K.layers.Dense(4, name="z_log_var")(hidden)
    z = sampling_layer(K, keras3_seed_generator)(name="z")([mean, log_var])
    return K.Model(x, {"z_mean": mean, "z": z})


def test_a_vae_sampling_output_is_not_compared_and_the_rest_is(K):
    result = tff.convert_and_verify(vae_encoder(K), num_random_samples=4)
    report = result.verification
    assert result.ok and report.random_outputs == ["z"] and report.diverging_outputs == []
    assert report["z"].random_ops and report["z"].random_ops[0].startswith("RandomStandardNormal")
    assert report["z"].verdict == "random: not compared" and report["z_mean"].compared and report["z_mean"].ok
    assert any("output 'z' depends on random op RandomStandardNormal" in w for w in result.warnings)
    assert report.stages[0].stage == FROZEN_STAGE and not report.stages[0].outputs["z"].compared


def test_a_keras3_seed_generator_output_is_detected_as_random():
    import keras

    seeded = vae_encoder(keras, keras3_seed_generator=True)  # does not freeze (AssignVariableOp on its seed)
    converted = tff.convert(vae_encoder(keras))               # same names and shapes, tf.random.normal inside
    report = tff.verify(seeded, converted, num_random_samples=3)
    assert report.random_outputs == ["z"] and report["z"].random_ops[0].startswith("StatelessRandomNormalV2")
    assert report["z_mean"].compared


def test_when_every_output_is_random_verification_cannot_judge():
    @tf.function
    def noise(x):
        return x + tf.random.uniform(tf.shape(x))

    model = tf.function(lambda x: {"noisy": noise(x)}, input_signature=[tf.TensorSpec((1, 3), tf.float32, name="x")])
    result = tff.convert_and_verify(model, num_random_samples=2)
    assert not result.ok and not result.verified
    assert "every output depends on a random op" in result.verification.skipped
    assert "could not judge" in str(result.verification)
    assert random_dependencies(tff.load_model(model)) == {"noisy": [("RandomUniform", "random_uniform/RandomUniform")]}


def test_layers_random_only_in_training_are_compared(K):
    inputs = K.Input((6,), batch_size=1, name="x")
    noisy = K.layers.GaussianNoise(1.0, name="noise")(K.layers.Dense(6, name="dense")(inputs))
    model = K.Model(inputs, K.layers.Dropout(0.5, name="drop")(noisy))
    report = tff.verify(model, tff.convert(model), num_random_samples=3)
    assert report.ok and report.random_outputs == []
    assert random_dependencies(tff.load_model(model)) == {}
    assert is_random_op("StatelessRandomUniformV2") and not is_random_op("StatelessRandomGetKeyCounter")


# ---------------------------------------------------------------- detection outputs

ANCHORS = 16  # a 4x4 grid of non-overlapping anchor boxes


def _anchor_grid():
    cells = np.stack(np.meshgrid(np.arange(4), np.arange(4), indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    return np.concatenate([cells * 2.0, cells * 2.0 + 1.0], axis=1)  # [y1, x1, y2, x2], unit boxes 1 apart


def nms_head(scores, classes, offsets, max_output=ANCHORS):
    """Builtin NON_MAX_SUPPRESSION_V4 (padded to a static size) over one image's anchors."""
    boxes = tf.constant(_anchor_grid()) + 0.1 * tf.tanh(tf.reshape(offsets, (ANCHORS, 4)))
    scores = tf.reshape(scores, (ANCHORS,))
    selected, count = tf.raw_ops.NonMaxSuppressionV4(
        boxes=boxes, scores=scores, max_output_size=max_output, iou_threshold=0.5, score_threshold=0.0,
        pad_to_max_output_size=True)
    labels = tf.gather(tf.reshape(classes, (ANCHORS,)), selected)
    return {"boxes": tf.gather(boxes, selected)[None], "scores": tf.gather(scores, selected)[None],
            "labels": labels[None], "count": count[None]}


def detector(K):
    """A small conv head followed by NMS, as a Keras model."""
    K.utils.set_random_seed(0)
    image = K.Input((4, 4, 1), batch_size=1, name="image")
    scores = K.layers.Conv2D(1, 1, activation="sigmoid", kernel_initializer="ones", name="score_head")(image)
    logits = K.layers.Conv2D(3, 1, name="class_head")(image)
    offsets = K.layers.Conv2D(4, 1, name="box_head")(image)

    class NonMaxSuppression(K.layers.Layer):
        def call(self, inputs):
            scores, logits, offsets = inputs
            return nms_head(scores, tf.argmax(logits, axis=-1, output_type=tf.int32), offsets)

    return K.Model(image, NonMaxSuppression(name="nms")([scores, logits, offsets]))


def detector_function():
    weights = np.random.default_rng(0).standard_normal((1, 1, 1, 8)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec((1, 4, 4, 1), tf.float32, name="image")])
    def detect(image):
        features = tf.nn.conv2d(image, weights, 1, "VALID")
        return nms_head(tf.sigmoid(image), tf.argmax(features[..., :3], -1, output_type=tf.int32),
                        features[..., 4:])

    return detect


def tied_images(count=8, seed=0):
    """Images whose cells take two values only, so many anchors tie on score and NMS may order them either way."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 2, (1, 4, 4, 1)).astype(np.float32) for _ in range(count)]


@pytest.mark.parametrize("build", ["keras", "tf_function"])
def test_a_detector_whose_ties_flip_order_is_verified_by_agreement(build, K):
    if build == "tf_function" and K.__name__ != "keras":
        pytest.skip("one tf.function is enough")
    model = detector(K) if build == "keras" else detector_function()
    result = tff.convert_and_verify(model, sample_inputs=tied_images())
    assert result.ops.get("NON_MAX_SUPPRESSION_V4") == 1
    report = result.verification
    boxes = report["boxes"]
    assert boxes.max_abs_error > 1.0 and not boxes.within_tolerance  # order flipped on ties: raw error is a box
    assert boxes.judged_by == "agreement" and boxes.detection.agrees and boxes.verdict == "ok (detections agree)"
    detection = boxes.detection
    assert (detection.labels, detection.scores, detection.count) == ("labels", "scores", "count")
    assert detection.matched_box_fraction == 1.0 and detection.label_agreement == 1.0
    assert detection.count_agreement == 1.0 and detection.matched_box_max_error < 1e-5
    assert result.ok and report.diverging_outputs == []
    assert "detections 'boxes': matched boxes 100.0%" in str(report)


def test_a_detector_with_wrong_boxes_fails_agreement():
    model = detector_function()
    converted = tff.convert(model)
    other = tf.function(lambda image: {**model(image), "boxes": model(image)["boxes"][:, ::-1] * 0.5 + 3.0},
                        input_signature=[tf.TensorSpec((1, 4, 4, 1), tf.float32, name="image")])
    report = tff.verify(other, converted, sample_inputs=tied_images(4))
    assert not report.ok and "boxes" in report.diverging_outputs
    assert report["boxes"].detection.matched_box_fraction < DETECTION_AGREEMENT


def test_box_matching_and_what_counts_as_a_detection_output():
    boxes = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [5, 5, 6, 6]], np.float32)
    assert match_boxes(boxes, boxes[::-1]) == [(0, 2), (1, 1), (2, 0)]
    assert match_boxes(boxes, boxes + 0.8) == []  # IoU 0.04 < 0.5
    assert find_detection_groups({"probs": np.zeros((1, 4)), "label": np.zeros((1,), np.int64)}) == []
    groups = find_detection_groups({"b": np.zeros((1, 5, 4)), "cls": np.zeros((1, 5), np.int32),
                                    "s": np.zeros((1, 5)), "n": np.array([3], np.int32)})
    assert [(g.boxes, g.labels, g.scores, g.count) for g in groups] == [("b", "cls", "s", "n")]
    swapped = {"b": boxes[None], "s": np.array([[0.9, 0.5, 0.5]]), "n": np.array([3])}
    flipped = {"b": boxes[[0, 2, 1]][None], "s": np.array([[0.9, 0.5, 0.5]]), "n": np.array([3])}
    comparisons = compare_outputs([swapped], [flipped], atol=1e-4, rtol=1e-4)
    assert not comparisons["b"].within_tolerance and comparisons["b"].ok


# ---------------------------------------------------------------- the frozen stage


def test_stage_zero_is_the_frozen_original(mlp, K, monkeypatch):
    result = tff.convert_and_verify(mlp, num_random_samples=2)
    assert [s.stage for s in result.verification.stages] == [FROZEN_STAGE, "tflite"]
    assert result.verification.stages[0].max_abs_error < 1e-6

    # error that freezing causes shows on the frozen row, not on the pass after it
    from tflite_fixups.models.signature_model import SignatureModel

    frozen_function = SignatureModel.frozen_function

    def perturbed(self):
        function = frozen_function(self)
        return lambda *args: [t + 1e-3 for t in function(*args)]

    from tflite_fixups.verification.verify import frozen_stage_model

    monkeypatch.setattr(SignatureModel, "frozen_function", perturbed)
    stage = frozen_stage_model(tff.load_model(mlp))
    x = np.zeros((1, 8), np.float32)
    assert np.allclose(stage.run({"features": x})["scores"], tff.load_model(mlp).run({"features": x})["scores"] + 1e-3)
