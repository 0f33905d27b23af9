"""Representative (calibration) data: accept every form users pass, and say what is wrong with it.

The converter's own errors for bad calibration data are cryptic (a bare array,
a generator object, float64, a missing batch axis), and worse mistakes pass
silently (one sample, all zeros, random noise, data unlike what the model
sees). Everything here is measured on the data itself; coverage of the data
the model is verified on comes from :func:`input_coverage`.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Sequence

import numpy as np

from .._api import public_api
from .._quiet import import_tensorflow
from ..errors import InvalidInputError
from ..models.loading import load_model
from ..models.specs import InputSpec
from ..reports.quantization import CalibrationReport, InputCalibration
from ..verification.samples import (
    Sample, call_data_factory, collect_samples, is_data_factory, normalise_sample, read_samples,
)

tf = import_tensorflow()

#: fewer samples than this draws a warning: calibration ranges from a handful of inputs are a guess
MIN_SAMPLES = 100
#: at most this many samples are used for calibration (the rest are ignored, with a note)
MAX_SAMPLES = 2000
LABELS_DROPPED = (
    "representative_data yields (inputs, labels) pairs: the labels were dropped for calibration; check the "
    "first element is the model input, preprocessed as at inference"
)
#: warn when more than this fraction of the checked values falls outside the calibrated range
COVERAGE_WARNING = 0.01


def representative_samples(specs: Sequence[InputSpec], data: Any, notes: List[str]) -> List[Sample]:
    """``data`` in any accepted form as a list of single-example samples fitted to ``specs``.

    Accepted: a zero-argument callable returning an iterable (a generator
    function) or one sample (a tuple/list of tensors, the form TF's docs show);
    an iterable or generator object; a ``tf.data.Dataset``; a NumPy array or
    tensor whose first axis is samples; a dict of such arrays by input name.
    ``(inputs, labels)`` pairs lose their labels (noted); float64 is cast and a
    missing batch axis added (noted). At most :data:`MAX_SAMPLES` samples are
    read, so an endless generator or a ``.repeat()``-ed dataset is cut there (noted).

    Raises:
        InvalidInputError: nothing usable, or an input whose shape or values cannot fit.
    """
    samples: List[Sample] = []
    read = read_samples(specs, _items(specs, data), MAX_SAMPLES + 1, what="representative_data")
    for index, item in read:
        item = _without_labels(specs, item, notes)
        samples.extend(normalise_sample(specs, item, index, notes, what="representative_data"))
        if len(samples) > MAX_SAMPLES:
            break
    if not samples:
        raise InvalidInputError(
            "representative_data yielded no samples (an exhausted or empty generator?); pass a generator "
            "function, e.g. lambda: (x[i:i + 1] for i in range(200)), so it can be iterated afresh"
        )
    if len(samples) > MAX_SAMPLES or read.warnings:
        samples = samples[:MAX_SAMPLES]
        endless = " (an endless tf.data.Dataset: .repeat() without a count)" if read.endless else ""
        notes.append(f"representative_data{endless}: calibrated on the first {MAX_SAMPLES} samples")
    return samples


def non_finite_values(specs: Sequence[InputSpec], samples: Sequence[Sample]) -> List[str]:
    """One line per float input whose samples hold NaN or +-inf, naming the first such sample and how many."""
    found = []
    for spec in specs:
        if not np.issubdtype(np.dtype(spec.dtype), np.floating):
            continue
        bad = [(index, sample[spec.name]) for index, sample in enumerate(samples)
               if not np.all(np.isfinite(sample[spec.name]))]
        if not bad:
            continue
        first, values = bad[0]
        kinds = [f"{count} {label}" for label, count in (
            ("NaN", int(np.count_nonzero(np.isnan(values)))), ("+inf", int(np.count_nonzero(values == np.inf))),
            ("-inf", int(np.count_nonzero(values == -np.inf)))) if count]
        more = f" (and {len(bad) - 1} more sample(s))" if len(bad) > 1 else ""
        found.append(f"sample {first}, input '{spec.name}': {', '.join(kinds)} value(s){more}")
    return found


def require_finite(specs: Sequence[InputSpec], samples: Sequence[Sample]) -> None:
    """Raise InvalidInputError when calibration data holds NaN or +-inf (TF's calibrator crashes on inf)."""
    problems = non_finite_values(specs, samples)
    if problems:
        raise InvalidInputError(
            "representative_data holds non-finite values: " + "; ".join(problems) + ". Calibration ranges must be "
            "finite (an inf crashes TF's calibrator, a NaN gives the range [nan, nan]): drop those samples or clean "
            "them (np.nan_to_num), as at inference"
        )


def _items(specs: Sequence[InputSpec], data: Any) -> Iterable[Any]:
    """What read_samples iterates: calibration's own forms resolved (an array or dict is one batch of
    samples, a factory may return one sample); a tf.data.Dataset as it is, so an endless one is told."""
    if isinstance(data, tf.data.Dataset):
        return data
    if _is_array(data) or isinstance(data, Mapping):
        return [data]  # first axis is samples: split below, the batch being pinned to 1
    if is_data_factory(data):
        produced = call_data_factory(data, "representative_data")
        if isinstance(produced, tf.data.Dataset) or _is_one_item(specs, produced):
            return _items(specs, produced)
        data = produced
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise InvalidInputError(
            "representative_data: expected a generator function, an iterable or generator of samples, a "
            "tf.data.Dataset, an array whose first axis is samples, or a dict of arrays by input name; "
            f"got {type(data).__name__}"
        )
    return iter(data)


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (hasattr(value, "numpy") and hasattr(value, "shape"))


def _is_one_item(specs: Sequence[InputSpec], value: Any) -> bool:
    """One sample (array, dict, or a tuple/list of one array per input, labels allowed) rather than many."""
    if _is_array(value) or isinstance(value, Mapping):
        return True
    if isinstance(value, (list, tuple)) and value and all(_is_array(v) or isinstance(v, Mapping) for v in value):
        return len(value) in (len(specs), len(specs) + 1) and _fits_rank(specs, value[: len(specs)])
    return False


def _fits_rank(specs: Sequence[InputSpec], values: Sequence[Any]) -> bool:
    if len(values) == 1 and isinstance(values[0], Mapping):
        return True
    return len(values) == len(specs) and all(
        _is_array(v) and np.ndim(v) in (s.rank, s.rank - 1) for v, s in zip(values, specs)
    )


def _without_labels(specs: Sequence[InputSpec], item: Any, notes: List[str]) -> Any:
    """``(x, y)`` / ``(x1, x2, y)`` / ``(dict, y)``: drop the label, note it once."""
    if not isinstance(item, (list, tuple)) or len(item) != len(specs) + 1:
        return item
    head = item[: len(specs)]
    if isinstance(head[0], Mapping) and len(specs) == 1 and len(item) == 2:
        head = (head[0],)
    elif len(item) == 2 and isinstance(item[0], Mapping):
        head = item[0]
    elif not _fits_rank(specs, head):
        return item
    if LABELS_DROPPED not in notes:
        notes.append(LABELS_DROPPED)
    return head[0] if isinstance(head, tuple) and len(head) == 1 else head


def calibration_report(specs: Sequence[InputSpec], samples: List[Sample], notes: List[str]) -> CalibrationReport:
    """Statistics of every input over the samples, and a warning for each thing that looks wrong."""
    report = CalibrationReport(num_samples=len(samples), notes=[n for n in notes if n != LABELS_DROPPED])
    report.warnings += [n for n in notes if n == LABELS_DROPPED]
    report.warnings += [f"representative_data, {problem} are not finite: quantization refuses calibration data with "
                        "NaN or inf; drop or clean those samples (statistics below leave them out)"
                        for problem in non_finite_values(specs, samples)]
    for spec in specs:
        if not np.issubdtype(np.dtype(spec.dtype), np.floating):
            continue  # token ids and flags are not quantized
        arrays = [np.asarray(s[spec.name], np.float64) for s in samples]
        values = np.concatenate([a.ravel() for a in arrays])
        values = values[np.isfinite(values)] if not np.all(np.isfinite(values)) else values
        if not values.size:
            continue
        stats = InputCalibration(
            spec.name, int(values.size), float(values.min()), float(values.max()), float(values.mean()),
            float(values.std()),
            constant_samples=sum(1 for a in arrays if a.size and np.ptp(a) == 0),
            zero_samples=sum(1 for a in arrays if not np.any(a)),
        )
        report.inputs[spec.name] = stats
        report.warnings += _input_warnings(stats, len(samples), values)
    if len(samples) < MIN_SAMPLES:
        report.warnings.insert(0, (
            f"calibration uses only {len(samples)} representative sample(s): activation ranges from so few "
            f"inputs are a guess. Pass at least {MIN_SAMPLES} (a few hundred is better) real inputs, "
            "preprocessed exactly as at inference, e.g. from the training set"
        ))
    return report


def _input_warnings(stats: InputCalibration, count: int, values: np.ndarray) -> List[str]:
    warnings = []
    name = f"input '{stats.name}'"
    if stats.zero_samples:
        warnings.append(
            f"{stats.zero_samples} of {count} representative samples of {name} are all zeros: they teach the "
            "calibration nothing. Use real inputs"
        )
    elif stats.constant_samples:
        warnings.append(
            f"{stats.constant_samples} of {count} representative samples of {name} are constant: check the "
            "data pipeline feeding the calibration"
        )
    if _looks_like_standard_normal(values):
        warnings.append(
            f"the representative data for {name} looks like standard-normal noise (mean {stats.mean:.2f}, std "
            f"{stats.std:.2f}, e.g. tf.random.normal): random noise cannot represent real data, so activation "
            "ranges will not fit what the model sees. Calibrate on real inputs, preprocessed as at inference"
        )
    return warnings


def _looks_like_standard_normal(values: np.ndarray) -> bool:
    """Mean, spread, skew and tails all within four standard errors of N(0, 1)'s (at least 50 values)."""
    n = values.size
    if n < 50:
        return False
    mean, std = float(values.mean()), float(values.std())
    if std == 0:
        return False
    z = (values - mean) / std
    skew, kurtosis = float(np.mean(z ** 3)), float(np.mean(z ** 4))
    return (abs(mean) < 4 / n ** 0.5 and abs(std - 1) < 4 / (2 * n) ** 0.5
            and abs(skew) < 4 * (6 / n) ** 0.5 and abs(kurtosis - 3) < 4 * (24 / n) ** 0.5)


def input_coverage(report: CalibrationReport, reference: List[Sample]) -> None:
    """Per input: the fraction of ``reference`` values outside the calibrated [min, max]; warn above 1%."""
    for name, stats in report.inputs.items():
        values = np.concatenate([np.asarray(s[name], np.float64).ravel() for s in reference if name in s])
        if not values.size:
            continue
        outside = float(np.mean((values < stats.minimum) | (values > stats.maximum)))
        stats.outside_fraction = outside
        if outside > COVERAGE_WARNING:
            report.warnings.append(
                f"calibration does not cover the data: {outside:.1%} of the values of input '{name}' in the "
                f"verification samples fall outside the representative range [{stats.minimum:.3g}, "
                f"{stats.maximum:.3g}] (they range over [{values.min():.3g}, {values.max():.3g}]). Calibrate on "
                "data drawn like the inputs the model will see"
            )


@public_api
def check_representative_data(model: Any, data: Any, reference: Any = None) -> CalibrationReport:
    """Check calibration data for a model without converting it.

    Args:
        model: anything :func:`tflite_fixups.load_model` accepts.
        data: representative data in any form ``convert_and_verify`` accepts.
        reference: optional real samples (like ``sample_inputs``); the report then
            gives, per input, the fraction of their values outside the calibrated range.

    Returns:
        a :class:`CalibrationReport`; its ``warnings`` say what is wrong and what to do.

    Example:
        >>> report = tff.check_representative_data(model, lambda: (tf.random.normal((1, 10, 64)),))  # doctest: +SKIP
        >>> print(report.warnings[0])                                                               # doctest: +SKIP
        calibration uses only 1 representative sample(s): ...
    """
    loaded = load_model(model)
    notes: List[str] = []
    samples = representative_samples(loaded.input_specs, data, notes)
    report = calibration_report(loaded.input_specs, samples, notes)
    if reference is not None:
        input_coverage(report, collect_samples(loaded.input_specs, reference).samples)
    return report

