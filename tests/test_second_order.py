"""Second-order methods: Newton (damped, adaptive, saddle-free), Gauss–Newton and
Levenberg–Marquardt, BFGS, L-BFGS against torch.optim.LBFGS, Quickprop; parity and refusals."""


import numpy as np
import pytest
import torch
from conftest import raises_whole as _raises

import nnbook as nb
from nnbook import hessian as hs
from nnbook import landscapes as ls
from nnbook import second_order as so
from nnbook import to_numpy


def _like(a, x):
    """The NumPy constant ``a`` in the library (and on the device) of ``x``."""
    return torch.as_tensor(a, device=x.device) if isinstance(x, torch.Tensor) else a


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



@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("g_dtype, h_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_newton_step_mixes_float32_and_float64_as_numpy_does(lib, g_dtype, h_dtype):
    g = np.array([1.0, 2.0], dtype=g_dtype)
    H = np.array([[2.0, 0.0], [0.0, 4.0]], dtype=h_dtype)
    if lib == "torch":
        g, H = torch.from_numpy(g), torch.from_numpy(H)
    p = so.newton_step(g, H)
    assert to_numpy(p).dtype == np.float64
    np.testing.assert_array_equal(to_numpy(p), [-0.5, -0.5])


def test_a_singular_matrix_on_torch_is_named_as_such():
    _raises(ValueError, "the matrix H + damping * I is singular: increase damping",
            so.newton_step, torch.ones(2, dtype=torch.float64),
            torch.zeros((2, 2), dtype=torch.float64))


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


# ---- traces, counts and defaults ------------------------------------------------------------

class _Sphere:
    """f(x) = |x|^2 / 2: gradient x, Hessian I."""

    dim = 2

    def value(self, x):
        return 0.5 * float(x @ x)

    def gradient(self, x):
        return x + 0.0

    def hessian(self, x):
        return _like(np.eye(2), x)


def test_bfgs_trace_on_a_sphere_by_hand(backend):
    # B = I: the first step -g lands on the minimum with t = 1 (one evaluation); there
    # g = 0 <= tol = 0 (the default) stops the run
    x0 = backend.asarray([0.3, 0.4])
    tr = so.bfgs(_Sphere(), x0, 3)
    np.testing.assert_array_equal(tr.path, [[0.3, 0.4], [0.0, 0.0]])
    assert tr.path.dtype == np.float64
    np.testing.assert_allclose(tr.losses, [0.125, 0.0], rtol=1e-15)
    assert tr.grad_norms.dtype == np.float64
    np.testing.assert_allclose(tr.grad_norms, [0.5, 0.0], rtol=1e-15)
    assert tr.evaluations == 2
    np.testing.assert_array_equal(tr.evaluations_at, [1, 2])
    assert type(tr.x) is type(x0)
    np.testing.assert_array_equal(to_numpy(tr.x), [0.0, 0.0])
    assert to_numpy(x0).tolist() == [0.3, 0.4]          # x0 itself is left alone


def test_lbfgs_trace_on_a_sphere_by_hand(backend):
    # torch's first step is scaled by min(1, 1/|g|_1) = 1/7, the later ones are not: the
    # pair (s, y = s) makes the two-loop product -g exactly, so the second step ends at 0,
    # where g = 0 <= tol = 0 stops the run
    x0 = backend.asarray([7.0, 0.0])
    tr = so.lbfgs(_Sphere(), x0, 5)
    np.testing.assert_array_equal(tr.path, [[7.0, 0.0], [6.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(tr.losses, [24.5, 18.0, 0.0])
    assert tr.grad_norms.dtype == np.float64
    np.testing.assert_array_equal(tr.grad_norms, [7.0, 6.0, 0.0])
    assert tr.evaluations == 3
    np.testing.assert_array_equal(tr.evaluations_at, [1, 2, 3])
    assert type(tr.x) is type(x0)
    np.testing.assert_array_equal(to_numpy(tr.x), [0.0, 0.0])
    # lr = 1 is the default; lr = 0.5 halves the step
    half = so.lbfgs(_Sphere(), x0, 1, lr=0.5)
    np.testing.assert_array_equal(half.path[1], [6.5, 0.0])


def test_lbfgs_zero_steps_is_the_start():
    tr = so.lbfgs(_Sphere(), np.array([3.0, 4.0]), 0)
    np.testing.assert_array_equal(tr.path, [[3.0, 4.0]])
    np.testing.assert_array_equal(tr.grad_norms, [5.0])
    assert tr.evaluations == 1


def test_lbfgs_default_history_is_ten():
    # 16 steps on a 20-d quadratic: from step 11 on, the eleventh-oldest pair is dropped
    f = ls.Quadratic(np.diag(np.linspace(1.0, 100.0, 20)))
    x0 = np.linspace(-1.0, 1.0, 20)
    default = so.lbfgs(f, x0, 16)
    np.testing.assert_array_equal(default.path, so.lbfgs(f, x0, 16, history=10).path)
    assert not np.array_equal(default.path, so.lbfgs(f, x0, 16, history=11).path)


def test_bfgs_second_and_third_steps_follow_the_scaled_update():
    # after the first step B = (y.s / y.y) I (eq. 6.20), then the BFGS update (eq. 6.17);
    # each later step goes along -B g (its length is the line search's)
    q = ls.Quadratic(np.array([[3.0, 1.0], [1.0, 8.0]]))
    tr = so.bfgs(q, np.array([1.0, -1.0]), 3)
    P = tr.path
    g = [q.gradient(p) for p in P]
    s, y = P[1] - P[0], g[1] - g[0]
    rho = 1.0 / (y @ s)
    V = np.eye(2) - rho * np.outer(s, y)
    B = V @ ((y @ s) / (y @ y) * np.eye(2)) @ V.T + rho * np.outer(s, s)
    for k in (1, 2):
        p, step = -B @ g[k], P[k + 1] - P[k]
        assert abs(p[0] * step[1] - p[1] * step[0]) < 1e-10 * np.linalg.norm(p) * np.linalg.norm(step)
        assert p @ step > 0
        s, y = step, g[k + 1] - g[k]
        rho = 1.0 / (y @ s)
        V = np.eye(2) - rho * np.outer(s, y)
        B = V @ B @ V.T + rho * np.outer(s, s)


# ---- the Wolfe line search, on one-dimensional objectives built to hit each rule ---------

class _Line:
    """A 1-D objective from Python functions of the coordinate; g(0) = -1, so the first
    BFGS or L-BFGS direction is +1 and trial t is the point x = t."""

    dim = 1

    def __init__(self, value, slope):
        self.v, self.s = value, slope

    def value(self, x):
        return self.v(float(x[0]))

    def gradient(self, x):
        return np.array([self.s(float(x[0]))])


def _flat_after(x):
    return -1.0 if x == 0 else 0.0


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
@pytest.mark.parametrize("value, slope, end, evaluations", [
    # sufficient decrease met with equality at t = 1: accepted
    (lambda x: 0.0 if x == 0 else -1e-4, _flat_after, 1.0, 2),
    # a tiny increase is not a decrease: every halving fails, 50 trials, no step
    (lambda x: 0.0 if x == 0 else 1e-5 * x, _flat_after, 0.0, 51),
    # curvature met with equality (g.d = c2 g0.d): accepted
    (lambda x: -x, lambda x: -1.0 if x == 0 else -0.9, 1.0, 2),
    # too short at t = 1 (still steep): doubled to t = 2
    (lambda x: -x, lambda x: -1.0 if x < 1.5 else 0.0, 2.0, 3),
    # too short at 1, too long at 2: bisected to 1.5
    (lambda x: -x if x <= 1.75 else 1.0, lambda x: -1.0 if x < 1.5 else 0.0, 1.5, 4),
    # only t <= 2^-49 decreases: found at the 50th trial, the last one
    (lambda x: -x if x <= 2.0 ** -49 else 1.0, _flat_after, 2.0 ** -49, 51),
    # only t <= 2^-50 decreases: the 51st trial is not made
    (lambda x: -x if x <= 2.0 ** -50 else 1.0, _flat_after, 0.0, 51),
])
def test_wolfe_line_search_rules(method, value, slope, end, evaluations):
    f = _Line(value, slope)
    if method == "bfgs":
        tr = so.bfgs(f, np.array([0.0]), 1)
    else:
        tr = so.lbfgs(f, np.array([0.0]), 1, line_search="wolfe")
    assert isinstance(tr, so.Trace)
    np.testing.assert_array_equal(tr.path, [[0.0], [end]])
    assert tr.evaluations == evaluations
    np.testing.assert_array_equal(tr.evaluations_at, [1, evaluations])


def test_lbfgs_without_line_search_takes_the_step_as_it_is():
    # the same objective, no line search: the first step t = min(1, 1/|g|_1) = 1 is taken
    # even though it raises f
    f = _Line(lambda x: 0.0 if x == 0 else 1e-5 * x, _flat_after)
    tr = so.lbfgs(f, np.array([0.0]), 1)
    np.testing.assert_array_equal(tr.path, [[0.0], [1.0]])
    np.testing.assert_allclose(tr.losses, [0.0, 1e-5])
    assert tr.evaluations == 2


# ---- Gauss–Newton and Levenberg–Marquardt: defaults and counts ---------------------------

def _linear_problem():
    A = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([1.0, 2.0, 0.5])
    return (lambda x: A @ x - b), (lambda x: A), A, b


def test_gauss_newton_losses_are_half_the_squared_residual():
    residual, jacobian, A, b = _linear_problem()
    tr = so.gauss_newton(residual, jacobian, np.zeros(2), 1)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(tr.losses, [0.5 * b @ b, 0.5 * np.sum((A @ x - b) ** 2)],
                               rtol=1e-12)


def test_levenberg_marquardt_defaults():
    # on a linear least-squares problem every damped step lowers the loss: lambda starts
    # at 1e-3 and is divided by the factor 10 after each accepted step
    residual, jacobian, *_ = _linear_problem()
    tr = so.levenberg_marquardt(residual, jacobian, np.zeros(2), 2)
    np.testing.assert_allclose(tr.dampings, [1e-3, 1e-4], rtol=1e-12)
    tr = so.levenberg_marquardt(residual, jacobian, np.zeros(2), 3, damping=1.0, factor=4.0)
    np.testing.assert_allclose(tr.dampings, [1.0, 0.25, 0.0625], rtol=1e-12)
    tr = so.gauss_newton(residual, jacobian, np.zeros(2), 3, damping=1.0, adaptive=True)
    np.testing.assert_allclose(tr.dampings, [1.0, 0.1, 0.01], rtol=1e-12)
    tr = so.gauss_newton(residual, jacobian, np.zeros(2), 3, damping=1.0, adaptive=True,
                         factor=2.0)
    np.testing.assert_allclose(tr.dampings, [1.0, 0.5, 0.25], rtol=1e-12)


def test_levenberg_marquardt_gives_up_after_max_tries():
    # a Jacobian of the wrong sign makes every step go uphill: each try costs one
    # evaluation, 30 by default, then the run stops where it started
    residual, wrong = (lambda x: x + 0.0), (lambda x: -np.eye(1))
    for run, tries in [
        (lambda **k: so.levenberg_marquardt(residual, wrong, np.ones(1), 2, **k), 30),
        (lambda **k: so.gauss_newton(residual, wrong, np.ones(1), 2, damping=1.0,
                                     adaptive=True, **k), 30),
    ]:
        tr = run()
        assert tr.evaluations == 1 + tries
        np.testing.assert_array_equal(tr.path, [[1.0], [1.0]])
        assert run(max_tries=3).evaluations == 4


# ---- Quickprop: the edge cases of the rules -------------------------------------------------

def test_quickprop_step_edge_cases():
    lr = 0.1
    # Delta' < 0 and the slope changed sign with G' - G = 1: the secant step, no gradient term
    np.testing.assert_allclose(so.quickprop_step(np.array([-0.5]), np.array([0.5]),
                                                 np.array([-1.0]), lr), [0.5], rtol=1e-15)
    # mu < 1: the secant step back is capped at mu |Delta'| (here 0.5, not 2/3)
    np.testing.assert_allclose(so.quickprop_step(np.array([2.0]), np.array([-1.0]),
                                                 np.array([1.0]), lr, mu=0.5), [-0.5],
                               rtol=1e-15)
    # G = 0 after a step: the secant says stay; no gradient term and no 0/0
    with np.errstate(all="raise"):
        got = so.quickprop_step(np.array([0.0]), np.array([-1.0]), np.array([1.0]), lr)
    np.testing.assert_array_equal(got, [0.0])
    # the default mu is Fahlman's 1.75: G < s G' gives the growth-limited step mu Delta'
    np.testing.assert_allclose(so.quickprop_step(np.array([-0.9]), np.array([-1.0]),
                                                 np.array([1.0]), lr), [1.75 + 0.09],
                               rtol=1e-15)


# ---- refusals, every message whole ------------------------------------------------------------

_Q = ls.Quadratic.with_condition_number(10.0)
_G = np.ones(2)
_T = torch.ones(2, dtype=torch.float64)
_MIX = ("arrays come from different libraries: array_api_compat.numpy and "
        "array_api_compat.torch; move them to one backend first")
_RES, _JAC, *_ = _linear_problem()


@pytest.mark.parametrize("exc, msg, fn, args, kwargs", [
    (TypeError, "jacobian must be callable, got int", so.gauss_newton, (_RES, 1, _G, 1), {}),
    (TypeError, "jacobian must be callable, got str", so.gauss_newton, (_RES, "J", _G, 1), {}),
    (TypeError, "x0 must be a NumPy array or torch.Tensor, got list", so.gauss_newton,
     (_RES, _JAC, [0.0, 0.0], 1), {}),
    (ValueError, "x0 must have 1 dimension(s), got shape (2, 1)", so.gauss_newton,
     (lambda x: x, lambda x: np.eye(2), np.ones((2, 1)), 0), {}),
    (TypeError, "residual(x0) must be a NumPy array or torch.Tensor, got list",
     so.gauss_newton, (lambda x: [1.0, 2.0], _JAC, _G, 0), {}),
    (ValueError, "residual(x0) must have 1 dimension(s), got shape (3, 1)", so.gauss_newton,
     (lambda x: np.ones((3, 1)), _JAC, _G, 0), {}),
    (TypeError, "jacobian(x0) must be a NumPy array or torch.Tensor, got list",
     so.gauss_newton, (_RES, lambda x: [[1.0, 0.0]] * 3, _G, 0), {}),
    (ValueError, "jacobian(x0) must have shape (3, 2), got (2, 3)", so.gauss_newton,
     (_RES, lambda x: np.ones((2, 3)), _G, 0), {}),
    (ValueError, "x0 must have shape (2,), got (3,)", so.bfgs, (_Q, np.ones(3), 1), {}),
    (ValueError, "x0 must have shape (2,), got (3,)", so.lbfgs, (_Q, np.ones(3), 1), {}),
    (ValueError, "tol must be a non-negative number, got -1.0", so.bfgs, (_Q, _G, 1),
     {"tol": -1.0}),
    (ValueError, "tol must be a non-negative number, got -1.0", so.lbfgs, (_Q, _G, 1),
     {"tol": -1.0}),
    (ValueError, "steps must be a non-negative int, got -1", so.lbfgs, (_Q, _G, -1), {}),
    (TypeError, "steps must be a non-negative int, got 1.5 of type float", so.lbfgs,
     (_Q, _G, 1.5), {}),
    (ValueError, "lr must be a positive number, got 0.0", so.lbfgs, (_Q, _G, 1), {"lr": 0.0}),
    (ValueError, "lr must be a positive number, got -1.0", so.lbfgs, (_Q, _G, 1),
     {"lr": -1.0}),
    (TypeError, "grad must be a NumPy array or torch.Tensor, got list", so.quickprop_step,
     ([1.0, 1.0], _G, _G, 0.1), {}),
    (TypeError, "prev_grad must be a NumPy array or torch.Tensor, got list",
     so.quickprop_step, (_G, [1.0, 1.0], _G, 0.1), {}),
    (TypeError, "prev_step must be a NumPy array or torch.Tensor, got list",
     so.quickprop_step, (_G, _G, [1.0, 1.0], 0.1), {}),
    (ValueError, "prev_grad must have the shape of grad (2,), got (3,)", so.quickprop_step,
     (_G, np.ones(3), _G, 0.1), {}),
    (TypeError, _MIX.replace("numpy", "@").replace("torch", "numpy").replace("@", "torch"),
     so.quickprop_step, (_T, _G, _G, 0.1), {}),
    (TypeError, _MIX, so.quickprop_step, (_G, _T, _G, 0.1), {}),
    (TypeError, _MIX, so.quickprop_step, (_G, _G, _T, 0.1), {}),
    (ValueError, "lr must be a positive number, got 0.0", so.quickprop_step,
     (_G, _G, _G, 0.0), {}),
    (ValueError, "lr must be a positive number, got -0.1", so.quickprop_step,
     (_G, _G, _G, -0.1), {}),
])
def test_bad_inputs_are_refused_with_the_whole_message(exc, msg, fn, args, kwargs):
    _raises(exc, msg, fn, *args, **kwargs)


def test_quickprop_at_the_shrink_threshold_takes_the_secant_step():
    # G = s G' exactly, s = mu / (1 + mu): not "too big", so the secant step
    # Delta' G / (G' - G) is taken (mu Delta' in exact arithmetic, not in floating point)
    mu, lr = 1.75, 1e-300
    s = mu / (1 + mu)
    prev_grad, prev_step = np.array([-5.0, 5.0]), np.array([1.0, -1.0])
    grad = s * prev_grad
    expected = prev_step * grad / (prev_grad - grad) - lr * grad
    got = so.quickprop_step(grad, prev_grad, prev_step, lr, mu)
    np.testing.assert_array_equal(got, expected)
    assert np.all(got != mu * prev_step)


def _tiny_pair(x):
    # from x = 0 the first step is s = 1e-10 and the gradient changes by y = 1 exactly,
    # so y.s = 1e-10: on the threshold, the pair is not used
    return -1e-10 if x == 0 else (1.0 - 1e-10 if x == 1e-10 else 0.0)


def test_pairs_with_y_dot_s_at_the_threshold_are_dropped():
    f = _Line(lambda x: 0.0 if x == 0 else (-1.0 if x == 1e-10 else -2.0), _tiny_pair)
    end = 1e-10 - (1.0 - 1e-10)                       # the second step is -g: B is still I
    for tr in (so.bfgs(f, np.array([0.0]), 2), so.lbfgs(f, np.array([0.0]), 2)):
        np.testing.assert_array_equal(tr.path, [[0.0], [1e-10], [end]])


def test_model_objective_checks_theta():
    rng = np.random.default_rng(0)
    X, y = nb.data.moons(10, rng=rng)
    model = nb.mlp([2, 3, 2], "tanh", rng=rng)
    f = so.ModelObjective(model, nb.CrossEntropyLoss(), X, y)
    assert f.dim == 17 == f.x0().shape[0]
    for method in (f.value, f.gradient, f.hessian):
        _raises(ValueError, "theta must have shape (17,), got (3,)", method, np.ones(3))
        _raises(TypeError, "theta must be a NumPy array or torch.Tensor, got list", method,
                [0.0] * 17)
    _raises(ValueError, "x0 must have shape (17,), got (3,)", so.lbfgs, f, np.ones(3), 1)


# ---- Newton's method: counts, defaults and stopping ------------------------------------------

class _Flat(_Sphere):
    """Gradient x and Hessian I, but a constant value: no step ever lowers it."""

    def value(self, x):
        return 0.0


def test_newton_trace_on_a_sphere_by_hand(backend):
    x0 = backend.asarray([3.0, 4.0])
    tr = so.newton(_Sphere(), x0, 3)
    np.testing.assert_array_equal(tr.path, [[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_array_equal(tr.losses, [12.5, 0.0])
    np.testing.assert_array_equal(tr.grad_norms, [5.0, 0.0])
    assert tr.grad_norms.dtype == np.float64
    assert tr.evaluations == 2 and tr.dampings == [0.0]
    np.testing.assert_array_equal(tr.evaluations_at, [1, 2])
    assert type(tr.x) is type(x0)
    assert to_numpy(x0).tolist() == [3.0, 4.0]


def test_newton_fixed_damping_and_tol():
    # p = -x / (1 + lambda): with lambda = 1 every step halves x; the run stops at the
    # first point with |g| <= tol (equality included)
    tr = so.newton(_Sphere(), np.array([3.0, 4.0]), 10, damping=1.0, tol=1.25)
    np.testing.assert_array_equal(tr.grad_norms, [5.0, 2.5, 1.25])
    assert tr.dampings == [1.0, 1.0] and tr.evaluations == 3


def test_newton_adaptive_divides_lambda_by_the_factor():
    x0 = np.array([3.0, 4.0])
    tr = so.newton(_Sphere(), x0, 2, damping=1.0, adaptive=True)
    np.testing.assert_allclose(tr.dampings, [1.0, 0.1], rtol=1e-15)
    np.testing.assert_allclose(tr.path, [x0, x0 / 2, x0 / 2 * (0.1 / 1.1)], rtol=1e-14)
    assert tr.evaluations == 3
    tr = so.newton(_Sphere(), x0, 2, damping=1.0, adaptive=True, factor=2.0)
    np.testing.assert_allclose(tr.dampings, [1.0, 0.5], rtol=1e-15)
    np.testing.assert_allclose(tr.path[-1], x0 / 2 / 3, rtol=1e-14)


def test_newton_adaptive_gives_up_after_max_tries():
    tr = so.newton(_Flat(), np.array([3.0, 4.0]), 5, damping=1.0, adaptive=True)
    assert tr.evaluations == 31 and tr.dampings == []
    np.testing.assert_array_equal(tr.path, [[3.0, 4.0], [3.0, 4.0]])
    assert so.newton(_Flat(), np.array([3.0, 4.0]), 5, damping=1.0, adaptive=True,
                     max_tries=2).evaluations == 3


def test_newton_adaptive_multiplies_lambda_by_the_factor_on_every_refusal():
    # lambda = 2 when each refusal comes, so lambda * 10 = 20 and not 10.
    # A singular H + lambda I (H = -2I at lambda = 2) is one refusal ...
    class Cap(_Sphere):
        def value(self, x):
            return -float(x @ x)

        def gradient(self, x):
            return -2.0 * x

        def hessian(self, x):
            return -2.0 * np.eye(2)

    tr = so.newton(Cap(), np.array([0.9, 0.0]), 1, damping=2.0, adaptive=True)
    assert tr.dampings == [20.0] and tr.evaluations == 2

    # ... a step that raises f is the other: f = x^2/2 + 5 x^4 with H reported as 1, from
    # x = 1 (g = 21): lambda = 2 jumps to x = -6, refused; lambda = 20 lands on x = 0
    class Quartic:
        dim = 1

        def value(self, x):
            return float(0.5 * x @ x + 5.0 * (x @ x) ** 2)

        def gradient(self, x):
            return x + 20.0 * x**3

        def hessian(self, x):
            return np.eye(1)

    tr = so.newton(Quartic(), np.array([1.0]), 1, damping=2.0, adaptive=True)
    assert tr.dampings == [20.0] and tr.evaluations == 3
    np.testing.assert_array_equal(tr.path, [[1.0], [0.0]])


def test_newton_adaptive_raises_lambda_past_a_singular_matrix():
    # H = -I: H + lambda I is singular at lambda = 1, which costs no evaluation; at
    # lambda = 10 the step x / 9 points away from the maximum at 0 and lowers f
    class Cap(_Sphere):
        def value(self, x):
            return -0.5 * float(x @ x)

        def gradient(self, x):
            return -x

        def hessian(self, x):
            return -np.eye(2)

    tr = so.newton(Cap(), np.array([0.9, 0.0]), 1, damping=1.0, adaptive=True)
    assert tr.dampings == [10.0] and tr.evaluations == 2
    np.testing.assert_allclose(tr.path[-1], [1.0, 0.0], rtol=1e-14)


def test_newton_steps_keep_the_dtype(backend):
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = np.array([1.0, -1.0])
    for lib in (np, torch):
        g32, H32 = lib.asarray(g.astype(np.float32)), lib.asarray(H.astype(np.float32))
        for step in (so.newton_step, so.saddle_free_step):
            p = step(g32, H32, 0.5)
            assert p.dtype == g32.dtype and type(p) is type(g32)
            np.testing.assert_allclose(to_numpy(p), -np.linalg.solve(H + 0.5 * np.eye(2), g),
                                       rtol=1e-6)


@pytest.mark.parametrize("exc, msg, fn, args, kwargs", [
    (TypeError, "gradient must be a NumPy array or torch.Tensor, got list", so.newton_step,
     ([1.0], np.eye(1)), {}),
    (TypeError, "hessian must be a NumPy array or torch.Tensor, got list", so.newton_step,
     (np.ones(1), [[1.0]]), {}),
    (ValueError, "gradient must have shape (..., d), got ()", so.newton_step,
     (np.array(1.0), np.eye(1)), {}),
    (ValueError, "gradient must have shape (..., d), got ()", so.saddle_free_step,
     (np.array(1.0), np.eye(1)), {}),
    (ValueError, "hessian must have shape (2, 2), got (2,)", so.saddle_free_step,
     (np.ones(2), np.ones(2)), {}),
    (TypeError, "hessian must be a numpy array like gradient, got a torch array; put both on "
                "one backend with Backend.asarray", so.newton_step,
     (np.ones(2), torch.eye(2, dtype=torch.float64)), {}),
    (TypeError, "hessian must be a torch array like gradient, got a numpy array; put both on "
                "one backend with Backend.asarray", so.saddle_free_step,
     (torch.ones(2, dtype=torch.float64), np.eye(2)), {}),
    (ValueError, "damping must be a non-negative number, got -1.0", so.saddle_free_step,
     (np.ones(2), np.eye(2), -1.0), {}),
    (ValueError, "the matrix H + damping * I is singular: increase damping", so.newton_step,
     (torch.ones(2, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)), {}),
    (ValueError, "steps must be a non-negative int, got -1", so.newton,
     (_Sphere(), np.ones(2), -1), {}),
    (ValueError, "damping must be a non-negative number, got -1.0", so.newton,
     (_Sphere(), np.ones(2), 1), {"damping": -1.0}),
    (ValueError, "damping must be a non-negative number, got -1.0", so.newton,
     (_Sphere(), np.ones(2), 0), {"damping": -1.0}),
    (ValueError, "damping must be a non-negative number, got -1.0", so.newton,
     (_Sphere(), np.ones(2), 1), {"damping": -1.0, "adaptive": True}),
    (ValueError, "factor must lie in (1, inf), got 1.0", so.newton,
     (_Sphere(), np.ones(2), 1), {"factor": 1.0}),
    (ValueError, "tol must be a non-negative number, got -1.0", so.newton,
     (_Sphere(), np.ones(2), 1), {"tol": -1.0}),
    (ValueError, "max_tries must be a positive int, got 0", so.newton,
     (_Sphere(), np.ones(2), 1), {"max_tries": 0}),
    (TypeError, "x0 must be a NumPy array or torch.Tensor, got list", so.newton,
     (_Sphere(), [1.0, 1.0], 1), {}),
    (ValueError, "x0 must have 1 dimension(s), got shape (2, 1)", so.bfgs,
     (_Sphere(), np.ones((2, 1)), 1), {}),
    (TypeError, "f must have the methods value, gradient (e.g. a landscapes.Objective or a "
     "ModelObjective), got _Missing without gradient", so.lbfgs, (None, np.ones(2), 1), {}),
    (TypeError, "f must have the methods value, gradient, hessian (e.g. a "
     "landscapes.Objective or a ModelObjective), got _Missing without hessian", so.newton,
     (None, np.ones(2), 1), {}),
])
def test_newton_refusals_with_the_whole_message(exc, msg, fn, args, kwargs):
    class _Missing:
        def value(self, x):
            return 0.0

        gradient = 3                                   # an attribute, but not a method

    if args[0] is None:
        f = _Missing()
        if "hessian" in msg:
            f.gradient = lambda x: x
        args = (f, *args[1:])
    _raises(exc, msg, fn, *args, **kwargs)




def test_trace_path_is_float64_for_float32_starts():
    for x0 in (np.array([0.3, 0.4], dtype=np.float32), torch.tensor([0.3, 0.4])):
        for tr in (so.bfgs(_Sphere(), x0, 1), so.newton(_Sphere(), x0, 1)):
            assert tr.path.dtype == np.float64 and tr.losses.dtype == np.float64
            assert tr.evaluations_at.dtype == np.dtype(int)


def test_newton_zero_steps_is_the_start():
    tr = so.newton(_Sphere(), np.array([3.0, 4.0]), 0)
    np.testing.assert_array_equal(tr.path, [[3.0, 4.0]])
    np.testing.assert_array_equal(tr.grad_norms, [5.0])
    assert tr.evaluations == 1 and tr.dampings == []
