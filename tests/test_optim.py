"""Optimisers and the training loop, against torch.optim and torch.nn."""

import copy

import numpy as np
import pytest
import torch
from conftest import as_torch

import nnbook as nb
from nnbook import to_numpy


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_torch_optim(momentum, nesterov, rng):
    theta0 = rng.standard_normal(5)
    grads = rng.standard_normal((4, 5))
    p = nb.layers.Parameter(theta0.copy(), "theta")
    opt = nb.SGD([p], lr=0.1, momentum=momentum, nesterov=nesterov)
    t = as_torch(theta0, requires_grad=True)
    ref = torch.optim.SGD([t], lr=0.1, momentum=momentum, nesterov=nesterov)
    for g in grads:
        p.grad = g.copy()
        opt.step()
        t.grad = as_torch(g)
        ref.step()
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-14, atol=1e-15)


def test_sgd_does_not_mutate_the_gradient(rng):
    p = nb.layers.Parameter(np.zeros(3))
    g = np.ones(3)
    opt = nb.SGD([p], lr=1.0, momentum=0.5)
    p.grad = g
    opt.step()
    p.grad = g
    opt.step()
    np.testing.assert_array_equal(g, np.ones(3))
    np.testing.assert_allclose(p.data, -np.array([2.5, 2.5, 2.5]))   # -(1) - (0.5 + 1)


def _torch_twin(model):
    layers = []
    for layer in model.layers:
        if isinstance(layer, nb.Linear):
            lin = torch.nn.Linear(layer.in_features, layer.out_features).double()
            with torch.no_grad():
                lin.weight.copy_(as_torch(to_numpy(layer.W.data)))
                lin.bias.copy_(as_torch(to_numpy(layer.b.data)))
            layers.append(lin)
        else:
            layers.append({"ReLU": torch.nn.ReLU, "Tanh": torch.nn.Tanh,
                           "Sigmoid": torch.nn.Sigmoid}[type(layer).__name__]())
    return torch.nn.Sequential(*layers)


def test_fit_gives_torch_nn_loss_curve(backend, rng):
    """Same data, same initial weights, same permutations: same loss curve as torch.nn."""
    X, y = nb.data.blobs(120, centers=((-1, 0), (1, 0), (0, 1.5)), std=0.4, rng=rng)
    model = nb.mlp([2, 16, 16, 3], "tanh", rng=rng)
    net = _torch_twin(model)
    model.to(backend)
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.2, momentum=0.9),
                  backend.asarray(X), backend.asarray(y), epochs=20, batch_size=32,
                  rng=np.random.default_rng(5))
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    perm_rng, ref_curve = np.random.default_rng(5), []
    Xt, yt = as_torch(X), torch.tensor(y)
    for _ in range(20):
        perm = torch.as_tensor(perm_rng.permutation(len(X)))
        total = 0.0
        for s in range(0, len(X), 32):
            idx = perm[s:s + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        ref_curve.append(total / len(X))
    np.testing.assert_allclose(hist.loss, ref_curve, rtol=1e-10)
    assert ref_curve[-1] < 0.6 * ref_curve[0]        # it did learn something


def test_fit_records_validation_and_learns_xor(rng):
    X, y = nb.data.xor(25, 0.1, rng=rng)
    model = nb.mlp([2, 8, 2], "tanh", rng=rng)
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.5, momentum=0.9),
                  X, y, epochs=60, batch_size=10, rng=rng, X_val=X, y_val=y)
    assert len(hist.loss) == len(hist.val_loss) == len(hist.val_acc) == 60
    assert hist.val_acc[-1] == 1.0
    assert nb.accuracy(nb.predict(model, X), y) == 1.0


def test_fit_is_reproducible(rng):
    X, y = nb.data.moons(64, rng=rng)
    model = nb.mlp([2, 8, 2], "relu", rng=rng)
    runs = []
    for _ in range(2):
        m = copy.deepcopy(model)
        runs.append(nb.fit(m, nb.CrossEntropyLoss(), nb.SGD(m.parameters(), lr=0.1), X, y,
                           epochs=3, batch_size=16, rng=np.random.default_rng(0)).loss)
    assert runs[0] == runs[1]


def test_accuracy_for_binary_logits():
    logits, targets = np.array([[2.0], [-1.0], [0.5]]), np.array([[1.0], [0.0], [0.0]])
    assert nb.accuracy(logits, targets) == pytest.approx(2 / 3)


def test_optim_refusals(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    with pytest.raises(ValueError, match=r"lr must be a positive number, got -0\.1"):
        nb.SGD(model.parameters(), lr=-0.1)
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\), got 1.0"):
        nb.SGD(model.parameters(), lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum > 0"):
        nb.SGD(model.parameters(), lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="params must be a non-empty list of nnbook Parameters"):
        nb.SGD([np.zeros(2)], lr=0.1)
    opt = nb.SGD(model.parameters(), lr=0.1)
    X, y = np.zeros((4, 2)), np.zeros(4, dtype=np.int64)
    kw = dict(epochs=1, batch_size=2, rng=rng)
    with pytest.raises(ValueError, match=r"X must have shape|X must have 2 dimension"):
        nb.fit(model, nb.CrossEntropyLoss(), opt, np.zeros(4), y, **kw)
    with pytest.raises(ValueError, match=r"y must have 4 rows like X, got shape \(3,\)"):
        nb.fit(model, nb.CrossEntropyLoss(), opt, X, y[:3], **kw)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=0, rng=rng)
    with pytest.raises(TypeError, match="X is a torch array but the model lives on numpy:cpu:float64"):
        nb.fit(model, nb.CrossEntropyLoss(), opt, torch.zeros(4, 2, dtype=torch.float64), y, **kw)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        nb.fit(model, nb.CrossEntropyLoss(), opt, X, y + 5, **kw)


def test_fit_calls_back_after_every_epoch_and_restores_modes(rng):
    X, y = nb.data.blobs(20, rng=rng)
    model = nb.mlp([2, 4, 2], "relu", rng=rng)
    seen = []
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=3, batch_size=7, rng=rng,
                  callback=lambda epoch, m: seen.append((epoch, m.training)))
    assert seen == [(1, True), (2, True), (3, True)]
    assert hist.epochs == [1, 2, 3]
    model.eval()
    nb.predict(model, X)
    assert not model.training                     # predict restores the caller's mode


def test_last_batch_is_smaller_and_weighted(rng):
    """The epoch loss is the mean over samples: batches are weighted by their size."""
    X, y = nb.data.blobs(10, rng=rng)
    model = nb.mlp([2, 2], rng=rng)
    lr = 1e-300                                   # the weights (and so the losses) stay put
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=lr), X, y,
                  epochs=1, batch_size=4, rng=rng)
    full = float(nb.CrossEntropyLoss()(model.forward(X), y))
    assert hist.loss[0] == pytest.approx(full, rel=1e-12)
