"""Bessel functions of the first and second kind, J0 J1 Y0 Y1: Abramowitz & Stegun 9.4.1-9.4.6.

Each function is a polynomial in (x/3)^2 for |x| < 3 (with the logarithmic term for Y) and
x^-1/2 f(3/x) cos/sin(x - phi(3/x)) beyond, applied as cos x cos phi + sin x sin phi so that x is never
rounded by a subtraction; above 4096, x is first reduced modulo 2 pi in float32 (Payne-Hanek with 2/pi
in 12-bit parts), since LiteRT's SIN/COS lose accuracy there (off by 5e-5 at 1e7, 61 at 1e8, NaN from 1e20).
The tests compare with TF's float64 kernels: TF's float32 ones are off by 2.7e-6 near x = 4000 and by
up to 2e-4 for larger x, and return NaN for Y1(0) (float64 and the limit: -inf).
"""

from __future__ import annotations

import math
from typing import Sequence

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule
from .special_functions import _INF, _NAN, FLOAT32_MAX, polyval
from .special_integrals import _elementwise_rule, elementwise_float64_case

tf = import_tensorflow()

# Coefficients from the highest power down, in (x/3)^2 (near) or 3/x (far).
_J0_NEAR = [0.0002100, -0.0039444, 0.0444479, -0.3163866, 1.2656208, -2.2499997, 1.0]  # 9.4.1, |e| < 5e-8
_Y0_NEAR = [-0.00024846, 0.00427916, -0.04261214, 0.25300117, -0.74350384, 0.60559366, 0.36746691]  # 9.4.2, 1.4e-8
_J1_NEAR = [0.00001109, -0.00031761, 0.00443319, -0.03954289, 0.21093573, -0.56249985, 0.5]  # 9.4.4: J1/x, 1.3e-8
_Y1_NEAR = [0.0027873, -0.0400976, 0.3123951, -1.3164827, 2.1682709, 0.2212091, -0.6366198]  # 9.4.5: x Y1, 1.1e-7
_F0 = [0.00014476, -0.00072805, 0.00137237, -0.00009512, -0.00552740, -0.00000077, 0.79788456]  # 9.4.3, 1.6e-8
_F1 = [-0.00020033, 0.00113653, -0.00249511, 0.00017105, 0.01659667, 0.00000156, 0.79788456]  # 9.4.6, 4e-8
# theta = x - phi(3/x); phi from the highest power down (A&S's phase terms with their sign flipped).
_PHI0 = [-0.00013558, 0.00029333, 0.00054125, -0.00262573, 0.00003954, 0.04166397, 0.78539816]  # 9.4.3, 7e-8
_PHI1 = [0.00029166, -0.00079824, -0.00074348, 0.00637879, -0.00005650, -0.12499612, 2.35619449]  # 9.4.6, 9e-8

_SPLIT = 3.0  # A&S switch from the series to the asymptotic form at x = 3


# 2/pi as four parts of at most 12 significant bits (the rest, 4e-17, is far below what the phase needs).
_TWO_OVER_PI_PARTS = (0.63671875, -9.897351264953613e-05, -4.120010999031365e-09, 2.419175970658216e-13)
_REDUCE_FROM = 4096.0  # below, SIN/COS take x as it is (LiteRT's kernels: 2.3e-7 abs); above, they drift (61 at 1e8)
_SPLIT_SCALE = 2.0 ** -20  # keeps x * 4097 finite up to float32 max


def _quarter_turns(x):
    """x * 2/pi modulo 4 for x >= 4096: a Payne-Hanek reduction in float32.

    x = hi + lo with 12 significant bits each (Veltkamp's split) and 2/pi = sum of 12-bit parts, so every
    product hi * part is exact and so is its residue modulo 4; the residues are then summed. The angle's
    error stays below 4e-6 rad up to x = 1e9; beyond, it grows but times the amplitude stays below 2e-8.
    (Grappler and the TFLite converter leave the split's spread - (spread - scaled) alone: tested.)
    """
    scaled = x * _SPLIT_SCALE
    spread = scaled * 4097.0
    high = spread - (spread - scaled)
    pieces = (high, scaled - high)  # in units of 2^20: high itself may round up past float32 max
    total = tf.zeros_like(x)
    for part in _TWO_OVER_PI_PARTS:
        for piece in pieces:
            product = piece * (part / _SPLIT_SCALE)
            total = total + (product - 4.0 * tf.floor(0.25 * product))
    return total - 4.0 * tf.floor(0.25 * total)


def _far(x, amplitude: Sequence[float], phase: Sequence[float]):
    """(J, Y) = x^-1/2 f(3/x) (cos, sin)(x - phi(3/x)) for x >= 3."""
    t = _SPLIT / x
    f = polyval(amplitude, t) * tf.math.rsqrt(x)
    phi = polyval(phase, t)
    angle = tf.where(x < _REDUCE_FROM, x, (0.5 * math.pi) * _quarter_turns(tf.maximum(x, _REDUCE_FROM)))
    cos_x, sin_x, cos_phi, sin_phi = tf.cos(angle), tf.sin(angle), tf.cos(phi), tf.sin(phi)
    return f * (cos_x * cos_phi + sin_x * sin_phi), f * (sin_x * cos_phi - cos_x * sin_phi)


def _order_zero(ax):
    """(J0, Y0) at ax = |x| >= 0 (Y0 is -inf at 0)."""
    near_x = tf.minimum(ax, _SPLIT)
    s = tf.square(near_x / _SPLIT)
    j_near = polyval(_J0_NEAR, s)
    y_near = (2.0 / math.pi) * tf.math.log(0.5 * near_x) * j_near + polyval(_Y0_NEAR, s)
    j_far, y_far = _far(tf.maximum(ax, _SPLIT), _F0, _PHI0)
    near = ax < _SPLIT
    return tf.where(near, j_near, j_far), tf.where(near, y_near, y_far)


def _order_one(ax):
    """(J1, Y1) at ax = |x| >= 0 (Y1 is -inf at 0)."""
    near_x = tf.minimum(ax, _SPLIT)
    s = tf.square(near_x / _SPLIT)
    j_near = polyval(_J1_NEAR, s) * near_x
    y_near = (2.0 / math.pi) * tf.math.log(0.5 * near_x) * j_near + polyval(_Y1_NEAR, s) / near_x
    j_far, y_far = _far(tf.maximum(ax, _SPLIT), _F1, _PHI1)
    near = ax < _SPLIT
    return tf.where(near, j_near, j_far), tf.where(near, y_near, y_far)


def _finite_or_nan(x, value):
    """NaN where x is +-inf (TF's J has no value there); x itself is compared, as LiteRT saturates inf constants."""
    return tf.where(tf.abs(x) <= FLOAT32_MAX, value, tf.fill(tf.shape(x), _NAN))


def _second_kind(x, value):
    """TF's Y0 and Y1: -inf at 0 and for every negative x (-inf included), NaN at +inf."""
    value = tf.where(x <= FLOAT32_MAX, value, tf.fill(tf.shape(x), _NAN))
    return tf.where(x > 0.0, value, tf.fill(tf.shape(x), -_INF))


_LIMITS_J = "any x; NaN at +-inf, like TF"
_LIMITS_Y = "x > 0; -inf for x <= 0 and NaN at +inf, like TF"
_BOUND = "4e-7 abs + 1e-6 relative"


@rewrite_rule("BesselJ0", error_bound=_BOUND, limits=_LIMITS_J)
def bessel_j0(node: NodeView, x):
    """J0(x), even: A&S 9.4.1 polynomial in (x/3)^2 for |x| < 3, 9.4.3 beyond.

    Float32 error against TF's float64 kernel, every x: 4e-7 + 1e-6 |J0(x)| (A&S state 5e-8 for the
    series and 1.6e-8 / 7e-8 for amplitude / phase; the rest is float32 rounding and LiteRT's SIN/COS).
    """
    return _elementwise_rule(node, x, lambda c: _finite_or_nan(c, _order_zero(tf.abs(c))[0]))


@rewrite_rule("BesselJ1", error_bound=_BOUND, limits=_LIMITS_J)
def bessel_j1(node: NodeView, x):
    """J1(x), odd: A&S 9.4.4 (x times a polynomial in (x/3)^2) for |x| < 3, 9.4.6 beyond.

    Float32 error against TF's float64 kernel, every x: 4e-7 + 1e-6 |J1(x)| (A&S: 1.3e-8, 4e-8 / 9e-8).
    """
    return _elementwise_rule(node, x, lambda c: _finite_or_nan(c, tf.sign(c) * _order_one(tf.abs(c))[0]))


@rewrite_rule("BesselY0", error_bound=_BOUND, limits=_LIMITS_Y)
def bessel_y0(node: NodeView, x):
    """Y0(x) = (2/pi) log(x/2) J0(x) + A&S 9.4.2 polynomial for 0 < x < 3, 9.4.3 beyond.

    Float32 error against TF's float64 kernel: 4e-7 + 1e-6 |Y0(x)| (A&S: 1.4e-8, 1.6e-8 / 7e-8).
    """
    return _elementwise_rule(node, x, lambda c: _second_kind(c, _order_zero(tf.abs(c))[1]))


@rewrite_rule("BesselY1", error_bound=_BOUND, limits=_LIMITS_Y)
def bessel_y1(node: NodeView, x):
    """Y1(x) = (2/pi) log(x/2) J1(x) + A&S 9.4.5 polynomial / x for 0 < x < 3, 9.4.6 beyond.

    Float32 error against TF's float64 kernel: 4e-7 + 1e-6 |Y1(x)| (A&S: 1.1e-7, 4e-8 / 9e-8).
    -inf at 0, the limit and TF's float64 value (TF's float32 kernel returns NaN there).
    """
    return _elementwise_rule(node, x, lambda c: _second_kind(c, _order_one(tf.abs(c))[1]))


# --- cases (compared with TF's float64 kernels) -------------------------------------------------------

_EDGES = (0.0, -0.0, 1e-30, 1e-8, 2.404825557695773, 2.9999, 3.0, 3.0001, -3.0, -10.0, 4095.9, 4096.0, 1e6, 3e38,
          FLOAT32_MAX, -FLOAT32_MAX, _INF, -_INF, _NAN)
for _op, _function in (("BesselJ0", tf.math.special.bessel_j0), ("BesselJ1", tf.math.special.bessel_j1),
                       ("BesselY0", tf.math.special.bessel_y0), ("BesselY1", tf.math.special.bessel_y1)):
    _low = 0.0 if _op.startswith("BesselY") else -30.0
    elementwise_float64_case(_op, _function, _low, 30.0, atol=4e-7, rtol=1e-6, edges=_EDGES)
