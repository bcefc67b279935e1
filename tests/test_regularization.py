"""Regularization: the L2 penalty and its gradient, early stopping, stratified splits."""


import numpy as np
import pytest
import torch
from conftest import whole

import nnbook as nb
from nnbook import to_numpy
from nnbook.gradcheck import numerical_gradient
from nnbook.layers import Parameter
from nnbook.regularization import (
    SGDW,
    EarlyStopping,
    ErrorCurves,
    add_l2_grad,
    fit_early_stopping,
    l2_penalty,
    stratified_indices,
    train_val_test_split,
    weights,
)


def _net(backend=None, seed=0):
    return nb.mlp([4, 8, 3], "tanh", rng=np.random.default_rng(seed), backend=backend)


def test_weights_are_the_matrices_only():
    net = _net()
    assert [p.name for p in weights(net)] == ["W", "W"]


def test_l2_penalty_value_and_gradient_check(backend):
    net = _net(backend)
    ws = weights(net)
    lam = 0.3
    expected = 0.5 * lam * sum(float((to_numpy(p.data) ** 2).sum()) for p in ws)
    assert l2_penalty(ws, lam) == pytest.approx(expected, rel=1e-14)
    add_l2_grad(ws, lam)
    for p in ws:
        np.testing.assert_allclose(to_numpy(p.grad), lam * to_numpy(p.data), rtol=1e-15)
    if backend.library == "numpy":
        for p in ws:
            num = numerical_gradient(lambda: l2_penalty(ws, lam), p.data)
            rel = np.abs(num - p.grad).max() / np.abs(p.grad).max()
            assert rel < 1e-7


def test_add_l2_grad_adds_to_existing_gradient():
    net = _net()
    ws = weights(net)
    for p in ws:
        p.grad = np.ones(p.shape)
    add_l2_grad(ws, 0.1)
    for p in ws:
        np.testing.assert_allclose(p.grad, 1 + 0.1 * p.data)


def test_l2_matches_torch_sgd_weight_decay():
    """Penalty gradient + SGD equals torch.optim.SGD(weight_decay=lam) on the weights."""
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(3, 4))
    g = rng.normal(size=(3, 4))
    lam, lr = 0.05, 0.1
    p = nb.layers.Parameter(W0.copy(), "W")
    p.grad = g.copy()
    add_l2_grad([p], lam)
    opt = nb.SGD([p], lr=lr)
    opt.step()
    Wt = torch.tensor(W0, requires_grad=True)
    topt = torch.optim.SGD([Wt], lr=lr, weight_decay=lam)
    Wt.grad = torch.tensor(g)
    topt.step()
    np.testing.assert_allclose(p.data, Wt.detach().numpy(), rtol=1e-14)


def test_l2_bad_inputs():
    with pytest.raises(ValueError, match=whole("lam must be a non-negative number, got -1.0")):
        l2_penalty(weights(_net()), -1)
    with pytest.raises(TypeError, match=whole("params[0] must be a Parameter, got ndarray")):
        add_l2_grad([np.ones(3)], 0.1)
    with pytest.raises(TypeError, match=whole("params must be a list of Parameters, got int")):
        l2_penalty(3, 0.1)


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)
    return X, y


def test_early_stopping_callback_tracks_the_best_epoch_and_restores():
    X, y = _data()
    Xv, yv = _data(1)
    net = _net()
    stopper = EarlyStopping(Xv, yv, nb.CrossEntropyLoss(), patience=3)
    snapshots = {}

    def callback(epoch, model):
        stopper(epoch, model)
        snapshots[epoch] = [p.data.copy() for p in model.parameters()]

    h = nb.fit(net, nb.CrossEntropyLoss(), nb.SGD(net.parameters(), lr=0.5), X, y, epochs=40,
               batch_size=10, rng=np.random.default_rng(0), X_val=Xv, y_val=yv,
               callback=callback)
    np.testing.assert_allclose(stopper.losses, h.val_loss, rtol=1e-12)
    assert stopper.best_epoch == int(np.argmin(h.val_loss)) + 1
    assert stopper.best_loss == pytest.approx(min(h.val_loss))
    stopper.restore(net)
    for p, s in zip(net.parameters(), snapshots[stopper.best_epoch], strict=True):
        np.testing.assert_array_equal(p.data, s)


def test_should_stop_after_patience_epochs_without_improvement():
    class FakeLoss:
        def __init__(self, values):
            self.values = iter(values)

        def forward(self, out, y):
            return next(self.values)

    stopper = EarlyStopping(np.zeros((1, 4)), np.zeros(1, dtype=np.int64),
                            FakeLoss([5, 4, 4.5, 3.9, 4, 4, 4]), patience=3)
    net = _net()
    stops = []
    for epoch in range(1, 8):
        stopper(epoch, net)
        stops.append(stopper.should_stop)
    assert stopper.best_epoch == 4 and stopper.best_loss == 3.9
    assert stops == [False] * 6 + [True]


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_fit_early_stopping_is_fit_cut_at_the_stop(lib):
    X, y = _data()
    Xv, yv = _data(1)
    bk = nb.Backend(lib)
    X, y, Xv, yv = bk.asarray(X), bk.asarray(y), bk.asarray(Xv), \
        bk.asarray(yv)
    a = _net(bk)
    h_full = nb.fit(a, nb.CrossEntropyLoss(), nb.SGD(a.parameters(), lr=0.5), X, y, epochs=60,
                    batch_size=10, rng=np.random.default_rng(0), X_val=Xv, y_val=yv)
    b = _net(bk)
    h, stopper = fit_early_stopping(b, nb.CrossEntropyLoss(), nb.SGD(b.parameters(), lr=0.5),
                                    X, y, Xv, yv, max_epochs=60, batch_size=10,
                                    rng=np.random.default_rng(0), patience=5)
    n = len(h.loss)
    assert n < 60
    np.testing.assert_allclose(h.val_loss, h_full.val_loss[:n], rtol=1e-10)
    best = int(np.argmin(h.val_loss)) + 1
    assert stopper.best_epoch == best and n == best + 5
    val = float(nb.CrossEntropyLoss()(nb.predict(b, Xv), yv))
    assert val == pytest.approx(h.val_loss[best - 1], rel=1e-10)


def test_early_stopping_bad_inputs():
    X, y = _data()
    with pytest.raises(ValueError, match=whole("patience must be a positive int, got 0")):
        EarlyStopping(X, y, nb.CrossEntropyLoss(), patience=0)
    with pytest.raises(TypeError, match=whole(
            "loss_fn must be an nnbook loss (e.g. nb.CrossEntropyLoss()), got str")):
        EarlyStopping(X, y, "ce")
    with pytest.raises(RuntimeError, match=whole(
            "EarlyStopping.restore called before any epoch was seen")):
        EarlyStopping(X, y, nb.CrossEntropyLoss()).restore(_net())


def test_stratified_split_keeps_class_shares_and_covers_everything():
    y = np.repeat(np.arange(3), [50, 30, 20])
    parts = stratified_indices(y, [0.6, 0.2, 0.2], rng=np.random.default_rng(0))
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))
    assert [np.bincount(y[p], minlength=3).tolist() for p in parts] == \
        [[30, 18, 12], [10, 6, 4], [10, 6, 4]]
    again = stratified_indices(y, [0.6, 0.2, 0.2], rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_train_val_test_split():
    X = np.arange(200.0).reshape(100, 2)
    y = np.repeat(np.arange(4), 25)
    s = train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.2,
                             rng=np.random.default_rng(0))
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (60, 20, 20)
    assert np.bincount(s.y_val).tolist() == [5, 5, 5, 5]
    rows = np.concatenate([s.X_train, s.X_val, s.X_test])[:, 0]
    assert sorted(rows.tolist()) == list(np.arange(0.0, 200.0, 2.0))
    plain = train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.3, stratify=False,
                                 rng=np.random.default_rng(0))
    assert (len(plain.y_train), len(plain.y_val), len(plain.y_test)) == (50, 20, 30)


def test_split_bad_inputs():
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=whole(
            "val_fraction + test_fraction must be below 1 (something must be left to train on), "
            "got 1")):
        train_val_test_split(X, y, val_fraction=0.5, test_fraction=0.5, rng=rng)
    with pytest.raises(ValueError, match=whole("val_fraction must lie in (0, 1), got 0.0")):
        train_val_test_split(X, y, val_fraction=0, test_fraction=0.5, rng=rng)
    with pytest.raises(ValueError, match=whole("X and y must have the same length, got 10 and 9")):
        train_val_test_split(X, y[:9], val_fraction=0.2, test_fraction=0.2, rng=rng)
    with pytest.raises(ValueError, match=whole(
            "fractions must be at least 2 positive numbers summing to 1, got [0.5, 0.6]")):
        stratified_indices(y, [0.5, 0.6], rng=rng)
    with pytest.raises(ValueError, match=whole(
            "y must be a 1-D array of integer labels, got shape (10,) and dtype float64")):
        stratified_indices(y.astype(float), [0.5, 0.5], rng=rng)


def test_error_curves_records_eval_mode_errors_and_loss():
    X, y = _data()
    Xv, yv = _data(1)
    net = _net()
    curves = ErrorCurves(X, y, Xv, yv, nb.CrossEntropyLoss())
    h = nb.fit(net, nb.CrossEntropyLoss(), nb.SGD(net.parameters(), lr=0.5), X, y, epochs=5,
               batch_size=10, rng=np.random.default_rng(0), X_val=Xv, y_val=yv,
               callback=curves)
    np.testing.assert_allclose(curves.val_error, 1 - np.array(h.val_acc), atol=1e-12)
    np.testing.assert_allclose(curves.val_loss, h.val_loss, rtol=1e-12)
    assert curves.train_error[-1] == pytest.approx(1 - nb.accuracy(nb.predict(net, X), y))
    assert len(curves.train_error) == 5


# ---------------------------------------------------------------- SGDW

@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgdw_matches_torch_sgd_with_decay_outside_the_gradient(momentum, nesterov):
    """Oracle: torch.optim.SGD, with p *= 1 - lr * wd done by hand before each step."""


    rng = np.random.default_rng(0)
    theta0, grads = rng.normal(size=(3, 4)), rng.normal(size=(5, 3, 4))
    lr, wd = 0.1, 0.3
    p = Parameter(theta0.copy(), "W")
    opt = SGDW([p], lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    t = torch.tensor(theta0.copy(), requires_grad=True)
    topt = torch.optim.SGD([t], lr=lr, momentum=momentum, nesterov=nesterov)
    for g in grads:
        p.grad = g.copy()
        opt.step()
        with torch.no_grad():
            t.mul_(1 - lr * wd)
        t.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_sgdw_without_momentum_is_coupled_sgd_and_differs_with_it():
    """Plain SGD: decoupled and coupled decay are one update; with momentum they differ."""


    rng = np.random.default_rng(1)
    theta0, grads = rng.normal(size=(6,)), rng.normal(size=(4, 6))
    out = {}
    for mu in (0.0, 0.9):
        for name, cls in (("coupled", nb.SGD), ("decoupled", SGDW)):
            p = Parameter(theta0.copy(), "b")
            opt = cls([p], lr=0.1, momentum=mu, weight_decay=0.2)
            for g in grads:
                p.grad = g.copy()
                opt.step()
            out[mu, name] = p.data
    np.testing.assert_allclose(out[0.0, "coupled"], out[0.0, "decoupled"], rtol=1e-14)
    assert np.abs(out[0.9, "coupled"] - out[0.9, "decoupled"]).max() > 1e-3


def test_sgdw_torch_backend_matches_numpy():


    rng = np.random.default_rng(2)
    theta0, grads = rng.normal(size=(3,)), rng.normal(size=(3, 3))
    res = []
    for conv in (np.asarray, torch.tensor):
        p = Parameter(conv(theta0.copy()), "b")
        opt = SGDW([p], lr=0.05, momentum=0.9, weight_decay=0.1)
        for g in grads:
            p.grad = conv(g.copy())
            opt.step()
        res.append(to_numpy(p.data))
    np.testing.assert_allclose(res[0], res[1], rtol=1e-14)


def test_sgdw_refuses_a_negative_decay():


    p = Parameter(np.zeros(2), "b")
    with pytest.raises(ValueError, match=whole("weight_decay must be a non-negative number, "
                                               "got -1.0")):
        SGDW([p], lr=0.1, weight_decay=-1.0)


# ---------------------------------------------------------------- which parameters count as weights

class _Odd(nb.layers.Module):
    """A module with a 1-d parameter named "W", a 2-d one named "K" and a 1-d bias."""

    def __init__(self):
        self.W = Parameter(np.ones(3), "W")
        self.K = Parameter(np.ones((2, 3)), "K")
        self.b = Parameter(np.ones(3), "b")


def test_weights_go_by_the_name_w_or_by_two_dimensions():
    assert [p.name for p in weights(_Odd())] == ["W", "K"]


def test_weights_of_a_weight_norm_layer_are_the_directions():
    layer = nb.norm.WeightNormLinear(3, 2, rng=np.random.default_rng(0))
    assert [p.name for p in weights(layer)] == ["g", "v"]


def test_add_l2_grad_refuses_a_negative_strength():
    p = Parameter(np.ones(2), "W")
    with pytest.raises(ValueError, match=whole("lam must be a non-negative number, got -0.5")):
        add_l2_grad([p], -0.5)
    add_l2_grad([p], 0)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


def test_sgdw_default_has_no_decay():
    """Without weight_decay SGDW is plain momentum SGD."""
    rng = np.random.default_rng(3)
    theta0, grads = rng.normal(size=(4,)), rng.normal(size=(3, 4))
    res = []
    for cls in (nb.SGD, SGDW):
        p = Parameter(theta0.copy(), "W")
        opt = cls([p], lr=0.1, momentum=0.5)
        for g in grads:
            p.grad = g.copy()
            opt.step()
        res.append(p.data)
    np.testing.assert_array_equal(res[0], res[1])
    assert SGDW([Parameter(theta0.copy(), "W")], lr=0.1).decay == 0.0


def test_error_curves_names_a_set_that_does_not_fit():
    X, y = _data()
    net = _net()
    curves = ErrorCurves(X[:, :3], y, X, y)
    with pytest.raises(ValueError, match=whole(
            "X does not fit the model: x must have shape (N, 4), got (60, 3)")):
        curves(1, net)
    assert curves.val_loss == []


# ---------------------------------------------------------------- stratified_indices

def test_stratified_two_parts_and_exact_fractions():
    from fractions import Fraction

    y = np.repeat(np.arange(2), [6, 4])
    for fractions in ([0.5, 0.5], [Fraction(1, 2), Fraction(1, 2)]):
        parts = stratified_indices(y, fractions, rng=np.random.default_rng(0))
        assert [np.bincount(y[p], minlength=2).tolist() for p in parts] == [[3, 2], [3, 2]]


@pytest.mark.parametrize("fractions, sizes", [
    # exact 2, 3.5, 4.5: one index left over, it goes to the first of the two largest remainders
    ([0.2, 0.35, 0.45], [2, 4, 4]),
    # exact 6.2, 3.8: the larger remainder wins, not the larger part
    ([0.62, 0.38], [6, 4]),
    # exact 0.7, 0.7, 2.8, 2.8 of 7: three left over, ties go to the earlier part
    ([0.1, 0.1, 0.4, 0.4], [1, 0, 3, 3]),
])
def test_stratified_sizes_follow_the_largest_remainder_rule(fractions, sizes):
    n = sum(sizes)
    y = np.zeros(n, dtype=np.int64)
    parts = stratified_indices(y, fractions, rng=np.random.default_rng(0))
    assert [len(p) for p in parts] == sizes
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))


@pytest.mark.parametrize("fractions", [
    [1.5, -0.5],
    [1.0, 0.0],
    [[0.25, 0.25], [0.25, 0.25]],
    [1.0],
    1.0,
])
def test_stratified_refuses_bad_fractions(fractions):
    y = np.arange(8) % 2
    with pytest.raises(ValueError, match=whole(
            f"fractions must be at least 2 positive numbers summing to 1, got {fractions}")):
        stratified_indices(y, fractions, rng=np.random.default_rng(0))


@pytest.mark.parametrize("test_fraction, message", [
    (0, "test_fraction must lie in (0, 1), got 0.0"),
    (1, "test_fraction must lie in (0, 1), got 1.0"),
    (-0.1, "test_fraction must lie in (0, 1), got -0.1"),
])
def test_split_refuses_a_test_fraction_outside_the_open_interval(test_fraction, message):
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match=whole(message)):
        train_val_test_split(X, y, val_fraction=0.2, test_fraction=test_fraction,
                             rng=np.random.default_rng(0))


# ---------------------------------------------------------------- early stopping details

class _FakeLoss:
    def __init__(self, values):
        self.values = iter(values)

    def forward(self, out, y):
        return next(self.values)


def _stopper(values, **kwargs):
    return EarlyStopping(np.zeros((1, 4)), np.zeros(1, dtype=np.int64), _FakeLoss(values),
                         **kwargs)


def test_early_stopping_defaults_patience_10_and_starts_at_epoch_0():
    stopper = _stopper([1.0] + [2.0] * 10)
    assert (stopper.best_epoch, stopper.best_loss, stopper.patience, stopper.min_delta) == \
        (0, float("inf"), 10, 0.0)
    net = _net()
    stops = []
    for epoch in range(1, 12):
        stopper(epoch, net)
        stops.append(stopper.should_stop)
    assert stops == [False] * 10 + [True]


def test_early_stopping_counts_patience_from_epoch_0_when_nothing_improves():
    stopper = _stopper([float("nan")], patience=1)
    stopper(1, _net())
    assert stopper.best_epoch == 0 and stopper.should_stop


def test_early_stopping_min_delta_is_the_improvement_needed():
    stopper = _stopper([5.0, 4.95, 4.8], min_delta=0.1)
    net = _net()
    stopper(1, net)
    stopper(2, net)
    assert (stopper.best_epoch, stopper.best_loss) == (1, 5.0)
    stopper(3, net)
    assert (stopper.best_epoch, stopper.best_loss) == (3, 4.8)


def test_early_stopping_refuses_a_negative_min_delta():
    with pytest.raises(ValueError, match=whole("min_delta must be a non-negative number, "
                                               "got -1.0")):
        _stopper([], min_delta=-1)


def test_early_stopping_names_x_val_when_it_does_not_fit():
    X, y = _data()
    stopper = EarlyStopping(X[:, :3], y, nb.CrossEntropyLoss())
    with pytest.raises(ValueError, match=whole(
            "X_val does not fit the model: x must have shape (N, 4), got (60, 3)")):
        stopper(1, _net())


def test_restore_refuses_a_model_with_other_parameters():
    stopper = _stopper([1.0])
    stopper(1, _net())
    with pytest.raises(ValueError, match="zip"):
        stopper.restore(nb.mlp([4, 8], rng=np.random.default_rng(0)))


def _fit_es(max_epochs, **kwargs):
    X, y = _data()
    Xv, yv = _data(1)
    net = _net()
    return fit_early_stopping(net, nb.CrossEntropyLoss(), nb.SGD(net.parameters(), lr=0.01),
                              X, y, Xv, yv, max_epochs=max_epochs, batch_size=20,
                              rng=np.random.default_rng(0), **kwargs)


def test_fit_early_stopping_defaults_and_passes_its_arguments_on():
    seen = []
    h, stopper = _fit_es(3, min_delta=0.25, callback=lambda epoch, model: seen.append(epoch))
    assert (stopper.patience, stopper.min_delta) == (10, 0.25)
    assert len(h.loss) == 3 and seen == [1, 1, 1]


def test_fit_early_stopping_runs_max_epochs_at_most():
    h, stopper = _fit_es(1, patience=50)
    assert len(h.loss) == 1 and stopper.best_epoch == 1
    h, _ = _fit_es(4, patience=50)
    assert len(h.loss) == len(h.val_loss) == 4
    with pytest.raises(ValueError, match=whole("max_epochs must be a positive int, got 0")):
        _fit_es(0)
