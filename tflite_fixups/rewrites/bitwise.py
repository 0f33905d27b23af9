"""Bitwise ops on integers, from the bitwise builtins TFLite has (BITWISE_XOR, RIGHT_SHIFT) and exact int32 arithmetic.

TF 2.21's converter lowers BitwiseXor and RightShift to builtins but rejects
BitwiseAnd, BitwiseOr, LeftShift, Invert and PopulationCount. The rules below
rebuild those with identities that never overflow int32, so they are exact
on the full range of every supported type, negative values (two's
complement) included:

* ``a + b = (a ^ b) + 2 (a & b)`` gives AND, applied to 16-bit halves so the
  sum cannot overflow; ``a | b = (a ^ b) + (a & b)`` (disjoint bits, no carry).
* ``x << s`` keeps the low ``31 - s`` bits of ``x`` (a floor-mod), scales them
  by ``2^s`` and puts bit ``31 - s`` into the sign.
* ``~x = x ^ all-ones``; population counts add a 256-entry table per byte.

int8, int16 and uint8 are widened to int32 and narrowed back (exactly);
other integer types are declined.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from .._quiet import import_tensorflow
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

_WIDTHS = {tf.int8: 8, tf.int16: 16, tf.int32: 32, tf.uint8: 8}  # bit widths of the rewritten types
_HALF = 1 << 16
_INT32_MIN = -(1 << 31)
_BYTE_POPCOUNTS = np.array([bin(value).count("1") for value in range(256)], dtype=np.int32)


def _width(node: NodeView) -> int:
    """Bit width of the node's integer type, or decline."""
    dtype = node.input_dtypes[0]
    if dtype not in _WIDTHS:
        node.decline(f"{node.op_type} on {dtype.name} is not rewritten (int8, int16, int32 and uint8 are)")
    return _WIDTHS[dtype]


def _widen(x):
    """``x`` as int32 (sign- or zero-extended, exactly)."""
    return tf.cast(x, tf.int32)


def _power_of_two(exponent):
    """2^exponent for int32 exponents in [0, 30], by shifting 2^30 right."""
    return tf.bitwise.right_shift(tf.constant(1 << 30, tf.int32), 30 - exponent)


def _halves(x) -> Tuple:
    """(high, low) with x = high * 2^16 + low, high in [-2^15, 2^15) and low in [0, 2^16)."""
    high = tf.bitwise.right_shift(x, 16)
    return high, x - high * _HALF


def _and_without_overflow(a, b):
    """a & b for int32 values whose sum fits in int32: (a + b - (a ^ b)) / 2, an exact halving."""
    return tf.bitwise.right_shift(a + b - tf.bitwise.bitwise_xor(a, b), 1)


def _and32(a, b):
    """a & b for any int32 values (broadcasting), half by half."""
    a_high, a_low = _halves(a)
    b_high, b_low = _halves(b)
    return _and_without_overflow(a_high, b_high) * _HALF + _and_without_overflow(a_low, b_low)


@rewrite_rule("BitwiseAnd", error_bound="exact", limits="int8, int16, int32, uint8")
def bitwise_and(node: NodeView, a, b):
    """a & b from a + b = (a ^ b) + 2 (a & b), on 16-bit halves (no int32 overflow)."""
    _width(node)
    return tf.cast(_and32(_widen(a), _widen(b)), a.dtype)


@rewrite_rule("BitwiseOr", error_bound="exact", limits="int8, int16, int32, uint8")
def bitwise_or(node: NodeView, a, b):
    """a | b = (a ^ b) + (a & b): the two have no bit in common, so the sum has no carry."""
    _width(node)
    wide_a, wide_b = _widen(a), _widen(b)
    return tf.cast(tf.bitwise.bitwise_xor(wide_a, wide_b) + _and32(wide_a, wide_b), a.dtype)


@rewrite_rule("Invert", error_bound="exact", limits="int8, int16, int32, uint8")
def invert(node: NodeView, x):
    """~x = x ^ all-ones, in the input's own type (BITWISE_XOR supports all four)."""
    bits = _width(node)
    all_ones = (1 << bits) - 1 if x.dtype.is_unsigned else -1
    return tf.bitwise.bitwise_xor(x, tf.constant(all_ones, x.dtype))


def _wrap(value, bits: int, signed: bool):
    """``value`` reduced modulo 2^bits into the range of a ``bits``-wide (un)signed integer."""
    modulus = 1 << bits
    if not signed:
        return tf.math.floormod(value, modulus)
    offset = modulus // 2
    return tf.math.floormod(value + offset, modulus) - offset


def _left_shift32(x, shift):
    """x << shift (mod 2^32) for int32 x and shift in [0, 31], with no intermediate overflow.

    The low 31 - shift bits of x, times 2^shift, stay below 2^31; bit
    31 - shift of x becomes the sign bit (-2^31); a zero shift is x itself.
    """
    sign_source = 31 - shift
    sign_bit = tf.math.floormod(tf.bitwise.right_shift(x, sign_source), 2)
    low_bits = tf.math.floormod(x, _power_of_two(tf.minimum(sign_source, 30)))
    shifted = low_bits * _power_of_two(tf.minimum(shift, 30)) + sign_bit * _INT32_MIN
    return tf.where(tf.equal(shift, 0), x, shifted)


@rewrite_rule("LeftShift", error_bound="exact", limits="int8, int16, int32, uint8")
def left_shift(node: NodeView, x, y):
    """x << y wrapping like TF, with y clamped to [0, bits - 1] as TF's kernel does.

    int32: the kept low bits times 2^y plus the bit shifted into the sign.
    Narrower types: the widened product x * 2^y (below 2^30) reduced modulo
    2^bits into the type's range.
    """
    bits = _width(node)
    value = _widen(x)
    shift = tf.clip_by_value(_widen(y), 0, bits - 1)
    if bits == 32:
        return _left_shift32(value, shift)
    return tf.cast(_wrap(value * _power_of_two(shift), bits, not x.dtype.is_unsigned), x.dtype)


@rewrite_rule("PopulationCount", error_bound="exact", limits="int8, int16, int32, uint8")
def population_count(node: NodeView, x):
    """Set bits of the two's-complement pattern: a 256-entry table looked up per byte, summed, as uint8."""
    bits = _width(node)
    value = _widen(x)
    table = tf.constant(_BYTE_POPCOUNTS)
    total = tf.gather(table, tf.math.floormod(value, 256))
    for byte in range(1, bits // 8):
        total = total + tf.gather(table, tf.math.floormod(tf.bitwise.right_shift(value, 8 * byte), 256))
    return tf.cast(total, tf.uint8)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

from .cases import RewriteCase, register_case  # noqa: E402

_SHAPE = (4, 64)
_LIMITS = {tf.int8: (-128, 127), tf.int16: (-32768, 32767), tf.int32: (-(1 << 31), (1 << 31) - 1), tf.uint8: (0, 255)}


def _full_range(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Uniform integers over the whole range of ``dtype``."""
    low, high = _LIMITS[dtype]
    return rng.integers(low, high, shape, endpoint=True).astype(dtype.as_numpy_dtype)


def _extremes(shape, dtype) -> np.ndarray:
    """The range ends, 0, +-1 and a few neighbours, repeated to fill ``shape``."""
    low, high = _LIMITS[dtype]
    values = sorted({low, low + 1, low // 2, max(low, -2), max(low, -1), 0, 1, 2, high // 2, high - 1, high})
    return np.resize(np.array(values, dtype=np.int64), int(np.prod(shape))).reshape(shape).astype(dtype.as_numpy_dtype)


def _extreme_pairs(shape, dtype) -> Tuple[np.ndarray, np.ndarray]:
    """Every pair of :func:`_extremes` values (11 x 11 of them), repeated to fill ``shape``."""
    values = np.unique(_extremes((11,), dtype))
    first, second = np.repeat(values, len(values)), np.tile(values, len(values))
    return np.resize(first, shape), np.resize(second, shape)


def _binary_case(name: str, op_type: str, function, dtype, other_shape=_SHAPE):
    if other_shape == _SHAPE:
        edge = list(_extreme_pairs(_SHAPE, dtype))
    else:
        edge = [_extremes(_SHAPE, dtype), _extremes(other_shape, dtype)[..., ::-1]]
    register_case(RewriteCase(
        name=name, op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(_SHAPE, dtype), tf.TensorSpec(other_shape, dtype)],
        make_inputs=lambda rng: [_full_range(rng, _SHAPE, dtype), _full_range(rng, other_shape, dtype)],
        atol=0.0, rtol=0.0, edge_inputs=[edge],
    ))


def _unary_case(name: str, op_type: str, function, dtype):
    register_case(RewriteCase(
        name=name, op_type=op_type, function=function, input_specs=[tf.TensorSpec(_SHAPE, dtype)],
        make_inputs=lambda rng: [_full_range(rng, _SHAPE, dtype)], atol=0.0, rtol=0.0,
        edge_inputs=[[_extremes(_SHAPE, dtype)]],
    ))


def _shift_case(name: str, dtype):
    bits = 8 * dtype.size

    def make_inputs(rng):
        return [_full_range(rng, _SHAPE, dtype), rng.integers(0 if dtype.is_unsigned else -2, bits + 3, _SHAPE)
                .astype(dtype.as_numpy_dtype)]

    shifts = np.resize(np.arange(0, bits + 2), int(np.prod(_SHAPE))).reshape(_SHAPE).astype(dtype.as_numpy_dtype)
    register_case(RewriteCase(
        name=name, op_type="LeftShift", function=tf.bitwise.left_shift,
        input_specs=[tf.TensorSpec(_SHAPE, dtype), tf.TensorSpec(_SHAPE, dtype)], make_inputs=make_inputs,
        atol=0.0, rtol=0.0, edge_inputs=[[_extremes(_SHAPE, dtype), shifts], [np.full(_SHAPE, -1, np.int64)
                                         .astype(dtype.as_numpy_dtype), shifts]],
    ))


_binary_case("bitwise_and_int32", "BitwiseAnd", tf.bitwise.bitwise_and, tf.int32)
_binary_case("bitwise_and_int32_broadcast", "BitwiseAnd", tf.bitwise.bitwise_and, tf.int32, other_shape=(1, 64))
_binary_case("bitwise_and_uint8", "BitwiseAnd", tf.bitwise.bitwise_and, tf.uint8)
_binary_case("bitwise_or_int32", "BitwiseOr", tf.bitwise.bitwise_or, tf.int32)
_binary_case("bitwise_or_int8", "BitwiseOr", tf.bitwise.bitwise_or, tf.int8)
_binary_case("bitwise_or_int16", "BitwiseOr", tf.bitwise.bitwise_or, tf.int16)
_shift_case("bitwise_left_shift_int32", tf.int32)
_shift_case("bitwise_left_shift_int8", tf.int8)
_shift_case("bitwise_left_shift_uint8", tf.uint8)
_shift_case("bitwise_left_shift_int16", tf.int16)
_unary_case("bitwise_invert_int32", "Invert", tf.bitwise.invert, tf.int32)
_unary_case("bitwise_invert_uint8", "Invert", tf.bitwise.invert, tf.uint8)
_unary_case("bitwise_popcount_int32", "PopulationCount", lambda x: tf.raw_ops.PopulationCount(x=x), tf.int32)
_unary_case("bitwise_popcount_int16", "PopulationCount", lambda x: tf.raw_ops.PopulationCount(x=x), tf.int16)
_unary_case("bitwise_popcount_uint8", "PopulationCount", lambda x: tf.raw_ops.PopulationCount(x=x), tf.uint8)
