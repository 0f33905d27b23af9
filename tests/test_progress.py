"""Progress bars: shown when asked or interactive, silent otherwise, on the library's real long loops."""

import numpy as np
import pytest

import helpers
import tflite_fixups as tff
from tflite_fixups import _progress
from tflite_fixups._progress import Progress, progress, progress_enabled


@pytest.fixture(autouse=True)
def default_setting(monkeypatch):
    monkeypatch.delenv(_progress.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)  # show bars at once, however short the loop
    yield
    tff.set_progress(None)


def test_off_when_nobody_watches_and_on_when_asked(monkeypatch):
    assert not progress_enabled()  # pytest captures stderr: not a terminal, not a notebook
    monkeypatch.setenv(_progress.ENVIRONMENT_VARIABLE, "1")
    assert progress_enabled()
    tff.set_progress(False)
    assert not progress_enabled()  # the explicit setting wins over the environment
    tff.set_progress(None)
    monkeypatch.setenv(_progress.ENVIRONMENT_VARIABLE, "0")
    assert not progress_enabled()


def test_a_bar_reaches_the_total_and_a_silenced_one_writes_nothing(capsys):
    tff.set_progress(True)
    assert list(progress(range(5), description="counting")) == [0, 1, 2, 3, 4]
    shown = capsys.readouterr().err
    assert "counting:" in shown and "/5" in shown
    with Progress(total=5, description="advancing") as bar:
        bar.advance(2)
        bar.advance(3)
        assert bar.visible and bar.completed == 5
    assert "advancing:" in capsys.readouterr().err
    tff.set_progress(False)
    with Progress(total=5, description="counting") as bar:
        bar.advance(5)
        assert not bar.visible
    assert capsys.readouterr().err == ""


def test_set_progress_refuses_anything_but_true_false_none():
    with pytest.raises(tff.InvalidInputError, match="True, False or None"):
        tff.set_progress("yes")


def test_verification_and_calibration_show_their_bars(capsys, K):
    tff.set_progress(True)
    model = helpers.mlp(K)
    data = np.random.default_rng(0).uniform(-1, 1, (64, 8)).astype(np.float32)
    result = tff.convert_and_verify(model, sample_inputs=data[:16], quantization="int8", representative_data=data)
    assert result.verification is not None and not result.verification.skipped
    shown = capsys.readouterr().err
    for bar in ("running the original model", "running the .tflite on LiteRT", "calibrating (int8)",
                "measuring per-layer error"):
        assert bar in shown, f"no '{bar}' bar in:\n{shown[-2000:]}"

    tff.set_progress(False)
    tff.convert_and_verify(model, sample_inputs=data[:16])
    assert "running the .tflite" not in capsys.readouterr().err
