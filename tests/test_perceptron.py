"""Rosenblatt's rule: equal to the sequential loop, within Novikoff's bound, stuck on XOR."""

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook.perceptron import add_bias, margin, novikoff_bound, perceptron_fit, predict_sign


def sequential_perceptron(X, y, orders, lr=1.0, w0=None):
    """The textbook loop over samples, as a reference for the vectorised version."""
    w = np.zeros(X.shape[1]) if w0 is None else w0.copy()
    mistakes = []
    for order in orders:
        m = 0
        for i in order:
            if y[i] * (X[i] @ w) <= 0:
                w = w + lr * y[i] * X[i]
                m += 1
        mistakes.append(m)
        if m == 0:
            break
    return w, mistakes


@pytest.mark.parametrize("shuffle", [False, True])
def test_vectorised_rule_equals_sequential_loop(shuffle, rng):
    X, y, _ = nb.data.separable(80, 0.05, rng=rng)
    Xb = add_bias(X)
    res = perceptron_fit(Xb, y, lr=0.5, rng=np.random.default_rng(3) if shuffle else None)
    order_rng = np.random.default_rng(3)
    orders = [order_rng.permutation(80) if shuffle else np.arange(80) for _ in range(res.epochs)]
    w_ref, mistakes_ref = sequential_perceptron(Xb, y, orders, lr=0.5)
    np.testing.assert_allclose(res.w, w_ref, rtol=1e-12)
    assert res.mistakes_per_epoch == mistakes_ref
    assert res.converged and res.mistakes_per_epoch[-1] == 0
    assert res.weights.shape == (res.n_updates + 1, 3)
    np.testing.assert_array_equal(res.weights[-1], res.w)


def test_converges_within_novikoff_bound(rng):
    for gamma in (0.3, 0.1, 0.03):
        X, y, w_star = nb.data.separable(200, gamma, rng=rng)
        res = perceptron_fit(X, y, max_epochs=1000)     # through the origin: w* has no bias
        assert res.converged
        assert margin(X, y, w_star) >= gamma
        assert res.n_updates <= novikoff_bound(X, y, w_star)
        assert np.all(predict_sign(X, res.w) == y)


def test_never_converges_on_xor():
    X, y = nb.data.xor(labels="pm1")
    res = perceptron_fit(add_bias(X), y, max_epochs=50)
    assert not res.converged
    assert res.epochs == 50 and min(res.mistakes_per_epoch) >= 1


def test_runs_on_torch_tensors(rng):
    X, y, _ = nb.data.separable(60, 0.1, rng=rng)
    bk = nb.Backend("torch", "cpu")
    res_t = perceptron_fit(bk.asarray(add_bias(X)), bk.asarray(y))
    res_n = perceptron_fit(add_bias(X), y)
    assert isinstance(res_t.w, torch.Tensor)
    np.testing.assert_allclose(nb.to_numpy(res_t.w), res_n.w, rtol=1e-12)
    assert res_t.mistakes_per_epoch == res_n.mistakes_per_epoch


def test_does_not_mutate_w0(rng):
    X, y, _ = nb.data.separable(30, 0.1, rng=rng)
    w0 = np.zeros(3)
    perceptron_fit(add_bias(X), y, w0=w0)
    np.testing.assert_array_equal(w0, 0.0)


def test_perceptron_refusals(rng):
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"^y must contain only the labels -1 and \+1$"):
        perceptron_fit(X, np.array([0.0, 1, 1, 0]))
    with pytest.raises(ValueError, match=r"y must have shape \(4,\), got \(3,\)"):
        perceptron_fit(X, np.ones(3))
    with pytest.raises(ValueError, match=r"w0 must have shape \(3,\), got \(2,\)"):
        perceptron_fit(X, np.ones(4), w0=np.zeros(2))
    with pytest.raises(ValueError, match="max_epochs must be a positive int, got 0"):
        perceptron_fit(X, np.ones(4), max_epochs=0)
    with pytest.raises(ValueError, match="w_star must separate the data"):
        novikoff_bound(X, np.ones(4), -np.ones(3))


def test_helper_refusals_and_values():
    with pytest.raises(ValueError, match=r"^X must have 2 dimension\(s\), got shape \(3,\)$"):
        add_bias(np.ones(3))
    np.testing.assert_array_equal(add_bias(np.array([[2.0, 3.0]])), [[1.0, 2.0, 3.0]])
    X, y = np.array([[1.0, 0.0], [-2.0, 0.0]]), np.array([1.0, -1.0])
    assert margin(X, y, np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert novikoff_bound(X, y, np.array([1.0, 0.0])) == pytest.approx(4.0)
    np.testing.assert_array_equal(predict_sign(X, np.array([0.0, 0.0])), [1.0, 1.0])


def test_defaults_are_a_unit_step_and_a_hundred_epochs(rng):
    X, y, _ = nb.data.separable(50, 0.05, rng=rng)
    Xb = add_bias(X)
    res = perceptron_fit(Xb, y)
    w_ref, _ = sequential_perceptron(Xb, y, [np.arange(50)] * res.epochs, lr=1.0)
    np.testing.assert_allclose(res.w, w_ref, rtol=1e-12)
    Xx, yx = nb.data.xor(labels="pm1")
    stuck = perceptron_fit(add_bias(Xx), yx)
    assert stuck.epochs == 100 and stuck.converged is False


def test_starts_from_w0(rng):
    X, y, _ = nb.data.separable(60, 0.05, rng=rng)
    Xb = add_bias(X)
    w0 = np.array([0.5, -2.0, 1.0])
    res = perceptron_fit(Xb, y, lr=0.5, w0=w0)
    w_ref, mistakes_ref = sequential_perceptron(Xb, y, [np.arange(60)] * res.epochs, lr=0.5, w0=w0)
    np.testing.assert_allclose(res.w, w_ref, rtol=1e-12)
    assert res.mistakes_per_epoch == mistakes_ref
    np.testing.assert_array_equal(res.weights[0], w0)
    # each recorded step is eta * y * x of the sample behind it
    steps = np.diff(res.weights, axis=0)
    np.testing.assert_allclose(steps, 0.5 * y[res.updated, None] * Xb[res.updated], rtol=1e-12)


def test_a_separating_w0_makes_no_update(rng):
    X, y, w_star = nb.data.separable(40, 0.1, rng=rng)
    res = perceptron_fit(X, y, w0=w_star)
    assert res.converged and res.epochs == 1 and res.n_updates == 0
    assert res.updated.shape == (0,) and res.updated.dtype == np.int64
    np.testing.assert_array_equal(res.w, w_star)
    assert res.w is not w_star


def test_a_sample_on_the_boundary_is_a_mistake():
    """y w.x = 0 counts as a mistake (<= 0): the sample is added."""
    X, y = np.array([[0.0, 1.0]]), np.array([1.0])
    res = perceptron_fit(X, y, w0=np.array([1.0, 0.0]), max_epochs=1)
    assert res.updated.tolist() == [0]
    np.testing.assert_array_equal(res.w, [1.0, 1.0])
    assert res.epochs == 1 and res.converged is False


def test_a_single_sample():
    res = perceptron_fit(np.array([[1.0, 2.0]]), np.array([-1.0]))
    assert res.converged and res.mistakes_per_epoch == [1, 0]
    np.testing.assert_array_equal(res.w, [-1.0, -2.0])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(X=np.ones(4)), ValueError, r"X must have 2 dimension\(s\), got shape \(4,\)"),
    (dict(y=np.ones((4, 1))), ValueError, r"y must have 1 dimension\(s\), got shape \(4, 1\)"),
    (dict(y=np.ones(4, dtype=np.int64)), TypeError, "y must have a float dtype, got int64"),
    (dict(lr=0.0), ValueError, "lr must be a positive number, got 0.0"),
    (dict(lr=-1), ValueError, "lr must be a positive number, got -1"),
    (dict(lr="1"), ValueError, "lr must be a positive number, got '1'"),
    (dict(max_epochs=0), ValueError, "max_epochs must be a positive int, got 0"),
    (dict(max_epochs=2.0), ValueError, "max_epochs must be a positive int, got 2.0"),
    (dict(rng=3), TypeError,
     r"rng must be a numpy\.random\.Generator \(e\.g\. numpy\.random\.default_rng\(0\)\), got int"),
    (dict(w0=np.zeros(2)), ValueError, r"w0 must have shape \(3,\), got \(2,\)"),
])
def test_perceptron_fit_refuses(kwargs, error, message):
    args = dict(X=np.ones((4, 3)), y=np.ones(4)) | kwargs
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(error, match=f"^{message}$"):
        perceptron_fit(X, y, **args)


def test_one_epoch_is_allowed():
    X, y = nb.data.xor(labels="pm1")
    res = perceptron_fit(add_bias(X), y, max_epochs=1)
    assert res.epochs == 1 and res.converged is False


def test_novikoff_bound_is_a_square():
    """R = 3 and gamma = 1: (R/gamma)^2 = 9 (with R/gamma = 2, a doubling would pass too)."""
    X, y = np.array([[1.0, 0.0], [-3.0, 0.0]]), np.array([1.0, -1.0])
    assert novikoff_bound(X, y, np.array([1.0, 0.0])) == pytest.approx(9.0)


def test_novikoff_bound_refusals():
    X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 1.0])
    with pytest.raises(ValueError, match=r"^w_star must separate the data \(margin > 0\), got margin 0$"):
        novikoff_bound(X, y, np.array([1.0, 0.0]))             # the second point lies on the boundary
    with pytest.raises(ValueError, match=r"^w_star must separate the data \(margin > 0\), got margin -1$"):
        novikoff_bound(X, y, np.array([-1.0, 0.0]))
    with pytest.raises(ValueError, match=r"^X must have 2 dimension\(s\), got shape \(2,\)$"):
        novikoff_bound(np.ones(2), y, np.array([1.0, 0.0]))
