"""Hessian of a model's loss: autograd oracle, exact cases, NumPy/PyTorch parity, eigenvalues, refusals."""


import numpy as np
import pytest
import torch
from conftest import raises_whole as _raises

import nnbook as nb
from nnbook import hessian as hs
from nnbook import to_numpy
from nnbook.gradcheck import numerical_gradient, relative_error


def _problem(backend, loss="ce", activation="tanh", sizes=(2, 5, 2), n=30, seed=0):
    rng = np.random.default_rng(seed)
    X, labels = nb.data.moons(n, rng=rng)
    model = nb.mlp(list(sizes), activation, rng=rng, backend=backend)
    if loss == "ce":
        return model, nb.CrossEntropyLoss(), backend.asarray(X), backend.asarray(labels)
    target = rng.standard_normal((n, sizes[-1]))
    if loss == "bce":
        return model, nb.BCEWithLogitsLoss(), backend.asarray(X), backend.asarray(
            (target > 0).astype(float))
    return model, nb.MSELoss(), backend.asarray(X), backend.asarray(target)


def test_flat_parameters_round_trip(backend):
    model, *_ = _problem(backend)
    theta = hs.flat_parameters(model)
    assert tuple(theta.shape) == (hs.num_parameters(model),) == (2 * 5 + 5 + 5 * 2 + 2,)
    np.testing.assert_array_equal(to_numpy(theta[:10]), to_numpy(model[0].W.data).ravel())
    new = np.arange(27.0)
    hs.set_flat_parameters(model, new)
    np.testing.assert_array_equal(to_numpy(hs.flat_parameters(model)), new)
    np.testing.assert_array_equal(to_numpy(model[2].b.data), [25.0, 26.0])
    theta[0] = 99.0                                   # a copy: the model does not change
    assert float(model[0].W.data[0, 0]) == 0.0


def test_flat_gradient_matches_finite_differences(backend):
    model, loss_fn, X, y = _problem(backend)
    g = hs.flat_gradient(model, loss_fn, X, y)
    theta = hs.flat_parameters(model)

    def f():
        hs.set_flat_parameters(model, theta)
        return hs.loss_value(model, loss_fn, X, y)

    assert relative_error(g, numerical_gradient(f, theta)) < 1e-7


@pytest.mark.parametrize(("loss", "activation"), [
    ("ce", "tanh"), ("mse", "tanh"), ("bce", "sigmoid"), ("mse", "relu"), ("ce", "identity"),
])
def test_hessian_matches_torch_autograd(backend, loss, activation):
    model, loss_fn, X, y = _problem(backend, loss, activation, sizes=(2, 4, 3, 2))
    H = hs.hessian(model, loss_fn, X, y)
    oracle = hs.autograd_hessian(model, loss_fn, X, y)
    assert tuple(H.shape) == oracle.shape == (35, 35)
    assert relative_error(H, oracle) < 1e-7
    np.testing.assert_array_equal(to_numpy(H), to_numpy(H).T)


def test_hessian_of_a_residual_network_matches_autograd(backend):
    rng = np.random.default_rng(3)
    model = nb.Sequential(nb.Linear(2, 3, rng=rng, backend=backend),
                          nb.Residual(nb.Sequential(nb.Tanh(), nb.Linear(3, 3, rng=rng, backend=backend))),
                          nb.Tanh(), nb.Linear(3, 1, rng=rng, backend=backend))
    X, t = rng.standard_normal((10, 2)), rng.standard_normal((10, 1))
    X, t = backend.asarray(X), backend.asarray(t)
    H = hs.hessian(model, nb.MSELoss(), X, t)
    assert relative_error(H, hs.autograd_hessian(model, nb.MSELoss(), X, t)) < 1e-7


def test_hessian_of_least_squares_is_exact(backend, rng):
    """A linear model with MSE: H = (2/N) [X 1]^T [X 1], whatever the parameters."""
    X, t = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    model = nb.Linear(3, 1, rng=rng, backend=backend)
    H = hs.hessian(model, nb.MSELoss(), backend.asarray(X), backend.asarray(t))
    A = np.hstack([X, np.ones((20, 1))])
    np.testing.assert_allclose(to_numpy(H), 2.0 / 20 * A.T @ A, rtol=1e-8, atol=1e-9)


def test_numpy_and_torch_agree(rng):
    Hs = []
    for bk in (nb.Backend("numpy"), nb.Backend("torch", "cpu")):
        model, loss_fn, X, y = _problem(bk)
        Hs.append(to_numpy(hs.hessian(model, loss_fn, X, y)))
    np.testing.assert_allclose(Hs[0], Hs[1], rtol=1e-9, atol=1e-11)


def test_hvp_is_the_hessian_times_v(backend, rng):
    model, loss_fn, X, y = _problem(backend)
    theta = to_numpy(hs.flat_parameters(model)).copy()
    v = rng.standard_normal(27)
    Hv = hs.hvp(model, loss_fn, X, y, v)
    assert relative_error(Hv, hs.autograd_hessian(model, loss_fn, X, y) @ v) < 1e-7
    assert relative_error(hs.hvp(model, loss_fn, X, y, backend.asarray(3.0 * v)), 3.0 * to_numpy(Hv)) < 1e-7
    np.testing.assert_array_equal(to_numpy(hs.flat_parameters(model)), theta)   # restored
    np.testing.assert_array_equal(to_numpy(hs.hvp(model, loss_fn, X, y, np.zeros(27))), np.zeros(27))


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_top_eigenvalues_match_the_full_spectrum(backend, method):
    model, loss_fn, X, y = _problem(backend, sizes=(2, 6, 2))
    exact = np.linalg.eigvalsh(hs.autograd_hessian(model, loss_fn, X, y))[::-1]
    theta = to_numpy(hs.flat_parameters(model)).copy()
    top = hs.top_eigenvalues(model, loss_fn, X, y, k=3, iters=300 if method == "power" else 40,
                             rng=np.random.default_rng(5), method=method)
    assert isinstance(top, np.ndarray) and top.shape == (3,)
    # Power iteration converges at the rate |lambda_4/lambda_3| per step: slower than Lanczos.
    np.testing.assert_allclose(top, exact[:3], rtol=1e-6 if method == "lanczos" else 1e-4)
    np.testing.assert_array_equal(to_numpy(hs.flat_parameters(model)), theta)


def test_lanczos_few_steps_find_the_extremes(rng):
    """With m << P steps, the largest Ritz value already approximates the top eigenvalue."""
    Q, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    lam = np.concatenate([[10.0, 5.0], rng.uniform(-1, 1, 198)])
    A = (Q * lam) @ Q.T
    T, V = hs.lanczos(lambda q: A @ q, rng.standard_normal(200), 30)
    assert T.shape == (30, 30) and V.shape == (30, 200)
    np.testing.assert_allclose(V @ V.T, np.eye(30), atol=1e-12)          # orthonormal basis
    np.testing.assert_allclose(V @ A @ V.T, T, atol=1e-10)               # Q^T A Q = T
    np.testing.assert_allclose(np.linalg.eigvalsh(T)[-2:], [5.0, 10.0], rtol=1e-8)


def test_lanczos_stops_on_an_invariant_subspace():
    A = np.diag([3.0, 2.0, 1.0, 0.0])
    T, _ = hs.lanczos(lambda q: A @ q, np.array([1.0, 1.0, 0.0, 0.0]), 4)
    assert T.shape == (2, 2)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), [2.0, 3.0])




def test_bad_inputs_are_refused():
    bk = nb.Backend()
    model, loss_fn, X, y = _problem(bk)
    rng = np.random.default_rng(0)
    _raises(TypeError, "model must be an nnbook Module, got Module", hs.hessian,
            torch.nn.Module(), loss_fn, X, y)
    _raises(TypeError, "loss_fn must be an nnbook loss (with forward and backward), got function",
            hs.hessian, model, lambda a, b: 0.0, X, y)
    _raises(ValueError, "x must have shape (N, 2), got (30, 3)",
            hs.hessian, model, loss_fn, np.zeros((30, 3)), y)
    _raises(ValueError, "y must have 30 rows like X, got shape (29,)", hs.hessian,
            model, loss_fn, X, y[:29])
    _raises(ValueError, "v must have shape (27,), got (26,)", hs.hvp, model, loss_fn, X, y,
            np.zeros(26))
    _raises(ValueError, "theta must have shape (27,), got (3, 9)", hs.set_flat_parameters,
            model, np.zeros((3, 9)))
    _raises(ValueError, "eps must be a positive number, got -1.0", hs.hessian,
            model, loss_fn, X, y, eps=-1.0)
    _raises(ValueError, "k must be an int in [1, 27] (the number of parameters), got 28",
            hs.top_eigenvalues, model, loss_fn, X, y, k=28, rng=rng)
    _raises(ValueError, "iters must be an int >= k = 3, got 2", hs.top_eigenvalues,
            model, loss_fn, X, y, k=3, iters=2, rng=rng)
    _raises(ValueError, "method must be 'lanczos' or 'power', got 'qr'", hs.top_eigenvalues,
            model, loss_fn, X, y, rng=rng, method="qr")
    _raises(TypeError, "rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
            "got int", hs.top_eigenvalues, model, loss_fn, X, y, rng=0)
    _raises(ValueError, "v0 must not be the zero vector", hs.lanczos, lambda q: q, np.zeros(3), 2)
    _raises(ValueError, "iters must be a positive int, got 0", hs.lanczos, lambda q: q,
            np.ones(3), 0)
    _raises(ValueError, "model must have at least one parameter, got none", hs.flat_parameters,
            nb.Sequential(nb.Tanh()))

    class Odd(nb.Tanh):
        pass

    odd = nb.Sequential(nb.Linear(2, 2, rng=rng), Odd())
    _raises(TypeError, "autograd_hessian does not know the module Odd", hs.autograd_hessian,
            odd, nb.MSELoss(), X, np.zeros((30, 2)))


def test_a_stochastic_model_is_refused_until_eval():
    # A new dropout mask on every forward pass would make the gradient differences noise.
    from nnbook.dropout import Dropout

    bk = nb.Backend()
    _, loss_fn, X, y = _problem(bk)
    rng = np.random.default_rng(0)
    model = nb.Sequential(nb.Linear(2, 8, rng=rng), nb.Tanh(),
                          Dropout(0.5, rng=np.random.default_rng(1)), nb.Linear(8, 2, rng=rng))
    v = rng.standard_normal(hs.num_parameters(model))
    msg = ("model must be deterministic (a new dropout mask on every forward makes finite "
           "differences of the gradient meaningless): call model.eval() first, got Dropout active")
    for fn, args in [(hs.hvp, (v,)), (hs.hessian, ()), (hs.loss_value, ()),
                     (hs.flat_gradient, ())]:
        _raises(ValueError, msg, fn, model, loss_fn, X, y, *args)
    _raises(ValueError, msg, hs.top_eigenvalues, model, loss_fn, X, y, k=2, rng=rng)

    class Noisy(nb.Tanh):
        stochastic = True               # any module may declare itself random

    noisy = nb.Sequential(nb.Linear(2, 2, rng=rng), Noisy())
    _raises(ValueError, msg.replace("Dropout", "Noisy"), hs.hvp, noisy, loss_fn, X, y,
            np.ones(6))

    model.eval()                        # deterministic now: the same as without dropout
    H = hs.hessian(model, loss_fn, X, y)
    assert np.allclose(hs.hvp(model, loss_fn, X, y, v), H @ v, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# The step eps, the device of the unit vectors, and the defaults
# --------------------------------------------------------------------------

def test_hvp_uses_the_given_step(backend, rng):
    """hvp(eps=e) is the central difference of the gradient with a step of length e along v."""
    model, loss_fn, X, y = _problem(backend, sizes=(2, 3, 2))
    theta = to_numpy(hs.flat_parameters(model)).copy()
    v = rng.standard_normal(theta.shape[0])
    h = 0.5 / np.linalg.norm(v)
    grads = []
    for sign in (1.0, -1.0):
        hs.set_flat_parameters(model, theta + sign * h * v)
        grads.append(to_numpy(hs.flat_gradient(model, loss_fn, X, y)))
    hs.set_flat_parameters(model, theta)
    expected = (grads[0] - grads[1]) / (2.0 * h)
    Hv = to_numpy(hs.hvp(model, loss_fn, X, y, v, eps=0.5))
    np.testing.assert_allclose(Hv, expected, rtol=1e-10, atol=1e-12)
    # a step this large is far from the default's O(eps^2) accuracy: the step was used
    exact = hs.autograd_hessian(model, loss_fn, X, y) @ v
    assert relative_error(Hv, exact) > 1e-4
    _raises(ValueError, "eps must be a positive number, got -1.0", hs.hvp,
            model, loss_fn, X, y, v, eps=-1.0)


def test_top_eigenvalues_use_the_given_step():
    """A large step (eps = 0.5) moves the eigenvalues away from autograd's; the default does not."""
    bk = nb.Backend()
    model, loss_fn, X, y = _problem(bk, sizes=(2, 3, 2))
    P = hs.num_parameters(model)
    exact = np.linalg.eigvalsh(hs.autograd_hessian(model, loss_fn, X, y))[::-1][:2]
    default = hs.top_eigenvalues(model, loss_fn, X, y, k=2, iters=P,
                                 rng=np.random.default_rng(0))
    np.testing.assert_allclose(default, exact, rtol=1e-6)
    big = hs.top_eigenvalues(model, loss_fn, X, y, k=2, iters=P, eps=0.5,
                             rng=np.random.default_rng(0))
    assert np.max(np.abs(big - exact) / np.abs(exact)) > 1e-3
    _raises(ValueError, "eps must be a positive number, got -1.0", hs.top_eigenvalues,
            model, loss_fn, X, y, rng=np.random.default_rng(0), eps=-1.0)


def test_hessian_stays_on_the_model_device_whatever_torch_default_device():
    """The unit vectors are made on theta's device, not on torch's default device."""
    bk = nb.Backend("torch", "cpu")
    rng = np.random.default_rng(0)
    X, t = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    model = nb.Linear(3, 1, rng=rng, backend=bk)
    with torch.device("meta"):
        H = hs.hessian(model, nb.MSELoss(), bk.asarray(X), bk.asarray(t))
    assert H.device == torch.device("cpu")
    A = np.hstack([X, np.ones((20, 1))])
    np.testing.assert_allclose(to_numpy(H), 2.0 / 20 * A.T @ A, rtol=1e-8, atol=1e-9)


class _CountingMSE(nb.MSELoss):
    """MSE that counts its backward passes (one per gradient)."""

    def __init__(self):
        super().__init__()
        self.backwards = 0

    def backward(self, *args, **kwargs):
        self.backwards += 1
        return super().backward(*args, **kwargs)


def test_top_eigenvalues_defaults_one_eigenvalue_and_100_iterations():
    bk = nb.Backend()
    model, _, X, y = _problem(bk, loss="mse", sizes=(2, 3, 2))
    loss_fn = _CountingMSE()
    top = hs.top_eigenvalues(model, loss_fn, X, y, rng=np.random.default_rng(0),
                             method="power")
    assert top.shape == (1,)
    # 100 power iterations and the final Rayleigh-Ritz step: 101 products, 2 gradients each
    assert loss_fn.backwards == 2 * 101
    exact = np.linalg.eigvalsh(hs.autograd_hessian(model, nb.MSELoss(), X, y))[-1]
    np.testing.assert_allclose(top, [exact], rtol=1e-6)


def test_top_eigenvalues_with_k_and_iters_equal_to_p_is_the_whole_spectrum(backend):
    model, loss_fn, X, y = _problem(backend, loss="mse", sizes=(2, 3, 1))
    P = hs.num_parameters(model)
    top = hs.top_eigenvalues(model, loss_fn, X, y, k=P, iters=P, rng=np.random.default_rng(2))
    exact = np.linalg.eigvalsh(hs.autograd_hessian(model, loss_fn, X, y))[::-1]
    assert top.shape == (P,)
    np.testing.assert_allclose(top, exact, rtol=1e-6, atol=1e-8)


def test_top_eigenvalues_refuses_k_beyond_a_closed_krylov_space():
    """A least-squares fit with orthogonal, equal-norm columns has H = 2 I: one Lanczos step."""
    bk = nb.Backend()
    X = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    model = nb.Linear(2, 1, rng=np.random.default_rng(0), backend=bk)
    hs.set_flat_parameters(model, np.array([0.5, -0.25, 0.125]))
    t = X @ np.array([[0.5], [-0.25]]) + 0.125          # fitted exactly: g = 0
    np.testing.assert_allclose(to_numpy(hs.hessian(model, nb.MSELoss(), X, t)), 2.0 * np.eye(3),
                               atol=1e-10)
    # Central differences are exact on a quadratic for any step; a long one keeps the
    # rounding of theta + h v far below Lanczos' breakdown threshold.
    np.testing.assert_allclose(hs.top_eigenvalues(model, nb.MSELoss(), X, t, k=1, eps=1e3,
                                                  rng=np.random.default_rng(0)), [2.0])
    _raises(ValueError, "the Krylov space of the starting vector has dimension 1 < k = 2; "
            "try another rng", hs.top_eigenvalues, model, nb.MSELoss(), X, t, k=2, eps=1e3,
            rng=np.random.default_rng(0))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": True}, "k must be an int in [1, 27] (the number of parameters), got True"),
    ({"k": 1.5}, "k must be an int in [1, 27] (the number of parameters), got 1.5"),
    ({"k": 0}, "k must be an int in [1, 27] (the number of parameters), got 0"),
    ({"iters": True}, "iters must be an int >= k = 1, got True"),
    ({"iters": 2.5}, "iters must be an int >= k = 1, got 2.5"),
    ({"k": 2, "iters": 1}, "iters must be an int >= k = 2, got 1"),
])
def test_top_eigenvalues_refuses_bad_k_and_iters(kwargs, message):
    model, loss_fn, X, y = _problem(nb.Backend())
    _raises(ValueError, message, hs.top_eigenvalues, model, loss_fn, X, y,
            rng=np.random.default_rng(0), **kwargs)


# --------------------------------------------------------------------------
# Lanczos: its arguments and its stopping rule
# --------------------------------------------------------------------------

@pytest.mark.parametrize("iters", [True, 2.5, 0, -1])
def test_lanczos_refuses_bad_iters(iters):
    _raises(ValueError, f"iters must be a positive int, got {iters!r}", hs.lanczos,
            lambda q: q, np.ones(3), iters)


def test_lanczos_one_step_is_the_rayleigh_quotient(rng):
    A = np.diag([1.0, 2.0, 3.0])
    v0 = np.array([1.0, 1.0, 2.0])
    T, Q = hs.lanczos(lambda q: A @ q, v0, 1)
    assert T.shape == (1, 1) and Q.shape == (1, 3)
    np.testing.assert_allclose(T, [[v0 @ A @ v0 / (v0 @ v0)]], rtol=1e-15)
    np.testing.assert_allclose(Q[0], v0 / np.linalg.norm(v0), rtol=1e-15)


@pytest.mark.parametrize("c", [1e-15, 1.0, 1e6])
def test_lanczos_is_scale_invariant(rng, c):
    """The stopping rule is relative: c A gives c T and the same vectors, tiny or huge c."""
    B = rng.standard_normal((6, 6))
    A = B + B.T
    v0 = rng.standard_normal(6)
    T1, Q1 = hs.lanczos(lambda q: A @ q, v0, 6)
    Tc, Qc = hs.lanczos(lambda q: c * (A @ q), v0, 6)
    assert T1.shape == Tc.shape == (6, 6)
    np.testing.assert_allclose(Tc, c * T1, rtol=1e-9, atol=1e-9 * c)
    np.testing.assert_allclose(Qc, Q1, atol=1e-9)
    np.testing.assert_allclose(np.linalg.eigvalsh(T1), np.linalg.eigvalsh(A), rtol=1e-10)


def test_lanczos_stops_when_beta_is_negligible_next_to_a_large_alpha():
    """A = diag(1, 1 + 1e-13): beta_1 = 5e-14 is below 1e-12 times the scale |alpha_1| = 1."""
    A = np.diag([1.0, 1.0 + 1e-13])
    T, Q = hs.lanczos(lambda q: A @ q, np.array([1.0, 1.0]), 2)
    assert T.shape == (1, 1) and Q.shape == (1, 2)
    np.testing.assert_allclose(T, [[1.0 + 0.5e-13]], rtol=1e-15)


def test_lanczos_stops_when_beta_is_negligible_next_to_an_earlier_beta():
    """A = diag(1, -1, 0), v0 = (1, 1, d): alpha_1 = alpha_2 = 0, beta_1 = 1, beta_2 = d/sqrt(2).

    The scale is the largest |alpha| or beta so far (here beta_1 = 1), not the current step's.
    """
    A = np.diag([1.0, -1.0, 0.0])
    T, _ = hs.lanczos(lambda q: A @ q, np.array([1.0, 1.0, 1e-14]), 3)
    assert T.shape == (2, 2)
    np.testing.assert_allclose(T, [[0.0, 1.0], [1.0, 0.0]], atol=1e-13)
    # with d large enough the third direction is found: the full 3 x 3 T
    T, _ = hs.lanczos(lambda q: A @ q, np.array([1.0, 1.0, 1e-3]), 3)
    assert T.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), [-1.0, 0.0, 1.0], atol=1e-12)


def test_lanczos_stops_at_a_beta_equal_to_the_threshold():
    """beta_1 = 2^-40 exactly equals 1e-12 * alpha_1 (in floating point): that is a breakdown."""
    s = 2.0**-40 / 1e-12
    assert 1e-12 * s == 2.0**-40
    T, _ = hs.lanczos(lambda q: np.array([s * q[0], 2.0**-40 * q[0]]), np.array([1.0, 0.0]), 2)
    assert T.shape == (1, 1) and T[0, 0] == s
    # just above the threshold the second step is taken
    T, _ = hs.lanczos(lambda q: np.array([s * q[0] + 2.0**-39 * q[1], 2.0**-39 * q[0]]),
                      np.array([1.0, 0.0]), 2)
    assert T.shape == (2, 2)


class _CountingArray(np.ndarray):
    """An ndarray that counts the products ``Q @ self`` (the projections of Gram-Schmidt)."""

    projections = 0

    def __rmatmul__(self, other):
        type(self).projections += 1
        return np.asarray(other) @ np.asarray(self)


def test_lanczos_reorthogonalises_twice_per_step():
    A = np.diag([1.0, 2.0, 3.0, 4.0])
    _CountingArray.projections = 0
    T, _ = hs.lanczos(lambda q: (A @ np.asarray(q)).view(_CountingArray), np.ones(4), 3)
    assert T.shape == (3, 3)
    assert _CountingArray.projections == 2 * 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_step_is_the_cube_root_of_the_unit_roundoff(dtype):
    """eps = u^(1/3): about 6e-6 in float64, 5e-3 in float32."""
    bk = nb.Backend("numpy", "cpu", dtype)
    model, loss_fn, X, y = _problem(bk, sizes=(2, 3, 2))
    v = np.random.default_rng(0).standard_normal(hs.num_parameters(model)).astype(dtype)
    u = float(np.finfo(dtype).eps)
    np.testing.assert_array_equal(to_numpy(hs.hvp(model, loss_fn, X, y, v)),
                                  to_numpy(hs.hvp(model, loss_fn, X, y, v, eps=u ** (1 / 3))))
    assert not np.array_equal(to_numpy(hs.hvp(model, loss_fn, X, y, v)),
                              to_numpy(hs.hvp(model, loss_fn, X, y, v, eps=u ** (1 / 4))))


@pytest.mark.parametrize("eps", [0, 0.0, -1e-3, "0.1"])
def test_a_step_that_is_not_positive_is_refused(eps):
    model, loss_fn, X, y = _problem(nb.Backend(), sizes=(2, 3, 2))
    _raises(ValueError, f"eps must be a positive number, got {eps!r}", hs.hessian,
            model, loss_fn, X, y, eps=eps)


# --------------------------------------------------------------------------
# Flat vectors, the gradient passes, refusals of random modules and odd losses
# --------------------------------------------------------------------------

def test_flat_parameters_turns_a_negative_zero_into_zero(backend):
    """The copy is theta + 0.0: a parameter -0.0 comes out as +0.0 (IEEE: -0 + 0 = +0)."""
    model, *_ = _problem(backend)
    theta = np.arange(27.0)
    theta[0] = -0.0
    hs.set_flat_parameters(model, theta)
    assert np.signbit(to_numpy(model[0].W.data)[0, 0])
    out = to_numpy(hs.flat_parameters(model))
    assert out[0] == 0.0 and not np.signbit(out[0])
    np.testing.assert_array_equal(out[1:], theta[1:])


class _RecordingMSE(nb.MSELoss):
    """MSE that records the ``validate`` flag of each forward pass."""

    def __init__(self):
        super().__init__()
        self.flags = []

    def forward(self, output, target, validate=True):
        self.flags.append(validate)
        return super().forward(output, target, validate=validate)


class _RecordingLinear(nb.Linear):
    """A Linear model that records the ``input_grad`` asked of its backward passes."""

    def backward(self, dout, input_grad=True):
        self.asked = [*getattr(self, "asked", []), input_grad]
        return super().backward(dout, input_grad)


def test_the_inner_gradients_skip_validation_and_the_input_gradient(rng):
    """Targets are validated once; the two gradients of hvp pass validate=False and
    ask the model for no input gradient (input_grad=False)."""
    X, t = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    model = _RecordingLinear(3, 1, rng=rng)
    loss_fn = _RecordingMSE()
    v = rng.standard_normal(4)
    Hv = hs.hvp(model, loss_fn, X, t, v)
    A = np.hstack([X, np.ones((8, 1))])
    np.testing.assert_allclose(to_numpy(Hv), 2.0 / 8 * A.T @ A @ v, rtol=1e-8)
    assert loss_fn.flags == [True, False, False]
    assert all(isinstance(f, bool) for f in loss_fn.flags)
    assert model.asked == [False, False]
    assert all(isinstance(f, bool) for f in model.asked)


class _WithUnused(nb.Linear):
    """A Linear layer with an extra parameter that the loss does not depend on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unused = nb.layers.Parameter(self.backend.asarray(np.full(2, 7.0)), "unused")


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_parameter_without_gradient_gets_zeros_of_the_model_dtype(library, dtype, rng):
    """A parameter whose backward leaves p.grad at None has gradient 0 (and zero Hessian rows)."""
    bk = nb.Backend(library, "cpu", dtype)
    X, t = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    model = _WithUnused(2, 1, rng=rng, backend=bk)
    theta = to_numpy(hs.flat_parameters(model)).astype(np.float64)
    Xb, tb = bk.asarray(X), bk.asarray(t)
    g = hs.flat_gradient(model, nb.MSELoss(), Xb, tb)
    assert isinstance(g, type(Xb)) and nb.backend.dtype_name(g) == dtype
    assert tuple(g.shape) == (5,)
    A = np.hstack([X, np.ones((6, 1))])
    A32 = A.astype(dtype).astype(np.float64)
    expected = 2.0 / 6 * A32.T @ (A32 @ theta[:3] - t[:, 0].astype(dtype).astype(np.float64))
    rtol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(to_numpy(g)[:3], expected, rtol=rtol)
    np.testing.assert_array_equal(to_numpy(g)[3:], [0.0, 0.0])
    H = hs.hessian(model, nb.MSELoss(), Xb, tb)
    assert nb.backend.dtype_name(H) == dtype
    np.testing.assert_array_equal(to_numpy(H)[3:], np.zeros((2, 5)))
    np.testing.assert_allclose(to_numpy(H)[:3, :3], 2.0 / 6 * A32.T @ A32,
                               rtol=1e-2 if dtype == "float32" else 1e-8)


def test_a_loss_without_backward_is_refused():
    class OnlyForward:
        def forward(self, output, target, validate=True):
            return 0.0

    model, _, X, y = _problem(nb.Backend())
    _raises(TypeError, "loss_fn must be an nnbook loss (with forward and backward), "
            "got OnlyForward", hs.hessian, model, OnlyForward(), X, y)


def test_a_batch_of_another_dtype_is_refused_under_the_name_x():
    model, loss_fn, X, y = _problem(nb.Backend())
    _raises(TypeError, "X must have the model's dtype float64, got float32; convert it with "
            "model.backend.asarray(X)", hs.hessian, model, loss_fn, X.astype(np.float32), y)


def test_the_refusal_names_every_kind_of_random_module():
    from nnbook.dropout import Dropout

    class Noisy(nb.Tanh):
        stochastic = True

    rng = np.random.default_rng(0)
    model = nb.Sequential(nb.Linear(2, 2, rng=rng), Noisy(), Dropout(0.5, rng=rng),
                          Dropout(0.2, rng=rng), nb.Linear(2, 2, rng=rng))
    _, loss_fn, X, y = _problem(nb.Backend())
    _raises(ValueError, "model must be deterministic (a new dropout mask on every forward makes "
            "finite differences of the gradient meaningless): call model.eval() first, "
            "got Dropout, Noisy active", hs.hessian, model, loss_fn, X, y)


_STOCHASTIC = ("model must be deterministic (a new dropout mask on every forward makes finite "
               "differences of the gradient meaningless): call model.eval() first, got {} active")


def test_monte_carlo_dropout_is_refused_even_in_eval_mode():
    from nnbook.dropout import Dropout

    rng = np.random.default_rng(0)
    model = nb.Sequential(nb.Linear(2, 3, rng=rng), nb.Tanh(),
                          Dropout(0.5, rng=rng, mc=True), nb.Linear(3, 2, rng=rng))
    model.eval()
    _, loss_fn, X, y = _problem(nb.Backend())
    _raises(ValueError, _STOCHASTIC.format("Dropout"), hs.hessian, model, loss_fn, X, y)


def test_dropout_with_p_zero_is_deterministic_even_in_training():
    from nnbook.dropout import Dropout

    rng = np.random.default_rng(0)
    model = nb.Sequential(nb.Linear(2, 3, rng=rng), nb.Tanh(), Dropout(0.0, rng=rng),
                          nb.Linear(3, 2, rng=rng))
    assert model.training
    _, loss_fn, X, y = _problem(nb.Backend())
    H = hs.hessian(model, loss_fn, X, y)
    assert relative_error(H, hs.autograd_hessian(
        nb.Sequential(model[0], model[1], model[3]), loss_fn, X, y)) < 1e-7


def test_a_dropout_class_without_active_or_p_follows_its_training_mode():
    """A module named like dropout, without ``active`` or ``p``: random in training mode."""

    class GaussianDropout(nb.Identity):
        pass

    rng = np.random.default_rng(0)
    model = nb.Sequential(nb.Linear(2, 2, rng=rng), GaussianDropout())
    _, loss_fn, X, y = _problem(nb.Backend())
    _raises(ValueError, _STOCHASTIC.format("GaussianDropout"), hs.hessian, model, loss_fn, X, y)
    model.eval()
    H = hs.hessian(model, loss_fn, X, y)
    assert relative_error(H, hs.autograd_hessian(model[0], loss_fn, X, y)) < 1e-7


def test_autograd_hessian_of_a_linear_layer_without_bias(rng):
    """MSE of X W^T without bias: H = (2/N) X^T X."""
    X, t = rng.standard_normal((9, 3)), rng.standard_normal((9, 1))
    model = nb.Linear(3, 1, rng=rng, bias=False)
    H = hs.autograd_hessian(model, nb.MSELoss(), X, t)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, 2.0 / 9 * X.T @ X, rtol=1e-12)


def test_autograd_hessian_refuses_an_unknown_loss():
    class MyMSE:
        """An nnbook-style loss that is not one of nnbook's classes."""

        def __init__(self):
            self.inner = nb.MSELoss()

        def forward(self, output, target, validate=True):
            return self.inner.forward(output, target, validate=validate)

        def backward(self):
            return self.inner.backward()

    model, _, X, _ = _problem(nb.Backend())
    _raises(TypeError, "autograd_hessian does not know the loss MyMSE", hs.autograd_hessian,
            model, MyMSE(), X, np.zeros((30, 2)))


def test_autograd_hessian_of_a_float32_model_is_computed_in_float64():
    """The float32 batch, targets and parameters are converted exactly to float64."""
    rng = np.random.default_rng(0)
    b32, b64 = nb.Backend("numpy", "cpu", "float32"), nb.Backend()
    m32 = nb.mlp([2, 3, 1], "tanh", rng=rng, backend=b32)
    m64 = nb.mlp([2, 3, 1], "tanh", rng=rng, backend=b64)
    hs.set_flat_parameters(m64, to_numpy(hs.flat_parameters(m32)).astype(np.float64))
    X = rng.standard_normal((10, 2)).astype(np.float32)
    t = (rng.standard_normal((10, 1)) + 0.5).astype(np.float32)
    H32 = hs.autograd_hessian(m32, nb.MSELoss(), X, t)
    H64 = hs.autograd_hessian(m64, nb.MSELoss(), X.astype(np.float64), t.astype(np.float64))
    assert H32.dtype == np.float64
    np.testing.assert_array_equal(H32, H64)


def test_autograd_hessian_accepts_int32_class_labels():
    """Labels of any integer dtype become torch.int64, which cross_entropy requires."""
    model, loss_fn, X, y = _problem(nb.Backend(), sizes=(2, 3, 2))
    labels = to_numpy(y)
    H32 = hs.autograd_hessian(model, loss_fn, X, labels.astype(np.int32))
    np.testing.assert_array_equal(H32, hs.autograd_hessian(model, loss_fn, X,
                                                           labels.astype(np.int64)))
    assert relative_error(H32, hs.hessian(model, loss_fn, X, labels.astype(np.int32))) < 1e-7
