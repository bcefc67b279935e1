"""The chapter-7 figure helpers draw, animate and build their widgets."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnbook as nb
from nnbook import adaptive, plots_optim, schedules
from nnbook.landscapes import Quadratic, Rosenbrock


def test_optimizer_path_is_sgd_on_the_quadratic():
    q = Quadratic(np.diag([1.0, 10.0]))
    path = plots_optim.optimizer_path(q, lambda p: nb.SGD(p, lr=0.05), (1.0, 1.0), 3)
    np.testing.assert_allclose(path[1], [0.95, 0.5])
    np.testing.assert_allclose(path[3], [0.95 ** 3, 0.5 ** 3])


def test_optimizer_path_stops_at_divergence():
    q = Quadratic(np.diag([1.0, 10.0]))
    path = plots_optim.optimizer_path(q, lambda p: nb.SGD(p, lr=1.0), (1.0, 1.0), 200)
    assert np.isnan(path[-1]).all() and np.isfinite(path[1]).all()


def test_optimizer_path_refuses_a_wrong_start():
    with pytest.raises(ValueError, match=r"^x0 must have shape \(2,\), got \(3,\)$"):
        plots_optim.optimizer_path(Rosenbrock(), lambda p: nb.SGD(p, lr=0.1), (1, 2, 3), 5)


def test_figures_draw():
    fig = plots_optim.momentum_panels(10.0, None, 0.5, 20)
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    opt = nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=0.1)
    ax = plots_optim.schedule_curves({"step": schedules.StepLR(opt, 10)}, 30)
    assert len(ax.lines) == 1
    f = Rosenbrock()
    paths = {"Adam": plots_optim.optimizer_path(f, lambda p: adaptive.Adam(p, lr=0.05),
                                                (-1.5, 2.0), 20)}
    fig = plots_optim.race_panels(f, paths)
    assert len(fig.axes[1].lines) == 1
    plt.close("all")


def test_animations_have_one_frame_per_value():
    anim = plots_optim.momentum_animation(10.0, betas=[0.0, 0.9], steps=10)
    html = anim.to_jshtml()
    assert html.count("data:image/png") == 2
    f = Rosenbrock()
    paths = {"SGD": plots_optim.optimizer_path(f, lambda p: nb.SGD(p, lr=1e-3), (-1.5, 2.0), 10)}
    assert plots_optim.race_animation(f, paths, frames=[0, 5, 10]).to_jshtml().count(
        "data:image/png") == 3


def test_explorers_are_live_and_static():
    w = plots_optim.momentum_explorer(betas=(0.0, 0.5, 0.9))
    assert [c.description for c in w.widget.children[:4]] == ["κ", "η / η_opt", "β", "Nesterov"]
    assert w.static.data.count('type="range"') == 1 and 'alt="gradient descent and' in w.static.data
    assert w.static.data.count("iVBOR") == 4          # one PNG per beta, and the first shown
    r = plots_optim.race_explorer(Rosenbrock(), steps=5, frames=(0, 5))
    assert r.widget.children[0].description == "η SGD"
    assert r.static.data.count("iVBOR") == 3 and 'alt="paths of five optimisers' in r.static.data
    assert len(plots_optim.default_racers()) == 5
    plt.close("all")
