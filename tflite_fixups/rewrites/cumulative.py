"""Cumulative ops (Cumprod, CumulativeLogsumexp) as log-depth scans, from SLICE, CONCATENATION, MUL and ADD.

Both are Hillis-Steele scans: ``ceil(log2 n)`` steps, each combining every
entry with the one ``s`` places before it (s = 1, 2, 4, ...). Cumprod
combines with a multiplication, CumulativeLogsumexp with a stable pairwise
logaddexp.

Rules never see the values of constant inputs (only placeholders): ``axis``
is used as a tensor, and the converter folds the selection of the scanned
dimension when it is constant. Infinite constants are avoided: the converter
stores them as +-FLT_MAX (measured with TF 2.21), so -inf is computed at run
time. Each docstring states its error bound, measured by the tests against
TF's kernels.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .._quiet import import_tensorflow
from .counting import _FLOAT32_MAX, _FLOAT_TYPES, _INF, _NAN, _compute_type, _filled, _require_dtype
from .registry import NodeView, rewrite_rule
from .special_functions import log1p

tf = import_tensorflow()

_MAX_SCAN_LENGTH = 1 << 20  # scans: at most 20 shift-and-combine steps per axis

Combine = Callable[[object, object], object]


# --- scans ----------------------------------------------------------------------------------------


def _negative_infinity_like(like):
    """-inf shaped like ``like``, computed at run time: (like < like) is always False, and -1 / 0 = -inf.

    An infinity that must reach the output cannot be a constant, which the
    converter would store as -FLT_MAX.
    """
    return -1.0 / tf.cast(tf.less(like, like), tf.float32)


def _slice_along(x, axis: int, shape: Sequence[int], start: int, stop: int):
    """``x[..., start:stop, ...]`` along ``axis`` of the static ``shape``."""
    begin = [0] * len(shape)
    begin[axis] = start
    size = list(shape)
    size[axis] = stop - start
    return tf.slice(x, begin, size)


def _inclusive_scan(x, axis: int, shape: Sequence[int], combine: Combine):
    """Hillis-Steele scan: the step with shift s combines entry i with entry i - s (entries below s stay).

    After the steps s = 1, 2, 4, ... < n every entry combines all entries up
    to it. ``combine(earlier, later)`` must be associative.
    """
    length = shape[axis]
    shift = 1
    while shift < length:
        combined = combine(_slice_along(x, axis, shape, 0, length - shift), _slice_along(x, axis, shape, shift, length))
        x = tf.concat([_slice_along(x, axis, shape, 0, shift), combined], axis)
        shift *= 2
    return x


def _cumulative(node: NodeView, x, axis, combine: Combine, identity_like: Callable):
    """TF's cumulative-op contract (``exclusive``, ``reverse``) for any runtime ``axis``.

    The scan is built along every dimension and the one named by ``axis``
    selected; a constant ``axis`` lets the converter fold the selection away,
    leaving a single scan. ``identity_like(t)`` is the identity element shaped
    like ``t`` (the first output of an exclusive scan). Needs a fully static
    input shape.
    """
    shape = node.static_shape(0)
    if not shape:
        node.decline(f"{node.op_type} of a scalar is left to TensorFlow")
    if max(shape) > _MAX_SCAN_LENGTH:
        node.decline(f"dimension {max(shape)} exceeds the scan limit of {_MAX_SCAN_LENGTH}")
    exclusive, reverse = bool(node.attrs.get("exclusive")), bool(node.attrs.get("reverse"))

    def along(dim: int):
        y = tf.reverse(x, [dim]) if reverse else x
        if exclusive and shape[dim]:
            first = _slice_along(y, dim, shape, 0, 1)
            y = tf.concat([identity_like(first), _slice_along(y, dim, shape, 0, shape[dim] - 1)], dim)
        y = _inclusive_scan(y, dim, shape, combine)
        return tf.reverse(y, [dim]) if reverse else y

    rank = len(shape)
    result = along(rank - 1)
    if rank > 1:
        chosen = tf.math.floormod(tf.cast(axis, tf.int32), rank)
        for dim in range(rank - 2, -1, -1):
            result = tf.where(tf.equal(chosen, dim), along(dim), result)
    return result


@rewrite_rule("Cumprod", error_bound="exact for integers; floats: 2 (n - 1) 2^-24 relative to TF (rounding order)",
              limits=f"static input shape, axis length <= {_MAX_SCAN_LENGTH}")
def cumprod(node: NodeView, x, axis):
    """Log-depth (Hillis-Steele) scan of multiplications: ceil(log2 n) steps, each times a shifted copy.

    Every output is the same product as TF's sequential one, associated
    differently: exact for integers (wrapping like TF on overflow) and, for
    floats, like TF's own result within (n - 1) * 2^-24 relative of the exact
    product, so within 2 (n - 1) * 2^-24 of TF's (n the axis length; no
    exp/log involved). Zeros, signs, infinities and NaN behave as in any
    product (0 * inf = NaN). Any ``axis`` (negative too) works; a non-constant
    one costs a scan per dimension. ``exclusive``/``reverse`` as TF.
    """
    _require_dtype(node, 0, _FLOAT_TYPES + (tf.int32, tf.int64))
    compute = tf.cast(x, _compute_type(x.dtype))
    result = _cumulative(node, compute, axis, tf.multiply, tf.ones_like)
    return tf.cast(result, x.dtype)


def _log_add_exp(a, b):
    """log(exp(a) + exp(b)) = max + log1p(exp(-|a - b|)); -inf for two -infs; NaN for a NaN or two +infs.

    NaN is selected explicitly (LiteRT's EXP and MAXIMUM drop it), and -inf is
    recognised as "below -FLT_MAX" (an infinite constant would not survive
    conversion).
    """
    difference = a - b
    total = tf.maximum(a, b) + log1p(tf.exp(-tf.abs(difference)))
    total = tf.where(tf.equal(difference, difference), total, difference)
    both_empty = tf.logical_and(a < -_FLOAT32_MAX, b < -_FLOAT32_MAX)
    return tf.where(both_empty, a, total)


@rewrite_rule("CumulativeLogsumexp", error_bound="4e-7 * ceil(log2 n) relative (of max(|out|, 1))",
              limits=f"float types, static input shape, axis length <= {_MAX_SCAN_LENGTH}")
def cumulative_logsumexp(node: NodeView, x, axis):
    """Log-depth scan of stable pairwise logaddexp steps: max + log1p(exp(-|a - b|)).

    Each output combines ceil(log2 n) rounded logaddexp steps: within about
    4e-7 * ceil(log2 n) of max(|result|, 1). -inf inputs contribute nothing;
    two +inf give NaN exactly as TF's kernel does. NaN inputs propagate (TF's
    kernel instead treats a NaN like a copy of the running total, a quirk of
    its min/max, which is not reproduced).
    """
    _require_dtype(node, 0, _FLOAT_TYPES)
    compute = tf.cast(x, tf.float32)
    result = _cumulative(node, compute, axis, _log_add_exp, _negative_infinity_like)
    return tf.cast(result, x.dtype)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402


def _signed_factors(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    """Random factors in +-[0.5, 2], so long products neither vanish nor overflow."""
    return (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


def _cumprod_case(name: str, shape: Sequence[int], axis: int, exclusive: bool, reverse: bool, dtype=tf.float32):
    integer = dtype.is_integer

    def make_inputs(rng: np.random.Generator):
        return [rng.integers(-3, 4, shape).astype(np.int32) if integer else _signed_factors(rng, shape)]

    edges = [2, 0, -3, 7, -1, 1, 5] if integer else [2.0, 0.0, -3.0, 0.5, _INF, -1.0, _NAN, 1e20, 1e-20, -0.0, 1.5]
    register_case(RewriteCase(
        name=name, op_type="Cumprod",
        function=lambda x: tf.math.cumprod(x, axis=axis, exclusive=exclusive, reverse=reverse),
        input_specs=[tf.TensorSpec(shape, dtype)], make_inputs=make_inputs,
        atol=0.0, rtol=2 * max(shape[axis] - 1, 1) * 2.0 ** -24,
        edge_inputs=[[_filled(shape, edges, dtype.as_numpy_dtype)]],
    ))


_cumprod_case("count_cumprod_3x5x7_axis1", (3, 5, 7), 1, False, False)
_cumprod_case("count_cumprod_exclusive_reverse_4x33", (4, 33), -1, True, True)
_cumprod_case("count_cumprod_int32_exclusive_axis0", (6, 4), 0, True, False, tf.int32)
_cumprod_case("count_cumprod_reverse_axis_minus2", (2, 9, 3), -2, False, True)


def _logsumexp_case(name: str, shape: Sequence[int], axis: int, exclusive: bool, reverse: bool):
    register_case(RewriteCase(
        name=name, op_type="CumulativeLogsumexp",
        function=lambda x: tf.math.cumulative_logsumexp(x, axis=axis, exclusive=exclusive, reverse=reverse),
        input_specs=[tf.TensorSpec(shape, tf.float32)],
        make_inputs=lambda rng: [rng.uniform(-20.0, 20.0, shape).astype(np.float32)],
        atol=4e-7 * math.ceil(math.log2(shape[axis])), rtol=4e-7 * math.ceil(math.log2(shape[axis])),
        edge_inputs=[[_filled(shape, [-_INF, -_INF, 0.0, 80.0, -80.0, 1e30, -1e30, -_INF, 3.0, 3.0, _INF, 1e-30])],
                     [_filled(shape, [-_INF])]],
    ))


_logsumexp_case("count_logsumexp_4x40", (4, 40), -1, False, False)
_logsumexp_case("count_logsumexp_exclusive_reverse_axis0", (17, 3), 0, True, True)
_logsumexp_case("count_logsumexp_exclusive_3x6x5_axis1", (3, 6, 5), 1, True, False)
