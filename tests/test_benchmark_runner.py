"""benchmarks/run_all.py: fake bench scripts in a temporary folder, and the README summary kept in sync with RESULTS.md.

Nothing here imports TensorFlow: the fake benches are a few lines of plain Python.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def load_run_all():
    spec = importlib.util.spec_from_file_location("run_all", BENCHMARKS / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


run_all = load_run_all()

PUBLISHING_BENCH = '''
"""Overhead of something, measured as a ratio.

More words that are not the heading.
"""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from _common import Figure, publish

print("| route | ratio |")
print("|---|---|")
print("| bare | 0.42x |")
publish([Figure("overhead", "ours / bare", "0.42x", "<= 1.2x", True),
         Figure("overhead", "ours | pipes / bare", "1.30x", "<= 1.2x", False)])
'''

FAILING_BENCH = '''
"""Pinning error, a bench that breaks half-way."""
import sys
print("machine: test")
print("half a table", flush=True)
print("Traceback (most recent call last):\\nRuntimeError: the converter fell over", file=sys.stderr)
sys.exit(3)
'''

SILENT_BENCH = '''
"""Throughput that publishes nothing."""
print("| samples/s |")
'''

README_TEXT = """# Project

Intro, untouched.

## Benchmarks

<!-- benchmark-summary:start -->
an old table
<!-- benchmark-summary:end -->

Text after the block, untouched.
"""


@pytest.fixture
def bench_dir(tmp_path):
    """A benchmarks folder: the real _common.py (machine() made cheap) and three fake benches."""
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    common = (BENCHMARKS / "_common.py").read_text()
    (folder / "_common.py").write_text(common + '\n\ndef machine() -> str:\n    return "test machine, 2 cores"\n')
    for name, source in (("overhead", PUBLISHING_BENCH), ("pinning", FAILING_BENCH), ("zz_extra", SILENT_BENCH)):
        (folder / f"bench_{name}.py").write_text(textwrap.dedent(source).lstrip())
    return folder


@pytest.fixture
def readme(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(README_TEXT)
    return path


def run(bench_dir, readme, argv):
    return run_all.main(argv, bench_dir=bench_dir, readme=readme, results=bench_dir / "RESULTS.md")


def test_discover_puts_the_known_benches_in_order_and_the_others_after_by_name(tmp_path):
    for name in ("zeta", "quantization", "throughput", "overhead", "alpha", "rewrites"):
        (tmp_path / f"bench_{name}.py").write_text('"""x"""\n')
    (tmp_path / "_common.py").write_text("")
    names = [bench.name for bench in run_all.discover(tmp_path)]
    assert names == ["overhead", "rewrites", "quantization", "throughput", "alpha", "zeta"]


def test_select_keeps_only_and_drops_skip_and_rejects_unknown_names(bench_dir):
    benches = run_all.discover(bench_dir)
    assert [b.name for b in run_all.select(benches, ["pinning", "overhead"], [])] == ["overhead", "pinning"]
    assert [b.name for b in run_all.select(benches, [], ["pinning"])] == ["overhead", "zz_extra"]
    with pytest.raises(ValueError, match="no such benchmark: nope"):
        run_all.select(benches, ["nope"], [])


def test_heading_is_the_first_docstring_line_without_its_full_stop(bench_dir):
    bench = run_all.discover(bench_dir)[0]
    assert bench.heading == "Overhead of something, measured as a ratio"
    assert bench.rerun_command() == "python benchmarks/bench_overhead.py"


def test_full_run_collects_figures_records_the_failure_and_exits_non_zero(bench_dir, readme, capsys):
    assert run(bench_dir, readme, []) == 1
    results = (bench_dir / "RESULTS.md").read_text()

    assert "- machine: test machine, 2 cores" in results
    assert re.search(r"- date: \d{4}-\d\d-\d\d \d\d:\d\d UTC", results)
    assert "- command: `python benchmarks/run_all.py`" in results
    assert "| overhead | ours / bare | 0.42x | <= 1.2x | yes |" in results
    assert "| overhead | ours \\| pipes / bare | 1.30x | <= 1.2x | NO |" in results
    assert "| pinning | did not finish: exit code 3 (see its section) | FAILED | - | NO |" in results
    assert "| zz_extra | published no figures (see its section) | - | - | - |" in results

    assert '<a id="overhead"></a>\n\n## Overhead of something, measured as a ratio\n' in results
    assert "`python benchmarks/bench_overhead.py`" in results and "| bare | 0.42x |" in results
    failed = results.split("## Pinning error, a bench that breaks half-way", 1)[1]
    assert "**Failed: exit code 3.**" in failed and "RuntimeError: the converter fell over" in failed
    assert "half a table" in failed
    assert results.index("## Overhead") < results.index("## Pinning") < results.index("## Throughput")

    progress = capsys.readouterr().err.splitlines()
    assert [line.split(" ...")[0] for line in progress[:3]] == ["[1/3] overhead", "[2/3] pinning", "[3/3] zz_extra"]
    assert re.fullmatch(r"\[2/3\] pinning \.\.\. FAILED \(exit 3\), \d+ s", progress[1])


def test_full_run_rewrites_only_the_readme_block_and_it_matches_results(bench_dir, readme):
    run(bench_dir, readme, [])
    text = readme.read_text()
    before, after = README_TEXT.split("an old table\n")
    assert text.startswith(before) and text.endswith(after)
    block = run_all.summary_from_readme(text)
    assert "an old table" not in text and "| overhead | ours / bare | 0.42x | <= 1.2x | yes |" in block
    assert block == run_all.summary_from_results((bench_dir / "RESULTS.md").read_text())


def test_partial_run_writes_only_its_output_file(bench_dir, readme, tmp_path):
    output = tmp_path / "partial.md"
    assert run(bench_dir, readme, ["--only", "overhead", "--output", str(output)]) == 0
    report = output.read_text()
    assert "- command: `python benchmarks/run_all.py --only overhead --output " in report
    assert "## Overhead of something" in report and "## Pinning" not in report
    assert readme.read_text() == README_TEXT
    assert not (bench_dir / "RESULTS.md").exists()


def test_partial_run_without_output_prints_the_report(bench_dir, readme, capsys):
    assert run(bench_dir, readme, ["--skip", "pinning,zz_extra"]) == 0
    assert "| overhead | ours / bare | 0.42x | <= 1.2x | yes |" in capsys.readouterr().out
    assert readme.read_text() == README_TEXT and not (bench_dir / "RESULTS.md").exists()


def test_unknown_names_and_a_readme_without_markers_stop_before_any_bench_runs(bench_dir, readme, capsys):
    assert run(bench_dir, readme, ["--only", "nope"]) == 2
    readme.write_text("# no markers here\n")
    assert run(bench_dir, readme, []) == 2
    assert "benchmark-summary:start" in capsys.readouterr().err
    assert not (bench_dir / "RESULTS.md").exists()


def test_replace_between_markers_changes_nothing_outside_them():
    text = "a\n<!-- benchmark-summary:start -->\nold\n<!-- benchmark-summary:end -->\nb\n"
    assert run_all.replace_between_markers(text, "| new |\n") == (
        "a\n<!-- benchmark-summary:start -->\n| new |\n<!-- benchmark-summary:end -->\nb\n")
    with pytest.raises(ValueError):
        run_all.replace_between_markers("a\n<!-- benchmark-summary:end -->\n", "x")


def test_an_unreadable_figures_file_counts_as_no_figures(tmp_path):
    garbage = tmp_path / "figures.json"
    garbage.write_text("{not json")
    assert run_all.read_figures(garbage) == [] and run_all.read_figures(tmp_path / "missing.json") == []


def test_every_bench_publishes_its_figures():
    for bench in run_all.discover(BENCHMARKS):
        assert "publish(" in bench.path.read_text(), f"{bench.path.name} publishes no figures for the summary"


# --- the committed results -------------------------------------------------------------------------

README = (ROOT / "README.md").read_text()
RESULTS = BENCHMARKS / "RESULTS.md"


def test_readme_summary_is_the_one_in_results_md():
    """`python benchmarks/run_all.py` writes both; rerun it rather than editing either by hand."""
    assert run_all.summary_from_readme(README) == run_all.summary_from_results(RESULTS.read_text())


def test_readme_links_into_results_md_name_existing_sections():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', RESULTS.read_text()))
    linked = set(re.findall(r"benchmarks/RESULTS\.md#([\w-]+)", README))
    assert linked and linked <= anchors, linked - anchors
