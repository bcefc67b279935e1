"""The learning-rate range test against torch.optim.SGD with ExponentialLR, on both backends."""

import re

import numpy as np
import pytest
import torch
from conftest import as_torch

from nnbook import CrossEntropyLoss, mlp, to_numpy
from nnbook.lr_finder import LRRangeTest, lr_range_test, suggest_lr


def _data(rng, n=40, d=5, c=3):
    X = rng.standard_normal((n, d))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


def _torch_range_test(weights, biases, X, y, lrs, batches, momentum):
    """An idiomatic torch loop: SGD with momentum, the rate multiplied by ExponentialLR."""
    layers = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(as_torch(W))
            lin.bias.copy_(as_torch(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=float(lrs[0]), momentum=momentum)
    gamma = float(lrs[1] / lrs[0])
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
    losses = []
    for idx in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(as_torch(X[idx])), torch.as_tensor(y[idx]))
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return np.array(losses)


def _batches(seed, n, batch_size, steps):
    rng = np.random.default_rng(seed)
    out, order, pos = [], None, n
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = rng.permutation(n), 0
        out.append(order[pos:pos + batch_size])
        pos += batch_size
    return out


def test_range_test_matches_torch_sgd_with_exponential_lr(backend):
    rng = np.random.default_rng(0)
    X, y = _data(rng)
    model = mlp([5, 8, 3], rng=np.random.default_rng(1), backend=backend)
    weights = [to_numpy(m.W.data) for m in model.layers[::2]]
    biases = [to_numpy(m.b.data) for m in model.layers[::2]]
    result = lr_range_test(model, CrossEntropyLoss(), backend.asarray(X), backend.asarray(y),
                           rng=np.random.default_rng(2), lr_min=1e-3, lr_max=1.0, steps=12,
                           batch_size=16, momentum=0.9, diverge=1e9)
    expected = _torch_range_test(weights, biases, X, y, result.lrs,
                                 _batches(2, 40, 16, 12), 0.9)
    assert not result.diverged
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-3, 1.0, 12), rtol=1e-12)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-10)


def test_smoothing_is_the_bias_corrected_moving_average():
    rng = np.random.default_rng(3)
    X, y = _data(rng)
    result = lr_range_test(mlp([5, 8, 3], rng=rng), CrossEntropyLoss(), X, y, rng=rng,
                           steps=10, beta=0.8, diverge=1e9)
    m, expected = 0.0, []
    for k, loss in enumerate(result.losses):
        m = 0.8 * m + 0.2 * loss
        expected.append(m / (1 - 0.8 ** (k + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    assert result.smoothed[0] == pytest.approx(result.losses[0])


def test_parameters_are_restored_and_the_run_stops_on_divergence(backend):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 3, 40)   # random labels: no loss 0
    model = mlp([5, 8, 3], rng=rng, backend=backend)
    before = [to_numpy(p.data).copy() for p in model.parameters()]
    result = lr_range_test(model, CrossEntropyLoss(), backend.asarray(X), backend.asarray(y),
                           rng=rng, lr_min=1e-4, lr_max=1e4, steps=200, beta=0.5)
    assert result.diverged and len(result.lrs) < 200
    assert len(result.losses) == len(result.smoothed) == len(result.lrs)
    last = result.smoothed[-1]
    assert not np.isfinite(last) or last > 4 * np.nanmin(result.smoothed[:-1])
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(to_numpy(p.data), b)
        assert p.grad is None


def test_suggest_lr_rules_on_a_known_curve():
    lrs = np.logspace(-4, 0, 9)                     # 1e-4, 10^-3.5, ..., 1
    smoothed = np.array([2.3, 2.3, 2.2, 1.8, 1.0, 0.7, 0.6, 1.5, 9.0])
    result = LRRangeTest(lrs=lrs, losses=smoothed, smoothed=smoothed, diverged=True)
    assert suggest_lr(result, "min/10") == pytest.approx(lrs[6] / 10)
    slope = np.gradient(smoothed[:7], np.log10(lrs[:7]))
    assert suggest_lr(result, "steepest") == pytest.approx(lrs[int(np.argmin(slope))])
    assert suggest_lr(result, "steepest") == pytest.approx(lrs[3])


def test_suggest_lr_ignores_non_finite_losses():
    lrs = np.logspace(-3, 0, 4)
    s = np.array([2.0, 1.0, 0.5, np.nan])
    result = LRRangeTest(lrs=lrs, losses=s, smoothed=s, diverged=True)
    assert suggest_lr(result) == pytest.approx(lrs[2] / 10)


@pytest.mark.parametrize("kwargs, cls, message", [
    ({"lr_min": 0.0}, ValueError, "lr_min must be a positive number, got 0.0"),
    ({"lr_min": 1.0, "lr_max": 0.5}, ValueError,
     "lr_max must be larger than lr_min = 1, got 0.5"),
    ({"steps": 1}, ValueError, "steps must be an int >= 2, got 1"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
    ({"beta": 1.0}, ValueError, "beta must lie in [0, 1), got 1.0"),
    ({"diverge": 1.0}, ValueError, "diverge must lie in (1, inf), got 1.0"),
    ({"rng": 0}, TypeError,
     "rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), got int"),
])
def test_range_test_refuses_bad_arguments(kwargs, cls, message):
    rng = np.random.default_rng(5)
    X, y = _data(rng)
    args = {"rng": rng, **kwargs}
    with pytest.raises(cls, match="^" + re.escape(message) + "$"):
        lr_range_test(mlp([5, 8, 3], rng=rng), CrossEntropyLoss(), X, y, **args)


def test_range_test_refuses_data_that_do_not_fit_the_model():
    rng = np.random.default_rng(6)
    X, y = _data(rng)
    with pytest.raises(ValueError, match=r"^X does not fit the model: x must have shape \(N, 5\), "
                                         r"got \(40, 4\)$"):
        lr_range_test(mlp([5, 8, 3], rng=rng), CrossEntropyLoss(), X[:, :4], y, rng=rng)


def test_range_test_refuses_a_model_that_is_not_a_module():
    with pytest.raises(TypeError, match=r"^model must be an nnbook Module, got str$"):
        lr_range_test("net", CrossEntropyLoss(), np.zeros((2, 5)), np.zeros(2, np.int64),
                      rng=np.random.default_rng(0))


def test_suggest_lr_refuses_bad_arguments():
    r = LRRangeTest(lrs=np.ones(2), losses=np.ones(2), smoothed=np.ones(2), diverged=False)
    with pytest.raises(TypeError, match=r"^result must be an LRRangeTest \(from lr_range_test\), "
                                        r"got dict$"):
        suggest_lr({})
    with pytest.raises(ValueError, match=r"^rule must be one of \('min/10', 'steepest'\), "
                                         r"got 'max'$"):
        suggest_lr(r, "max")
    with pytest.raises(ValueError, match=r"^result must hold at least 3 steps, got 2$"):
        suggest_lr(r)
