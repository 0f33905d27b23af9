"""Image rules beyond the catalogue: declined near-misses, attribute sweeps and colour-space properties.

The sweeps put many ops in one function and compare the rewritten model with
TensorFlow in TF only (one pass run each, no conversion); the catalogue cases
cover conversion and LiteRT.
"""

import functools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tflite_fixups as tff
from case_runner import graph_op_types


def rewrite(function, specs):
    """(original model, PassResult) of the replace pass on ``function`` traced with ``specs``."""
    original = tff.load_model(tf.function(function, input_signature=specs))
    return original, tff.passes.replace_unsupported_ops().run(original)


def max_difference(original, rewritten, inputs) -> float:
    """Largest |rewritten - TF| over every output (NaN where TF has NaN counts as equal)."""
    feed = dict(zip(original.input_names, inputs))
    want, got = original.run(feed), rewritten.run(feed)
    worst = 0.0
    for name, expected in want.items():
        expected = np.asarray(expected, np.float64)
        actual = np.asarray(got[name], np.float64)
        assert actual.shape == expected.shape, name
        same = (np.isnan(expected) & np.isnan(actual)) | (expected == actual)
        with np.errstate(invalid="ignore"):
            gap = np.where(same, 0.0, np.nan_to_num(np.abs(actual - expected), nan=np.inf))
        worst = max(worst, float(gap.max()))
    return worst


# --- near-misses: left in place, with a warning --------------------------------------------------

IMAGE = tf.TensorSpec((1, 6, 9, 3), tf.float32)
SIZE = tf.TensorSpec((2,), tf.int32)

DECLINED = {
    "bicubic_runtime_size": ("ResizeBicubic", lambda x, size: tf.image.resize(x, size, method="bicubic"),
                             [IMAGE, SIZE], "constant output size"),
    "area_runtime_size": ("ResizeArea", lambda x, size: tf.image.resize(x, size, method="area"),
                          [IMAGE, SIZE], "constant output size"),
    "scale_translate_runtime_size": (
        "ScaleAndTranslate",
        lambda x, size: tf.raw_ops.ScaleAndTranslate(images=x, size=size, scale=[1.5, 2.0], translation=[0.0, 0.0]),
        [IMAGE, SIZE], "constant output size"),
    "bicubic_above_side_limit": ("ResizeBicubic", lambda x: tf.image.resize(x, (3, 3), method="bicubic"),
                                 [tf.TensorSpec((1, 2100, 4, 1), tf.float32)], "limited to 2048"),
    "dilation_above_tap_limit": (
        "Dilation2D", lambda x, f: tf.nn.dilation2d(x, f, [1, 1, 1, 1], "SAME", "NHWC", [1, 1, 1, 1]),
        [tf.TensorSpec((1, 16, 16, 1), tf.float32), tf.TensorSpec((12, 11, 1), tf.float32)], "121 taps"),
    "patches_float64": ("ExtractImagePatches",
                        lambda x: tf.image.extract_patches(x, [1, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID"),
                        [tf.TensorSpec((1, 4, 4, 3), tf.float64)], "dtype float64"),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_near_miss_is_declined_with_a_warning(name):
    op_type, function, specs, reason = DECLINED[name]
    original, result = rewrite(function, specs)
    if op_type not in graph_op_types(original):
        pytest.skip(f"TF {tf.__version__} does not emit {op_type} here")
    assert op_type in graph_op_types(result.model)
    assert not result.report.replacements
    assert any(op_type in w and reason in w for w in result.report.warnings), result.report.warnings


# --- attribute sweeps (TF only) --------------------------------------------------------------------

SWEEP_IMAGE = (2, 6, 9, 3)  # batch > 1, non-square
OUTPUT_SIZES = [(13, 17), (3, 4), (1, 1), (6, 9), (12, 2), (1, 20), (2, 1)]  # up, down, mixed, identity


def random_image(shape, seed=0, low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def bicubic_and_area_resizes(x):
    """ResizeBicubic in every mode and ResizeArea both ways, to every size of OUTPUT_SIZES (5 ops per size)."""
    outputs = {}
    for out_h, out_w in OUTPUT_SIZES:
        for align, half in [(False, False), (True, False), (False, True)]:
            outputs[f"bicubic_{out_h}x{out_w}_{align}_{half}"] = tf.raw_ops.ResizeBicubic(
                images=x, size=[out_h, out_w], align_corners=align, half_pixel_centers=half)
        for align in (False, True):
            outputs[f"area_{out_h}x{out_w}_{align}"] = tf.raw_ops.ResizeArea(
                images=x, size=[out_h, out_w], align_corners=align)
    return outputs


def test_resize_bicubic_and_area_match_tf_for_every_mode_and_size():
    original, result = rewrite(bicubic_and_area_resizes, [tf.TensorSpec(SWEEP_IMAGE, tf.float32)])
    assert len(result.report.replacements) == 5 * len(OUTPUT_SIZES)
    assert max_difference(original, result.model, [random_image(SWEEP_IMAGE)]) <= 1e-6


def test_resize_of_integer_images_matches_tf():
    def resizes(x):
        return {"bicubic": tf.image.resize(x, (11, 4), method="bicubic"),
                "area": tf.image.resize(x, (3, 5), method="area"),
                "lanczos3": tf.image.resize(x, (4, 13), method="lanczos3")}

    original, result = rewrite(resizes, [tf.TensorSpec(SWEEP_IMAGE, tf.uint8)])
    assert len(result.report.replacements) == 3
    image = np.random.default_rng(1).integers(0, 256, SWEEP_IMAGE).astype(np.uint8)
    assert max_difference(original, result.model, [image]) <= 255 * 1e-6


KERNELS = ["lanczos1", "lanczos3", "lanczos5", "gaussian", "box", "triangle", "keyscubic", "mitchellcubic"]


def test_scale_and_translate_matches_tf_for_every_kernel_scale_and_translation():
    transforms = [((13 / 6, 17 / 9), (0.0, 0.0)), ((3 / 6, 4 / 9), (0.0, 0.0)), ((1.3, 0.55), (0.8, -1.7))]

    def resamplings(x):
        outputs = {}
        for kernel in KERNELS:
            for antialias in (False, True):
                for index, (scale, translation) in enumerate(transforms):
                    size = [round(6 * scale[0]), round(9 * scale[1])]
                    outputs[f"{kernel}_{antialias}_{index}"] = tf.raw_ops.ScaleAndTranslate(
                        images=x, size=size, scale=scale, translation=translation, kernel_type=kernel,
                        antialias=antialias)
        return outputs

    original, result = rewrite(resamplings, [tf.TensorSpec(SWEEP_IMAGE, tf.float32)])
    assert len(result.report.replacements) == len(KERNELS) * 2 * len(transforms)
    assert max_difference(original, result.model, [random_image(SWEEP_IMAGE)]) <= 1e-6


def test_extract_patches_and_dilation_are_exact_for_every_window():
    windows = [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2)), ((2, 2), (2, 2), (1, 1)),
               ((3, 2), (3, 2), (2, 1)), ((1, 4), (2, 3), (1, 2))]

    def windowed(x, filters):
        outputs = {}
        for index, (size, stride, rate) in enumerate(windows):
            for padding in ("VALID", "SAME"):
                outputs[f"patches_{index}_{padding}"] = tf.image.extract_patches(
                    x, [1, *size, 1], [1, *stride, 1], [1, *rate, 1], padding)
                outputs[f"dilation_{index}_{padding}"] = tf.nn.dilation2d(
                    x, filters[:size[0], :size[1]], [1, *stride, 1], padding, "NHWC", [1, *rate, 1])
        return outputs

    specs = [tf.TensorSpec(SWEEP_IMAGE, tf.float32), tf.TensorSpec((3, 4, 3), tf.float32)]
    original, result = rewrite(windowed, specs)
    assert len(result.report.replacements) == 4 * len(windows)
    image = random_image(SWEEP_IMAGE, low=-1.0)
    image.reshape(-1)[[3, 50, 77]] = [np.nan, np.inf, -np.inf]
    assert max_difference(original, result.model, [image, random_image((3, 4, 3), seed=1, low=-1.0)]) == 0.0


def test_crop_and_resize_boxes_outside_and_across_the_image():
    boxes = np.array([[-0.5, -0.5, 1.5, 1.5], [1.2, 0.2, 1.4, 0.8], [0.3, 0.3, 0.3, 0.3], [1.0, 1.0, 0.0, 0.0],
                      [0.0, 0.0, 1.0, 1.0]], np.float32)

    def crops(image, boxes, indices):
        return {f"{method}_{h}x{w}": tf.image.crop_and_resize(image, boxes, indices, (h, w), method=method,
                                                              extrapolation_value=-3.0)
                for method in ("bilinear", "nearest") for h, w in [(1, 1), (4, 7), (9, 2)]}

    specs = [tf.TensorSpec(SWEEP_IMAGE, tf.float32), tf.TensorSpec((5, 4), tf.float32), tf.TensorSpec((5,), tf.int32)]
    original, result = rewrite(crops, specs)
    assert len(result.report.replacements) == 6
    indices = np.array([0, 1, 1, 0, 1], np.int32)
    assert max_difference(original, result.model, [random_image(SWEEP_IMAGE), boxes, indices]) <= 1e-6


# --- colour spaces: properties on many values at once -------------------------------------------

COLOURS = (1, 64, 3)
SCALAR = tf.TensorSpec((), tf.float32)
colour_values = st.one_of(st.sampled_from([0.0, 1 / 3, 0.5, 2 / 3, 1.0]), st.floats(0.0, 1.0, width=32))
colour_arrays = hnp.arrays(np.float32, COLOURS, elements=colour_values)  # ties, greys and black/white included


@functools.lru_cache(maxsize=None)
def colour_models(name: str):
    functions = {
        "rgb_to_hsv": (tf.image.rgb_to_hsv, []),
        "hsv_to_rgb": (tf.image.hsv_to_rgb, []),
        "saturation": (tf.image.adjust_saturation, [SCALAR]),
        "hue": (tf.image.adjust_hue, [SCALAR]),
        "contrast": (tf.image.adjust_contrast, [SCALAR]),
    }
    function, extra = functions[name]
    original, result = rewrite(function, [tf.TensorSpec(COLOURS, tf.float32), *extra])
    assert len(result.report.replacements) == 1, result.report
    return original, result.model


@settings(max_examples=40, deadline=None)
@given(colours=colour_arrays)
def test_colour_space_conversions_match_tf(colours):
    assert max_difference(*colour_models("rgb_to_hsv"), [colours]) <= 1e-6
    assert max_difference(*colour_models("hsv_to_rgb"), [colours]) <= 1e-6


@settings(max_examples=40, deadline=None)
@given(colours=colour_arrays, factor=st.floats(0.0, 5.0, width=32), delta=st.floats(-1.0, 1.0, width=32))
def test_colour_adjustments_match_tf(colours, factor, delta):
    assert max_difference(*colour_models("saturation"), [colours, np.float32(factor)]) <= 1e-6
    assert max_difference(*colour_models("hue"), [colours, np.float32(delta)]) <= 1e-6
    assert max_difference(*colour_models("contrast"), [colours, np.float32(factor)]) <= 1e-5


# --- non-finite pixels: spread only where TF's taps spread them ------------------------------------


def nonfinite_image(shape, seed=3):
    """A random [0, 1] image with NaN, +inf and -inf pixels inside, on the edges and in the corners."""
    image = random_image(shape, seed)
    b, h, w, c = shape
    for (y, x, channel), value in zip([(h // 2, w // 3, 0), (0, 0, 1), (h - 1, w - 1, 2), (1, w - 1, 0),
                                       (h - 1, 0, 1), (h // 3, 2 * w // 3, 2)],
                                      [np.nan, np.inf, -np.inf, np.nan, -np.inf, np.inf]):
        image[b - 1, y, x, channel % c] = value
    image[0, h // 2, w // 2, 0] = np.nan
    return image


def test_nonfinite_pixels_spread_like_tf_in_every_resampling_mode():
    """One NaN pixel used to fill its whole channel (dense weight matrices: 0 * NaN = NaN everywhere);
    now every resampling rule sums only TF's taps, so NaN and +-inf land exactly where TF puts them."""
    transforms = [((13 / 6, 17 / 9), (0.0, 0.0)), ((3 / 6, 4 / 9), (0.0, 0.0)), ((1.3, 0.55), (0.8, -1.7)),
                  ((1.0, 0.5), (7.0, -6.0))]  # the last samples partly outside the image (TF's empty spans)

    def resamplings(x):
        outputs = bicubic_and_area_resizes(x)
        for kernel in KERNELS:
            for antialias in (False, True):
                for index, (scale, translation) in enumerate(transforms):
                    size = [max(1, round(6 * scale[0])), max(1, round(9 * scale[1]))]
                    outputs[f"{kernel}_{antialias}_{index}"] = tf.raw_ops.ScaleAndTranslate(
                        images=x, size=size, scale=scale, translation=translation, kernel_type=kernel,
                        antialias=antialias)
        return outputs

    original, result = rewrite(resamplings, [tf.TensorSpec(SWEEP_IMAGE, tf.float32)])
    assert len(result.report.replacements) == 5 * len(OUTPUT_SIZES) + len(KERNELS) * 2 * len(transforms)
    image = nonfinite_image(SWEEP_IMAGE)
    feed = dict(zip(original.input_names, [image]))
    want, got = original.run(feed), result.model.run(feed)
    for name, expected in want.items():
        actual = got[name]
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=name)
        np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected), err_msg=name)
        np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected), err_msg=name)
        finite = np.isfinite(expected)
        assert np.abs(actual[finite] - expected[finite]).max(initial=0.0) <= 1e-6, name
    assert any(np.isnan(v).any() and not np.isnan(v).all() for v in want.values())  # the test exercises spreading


def test_gather_forms_agree_and_the_tap_limit_declines(monkeypatch):
    """Few taps are gathered one at a time, many at once within a budget, else one at a time again up to a
    tap limit: each form spreads NaN/inf like TF; beyond the limit the node is left to TF with a warning."""
    from tflite_fixups.rewrites.image import resampling

    def resizes(x):
        return {"area": tf.image.resize(x, (3, 2), method="area"),  # 12 and 5 taps per output
                "bicubic": tf.image.resize(x, (4, 4), method="bicubic")}

    shape = (1, 36, 9, 2)
    image = nonfinite_image(shape)
    for few, budget in [(16, 1 << 24), (0, 1 << 24), (0, 0)]:
        monkeypatch.setattr(resampling, "_FEW_TAPS", few)
        monkeypatch.setattr(resampling, "_GATHER_BUDGET", budget)
        original, result = rewrite(resizes, [tf.TensorSpec(shape, tf.float32)])
        assert len(result.report.replacements) == 2
        feed = dict(zip(original.input_names, [image]))
        want, got = original.run(feed), result.model.run(feed)
        for name in want:
            np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(want[name]))
            np.testing.assert_array_equal(np.isinf(got[name]), np.isinf(want[name]))
        assert max_difference(original, result.model, [image]) <= 1e-6
    monkeypatch.setattr(resampling, "_MAX_LOOP_TAPS", 8)
    _, result = rewrite(resizes, [tf.TensorSpec(shape, tf.float32)])
    assert [r.kind for r in result.report.replacements] == ["ResizeBicubic"]
    assert any("ResizeArea" in w and "12 taps" in w for w in result.report.warnings), result.report.warnings
