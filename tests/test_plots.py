import gc
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnbook as nb
from nnbook import plots


def test_decision_boundary_colours_the_predicted_classes(rng):
    X, y = nb.data.blobs(40, rng=rng)
    ax = plots.decision_boundary(lambda P: (P.sum(axis=1) > 0).astype(int), X, y, resolution=50)
    assert ax.get_title() == "Decision regions" and ax.get_xlabel() == "$x_1$"
    assert len(ax.collections) >= 3      # the filled regions and one scatter per class
    plt.close("all")


def test_training_curves_and_weights(rng):
    h = nb.optim.History(loss=[1.0, 0.5], val_loss=[1.1, 0.7], val_acc=[0.5, 0.8])
    ax = plots.training_curves(h)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training loss", "validation loss", "validation accuracy"]
    fig = plots.weight_images(rng.standard_normal((5, 64)), (8, 8), ncols=4)
    assert len(fig.axes) == 8 and fig.axes[0].get_title() == "unit 0"
    with pytest.raises(ValueError, match=r"W must have shape \(D_out, 64\), got \(5, 63\)"):
        plots.weight_images(np.ones((5, 63)), (8, 8))
    plt.close("all")


def test_pca_2d_finds_the_spread_direction(rng):
    H = np.c_[10 * rng.standard_normal(200), rng.standard_normal(200), np.zeros(200)]
    P = plots.pca_2d(H)
    assert P.shape == (200, 2)
    assert P[:, 0].std() > 5 * P[:, 1].std()


def test_plot_refusals(rng):
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"w must have shape \(3,\) \(bias, w1, w2\), got \(2,\)"):
        plots.separating_line(np.ones(2), ax)
    X, y, _ = nb.data.separable(10, 0.1, rng=rng)
    res = nb.perceptron.perceptron_fit(nb.perceptron.add_bias(X), y)
    with pytest.raises(ValueError, match=r"k must lie in \[0, \d+\], got 99"):
        plots.perceptron_step(X, y, res, 99, ax)
    ax = plots.perceptron_step(X, y, res, res.n_updates, ax)
    assert ax.get_title() == f"after {res.n_updates} update{'s' if res.n_updates != 1 else ''}"
    plt.close("all")


def test_network_graph_draws_units_edges_and_texts():
    ax = plots.network_graph([2, 3, 1], unit_text=[["a", "b"], ["c", "d", "e"], ["f"]])
    from matplotlib.patches import Circle

    assert sum(isinstance(p, Circle) for p in ax.patches) == 6
    assert {t.get_text() for t in ax.texts} >= set("abcdef")
    with pytest.raises(ValueError):                     # one text per unit, no silent truncation
        plots.network_graph([2, 1], unit_text=[["a"], ["b"]])
    plt.close("all")


def test_animations_have_one_frame_per_step(rng):
    X, y, _ = nb.data.separable(12, 0.1, rng=rng)
    res = nb.perceptron.perceptron_fit(nb.perceptron.add_bias(X), y)
    anim1 = plots.perceptron_animation(X, y, res)
    assert len(list(anim1.new_frame_seq())) == res.n_updates + 1
    Xm, ym = nb.data.moons(30, rng=rng)
    snaps = [(e, 0.5, lambda P, e=e: (P[:, 0] > e).astype(int)) for e in range(3)]
    anim = plots.training_animation(snaps, Xm, ym, resolution=20)
    assert len(list(anim.new_frame_seq())) == 3
    anim._func(2)                                     # draw the last frame
    assert anim._fig.axes[0].get_title() == "epoch 2: training loss 0.500"
    with warnings.catch_warnings():                    # never rendered to a file: expected
        warnings.simplefilter("ignore", UserWarning)
        del anim, anim1
        gc.collect()
    plt.close("all")


def test_neuron_diagram_names_its_parts():
    ax = plots.neuron_diagram()
    texts = " ".join(t.get_text() for t in ax.texts)
    for part in ("synapses", "soma", "threshold", "$w_0 = b$", r"\operatorname{sign}(z)"):
        assert part in texts
    assert ax.get_title() == "An artificial neuron"
    plt.close("all")
