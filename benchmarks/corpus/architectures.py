"""The corpus entries: public architectures, random weights, tiny configurations, realistic sample inputs.

Each :class:`Entry` says where the architecture comes from (``source``), which Keras builds it
(``flavour``: ``"keras3"`` or ``"tf_keras"``), how to build it (``build()``, nothing downloaded),
how to make a realistic sample (``make_sample(rng)``: one sample, batch 1, a dict by input name
for multi-input models), the call a user would make (``call`` = ``"convert_and_verify"`` or
``"auto_fix"``, with ``input_specs`` and ``passes``), and the outcome expected today
(``expected`` = ``"ok"`` or ``"fail"``, and why in ``expected_note``).

Two lists: :data:`DEVELOPMENT` (used while improving the library) and :data:`HELD_OUT` (different
architectures, used only to measure at the end; their ``expected`` is a prediction made before
they were first run, and is left as it was).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

IMAGE = 64  # the side of the images most CNNs get; small enough for conversions of seconds
TEXT_LENGTH = 16  # the sequence length text models are pinned to
VOCAB = 100  # the vocabulary of the tiny keras-hub text backbones


# --- the entry ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One architecture of the corpus and how a user would convert it."""

    name: str
    source: str  # e.g. "keras.applications.MobileNetV3Small", "keras_hub.models.LlamaBackbone"
    flavour: str  # "keras3" or "tf_keras"
    build: Callable[[], Any]  # the model (random weights, seeded); for some a tf.function
    make_sample: Callable[[np.random.Generator], Any]  # one realistic sample, batch 1
    call: str = "convert_and_verify"  # or "auto_fix"
    input_specs: Any = None  # passed to the call as is
    passes: Optional[Callable[[], list]] = None  # passes for convert_and_verify (built fresh each run)
    options: Dict[str, Any] = field(default_factory=dict)  # further keywords (atol, ...)
    expected: str = "ok"  # "ok": converts with builtin ops only and verifies; "fail": does not today
    expected_note: str = ""  # why it fails (or what is special), one sentence
    num_samples: int = 3
    timeout: float = 240.0  # seconds for the whole entry in bench_corpus.py (build, ours, bare)

    def samples(self, count: Optional[int] = None, seed: int = 0) -> List[Any]:
        """``count`` realistic samples (default ``num_samples``), reproducible from ``seed``."""
        rng = np.random.default_rng(seed)
        return [self.make_sample(rng) for _ in range(count or self.num_samples)]

    def recommended_call(self) -> str:
        """The call as a user would write it, for the report."""
        args = ["model"]
        if self.call == "convert_and_verify" and self.passes is not None:
            args.append("passes=[...]")
        if self.input_specs is not None:
            args.append(f"input_specs={self.input_specs!r}")
        args.append("sample_inputs=samples")
        args += [f"{key}={value!r}" for key, value in self.options.items()]
        return f"tff.{self.call}({', '.join(args)})"

    def run(self, model: Any = None, samples: Optional[Sequence[Any]] = None):
        """Make the recommended call (building the model and samples when not given); the ConversionResult."""
        import tflite_fixups as tff

        model = self.build() if model is None else model
        samples = self.samples() if samples is None else list(samples)
        kwargs = dict(self.options, input_specs=self.input_specs, sample_inputs=samples)
        if self.call == "auto_fix":
            return tff.auto_fix(model, **kwargs)
        passes = self.passes() if self.passes is not None else []
        return tff.convert_and_verify(model, passes, **kwargs)


# --- sample makers ---------------------------------------------------------------------------------

def image(side: int = IMAGE, low: float = 0.0, high: float = 255.0, channels: int = 3):
    """Images with pixel values uniform in [low, high] (0..255 for models that rescale themselves)."""
    def make(rng):
        return rng.uniform(low, high, (1, side, side, channels)).astype(np.float32)
    return make


def caffe_image(side: int = IMAGE):
    """What ``preprocess_input`` gives for ResNet50/VGG ("caffe"): BGR, ImageNet means subtracted."""
    def make(rng):
        rgb = rng.uniform(0, 255, (1, side, side, 3)).astype(np.float32)
        return (rgb[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)).astype(np.float32)
    return make


def torch_image(side: int = IMAGE):
    """What ``preprocess_input`` gives for DenseNet ("torch"): [0, 1], then ImageNet mean/std."""
    def make(rng):
        x = rng.uniform(0, 1, (1, side, side, 3)).astype(np.float32)
        return ((x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])).astype(np.float32)
    return make


def padding_mask(rng, length: int) -> np.ndarray:
    """1 for the first k positions, 0 after (k at least half the length)."""
    kept = int(rng.integers(length // 2, length + 1))
    return (np.arange(length) < kept).astype(np.int32)[None]


def text(spec: Dict[str, tuple], length: int = TEXT_LENGTH):
    """A dict sample for a text model. ``spec``: input name -> ("tokens", vocab[, mask name]) |
    ("mask",) | ("segments", count[, mask name]). Token ids are drawn in [1, vocab) and set to 0 (the
    pad id) where their mask is 0; segment ids are 0 then 1 (a sentence pair), 0 under padding."""
    def make(rng):
        masks = {name: padding_mask(rng, length) for name, kind in spec.items() if kind[0] == "mask"}
        first_mask = next(iter(masks.values()), None)
        sample = dict(masks)
        for name, kind in spec.items():
            mask = masks.get(kind[2]) if len(kind) > 2 else first_mask
            if kind[0] == "tokens":
                ids = rng.integers(1, kind[1], (1, length)).astype(np.int32)
                sample[name] = ids * mask if mask is not None else ids
            elif kind[0] == "segments":
                split = int(rng.integers(1, length))
                segments = (np.arange(length) >= split).astype(np.int32)[None] % kind[1]
                sample[name] = segments * mask if mask is not None else segments
        return {name: sample[name] for name in spec}
    return make


def padded_token_ids(vocab: int, length: int = TEXT_LENGTH):
    """Token ids in [1, vocab) followed by zero padding (for Embedding(mask_zero=True) models)."""
    def make(rng):
        kept = int(rng.integers(length // 3, length + 1))
        ids = rng.integers(1, vocab, (1, length)).astype(np.int32)
        ids[:, kept:] = 0
        return ids
    return make


def waveform(samples: int):
    """A second of speech-like audio: a few sinusoids plus noise, in [-1, 1]."""
    def make(rng):
        t = np.arange(samples) / 16000.0
        tones = sum(rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(80, 4000) * t) for _ in range(4))
        return np.clip(tones + rng.normal(0, 0.02, samples), -1, 1).astype(np.float32)[None]
    return make


def pinned(names: Sequence[str], length: int = TEXT_LENGTH) -> Dict[str, tuple]:
    return {name: (1, length) for name in names}


# --- builders: keras.applications / tf_keras.applications ------------------------------------------

def _keras(flavour: str):
    if flavour == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def application(flavour: str, name: str, side: int = IMAGE, **kwargs):
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        return getattr(K.applications, name)(input_shape=(side, side, 3), weights=None, **kwargs)
    return build


def app_entry(flavour: str, name: str, make_sample, side: int = IMAGE, **fields) -> Entry:
    prefix = "k3" if flavour == "keras3" else "tk"
    module = "keras.applications" if flavour == "keras3" else "tf_keras.applications"
    return Entry(f"{prefix}_{_snake(name)}", f"{module}.{name}", flavour, application(flavour, name, side),
                 make_sample, **fields)


def _snake(name: str) -> str:
    """MobileNetV3Small -> mobilenet_v3_small, EfficientNetV2B0 -> efficientnet_v2_b0, ResNet50 -> resnet50."""
    return re.sub(r"(V\d|B\d|Small|Large|Tiny|Mobile)", r"_\1", name).lower().lstrip("_")


# --- builders: keras-hub ----------------------------------------------------------------------------

def hub(class_name: str, **config):
    """A keras-hub backbone built from its constructor (no preset, nothing downloaded)."""
    def build():
        import keras
        import keras_hub

        keras.utils.set_random_seed(0)
        return getattr(keras_hub.models, class_name)(**config)
    return build


def hub_text_entry(name: str, class_name: str, inputs: Dict[str, tuple], *, call: str = "auto_fix",
                   **config_and_fields) -> Entry:
    fields = {k: config_and_fields.pop(k) for k in list(config_and_fields) if k in Entry.__dataclass_fields__}
    return Entry(name, f"keras_hub.models.{class_name}", "keras3", hub(class_name, **config_and_fields),
                 text(inputs), call=call, input_specs=pinned(inputs), **fields)


def _tiny_resnet(side: int = IMAGE):
    import keras_hub

    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 32, 32, 32],
        stackwise_num_blocks=[1, 1, 1, 1], stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block",
        image_shape=(side, side, 3))


def whisper_backbone():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    return keras_hub.models.WhisperBackbone(vocabulary_size=VOCAB, num_layers=2, num_heads=2, hidden_dim=32,
                                            intermediate_dim=64, num_mels=16, max_encoder_sequence_length=64,
                                            max_decoder_sequence_length=TEXT_LENGTH)


def whisper_sample(rng):
    sample = text({"decoder_token_ids": ("tokens", VOCAB), "decoder_padding_mask": ("mask",)})(rng)
    return {"encoder_features": rng.normal(-0.5, 0.4, (1, 64, 16)).astype(np.float32), **sample}


def whisper_audio_converter():
    """keras_hub.layers.WhisperAudioConverter (log-mel front-end) in a Keras model: 1 s of audio -> log-mels."""
    import keras
    import keras_hub

    converter = keras_hub.layers.WhisperAudioConverter(num_mels=80, num_fft_bins=400, stride=160,
                                                       sampling_rate=16000, max_audio_length=1)
    audio = keras.Input((16000,), batch_size=1, name="audio")
    return keras.Model(audio, converter(audio), name="whisper_audio_converter")


def vit():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    return keras_hub.models.ViTBackbone(image_shape=(IMAGE, IMAGE, 3), patch_size=16, num_layers=2, num_heads=2,
                                        hidden_dim=32, mlp_dim=64)


def clip():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    vision = keras_hub.models.CLIPVisionEncoder(patch_size=16, hidden_dim=32, num_layers=2, num_heads=2,
                                                intermediate_dim=64, image_shape=(IMAGE, IMAGE, 3))
    words = keras_hub.models.CLIPTextEncoder(vocabulary_size=VOCAB, embedding_dim=32, hidden_dim=32, num_layers=2,
                                             num_heads=2, intermediate_dim=64, max_sequence_length=TEXT_LENGTH)
    return keras_hub.models.CLIPBackbone(vision, words, projection_dim=16)


def clip_sample(rng):
    sample = text({"token_ids": ("tokens", VOCAB)})(rng)
    return {"images": rng.uniform(-1, 1, (1, IMAGE, IMAGE, 3)).astype(np.float32), **sample}


def segformer():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    encoder = keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2], layerwise_sr_ratios=[4, 2],
        max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3], layerwise_strides=[4, 2],
        image_shape=(IMAGE, IMAGE, 3), hidden_dims=[16, 32])
    backbone = keras_hub.models.SegFormerBackbone(image_encoder=encoder, projection_filters=32)
    return keras_hub.models.SegFormerImageSegmenter(backbone=backbone, num_classes=4)


def deeplab_v3():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.DeepLabV3Backbone(
        image_encoder=_tiny_resnet(), spatial_pyramid_pooling_key="P4", upsampling_size=4,
        dilation_rates=[2, 4], low_level_feature_key="P2", projection_filters=16, image_shape=(IMAGE, IMAGE, 3))
    return keras_hub.models.DeepLabV3ImageSegmenter(backbone=backbone, num_classes=4)


def retinanet_raw():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.RetinaNetBackbone(image_encoder=_tiny_resnet(96), min_level=3, max_level=4,
                                                  use_p5=False, image_shape=(96, 96, 3))
    anchors = keras_hub.layers.AnchorGenerator(bounding_box_format="yxyx", min_level=3, max_level=4, num_scales=2,
                                               aspect_ratios=[0.5, 1.0, 2.0], anchor_size=4)
    return keras_hub.models.RetinaNetObjectDetector(backbone=backbone, num_classes=3, anchor_generator=anchors,
                                                    bounding_box_format="yxyx", pre_logits_num_conv_layers=1)


def retinanet_with_nms():
    """The detector with its box decoding and NMS (what ``predict`` returns), as a serving tf.function."""
    import tensorflow as tf

    detector = retinanet_raw()

    @tf.function(input_signature=[tf.TensorSpec((1, 96, 96, 3), tf.float32, name="images")])
    def serve(images):
        return detector.decode_predictions(detector(images, training=False), images)

    return serve


# --- builders: small hand-written models (RNN text, detector, audio, multi-input) -------------------

def embedding_lstm(flavour: str):
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        ids = K.Input((None,), dtype="int32", name="token_ids")
        x = K.layers.Embedding(200, 16, mask_zero=True, name="embed")(ids)
        x = K.layers.LSTM(24, name="lstm")(x)
        return K.Model(ids, K.layers.Dense(3, activation="softmax", name="label")(x), name="embedding_lstm")
    return build


def bidirectional_gru(flavour: str):
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        ids = K.Input((None,), dtype="int32", name="token_ids")
        x = K.layers.Embedding(200, 16, mask_zero=True, name="embed")(ids)
        x = K.layers.Bidirectional(K.layers.GRU(12, return_sequences=True), name="bigru")(x)
        x = K.layers.GlobalMaxPooling1D(name="pool")(x)
        return K.Model(ids, K.layers.Dense(4, name="logits")(x), name="bidirectional_gru")
    return build


def stacked_tagger(flavour: str):
    """A sequence tagger: Embedding, LSTM and GRU with return_sequences, TimeDistributed Dense per token."""
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        ids = K.Input((None,), dtype="int32", name="token_ids")
        x = K.layers.Embedding(200, 16, mask_zero=True, name="embed")(ids)
        x = K.layers.LSTM(16, return_sequences=True, name="lstm")(x)
        x = K.layers.GRU(16, return_sequences=True, name="gru")(x)
        return K.Model(ids, K.layers.TimeDistributed(K.layers.Dense(5), name="tags")(x), name="tagger")
    return build


def conv_rnn_text(flavour: str):
    """Embedding, Conv1D, SimpleRNN: a small text classifier mixing convolution and recurrence."""
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        ids = K.Input((None,), dtype="int32", name="token_ids")
        x = K.layers.Embedding(200, 16, name="embed")(ids)
        x = K.layers.Conv1D(16, 3, padding="same", activation="relu", name="conv")(x)
        x = K.layers.SimpleRNN(16, name="rnn")(x)
        return K.Model(ids, K.layers.Dense(2, name="logits")(x), name="conv_rnn_text")
    return build


def nms_detector(flavour: str, combined: bool = False):
    """A small single-shot detector: conv features -> boxes and scores per anchor -> NMS (top 10).

    ``combined``: per-class ``tf.image.combined_non_max_suppression`` (multi-class); otherwise
    ``tf.image.non_max_suppression_padded`` on the best class score.
    """
    def build():
        import tensorflow as tf

        K = _keras(flavour)
        K.utils.set_random_seed(0)

        class Nms(K.layers.Layer):
            def call(self, inputs):
                boxes, scores = inputs
                if combined:
                    out = tf.image.combined_non_max_suppression(boxes[:, :, None, :], scores, 10, 10,
                                                                iou_threshold=0.5, score_threshold=0.1)
                    return out.nmsed_boxes, out.nmsed_scores, out.nmsed_classes
                best = tf.reduce_max(scores, axis=-1)
                index, _ = tf.image.non_max_suppression_padded(boxes[0], best[0], 10, iou_threshold=0.5,
                                                               score_threshold=0.1, pad_to_max_output_size=True)
                return tf.gather(boxes[0], index)[None], tf.gather(best[0], index)[None]

        images = K.Input((IMAGE, IMAGE, 3), batch_size=1, name="images")
        x = K.layers.Rescaling(1 / 255.0)(images)
        for filters in (8, 16, 32):
            x = K.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        anchors = (IMAGE // 8) ** 2
        boxes = K.layers.Reshape((anchors, 4))(K.layers.Conv2D(4, 1, activation="sigmoid", name="box_head")(x))
        scores = K.layers.Reshape((anchors, 3))(K.layers.Conv2D(3, 1, activation="sigmoid", name="cls_head")(x))
        return K.Model(images, Nms(name="nms")([boxes, scores]), name="nms_detector")
    return build


def audio_frontend(flavour: str, mfcc: bool = False):
    """Waveform -> STFT -> magnitude -> mel filterbank -> log (-> MFCCs) -> a small Conv1D classifier."""
    def build():
        import tensorflow as tf

        K = _keras(flavour)
        K.utils.set_random_seed(0)

        class LogMel(K.layers.Layer):
            def call(self, audio):
                spectrum = tf.abs(tf.signal.stft(audio, frame_length=400, frame_step=160, fft_length=512))
                mel = tf.matmul(spectrum, tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 7600.0))
                log_mel = tf.math.log(mel + 1e-6)
                return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :13] if mfcc else log_mel

        audio = K.Input((16000,), batch_size=1, name="audio")
        x = LogMel(name="log_mel")(audio)
        x = K.layers.Conv1D(16, 3, activation="relu", name="conv")(x)
        x = K.layers.GlobalAveragePooling1D(name="pool")(x)
        return K.Model(audio, K.layers.Dense(6, name="keyword")(x), name="audio_frontend")
    return build


def multi_input(flavour: str):
    """Two inputs declared out of alphabetical order (an image and metadata), two outputs likewise."""
    def build():
        K = _keras(flavour)
        K.utils.set_random_seed(0)
        picture = K.Input((32, 32, 3), name="z_image")
        meta = K.Input((8,), name="a_metadata")
        x = K.layers.Conv2D(8, 3, strides=2, activation="relu")(K.layers.Rescaling(1 / 255.0)(picture))
        x = K.layers.GlobalAveragePooling2D()(x)
        both = K.layers.Concatenate()([x, K.layers.Dense(8, activation="relu")(meta)])
        score = K.layers.Dense(1, activation="sigmoid", name="score")(both)
        category = K.layers.Dense(5, activation="softmax", name="b_category")(both)
        return K.Model([picture, meta], [score, category], name="multi_input")
    return build


def multi_input_sample(rng):
    return {"z_image": rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32),
            "a_metadata": rng.normal(0, 1, (1, 8)).astype(np.float32)}


# --- the lists ------------------------------------------------------------------------------------

BERT_INPUTS = {"token_ids": ("tokens", VOCAB), "segment_ids": ("segments", 2), "padding_mask": ("mask",)}
LM_INPUTS = {"token_ids": ("tokens", VOCAB), "padding_mask": ("mask",)}
SEQ2SEQ_INPUTS = {"encoder_token_ids": ("tokens", VOCAB, "encoder_padding_mask"), "encoder_padding_mask": ("mask",),
                  "decoder_token_ids": ("tokens", VOCAB, "decoder_padding_mask"), "decoder_padding_mask": ("mask",)}
TINY_LM = dict(vocabulary_size=VOCAB, num_layers=2, hidden_dim=32, intermediate_dim=64)
TEXT_SPECS = [(1, TEXT_LENGTH)]

DEVELOPMENT: List[Entry] = [
    # keras.applications, Keras 3
    app_entry("keras3", "MobileNetV2", image(low=-1, high=1)),
    app_entry("keras3", "MobileNetV3Small", image(96), side=96),
    app_entry("keras3", "EfficientNetB0", image()),
    app_entry("keras3", "EfficientNetV2B0", image()),
    app_entry("keras3", "ResNet50", caffe_image()),
    app_entry("keras3", "DenseNet121", torch_image()),
    app_entry("keras3", "NASNetMobile", image(96, -1, 1), side=96),
    app_entry("keras3", "ConvNeXtTiny", image()),
    # tf_keras.applications
    app_entry("tf_keras", "MobileNetV2", image(low=-1, high=1)),
    app_entry("tf_keras", "EfficientNetB0", image()),
    app_entry("tf_keras", "ResNet50", caffe_image()),
    app_entry("tf_keras", "DenseNet121", torch_image()),
    # keras-hub backbones (tiny configurations, built from constructors)
    hub_text_entry("hub_bert", "BertBackbone", BERT_INPUTS, vocabulary_size=VOCAB, num_layers=2, num_heads=2,
                   hidden_dim=32, intermediate_dim=64, max_sequence_length=32),
    hub_text_entry("hub_deberta_v3", "DebertaV3Backbone", LM_INPUTS, vocabulary_size=VOCAB, num_layers=2,
                   num_heads=2, hidden_dim=32, intermediate_dim=64, max_sequence_length=32, bucket_size=8),
    hub_text_entry("hub_gpt2", "GPT2Backbone", LM_INPUTS, num_heads=2, max_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_gemma", "GemmaBackbone", LM_INPUTS, num_query_heads=2, num_key_value_heads=1, head_dim=16,
                   **TINY_LM),
    hub_text_entry("hub_llama", "LlamaBackbone", LM_INPUTS, num_query_heads=2, num_key_value_heads=1, **TINY_LM),
    hub_text_entry("hub_mistral", "MistralBackbone", LM_INPUTS, num_query_heads=2, num_key_value_heads=1,
                   sliding_window=8, **TINY_LM),
    hub_text_entry("hub_t5", "T5Backbone", SEQ2SEQ_INPUTS, num_heads=2, key_value_dim=16, **TINY_LM),
    Entry("hub_whisper", "keras_hub.models.WhisperBackbone", "keras3", whisper_backbone, whisper_sample,
          call="auto_fix", input_specs={"encoder_features": (1, 64, 16), **pinned(["decoder_token_ids",
                                                                                   "decoder_padding_mask"])},
          expected="fail", expected_note="pinning's clone copies weights by position (set_weights) and the "
          "clone lists Whisper's weights in another order: weight shape (100, 32) vs (32, 2, 16)"),
    Entry("hub_whisper_audio_converter", "keras_hub.layers.WhisperAudioConverter", "keras3",
          whisper_audio_converter, waveform(16000), options={"atol": 1e-3}, expected="fail",
          expected_note="RaggedTensorToTensor (no rewrite rule) and a StridedSlice the converter only takes as "
          "Flex; the bare converter fails too"),
    Entry("hub_vit", "keras_hub.models.ViTBackbone", "keras3", vit, image(low=-1, high=1)),
    Entry("hub_clip", "keras_hub.models.CLIPBackbone", "keras3", clip, clip_sample, call="auto_fix",
          input_specs={"images": (1, IMAGE, IMAGE, 3), "token_ids": (1, TEXT_LENGTH)}),
    Entry("hub_segformer", "keras_hub.models.SegFormerImageSegmenter", "keras3", segformer, image(low=-1, high=1)),
    Entry("hub_deeplab_v3", "keras_hub.models.DeepLabV3ImageSegmenter", "keras3", deeplab_v3, image(low=-1, high=1)),
    Entry("hub_retinanet_nms", "keras_hub.models.RetinaNetObjectDetector (+ decode_predictions, NMS)", "keras3",
          retinanet_with_nms, image(96, 0, 1), call="auto_fix"),  # boxes judged by IoU matching; the bare
    # converter cannot convert the NMS while loop at all
    # RNN text models
    Entry("k3_embedding_lstm", "Embedding(mask_zero)+LSTM", "keras3", embedding_lstm("keras3"),
          padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    Entry("tk_embedding_lstm", "Embedding(mask_zero)+LSTM", "tf_keras", embedding_lstm("tf_keras"),
          padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    Entry("k3_bidirectional_gru", "Embedding+Bidirectional(GRU)+GlobalMaxPooling1D", "keras3",
          bidirectional_gru("keras3"), padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    Entry("tk_bidirectional_gru", "Embedding+Bidirectional(GRU)+GlobalMaxPooling1D", "tf_keras",
          bidirectional_gru("tf_keras"), padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    # a detector with NMS, an audio front-end, a multi-input model
    Entry("k3_nms_detector", "conv detector + tf.image.non_max_suppression_padded", "keras3", nms_detector("keras3"),
          image()),
    Entry("k3_audio_logmel", "tf.signal.stft + linear_to_mel_weight_matrix + Conv1D", "keras3",
          audio_frontend("keras3"), waveform(16000), call="auto_fix", options={"atol": 1e-3}),
    Entry("k3_multi_input", "two inputs, two outputs (functional)", "keras3", multi_input("keras3"),
          multi_input_sample),
]

HELD_OUT: List[Entry] = [
    # keras.applications, Keras 3
    app_entry("keras3", "MobileNetV3Large", image(96), side=96),
    app_entry("keras3", "EfficientNetB1", image()),
    app_entry("keras3", "EfficientNetV2B1", image()),
    app_entry("keras3", "ResNet50V2", image(low=-1, high=1)),
    app_entry("keras3", "Xception", image(96, -1, 1), side=96),
    app_entry("keras3", "InceptionV3", image(96, -1, 1), side=96),
    app_entry("keras3", "VGG16", caffe_image()),
    app_entry("keras3", "MobileNet", image(low=-1, high=1)),
    # tf_keras.applications
    app_entry("tf_keras", "MobileNetV3Small", image(96), side=96),
    app_entry("tf_keras", "EfficientNetV2B0", image()),
    app_entry("tf_keras", "NASNetMobile", image(96, -1, 1), side=96),
    app_entry("tf_keras", "Xception", image(96, -1, 1), side=96),
    app_entry("tf_keras", "ResNet50V2", image(low=-1, high=1)),
    app_entry("tf_keras", "ConvNeXtTiny", image()),
    app_entry("tf_keras", "InceptionV3", image(96, -1, 1), side=96),
    # keras-hub backbones
    hub_text_entry("hub_roberta", "RobertaBackbone", LM_INPUTS, num_heads=2, max_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_distil_bert", "DistilBertBackbone", LM_INPUTS, num_heads=2, max_sequence_length=32,
                   **TINY_LM),
    hub_text_entry("hub_xlm_roberta", "XLMRobertaBackbone", LM_INPUTS, num_heads=2, max_sequence_length=32,
                   **TINY_LM),
    hub_text_entry("hub_albert", "AlbertBackbone", BERT_INPUTS, num_heads=2, embedding_dim=16,
                   max_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_electra", "ElectraBackbone", BERT_INPUTS, vocab_size=VOCAB, num_layers=2, num_heads=2,
                   hidden_dim=32, embedding_dim=16, intermediate_dim=64, max_sequence_length=32),
    hub_text_entry("hub_fnet", "FNetBackbone", {"token_ids": ("tokens", VOCAB), "segment_ids": ("segments", 4)},
                   max_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_opt", "OPTBackbone", LM_INPUTS, num_heads=2, max_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_falcon", "FalconBackbone", LM_INPUTS, num_attention_heads=2, **TINY_LM),
    hub_text_entry("hub_bloom", "BloomBackbone", LM_INPUTS, num_heads=2, **TINY_LM),
    hub_text_entry("hub_phi3", "Phi3Backbone", LM_INPUTS, num_query_heads=2, num_key_value_heads=1,
                   max_sequence_length=32, pretraining_sequence_length=32, **TINY_LM),
    hub_text_entry("hub_qwen2", "Qwen2Backbone", LM_INPUTS, num_query_heads=2, num_key_value_heads=1, **TINY_LM),
    hub_text_entry("hub_bart", "BartBackbone", SEQ2SEQ_INPUTS, num_heads=2, max_sequence_length=32, **TINY_LM),
    Entry("hub_deit", "keras_hub.models.DeiTBackbone", "keras3",
          hub("DeiTBackbone", image_shape=(IMAGE, IMAGE, 3), patch_size=16, num_layers=2, num_heads=2, hidden_dim=32,
              intermediate_dim=64), image(low=-1, high=1)),
    Entry("hub_dinov2", "keras_hub.models.DINOV2Backbone", "keras3",
          hub("DINOV2Backbone", patch_size=14, num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64,
              image_shape=(70, 70, 3), position_embedding_shape=(70, 70, 3)), image(70, -1, 1)),
    # RNN text models
    Entry("k3_stacked_tagger", "Embedding+LSTM+GRU(return_sequences)+TimeDistributed", "keras3",
          stacked_tagger("keras3"), padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    Entry("tk_stacked_tagger", "Embedding+LSTM+GRU(return_sequences)+TimeDistributed", "tf_keras",
          stacked_tagger("tf_keras"), padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    Entry("tk_conv_rnn_text", "Embedding+Conv1D+SimpleRNN", "tf_keras", conv_rnn_text("tf_keras"),
          padded_token_ids(200), call="auto_fix", input_specs=TEXT_SPECS),
    # detector, audio, multi-input
    Entry("tk_combined_nms_detector", "conv detector + tf.image.combined_non_max_suppression", "tf_keras",
          nms_detector("tf_keras", combined=True), image(), call="auto_fix", expected="fail",
          expected_note="CombinedNonMaxSuppression has no rewrite rule yet (a clear ConversionError names it); "
          "the bare converter fails too"),
    Entry("k3_audio_mfcc", "tf.signal.stft + mel + mfccs_from_log_mel_spectrograms", "keras3",
          audio_frontend("keras3", mfcc=True), waveform(16000), call="auto_fix", options={"atol": 1e-3}),
    Entry("tk_multi_input", "two inputs, two outputs (functional)", "tf_keras", multi_input("tf_keras"),
          multi_input_sample),
]

ALL: List[Entry] = DEVELOPMENT + HELD_OUT


def by_name(name: str) -> Entry:
    for entry in ALL:
        if entry.name == name:
            return entry
    raise KeyError(f"no corpus entry {name!r} (have: {', '.join(e.name for e in ALL)})")


def _check_lists() -> None:
    names = [entry.name for entry in ALL]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"duplicate corpus names: {duplicates}"
    assert {e.flavour for e in ALL} <= {"keras3", "tf_keras"}
    assert {e.call for e in ALL} <= {"convert_and_verify", "auto_fix"}
    assert {e.expected for e in ALL} <= {"ok", "fail"}


_check_lists()
