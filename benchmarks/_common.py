"""Shared helpers for the benchmarks: machine description and interleaved timing."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable, Dict, List


def machine() -> str:
    import tensorflow as tf

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"TF {tf.__version__}"
    )


def interleaved_medians(candidates: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, float]:
    """Median wall time of each candidate, run in alternation so machine noise hits all alike."""
    times: Dict[str, List[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
