"""pad_or_truncate and the pinning record: the NumPy side of shape pinning, no model needed."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tflite_fixups as tff
from tflite_fixups.models.pinning import InputPinning, ShapePinning


def pinning(pad="post", truncate="post", pad_value=0, shape=(1, 5, 2), original=(None, None, 2), dtype="float32"):
    return ShapePinning([InputPinning("seq", dtype, original, shape, pad, truncate, pad_value)])


def steps(n, features=2):
    return np.arange(1, n * features + 1, dtype="float32").reshape(1, n, features)


def test_post_padding_appends_pad_value_and_keeps_the_data_first():
    out = tff.pad_or_truncate(steps(3), pinning(pad_value=-1))
    assert out.shape == (1, 5, 2)
    np.testing.assert_array_equal(out[:, :3], steps(3))
    assert np.all(out[:, 3:] == -1)


def test_pre_padding_puts_the_data_last():
    out = tff.pad_or_truncate(steps(3), pinning(pad="pre"))
    np.testing.assert_array_equal(out[:, 2:], steps(3))
    assert np.all(out[:, :2] == 0)


@pytest.mark.parametrize("truncate, kept", [("post", slice(0, 5)), ("pre", slice(2, 7))])
def test_truncation_keeps_the_start_or_the_end(truncate, kept):
    with pytest.warns(tff.PinningWarning):
        out = tff.pad_or_truncate(steps(7), pinning(truncate=truncate))
    np.testing.assert_array_equal(out, steps(7)[:, kept])


def test_truncation_is_warned_once_per_input():
    record = pinning()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (7, 9, 3, 8):
            tff.pad_or_truncate(steps(n), record)
    messages = [str(w.message) for w in caught if issubclass(w.category, tff.PinningWarning)]
    assert len(messages) == 1
    assert "longer than its pinned shape" in messages[0] and "truncated" in messages[0]


def test_the_warning_points_at_the_callers_line():
    with pytest.warns(tff.PinningWarning) as caught:
        tff.pad_or_truncate(steps(9), pinning())
    assert caught[0].filename == __file__


def test_a_missing_batch_axis_is_added_when_the_batch_is_one():
    assert tff.pad_or_truncate(steps(2)[0], pinning()).shape == (1, 5, 2)


def test_integer_inputs_keep_their_dtype_and_pad_value():
    record = pinning(shape=(1, 4), original=(None, None), dtype="int32")
    out = tff.pad_or_truncate(np.array([[7, 8]], np.int32), record)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[7, 8, 0, 0]])


def test_dict_inputs_are_fitted_by_name_and_static_inputs_pass_through():
    record = ShapePinning([
        InputPinning("seq", "float32", (None, None, 2), (1, 5, 2)),
        InputPinning("side", "float32", (None, 4), (1, 4)),
    ])
    out = tff.pad_or_truncate({"seq": steps(2), "side": np.ones((1, 4), "float32")}, record)
    assert out["seq"].shape == (1, 5, 2) and out["side"].shape == (1, 4)
    assert tff.pad_or_truncate(steps(2), record, input_name="seq").shape == (1, 5, 2)
    assert tff.pad_or_truncate(np.ones((1, 4)), record, input_index=1).shape == (1, 4)


def test_several_pinned_axes_are_each_padded():
    record = ShapePinning([InputPinning("image", "float32", (None, None, None, 3), (1, 8, 6, 3))])
    with pytest.warns(tff.PinningWarning):
        out = tff.pad_or_truncate(np.ones((1, 5, 9, 3), "float32"), record)
    assert out.shape == (1, 8, 6, 3)
    assert out[:, 5:].sum() == 0 and out[:, :5].sum() == 5 * 6 * 3


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (np.ones((3,)), {}, "expected rank 3"),
        (np.ones((1, 3, 4)), {}, "axis 2 must be 2"),
        (np.ones((1, 3, 2)), {"input_name": "nope"}, "no input named 'nope'"),
        (np.ones((1, 3, 2)), {"input_index": 3}, "input_index must be in"),
        (np.ones((1, 3, 2)), {"input_index": 0, "input_name": "seq"}, "not both"),
    ],
)
def test_bad_input_raises_a_clear_error(x, kwargs, message):
    with pytest.raises(tff.InvalidInputError, match=message):
        tff.pad_or_truncate(x, pinning(), **kwargs)


def test_a_batch_larger_than_the_pinned_batch_is_refused_not_truncated():
    record = ShapePinning([InputPinning("seq", "float32", (None, None, 2), (4, 5, 2))])
    assert tff.pad_or_truncate(np.ones((3, 5, 2)), record).shape == (4, 5, 2)
    with pytest.raises(tff.InvalidInputError, match="batch of 6"):
        tff.pad_or_truncate(np.ones((6, 5, 2)), record)


def test_sources_without_a_pinning_are_named():
    with pytest.raises(tff.InvalidInputError, match="carries no shape pinning"):
        tff.pad_or_truncate(steps(2), object())


def test_the_record_round_trips_through_json():
    record = ShapePinning([InputPinning("seq", "float32", (None, None, 2), (1, 5, 2), "pre", "pre", -1.5, True)])
    assert ShapePinning.from_json(record.to_json()) == record
    with pytest.raises(tff.InvalidInputError, match="not a valid tflite_fixups pinning record"):
        ShapePinning.from_json('{"inputs": []}')


def test_the_input_is_never_modified():
    x = steps(7)
    before = x.copy()
    with pytest.warns(tff.PinningWarning):
        tff.pad_or_truncate(x, pinning())
    tff.pad_or_truncate(x[:, :2], pinning())
    np.testing.assert_array_equal(x, before)


@given(
    length=st.integers(1, 12), pinned=st.integers(1, 12), pad=st.sampled_from(["post", "pre"]),
    truncate=st.sampled_from(["post", "pre"]),
)
def test_fitting_then_cropping_recovers_what_the_original_sees(length, pinned, pad, truncate):
    record = pinning(pad=pad, truncate=truncate, shape=(1, pinned, 2))
    x = steps(length)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tff.PinningWarning)
        fitted = tff.pad_or_truncate(x, record)
    assert fitted.shape == (1, pinned, 2)
    seen = record["seq"].truncated(x)
    assert seen.shape[1] == min(length, pinned)
    np.testing.assert_array_equal(record["seq"].crop(fitted, 1, seen.shape[1]), seen)
    padding = np.delete(fitted, np.s_[:seen.shape[1]] if pad == "post" else np.s_[pinned - seen.shape[1]:], axis=1)
    assert np.all(padding == 0)
