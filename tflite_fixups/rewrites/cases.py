"""Rewrite cases: small TF functions that exercise a rule, as data.

Each rule family registers cases next to its rules. One generic test runs
every case four ways (TF equivalence, op gone, builtin-only conversion,
LiteRT equivalence) and the benchmarks time them, so a new rule gets its
tests and its latency figure by declaring a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

Inputs = List[np.ndarray]


@dataclass(frozen=True)
class RewriteCase:
    """One use of a rejected op, with valid inputs and the tolerance the rule promises.

    Attributes:
        name: unique, e.g. ``"eigh_10x10"``.
        op_type: the TF op the case must contain before and must not contain after.
        function: Python function of tensors returning a tensor, a tuple or a dict.
        input_specs: static ``tf.TensorSpec`` per argument.
        make_inputs: random valid inputs from a ``np.random.Generator``.
        atol, rtol: outputs match when ``|got - want| <= atol + rtol * |want|``.
        edge_inputs: fixed inputs at the edges of the domain (0, +-large, NaN...).
        compare: custom check ``compare(want_outputs, got_outputs, inputs) -> max error``
            for outputs unique only up to sign/rotation (eigenvectors...); the case
            passes when the returned error is <= ``atol``.
        tags: e.g. ``{"elementwise"}`` (benchmarked against TANH).
        target_dtype: when set, only ``op_type`` nodes of this dtype (attribute ``T``)
            must be gone, e.g. complex StridedSlice while real ones stay.
    """

    name: str
    op_type: str
    function: Callable
    input_specs: Sequence
    make_inputs: Callable[[np.random.Generator], Inputs]
    atol: float = 1e-5
    rtol: float = 1e-5
    edge_inputs: Sequence[Inputs] = ()
    compare: Optional[Callable] = None
    tags: frozenset = field(default_factory=frozenset)
    target_dtype: Optional[object] = None


_CASES: Dict[str, RewriteCase] = {}


def register_case(case: RewriteCase) -> RewriteCase:
    if case.name in _CASES:
        raise ValueError(f"rewrite case '{case.name}' is registered twice")
    _CASES[case.name] = case
    return case


def all_cases() -> List[RewriteCase]:
    """Every registered case, in registration order."""
    return list(_CASES.values())
