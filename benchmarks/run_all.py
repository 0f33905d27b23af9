"""Run every benchmark in one go and write benchmarks/RESULTS.md and the README's summary table.

    python benchmarks/run_all.py                                 # all of them: about 6 minutes on 2 cores
    python benchmarks/run_all.py --only overhead,pinning         # a partial run: report on stdout
    python benchmarks/run_all.py --skip rewrites --output /tmp/partial.md

Each ``bench_*.py`` beside this file runs in its own subprocess (``sys.executable``), one after
the other, in a fixed order: overhead, rewrites, pass_conversion, pinning, quantization,
throughput, then any other bench in name order. A bench prints its Markdown section to stdout
and hands its headline figures over through ``_common.publish`` (a JSON file named in
``TFF_BENCHMARK_FIGURES``). Progress goes to stderr, one line per bench.

Only a full run (no ``--only``, no ``--skip``, no ``--output``) writes ``benchmarks/RESULTS.md``
and rewrites the README block between ``<!-- benchmark-summary:start -->`` and
``<!-- benchmark-summary:end -->``, so every figure there comes from one run on one machine.
A partial run writes the same report to ``--output`` (stdout without it) and touches nothing else.

A bench that exits non-zero is recorded in the report with the tail of its stderr, the others
still run, and this script exits 1.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR.parent / "README.md"
RESULTS = BENCH_DIR / "RESULTS.md"
ORDER = ("overhead", "rewrites", "pass_conversion", "pinning", "quantization", "throughput")
SUMMARY_START, SUMMARY_END = "<!-- benchmark-summary:start -->", "<!-- benchmark-summary:end -->"
FIGURES_ENV = "TFF_BENCHMARK_FIGURES"
STDERR_TAIL_LINES = 30
SUMMARY_COLUMNS = ("benchmark", "measured", "value", "target", "met")


@dataclass
class Bench:
    """One ``bench_<name>.py`` script."""

    name: str
    path: Path

    @property
    def heading(self) -> str:
        """First line of the module docstring, without its full stop (the script's name if it has none)."""
        docstring = ast.get_docstring(ast.parse(self.path.read_text(encoding="utf-8"))) or ""
        first_line = docstring.strip().splitlines()[0] if docstring.strip() else self.path.name
        return first_line.rstrip(".")

    def rerun_command(self) -> str:
        return f"python benchmarks/{self.path.name}"


@dataclass
class BenchRun:
    """What one bench printed, published and took."""

    bench: Bench
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    figures: List[Dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        return "\n".join(self.stderr.rstrip().splitlines()[-lines:])


def discover(bench_dir: Path) -> List[Bench]:
    """Every ``bench_*.py`` in ``bench_dir``: the known ones in ORDER, then the others by name."""
    found = {path.stem[len("bench_"):]: path for path in sorted(bench_dir.glob("bench_*.py"))}
    known = [name for name in ORDER if name in found]
    others = [name for name in found if name not in ORDER]
    return [Bench(name, found[name]) for name in known + others]


def select(benches: List[Bench], only: Sequence[str], skip: Sequence[str]) -> List[Bench]:
    """The benches named in ``only`` (all when empty) less those in ``skip``; unknown names raise ValueError."""
    names = {bench.name for bench in benches}
    unknown = sorted((set(only) | set(skip)) - names)
    if unknown:
        raise ValueError(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(sorted(names))})")
    return [b for b in benches if (not only or b.name in only) and b.name not in skip]


def run_bench(bench: Bench, python: str, figures_dir: Path) -> BenchRun:
    """Run one bench in a subprocess, its stdout and stderr captured, and collect the figures it published."""
    figures_path = figures_dir / f"{bench.name}.json"
    env = dict(os.environ, **{FIGURES_ENV: str(figures_path)})
    start = time.perf_counter()
    completed = subprocess.run([python, str(bench.path)], cwd=bench.path.parent.parent, env=env,
                               capture_output=True, text=True)
    seconds = time.perf_counter() - start
    figures = read_figures(figures_path)
    return BenchRun(bench, seconds, completed.returncode, completed.stdout, completed.stderr, figures)


def read_figures(path: Path) -> List[Dict[str, object]]:
    """The figures a bench published; none when it wrote no file or an unreadable one."""
    try:
        figures = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return figures if isinstance(figures, list) else []


def run_benches(benches: List[Bench], python: str) -> List[BenchRun]:
    """Run the benches one at a time, with one progress line per bench on stderr."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="tff-benchmark-figures-") as figures_dir:
        for index, bench in enumerate(benches, 1):
            print(f"[{index}/{len(benches)}] {bench.name} ...", end="", file=sys.stderr, flush=True)
            run = run_bench(bench, python, Path(figures_dir))
            status = "ok" if run.ok else f"FAILED (exit {run.returncode})"
            print(f" {status}, {run.seconds:.0f} s", file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def describe_machine(python: str, bench_dir: Path) -> str:
    """``_common.machine()``, asked of a subprocess so this script never imports TensorFlow."""
    code = f"import sys; sys.path.insert(0, {str(bench_dir)!r}); from _common import machine; print(machine())"
    completed = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if completed.returncode != 0 or not completed.stdout.strip():
        last_error_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return f"unknown (_common.machine() failed: {last_error_line})"
    return completed.stdout.strip().splitlines()[-1]


def table_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def met_text(met: Optional[bool]) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def summary_rows(runs: List[BenchRun]) -> List[List[str]]:
    """One row per published figure; a failed bench, or one that published nothing, gets a row saying so."""
    rows = []
    for run in runs:
        for figure in run.figures:
            rows.append([figure["benchmark"], figure["measure"], figure["value"], figure.get("target") or "-",
                         met_text(figure.get("met"))])
        if not run.ok:
            rows.append([run.bench.name, f"did not finish: exit code {run.returncode} (see its section)", "FAILED",
                         "-", "NO"])
        elif not run.figures:
            rows.append([run.bench.name, "published no figures (see its section)", "-", "-", "-"])
    return rows


def markdown_table(columns: Sequence[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(table_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_block(runs: List[BenchRun], machine: str, date: str) -> str:
    """The summary, word for word the same in RESULTS.md and in the README block."""
    intro = f"Measured on {machine}, {date}, all in one run of `python benchmarks/run_all.py`."
    return intro + "\n\n" + markdown_table(SUMMARY_COLUMNS, summary_rows(runs))


def bench_section(run: BenchRun) -> str:
    """A bench's heading, how to rerun it alone, and its own Markdown (or why it failed)."""
    parts = [f'<a id="{run.bench.name}"></a>', "", f"## {run.bench.heading}", "",
             f"`{run.bench.rerun_command()}` ({run.seconds:.0f} s in this run)"]
    if not run.ok:
        parts += ["", f"**Failed: exit code {run.returncode}.** Last lines of its stderr:", "", "```text",
                  run.stderr_tail(), "```"]
    if run.stdout.strip():
        parts += ["", run.stdout.strip()]
    return "\n".join(parts)


def duration_text(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def results_markdown(runs: List[BenchRun], machine: str, date: str, command: str, total_seconds: float) -> str:
    """The whole report: where, when, how, the summary table, then every bench's section."""
    timings = ", ".join(f"{run.bench.name} {run.seconds:.0f} s" for run in runs)
    head = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run_all.py`; do not edit by hand. Every figure is a ratio "
        "(or a difference) of quantities measured in this one run.",
        "",
        f"- machine: {machine}",
        f"- date: {date}",
        f"- command: `{command}`",
        f"- total time: {duration_text(total_seconds)} ({timings})",
        "",
        "## Summary",
        "",
        summary_block(runs, machine, date),
    ]
    return "\n\n".join(["\n".join(head)] + [bench_section(run) for run in runs]) + "\n"


def replace_between_markers(text: str, block: str, start: str = SUMMARY_START, end: str = SUMMARY_END) -> str:
    """``text`` with everything between the two markers replaced by ``block``; raises ValueError without them."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} followed by one {end}")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{block.strip()}\n{end}{after}"


def summary_from_results(results_text: str) -> str:
    """The summary block as RESULTS.md holds it (between '## Summary' and the first bench section)."""
    summary = results_text.split("\n## Summary\n", 1)[1]
    return summary.split('\n<a id="', 1)[0].strip()


def summary_from_readme(readme_text: str) -> str:
    return readme_text.split(SUMMARY_START, 1)[1].split(SUMMARY_END, 1)[0].strip()


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bench names, e.g. overhead,pinning")
    parser.add_argument("--skip", default="", help="comma-separated bench names to leave out")
    parser.add_argument("--output", help="write the report here (a partial run's default: stdout)")
    return parser.parse_args(argv)


def names(text: str) -> List[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def command_line(argv: Sequence[str]) -> str:
    return shlex.join(["python", "benchmarks/run_all.py", *argv])


def write_report(report: str, runs: List[BenchRun], machine: str, date: str, *, full: bool, output: Optional[str],
                 readme: Path, results: Path) -> None:
    """A full run: RESULTS.md and the README block. A partial run: ``output``, or stdout."""
    if full:
        results.write_text(report, encoding="utf-8")
        readme.write_text(replace_between_markers(readme.read_text(encoding="utf-8"),
                                                  summary_block(runs, machine, date)), encoding="utf-8")
        print(f"wrote {results} and the summary in {readme}", file=sys.stderr)
    elif output:
        Path(output).write_text(report, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(report)


def main(argv: Optional[Sequence[str]] = None, *, bench_dir: Path = BENCH_DIR, readme: Path = README,
         results: Path = RESULTS, python: str = sys.executable) -> int:
    """Run the selected benches and write the report; 0 when every bench exited 0, else 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    full = not (args.only or args.skip or args.output)
    try:
        benches = select(discover(bench_dir), names(args.only), names(args.skip))
        if full:
            replace_between_markers(readme.read_text(encoding="utf-8"), "")  # fail before the run, not after it
    except ValueError as error:
        print(f"run_all: {error}", file=sys.stderr)
        return 2
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = describe_machine(python, bench_dir)
    start = time.perf_counter()
    runs = run_benches(benches, python)
    report = results_markdown(runs, machine, date, command_line(argv), time.perf_counter() - start)
    write_report(report, runs, machine, date, full=full, output=args.output, readme=readme, results=results)
    failed = [run.bench.name for run in runs if not run.ok]
    if failed:
        print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
