"""diagnose() never raises on a model that loads, and finds what fails only when LiteRT allocates or invokes."""

import numpy as np
import pytest
import tensorflow as tf

import tflite_fixups as tff
import tflite_fixups.conversion.diagnose as diagnose_module
from tflite_fixups.verification.runtime_check import check_on_litert


def spectrogram_model(K, fft_length=None):
    """An audio front-end: |STFT| of 1 s at 16 kHz with 25 ms frames (400 samples) every 10 ms, then a Dense."""
    class Spectrogram(K.layers.Layer):
        def call(self, audio):
            return tf.abs(tf.signal.stft(audio, frame_length=400, frame_step=160, fft_length=fft_length))

    audio = K.Input((16000,), batch_size=1, name="audio")
    frames = Spectrogram(name="spectrogram")(audio)
    return K.Model(audio, K.layers.Dense(8, name="embedding")(frames))


def test_an_fft_length_of_400_converts_but_fails_in_litert_and_diagnose_says_which_op_and_fix(K):
    diagnosis = tff.diagnose(spectrogram_model(K, fft_length=400))
    assert diagnosis.convertible and diagnosis.runs_on_litert is False
    finding, = diagnosis.findings
    assert finding.stage == "litert allocate" and finding.op == "RFFT2D" and "IsPowerOfTwo" in finding.message
    assert finding.tf_ops == ("RFFT",) and "spectrogram" in finding.nodes[0]
    assert finding.fix == "replace_unsupported_ops" and "power-of-two" in finding.advice
    assert diagnosis.suggested_passes == ["replace_unsupported_ops"]
    assert "LiteRT does NOT run it" in str(diagnosis) and "RFFT2D" in diagnosis._repr_html_()


def test_the_default_fft_length_rounds_400_up_to_512_and_runs(K):
    diagnosis = tff.diagnose(spectrogram_model(K))
    assert diagnosis.convertible and diagnosis.runs_on_litert is True and diagnosis.findings == []
    assert "runs on LiteRT" in str(diagnosis)


def test_the_suggested_pass_makes_the_fft_length_400_model_run(K):
    model = spectrogram_model(K, fft_length=400)
    assert "tff.passes.replace_unsupported_ops() rewrites RFFT" in tff.diagnose(model).findings[0].advice
    audio = np.random.default_rng(0).standard_normal((2, 1, 16000)).astype(np.float32)
    result = tff.convert_and_verify(model, passes=[tff.passes.replace_unsupported_ops()],
                                    sample_inputs=list(audio), atol=1e-3, rtol=1e-3)
    assert result.ok and "RFFT2D" not in result.ops


def test_verify_reports_a_model_litert_refuses_instead_of_raising():
    model = tf.function(lambda audio: {"spectrum": tf.abs(tf.signal.rfft(audio, fft_length=[400]))},
                        input_signature=[tf.TensorSpec((1, 400), tf.float32, name="audio")])
    report = tff.verify(model, tff.convert(model), num_random_samples=1)
    assert not report.ok and "LiteRT could not prepare" in report.skipped and "RFFT2D" in report.skipped


def test_a_conversion_crash_becomes_a_finding():
    import keras

    class Sampling(keras.layers.Layer):  # a Keras 3 SeedGenerator assigns its seed variable: freezing fails
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(7)

        def call(self, mean):
            return mean + keras.random.normal(keras.ops.shape(mean), seed=self.seed_generator)

    x = keras.Input((4,), batch_size=1, name="x")
    diagnosis = tff.diagnose(keras.Model(x, Sampling(name="z")(keras.layers.Dense(4)(x))))
    assert not diagnosis.convertible and diagnosis.runs_on_litert is None
    finding, = diagnosis.findings
    assert finding.stage == "convert" and "AssignVariableOp" in finding.message and "SeedGenerator" in finding.advice
    assert any("conversion crashed" in problem for problem in diagnosis.other_problems)


@pytest.mark.parametrize("failure", [RuntimeError("converter segfault averted"),
                                     tff.PassError("a pass broke", pass_name="p", passes_run=[])])
def test_any_failure_inside_diagnose_is_reported_not_raised(mlp, monkeypatch, failure):
    def explode(*args, **kwargs):
        raise failure

    monkeypatch.setattr(diagnose_module, "convert_signature_model", explode)
    diagnosis = tff.diagnose(mlp)
    assert not diagnosis.convertible and str(failure) in diagnosis.findings[0].message


def test_a_litert_invoke_failure_becomes_a_finding(mlp, monkeypatch):
    from tflite_fixups.verification.litert import LiteRTRunner

    def refuse(self, feed):
        raise RuntimeError("tflite/kernels/gather.cc:42 index out of bounds Node number 3 (GATHER) failed to invoke.")

    monkeypatch.setattr(LiteRTRunner, "run", refuse)
    diagnosis = tff.diagnose(mlp)
    assert diagnosis.runs_on_litert is False
    finding, = diagnosis.findings
    assert finding.stage == "litert invoke" and finding.op == "GATHER" and "out of range" in finding.advice


def test_an_op_no_rule_covers_is_reported_with_no_fix(K):
    class CombinedNms(K.layers.Layer):
        def call(self, x):
            boxes = tf.reshape(x[:, :32], (1, 8, 1, 4))
            scores = tf.reshape(tf.sigmoid(x[:, 32:]), (1, 8, 1))
            return tf.image.combined_non_max_suppression(boxes, scores, 4, 4, clip_boxes=False)[0]

    x = K.Input((40,), batch_size=1, name="x")
    diagnosis = tff.diagnose(K.Model(x, CombinedNms(name="nms")(x)))
    op, = diagnosis.unsupported_ops
    assert op.op_type == "CombinedNonMaxSuppression" and op.fix is None and op.layer == "nms"
    assert diagnosis.suggested_passes == [] and diagnosis.findings == [] and diagnosis.runs_on_litert is None


def test_check_on_litert_passes_a_model_that_runs(mlp):
    assert check_on_litert(tff.convert(mlp).tflite_model, tff.load_model(mlp).input_specs) is None
