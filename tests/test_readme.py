"""The README cannot rot: its example is the shipped quickstart, and every Python block runs."""

import pathlib
import re
import runpy

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
QUICKSTART = ROOT / "tflite_fixups" / "examples" / "quickstart.py"


def test_readme_example_is_the_quickstart_module():
    assert BLOCKS[0] == QUICKSTART.read_text()


def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(QUICKSTART))
    assert (tmp_path / "quickstart.tflite").exists()
    assert namespace["result"].ok
    weights_before = [w.copy() for w in namespace["model"].get_weights()]
    for block in BLOCKS[1:]:
        if "passes=[...]" in block:  # the API summary block is a signature sketch, not code
            continue
        exec(compile(block, "README.md", "exec"), namespace)
    stages = namespace["result"].verification.stages
    assert [s.stage for s in stages] == ["scale_scores", "tflite"]
    assert all(s.max_abs_error < 1e-5 for s in stages)
    for before, after in zip(weights_before, namespace["model"].get_weights()):  # the pass built a new model
        np.testing.assert_array_equal(before, after)


def test_readme_setup_is_two_commands_and_ci_runs_the_same_test_command():
    setup = README.split("## Set-up", 1)[1].split("## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(commands) == 2 and all(c.count("\n") == 1 for c in commands)
    test_command = commands[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()
