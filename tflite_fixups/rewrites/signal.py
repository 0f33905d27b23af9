"""Signal processing: DFTs as matrix products, and complex values carried as (real, imag) pairs.

TFLite has only a few complex kernels (RFFT2D for power-of-two lengths, REAL,
IMAG, COMPLEX_ABS, MUL). These rules compute every FFT-family op as products
with constant cosine/sine matrices, and lower the complex arithmetic and
indexing around them (``tf.complex``, slicing, padding, products...) into
pairs of float tensors, so ``tf.signal.dct``/``idct``/``irfft``/``stft`` of
any length convert with builtin ops only.

Error bound of the DFT rules: a length-N transform as a float32 matrix
product is within about ``1e-6 * sqrt(N)`` of the exact result relative to
the input's largest magnitude; the catalogue tests hold them to 1e-5 of that
scale for N <= 1024 (the size limit: the matrices hold 2 N^2 floats).
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from .._quiet import import_tensorflow
from .cases import RewriteCase, register_case
from .registry import ComplexParts, NodeView, rewrite_rule

tf = import_tensorflow()

MAX_FFT_LENGTH = 1024
_FFT_ERROR = "1e-5 relative to max |input| (N <= 1024)"


def _complex_node(node: NodeView) -> bool:
    return any(d.is_complex for d in list(node.input_dtypes) + list(node.output_dtypes))


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _fft_lengths(node: NodeView, index: int, rank: int) -> List[int]:
    lengths = [int(v) for v in np.ravel(node.constant(index))]
    if len(lengths) != rank:
        node.decline(f"fft_length must hold {rank} values, got {lengths}")
    for n in lengths:
        if n < 1 or n > MAX_FFT_LENGTH:
            node.decline(f"fft_length {n} is outside 1..{MAX_FFT_LENGTH} (the DFT matrix grows as N^2)")
    return lengths


def _fit_length(x, axis: int, length: int):
    """Crop or zero-pad ``x`` along ``axis`` (negative) to ``length``, as TF's FFT ops do."""
    size = x.shape[axis]
    if size is None:
        raise ValueError("static length needed")
    if size > length:
        begin = [0] * x.shape.rank
        sizes = [-1] * x.shape.rank
        sizes[axis] = length
        return tf.slice(x, begin, sizes)
    if size < length:
        paddings = [[0, 0] for _ in range(x.shape.rank)]
        paddings[axis][1] = length - size
        return tf.pad(x, paddings)
    return x


def _twiddles(length: int, rows: int, columns: int):
    """(cos, sin) of 2 pi r c / length as float32 constants of shape (rows, columns)."""
    r = np.arange(rows)[:, None]
    c = np.arange(columns)[None, :]
    angle = 2.0 * np.pi * ((r * c) % length) / length  # reduce first: exact angles for large r c
    return tf.constant(np.cos(angle), tf.float32), tf.constant(np.sin(angle), tf.float32)


def _last_axis_dft(real, imag, length: int, inverse: bool):
    """Complex DFT along the last axis: sum_t x_t exp(-+ 2 pi i k t / N), unnormalised."""
    cos, sin = _twiddles(length, length, length)
    sign = 1.0 if inverse else -1.0
    out_real = tf.matmul(real, cos) - sign * tf.matmul(imag, sin)
    out_imag = tf.matmul(imag, cos) + sign * tf.matmul(real, sin)
    return out_real, out_imag


def _on_axis(function, axis: int, *tensors):
    """Apply a last-axis transform along ``axis`` by swapping it to the end and back."""
    rank = tensors[0].shape.rank
    axis = axis % rank
    if axis == rank - 1:
        return function(*tensors)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    results = function(*[tf.transpose(t, perm) for t in tensors])
    return tuple(tf.transpose(r, perm) for r in results)


# --- transforms ----------------------------------------------------------------------------------


def _rfft_last(x, length: int):
    columns = length // 2 + 1
    cos, sin = _twiddles(length, length, columns)
    x = _fit_length(x, -1, length)
    return tf.matmul(x, cos), -tf.matmul(x, sin)


def _irfft_last(real, imag, length: int):
    """Inverse real DFT from the first N//2 + 1 bins; imag of bins 0 and N/2 is ignored, as in TF."""
    bins = length // 2 + 1
    real, imag = _fit_length(real, -1, bins), _fit_length(imag, -1, bins)
    weights = np.full(bins, 2.0)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    cos, sin = _twiddles(length, bins, length)
    cos = cos * tf.constant(weights[:, None] / length, tf.float32)
    sin = sin * tf.constant(weights[:, None] / length, tf.float32)
    keep_imag = np.ones(bins, np.float32)
    keep_imag[0] = 0.0
    if length % 2 == 0:
        keep_imag[-1] = 0.0
    return tf.matmul(real, cos) - tf.matmul(imag * keep_imag, sin)


def _rfft_nd(node: NodeView, x, rank: int):
    lengths = _fft_lengths(node, 1, rank)
    if rank == 1 and _is_power_of_two(lengths[0]):
        node.decline("power-of-two RFFT runs on the builtin RFFT2D kernel", quiet=True)
    real, imag = _rfft_last(x, lengths[-1])
    for offset, length in enumerate(reversed(lengths[:-1]), start=2):
        real, imag = _fit_length(real, -offset, length), _fit_length(imag, -offset, length)
        real, imag = _on_axis(lambda r, i, n=length: _last_axis_dft(r, i, n, False), -offset, real, imag)
    return ComplexParts(real, imag)


@rewrite_rule("RFFT", error_bound=_FFT_ERROR, limits="constant fft_length <= 1024; power of two stays builtin",
              complex_parts=True)
def rfft(node: NodeView, x, fft_length):
    """Real DFT as two matmuls with constant cos/sin matrices (any length; TFLite's kernel needs 2^k)."""
    return _rfft_nd(node, x, 1)


def _not_all_powers_of_two(node: NodeView) -> bool:
    """TFLite's RFFT2D kernel handles power-of-two lengths; only the others need the rule."""
    lengths = node.input_constants[1] if len(node.input_constants) > 1 else None
    return lengths is None or not all(_is_power_of_two(int(n)) for n in np.ravel(lengths))


@rewrite_rule("RFFT2D", error_bound=_FFT_ERROR, limits="constant fft_length, each <= 1024", complex_parts=True,
              when=_not_all_powers_of_two)
def rfft2d(node: NodeView, x, fft_length):
    """Real DFT on the last axis, complex DFT on the one before (non-power-of-two lengths)."""
    return _rfft_nd(node, x, 2)


@rewrite_rule("RFFT3D", error_bound=_FFT_ERROR, limits="constant fft_length, each <= 1024", complex_parts=True)
def rfft3d(node: NodeView, x, fft_length):
    """Real DFT on the last axis, complex DFTs on the two before."""
    return _rfft_nd(node, x, 3)


def _irfft_nd(node: NodeView, parts: ComplexParts, rank: int):
    lengths = _fft_lengths(node, 1, rank)
    real, imag = parts.real, parts.imag
    for offset, length in enumerate(lengths[:-1], start=0):
        axis = -rank + offset
        real, imag = _fit_length(real, axis, length), _fit_length(imag, axis, length)
        real, imag = _on_axis(lambda r, i, n=length: _last_axis_dft(r, i, n, True), axis, real, imag)
        real, imag = real / length, imag / length
    return _irfft_last(real, imag, lengths[-1])


@rewrite_rule("IRFFT", error_bound=_FFT_ERROR, limits="constant fft_length <= 1024", complex_parts=True)
def irfft(node: NodeView, spectrum: ComplexParts, fft_length):
    """Inverse real DFT as matmuls with weighted cos/sin matrices."""
    return _irfft_nd(node, spectrum, 1)


@rewrite_rule("IRFFT2D", error_bound=_FFT_ERROR, limits="constant fft_length, each <= 1024", complex_parts=True)
def irfft2d(node: NodeView, spectrum: ComplexParts, fft_length):
    """Inverse complex DFT on the outer axis, inverse real DFT on the last."""
    return _irfft_nd(node, spectrum, 2)


@rewrite_rule("IRFFT3D", error_bound=_FFT_ERROR, limits="constant fft_length, each <= 1024", complex_parts=True)
def irfft3d(node: NodeView, spectrum: ComplexParts, fft_length):
    """Inverse complex DFTs on the outer axes, inverse real DFT on the last."""
    return _irfft_nd(node, spectrum, 3)


def _complex_fft(node: NodeView, parts: ComplexParts, rank: int, inverse: bool):
    shape = node.static_shape(0)
    real, imag = parts.real, parts.imag
    for axis in range(-rank, 0):
        length = shape[axis]
        if length > MAX_FFT_LENGTH:
            node.decline(f"length {length} > {MAX_FFT_LENGTH}")
        real, imag = _on_axis(lambda r, i, n=length: _last_axis_dft(r, i, n, inverse), axis, real, imag)
        if inverse:
            real, imag = real / length, imag / length
    return ComplexParts(real, imag)


for _name, _rank, _inverse in (("FFT", 1, False), ("FFT2D", 2, False), ("FFT3D", 3, False),
                               ("IFFT", 1, True), ("IFFT2D", 2, True), ("IFFT3D", 3, True)):
    rewrite_rule(_name, error_bound=_FFT_ERROR, limits="static length <= 1024", complex_parts=True,
                 name=_name.lower())(
        lambda node, x, rank=_rank, inverse=_inverse: _complex_fft(node, x, rank, inverse)
    )


# --- complex arithmetic and indexing ------------------------------------------------------------


@rewrite_rule("Complex", error_bound="exact", complex_parts=True)
def complex_from_parts(node: NodeView, real, imag):
    """tf.complex(re, im) becomes the pair itself (broadcast like TF)."""
    return ComplexParts(real + tf.zeros_like(imag), imag + tf.zeros_like(real))


def _needs_lowering(node: NodeView, natively: bool) -> None:
    """Decline quietly when no input is lowered and TFLite runs the complex op itself."""
    if natively and not any(node.lowered_inputs):
        node.decline(f"{node.op_type} on complex values runs natively here", quiet=True)


@rewrite_rule("Real", error_bound="exact", limits="after a lowered complex value", complex_parts=True)
def real_part(node: NodeView, z: ComplexParts):
    """The real part of a lowered value (REAL stays builtin otherwise)."""
    _needs_lowering(node, natively=True)
    return z.real


@rewrite_rule("Imag", error_bound="exact", limits="after a lowered complex value", complex_parts=True)
def imag_part(node: NodeView, z: ComplexParts):
    """The imaginary part of a lowered value (IMAG stays builtin otherwise)."""
    _needs_lowering(node, natively=True)
    return z.imag


@rewrite_rule("ComplexAbs", error_bound="1 ulp", limits="after a lowered complex value", complex_parts=True)
def complex_abs(node: NodeView, z: ComplexParts):
    """sqrt(re^2 + im^2) of a lowered value, scaled so neither square overflows."""
    _needs_lowering(node, natively=True)
    scale = tf.maximum(tf.abs(z.real), tf.abs(z.imag))
    safe = tf.where(scale > 0, scale, tf.ones_like(scale))
    return scale * tf.sqrt(tf.square(z.real / safe) + tf.square(z.imag / safe))


@rewrite_rule("Angle", error_bound="exact (ATAN2)", complex_parts=True)
def angle(node: NodeView, z: ComplexParts):
    """atan2(im, re)."""
    return tf.atan2(z.imag, z.real)


_COMPLEX_ONLY = "complex values only"


@rewrite_rule("Conj", error_bound="exact", limits=_COMPLEX_ONLY, complex_parts=True, when=_complex_node)
def conjugate(node: NodeView, z: ComplexParts):
    """(re, -im)."""
    return ComplexParts(z.real, -z.imag)


@rewrite_rule("Mul", error_bound="2 ulp", limits=_COMPLEX_ONLY, complex_parts=True, when=_complex_node)
def complex_multiply(node: NodeView, a: ComplexParts, b: ComplexParts):
    """(ac - bd, ad + bc) when an operand is lowered (MUL runs complex natively otherwise)."""
    _needs_lowering(node, natively=True)
    return ComplexParts(a.real * b.real - a.imag * b.imag, a.real * b.imag + a.imag * b.real)


@rewrite_rule("RealDiv", error_bound="4 ulp", limits=_COMPLEX_ONLY, complex_parts=True, when=_complex_node)
def complex_divide(node: NodeView, a: ComplexParts, b: ComplexParts):
    """(a b*) / |b|^2."""
    denominator = b.real * b.real + b.imag * b.imag
    return ComplexParts((a.real * b.real + a.imag * b.imag) / denominator,
                        (a.imag * b.real - a.real * b.imag) / denominator)


_RETYPED = {tf.complex64.as_datatype_enum: tf.float32.as_datatype_enum,
            tf.complex128.as_datatype_enum: tf.float64.as_datatype_enum}
# Ops that act on real and imaginary parts independently; TFLite rejects some of them for complex
# values outright, the others need lowering only when an input already is.
_NATIVELY_REJECTED = {"StridedSlice", "Pad", "PadV2", "Add", "AddV2", "Sub", "Neg", "AddN", "Tile", "ReverseV2"}
_PARTWISE = sorted(_NATIVELY_REJECTED | {"Slice", "Reshape", "Transpose", "ExpandDims", "Squeeze", "ConcatV2",
                                         "Identity", "GatherV2", "Pack", "MirrorPad"})


def _same_op(node: NodeView, inputs: Sequence) -> List:
    """Re-create ``node`` on float inputs: complex type attributes become their real counterparts."""
    attrs = {}
    for key, value in node.raw_attrs.items():
        copy = type(value)()
        copy.CopyFrom(value)
        if copy.HasField("type") and copy.type in _RETYPED:
            copy.type = _RETYPED[copy.type]
        if copy.HasField("list"):
            retyped = [_RETYPED.get(t, t) for t in copy.list.type]
            del copy.list.type[:]
            copy.list.type.extend(retyped)
        attrs[key] = copy
    graph = tf.compat.v1.get_default_graph()
    return list(graph._create_op_internal(node.op_type, list(inputs), attrs=attrs).outputs)  # no public way to clone an op


@rewrite_rule(_PARTWISE, error_bound="exact", limits=_COMPLEX_ONLY, complex_parts=True, when=_complex_node,
              name="partwise")
def partwise(node: NodeView, *inputs):
    """Apply the op to the real parts and to the imaginary parts separately."""
    _needs_lowering(node, natively=node.op_type not in _NATIVELY_REJECTED)
    reals = [x.real if isinstance(x, ComplexParts) else x for x in inputs]
    imags = [x.imag if isinstance(x, ComplexParts) else x for x in inputs]
    real_out, imag_out = _same_op(node, reals), _same_op(node, imags)
    return [ComplexParts(r, i) if dtype.is_complex else r
            for r, i, dtype in zip(real_out, imag_out, node.output_dtypes)]


# --- cases -----------------------------------------------------------------------------------------


def _signal(rng, shape):
    return [rng.standard_normal(shape).astype(np.float32)]


def _spectrum(rng, shape):
    return [(rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)]


def _case(name, op_type, function, shape, make=_signal, dtype=tf.float32, atol=1e-5, rtol=1e-5):
    register_case(RewriteCase(
        name=f"signal_{name}", op_type=op_type, function=function,
        input_specs=[tf.TensorSpec(shape, dtype)], make_inputs=lambda rng: make(rng, shape), atol=atol, rtol=rtol,
        target_dtype=tf.complex64 if op_type in _PARTWISE else None,
    ))


_case("rfft_12", "RFFT", lambda x: tf.abs(tf.signal.rfft(x)), (2, 12))
_case("rfft_padded_100", "RFFT", lambda x: tf.math.real(tf.signal.rfft(x, [100])), (1, 90), atol=3e-5)
_case("irfft_9bins", "IRFFT", lambda z: tf.signal.irfft(z), (2, 9), make=_spectrum, dtype=tf.complex64)
_case("irfft_odd_15", "IRFFT", lambda z: tf.signal.irfft(z, [15]), (1, 8), make=_spectrum, dtype=tf.complex64)
_case("roundtrip_irfft_rfft_16", "IRFFT", lambda x: tf.signal.irfft(tf.signal.rfft(x)), (2, 16))
_case("fft_10", "FFT", lambda x: tf.abs(tf.signal.fft(tf.complex(x, 2.0 * x))), (3, 10))
_case("ifft_8", "IFFT", lambda x: tf.math.imag(tf.signal.ifft(tf.complex(x, -x)) * 3.0), (2, 8))
_case("rfft2d_6x10", "RFFT2D", lambda x: tf.abs(tf.signal.rfft2d(x)), (1, 6, 10))
_case("irfft2d_8x8", "IRFFT2D", lambda x: tf.signal.irfft2d(tf.signal.rfft2d(x)), (1, 8, 8))
_case("dct2", "StridedSlice", lambda x: tf.signal.dct(x, type=2), (2, 16), atol=2e-5)
_case("dct2_ortho", "StridedSlice", lambda x: tf.signal.dct(x, type=2, norm="ortho"), (1, 13), atol=1e-5)
_case("idct", "IRFFT", lambda x: tf.signal.idct(x, type=2), (2, 16), atol=2e-5)
_case("dct3", "IRFFT", lambda x: tf.signal.dct(x, type=3), (1, 12), atol=2e-5)
_case("mfccs", "StridedSlice", lambda x: tf.signal.mfccs_from_log_mel_spectrograms(x), (1, 7, 13), atol=1e-5)
_case("stft_12", "RFFT", lambda x: tf.abs(tf.signal.stft(x, 12, 6, 12)), (1, 64), atol=3e-5)
_case("inverse_stft", "IRFFT", lambda x: tf.signal.inverse_stft(tf.signal.stft(x, 16, 8, 16), 16, 8, 16),
      (1, 64), atol=2e-5)
