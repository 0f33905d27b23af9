"""Counting, search and comparison ops, from MUL/ADD, comparisons, ONE_HOT, TOPK_V2 and SUM.

* Counting ops (DenseBincount, Bincount, HistogramFixedWidth) one-hot encode
  the bin of every element and sum; the histogram's bin is computed with
  error-free float32 arithmetic (TwoSum/TwoProduct), so it is the exact bin
  even for values on or next to a bin edge.
* Search ops (LowerBound, UpperBound, InTopKV2) count comparisons; NthElement
  sorts with TOPK_V2 and gathers.

The scans (Cumprod, CumulativeLogsumexp) are in :mod:`.cumulative`, which
imports the shared dtype and case helpers below.

Rules never see the values of constant inputs (only placeholders): inputs
such as ``size``, ``nbins`` or ``k`` are used as tensors, and the converter
folds the arithmetic on them when they are constant. Infinite constants are
avoided: the converter stores them as +-FLT_MAX (measured with TF 2.21). Each
docstring states its error bound, measured by the tests against TF's kernels.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

_MAX_ELEMENTS = 1 << 24  # one-hot / pairwise-comparison tensors: at most 16M entries
_FLOAT_TYPES = (tf.float32, tf.float16, tf.bfloat16)  # computed in float32 and cast back
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # x < -_FLOAT32_MAX tests x == -inf without an infinite constant


# --- shared helpers -------------------------------------------------------------------------------


def _require_dtype(node: NodeView, index: int, allowed: Sequence) -> None:
    """Decline unless input ``index`` has one of the ``allowed`` dtypes."""
    dtype = node.input_dtypes[index]
    if dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        node.decline(f"input {index} of {node.op_type} has dtype {dtype.name}; only {names} are rewritten")


def _compute_type(dtype):
    """float32 for the float types computed in float32, else ``dtype`` itself."""
    return tf.float32 if dtype in _FLOAT_TYPES else dtype


def _limit_elements(node: NodeView, count: int, what: str) -> None:
    if count > _MAX_ELEMENTS:
        node.decline(f"{what} would have {count} entries, more than the limit of {_MAX_ELEMENTS}")


def _static_last_dim(node: NodeView, index: int) -> int:
    """The static size of the last axis of input ``index``, or decline."""
    shape = node.input_shapes[index]
    if not shape or shape[-1] is None:
        node.decline(f"{node.op_type} needs a static last axis on input {index}, got shape {shape}")
    return shape[-1]


def _counts_along(mask, axis: int, dtype):
    """Number of True entries of ``mask`` along ``axis``, as ``dtype``."""
    return tf.cast(tf.reduce_sum(tf.cast(mask, tf.int32), axis=axis), dtype)


# --- bincount -------------------------------------------------------------------------------------


def _bincount(node: NodeView, values, size, weights, binary_output: bool):
    """Counts (or weight sums) of ``values`` in bins [0, size) along the last axis of ``values``."""
    _require_dtype(node, 0, (tf.int32, tf.int64))
    out_dtype = node.output_dtypes[0]
    if out_dtype not in (tf.float32, tf.int32, tf.int64):
        node.decline(f"{node.op_type} with {out_dtype.name} weights is not rewritten (float32, int32, int64 are)")
    value_shape = node.static_shape(0)
    if len(value_shape) not in (1, 2):
        node.decline(f"{node.op_type} of rank-{len(value_shape)} input is not rewritten (1-D and 2-D are)")
    weight_shape = node.static_shape(2)
    weighted = int(np.prod(weight_shape)) > 0 and not binary_output
    if weighted and weight_shape != value_shape:
        node.decline(f"weights of shape {weight_shape} do not match the input shape {value_shape}")
    bins = node.output_shapes[0][-1] if node.output_shapes[0] else None
    if bins is not None:
        _limit_elements(node, int(np.prod(value_shape)) * bins, "the one-hot table")

    size = tf.cast(size, values.dtype)
    inside = tf.logical_and(values >= 0, values < size)  # TF drops values >= size (and rejects negative ones)
    index = tf.cast(tf.where(inside, values, -tf.ones_like(values)), tf.int32)
    value_axis = len(value_shape) - 1
    if binary_output:
        seen = tf.reduce_max(tf.one_hot(index, tf.cast(size, tf.int32), dtype=tf.int32), axis=value_axis)
        return tf.cast(seen, out_dtype)
    hot = tf.one_hot(index, tf.cast(size, tf.int32), dtype=out_dtype)
    if weighted:
        hot = hot * tf.expand_dims(weights, -1)
    return tf.reduce_sum(hot, axis=value_axis)


@rewrite_rule("DenseBincount", error_bound="exact for counts and integer weights; float weights: L * 2^-24 * sum|w|",
              limits="1-D or 2-D (axis=-1) static input, input elements x size <= 2^24")
def dense_bincount(node: NodeView, values, size, weights):
    """one_hot(values, size) (weighted) summed over the last input axis; ``binary_output`` takes the max.

    Values outside [0, size) add nothing (TF drops values >= size and rejects
    negative ones). ``size`` may be computed at run time (tf.math.bincount's
    ``minlength``/``maxlength`` arithmetic); empty ``weights`` count
    occurrences. Counts and integer weights are exact; float32 weight sums are
    within L * 2^-24 of the sum of |weights| per bin (L = input length), as
    they are summed in another order than TF's.
    """
    return _bincount(node, values, size, weights, bool(node.attrs.get("binary_output")))


@rewrite_rule("Bincount", error_bound="exact for counts and integer weights; float weights: L * 2^-24 * sum|w|",
              limits="static input shape, input elements x size <= 2^24")
def bincount(node: NodeView, values, size, weights):
    """The older Bincount op (1-D only): the DenseBincount rule without ``binary_output``."""
    return _bincount(node, values, size, weights, False)


# --- histogram: error-free float32 arithmetic -----------------------------------------------------

_SPLITTER = float(2 ** 12 + 1)  # Veltkamp split of a 24-bit significand into two 12-bit halves


def _two_sum(a, b) -> Tuple:
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def _split(a) -> Tuple:
    """(high, low) halves of a float32 with high + low = a, each of at most 12 significant bits."""
    scaled = _SPLITTER * a
    high = scaled - (scaled - a)
    return high, a - high


def _two_product(a, b) -> Tuple:
    """(p, e) with p = fl(a * b) and p + e = a * b exactly (Dekker, no FMA needed)."""
    product = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    error = a_low * b_low - (((product - a_high * b_high) - a_low * b_high) - a_high * b_low)
    return product, error


def _at_least(offset: Tuple, width: Tuple, nbins, k):
    """Whether (offset) * nbins >= k * (width) exactly, for float-float offset/width and integral nbins, k.

    The two products are expanded error-free; their leading parts are close
    whenever the answer is in doubt, so their difference is exact and the
    small remainder decides.
    """
    left, left_error = _two_product(nbins, offset[0])
    right, right_error = _two_product(k, width[0])
    remainder = (left_error - right_error) + (nbins * offset[1] - k * width[1])
    return (left - right) + remainder >= 0.0


def _histogram_bins(values, value_range, nbins):
    """TF's bin of every value: floor((clip(x, lo, hi) - lo) * nbins / (hi - lo)), capped at nbins - 1."""
    low, high = value_range[0], value_range[1]
    clipped = tf.minimum(tf.maximum(values, low), high)
    offset = _two_sum(clipped, -low)  # clipped - low, exactly, as a float-float pair
    width = _two_sum(high, -low)
    estimate = tf.floor(offset[0] * nbins / width[0])  # within 1 of the exact bin
    bins = estimate - tf.where(_at_least(offset, width, nbins, estimate), 0.0, 1.0)
    bins = bins + tf.where(_at_least(offset, width, nbins, estimate + 1.0), 1.0, 0.0)
    return tf.cast(tf.clip_by_value(bins, 0.0, nbins - 1.0), tf.int32)


@rewrite_rule("HistogramFixedWidth",
              error_bound="exact bins; TF's double kernel may put a value exactly on an interior edge one bin lower",
              limits="static input shape, elements x nbins <= 2^24; integer values with |value| <= 2^24")
def histogram_fixed_width(node: NodeView, values, value_range, nbins):
    """Bin index floor((x - lo) * nbins / (hi - lo)) from error-free float32 arithmetic, one-hot, summed.

    Values are clipped to [lo, hi] and the last bin is closed, as in TF. The
    difference x - lo is kept exactly as a float-float pair (TwoSum) and the
    float32 estimate of the bin is corrected by exact comparisons of
    (x - lo) * nbins with k * (hi - lo) (TwoProduct), so the bin is the exact
    one. TF computes it in double precision, which agrees everywhere except
    for values exactly on an interior bin edge: the rewrite puts them in the
    upper bin, TF in the upper or the lower one depending on how its bin width
    rounds (measured: only such values differ).
    Preconditions: finite range with |lo|, |hi| below 1e34 (the split must not
    overflow); float values (float16/bfloat16 via float32) or int32 values of
    magnitude <= 2^24 (exact in float32). TF rejects NaN values; their bin
    here is unspecified.
    """
    _require_dtype(node, 0, _FLOAT_TYPES + (tf.int32,))
    shape = node.static_shape(0)
    bins = node.output_shapes[0][0] if node.output_shapes[0] else None
    if bins is None:
        node.decline("HistogramFixedWidth needs a constant nbins (static output shape)")
    _limit_elements(node, int(np.prod(shape)) * bins, "the one-hot table")
    flat = tf.reshape(tf.cast(values, tf.float32), [-1])
    index = _histogram_bins(flat, tf.cast(value_range, tf.float32), tf.cast(nbins, tf.float32))
    out_dtype = node.output_dtypes[0]
    return tf.reduce_sum(tf.one_hot(index, bins, dtype=out_dtype), axis=0)


# --- search and selection -------------------------------------------------------------------------


@rewrite_rule("InTopKV2", error_bound="exact", limits="classes static")
def in_top_k(node: NodeView, predictions, targets, k):
    """True where fewer than k classes score strictly higher than the target (ties count in its favour).

    As TF: False for a target outside [0, classes) and for every row holding a
    non-finite prediction (NaN or +-inf); k may be a runtime tensor.
    """
    _require_dtype(node, 0, _FLOAT_TYPES)
    classes = _static_last_dim(node, 0)
    scores = tf.cast(predictions, tf.float32)
    valid = tf.logical_and(targets >= 0, targets < classes)
    index = tf.cast(tf.where(valid, targets, tf.zeros_like(targets)), tf.int32)
    target_score = tf.gather(scores, index, batch_dims=1)
    higher = _counts_along(scores > tf.expand_dims(target_score, -1), -1, k.dtype)
    finite = tf.reduce_all(tf.abs(scores) <= _FLOAT32_MAX, axis=-1)
    return tf.logical_and(tf.logical_and(valid, finite), higher < k)


def _search(node: NodeView, sorted_inputs, values, side: str):
    """Insertion points of ``values`` in each row of ``sorted_inputs`` by counting comparisons."""
    _require_dtype(node, 0, _FLOAT_TYPES + (tf.int32, tf.int64))
    rows, length = node.static_shape(0)
    _, count = node.static_shape(1)
    _limit_elements(node, rows * length * count, "the comparison table")
    compute = _compute_type(sorted_inputs.dtype)
    table = tf.expand_dims(tf.cast(sorted_inputs, compute), 1)  # [rows, 1, length]
    probes = tf.expand_dims(tf.cast(values, compute), 2)  # [rows, count, 1]
    before = table < probes if side == "left" else tf.logical_not(probes < table)
    return _counts_along(before, -1, node.output_dtypes[0])


@rewrite_rule("LowerBound", error_bound="exact", limits="static 2-D shapes, rows x length x values <= 2^24")
def lower_bound(node: NodeView, sorted_inputs, values):
    """searchsorted(side='left'): the count of row entries strictly below each value.

    ``sorted_inputs`` must be sorted along its last axis (TF's precondition);
    the result then equals TF's binary search for every non-NaN value (a NaN
    value gets 0; TF's answer for it depends on its search path).
    """
    return _search(node, sorted_inputs, values, "left")


@rewrite_rule("UpperBound", error_bound="exact", limits="static 2-D shapes, rows x length x values <= 2^24")
def upper_bound(node: NodeView, sorted_inputs, values):
    """searchsorted(side='right'): the count of row entries not above each value.

    Same preconditions as LowerBound; a NaN value gets the row length, as in TF.
    """
    return _search(node, sorted_inputs, values, "right")


@rewrite_rule("NthElement", error_bound="exact", limits="static last axis")
def nth_element(node: NodeView, x, n):
    """Sort the last axis descending with TOPK_V2 (k = its length) and gather entry n (or length - 1 - n).

    ``reverse`` picks the n-th largest, else the n-th smallest; n may be a
    runtime tensor (TF requires 0 <= n < length). NaN inputs are unspecified,
    as in TF (std::nth_element).
    """
    _require_dtype(node, 0, _FLOAT_TYPES + (tf.int32, tf.int64))
    length = _static_last_dim(node, 0)
    descending = tf.math.top_k(tf.cast(x, _compute_type(x.dtype)), k=length, sorted=True).values
    position = n if node.attrs.get("reverse") else length - 1 - n
    # a length-1 index squeezed afterwards: LiteRT keeps the axis when gathering with a scalar signature input
    picked = tf.squeeze(tf.gather(descending, tf.reshape(position, [1]), axis=-1), -1)
    return tf.cast(picked, x.dtype)


@rewrite_rule("ApproximateEqual", error_bound="exact", limits="float32")
def approximate_equal(node: NodeView, x, y):
    """|x - y| <= tolerance in float32, as TF's kernel computes it (its docs say <); NaN and inf - inf give False."""
    _require_dtype(node, 0, (tf.float32,))
    return tf.abs(x - y) <= tf.constant(node.attrs["tolerance"], tf.float32)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402

_INF, _NAN = float("inf"), float("nan")


def _filled(shape: Sequence[int], values: Sequence[float], dtype=np.float32) -> np.ndarray:
    """``values`` repeated to fill ``shape``."""
    return np.resize(np.asarray(values, dtype=dtype), int(np.prod(shape))).reshape(shape)


def _bincount_values(rng: np.random.Generator, shape: Sequence[int], high: int, dtype=np.int32) -> np.ndarray:
    """Non-negative values, some beyond the last bin (TF drops those)."""
    return rng.integers(0, high, shape).astype(dtype)


register_case(RewriteCase(
    name="count_bincount_minlength_maxlength", op_type="DenseBincount",
    function=lambda x: tf.math.bincount(x, minlength=6, maxlength=6),
    input_specs=[tf.TensorSpec((40,), tf.int32)],
    make_inputs=lambda rng: [_bincount_values(rng, (40,), 9)],
    atol=0.0, rtol=0.0, edge_inputs=[[np.zeros(40, np.int32)], [np.full(40, 2 ** 31 - 1, np.int32)]],
))
register_case(RewriteCase(
    name="count_bincount_2d_float_weights", op_type="DenseBincount",
    function=lambda x, w: tf.math.bincount(x, weights=w, minlength=5, maxlength=5, axis=-1),
    input_specs=[tf.TensorSpec((3, 20), tf.int32), tf.TensorSpec((3, 20), tf.float32)],
    make_inputs=lambda rng: [_bincount_values(rng, (3, 20), 7), rng.normal(size=(3, 20)).astype(np.float32)],
    atol=1e-5, rtol=0.0,  # L * 2^-24 * sum|w| <= 20 * 6e-8 * 60
))
register_case(RewriteCase(
    name="count_bincount_binary_int64", op_type="DenseBincount",
    function=lambda x: tf.raw_ops.DenseBincount(input=x, size=tf.constant(8, tf.int64),
                                                weights=tf.zeros([0], tf.float32), binary_output=True),
    input_specs=[tf.TensorSpec((4, 6), tf.int64)],
    make_inputs=lambda rng: [_bincount_values(rng, (4, 6), 10, np.int64)],
    atol=0.0, rtol=0.0, edge_inputs=[[np.full((4, 6), 2 ** 40, np.int64)]],
))
register_case(RewriteCase(
    name="count_bincount_int_weights", op_type="DenseBincount",
    function=lambda x, w: tf.raw_ops.DenseBincount(input=x, size=5, weights=w, binary_output=False),
    input_specs=[tf.TensorSpec((30,), tf.int32), tf.TensorSpec((30,), tf.int32)],
    make_inputs=lambda rng: [_bincount_values(rng, (30,), 6), rng.integers(-100, 100, (30,)).astype(np.int32)],
    atol=0.0, rtol=0.0,
))
register_case(RewriteCase(
    name="count_bincount_legacy_op", op_type="Bincount",
    function=lambda x: tf.raw_ops.Bincount(arr=x, size=7, weights=tf.zeros([0], tf.float32)),
    input_specs=[tf.TensorSpec((50,), tf.int32)],
    make_inputs=lambda rng: [_bincount_values(rng, (50,), 10)],
    atol=0.0, rtol=0.0,
))


def _histogram_case(name: str, value_range: Tuple[float, float], nbins: int, make, edges, dtype=tf.float32,
                    out_dtype=tf.int32):
    register_case(RewriteCase(
        name=name, op_type="HistogramFixedWidth",
        function=lambda x: tf.histogram_fixed_width(x, tf.constant(value_range, dtype), nbins=nbins, dtype=out_dtype),
        input_specs=[tf.TensorSpec((8, 32), dtype)], make_inputs=make, atol=0.0, rtol=0.0,
        edge_inputs=[[_filled((8, 32), edges, dtype.as_numpy_dtype)]],
    ))


_histogram_case(  # tenths of the unit range: 0.7f is just below 0.7, 0.6f just above 0.6
    "count_histogram_unit_range", (0.0, 1.0), 10,
    lambda rng: [rng.uniform(-0.2, 1.2, (8, 32)).astype(np.float32)],
    [k / 10 for k in range(11)] + [np.nextafter(np.float32(0.5), 0), np.nextafter(np.float32(1), 0), 1e-30,
                                   -1e30, 1e30, _INF, -_INF, -0.0])
_histogram_case(
    "count_histogram_shifted_range_int64", (-2.5, 3.7), 7,
    lambda rng: [rng.uniform(-3.0, 4.0, (8, 32)).astype(np.float32)],
    list(np.float32(-2.5) + np.float32(6.2) * np.arange(8) / 7) + [-2.5, 3.7, 0.0, 1e-8, -1e-8], out_dtype=tf.int64)
_histogram_case(
    "count_histogram_int32", (-10, 10), 5,
    lambda rng: [rng.integers(-15, 16, (8, 32)).astype(np.int32)],
    list(range(-12, 13)) + [2 ** 24, -2 ** 24], dtype=tf.int32)


def _scores_with_ties(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Scores on a coarse grid, so rows have ties."""
    return np.round(rng.uniform(0.0, 1.0, shape), 1).astype(np.float32)


_TOP_K_EDGE = [np.array([[0.1, 0.5, 0.5, 0.2, 0.0, 0.5], [0.1, _NAN, 0.3, 0.2, 0.0, 0.0],
                         [0.1, _INF, 0.3, 0.2, 0.0, 0.0], [0.1, -_INF, 0.9, 0.2, 0.0, 0.0],
                         [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]], np.float32),
               np.array([2, 0, 2, 2, 7], np.int32)]
register_case(RewriteCase(
    name="count_in_top_k_3", op_type="InTopKV2",
    function=lambda p, t: tf.math.in_top_k(t, p, 3),
    input_specs=[tf.TensorSpec((5, 6), tf.float32), tf.TensorSpec((5,), tf.int32)],
    make_inputs=lambda rng: [_scores_with_ties(rng, (5, 6)), rng.integers(-1, 7, (5,)).astype(np.int32)],
    atol=0.0, rtol=0.0, edge_inputs=[_TOP_K_EDGE],
))
register_case(RewriteCase(
    name="count_in_top_k_runtime_k_int64", op_type="InTopKV2",
    function=lambda p, t, k: tf.raw_ops.InTopKV2(predictions=p, targets=t, k=k),
    input_specs=[tf.TensorSpec((5, 6), tf.float32), tf.TensorSpec((5,), tf.int64), tf.TensorSpec((), tf.int64)],
    make_inputs=lambda rng: [_scores_with_ties(rng, (5, 6)), rng.integers(0, 6, (5,)).astype(np.int64),
                             np.int64(rng.integers(0, 7))],
    atol=0.0, rtol=0.0,
    edge_inputs=[[_TOP_K_EDGE[0], _TOP_K_EDGE[1].astype(np.int64), np.int64(k)] for k in (0, -1, 1, 6)],
))


def _sorted_rows(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Rows sorted along the last axis, with repeated entries."""
    return np.sort(rng.integers(-5, 6, shape), axis=-1).astype(np.float32)


register_case(RewriteCase(
    name="count_searchsorted_left_batched", op_type="LowerBound",
    function=lambda s, v: tf.searchsorted(s, v, side="left"),
    input_specs=[tf.TensorSpec((2, 3, 12), tf.float32), tf.TensorSpec((2, 3, 5), tf.float32)],
    make_inputs=lambda rng: [_sorted_rows(rng, (2, 3, 12)), rng.integers(-7, 8, (2, 3, 5)).astype(np.float32)],
    atol=0.0, rtol=0.0,
    edge_inputs=[[_filled((2, 3, 12), [0.0]), _filled((2, 3, 5), [0.0, -_INF, _INF, 1e-30, -1e-30])]],
))
register_case(RewriteCase(
    name="count_searchsorted_right_int64_out", op_type="UpperBound",
    function=lambda s, v: tf.searchsorted(s, v, side="right", out_type=tf.int64),
    input_specs=[tf.TensorSpec((4, 9), tf.int32), tf.TensorSpec((4, 6), tf.int32)],
    make_inputs=lambda rng: [_sorted_rows(rng, (4, 9)).astype(np.int32), rng.integers(-7, 8, (4, 6)).astype(np.int32)],
    atol=0.0, rtol=0.0,
    edge_inputs=[[_filled((4, 9), [2 ** 31 - 1], np.int32), _filled((4, 6), [2 ** 31 - 1, -2 ** 31, 0], np.int32)],
                 [np.sort(_filled((4, 9), [1.0, 3.0, 2.0])).astype(np.int32), _filled((4, 6), [1, 2, 3], np.int32)]],
))
register_case(RewriteCase(
    name="count_nth_element_smallest", op_type="NthElement",
    function=lambda x: tf.raw_ops.NthElement(input=x, n=3),
    input_specs=[tf.TensorSpec((2, 4, 10), tf.float32)],
    make_inputs=lambda rng: [rng.normal(size=(2, 4, 10)).astype(np.float32)],
    atol=0.0, rtol=0.0, edge_inputs=[[_filled((2, 4, 10), [1.0, -_INF, _INF, 0.0, -0.0, 1e30, 2.0, 2.0, 2.0])]],
))
register_case(RewriteCase(
    name="count_nth_element_reverse_int32_runtime_n", op_type="NthElement",
    function=lambda x, n: tf.raw_ops.NthElement(input=x, n=n, reverse=True),
    input_specs=[tf.TensorSpec((5, 7), tf.int32), tf.TensorSpec((), tf.int32)],
    make_inputs=lambda rng: [rng.integers(-3, 4, (5, 7)).astype(np.int32), np.int32(rng.integers(0, 7))],
    atol=0.0, rtol=0.0,
    edge_inputs=[[_filled((5, 7), [2 ** 31 - 1, -2 ** 31, 0], np.int32), np.int32(n)] for n in (0, 6)],
))
register_case(RewriteCase(
    name="count_approximate_equal", op_type="ApproximateEqual",
    function=lambda x, y: tf.raw_ops.ApproximateEqual(x=x, y=y, tolerance=0.1),
    input_specs=[tf.TensorSpec((4, 16), tf.float32), tf.TensorSpec((4, 16), tf.float32)],
    make_inputs=lambda rng: [rng.uniform(-1, 1, (2, 4, 16)).astype(np.float32)[i] for i in range(2)],
    atol=0.0, rtol=0.0,
    edge_inputs=[[_filled((4, 16), [1.0, 1.0, _NAN, _INF, _INF, 0.0, 0.0]),
                  _filled((4, 16), [1.1, 1.05, 1.0, _INF, -_INF, 0.1, 0.09999999])]],
))
