"""The learning-rate range test against torch.optim.SGD with ExponentialLR, on both backends."""


import numpy as np
import pytest
import torch
from conftest import as_torch, bad_data_cases, whole

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
    with pytest.raises(cls, match=whole(message)):
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


class _ScriptedLoss:
    """A loss whose values are given in advance, with a zero gradient (the model never moves).

    It records the targets of every minibatch and whether each call asked for validation;
    the first call is the range test's check of the whole set.
    """

    def __init__(self, values):
        self.values, self.targets, self.validate = list(values), [], []

    def forward(self, output, target, validate=True):
        self.validate.append(validate)
        self.targets.append(np.array(target))
        self._out = output
        return 0.0 if len(self.validate) == 1 else self.values[len(self.validate) - 2]

    def backward(self):
        return np.zeros_like(self._out)


def test_range_test_spans_any_range_without_overflow():
    # (lr_max / lr_min) ** t overflows past about 308 decades; the rates must not
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((8, 5)), np.arange(8) % 3
    result = lr_range_test(mlp([5, 3], rng=rng), _ScriptedLoss(np.ones(5)), X, y,
                           lr_min=1e-200, lr_max=1e200, steps=5, rng=np.random.default_rng(8))
    np.testing.assert_allclose(result.lrs, [1e-200, 1e-100, 1.0, 1e100, 1e200], rtol=1e-12)


def test_range_test_defaults_run_100_steps_from_1e_5_to_10_in_batches_of_32():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((40, 5)), np.arange(40)
    loss = _ScriptedLoss(np.ones(100))
    result = lr_range_test(mlp([5, 3], rng=rng), loss, X, y, rng=np.random.default_rng(8))
    assert not result.diverged
    assert len(result.lrs) == 100
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-5, 10.0, 100), rtol=1e-12)
    assert result.lrs[0] == pytest.approx(1e-5, rel=1e-14)
    assert result.lrs[-1] == pytest.approx(10.0, rel=1e-14)
    batches = _batches(8, 40, 32, 100)
    assert [t.shape for t in loss.targets[1:]] == [(32,)] * 100
    for got, idx in zip(loss.targets[1:], batches, strict=True):
        np.testing.assert_array_equal(got, idx)


def test_range_test_uses_a_permutation_to_its_end_before_drawing_a_new_one():
    """With N = 40 and batches of 20, each permutation gives exactly two batches."""
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((40, 5)), np.arange(40)
    loss = _ScriptedLoss(np.ones(6))
    lr_range_test(mlp([5, 3], rng=rng), loss, X, y, rng=np.random.default_rng(10), steps=6,
                  batch_size=20)
    perms = np.random.default_rng(10)
    expected = []
    for _ in range(3):
        p = perms.permutation(40)
        expected += [p[:20], p[20:]]
    for got, idx in zip(loss.targets[1:], expected, strict=True):
        np.testing.assert_array_equal(got, idx)


def test_range_test_takes_the_rows_of_two_dimensional_targets():
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((10, 5)), np.arange(20.0).reshape(10, 2)
    loss = _ScriptedLoss(np.ones(3))
    lr_range_test(mlp([5, 2], rng=rng), loss, X, Y, rng=np.random.default_rng(12), steps=3,
                  batch_size=4)
    for got, idx in zip(loss.targets[1:], _batches(12, 10, 4, 3), strict=True):
        np.testing.assert_array_equal(got, Y[idx])


def test_range_test_checks_the_set_once_and_not_each_minibatch():
    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((10, 5)), np.arange(10)
    model = mlp([5, 3], rng=rng)
    input_grad, backward = [], model.backward

    def spy(dout, **kwargs):
        input_grad.append(kwargs.get("input_grad", True))     # True: Sequential's default
        return backward(dout, **kwargs)

    model.backward = spy
    loss = _ScriptedLoss(np.ones(4))
    lr_range_test(model, loss, X, y, rng=rng, steps=4, batch_size=5)
    assert loss.validate == [True, False, False, False, False]
    assert [g is False for g in input_grad] == [True] * 4      # the data gradient is not needed


def test_range_test_stops_at_the_first_loss_above_diverge_times_the_minimum():
    """beta = 0: no smoothing. The minimum 0.5 times the default diverge 4 is 2.0, exactly."""
    values = [1.0, 0.5, 1.9, 2.0, 2.2, 2.6, 3.0, 3.0, 3.0, 3.0]
    rng = np.random.default_rng(14)
    X, y = rng.standard_normal((10, 5)), np.arange(10)
    result = lr_range_test(mlp([5, 3], rng=rng), _ScriptedLoss(values), X, y, rng=rng,
                           steps=10, batch_size=5, beta=0.0)
    assert result.diverged
    np.testing.assert_array_equal(result.losses, values[:5])     # 2.0 is not above 2.0; 2.2 is
    np.testing.assert_array_equal(result.smoothed, values[:5])
    assert len(result.lrs) == 5
    result = lr_range_test(mlp([5, 3], rng=rng), _ScriptedLoss(values), X, y, rng=rng,
                           steps=10, batch_size=5, beta=0.0, diverge=5.0)
    np.testing.assert_array_equal(result.losses, values[:6])     # 2.6 > 5 * 0.5


def test_suggest_lr_accepts_three_steps():
    lrs = np.logspace(-3, -1, 3)
    s = np.array([2.0, 1.0, 0.5])
    result = LRRangeTest(lrs=lrs, losses=s, smoothed=s, diverged=False)
    assert suggest_lr(result) == pytest.approx(1e-2)
    # slopes per decade: (1 - 2) / 1, (0.5 - 2) / 2, (0.5 - 1) / 1 -> the first is steepest
    assert suggest_lr(result, "steepest") == pytest.approx(1e-3)


def test_steepest_looks_only_up_to_the_minimum():
    """After the minimum the curve falls steeply again; the rule must not look there."""
    lrs = np.logspace(-4, 1, 6)
    s = np.array([3.0, 2.9, 1.0, 9.0, 2.0, 5.0])
    result = LRRangeTest(lrs=lrs, losses=s, smoothed=s, diverged=False)
    # up to the minimum (k = 2), slopes per decade: -0.1, (1 - 3) / 2 = -1, 1 - 2.9 = -1.9
    assert suggest_lr(result, "steepest") == pytest.approx(lrs[2])
    assert suggest_lr(result, "min/10") == pytest.approx(lrs[2] / 10)


def test_steepest_slope_is_per_decade_on_unevenly_spaced_rates():
    """Rates 1e-4, 1e-3, 2e-3, 1e-2: a step from 1e-3 to 2e-3 is 0.30 decade, not one."""
    lrs = np.array([1e-4, 1e-3, 2e-3, 1e-2])
    s = np.array([2.0, 1.5, 1.3, 1.0])
    result = LRRangeTest(lrs=lrs, losses=s, smoothed=s, diverged=False)
    x = np.log10(lrs)
    h0, h1, h2 = np.diff(x)
    # numpy.gradient's second-order differences on a non-uniform grid, written out
    slope = [(s[1] - s[0]) / h0,
             (h0 ** 2 * s[2] + (h1 ** 2 - h0 ** 2) * s[1] - h1 ** 2 * s[0]) / (h0 * h1 * (h0 + h1)),
             (h1 ** 2 * s[3] + (h2 ** 2 - h1 ** 2) * s[2] - h2 ** 2 * s[1]) / (h1 * h2 * (h1 + h2)),
             (s[3] - s[2]) / h2]
    k = int(np.argmin(slope))
    assert k in (1, 2)                                   # per step, the first step is steepest
    assert suggest_lr(result, "steepest") == pytest.approx(lrs[k])



@pytest.mark.parametrize("X, y, cls, message", bad_data_cases())
def test_range_test_refuses_data_naming_x_and_y(X, y, cls, message):
    model = mlp([5, 8, 3], rng=np.random.default_rng(1))
    with pytest.raises(cls, match=whole(message)):
        lr_range_test(model, CrossEntropyLoss(), X, y, rng=np.random.default_rng(2))


@pytest.mark.parametrize("kwargs, cls, message", [
    ({"lr_max": 0.0}, ValueError, "lr_max must be a positive number, got 0.0"),
    ({"lr_max": -1.0}, ValueError, "lr_max must be a positive number, got -1.0"),
    ({"lr_max": float("inf")}, ValueError, "lr_max must be finite, got inf"),
    ({"lr_max": "a"}, TypeError, "lr_max must be a positive number, got 'a' of type str"),
    ({"lr_min": 1.0, "lr_max": 1.0}, ValueError,
     "lr_max must be larger than lr_min = 1, got 1"),
])
def test_range_test_refuses_bad_lr_max(kwargs, cls, message):
    rng = np.random.default_rng(5)
    X, y = _data(rng)
    with pytest.raises(cls, match=whole(message)):
        lr_range_test(mlp([5, 8, 3], rng=rng), CrossEntropyLoss(), X, y, rng=rng, **kwargs)
