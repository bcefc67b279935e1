"""SGD's weight decay and fit's scheduler argument, against torch.optim."""


import numpy as np
import pytest
import torch
from conftest import as_torch, whole

import nnbook as nb
from nnbook import to_numpy
from nnbook.schedules import StepLR


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.8, True)])
def test_sgd_weight_decay_matches_torch_optim(momentum, nesterov, backend, rng):
    theta0 = rng.standard_normal((3, 4))
    grads = rng.standard_normal((50, 3, 4))
    p = nb.layers.Parameter(backend.asarray(theta0), "theta")
    opt = nb.SGD([p], lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=0.3)
    t = as_torch(theta0, requires_grad=True)
    ref = torch.optim.SGD([t], lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=0.3)
    for g in grads:
        p.grad = backend.asarray(g)
        opt.step()
        t.grad = as_torch(g)
        ref.step()
        np.testing.assert_allclose(to_numpy(p.data), t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_weight_decay_zero_is_plain_sgd_and_gradient_untouched(rng):
    theta0, g = rng.standard_normal(4), rng.standard_normal(4)
    a, b = nb.layers.Parameter(theta0.copy()), nb.layers.Parameter(theta0.copy())
    a.grad, b.grad = g.copy(), g.copy()
    nb.SGD([a], lr=0.1, momentum=0.9).step()
    nb.SGD([b], lr=0.1, momentum=0.9, weight_decay=0.0).step()
    np.testing.assert_array_equal(a.data, b.data)
    c = nb.layers.Parameter(theta0.copy())
    c.grad = g.copy()
    nb.SGD([c], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_array_equal(c.grad, g)                      # the gradient is not modified
    np.testing.assert_allclose(c.data, theta0 - 0.1 * (g + 0.5 * theta0), rtol=1e-15)


def test_weight_decay_refused():
    p = nb.layers.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"^weight_decay must be a non-negative number, got -0\.1$"):
        nb.SGD([p], lr=0.1, weight_decay=-0.1)
    msg = r"^weight_decay must be a non-negative number, got '0\.1' of type str$"
    with pytest.raises(TypeError, match=msg):
        nb.SGD([p], lr=0.1, weight_decay="0.1")


def test_fit_steps_the_scheduler_after_every_minibatch(rng):
    X, y = nb.data.blobs(100, std=0.5, rng=rng)
    model = nb.mlp([2, 8, 2], "tanh", rng=rng)
    opt = nb.SGD(model.parameters(), lr=0.2)
    seen = []

    class Spy:
        def step(self):
            seen.append(opt.lr)
            sched.step()

    sched = StepLR(opt, step_size=3, gamma=0.5)
    nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=30,
           rng=np.random.default_rng(0), scheduler=Spy())
    assert len(seen) == 8                                         # 4 batches x 2 epochs
    assert sched.t == 8
    assert opt.lr == pytest.approx(0.2 * 0.5 ** 2)
    assert seen[:4] == pytest.approx([0.2, 0.2, 0.2, 0.1])


def test_fit_with_scheduler_matches_torch(rng):
    """The same training run with a per-step StepLR in nnbook and in torch."""
    X, y = nb.data.blobs(64, std=0.5, rng=rng)
    model = nb.mlp([2, 6, 2], "tanh", rng=rng)
    net = torch.nn.Sequential(torch.nn.Linear(2, 6).double(), torch.nn.Tanh(),
                              torch.nn.Linear(6, 2).double())
    with torch.no_grad():
        for lin, layer in zip([net[0], net[2]], [model.layers[0], model.layers[2]], strict=True):
            lin.weight.copy_(as_torch(layer.W.data))
            lin.bias.copy_(as_torch(layer.b.data))
    opt = nb.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-2)
    hist = nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=5, batch_size=16,
                  rng=np.random.default_rng(3), scheduler=StepLR(opt, step_size=5, gamma=0.7))
    ref = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(ref, step_size=5, gamma=0.7)
    perm_rng, curve = np.random.default_rng(3), []
    Xt, yt = as_torch(X), torch.tensor(y)
    for _ in range(5):
        perm = torch.as_tensor(perm_rng.permutation(len(X)))
        total = 0.0
        for s in range(0, len(X), 16):
            idx = perm[s:s + 16]
            ref.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            ref.step()
            sched.step()
            total += loss.item() * len(idx)
        curve.append(total / len(X))
    np.testing.assert_allclose(hist.loss, curve, rtol=1e-10)


def test_fit_refuses_a_scheduler_without_step(rng):
    X, y = nb.data.blobs(10, std=0.5, rng=rng)
    model = nb.mlp([2, 3, 2], "tanh", rng=rng)
    opt = nb.SGD(model.parameters(), lr=0.1)
    msg = ("scheduler must have a step() method (e.g. nnbook.schedules.StepLR) or be None, "
           "got float")
    with pytest.raises(TypeError, match=whole(msg)):
        nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=5,
               rng=np.random.default_rng(0), scheduler=0.1)
