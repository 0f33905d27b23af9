"""Sorted segment reductions (tf.math.segment_*), from one constant GATHER and a reduction.

``SegmentSum``, ``SegmentMean``, ``SegmentMax``, ``SegmentMin`` and
``SegmentProd`` have ``max(segment_ids) + 1`` output rows, a number known only
from the values of ``segment_ids``; the rules therefore need ``segment_ids`` to
be a graph constant (non-constant ids are declined with a warning). From the
constant ids they build a constant (segments, longest segment) table of row
indices: one GATHER lays every segment out as a row of a padded tensor, and a
REDUCE_* along that row gives the result. Padding slots repeat the segment's
first row, so max/min need no fill value (no infinite constant, which the
converter would turn into +-FLT_MAX); sum/mean/prod replace them by 0 or 1.
Empty segments give 0 (1 for prod), as in TF.

The converter lowers ``SegmentSum`` to TFLite's SEGMENT_SUM, whose kernel
fails at run time when the ids skip a value (an empty segment) and which has
no float16 kernel: the rule leaves contiguous float32/int32 cases to it
(quietly) and rewrites the others.

UnsortedSegmentSum/Max/Min/Prod (and tf.math.unsorted_segment_mean/sqrt_n,
built from them) convert to TFLite builtins natively, so they have no rule;
SparseSegmentSum/Mean/SqrtN are rejected (flex) and are not covered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .._quiet import import_tensorflow
from .cases import RewriteCase, register_case
from .registry import NodeView, rewrite_rule

tf = import_tensorflow()

_MAX_ELEMENTS = 1 << 24  # the padded (segments, longest segment, ...) tensor: at most 16M entries
_FLOAT_TYPES = (tf.float32, tf.float16, tf.bfloat16)  # computed in float32 and cast back
_NATIVE_SEGMENT_SUM_TYPES = (tf.float32, tf.int32)


@dataclass(frozen=True)
class _Segments:
    """The layout of constant sorted segment ids.

    Attributes:
        rows: (segments, longest) int32 row index of every slot; padding slots
            repeat the segment's first row (row 0 for an empty segment).
        filled: (segments, longest) bool, True for the slots holding a real row.
        counts: (segments,) number of rows in each segment.
    """

    rows: np.ndarray
    filled: np.ndarray
    counts: np.ndarray

    @property
    def contiguous(self) -> bool:
        """Whether the ids start at 0 and never skip a value (no empty segment)."""
        return bool(np.all(self.counts > 0))


def _segments(node: NodeView) -> _Segments:
    """The layout of the node's constant ``segment_ids``, or decline (non-constant, unsorted, negative ids)."""
    ids = node.input_constants[1] if len(node.input_constants) > 1 else None
    if ids is None:
        node.decline(f"{node.op_type} needs constant segment_ids: the number of segments, max(segment_ids) + 1, "
                     "fixes the output shape (tf.math.unsorted_segment_* with a constant num_segments converts "
                     "natively)")
    ids = np.asarray(ids).reshape(-1).astype(np.int64)
    if ids.size == 0:
        node.decline(f"{node.op_type} with empty segment_ids is left to TensorFlow")
    if ids[0] < 0 or np.any(np.diff(ids) < 0):
        node.decline(f"segment_ids of {node.op_type} must be sorted and non-negative (TF raises an error)")
    data_rows = node.input_shapes[0][0] if node.input_shapes[0] else None
    if data_rows is not None and data_rows != ids.size:
        node.decline(f"{ids.size} segment_ids for {data_rows} data rows (TF raises an error)")
    counts = np.bincount(ids, minlength=int(ids[-1]) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slots = np.arange(max(int(counts.max()), 1))
    filled = slots[np.newaxis, :] < counts[:, np.newaxis]
    rows = np.where(filled, starts[:, np.newaxis] + slots[np.newaxis, :], starts[:, np.newaxis])
    rows = np.where(counts[:, np.newaxis] > 0, rows, 0)
    return _Segments(rows.astype(np.int32), filled, counts)


def _check_data(node: NodeView, segments: _Segments, dtypes) -> int:
    """Decline unsupported data dtypes, unknown ranks and too large padded tensors; the data's rank."""
    dtype = node.input_dtypes[0]
    if dtype not in dtypes:
        node.decline(f"{node.op_type} of {dtype.name} data is not rewritten ({', '.join(d.name for d in dtypes)} are)")
    shape = node.input_shapes[0]
    if shape is None:
        node.decline(f"{node.op_type} needs data of known rank (pin input shapes)")
    row_size = int(np.prod([d for d in shape[1:] if d is not None], dtype=np.int64))
    if segments.rows.size * row_size > _MAX_ELEMENTS:
        node.decline(f"the padded segment tensor would have {segments.rows.size * row_size} entries, more than "
                     f"the limit of {_MAX_ELEMENTS}")
    return len(shape)


def _per_segment(table: np.ndarray, rank: int):
    """A constant (segments[, longest]) table with ``rank - 1`` unit axes appended, to broadcast against
    the padded (segments, longest, ...) data or the (segments, ...) result of rank-``rank`` data."""
    return tf.constant(table.reshape(table.shape + (1,) * (rank - 1)))


def _segment_reduce(node: NodeView, data, dtypes, reduce: Callable, segments: Optional[_Segments] = None):
    """Gather the segments into a padded tensor and ``reduce(padded, segments, rank)`` in the compute dtype."""
    segments = segments or _segments(node)
    rank = _check_data(node, segments, dtypes)
    compute = tf.float32 if data.dtype in _FLOAT_TYPES else data.dtype
    padded = tf.gather(tf.cast(data, compute), tf.constant(segments.rows), axis=0)
    return tf.cast(reduce(padded, segments, rank), data.dtype)


def _masked_sum(padded, segments: _Segments, rank: int):
    """Per-segment sum over the real slots (padding is 0, not 0 * x, so inf/NaN stay in their segment)."""
    filled = _per_segment(segments.filled, rank)
    return tf.reduce_sum(tf.where(filled, padded, tf.zeros_like(padded)), axis=1)


def _extremum(padded, segments: _Segments, rank: int, reduce: Callable):
    """``reduce`` (max or min) over the slots; NaN if the segment holds a NaN; 0 for an empty segment."""
    result = reduce(padded, axis=1)
    if padded.dtype.is_floating:  # LiteRT's reductions may drop NaN: put it back explicitly
        has_nan = tf.reduce_any(tf.math.is_nan(padded), axis=1)
        result = tf.where(has_nan, tf.constant(float("nan"), padded.dtype), result)
    return tf.where(_per_segment(segments.counts > 0, rank), result, tf.zeros_like(result))


_SUM_BOUND = "float32 sum of L terms in another order than TF's: L * 2^-24 * sum|x| per segment (L = its length)"


@rewrite_rule("SegmentSum", error_bound=_SUM_BOUND,
              limits="constant sorted segment_ids; segments x longest segment x row size <= 2^24")
def segment_sum(node: NodeView, data, segment_ids):
    """Padded constant GATHER of each segment's rows, real slots summed (REDUCE_SUM); empty segments 0.

    Contiguous ids (no empty segment) with float32/int32 data are left to
    TFLite's SEGMENT_SUM (quiet decline); others are rewritten (float16 and
    bfloat16 computed in float32). Integer sums are exact (wrapping as TF's).
    """
    segments = _segments(node)
    if segments.contiguous and node.input_dtypes[0] in _NATIVE_SEGMENT_SUM_TYPES:
        node.decline("contiguous segment ids: TFLite's SEGMENT_SUM handles this SegmentSum", quiet=True)
    return _segment_reduce(node, data, _FLOAT_TYPES + (tf.int32,), _masked_sum, segments)


@rewrite_rule("SegmentMean", error_bound="(L + 1) * 2^-24 * mean|x| per segment (L = its length)",
              limits="constant sorted segment_ids, float data; segments x longest segment x row size <= 2^24")
def segment_mean(node: NodeView, data, segment_ids):
    """The SegmentSum rewrite divided by the constant segment lengths; empty segments give 0, as in TF."""

    def mean(padded, segments: _Segments, rank: int):
        lengths = _per_segment(np.maximum(segments.counts, 1).astype(np.float32), rank)
        return _masked_sum(padded, segments, rank) / lengths

    return _segment_reduce(node, data, _FLOAT_TYPES, mean)


@rewrite_rule("SegmentMax", error_bound="exact (a NaN in a segment gives NaN; TF's result then depends on layout)",
              limits="constant sorted segment_ids; segments x longest segment x row size <= 2^24")
def segment_max(node: NodeView, data, segment_ids):
    """REDUCE_MAX over each segment's rows laid out by a constant GATHER; empty segments give 0, as in TF.

    Padding slots repeat a row of the segment, so -inf segments stay -inf.
    NaN: a segment holding a NaN gives NaN here; TF's kernel returns NaN or
    the max of some of the other values depending on the NaN's position and
    the row width (its vectorized comparisons ignore NaN except in the last
    slot), so NaN inputs match TF only when TF propagates them.
    float32/float16/bfloat16 (computed in float32) and int32.
    """
    return _segment_reduce(node, data, _FLOAT_TYPES + (tf.int32,),
                           lambda padded, segments, rank: _extremum(padded, segments, rank, tf.reduce_max))


@rewrite_rule("SegmentMin", error_bound="exact (a NaN in a segment gives NaN; TF's result then depends on layout)",
              limits="constant sorted segment_ids; segments x longest segment x row size <= 2^24")
def segment_min(node: NodeView, data, segment_ids):
    """REDUCE_MIN over each segment's rows laid out by a constant GATHER; empty segments give 0, as in TF.

    Same NaN caveat as SegmentMax. float32/float16/bfloat16 and int32.
    """
    return _segment_reduce(node, data, _FLOAT_TYPES + (tf.int32,),
                           lambda padded, segments, rank: _extremum(padded, segments, rank, tf.reduce_min))


@rewrite_rule("SegmentProd", error_bound="L * 2^-24 relative (products in another order than TF's)",
              limits="constant sorted segment_ids, float data; segments x longest segment x row size <= 2^24")
def segment_prod(node: NodeView, data, segment_ids):
    """REDUCE_PROD over each segment's real slots (padding replaced by 1); empty segments give 1, as in TF.

    inf * 0 gives NaN and NaN propagates, as in TF. float32/float16/bfloat16
    (computed in float32).
    """

    def product(padded, segments: _Segments, rank: int):
        filled = _per_segment(segments.filled, rank)
        return tf.reduce_prod(tf.where(filled, padded, tf.ones_like(padded)), axis=1)

    return _segment_reduce(node, data, _FLOAT_TYPES, product)


# --- cases (data for the generic tests and the benchmarks) ----------------------------------------

_INF, _NAN = float("inf"), float("nan")
_GAPPED_IDS = [0, 0, 0, 2, 2, 3, 6, 6]  # segments 1, 4 and 5 are empty
_LONG_IDS = [1] * 5 + [2, 4, 4]  # segment 0 and 3 empty, a long segment


def _segment_case(name: str, op_type: str, reduce: Callable, ids, shape, dtype=tf.float32, *,
                  make=None, edges=(), atol: float = 1e-6, rtol: float = 1e-6, ids_dtype=np.int32) -> None:
    """Register case ``segment_<name>``: ``reduce(data, constant ids)`` on data of ``shape``."""
    constant_ids = np.asarray(ids, ids_dtype)
    register_case(RewriteCase(
        name=f"segment_{name}", op_type=op_type,
        function=lambda x: reduce(x, tf.constant(constant_ids)),
        input_specs=[tf.TensorSpec(shape, dtype)],
        make_inputs=make or (lambda rng: [rng.normal(size=shape).astype(dtype.as_numpy_dtype)]),
        atol=atol, rtol=rtol, edge_inputs=[list(edge) for edge in edges],
    ))


def _edge(shape, values) -> np.ndarray:
    """``values`` repeated to fill ``shape`` (float32)."""
    return np.resize(np.asarray(values, np.float32), int(np.prod(shape))).reshape(shape)


_SPECIAL = [0.0, -0.0, 1e30, -1e30, _INF, -_INF, 1e-30, 3.0]
_segment_case("sum_gapped_8x3", "SegmentSum", tf.math.segment_sum, _GAPPED_IDS, (8, 3),
              edges=[[_edge((8, 3), _SPECIAL + [_NAN])]])
_segment_case("sum_int64_ids_int32", "SegmentSum", tf.math.segment_sum, _LONG_IDS, (8, 2), tf.int32,
              make=lambda rng: [rng.integers(-1000, 1000, (8, 2)).astype(np.int32)], atol=0.0, rtol=0.0,
              ids_dtype=np.int64)
_segment_case("mean_gapped_8x2x3", "SegmentMean", tf.math.segment_mean, _GAPPED_IDS, (8, 2, 3),
              edges=[[_edge((8, 2, 3), _SPECIAL + [_NAN, 2.0])]])
_segment_case("max_gapped_8", "SegmentMax", tf.math.segment_max, _GAPPED_IDS, (8,),
              edges=[[_edge((8,), [-_INF, -_INF, 1.0, _INF, -1e30, 0.0, -3.0, -_INF])]])
_segment_case("max_long_8x4_int32", "SegmentMax", tf.math.segment_max, _LONG_IDS, (8, 4), tf.int32,
              make=lambda rng: [rng.integers(-2 ** 31, 2 ** 31 - 1, (8, 4)).astype(np.int32)], atol=0.0, rtol=0.0)
_segment_case("min_long_8x3", "SegmentMin", tf.math.segment_min, _LONG_IDS, (8, 3),
              edges=[[_edge((8, 3), _SPECIAL + [_INF, 2.0])]])
_segment_case("prod_gapped_8x3", "SegmentProd", tf.math.segment_prod, _GAPPED_IDS, (8, 3),
              make=lambda rng: [rng.uniform(-2.0, 2.0, (8, 3)).astype(np.float32)], atol=1e-6, rtol=1e-6,
              edges=[[_edge((8, 3), [0.0, _INF, 2.0, -1e30, 1e30, _NAN, 1e-30, -_INF, 3.0])]])
