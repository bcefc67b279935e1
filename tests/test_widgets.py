"""The live demos run for their default and extreme slider values."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from nnbook.widgets import mlp_explorer, perceptron_explorer


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # Agg cannot "show"
        yield
    plt.close("all")


def _controls(w):
    return {c.description: c for c in w.children if hasattr(c, "description") and c.description}


def test_perceptron_explorer_is_live_in_a_kernel_and_moves_without_one():
    bundle = perceptron_explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count('type="range"') == 1 and 'max="19"' in html   # margins 0.02 ... 0.40
    assert html.count("iVBOR") == 21                                # 20 frames + the first shown


def test_perceptron_explorer_runs_across_its_sliders():
    w = perceptron_explorer().widget
    controls = _controls(w)
    assert set(controls) == {"margin", "progress %"}
    # call the demo's function directly: interactive() would only log an exception
    for margin, progress in [(0.02, 0), (0.4, 50), (0.15, 100)]:
        w.f(margin=margin, progress=progress)
        title = plt.gcf().axes[0].get_title()
        assert title.startswith(f"margin {margin:.2f}: update ")


def test_mlp_explorer_runs_for_every_activation():
    explorer = mlp_explorer()
    html = explorer._repr_mimebundle_()["text/html"]
    assert 'max="9"' in html and html.count("iVBOR") == 11           # 10 widths + the first
    w = explorer.widget
    controls = _controls(w)
    assert set(controls) == {"hidden units", "activation", "epochs"}
    for act in controls["activation"].options:
        w.f(hidden=1, activation=act, epochs=10)
        assert plt.gcf().axes[0].get_title().startswith(f"1 {act} units: accuracy ")
