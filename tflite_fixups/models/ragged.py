"""Samples for functions with ``tf.RaggedTensor`` inputs, which load as flat components.

A ragged input ``x`` becomes the inputs ``x/values`` and ``x/row_splits`` (and
``x/row_splits_<k>`` for deeper ragged ranks), as the TFLite converter flattens
it. A sample may give ``x`` as a ``tf.RaggedTensor``; it is split the same way.
Random samples get row splits that describe a valid ragged tensor.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from .._quiet import import_tensorflow
from .specs import InputSpec

VALUES = "/values"
ROW_SPLITS = "/row_splits"
#: Random ragged samples hold this many values.
RANDOM_VALUES = 8


def ragged_inputs(specs: Sequence[InputSpec]) -> Dict[str, List[str]]:
    """``{ragged input name: [component input names, values first]}`` for the ragged inputs among ``specs``."""
    names = [s.name for s in specs]
    found: Dict[str, List[str]] = {}
    for name in names:
        if name.endswith(VALUES) and f"{name[: -len(VALUES)]}{ROW_SPLITS}" in names:
            base = name[: -len(VALUES)]
            splits = [n for n in names if n == base + ROW_SPLITS or n.startswith(base + ROW_SPLITS + "_")]
            found[base] = [name] + sorted(splits, key=lambda n: (len(n), n))
    return found


def split_ragged_samples(specs: Sequence[InputSpec], sample_inputs: Any) -> Any:
    """``sample_inputs`` with each ``tf.RaggedTensor`` given for a ragged input split into its components.

    Takes one sample (a RaggedTensor for a model whose only input is ragged, or a
    dict by name) or a list/tuple of them; anything else is returned unchanged.
    """
    ragged = ragged_inputs(specs)
    if not ragged:
        return sample_inputs
    tf = import_tensorflow()
    if isinstance(sample_inputs, tf.RaggedTensor) and len(ragged) == 1 and len(specs) == len(next(iter(ragged.values()))):
        return _components(next(iter(ragged.values())), sample_inputs)
    if isinstance(sample_inputs, Mapping):
        if not any(isinstance(v, tf.RaggedTensor) for v in sample_inputs.values()):
            return sample_inputs
        split: Dict[str, Any] = {}
        for name, value in sample_inputs.items():
            if isinstance(value, tf.RaggedTensor) and name in ragged:
                split.update(_components(ragged[name], value))
            else:
                split[name] = value
        return split
    if isinstance(sample_inputs, (list, tuple)) and any(
            isinstance(item, (Mapping, tf.RaggedTensor)) for item in sample_inputs):
        return [split_ragged_samples(specs, item) for item in sample_inputs]
    return sample_inputs


def _components(names: List[str], value: Any) -> Dict[str, np.ndarray]:
    splits = list(value.nested_row_splits)
    arrays = [np.asarray(value.flat_values)] + [np.asarray(s) for s in splits]
    return dict(zip(names, arrays))


def with_valid_row_splits(specs: Sequence[InputSpec], samples: List[Dict[str, np.ndarray]], seed: int = 0) -> List[Dict[str, np.ndarray]]:
    """Random samples whose row splits describe a valid ragged tensor over their values.

    Random integers are no row splits (they must start at 0, never decrease and
    end at the number of values), and a model fed invalid ones fails or, in
    TFLite, reads out of bounds. Rows are given random lengths instead; the
    number of rows is kept different from the number of values plus one, so the
    verifier never mistakes the components for one batch axis and concatenates samples.
    """
    ragged = ragged_inputs(specs)
    if not ragged:
        return samples
    rng = np.random.default_rng(seed)
    dtypes = {s.name: s.dtype for s in specs}
    for sample in samples:
        for names in ragged.values():
            values = np.asarray(sample[names[0]])
            if values.ndim and values.shape[0] < RANDOM_VALUES:  # a dynamic "batch" axis drawn as 1: too few
                shape = (RANDOM_VALUES,) + values.shape[1:]
                values = (rng.standard_normal(shape) if np.issubdtype(values.dtype, np.floating)
                          else rng.integers(0, 2, size=shape)).astype(values.dtype)
                sample[names[0]] = values
            length = int(values.shape[0]) if values.ndim else 1
            for name in reversed(names[1:]):  # innermost splits first: they end at the number of values
                rows = max(1, length // 2)
                if rows + 1 == int(values.shape[0]):
                    rows += 1
                cuts = np.sort(rng.integers(0, length + 1, size=rows - 1))
                sample[name] = np.concatenate([[0], cuts, [length]]).astype(dtypes[name])
                length = rows
    return samples
