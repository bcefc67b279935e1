"""The chapter-1 figures: the perceptron's steps keep one legend layout across frames."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnbook as nb
from nnbook import plots


@pytest.fixture
def run():
    X, y, _ = nb.data.separable(12, 0.1, rng=np.random.default_rng(0))
    return X, y, nb.perceptron.perceptron_fit(nb.perceptron.add_bias(X), y)


def test_outside_legend_has_every_entry_at_every_step(run):
    X, y, res = run
    for k in (0, res.n_updates):
        _, ax = plt.subplots()
        plots.perceptron_step(X, y, res, k, ax, legend="outside")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["class -1", "class 1", "before the update", "decision line",
                          "misclassified sample"]
    plt.close("all")


def test_legend_can_be_left_out_and_is_checked(run):
    X, y, res = run
    _, ax = plt.subplots()
    assert plots.perceptron_step(X, y, res, 1, ax, legend=None).get_legend() is None
    with pytest.raises(ValueError, match=r"^legend must be 'best', 'outside' or None, "
                                         r"got 'below'$"):
        plots.perceptron_step(X, y, res, 1, ax, legend="below")
    plt.close("all")
