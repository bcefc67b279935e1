"""nnbook.norm: gradient checks, NumPy/PyTorch parity, torch.nn as the oracle, bad inputs."""

import re

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook import norm
from nnbook.gradcheck import check_layer

TOL = 1e-7


def t64(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


# ---------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5), (5, 3, 4)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_gradcheck(shape, mode):
    rng = np.random.default_rng(0)
    layer = norm.BatchNorm(3)
    layer.gamma.data[:] = rng.normal(size=3)
    layer.beta.data[:] = rng.normal(size=3)
    x = rng.normal(2.0, 3.0, size=shape)
    layer.forward(x)                                  # running statistics away from 0 and 1
    layer.train(mode == "train")
    errors = check_layer(layer, x, rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape, nshape", [((5, 4), 4), ((3, 2, 6), (2, 6)),
                                           ((2, 3, 4, 2), (4, 2))])
def test_layernorm_gradcheck(shape, nshape):
    rng = np.random.default_rng(1)
    layer = norm.LayerNorm(nshape)
    layer.gamma.data[...] = rng.normal(size=layer.gamma.shape)
    layer.beta.data[...] = rng.normal(size=layer.beta.shape)
    errors = check_layer(layer, rng.normal(1.0, 2.0, size=shape), rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape, groups", [((3, 6, 2, 2), 3), ((4, 6), 2), ((2, 4, 5), 4)])
def test_groupnorm_gradcheck(shape, groups):
    rng = np.random.default_rng(2)
    layer = norm.GroupNorm(groups, shape[1])
    layer.gamma.data[:] = rng.normal(size=shape[1])
    layer.beta.data[:] = rng.normal(size=shape[1])
    errors = check_layer(layer, rng.normal(size=shape), rng)
    assert max(errors.values()) < TOL, errors


def test_weight_norm_gradcheck():
    rng = np.random.default_rng(3)
    layer = norm.WeightNormLinear(4, 3, rng=rng)
    layer.g.data[:] = rng.normal(size=(3, 1))
    errors = check_layer(layer, rng.normal(size=(5, 4)), rng)
    assert max(errors.values()) < TOL, errors


def test_spectral_norm_gradcheck():
    """In eval mode u and v are fixed: the gradient is that of W / (u^T W v)."""
    rng = np.random.default_rng(4)
    layer = norm.SpectralNormLinear(4, 3, rng=rng)
    x = rng.normal(size=(5, 4))
    layer.forward(x)
    errors = check_layer(layer.eval(), x, rng)
    assert max(errors.values()) < TOL, errors


def test_mlp_with_norm_gradcheck():
    rng = np.random.default_rng(5)
    for kind in ("batch", "layer"):
        model = nb.mlp([3, 5, 4, 2], "tanh", rng=rng, norm=kind)
        assert [type(m).__name__ for m in model.layers][:3] == [
            "Linear", "BatchNorm" if kind == "batch" else "LayerNorm", "Tanh"]
        errors = check_layer(model, rng.normal(size=(6, 3)), rng)
        if kind == "batch":      # a bias before BatchNorm is subtracted with the mean
            for i in (0, 3):
                assert np.abs(model.layers[i].b.grad).max() < 1e-12
                del errors[f"{i}.b"]
        assert max(errors.values()) < TOL, (kind, errors)


# ---------------------------------------------------------------- torch.nn as the oracle

def _run_steps(ours, theirs, shapes, rng, modes):
    """Forward and backward both layers on the same batches; compare everything each step."""
    params = dict(theirs.named_parameters())
    for shape, mode in zip(shapes, modes, strict=True):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = rng.normal(1.5, 2.0, size=shape)
        dout = rng.normal(size=shape)
        xt = t64(x).requires_grad_(True)
        out_t = theirs(xt)
        out_t.backward(t64(dout))
        out = ours.forward(x)
        dx = ours.backward(dout)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
        if ours.gamma is not None:
            np.testing.assert_allclose(ours.gamma.grad, params["weight"].grad.numpy(),
                                       rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(ours.beta.grad, params["bias"].grad.numpy(),
                                       rtol=1e-9, atol=1e-11)
            for p in params.values():
                p.grad = None
        if hasattr(theirs, "running_mean"):
            np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(),
                                       rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(),
                                       rtol=1e-12, atol=1e-14)


MODES = ["train", "train", "eval", "train", "eval", "train"]


@pytest.mark.parametrize("shape, cls", [((8, 3), torch.nn.BatchNorm1d),
                                        ((4, 3, 5, 2), torch.nn.BatchNorm2d),
                                        ((2, 3, 7), torch.nn.BatchNorm1d)])
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batchnorm_matches_torch_over_steps(shape, cls, momentum):
    rng = np.random.default_rng(6)
    ours = norm.BatchNorm(3, momentum=momentum)
    theirs = cls(3, momentum=momentum, dtype=torch.float64)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    ours.gamma.data[:], ours.beta.data[:] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(t64(gamma))
        theirs.bias.copy_(t64(beta))
    _run_steps(ours, theirs, [shape] * len(MODES), rng, MODES)


def test_batchnorm_without_affine_matches_torch():
    rng = np.random.default_rng(7)
    ours = norm.BatchNorm(3, affine=False)
    theirs = torch.nn.BatchNorm1d(3, affine=False, dtype=torch.float64)
    _run_steps(ours, theirs, [(5, 3)] * 4, rng, ["train", "eval", "train", "eval"])


def test_layernorm_matches_torch():
    rng = np.random.default_rng(8)
    ours = norm.LayerNorm((3, 4))
    theirs = torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    gamma, beta = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ours.gamma.data[...], ours.beta.data[...] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(t64(gamma))
        theirs.bias.copy_(t64(beta))
    _run_steps(ours, theirs, [(5, 2, 3, 4)] * 3, rng, ["train", "eval", "train"])


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_groupnorm_matches_torch(groups):
    rng = np.random.default_rng(9)
    ours = norm.GroupNorm(groups, 6)
    theirs = torch.nn.GroupNorm(groups, 6, dtype=torch.float64)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    ours.gamma.data[:], ours.beta.data[:] = gamma, beta
    with torch.no_grad():
        theirs.weight.copy_(t64(gamma))
        theirs.bias.copy_(t64(beta))
    _run_steps(ours, theirs, [(3, 6, 2, 3)] * 2, rng, ["train", "eval"])


def test_instance_norm_is_groupnorm_with_one_channel_per_group():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 4, 3, 3))
    out = norm.GroupNorm(4, 4, affine=False).forward(x)
    ref = torch.nn.InstanceNorm2d(4)(t64(x)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)


def test_weight_norm_matches_torch_over_sgd_steps():
    rng = np.random.default_rng(11)
    ours = norm.WeightNormLinear(4, 3, rng=rng)
    lin = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(t64(ours.weight))
        lin.bias.copy_(t64(ours.b.data))
    theirs = torch.nn.utils.parametrizations.weight_norm(lin)
    g_t = theirs.parametrizations.weight.original0
    v_t = theirs.parametrizations.weight.original1
    np.testing.assert_allclose(ours.g.data, g_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.v.data, v_t.detach().numpy(), rtol=1e-12)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt = nb.SGD(ours.parameters(), lr=0.1)
    for _ in range(4):
        x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
        xt = t64(x).requires_grad_(True)
        out_t = theirs(xt)
        opt_t.zero_grad()
        out_t.backward(t64(dout))
        out = ours.forward(x)
        dx = ours.backward(dout)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.g.grad, g_t.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.v.grad, v_t.grad.numpy(), rtol=1e-10, atol=1e-13)
        opt_t.step()
        opt.step()
    norms = np.linalg.norm(ours.weight, axis=1, keepdims=True)
    np.testing.assert_allclose(norms, np.abs(ours.g.data), rtol=1e-12)


def test_spectral_norm_matches_torch_over_sgd_steps():
    rng = np.random.default_rng(12)
    ours = norm.SpectralNormLinear(5, 3, rng=rng)
    lin = torch.nn.Linear(5, 3, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(t64(ours.W.data))
        lin.bias.copy_(t64(ours.b.data))
    theirs = torch.nn.utils.parametrizations.spectral_norm(lin)
    sn = theirs.parametrizations.weight[0]
    ours.u, ours.v = sn._u.numpy().copy(), sn._v.numpy().copy()   # the same starting vectors
    W_t = theirs.parametrizations.weight.original
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt = nb.SGD(ours.parameters(), lr=0.1)
    for mode in ["train", "train", "eval", "train", "train"]:
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
        xt = t64(x).requires_grad_(True)
        out_t = theirs(xt)
        opt_t.zero_grad()
        out_t.backward(t64(dout))
        out = ours.forward(x)
        dx = ours.backward(dout)
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.W.grad, W_t.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.u, sn._u.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.v, sn._v.numpy(), rtol=1e-10)
        opt_t.step()
        opt.step()


def test_power_iteration_converges_to_the_largest_singular_value():
    rng = np.random.default_rng(13)
    W = rng.normal(size=(20, 30))
    u = rng.normal(size=20)
    v = rng.normal(size=30)
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    _, _, sigma = norm.power_iteration(W, u, v, 200)
    assert abs(float(sigma) - np.linalg.svd(W, compute_uv=False)[0]) < 1e-10
    layer = norm.SpectralNormLinear(30, 20, rng=rng)
    for _ in range(200):
        layer.forward(rng.normal(size=(2, 30)))
    W_sn = layer.W.data / layer.sigma()
    assert abs(np.linalg.svd(W_sn, compute_uv=False)[0] - 1.0) < 1e-6


# ---------------------------------------------------------------- NumPy / PyTorch parity

@pytest.mark.parametrize("make, shape", [
    (lambda rng: norm.BatchNorm(3), (6, 3, 2, 2)),
    (lambda rng: norm.LayerNorm(4), (5, 4)),
    (lambda rng: norm.GroupNorm(3, 6), (2, 6, 3)),
    (lambda rng: norm.WeightNormLinear(4, 3, rng=rng), (5, 4)),
    (lambda rng: norm.SpectralNormLinear(4, 3, rng=rng), (5, 4)),
])
def test_numpy_torch_parity(make, shape):
    rng = np.random.default_rng(14)
    a = make(np.random.default_rng(0))
    b = make(np.random.default_rng(0)).to("torch", device="cpu", dtype="float64")
    for mode in ["train", "train", "eval"]:
        a.train(mode == "train")
        b.train(mode == "train")
        linear = isinstance(a, norm.WeightNormLinear | norm.SpectralNormLinear)
        x, dout = rng.normal(size=shape), rng.normal(size=(shape[0], 3) if linear else shape)
        out_a, out_b = a.forward(x), b.forward(t64(x))
        assert isinstance(out_b, torch.Tensor)
        np.testing.assert_allclose(out_a, out_b.numpy(), rtol=1e-12, atol=1e-13)
        dx_a, dx_b = a.backward(dout), b.backward(t64(dout))
        np.testing.assert_allclose(dx_a, dx_b.numpy(), rtol=1e-11, atol=1e-13)
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            np.testing.assert_allclose(pa.grad, pb.grad.numpy(), rtol=1e-11, atol=1e-13)
    if isinstance(a, norm.BatchNorm):
        assert isinstance(b.running_var, torch.Tensor)
        np.testing.assert_allclose(a.running_var, b.running_var.numpy(), rtol=1e-12)


def test_train_and_eval_differ_and_eval_is_per_sample():
    rng = np.random.default_rng(15)
    bn = norm.BatchNorm(4)
    for _ in range(3):
        bn.forward(rng.normal(3.0, 2.0, size=(16, 4)))
    x = rng.normal(3.0, 2.0, size=(8, 4))
    train_out = bn.forward(x)
    bn.eval()
    eval_out = bn.forward(x)
    assert np.abs(train_out - eval_out).max() > 0.1
    np.testing.assert_allclose(bn.forward(x[:1]), eval_out[:1], rtol=1e-14)


# ---------------------------------------------------------------- bad inputs

def _raises(exc, message, fn, *args, **kwargs):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        fn(*args, **kwargs)


def test_bad_constructor_arguments():
    _raises(ValueError, "num_features must be a positive int, got 0", norm.BatchNorm, 0)
    _raises(ValueError, "momentum must lie in [0, 1], got 1.5", norm.BatchNorm, 3,
            momentum=1.5)
    _raises(ValueError, "eps must be a positive number, got 0.0", norm.BatchNorm, 3, eps=0.0)
    _raises(ValueError, "num_groups must divide num_channels = 6, got 4",
            norm.GroupNorm, 4, 6)
    _raises(TypeError, "normalized_shape must be an int or a tuple of ints, got float",
            norm.LayerNorm, 2.5)
    _raises(ValueError, "normalized_shape must have at least 1 entry, got ()",
            norm.LayerNorm, ())
    _raises(ValueError, "n_power_iterations must be a positive int, got 0",
            norm.SpectralNormLinear, 3, 2, rng=np.random.default_rng(0),
            n_power_iterations=0)
    _raises(ValueError, "norm must be None, 'batch' or 'layer', got 'group'",
            nb.mlp, [2, 3, 1], rng=np.random.default_rng(0), norm="group")


def test_bad_forward_inputs():
    bn = norm.BatchNorm(3)
    _raises(ValueError, "x must have 3 channels on axis 1 (shape (N, 3, ...)), got shape (4, 2)",
            bn.forward, np.zeros((4, 2)))
    _raises(ValueError, "x must have shape (N, 3) or (N, 3, ...), got (3,)",
            bn.forward, np.zeros(3))
    _raises(ValueError, "BatchNorm needs more than 1 value per channel in training mode, "
            "got x of shape (1, 3)", bn.forward, np.zeros((1, 3)))
    assert bn.eval().forward(np.zeros((1, 3))).shape == (1, 3)      # fine in eval mode
    _raises(TypeError, "x must be a NumPy array or torch.Tensor, got list", bn.forward,
            [[1.0, 2.0, 3.0]])
    _raises(TypeError, "x must have the model's dtype float64, got float32; convert it "
            "with model.backend.asarray(x)", bn.forward, np.zeros((2, 3), np.float32))
    _raises(TypeError, "x is a torch array but the model lives on numpy:cpu:float64; convert "
            "it with model.backend.asarray(x)", bn.forward, torch.zeros(2, 3))
    ln = norm.LayerNorm((2, 3))
    _raises(ValueError, "x must end with the normalized shape (2, 3), as in (N, 2, 3), "
            "got (4, 3, 2)", ln.forward, np.zeros((4, 3, 2)))
    _raises(ValueError, "x must have shape (N, 2, 3), got (2, 3)", ln.forward, np.zeros((2, 3)))
    gn = norm.GroupNorm(2, 4)
    _raises(ValueError, "x must have 4 channels on axis 1 (shape (N, 4, ...)), got shape "
            "(2, 3, 5)", gn.forward, np.zeros((2, 3, 5)))
    _raises(ValueError, "x must have shape (N, 4), got (2, 5)",
            norm.WeightNormLinear(4, 3, rng=np.random.default_rng(0)).forward, np.zeros((2, 5)))


def test_backward_before_forward():
    for layer in [norm.BatchNorm(2), norm.LayerNorm(2), norm.GroupNorm(1, 2),
                  norm.WeightNormLinear(2, 2, rng=np.random.default_rng(0)),
                  norm.SpectralNormLinear(2, 2, rng=np.random.default_rng(0))]:
        name = type(layer).__name__
        _raises(RuntimeError, f"{name}.backward called before forward", layer.backward,
                np.zeros((2, 2)))
