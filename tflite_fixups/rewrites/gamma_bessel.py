"""Bessel, gamma-family and zeta functions: A&S polynomials, series and continued fractions, unrolled.

Every rule is elementwise and states its float32 error bound; the cases compare
Igamma/Igammac/Zeta/Polygamma with TF's float64 kernels because TF's float32
ones are less accurate than these rules in places.
"""

from __future__ import annotations

import math

from .._quiet import import_tensorflow
from .cases import RewriteCase, register_case
from .registry import NodeView, rewrite_rule
from .special_functions import _INF, _NAN, _SHAPE, _elementwise_case, _float_only, keep_nan, log1p, polyval

tf = import_tensorflow()

# --- modified Bessel functions (Abramowitz & Stegun 9.8.1-9.8.4) ----------------------------------

_I0_SMALL = [0.0045813, 0.0360768, 0.2659732, 1.2067492, 3.0899424, 3.5156229, 1.0]  # in (x/3.75)^2
_I0_LARGE = [0.00392377, -0.01647633, 0.02635537, -0.02057706, 0.00916281, -0.00157565, 0.00225319,
             0.01328592, 0.39894228]  # in 3.75/x, times exp(-x)/sqrt(x)
_I1_SMALL = [0.00032411, 0.00301532, 0.02658733, 0.15084934, 0.51498869, 0.87890594, 0.5]
_I1_LARGE = [-0.00420059, 0.01787654, -0.02895312, 0.02282967, -0.01031555, 0.00163801, -0.00362018,
             -0.03988024, 0.39894228]


def _bessel_scaled(x, small, large, odd: bool):
    """exp(-|x|) I_n(x) from the two A&S expansions (|relative error| < 2.2e-7)."""
    ax = tf.abs(x)
    t = ax / 3.75
    near = polyval(small, t * t) * tf.exp(-ax)
    if odd:
        near = near * x
    far_ax = tf.maximum(ax, 3.75)
    far = polyval(large, 3.75 / far_ax) / tf.sqrt(far_ax)
    if odd:
        far = far * tf.sign(x)
    return tf.where(ax < 3.75, near, far)


@rewrite_rule("BesselI0e", error_bound="2e-7 relative")
def bessel_i0e(node: NodeView, x):
    """exp(-|x|) I0(x), A&S 9.8.1 / 9.8.2."""
    _float_only(node)
    return tf.cast(_bessel_scaled(tf.cast(x, tf.float32), _I0_SMALL, _I0_LARGE, False), x.dtype)


@rewrite_rule("BesselI1e", error_bound="2.5e-7 relative")
def bessel_i1e(node: NodeView, x):
    """exp(-|x|) I1(x), A&S 9.8.3 / 9.8.4."""
    _float_only(node)
    return tf.cast(_bessel_scaled(tf.cast(x, tf.float32), _I1_SMALL, _I1_LARGE, True), x.dtype)


@rewrite_rule("BesselI0", error_bound="2e-6 relative")
def bessel_i0(node: NodeView, x):
    """I0(x) = exp(|x|) * I0e(x)."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    return tf.cast(_bessel_scaled(compute, _I0_SMALL, _I0_LARGE, False) * tf.exp(tf.abs(compute)), x.dtype)


@rewrite_rule("BesselI1", error_bound="2e-6 relative")
def bessel_i1(node: NodeView, x):
    """I1(x) = exp(|x|) * I1e(x)."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    return tf.cast(_bessel_scaled(compute, _I1_SMALL, _I1_LARGE, True) * tf.exp(tf.abs(compute)), x.dtype)


# --- modified Bessel functions of the second kind (A&S 9.8.5-9.8.8) ------------------------------

_K0_SMALL = [0.00000740, 0.00010750, 0.00262698, 0.03488590, 0.23069756, 0.42278420, -0.57721566]  # in (x/2)^2
_K0_LARGE = [0.00053208, -0.00251540, 0.00587872, -0.01062446, 0.02189568, -0.07832358, 1.25331414]  # in 2/x
_K1_SMALL = [-0.00004686, -0.00110404, -0.01919402, -0.18156897, -0.67278579, 0.15443144, 1.0]
_K1_LARGE = [-0.00068245, 0.00325614, -0.00780353, 0.01504268, -0.03655620, 0.23498619, 1.25331414]


def _bessel_k_scaled(x, order: int):
    """exp(x) K_n(x) for x > 0 from A&S (|relative error| < 2.2e-7 beyond x = 2, 1e-8 below)."""
    near_x = tf.minimum(x, 2.0)
    t = near_x / 2.0
    log_half = tf.math.log(t)
    if order == 0:
        i_n = polyval(_I0_SMALL, tf.square(near_x / 3.75))
        near = -log_half * i_n + polyval(_K0_SMALL, t * t)
    else:
        i_n = polyval(_I1_SMALL, tf.square(near_x / 3.75)) * near_x
        near = (near_x * log_half * i_n + polyval(_K1_SMALL, t * t)) / near_x
    far_x = tf.maximum(x, 2.0)
    far = polyval(_K0_LARGE if order == 0 else _K1_LARGE, 2.0 / far_x) / tf.sqrt(far_x)
    scaled = tf.where(x <= 2.0, near * tf.exp(near_x), far)
    return tf.where(x <= 0.0, tf.fill(tf.shape(x), float("inf")), scaled)  # TF: +inf at and below 0


def _bessel_k_rule(order: int, scaled: bool):
    def rule(node: NodeView, x):
        _float_only(node)
        compute = tf.cast(x, tf.float32)
        value = _bessel_k_scaled(compute, order)
        if not scaled:
            value = value * tf.exp(-compute)
        return tf.cast(keep_nan(compute, value), x.dtype)

    rule.__doc__ = f"{'exp(x) ' if scaled else ''}K{order}(x): A&S 9.8.{5 + 2 * order}/9.8.{6 + 2 * order} polynomials."
    return rule


for _order in (0, 1):
    for _scaled in (True, False):
        _op = f"BesselK{_order}{'e' if _scaled else ''}"
        rewrite_rule(_op, error_bound="2e-6 relative (x > 0)", name=_op.lower(), limits="+inf for x <= 0, like TF")(
            _bessel_k_rule(_order, _scaled)
        )


# --- regularized incomplete gamma ---------------------------------------------------------------

_GAMMA_SERIES_TERMS = 96  # x < a + 1 with a <= 100: the terms fall below 1e-9 of the sum
_GAMMA_FRACTION_STEPS = 48  # x >= a + 1: modified Lentz converges to float32 precision
_TINY = 1e-30


_LOG1P_MINUS_X = [(-1) ** (k + 1) / k for k in range(17, 1, -1)] + [0.0, 0.0]  # sum_{k>=2} (-1)^(k+1) u^k / k
_STIRLING = [1.0 / 1260.0, 0.0, -1.0 / 360.0, 0.0, 1.0 / 12.0]  # in 1/a, times 1/a: log Gamma's correction


def _log_gamma_prefactor(a, x):
    """log(x^a e^-x / Gamma(a)) without the cancellation of its three large terms.

    For a >= 3, with u = (x - a) / a: a (log1p(u) - u) + log(a / 2 pi) / 2 - Stirling's correction,
    where log1p(u) - u comes from its series when |u| < 0.25.
    """
    u = (x - a) / a
    small_u = tf.minimum(tf.abs(u), 0.25) * tf.sign(u)
    series = polyval(_LOG1P_MINUS_X, small_u)
    difference = tf.where(tf.abs(u) < 0.25, series, log1p(tf.maximum(u, -1.0 + 1e-7)) - u)
    inverse = 1.0 / tf.maximum(a, 1.0)
    stirling = a * difference + 0.5 * tf.math.log(a / (2.0 * math.pi)) - polyval(_STIRLING, inverse) * inverse
    direct = a * tf.math.log(x) - x - tf.math.lgamma(a)
    return tf.where(a >= 3.0, stirling, direct)


def _incomplete_gamma(a, x):
    """(P, Q) = regularized lower and upper incomplete gamma, each from its accurate branch."""
    use_series = x < a + 1.0
    safe_x = tf.maximum(x, _TINY)
    prefactor = tf.exp(_log_gamma_prefactor(a, safe_x))
    # series: P = prefactor / a * sum_n x^n / ((a+1)...(a+n))
    term = 1.0 / a
    total = term
    for n in range(1, _GAMMA_SERIES_TERMS):
        term = term * safe_x / (a + n)
        total = total + term
    series_p = prefactor * total
    # continued fraction for Q (Lentz)
    b = safe_x + 1.0 - a
    c = tf.fill(tf.shape(b), 1.0 / _TINY)
    d = 1.0 / tf.where(tf.abs(b) < _TINY, tf.fill(tf.shape(b), _TINY), b)
    h = d
    for i in range(1, _GAMMA_FRACTION_STEPS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / tf.where(tf.abs(d) < _TINY, tf.fill(tf.shape(d), _TINY), d)
        c = b + an / c
        c = tf.where(tf.abs(c) < _TINY, tf.fill(tf.shape(c), _TINY), c)
        h = h * d * c
    fraction_q = prefactor * h
    p = tf.where(use_series, series_p, 1.0 - fraction_q)
    q = tf.where(use_series, 1.0 - series_p, fraction_q)
    invalid = tf.logical_or(a <= 0.0, x < 0.0)
    nan = tf.fill(tf.shape(p), float("nan"))
    zero_x = tf.equal(x, 0.0)
    p = tf.where(invalid, nan, tf.where(zero_x, tf.zeros_like(p), p))
    q = tf.where(invalid, nan, tf.where(zero_x, tf.ones_like(q), q))
    return keep_nan(a + x, p), keep_nan(a + x, q)


def _broadcast_pair(a, x):
    a = tf.cast(a, tf.float32)
    x = tf.cast(x, tf.float32)
    return a + tf.zeros_like(x), x + tf.zeros_like(a)


@rewrite_rule("Igamma", error_bound="2e-6 abs of the exact value", limits="0 < a <= 100; NaN for a <= 0 or x < 0")
def igamma(node: NodeView, a, x):
    """Regularized lower incomplete gamma P(a, x): series below a + 1, Lentz continued fraction above.

    Within 2e-6 of the exact value for 0 < a <= 100 (TF's own float32 kernel is off by up to 1.4e-5
    there, so the tests compare with TF's float64 kernel). The prefactor x^a e^-x / Gamma(a) is
    formed without cancellation (see ``_log_gamma_prefactor``).
    """
    _float_only(node)
    p, _ = _incomplete_gamma(*_broadcast_pair(a, x))
    return tf.cast(p, a.dtype)


@rewrite_rule("Igammac", error_bound="2e-6 abs of the exact value", limits="0 < a <= 100; NaN for a <= 0 or x < 0")
def igammac(node: NodeView, a, x):
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), each from its accurate branch."""
    _float_only(node)
    _, q = _incomplete_gamma(*_broadcast_pair(a, x))
    return tf.cast(q, a.dtype)


# --- Hurwitz zeta and polygamma ------------------------------------------------------------------

_ZETA_TERMS = 9  # direct terms before the Euler-Maclaurin tail
# B_2j / (2j)! for j = 1..6
_ZETA_BERNOULLI = [1.0 / 12.0, -1.0 / 720.0, 1.0 / 30240.0, -1.0 / 1209600.0, 1.0 / 47900160.0,
                   -691.0 / 1307674368000.0]


def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum_k (q + k)^-s by Euler-Maclaurin: 9 direct terms, the integral, 6 Bernoulli terms."""
    safe_q = tf.maximum(q, 1e-30)
    safe_s = tf.maximum(s, 1.0 + 1e-7)
    total = tf.zeros_like(safe_q)
    for k in range(_ZETA_TERMS):
        total = total + tf.pow(safe_q + k, -safe_s)
    a = safe_q + _ZETA_TERMS
    a_power = tf.pow(a, -safe_s)
    total = total + a * a_power / (safe_s - 1.0) + 0.5 * a_power
    rising = safe_s  # s (s + 1) ... (s + 2j - 2)
    a_power = a_power / a  # a^(-s-1)
    for j, coefficient in enumerate(_ZETA_BERNOULLI):
        total = total + coefficient * rising * a_power
        rising = rising * (safe_s + 2 * j + 1) * (safe_s + 2 * j + 2)
        a_power = a_power / (a * a)
    inf = tf.fill(tf.shape(total), float("inf"))
    nan = tf.fill(tf.shape(total), float("nan"))
    pole_q = tf.logical_and(q <= 0.0, tf.equal(q, tf.floor(q)))
    result = tf.where(tf.logical_or(tf.equal(s, 1.0), pole_q), inf, total)
    return tf.where(tf.logical_or(s < 1.0, q < 0.0) & tf.logical_not(pole_q), nan, result)


@rewrite_rule("Zeta", error_bound="2e-6 relative", limits="s >= 1, q > 0 (and TF's inf at s = 1 or q = 0, -1, ...)")
def zeta(node: NodeView, s, q):
    """Hurwitz zeta by Euler-Maclaurin summation (POW, no series of unbounded length)."""
    _float_only(node)
    s32, q32 = _broadcast_pair(s, q)
    return tf.cast(keep_nan(s32 + q32, _hurwitz_zeta(s32, q32)), s.dtype)


@rewrite_rule("Polygamma", error_bound="2e-6 relative; n = 0: digamma's 3e-6 abs", limits="integer n >= 0, x > 0; NaN for other n like TF")
def polygamma(node: NodeView, n, x):
    """psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1; digamma for n = 0."""
    _float_only(node)
    n32, x32 = _broadcast_pair(n, x)
    sign = tf.where(tf.equal(tf.math.floormod(n32, 2.0), 0.0), -tf.ones_like(n32), tf.ones_like(n32))
    higher = sign * tf.exp(tf.math.lgamma(n32 + 1.0)) * _hurwitz_zeta(n32 + 1.0, x32)
    first = digamma(node, x32)
    result = tf.where(tf.equal(n32, 0.0), tf.cast(first, tf.float32), higher)
    invalid = tf.logical_or(n32 < 0.0, tf.not_equal(n32, tf.floor(n32)))
    result = tf.where(invalid, tf.fill(tf.shape(result), float("nan")), result)
    return tf.cast(keep_nan(n32 + x32, result), n.dtype)


# --- digamma ------------------------------------------------------------------------------------

# psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k), k = 1..5, accurate to 1e-9 for x >= 6.
_DIGAMMA_ASYMPTOTIC = [-1.0 / 132.0, 1.0 / 240.0, -1.0 / 252.0, 1.0 / 120.0, -1.0 / 12.0, 0.0]
_SHIFT = 6


@rewrite_rule("Digamma", error_bound="2e-6 abs for x > 0; 1e-5 relative to |psi| elsewhere",
              limits="NaN at non-positive integers, like TF")
def digamma(node: NodeView, x):
    """Shift x by 6 with the recurrence, asymptotic series there; reflection for x < 0."""
    _float_only(node)
    compute = tf.cast(x, tf.float32)
    negative = compute < 0.0
    z = tf.where(negative, 1.0 - compute, compute)
    shifted = z + _SHIFT
    inverse_square = 1.0 / (shifted * shifted)
    psi = tf.math.log(shifted) - 0.5 / shifted + polyval(_DIGAMMA_ASYMPTOTIC, inverse_square)
    for k in range(_SHIFT):
        psi = psi - 1.0 / (z + k)
    reflected = psi - math.pi * tf.cos(math.pi * compute) / tf.sin(math.pi * compute)
    result = tf.where(negative, reflected, psi)
    pole = tf.logical_and(compute <= 0.0, tf.equal(compute, tf.floor(compute)))
    return tf.cast(tf.where(pole, tf.fill(tf.shape(compute), float("nan")), result), x.dtype)


# --- cases ---------------------------------------------------------------------------------------

_elementwise_case("BesselI0e", tf.math.bessel_i0e, -30, 30, atol=1e-7, rtol=5e-7, edges=(0, 3.75, -3.75, 1e4, -1e4, _INF, _NAN))
_elementwise_case("BesselI1e", tf.math.bessel_i1e, -30, 30, atol=1e-7, rtol=5e-7, edges=(0, 3.75, -3.75, 1e-8, 1e4, -1e4, _NAN))
_elementwise_case("BesselI0", tf.math.bessel_i0, -20, 20, atol=1e-6, rtol=2e-6, edges=(0, 3.75, -3.75, 80, _NAN))
_elementwise_case("BesselI1", tf.math.bessel_i1, -20, 20, atol=1e-6, rtol=2e-6, edges=(0, 3.75, -3.75, 80, -80, _NAN))
for _op, _fn in (("BesselK0e", tf.math.special.bessel_k0e), ("BesselK1e", tf.math.special.bessel_k1e),
                 ("BesselK0", tf.math.special.bessel_k0), ("BesselK1", tf.math.special.bessel_k1)):
    _elementwise_case(_op, _fn, 0.01, 30, atol=1e-7, rtol=2e-6, edges=(0.0, 1e-6, 2.0, 1.999, 2.001, 50.0, -1.0, _NAN))


def _gamma_inputs(rng):
    a = rng.uniform(0.05, 100.0, _SHAPE).astype("float32")
    return [a, (a * rng.uniform(0.0, 2.0, _SHAPE)).astype("float32")]


def _gamma_edges():
    import numpy as np

    a = np.resize(np.array([0.5, 1.0, 3.0, 30.0, 100.0, 1.0, 0.0, -1.0, 2.0, _NAN], np.float32), _SHAPE)
    x = np.resize(np.array([0.0, 1e-8, 4.0, 31.0, 99.0, 200.0, 1.0, 1.0, -1.0, 1.0], np.float32), _SHAPE)
    return [[a, x]]


def _against_float64(function, rtol: float = 0.0):
    """Compare with TF's float64 kernel (its float32 Igamma is itself off by up to 1.4e-5 for large a).

    The returned error is max(|got - exact| - rtol |exact|), saturated infinities counting as equal.
    """

    def compare(want, got, inputs):
        import numpy as np

        from ..verification.metrics import infinities_match

        exact = function(*[tf.constant(np.asarray(i, np.float64)) for i in inputs]).numpy()
        (actual,) = got.values()
        actual = np.asarray(actual, np.float64)
        with np.errstate(invalid="ignore"):
            error = np.abs(actual - exact) - rtol * np.abs(exact)
        error = np.where(infinities_match(exact, actual) | (exact == actual), 0.0, error)
        error = np.where(np.isnan(exact) & np.isnan(actual), 0.0, np.where(np.isnan(error), np.inf, error))
        return float(error.max())

    return compare


for _op, _fn in (("Igamma", tf.math.igamma), ("Igammac", tf.math.igammac)):
    register_case(RewriteCase(
        name=_op.lower(), op_type=_op, function=_fn,
        input_specs=[tf.TensorSpec(_SHAPE, tf.float32), tf.TensorSpec(_SHAPE, tf.float32)],
        make_inputs=_gamma_inputs, atol=2e-6, rtol=0.0, edge_inputs=_gamma_edges(), compare=_against_float64(_fn),
    ))

def _zeta_inputs(rng):
    return [rng.uniform(1.05, 12.0, _SHAPE).astype("float32"), rng.uniform(0.05, 20.0, _SHAPE).astype("float32")]


def _zeta_edges():
    import numpy as np

    s_values = np.resize(np.array([1.0, 0.5, 2.0, 2.0, 3.0, 30.0, 1.5, _NAN], np.float32), _SHAPE)
    q_values = np.resize(np.array([1.0, 1.0, 0.0, -1.0, 1e-3, 2.0, 1e4, 1.0], np.float32), _SHAPE)
    return [[s_values, q_values]]


def _polygamma_inputs(rng):
    return [rng.integers(0, 5, _SHAPE).astype("float32"), rng.uniform(0.05, 20.0, _SHAPE).astype("float32")]


def _polygamma_edges():
    import numpy as np

    n_values = np.resize(np.array([0.0, 1.0, 2.0, 1.5, -1.0, 3.0, 1.0, _NAN], np.float32), _SHAPE)
    x_values = np.resize(np.array([1.0, 1.0, 0.5, 1.0, 1.0, 1e3, 1e-3, 1.0], np.float32), _SHAPE)
    return [[n_values, x_values]]


for _op, _fn, _make, _edges in (("Zeta", tf.math.zeta, _zeta_inputs, _zeta_edges()),
                                ("Polygamma", tf.math.polygamma, _polygamma_inputs, _polygamma_edges())):
    register_case(RewriteCase(
        name=_op.lower(), op_type=_op, function=_fn,
        input_specs=[tf.TensorSpec(_SHAPE, tf.float32), tf.TensorSpec(_SHAPE, tf.float32)],
        make_inputs=_make, atol=3e-6 if _op == "Polygamma" else 1e-7, rtol=2e-6, edge_inputs=_edges,
        compare=_against_float64(_fn, rtol=2e-6),
    ))

_elementwise_case("Digamma", tf.math.digamma, 0.05, 30, atol=3e-6, rtol=2e-6, edges=(1, 2, 0.5, 1.4616321, 1e-3, 1e6, _NAN))
