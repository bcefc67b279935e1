"""Second-order methods: Newton (damped, adaptive, saddle-free), Gauss–Newton and
Levenberg–Marquardt, BFGS, L-BFGS against torch.optim.LBFGS, Quickprop; parity and refusals."""

import re

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook import hessian as hs
from nnbook import landscapes as ls
from nnbook import second_order as so
from nnbook import to_numpy


def _like(a, x):
    """The NumPy constant ``a`` in the library of ``x``."""
    return torch.as_tensor(a) if isinstance(x, torch.Tensor) else a


def _logistic(seed=0, n=20, d=5):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = (rng.standard_normal(n) > 0).astype(float)

    class Logistic:
        dim = d

        def value(self, x):
            xp = nb.backend.namespace(x)
            z = _like(A, x) @ x
            return xp.mean(xp.logaddexp(xp.zeros_like(z), z) - _like(b, x) * z) + 0.05 * (x @ x)

        def gradient(self, x):
            z = _like(A, x) @ x
            return _like(A, x).T @ (1 / (1 + nb.backend.namespace(x).exp(-z)) - _like(b, x)) / n \
                + 0.1 * x

    return Logistic(), A, b


# ---- one step -------------------------------------------------------------------------------

def test_newton_step_solves_the_damped_system(backend, rng):
    M = rng.standard_normal((4, 4))
    H, g = M @ M.T + np.eye(4), rng.standard_normal(4)
    for lam in (0.0, 0.5):
        p = so.newton_step(backend.asarray(g), backend.asarray(H), lam)
        np.testing.assert_allclose(to_numpy(p), -np.linalg.solve(H + lam * np.eye(4), g),
                                   rtol=1e-12)


def test_damped_step_points_downhill_on_an_indefinite_hessian():
    H, g = np.diag([1.0, -2.0]), np.array([0.1, 0.4])
    p = so.newton_step(g, H)
    assert g @ p > 0                                 # Newton goes uphill in y: towards the maximum
    assert g @ so.newton_step(g, H, damping=2.5) < 0  # H + 2.5 I is positive definite
    ps = so.saddle_free_step(g, H)
    np.testing.assert_allclose(ps, [-0.1, -0.2])     # -|H|^{-1} g
    assert g @ ps < 0


def test_steps_take_a_batch_of_problems(rng):
    M = rng.standard_normal((3, 2, 2))
    H, g = M + np.swapaxes(M, 1, 2), rng.standard_normal((3, 2))
    for step in (so.newton_step, so.saddle_free_step):
        batch = step(g, H, 0.5)
        one = np.stack([step(g[i], H[i], 0.5) for i in range(3)])
        np.testing.assert_allclose(batch, one, rtol=1e-12)


def test_saddle_free_parity(rng):
    M = rng.standard_normal((5, 5))
    H, g = M + M.T, rng.standard_normal(5)
    a = so.saddle_free_step(g, H, 0.1)
    b = so.saddle_free_step(torch.as_tensor(g), torch.as_tensor(H), 0.1)
    np.testing.assert_allclose(to_numpy(b), a, rtol=1e-10)


# ---- Newton's method ------------------------------------------------------------------------

def test_newton_solves_a_quadratic_in_one_step(backend):
    q = ls.Quadratic.with_condition_number(1000.0, angle=0.4)
    tr = so.newton(q, backend.asarray([1.5, -1.0]), 1)
    np.testing.assert_allclose(tr.path[-1], [0.0, 0.0], atol=1e-12)
    assert tr.grad_norms[-1] < 1e-10


def test_newton_converges_quadratically_near_a_minimum():
    f = ls.Rosenbrock()
    tr = so.newton(f, np.array([1.2, 1.2]), 6)
    err = np.linalg.norm(tr.path - [1.0, 1.0], axis=1)
    ok = err[1:] > 1e-13
    ratios = err[1:][ok] / err[:-1][ok] ** 2
    assert err[-1] < 1e-14 and ratios.max() < 500        # e_{k+1} <= C e_k^2


def test_newton_goes_to_a_saddle_and_damping_avoids_it():
    dw = ls.DoubleWell()
    pure = so.newton(dw, np.array([0.3, 0.5]), 10)
    np.testing.assert_allclose(pure.path[-1], [0.0, 0.0], atol=1e-12)   # the saddle
    lm = so.newton(dw, np.array([0.3, 0.5]), 30, damping=1.0, adaptive=True)
    np.testing.assert_allclose(lm.path[-1], [1.0, 0.0], atol=1e-8)      # a minimum
    assert np.all(np.diff(lm.losses) < 0)                               # the loss never rises
    sf = so.newton(dw, np.array([0.3, 0.5]), 30, saddle_free=True)
    np.testing.assert_allclose(sf.path[-1], [1.0, 0.0], atol=1e-8)


def test_newton_on_a_network_uses_the_autograd_hessian():
    rng = np.random.default_rng(0)
    X, y = nb.data.moons(30, rng=rng)
    model = nb.mlp([2, 3, 2], "tanh", rng=rng)
    loss = nb.CrossEntropyLoss()
    obj = so.ModelObjective(model, loss, X, y)
    theta = obj.x0()
    H_torch = hs.autograd_hessian(model, loss, X, y)
    g = to_numpy(obj.gradient(theta))
    expected = -np.linalg.solve(H_torch + 0.1 * np.eye(len(g)), g)
    got = so.newton_step(obj.gradient(theta), obj.hessian(theta), 0.1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    tr = so.newton(obj, theta, 10, damping=1.0, adaptive=True)
    assert tr.losses[-1] < 0.5 * tr.losses[0]


# ---- Gauss–Newton and Levenberg–Marquardt --------------------------------------------------

def _exp_fit():
    t = np.linspace(0, 4, 30)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * np.random.default_rng(0).standard_normal(30)

    def residual(x):
        xp = nb.backend.namespace(x)
        return x[0] * xp.exp(-x[1] * _like(t, x)) - _like(y, x)

    def jacobian(x):
        xp = nb.backend.namespace(x)
        e = xp.exp(-x[1] * _like(t, x))
        return xp.stack([e, -x[0] * _like(t, x) * e], axis=1)

    return residual, jacobian, t, y


def test_levenberg_marquardt_matches_scipy():
    from scipy.optimize import least_squares

    residual, jacobian, *_ = _exp_fit()
    ref = least_squares(residual, [1.0, 0.1], jac=jacobian, method="lm", xtol=1e-15,
                        ftol=1e-15, gtol=1e-15).x
    for x0 in (np.array([1.0, 0.1]), torch.tensor([1.0, 0.1], dtype=torch.float64)):
        tr = so.levenberg_marquardt(residual, jacobian, x0, 50)
        np.testing.assert_allclose(tr.path[-1], ref, rtol=1e-8)
        assert np.all(np.diff(tr.losses) <= 0)
    gn = so.gauss_newton(residual, jacobian, np.array([1.8, 1.2]), 10)
    np.testing.assert_allclose(gn.path[-1], ref, rtol=1e-8)


def test_gauss_newton_solves_linear_least_squares_in_one_step(rng):
    A, b = rng.standard_normal((10, 3)), rng.standard_normal(10)
    tr = so.gauss_newton(lambda x: A @ x - b, lambda x: A, np.zeros(3), 1)
    np.testing.assert_allclose(tr.path[-1], np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)


# ---- BFGS and L-BFGS ------------------------------------------------------------------------

def test_bfgs_finds_rosenbrocks_minimum_like_scipy(backend):
    from scipy.optimize import minimize

    f = ls.Rosenbrock()
    ref = minimize(lambda x: float(f.value(x)), [-1.2, 1.0], jac=f.gradient, method="BFGS",
                   options={"gtol": 1e-10}).x
    tr = so.bfgs(f, backend.asarray([-1.2, 1.0]), 200, tol=1e-10)
    np.testing.assert_allclose(tr.path[-1], ref, atol=1e-7)
    assert np.all(np.diff(tr.losses) <= 0)


def test_lbfgs_follows_torch_optim_lbfgs_step_by_step():
    f, A, b = _logistic()
    x0 = np.full(5, 0.3)
    tr = so.lbfgs(f, x0, 15, history=3, lr=0.8)
    w = torch.tensor(x0, requires_grad=True)
    At, bt = torch.as_tensor(A), torch.as_tensor(b)
    opt = torch.optim.LBFGS([w], lr=0.8, max_iter=15, history_size=3, tolerance_grad=0,
                            tolerance_change=0)
    path = []

    def closure():
        opt.zero_grad()
        z = At @ w
        loss = torch.mean(torch.nn.functional.softplus(z) - bt * z) + 0.05 * (w @ w)
        loss.backward()
        path.append(w.detach().clone().numpy())
        return loss

    opt.step(closure)
    np.testing.assert_allclose(tr.path[:len(path)], np.array(path), rtol=1e-12, atol=1e-14)
    torch_run = so.lbfgs(f, torch.tensor(x0), 15, history=3, lr=0.8)
    np.testing.assert_allclose(torch_run.path, tr.path, rtol=1e-12, atol=1e-14)


def test_lbfgs_with_a_line_search_converges():
    tr = so.lbfgs(ls.Rosenbrock(), np.array([-1.2, 1.0]), 200, line_search="wolfe", tol=1e-8)
    np.testing.assert_allclose(tr.path[-1], [1.0, 1.0], atol=1e-7)


# ---- Quickprop ------------------------------------------------------------------------------

def test_quickprop_step_by_hand():
    lr, mu = 0.1, 1.75
    g_prev = np.array([-1.0, -1.0, -1.0, 1.0, 0.5])
    g = np.array([-0.5, -0.9, 0.5, 0.5, 0.2])
    step_prev = np.array([1.0, 1.0, 1.0, -2.0, 0.0])
    got = so.quickprop_step(g, g_prev, step_prev, lr, mu)
    expected = [
        -0.5 / (-1 + 0.5) * 1.0 + 0.05,    # secant: G/(G'-G) step' = 1, plus -lr G (still downhill)
        mu * 1.0 + 0.09,                   # G = -0.9 < s G' = -0.636: capped at mu step'
        0.5 / (-1.5) * 1.0,                # slope changed sign: secant step back, no gradient term
        0.5 / 0.5 * -2.0 - 0.05,           # mirror image: step -2, G' = 1, G = 0.5
        -0.02,                             # no previous step: gradient descent
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    tg = so.quickprop_step(*(torch.as_tensor(a) for a in (g, g_prev, step_prev)), lr, mu)
    np.testing.assert_allclose(to_numpy(tg), expected, rtol=1e-12)


def test_quickprop_on_a_one_dimensional_quadratic_reaches_the_minimum():
    # f(w) = (w - 3)^2 / 2: the secant is exact, so the second step's jump lands on w = 3,
    # and Fahlman's gradient term adds -lr G = 0.27 (the slope still pointed downhill)
    w = nb.layers.Parameter(np.array([0.0]))
    opt = so.Quickprop([w], lr=0.1, mu=100.0)
    for _ in range(2):
        w.grad = w.data - 3.0
        opt.step()
    np.testing.assert_allclose(w.data, [3.27], rtol=1e-12)


def test_quickprop_trains_the_encoder_with_fit_on_both_backends():
    X = np.eye(8)
    curves = []
    for bk in (nb.Backend("numpy"), nb.Backend("torch", "cpu")):
        rng = np.random.default_rng(0)
        model = nb.mlp([8, 3, 8], "sigmoid", rng=rng, backend=bk)
        h = nb.fit(model, nb.BCEWithLogitsLoss(), so.Quickprop(model.parameters(), lr=1.0),
                   bk.asarray(X), bk.asarray(X), epochs=60, batch_size=8, rng=rng)
        curves.append(h.loss)
    # secant divisions amplify rounding late in training: compare the first 30 epochs tightly
    np.testing.assert_allclose(curves[0][:30], curves[1][:30], rtol=1e-9)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-3)
    assert curves[0][-1] < 1e-2 * curves[0][0]


# ---- refusals -------------------------------------------------------------------------------

def _raises(exc, msg, fn, *a, **k):
    with pytest.raises(exc, match="^" + re.escape(msg) + "$"):
        fn(*a, **k)


def test_bad_inputs_are_refused():
    g, H = np.ones(2), np.eye(2)
    _raises(ValueError, "hessian must have shape (2, 2), got (3, 3)", so.newton_step, g, np.eye(3))
    _raises(ValueError, "hessian must have shape (2, 1, 1), got (2, 2)", so.newton_step,
            np.ones((2, 1)), H)
    _raises(ValueError, "damping must be a non-negative number, got -1.0",
            so.newton_step, g, H, -1.0)
    _raises(ValueError, "the matrix H + damping * I is singular: increase damping",
            so.newton_step, g, np.zeros((2, 2)))
    _raises(ValueError, "the matrix |H| + damping * I is singular: increase damping",
            so.saddle_free_step, g, np.zeros((2, 2)))
    q = ls.Quadratic.with_condition_number(10.0)
    _raises(ValueError, "x0 must have shape (2,), got (3,)", so.newton, q, np.ones(3), 1)
    _raises(ValueError,
            "damping must be positive when adaptive=True (the initial lambda), got 0.0",
            so.newton, q, np.ones(2), 1, adaptive=True)
    _raises(TypeError, "f must have the methods value, gradient, hessian (e.g. a "
            "landscapes.Objective or a ModelObjective), got int without value",
            so.newton, 3, np.ones(2), 1)
    _raises(TypeError, "steps must be a non-negative int, got 1.5 of type float",
            so.bfgs, q, np.ones(2), 1.5)
    _raises(ValueError, "line_search must be None or 'wolfe', got 'exact'",
            so.lbfgs, q, np.ones(2), 1, line_search="exact")
    _raises(ValueError, "history must be a positive int, got 0", so.lbfgs, q, np.ones(2), 1,
            history=0)
    _raises(TypeError, "residual must be callable, got int", so.gauss_newton, 1, 1, g, 1)
    _raises(ValueError, "prev_step must have the shape of grad (2,), got (3,)",
            so.quickprop_step, g, g, np.ones(3), 0.1)
    _raises(ValueError, "mu must be a positive number, got 0.0", so.quickprop_step, g, g, g,
            0.1, 0.0)
    w = nb.layers.Parameter(np.zeros(2))
    _raises(ValueError, "mu must be a positive number, got -1.0", so.Quickprop, [w], 0.1, -1.0)


# ---- figure helpers -------------------------------------------------------------------------

def test_end_points_classify_newtons_basins():
    import matplotlib

    matplotlib.use("Agg")
    from nnbook import plots_second_order as ps

    dw = ls.DoubleWell()
    kinds, fractions = ps.end_points(
        dw, lambda x: x + so.newton_step(dw.gradient(x), dw.hessian(x)), n=20, steps=30)
    assert kinds.shape == (20, 20)
    assert kinds[10, 0] == "minimum" and kinds[10, 10] == "saddle"   # x = -2 and x = 0.1
    assert abs(sum(fractions.values()) - 1.0) < 1e-12
    assert 0 < fractions["saddle"] < fractions["minimum"]
    ax = ps.basin_panel(kinds, f=dw, title="Newton")
    assert ax.get_title() == "Newton"


def test_newton_explorer_is_live_and_static():
    import matplotlib

    matplotlib.use("Agg")
    from nnbook import plots_second_order as ps
    from nnbook.widgets import Explorer

    ex = ps.newton_explorer(ls.DoubleWell(), steps=3)
    assert isinstance(ex, Explorer)
    html = ex._repr_mimebundle_()["text/html"]
    assert html.count("data:image/png;base64,") == 2 and 'type="range"' in html   # img + JS


def test_model_objective_runs_the_same_on_numpy_and_torch():
    runs = []
    for bk in (nb.Backend("numpy"), nb.Backend("torch", "cpu")):
        rng = np.random.default_rng(0)
        X, y = nb.data.moons(40, rng=rng)
        model = nb.mlp([2, 4, 2], "tanh", rng=rng, backend=bk)
        f = so.ModelObjective(model, nb.CrossEntropyLoss(), bk.asarray(X), bk.asarray(y))
        theta0 = f.x0()
        runs.append((so.newton(f, theta0, 4, damping=1.0, adaptive=True).losses,
                     so.lbfgs(f, theta0, 10, line_search="wolfe").losses))
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
