"""Matplotlib figures for reports: where a reader would rather look than read.

Three helpers, one per failure class:

- :func:`plot_output_errors`: how the converted model's output values differ from
  the original's, as a histogram over decades of absolute error, per output.
- :func:`plot_pinning_errors`: pinning error and conversion error against
  sequence length, around the pinned length.
- :func:`plot_layer_errors`: per-layer quantization error, most damaging at top.

Each takes a :class:`~tflite_fixups.ConversionResult` or the report itself, draws
on ``ax`` (a new figure when ``ax`` is None) and returns the Axes; none calls
``plt.show()``. Matplotlib is imported only when a function is called
(``pip install "tflite_fixups[plots]"``), so ``import tflite_fixups`` never needs it.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

from .._api import public_api
from ..errors import InvalidInputError, MissingDependencyError
from .pinning import PinningReport
from .quantization import QuantizationReport, _short
from .result import ConversionResult
from .verification import VerificationReport

#: Colours: first the series, then the two marks (tolerance / pinned length, coverage problem).
_LINE = "0.2"
_WARN = "#d1495b"
_OK = "#30638e"
#: a layer whose quantized range clips more than this share of the float values is marked
_OUTSIDE_MARK = 0.01


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - exercised in a subprocess without matplotlib
        raise MissingDependencyError(
            'tflite_fixups plots need matplotlib: pip install "tflite_fixups[plots]" (or pip install matplotlib)'
        ) from error
    return plt


def _axes(ax, size: Tuple[float, float]):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _what(obj: Any) -> str:
    return type(obj).__name__


@public_api
def plot_output_errors(result_or_verification_report: Any, ax: Any = None):
    """Histogram of every output value's absolute error (TFLite vs original), one series per output.

    The x axis is logarithmic, one bin per decade (1e-12 ... 1e4, as in each
    output's ``error_histogram``); errors that are exactly 0 get their own bar at
    the left ("exact"), errors below 1e-12 or above 1e4 (and non-finite ones)
    the bins just outside. The dashed line is the tolerance ``atol`` (a value
    also passes within ``rtol * |original|`` beyond it).

    Args:
        result_or_verification_report: a verified :class:`~tflite_fixups.ConversionResult`
            or its :class:`~tflite_fixups.VerificationReport` (``result.verification``).
        ax: a matplotlib Axes to draw on; a new figure when None.

    Returns:
        the matplotlib Axes.

    Raises:
        InvalidInputError: the result was not verified, or no output has error data.

    Example:
        >>> result = tff.convert_and_verify(model, sample_inputs=x)    # doctest: +SKIP
        >>> ax = tff.plot_output_errors(result)                        # doctest: +SKIP
        >>> ax.figure.savefig("output_errors.png")                     # doctest: +SKIP
    """
    _pyplot()
    report = _verification_report(result_or_verification_report)
    series = [(name, o.error_histogram) for name, o in report.outputs.items() if o.error_histogram is not None]
    if not series:
        raise InvalidInputError(
            "plot_output_errors needs per-value error data (OutputComparison.error_histogram), and no output of "
            f"this report has any (outputs: {', '.join(report.outputs) or 'none'})"
        )
    ax = _axes(ax, (7.0, 3.6))
    edges = list(series[0][1].edges)
    # below the first decade and above the last (or not finite): one more decade on each side
    full_edges = [edges[0] / 10.0, *edges, edges[-1] * 10.0]
    values = {name: [h.below, *h.counts, h.above] for name, h in series}
    occupied = [edge for v in values.values() for i, count in enumerate(v) if count for edge in full_edges[i:i + 2]]
    marks = occupied + ([report.atol] if report.atol > 0 else [])
    first = max(min(marks, default=1e-9) / 10.0, full_edges[0])  # one empty decade of margin
    last = min(max(marks, default=1e-3) * 10.0, full_edges[-1])
    # the exact (zero) bar sits apart, left of the decades, across a shaded break
    exact = (first / 1e2, first / 1e1)
    for (name, histogram), colour in zip(series, _cycle(len(series))):
        ax.stairs(values[name], full_edges, fill=True, alpha=0.35, color=colour,
                  label=f"{name} ({histogram.total} values, {histogram.zeros} exact)")
        ax.stairs(values[name], full_edges, color=colour, linewidth=1.2)
        ax.stairs([histogram.zeros], exact, fill=True, alpha=0.35, color=colour, hatch="//")
        ax.stairs([histogram.zeros], exact, color=colour, linewidth=1.2)
    if report.atol > 0:
        ax.axvline(report.atol, color=_LINE, linestyle="--", linewidth=1.2,
                   label=f"atol = {report.atol:g}" + (f" (+ rtol {report.rtol:g} x |original|)" if report.rtol else ""))
    ax.set_xscale("log")
    ax.set_xlim(exact[0] / 2.0, last)
    ax.axvspan(exact[1], first, color="0.92", zorder=0, linewidth=0)
    decades = [e for e in full_edges if first <= e <= last]
    step = max(1, math.ceil(len(decades) / 9))  # at most about nine labels
    decades = decades[::step]
    ax.set_xticks([math.sqrt(exact[0] * exact[1]), *decades], ["0", *[_decade_label(e, edges) for e in decades]])
    ax.minorticks_off()
    ax.set_xlabel("|TFLite - original| per output value (decades)")
    ax.set_ylabel("output values")
    ax.set_title(f"Output error on {report.num_samples} {report.sample_source} sample(s)")
    ax.legend(fontsize="small", loc="upper right")
    return ax


@public_api
def plot_pinning_errors(result_or_pinning_report: Any, ax: Any = None, input_name: Optional[str] = None):
    """Pinning error and conversion error of each verification sample against its sequence length.

    Pinning error is the pinned TF model (padded/truncated input) against the
    original on the sample itself; conversion error is the ``.tflite`` against
    the pinned TF model. The y axis is symmetric-log so exact zeros (the pinning
    error with ``mask=True``) sit visibly on the zero line; the dashed line marks
    the pinned length (shorter samples are padded, longer ones truncated).

    Args:
        result_or_pinning_report: a :class:`~tflite_fixups.ConversionResult` from a
            pipeline with :func:`tflite_fixups.passes.pin_input_shapes`, its
            ``verification``, or the :class:`~tflite_fixups.PinningReport`
            (``result.verification.pinning``).
        ax: a matplotlib Axes to draw on; a new figure when None.
        input_name: which pinned input's length goes on the x axis (default:
            the first pinned input); its first pinned non-batch axis is used.

    Returns:
        the matplotlib Axes.

    Raises:
        InvalidInputError: there is no pinning report, or no sample has a length for ``input_name``.

    Example:
        >>> pin = tff.passes.pin_input_shapes((1, 50, 32), mask=True)               # doctest: +SKIP
        >>> result = tff.convert_and_verify(model, passes=[pin], sample_inputs=xs)  # doctest: +SKIP
        >>> ax = tff.plot_pinning_errors(result)                                    # doctest: +SKIP
    """
    _pyplot()
    report = _pinning_report(result_or_pinning_report)
    names = list(report.pinned_lengths) or [n for c in report.checks for n in c.lengths]
    if input_name is None:
        if not names:
            raise InvalidInputError("plot_pinning_errors: the pinning report names no pinned input and has no sample lengths")
        input_name = names[0]
    points = [(c.lengths[input_name][0], c) for c in report.checks if c.lengths.get(input_name)]
    if not points:
        raise InvalidInputError(
            f"plot_pinning_errors: no verification sample has a length for input '{input_name}' "
            f"(inputs with lengths: {', '.join(sorted(set(names))) or 'none'})"
        )
    points.sort(key=lambda p: p[0])
    ax = _axes(ax, (7.0, 3.6))
    lengths = [n for n, _ in points]
    pinned = [(n, c.pinning_error) for n, c in points if c.pinning_error is not None]
    conversion = [c.conversion_error for _, c in points]
    positive = [v for v in [e for _, e in pinned] + conversion if v > 0 and math.isfinite(v)]
    linthresh = 10.0 ** math.floor(math.log10(min(positive))) / 10.0 if positive else 1e-9
    if pinned:
        ax.plot([n for n, _ in pinned], [e for _, e in pinned], "o-", color=_WARN, label="pinning error (pinned TF vs original)")
    ax.plot(lengths, conversion, "s--", color=_OK, markersize=5, label="conversion error (.tflite vs pinned TF)")
    pinned_length = report.pinned_lengths.get(input_name)
    if pinned_length:
        ax.axvline(pinned_length[0], color=_LINE, linestyle=":", linewidth=1.5, label=f"pinned length {pinned_length[0]}")
    ax.set_yscale("symlog", linthresh=linthresh)
    top = max(positive, default=linthresh)
    ax.set_ylim(-linthresh * 0.3, top * 3.0)
    ax.axhline(0.0, color="0.7", linewidth=0.8, zorder=0)
    where = f": padded below {pinned_length[0]}, truncated above" if pinned_length else ""
    ax.set_xlabel(f"length of '{input_name}' before pinning{where}")
    ax.set_ylabel(f"max abs error (0 exact; log above {linthresh:.0e})")
    ax.set_title("Pinning error vs sequence length")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return ax


@public_api
def plot_layer_errors(result_or_quantization_report: Any, top: int = 20, ax: Any = None):
    """Horizontal bars of each quantized layer's error (RMSE over the float tensor's std), most damaging at top.

    Each bar is one quantized op's output compared with the float model's same
    tensor on the verification samples (``result.quantization.layers``). Bars of
    layers whose quantized range clips more than 1% of the float values (poor
    calibration coverage, ``outside_fraction``) are drawn in red, with the share
    written beside them.

    Args:
        result_or_quantization_report: a quantized :class:`~tflite_fixups.ConversionResult`
            or its :class:`~tflite_fixups.QuantizationReport` (``result.quantization``).
        top: how many layers to show, most damaging first.
        ax: a matplotlib Axes to draw on; a new figure when None.

    Returns:
        the matplotlib Axes.

    Raises:
        InvalidInputError: the result was not quantized, or no layer error was measured.

    Example:
        >>> result = tff.convert_and_verify(model, sample_inputs=x_test, quantization="int8",
        ...                                 representative_data=x_train[:200])   # doctest: +SKIP
        >>> ax = tff.plot_layer_errors(result, top=10)                           # doctest: +SKIP
    """
    _pyplot()
    report = _quantization_report(result_or_quantization_report)
    if not report.layers:
        raise InvalidInputError(
            f"plot_layer_errors needs per-layer errors (QuantizationReport.layers); this {report.mode} quantization "
            "report has none (they are measured by convert_and_verify with quantization='int8' or 'int16x8')"
        )
    if top < 1:
        raise InvalidInputError(f"plot_layer_errors: top must be at least 1, got {top!r}")
    layers = sorted(report.layers, key=lambda e: -e.relative_rmse)[:top]
    ax = _axes(ax, (7.0, 0.8 + 0.32 * len(layers)))
    labels = [f"{e.layer or _short(e.tensor, 32)} ({e.op})" for e in layers]
    clipped = [e.outside_fraction > _OUTSIDE_MARK for e in layers]
    ax.barh(range(len(layers)), [e.relative_rmse for e in layers], color=[_WARN if c else _OK for c in clipped])
    ax.set_yticks(range(len(layers)), labels, fontsize="small")
    ax.invert_yaxis()
    widest = max(e.relative_rmse for e in layers)
    for row, (e, c) in enumerate(zip(layers, clipped)):
        if c:
            ax.text(e.relative_rmse + widest * 0.01, row, f" {e.outside_fraction:.1%} outside range",
                    va="center", fontsize="small", color=_WARN, clip_on=True)
    ax.set_xlim(0, widest * (1.35 if any(clipped) else 1.05))
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=_OK, label="calibrated range covers the data"),
                       Patch(color=_WARN, label=f"> {_OUTSIDE_MARK:.0%} of float values outside the range (clipped)")],
              fontsize="small", loc="lower right")
    ax.set_xlabel("RMSE / std of the float tensor")
    shown = f"top {len(layers)} of {len(report.layers)}" if len(layers) < len(report.layers) else f"{len(layers)}"
    ax.set_title(f"{report.mode} quantization error per layer ({shown} layers)")
    return ax


def _verification_report(obj: Any) -> VerificationReport:
    report = obj.verification if isinstance(obj, ConversionResult) else obj
    if not isinstance(report, VerificationReport):
        raise InvalidInputError(
            "plot_output_errors expects a verified ConversionResult (from convert_and_verify or auto_fix) or its "
            f"VerificationReport (result.verification), got {_what(obj) if report is obj else 'a result with no verification'}"
        )
    if report.skipped:
        raise InvalidInputError(f"plot_output_errors: verification was skipped ({report.skipped}), so there is no error to plot")
    return report


def _pinning_report(obj: Any) -> PinningReport:
    report = obj
    if isinstance(report, ConversionResult):
        report = report.verification
    if isinstance(report, VerificationReport):
        report = report.pinning
    if not isinstance(report, PinningReport):
        got = _what(obj) if report is obj else f"a {_what(obj)} without one"
        raise InvalidInputError(
            "plot_pinning_errors expects a PinningReport (result.verification.pinning) or a ConversionResult verified "
            f"after tff.passes.pin_input_shapes(...) (convert_and_verify or auto_fix with input_specs), got {got}"
        )
    return report


def _quantization_report(obj: Any) -> QuantizationReport:
    report = obj.quantization if isinstance(obj, ConversionResult) else obj
    if not isinstance(report, QuantizationReport):
        got = _what(obj) if report is obj else "a result converted without quantization"
        raise InvalidInputError(
            "plot_layer_errors expects a QuantizationReport (result.quantization) or a ConversionResult from "
            f"convert_and_verify(..., quantization='int8', ...), got {got}"
        )
    return report


def _cycle(count: int) -> Sequence[str]:
    plt = _pyplot()
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", [_OK])
    return [colours[i % len(colours)] for i in range(count)]


def _decade_label(edge: float, edges: Sequence[float]) -> str:
    """Ticks sit on decade edges; the outer bins (below the first, above the last edge) stay unlabelled."""
    if edge < edges[0] or edge > edges[-1]:
        return ""
    return f"1e{round(math.log10(edge))}"
