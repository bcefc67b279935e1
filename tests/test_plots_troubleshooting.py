"""The troubleshooting chapter's figure helpers: one loss scale for every bug panel, the marks
of the range test, the floor of one-batch training, the threshold of double descent."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from nnbook import plots_troubleshooting as pt
from nnbook.bugs import Curves
from nnbook.double_descent import DoubleDescent
from nnbook.lr_finder import LRRangeTest


def _curves(train, val):
    return Curves(train_loss=list(train), val_loss=list(val))


def test_bug_panels_share_one_log_scale_and_clip_divergence():
    runs = {f"bug {k}": (_curves([2.3, 2.3, np.inf], [2.3, 2.4, np.inf]),
                         _curves([2.3, 0.5, 0.1], [2.3, 0.6, 0.3])) for k in range(4)}
    fig = pt.bug_panels(runs, ncols=3)
    axes = fig.axes
    assert len(axes) == 6
    used = [ax for ax in axes if ax.axison]
    assert len(used) == 4
    assert all(ax.get_yscale() == "log" and ax.get_ylim() == (1e-3, 1e2) for ax in used)
    assert all(len(ax.lines) == 4 for ax in used)
    assert used[0].lines[0].get_ydata()[-1] == 1e2            # inf drawn at the top edge
    assert [ax.get_title() for ax in used] == [f"bug {k}" for k in range(4)]
    plt.close(fig)


def test_lr_range_marks_the_chosen_rate_and_the_bugs():
    lrs = np.logspace(-4, 0, 20)
    s = np.r_[np.full(12, 2.3), np.linspace(2.0, 0.8, 6), 1.5, 9.0]
    fig = pt.lr_range(LRRangeTest(lrs, s, s, True), 1e-2, {"x10": 0.1, "/100": 1e-4},
                      chance=np.log(10))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    xs = sorted(float(line.get_xdata()[0]) for line in ax.lines[3:6])
    assert np.allclose(xs, [1e-4, 1e-2, 0.1])
    plt.close(fig)


def test_overfit_and_double_descent_figures_draw():
    fig = pt.overfit_one_batch({"right": np.geomspace(2.3, 1e-5, 50),
                                "wrong": np.full(50, 1.5)}, {"floor": 1.46})
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 3
    plt.close(fig)
    dd = DoubleDescent(ps=np.array([5, 10, 20, 40]), train_mse=np.array([0.5, 0.2, 0.0, 0.0]),
                       test_mse=np.array([0.6, 0.5, 5.0, 0.3]), n_train=20)
    fig = pt.double_descent({"min-norm": dd}, 20)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert float(ax.lines[-1].get_xdata()[0]) == 20                # the threshold p = n
    assert ax.lines[1].get_ydata().min() == 1e-4                   # zeros drawn at the floor
    plt.close(fig)


def test_label_grid_shows_both_label_rows():
    images = np.arange(8 * 64).reshape(8, 64) % 17
    fig = pt.label_grid(images, np.arange(8), np.arange(8)[::-1], n=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["0", "1", "2", "3", "7", "6", "5", "4"]
    plt.close(fig)
