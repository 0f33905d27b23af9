"""Calibration and inspection of a fake-quant model's learned activation ranges."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Tuple

import numpy as np

from ..._progress import progress
from ..._quiet import import_tensorflow
from ...errors import InvalidInputError
from ...models import keras_compat
from .ops import ActivationRange

tf = import_tensorflow()

_CALIBRATION_BATCH = 256


# --- calibration and inspection -------------------------------------------------------------------------


def activation_ranges(model: Any) -> Dict[str, Tuple[float, float]]:
    """Every learned activation range of a fake-quant model: ``"layer/output"`` (or ``/pre_activation``,
    ``/sum``) -> ``(min, max)``. Ranges not yet set by calibration or training are left out.

    Example:
        >>> activation_ranges(qat_model)["conv1/output"]  # doctest: +SKIP
        (0.0, 5.91)
    """
    found = {}
    for layer in keras_compat.model_layers(model):
        for attribute, label in (("output_range", "output"), ("pre_activation_range", "pre_activation"),
                                 ("sum_range", "sum")):
            tracked = getattr(layer, attribute, None)
            if isinstance(tracked, ActivationRange) and float(tracked.initialised.numpy()) > 0:
                found[f"{layer.name}/{label}"] = (float(tracked.min.numpy()), float(tracked.max.numpy()))
    return found


def calibrate(model: Any, data: Any) -> int:
    """Set every learned activation range of a fake-quant ``model`` to the min/max it sees on ``data``.

    ``data``: one batch (array, list in input order, dict by input name), a
    ``tf.data.Dataset`` or an iterable of batches (``(x, y)`` tuples are fine:
    ``x`` is used). Activations pass through unquantized while calibrating,
    like TFLite's own calibration. Returns the number of batches run.

    Example:
        >>> calibrate(fake_quant_model, x_train[:512])  # doctest: +SKIP
        2
    """
    hosts = [layer for layer in keras_compat.model_layers(model) if hasattr(layer, "_fake_quant_calibrating")]
    if not hosts:
        raise InvalidInputError("calibrate needs a fake-quant model (from tff.passes.insert_fake_quant)")
    count = samples = 0
    for layer in hosts:
        layer._fake_quant_calibrating = True
    try:
        for batch in progress(_batches(model, data), description="calibrating fake-quant ranges", unit="batch"):
            _check_batch(model, batch, count)
            model(batch, training=False)
            count += 1
            samples += len(tf.nest.flatten(batch)[0])
            if samples >= MAX_CALIBRATION_SAMPLES:  # an endless generator or a .repeat()-ed dataset stops here
                break
    finally:
        for layer in hosts:
            layer._fake_quant_calibrating = False
    if count == 0:
        raise InvalidInputError("calibration_data holds no batch; give at least one batch of real inputs")
    return count


#: Calibration reads at most this many samples, so an endless source stops (ranges settle long before).
MAX_CALIBRATION_SAMPLES = 10_000


def _check_batch(model: Any, batch: Any, index: int) -> None:
    """InvalidInputError unless every array of ``batch`` fits the model input it feeds (rank, fixed axes, numbers)."""
    arrays = tf.nest.flatten(batch)
    inputs = list(model.inputs)
    if len(arrays) != len(inputs):
        raise InvalidInputError(
            f"calibration_data, batch {index}: {len(arrays)} array(s) for a model with {len(inputs)} input(s)"
        )
    for array, tensor in zip(arrays, inputs):
        want = tuple(None if d is None else int(d) for d in tensor.shape)
        got = tuple(np.shape(array))
        name = getattr(getattr(tensor, "_keras_history", None), "operation", None)
        name = getattr(name, "name", None) or getattr(tensor, "name", "input")
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            raise InvalidInputError(
                f"calibration_data, batch {index}: input '{name}' expects shape {want} (None: any size), got {got}"
            )
        values = np.asarray(array)
        if values.dtype.kind not in "biuf":
            raise InvalidInputError(f"calibration_data, batch {index}: input '{name}' expects numbers, got {values.dtype}")
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise InvalidInputError(
                f"calibration_data, batch {index}: input '{name}' holds NaN or inf; activation ranges must be "
                "finite: drop or clean those samples"
            )


def _batches(model: Any, data: Any) -> Iterable[Any]:
    input_count = len(model.inputs)
    if isinstance(data, tuple):  # (x, y) or (x, y, sample_weight), as model.fit takes them
        data = data[0]
    if isinstance(data, (np.ndarray, tf.Tensor, dict)) or (isinstance(data, list) and input_count > 1):
        yield from _split(data)
        return
    if isinstance(data, tf.data.Dataset):
        data = data.as_numpy_iterator()
    elif callable(data):
        data = data()
    try:
        iterator = iter(data)
    except TypeError:
        raise InvalidInputError(
            f"calibration_data must be an array, a list/dict of arrays, a tf.data.Dataset or an iterable of "
            f"batches, got {type(data).__name__}"
        ) from None
    for element in iterator:
        batch = element[0] if isinstance(element, tuple) else element
        yield from _split(batch)


def _split(batch: Any) -> Iterable[Any]:
    """Large arrays in slices of at most _CALIBRATION_BATCH samples (bounded memory, same ranges)."""
    flat = tf.nest.flatten(batch)
    arrays = [np.asarray(a) for a in flat]
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise InvalidInputError("calibration_data: each batch needs a leading batch axis")
    size = arrays[0].shape[0]
    for start in range(0, size, _CALIBRATION_BATCH):
        parts = [a[start:start + _CALIBRATION_BATCH] for a in arrays]
        parts = [p.astype(np.float32) if np.issubdtype(p.dtype, np.floating) else p for p in parts]
        yield tf.nest.pack_sequence_as(batch, parts)
