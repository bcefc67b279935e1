"""Random-features regression: min-norm and ridge fits against lstsq and torch, both backends."""

import re

import numpy as np
import pytest
import torch

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
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()
