"""Shared helpers for the benchmarks: machine description and interleaved timing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional


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


# --- the contract between each bench_*.py and run_all.py ---------------------------------------

@dataclass
class Figure:
    """One headline figure of a benchmark, for the summary table: a ratio, with its target if it has one."""

    benchmark: str  # e.g. "verification throughput"
    measure: str  # what was measured, e.g. "verify() vs raw LiteRT invoke loop, digits CNN, 1,000 samples"
    value: str  # e.g. "0.93x"
    target: str = ""  # e.g. ">= 0.8x"; empty when the figure has no target
    met: Optional[bool] = None


def publish(figures: List[Figure]) -> None:
    """Hand the headline figures to ``run_all.py`` (a JSON file it names in TFF_BENCHMARK_FIGURES); no-op otherwise.

    Each benchmark prints its full Markdown section to stdout; ``run_all.py`` collects that text
    into RESULTS.md and these figures into the summary tables.
    """
    path = os.environ.get("TFF_BENCHMARK_FIGURES")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([asdict(figure) for figure in figures], handle, indent=1)
