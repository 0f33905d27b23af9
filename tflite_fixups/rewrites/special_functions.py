"""Error functions and inverse-trigonometric/hyperbolic functions, from EXP, LOG, SQRT, ATAN2, SIN, COS.

Also the numeric helpers shared with :mod:`gamma_bessel` (``polyval``, ``log1p``, ``keep_nan``...).

Every rule is elementwise, accepts any shape (static or not) and keeps NaN
propagation; each docstring states its error bound for float32, measured by
the tests against TensorFlow's own kernels.
"""

from __future__ import annotations

import math
from typing import Sequence

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()


def polyval(coefficients: Sequence[float], x):
    """Horner's rule; ``coefficients`` from the highest power down."""
    result = tf.fill(tf.shape(x), tf.constant(coefficients[0], x.dtype))
    for c in coefficients[1:]:
        result = result * x + c
    return result


FLOAT32_MAX = 3.4028234663852886e38


def log1p(u):
    """log(1 + u) accurate for small u (Kahan's trick: the rounding of 1 + u cancels out); inf stays inf.

    The correction u / (w - 1) is formed first, so log1p stays finite up to float32 max.
    """
    w = 1.0 + u
    exact = tf.logical_or(tf.equal(w, 1.0), tf.abs(w) > FLOAT32_MAX)
    safe = tf.where(exact, tf.fill(tf.shape(w), 2.0), w)
    return tf.where(tf.equal(w, 1.0), u, tf.where(exact, tf.math.log(w), tf.math.log(safe) * (u / (safe - 1.0))))


def keep_nan(x, y):
    """y, but NaN wherever x is NaN (LiteRT's XNNPACK EXP maps NaN to 0)."""
    return tf.where(tf.not_equal(x, x), x, y)


_LOG_SCALE = 2.0 ** -100  # LiteRT's XNNPACK LOG overflows near float32 max; log(x) = log(x 2^-100) + 100 log 2


def log_of_large(x):
    """log(x) for x up to float32 max, on every TFLite runtime."""
    return tf.math.log(x * _LOG_SCALE) + 100.0 * math.log(2.0)


def _float_only(node: NodeView) -> None:
    dtype = node.input_dtypes[0]
    if dtype not in (tf.float32, tf.float16, tf.bfloat16):
        node.decline(f"only float32/float16 inputs are rewritten, got {dtype.name}")


# --- error function family -------------------------------------------------------------------

# Abramowitz & Stegun 7.1.26: erf(x) = 1 - t * P(t) * exp(-x^2), t = 1 / (1 + p x), |error| <= 1.5e-7.
_AS_P = 0.3275911
_AS_POLY = [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592, 0.0]


def _erfc_positive(ax):
    t = 1.0 / (1.0 + _AS_P * ax)
    return polyval(_AS_POLY, t) * tf.exp(-ax * ax)


# erf(x) = 2/sqrt(pi) sum (-1)^k x^(2k+1) / (k! (2k+1)), k <= 6: truncation below 5e-10 for |x| < 0.5.
_ERF_TAYLOR = [(-1) ** k / (math.factorial(k) * (2 * k + 1)) * 2 / math.sqrt(math.pi) for k in range(6, -1, -1)]


@rewrite_rule("Erf", error_bound="5e-7 abs")
def erf(node: NodeView, x):
    """Taylor series for |x| < 0.5 (relative accuracy near 0), else sign(x) (1 - erfc(|x|)) with A&S 7.1.26.

    Max error 4.1e-7 measured over 2M points of [-6, 6] in TF and on LiteRT (A&S's 1.5e-7 plus rounding).
    """
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    series = polyval(_ERF_TAYLOR, compute * compute) * compute
    far = tf.sign(compute) * (1.0 - _erfc_positive(tf.abs(compute)))
    return tf.cast(tf.where(tf.abs(compute) < 0.5, series, far), x.dtype)


@rewrite_rule("Erfc", error_bound="8e-7 abs")
def erfc(node: NodeView, x):
    """erfc(x): A&S 7.1.26 for x >= 0 (no cancellation), 2 - erfc(-x) below.

    Max error 7.5e-7 measured over 2M points of [-6, 6] in TF and on LiteRT.
    """
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    positive = _erfc_positive(tf.abs(compute))
    return tf.cast(tf.where(compute >= 0, positive, 2.0 - positive), x.dtype)


# Giles (2010), "Approximating the erfinv function", single-precision branch coefficients.
_ERFINV_CENTRAL = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                   -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_ERFINV_TAIL = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def _erfinv_from_w(x, w, infinity=None):
    """erfinv given w = -log((1 - x)(1 + x)), computed by the caller as accurately as it can.

    ``infinity`` is the result at |x| = 1 (default sign(x) inf, which LiteRT saturates to +-3.4e38).
    """
    central = polyval(_ERFINV_CENTRAL, w - 2.5)
    tail = polyval(_ERFINV_TAIL, tf.sqrt(tf.maximum(w, 5.0)) - 3.0)
    result = tf.where(w < 5.0, central, tail) * x
    if infinity is None:
        infinity = tf.sign(x) * float("inf")
    result = tf.where(tf.equal(tf.abs(x), 1.0), infinity, result)
    return tf.where(tf.abs(x) > 1.0, tf.fill(tf.shape(x), float("nan")), result)


@rewrite_rule("Erfinv", error_bound="1e-4 abs on [-0.99, 0.99]; 2e-6 relative in the central range",
              limits="|x| <= 1; exactly +-inf at +-1 (on LiteRT too), NaN outside")
def erfinv(node: NodeView, x):
    """Giles' two-branch polynomial in w = -log(1 - x^2); exactly +-inf at +-1, NaN outside [-1, 1].

    At |x| = 1, w = -LOG(0) is +inf and the result is +-w: an infinity computed at run time stays
    +-inf on LiteRT too, where an inf constant is stored as +-3.4e38 (the result there before).
    """
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    w = -tf.math.log((1.0 - compute) * (1.0 + compute))
    return tf.cast(_erfinv_from_w(compute, w, infinity=tf.where(compute > 0.0, w, -w)), x.dtype)


@rewrite_rule("Ndtri", error_bound="1e-4 abs on [1e-6, 1 - 1e-6]", limits="0 <= p <= 1")
def ndtri(node: NodeView, p):
    """Inverse normal CDF: sqrt(2) erfinv(2p - 1), with 1 - x^2 computed as 4 p (1 - p) to keep the tails."""
    _float_only(node)
    compute = tf.cast(p, tf.float32)
    x = 2.0 * compute - 1.0
    w = -tf.math.log(4.0 * compute * (1.0 - compute))
    return tf.cast(math.sqrt(2.0) * _erfinv_from_w(x, w), p.dtype)


# --- trigonometric and hyperbolic ----------------------------------------------------------------


@rewrite_rule("Tan", error_bound="2 ulp of sin/cos (1e-5 relative away from poles)")
def tan(node: NodeView, x):
    """sin(x) / cos(x)."""
    return tf.sin(x) / tf.cos(x)


@rewrite_rule("Atan", error_bound="exact (ATAN2 kernel)")
def atan(node: NodeView, x):
    """atan2(x, 1)."""
    return tf.atan2(x, tf.ones_like(x))


@rewrite_rule("Asin", error_bound="1e-6 abs", limits="NaN outside [-1, 1]")
def asin(node: NodeView, x):
    """atan2(x, sqrt((1 - x)(1 + x))); the factored form keeps precision near +-1."""
    return tf.atan2(x, tf.sqrt((1.0 - x) * (1.0 + x)))


@rewrite_rule("Acos", error_bound="1e-6 abs", limits="NaN outside [-1, 1]")
def acos(node: NodeView, x):
    """atan2(sqrt((1 - x)(1 + x)), x)."""
    return tf.atan2(tf.sqrt((1.0 - x) * (1.0 + x)), x)


# sinh(x) = x + x^3/3! + ... + x^11/11! for |x| < 1: truncation below 2.6e-8 relative.
_SINH_TAYLOR = [1.0 / math.factorial(k) for k in (11, 9, 7, 5, 3, 1)]


@rewrite_rule("Sinh", error_bound="3e-6 relative (LiteRT's EXP kernel: 2e-6 near overflow)")
def sinh(node: NodeView, x):
    """Taylor series for |x| < 1 (no cancellation), (e^x - e^-x) / 2 beyond."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    series = polyval(_SINH_TAYLOR, compute * compute) * compute
    exponential = 0.5 * (tf.exp(compute) - tf.exp(-compute))
    return tf.cast(keep_nan(compute, tf.where(tf.abs(compute) < 1.0, series, exponential)), x.dtype)


@rewrite_rule("Cosh", error_bound="3e-6 relative (LiteRT's EXP kernel: 2e-6 near overflow)")
def cosh(node: NodeView, x):
    """(e^x + e^-x) / 2."""
    return keep_nan(x, 0.5 * (tf.exp(x) + tf.exp(-x)))


_LARGE = 1e18  # beyond this x^2 overflows float32; asinh/acosh(x) = log(2|x|) to float precision


@rewrite_rule("Asinh", error_bound="1e-6 relative")
def asinh(node: NodeView, x):
    """sign(x) log1p(|x| + x^2 / (1 + sqrt(1 + x^2))); log(2|x|) for huge |x|."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    ax = tf.abs(compute)
    moderate = tf.minimum(ax, _LARGE)
    small = log1p(moderate + moderate * moderate / (1.0 + tf.sqrt(1.0 + moderate * moderate)))
    result = tf.where(ax < _LARGE, small, math.log(2.0) + log_of_large(tf.maximum(ax, 1.0)))
    return tf.cast(tf.sign(compute) * result, x.dtype)


@rewrite_rule("Acosh", error_bound="1e-6 relative", limits="NaN below 1")
def acosh(node: NodeView, x):
    """log1p((x - 1) + sqrt((x - 1)(x + 1))); log(2x) for huge x."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    moderate = tf.minimum(compute, _LARGE)
    near = log1p((moderate - 1.0) + tf.sqrt((moderate - 1.0) * (moderate + 1.0)))
    result = tf.where(compute < _LARGE, near, math.log(2.0) + log_of_large(tf.maximum(compute, 1.0)))
    return tf.cast(result, x.dtype)


@rewrite_rule("Atanh", error_bound="1e-6 relative", limits="+-inf at +-1, NaN outside [-1, 1]")
def atanh(node: NodeView, x):
    """0.5 (log1p(x) - log1p(-x)): +-inf at +-1 without dividing by zero."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    result = 0.5 * (log1p(compute) - log1p(-compute))
    result = tf.where(tf.abs(compute) > 1.0, tf.fill(tf.shape(compute), float("nan")), result)
    return tf.cast(result, x.dtype)


# --- cases (data for the generic tests and the benchmarks) --------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402

_SHAPE = (4, 64)
_INF, _NAN = float("inf"), float("nan")


def _elementwise_case(op_type, function, low, high, *, atol, rtol=0.0, edges=()):
    def make_inputs(rng):
        return [rng.uniform(low, high, _SHAPE).astype("float32")]

    def edge_inputs():
        import numpy as np

        values = np.resize(np.array(list(edges) or [low, high], dtype=np.float32), _SHAPE[0] * _SHAPE[1])
        return [[values.reshape(_SHAPE)]]

    register_case(RewriteCase(
        name=op_type.lower(), op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(_SHAPE, tf.float32)], make_inputs=make_inputs, atol=atol, rtol=rtol,
        edge_inputs=edge_inputs(), tags=frozenset({"elementwise"}),
    ))


_elementwise_case("Erf", tf.math.erf, -5, 5, atol=5e-7, edges=(0, -0.0, 1e-8, -1e-8, 0.5, 3, 10, -10, _INF, -_INF, _NAN))
_elementwise_case("Erfc", tf.math.erfc, -5, 5, atol=8e-7, edges=(0, 1e-8, 2, -2, 9, -9, _INF, -_INF, _NAN))
_elementwise_case("Erfinv", tf.math.erfinv, -0.99, 0.99, atol=1e-4, rtol=2e-6,
                  edges=(0, 1e-7, -1e-7, 0.5, -0.5, 0.99, -0.99, 1, -1, 1.5, _NAN))
_elementwise_case("Ndtri", tf.math.ndtri, 1e-6, 1 - 1e-6, atol=1e-4, rtol=2e-6,
                  edges=(0.5, 1e-6, 1 - 1e-6, 0.025, 0.975, 0, 1, _NAN))
_elementwise_case("Tan", tf.tan, -1.5, 1.5, atol=1e-6, rtol=2e-6, edges=(0, 1e-8, 1.5, -1.5, 100.0, _NAN))
_elementwise_case("Atan", tf.atan, -50, 50, atol=1e-7, rtol=1e-6, edges=(0, 1e-30, 1e30, -1e30, _INF, -_INF, _NAN))
_elementwise_case("Asin", tf.asin, -1, 1, atol=3e-7, rtol=1e-6, edges=(0, 1e-8, 1, -1, 0.999999, 1.5, _NAN))
_elementwise_case("Acos", tf.acos, -1, 1, atol=5e-7, rtol=1e-6, edges=(0, 1, -1, 0.999999, -0.999999, 1.5, _NAN))
_elementwise_case("Sinh", tf.sinh, -10, 10, atol=1e-7, rtol=3e-6, edges=(0, 1e-8, -1e-8, 0.999, 1.0, 1.001, 88, -88, 100, _NAN))
_elementwise_case("Cosh", tf.cosh, -10, 10, atol=1e-7, rtol=3e-6, edges=(0, 1e-8, 88, -88, 100, _NAN))
_elementwise_case("Asinh", tf.asinh, -100, 100, atol=1e-7, rtol=1e-6, edges=(0, 1e-8, -1e-8, 1e19, -1e19, 3e38, _INF, _NAN))
_elementwise_case("Acosh", tf.acosh, 1, 100, atol=1e-6, rtol=1e-6, edges=(1, 1.0001, 1e19, 3e38, 0.5, _INF, _NAN))
_elementwise_case("Atanh", tf.atanh, -0.999, 0.999, atol=1e-7, rtol=1e-5, edges=(0, 1e-8, -1e-8, 0.999999, 1, -1, 2, _NAN))
