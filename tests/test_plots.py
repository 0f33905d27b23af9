"""The plot helpers draw exactly the reports' data, on real conversions of small models."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

import digits
import sequence_models
import tflite_fixups as tff
from tflite_fixups.errors import InvalidInputError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def refuse():
        raise AssertionError("a plot helper called plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def two_outputs():
    """A float conversion of a two-output model, verified on 6 samples."""
    keras.utils.set_random_seed(0)
    features = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(16, activation="tanh", name="hidden")(features)
    model = keras.Model(features, {"scores": keras.layers.Dense(3, name="scores")(hidden),
                                   "embedding": keras.layers.Dense(5, name="embedding")(hidden)})
    samples = np.random.default_rng(0).normal(size=(6, 8)).astype("float32")
    return tff.convert_and_verify(model, sample_inputs=samples)


@pytest.fixture(scope="module", params=["keras3", "tf_keras"])
def pinned(request):
    """An LSTM pinned to length 20 without a mask: padded samples have a pinning error, the others none."""
    import tf_keras

    model = sequence_models.lstm(keras if request.param == "keras3" else tf_keras)
    samples = [np.random.default_rng(n).normal(size=(1, n, sequence_models.FEATURES)).astype("float32")
               for n in (12, 3, 27, 20)]
    return tff.convert_and_verify(model, passes=[tff.passes.pin_input_shapes((1, 20, sequence_models.FEATURES))],
                                  sample_inputs=samples)


@pytest.fixture(scope="module")
def quantized():
    """The digits CNN in int8, calibrated on random noise: some layer's range clips the real data."""
    x_train, _, x_test, _ = digits.digits()
    model = digits.digits_cnn(keras, epochs=2)
    tf.random.set_seed(0)
    return tff.convert_and_verify(model, sample_inputs=x_test[:40], quantization="int8",
                                  representative_data=lambda: (tf.random.normal((1, 8, 8, 1)),))


def _filled_steps(ax):
    return [p for p in ax.patches if isinstance(p, StepPatch) and p.get_fill()]


def test_output_histogram_heights_are_the_reports_counts(two_outputs):
    report = two_outputs.verification
    ax = tff.plot_output_errors(two_outputs)
    filled = _filled_steps(ax)
    decades = [p for p in filled if len(p.get_data().values) > 1]
    exact = [p for p in filled if len(p.get_data().values) == 1]
    assert len(decades) == len(exact) == len(report.outputs) == 2
    for patch, zero_bar, (name, output) in zip(decades, exact, report.outputs.items()):
        histogram = output.error_histogram
        assert patch.get_label().startswith(name)
        values, edges, _ = patch.get_data()
        np.testing.assert_array_equal(values, [histogram.below, *histogram.counts, histogram.above])
        np.testing.assert_allclose(edges[1:-1], histogram.edges)
        assert zero_bar.get_data().values.tolist() == [histogram.zeros]
        # the exact bar sits left of every non-empty decade, a shaded decade apart
        assert all(lo >= 10 * zero_bar.get_data().edges[1] for lo, v in zip(edges, values) if v)
    assert sum(p.get_data().values.sum() for p in filled) == sum(o.num_values for o in report.outputs.values())
    atol_lines = [line for line in ax.lines if line.get_label().startswith("atol")]
    assert len(atol_lines) == 1 and list(atol_lines[0].get_xdata()) == [report.atol, report.atol]
    assert ax.get_xscale() == "log"


def test_output_errors_take_the_report_and_draw_on_the_given_axes(two_outputs):
    figure, (left, right) = plt.subplots(1, 2)
    assert tff.plot_output_errors(two_outputs.verification, ax=right) is right
    assert not left.patches and _filled_steps(right)


def test_pinning_points_are_the_checks_sorted_by_length(pinned):
    report = pinned.verification.pinning
    assert report.max_pinning_error > 0  # no mask: padding moved the outputs
    ax = tff.plot_pinning_errors(pinned)
    lines = {line.get_label().split(" (")[0]: line for line in ax.lines}
    checks = sorted(report.checks, key=lambda c: c.lengths["seq"][0])
    lengths = [c.lengths["seq"][0] for c in checks]
    assert list(lines["pinning error"].get_xdata()) == lengths == [3, 12, 20, 27]
    assert list(lines["pinning error"].get_ydata()) == [c.pinning_error for c in checks]
    assert list(lines["conversion error"].get_xdata()) == lengths
    assert list(lines["conversion error"].get_ydata()) == [c.conversion_error for c in checks]
    assert list(lines["pinned length 20"].get_xdata()) == [20, 20]
    assert ax.get_yscale() == "symlog"
    assert ax.get_ylim()[0] < 0.0 < ax.get_ylim()[1]  # exact zeros are inside the plot, not on its edge


def test_pinning_plot_takes_the_pinning_report(pinned):
    ax = tff.plot_pinning_errors(pinned.verification.pinning, input_name="seq")
    assert len(ax.lines[0].get_xdata()) == len(pinned.verification.pinning.checks)
    with pytest.raises(InvalidInputError, match="no verification sample has a length for input 'tokens'"):
        tff.plot_pinning_errors(pinned, input_name="tokens")


def test_layer_bars_are_relative_rmse_most_damaging_at_top(quantized):
    layers = quantized.quantization.layers
    ax = tff.plot_layer_errors(quantized)
    bars = ax.containers[0].patches
    widths = [bar.get_width() for bar in bars]
    assert widths == sorted(widths, reverse=True)
    assert widths == [e.relative_rmse for e in sorted(layers, key=lambda e: -e.relative_rmse)]
    assert ax.yaxis_inverted()  # the first (largest) bar is drawn at the top
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"{layers[0].layer} ({layers[0].op})"
    clipped = [e.outside_fraction > 0.01 for e in sorted(layers, key=lambda e: -e.relative_rmse)]
    assert any(clipped), "random-noise calibration should leave some layer's range short of the real data"
    colours = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in bars]
    assert len({c for c, flag in zip(colours, clipped) if flag}) == 1
    assert not {c for c, flag in zip(colours, clipped) if flag} & {c for c, flag in zip(colours, clipped) if not flag}
    notes = [t.get_text() for t in ax.texts]
    assert sum("outside range" in n for n in notes) == sum(clipped)


def test_layer_bars_top_n(quantized):
    ax = tff.plot_layer_errors(quantized.quantization, top=2)
    assert len(ax.containers[0].patches) == 2
    assert "top 2 of" in ax.get_title()
    with pytest.raises(InvalidInputError, match="top must be at least 1"):
        tff.plot_layer_errors(quantized, top=0)


def test_wrong_inputs_say_what_was_expected(two_outputs, quantized):
    with pytest.raises(InvalidInputError, match=r"pin_input_shapes"):
        tff.plot_pinning_errors(two_outputs)  # verified, but nothing was pinned
    with pytest.raises(InvalidInputError, match=r"quantization='int8'"):
        tff.plot_layer_errors(two_outputs)  # float conversion
    with pytest.raises(InvalidInputError, match=r"expects a verified ConversionResult .* got str"):
        tff.plot_output_errors("result.tflite")
    with pytest.raises(InvalidInputError, match=r"got PinningReport"):
        tff.plot_layer_errors(tff.PinningReport("x"))
    unverified = tff.ConversionResult(quantized.tflite_model)
    with pytest.raises(InvalidInputError, match=r"a result with no verification"):
        tff.plot_output_errors(unverified)


def test_library_imports_and_works_without_matplotlib():
    """TensorFlow's Keras imports matplotlib itself when it is installed, so "not imported" cannot be
    observed; instead matplotlib is made unimportable, as on a machine without it."""
    script = textwrap.dedent("""
        import sys

        class NoMatplotlib:
            def find_spec(self, name, path=None, target=None):
                if name == "matplotlib" or name.startswith("matplotlib."):
                    raise ImportError("No module named " + repr(name))

        sys.meta_path.insert(0, NoMatplotlib())
        import tflite_fixups as tff
        assert not any(m == "matplotlib" or m.startswith("matplotlib.") for m in sys.modules)
        try:
            tff.plot_output_errors(None)
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("expected ImportError")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'pip install "tflite_fixups[plots]"' in done.stdout


def test_plots_module_imports_matplotlib_only_inside_functions():
    import ast

    tree = ast.parse((ROOT / "tflite_fixups" / "reports" / "plots.py").read_text())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "matplotlib" for n in names), ast.dump(node)
