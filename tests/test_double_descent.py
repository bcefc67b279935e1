"""Random-features regression: min-norm and ridge fits against lstsq and torch, both backends."""


import numpy as np
import pytest
import torch
from conftest import whole

from nnbook import to_numpy
from nnbook.double_descent import fit_min_norm, random_features, random_features_sweep


def test_random_features_are_scaled_relus(backend):
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((6, 3)), rng.standard_normal((5, 3))
    got = to_numpy(random_features(backend.asarray(X), backend.asarray(W)))
    expected = torch.relu(torch.as_tensor(X) @ torch.as_tensor(W).T).numpy() / np.sqrt(5)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


@pytest.mark.parametrize("n, p", [(10, 4), (6, 15), (8, 8)])
def test_min_norm_fit_is_lstsq(n, p, backend):
    """numpy.linalg.lstsq returns the minimum-norm least-squares solution in every case."""
    rng = np.random.default_rng(n * p)
    Phi, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    got = to_numpy(fit_min_norm(backend.asarray(Phi), backend.asarray(y)))
    np.testing.assert_allclose(got, np.linalg.lstsq(Phi, y, rcond=None)[0], rtol=1e-8, atol=1e-10)
    if p >= n:                                       # interpolates
        np.testing.assert_allclose(Phi @ got, y, atol=1e-9)


@pytest.mark.parametrize("n, p", [(10, 4), (6, 15)])
def test_ridge_fit_matches_torch_solve(n, p, backend):
    rng = np.random.default_rng(n + p)
    Phi, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    got = to_numpy(fit_min_norm(backend.asarray(Phi), backend.asarray(y), ridge=0.3))
    P, t = torch.as_tensor(Phi), torch.as_tensor(y)
    expected = torch.linalg.solve(P.T @ P + 0.3 * torch.eye(p, dtype=P.dtype), P.T @ t)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda: random_features(np.zeros((2, 3)), np.zeros((4, 2))),
     "W must have shape (p, 3) to match X, got (4, 2)"),
    (lambda: fit_min_norm(np.zeros((3, 2)), np.zeros(2)),
     "y must have shape (3,) to match Phi, got (2,)"),
    (lambda: fit_min_norm(np.zeros((3, 2)), np.zeros(3), ridge=-1.0),
     "ridge must be a non-negative number, got -1.0"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2),
                                   [], rng=np.random.default_rng(0)),
     "ps must list at least one number of features, got none"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2),
                                   [0], rng=np.random.default_rng(0)),
     "ps[0] must be a positive int, got 0"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 4)), np.zeros(2),
                                   [1], rng=np.random.default_rng(0)),
     "X_test must have 2 columns like X_train, got shape (2, 4)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(5),
                                   [1], rng=np.random.default_rng(0)),
     "y_test must have shape (2,) to match its inputs, got (5,)"),
])
def test_bad_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=whole(message)):
        call()


def _t(a, dtype=torch.float64):
    return torch.as_tensor(np.asarray(a), dtype=dtype)


_PUT = "put both on one backend with Backend.asarray"


@pytest.mark.parametrize("call, cls, message", [
    (lambda: random_features(np.zeros(3), np.zeros((4, 3))), ValueError,
     "X must have 2 dimension(s), got shape (3,)"),
    (lambda: random_features([[0.0]], np.zeros((4, 1))), TypeError,
     "X must be a NumPy array or torch.Tensor, got list"),
    (lambda: random_features(np.zeros((2, 3)), np.zeros(3)), ValueError,
     "W must have 2 dimension(s), got shape (3,)"),
    (lambda: random_features(np.zeros((2, 3)), _t(np.zeros((4, 3)))), TypeError,
     f"W must be a numpy array like X, got a torch array; {_PUT}"),
    (lambda: fit_min_norm(np.zeros(3), np.zeros(3)), ValueError,
     "Phi must have 2 dimension(s), got shape (3,)"),
    (lambda: fit_min_norm(np.zeros((3, 2)), np.zeros((3, 1))), ValueError,
     "y must have 1 dimension(s), got shape (3, 1)"),
    (lambda: fit_min_norm(np.zeros((3, 2)), _t(np.zeros(3))), TypeError,
     f"y must be a numpy array like Phi, got a torch array; {_PUT}"),
    (lambda: random_features_sweep(np.zeros(3), np.zeros(3), np.zeros((2, 2)), np.zeros(2),
                                   [1], rng=np.random.default_rng(0)), ValueError,
     "X_train must have 2 dimension(s), got shape (3,)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros(2), np.zeros(2),
                                   [1], rng=np.random.default_rng(0)), ValueError,
     "X_test must have 2 dimension(s), got shape (2,)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), _t(np.zeros((2, 2))),
                                   np.zeros(2), [1], rng=np.random.default_rng(0)), TypeError,
     f"X_test must be a numpy array like X_train, got a torch array; {_PUT}"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(4), np.zeros((2, 2)), np.zeros(2),
                                   [1], rng=np.random.default_rng(0)), ValueError,
     "y_train must have shape (3,) to match its inputs, got (4,)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros((3, 1)), np.zeros((2, 2)),
                                   np.zeros(2), [1], rng=np.random.default_rng(0)), ValueError,
     "y_train must have 1 dimension(s), got shape (3, 1)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)),
                                   np.zeros((2, 1)), [1], rng=np.random.default_rng(0)),
     ValueError, "y_test must have 1 dimension(s), got shape (2, 1)"),
    (lambda: random_features_sweep(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2),
                                   [1], rng=np.random.default_rng(0), repeats=0), ValueError,
     "repeats must be a positive int, got 0"),
])
def test_bad_inputs_name_the_argument(call, cls, message):
    with pytest.raises(cls, match=whole(message)):
        call()


def test_ridge_of_one_is_a_ridge_fit(backend):
    """ridge=1 is a penalty like any other, not the minimum-norm fit."""
    rng = np.random.default_rng(4)
    for n, p in [(7, 3), (3, 7)]:
        Phi, y = rng.standard_normal((n, p)), rng.standard_normal(n)
        got = to_numpy(fit_min_norm(backend.asarray(Phi), backend.asarray(y), ridge=1.0))
        P, t = _t(Phi), _t(y)
        expected = torch.linalg.solve(P.T @ P + torch.eye(p, dtype=P.dtype), P.T @ t).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        assert np.abs(got - np.linalg.pinv(Phi) @ y).max() > 1e-3


def test_square_ridge_fit_solves_the_p_by_p_system():
    """At p = n the (Phi^T Phi + lambda I) form is used: for Phi = [[1, 0], [1, 0]] it is
    diag(2, 0) + lambda I, well posed even for a tiny lambda, while Phi Phi^T + lambda I
    is all ones (singular in floating point). By hand: a = ((y1 + y2) / 2, 0)."""
    got = fit_min_norm(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 3.0]), ridge=1e-20)
    np.testing.assert_allclose(got, [2.0, 0.0], rtol=1e-12, atol=0)


def _reference_sweep(X, y, Xt, yt, ps, rng, repeats, ridge):
    """The sweep written out in NumPy: W ~ N(0, 1/d), ReLU features / sqrt(p), lstsq or ridge."""
    d = X.shape[1]
    train, test = [], []
    for p in ps:
        tr, te = [], []
        for _ in range(repeats):
            W = rng.standard_normal((p, d)) / np.sqrt(d)
            F, Ft = (np.maximum(A @ W.T, 0) / np.sqrt(p) for A in (X, Xt))
            if ridge == 0:
                a = np.linalg.lstsq(F, y, rcond=None)[0]
            else:
                a = np.linalg.solve(F.T @ F + ridge * np.eye(p), F.T @ y)
            tr.append(np.mean((F @ a - y) ** 2))
            te.append(np.mean((Ft @ a - yt) ** 2))
        train.append(np.median(tr))
        test.append(np.median(te))
    return np.array(train), np.array(test)


def _data(n=12, m=30, d=4, seed=5):
    rng = np.random.default_rng(seed)
    X, Xt = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    beta = rng.standard_normal(d)
    return X, X @ beta + 0.5 * rng.standard_normal(n), Xt, Xt @ beta


@pytest.mark.parametrize("ridge", [0.0, 0.05])
def test_sweep_matches_the_sweep_written_out_with_five_repeats_by_default(ridge, backend):
    X, y, Xt, yt = _data()
    ps = [2, 5, 30]
    rng, ref_rng = np.random.default_rng(6), np.random.default_rng(6)
    dd = random_features_sweep(*(backend.asarray(a) for a in (X, y, Xt, yt)), ps, rng=rng,
                               ridge=ridge)
    train, test = _reference_sweep(X, y, Xt, yt, ps, ref_rng, 5, ridge)
    np.testing.assert_array_equal(dd.ps, ps)
    np.testing.assert_allclose(dd.train_mse, train, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(dd.test_mse, test, rtol=1e-8)
    assert dd.n_train == 12
    assert rng.standard_normal() == ref_rng.standard_normal()      # 5 draws per p, no more


def test_sweep_with_one_repeat_in_float32_on_torch():
    X, y, Xt, yt = _data()
    args = [_t(a, torch.float32) for a in (X, y, Xt, yt)]
    dd = random_features_sweep(*args, [3, 20], rng=np.random.default_rng(7), repeats=1,
                               ridge=0.1)
    train, test = _reference_sweep(X, y, Xt, yt, [3, 20], np.random.default_rng(7), 1, 0.1)
    np.testing.assert_allclose(dd.train_mse, train, rtol=1e-4)
    np.testing.assert_allclose(dd.test_mse, test, rtol=1e-4)


def test_torch_inputs_stay_on_their_device_whatever_the_default_device():
    """The identity of the ridge fit and the random W are made where the inputs live, not
    on torch's default device (here set to "meta", where nothing can be computed)."""
    rng = np.random.default_rng(8)
    X, y, Xt, yt = _data()
    wide, tall = rng.standard_normal((3, 6)), rng.standard_normal((6, 3))
    args = [_t(a) for a in (wide, tall, y, X, Xt, yt)]
    ref = random_features_sweep(*args[3:4], args[2], *args[4:], [2, 20],
                                rng=np.random.default_rng(9), repeats=2, ridge=0.1)
    with torch.device("meta"):
        a_wide = fit_min_norm(args[0], args[2][:3], ridge=0.5)
        a_tall = fit_min_norm(args[1], args[2][:6], ridge=0.5)
        dd = random_features_sweep(*args[3:4], args[2], *args[4:], [2, 20],
                                   rng=np.random.default_rng(9), repeats=2, ridge=0.1)
    assert a_wide.device.type == a_tall.device.type == "cpu"
    for Phi, t, a in [(wide, y[:3], a_wide), (tall, y[:6], a_tall)]:
        p = Phi.shape[1]
        np.testing.assert_allclose(a.numpy(), np.linalg.solve(Phi.T @ Phi + 0.5 * np.eye(p),
                                                               Phi.T @ t), rtol=1e-10)
    np.testing.assert_allclose(dd.test_mse, ref.test_mse, rtol=1e-12)


class _NoDevice(np.ndarray):
    """A NumPy 1.x array, which has no ``device`` attribute (pyproject allows numpy>=1.26)."""

    __module__ = "numpy"

    @property
    def device(self):
        raise AttributeError("'numpy.ndarray' object has no attribute 'device'")


def test_numpy_arrays_without_a_device_attribute_are_accepted():
    rng = np.random.default_rng(10)
    X, y, Xt, yt = _data()
    Phi = rng.standard_normal((3, 6))
    a = fit_min_norm(Phi.view(_NoDevice), y[:3].view(_NoDevice), ridge=0.5)
    np.testing.assert_allclose(np.asarray(a), Phi.T @ np.linalg.solve(
        Phi @ Phi.T + 0.5 * np.eye(3), y[:3]), rtol=1e-10)
    views = [a.view(_NoDevice) for a in (X, y, Xt, yt)]
    dd = random_features_sweep(*views, [2, 20], rng=np.random.default_rng(11), repeats=2,
                               ridge=0.1)
    train, test = _reference_sweep(X, y, Xt, yt, [2, 20], np.random.default_rng(11), 2, 0.1)
    np.testing.assert_allclose(dd.train_mse, train, rtol=1e-8)
    np.testing.assert_allclose(dd.test_mse, test, rtol=1e-8)


def test_sweep_shows_the_peak_at_the_interpolation_threshold(backend):
    rng = np.random.default_rng(1)
    n, d = 40, 8
    beta = rng.standard_normal(d) / np.sqrt(d)
    X, Xt = rng.standard_normal((n, d)), rng.standard_normal((400, d))
    y, yt = X @ beta + 0.3 * rng.standard_normal(n), Xt @ beta + 0.3 * rng.standard_normal(400)
    ps = [5, 10, 20, 35, 40, 45, 80, 200, 800]
    args = [backend.asarray(a) for a in (X, y, Xt, yt)]
    dd = random_features_sweep(*args, ps, rng=np.random.default_rng(2), repeats=3)
    assert 35 <= dd.peak <= 45 and dd.n_train == 40       # at the threshold p = n, up to noise
    k = int(np.argmax(dd.test_mse))
    assert np.all(np.diff(dd.test_mse[k:]) < 0)            # the second descent
    assert dd.test_mse[-1] < dd.test_mse[k] / 5
    assert np.all(dd.train_mse[dd.ps >= 40] < 1e-12)       # interpolation
    ridge = random_features_sweep(*args, ps, rng=np.random.default_rng(2), repeats=3, ridge=0.1)
    assert ridge.test_mse[4] < dd.test_mse[4] / 5
    ref = random_features_sweep(X, y, Xt, yt, ps, rng=np.random.default_rng(2), repeats=3)
    np.testing.assert_allclose(dd.test_mse, ref.test_mse, rtol=1e-6)
