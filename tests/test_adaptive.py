"""AdaGrad, RMSProp, Adam and AdamW against torch.optim, step by step, on NumPy and PyTorch."""


import numpy as np
import pytest
import torch
from conftest import as_torch, whole

import nnbook as nb
from nnbook import adaptive, to_numpy

CONFIGS = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.05}),
    ("RMSprop", {"lr": 0.003, "momentum": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.003, "momentum": 0.5, "centered": False, "weight_decay": 0.1}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adam", {"betas": (0.0, 0.5)}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.5}),
]


def _ids(config):
    name, kw = config
    return name + ("-" + "-".join(f"{k}={v}" for k, v in kw.items()) if kw else "-defaults")


@pytest.mark.parametrize("config", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_matches_torch_optim_step_by_step(config, backend, rng):
    """200 steps on the same parameters and gradients (of two parameters, one sparse-ish)."""
    name, kw = config
    shapes = [(3, 4), (5,)]
    thetas = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal((200, *s)) * rng.choice([0.0, 0.01, 1.0, 30.0], size=(200, *s))
             for s in shapes]
    params = [nb.layers.Parameter(backend.asarray(t)) for t in thetas]
    opt = getattr(adaptive, name)(params, **kw)
    tensors = [as_torch(t, requires_grad=True) for t in thetas]
    ref = getattr(torch.optim, name)(tensors, **kw)
    for k in range(200):
        for p, t, g in zip(params, tensors, grads, strict=True):
            p.grad = backend.asarray(g[k])
            t.grad = as_torch(g[k])
        opt.step()
        ref.step()
        for p, t in zip(params, tensors, strict=True):
            np.testing.assert_allclose(to_numpy(p.data), t.detach().numpy(), rtol=1e-11, atol=1e-13,
                                       err_msg=f"step {k + 1}")
    state, ref_state = opt.state[0], ref.state[tensors[0]]
    assert state["step"] == 200 == int(ref_state["step"])
    for key in set(state) - {"step"}:
        np.testing.assert_allclose(to_numpy(state[key]), ref_state[key].numpy(), rtol=1e-11,
                                   atol=1e-14, err_msg=key)


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adam", "AdamW"])
def test_defaults_are_torch_defaults(name):
    p = nb.layers.Parameter(np.zeros(2))
    ours = getattr(adaptive, name)([p])
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
    for key in ("lr", "eps", "weight_decay", "betas", "alpha", "momentum", "centered", "lr_decay",
                "initial_accumulator_value"):
        if hasattr(ours, key):
            assert getattr(ours, key) == pytest.approx(theirs[key]), key


def test_state_is_visible_and_gradient_untouched(rng):
    p = nb.layers.Parameter(rng.standard_normal(3))
    g = rng.standard_normal(3)
    opt = adaptive.Adam([p], weight_decay=0.1)
    p.grad = g.copy()
    opt.step()
    np.testing.assert_array_equal(p.grad, g)
    assert sorted(opt.state[0]) == ["exp_avg", "exp_avg_sq", "step"]
    np.testing.assert_allclose(opt.state[0]["exp_avg"], 0.1 * (g + 0.1 * (p.data + 0)), rtol=0.1)


def test_adam_first_step_moves_every_coordinate_by_lr(rng):
    """Bias correction: the first step is lr * g / (|g| + eps') in each coordinate, about lr."""
    theta0 = rng.standard_normal(6)
    g = np.array([1e-4, -1e-2, 1.0, -5.0, 100.0, 3e3])
    p = nb.layers.Parameter(theta0.copy())
    p.grad = g
    adaptive.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(theta0 - p.data, 0.01 * np.sign(g), rtol=1e-3)


def test_adamw_decays_the_weights_not_the_gradient(rng):
    """With a zero gradient AdamW still shrinks the weights by (1 - lr wd); Adam's L2 moves by ~lr."""
    theta0 = rng.standard_normal(4)
    a, w = nb.layers.Parameter(theta0.copy()), nb.layers.Parameter(theta0.copy())
    a.grad, w.grad = np.zeros(4), np.zeros(4)
    adaptive.AdamW([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, theta0 * (1 - 0.05), rtol=1e-14)
    adaptive.Adam([a], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(theta0 - a.data, 0.1 * np.sign(theta0), rtol=1e-6)


@pytest.mark.parametrize("call, exc, msg", [
    (lambda p: adaptive.Adam(p, lr=0.0), ValueError, "lr must be a positive number, got 0.0"),
    (lambda p: adaptive.Adam(p, betas=(0.9, 1.0)), ValueError,
     "betas[1] must lie in [0, 1), got 1.0"),
    (lambda p: adaptive.Adam(p, betas=0.9), ValueError,
     "betas must be a pair (beta1, beta2), got 0.9"),
    (lambda p: adaptive.AdamW(p, betas=(-0.1, 0.9)), ValueError,
     "betas[0] must lie in [0, 1), got -0.1"),
    (lambda p: adaptive.Adam(p, eps=-1e-8), ValueError,
     "eps must be a non-negative number, got -1e-08"),
    (lambda p: adaptive.AdamW(p, weight_decay=-0.01), ValueError,
     "weight_decay must be a non-negative number, got -0.01"),
    (lambda p: adaptive.RMSprop(p, alpha=1.0), ValueError, "alpha must lie in [0, 1), got 1.0"),
    (lambda p: adaptive.RMSprop(p, momentum=-0.5), ValueError,
     "momentum must lie in [0, 1), got -0.5"),
    (lambda p: adaptive.Adagrad(p, lr_decay=-1), ValueError,
     "lr_decay must be a non-negative number, got -1.0"),
    (lambda p: adaptive.Adagrad(p, initial_accumulator_value=-0.1), ValueError,
     "initial_accumulator_value must be a non-negative number, got -0.1"),
    (lambda p: adaptive.Adagrad(p, weight_decay=-0.5), ValueError,
     "weight_decay must be a non-negative number, got -0.5"),
    (lambda p: adaptive.Adagrad(p, eps=-1e-10), ValueError,
     "eps must be a non-negative number, got -1e-10"),
    (lambda p: adaptive.RMSprop(p, eps=-1e-8), ValueError,
     "eps must be a non-negative number, got -1e-08"),
    (lambda p: adaptive.RMSprop(p, weight_decay=-0.05), ValueError,
     "weight_decay must be a non-negative number, got -0.05"),
    (lambda p: adaptive.Adam([]), TypeError,
     "params must be a non-empty list of nnbook Parameters (use model.parameters()), "
     "got an empty list"),
])
def test_bad_arguments_refused(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call([nb.layers.Parameter(np.zeros(2))])


def test_trains_a_network_with_fit(rng):
    X, y = nb.data.blobs(200, centers=((-1, 0), (1, 0), (0, 1.5)), std=0.4, rng=rng)
    for cls in (adaptive.Adagrad, adaptive.RMSprop, adaptive.Adam, adaptive.AdamW):
        model = nb.mlp([2, 16, 3], "tanh", rng=np.random.default_rng(0))
        hist = nb.fit(model, nb.CrossEntropyLoss(), cls(model.parameters(), lr=0.01), X, y,
                      epochs=20, batch_size=32, rng=np.random.default_rng(1))
        assert hist.loss[-1] < 0.5 * hist.loss[0], cls.__name__
