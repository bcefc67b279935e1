"""nnbook.norm: gradient checks, NumPy/PyTorch parity, torch.nn as the oracle, bad inputs."""


import numpy as np
import pytest
import torch
from conftest import raises_whole as _raises

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


# ---------------------------------------------------------------- names, reprs, defaults

def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("make, names", [
    (lambda: norm.BatchNorm(3), ["gamma", "beta"]),
    (lambda: norm.LayerNorm((2, 3)), ["gamma", "beta"]),
    (lambda: norm.GroupNorm(2, 4), ["gamma", "beta"]),
    (lambda: norm.WeightNormLinear(3, 2, rng=_rng()), ["g", "v", "b"]),
    (lambda: norm.SpectralNormLinear(3, 2, rng=_rng()), ["W", "b"]),
])
def test_parameter_names(make, names):
    layer = make()
    assert [p.name for p in layer.parameters()] == names
    assert [k for k, _ in layer.named_parameters()] == names


@pytest.mark.parametrize("layer, text", [
    (norm.BatchNorm(3), "BatchNorm(3, eps=1e-05, momentum=0.1, affine=True)"),
    (norm.BatchNorm(3, affine=False), "BatchNorm(3, eps=1e-05, momentum=0.1, affine=False)"),
    (norm.LayerNorm((2, 3)), "LayerNorm((2, 3), eps=1e-05, affine=True)"),
    (norm.LayerNorm(4, elementwise_affine=False), "LayerNorm((4,), eps=1e-05, affine=False)"),
    (norm.GroupNorm(2, 4, eps=0.25), "GroupNorm(2, 4, eps=0.25)"),
    (norm.WeightNormLinear(3, 2, rng=_rng()), "WeightNormLinear(3, 2, bias=True)"),
    (norm.WeightNormLinear(3, 2, rng=_rng(), bias=False), "WeightNormLinear(3, 2, bias=False)"),
    (norm.SpectralNormLinear(3, 2, rng=_rng()),
     "SpectralNormLinear(3, 2, bias=True, n_power_iterations=1)"),
    (norm.SpectralNormLinear(3, 2, rng=_rng(), bias=False, n_power_iterations=2),
     "SpectralNormLinear(3, 2, bias=False, n_power_iterations=2)"),
])
def test_repr(layer, text):
    assert repr(layer) == text


@pytest.mark.parametrize("make", [
    lambda bk: norm.BatchNorm(3, backend=bk),
    lambda bk: norm.LayerNorm(3, backend=bk),
    lambda bk: norm.GroupNorm(1, 3, backend=bk),
    lambda bk: norm.WeightNormLinear(3, 2, rng=_rng(), backend=bk),
    lambda bk: norm.SpectralNormLinear(3, 2, rng=_rng(), backend=bk),
])
def test_constructor_backend_places_the_parameters(make):
    bk = nb.Backend("torch", "cpu", "float32")
    layer = make(bk)
    assert layer.backend == bk
    for p in layer.parameters():
        assert isinstance(p.data, torch.Tensor) and p.data.dtype == torch.float32
    out = layer.forward(torch.ones((2, 3), dtype=torch.float32))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


@pytest.mark.parametrize("make", [
    lambda: norm.BatchNorm(3),
    lambda: norm.SpectralNormLinear(3, 2, rng=_rng()),
])
@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_to_moves_parameters_and_buffers_to_the_dtype(make, lib):
    layer = make().to(lib, dtype="float32")
    # no device given: the CPU for NumPy, the fastest device here for torch (a GPU if any)
    device = "cpu" if lib == "numpy" else nb.backend.best_device()
    assert layer.backend == nb.Backend(lib, device, "float32")
    arrays = [p.data for p in layer.parameters()] + [getattr(layer, b) for b in layer._buffers]
    for a in arrays:
        assert nb.backend.library(a) == lib and nb.backend.dtype_name(a) == "float32"
    x = layer.backend.asarray(np.ones((2, 3)))
    assert nb.backend.dtype_name(layer.forward(x)) == "float32"


def test_to_refuses_a_device_numpy_does_not_have():
    _raises(ValueError, "device must be None or 'cpu' for NumPy, got 'cuda'",
            norm.BatchNorm(3).to, "numpy", device="cuda")


@pytest.mark.parametrize("make, message", [
    (lambda: norm.LayerNorm((2, 0)), "normalized_shape[1] must be a positive int, got 0"),
    (lambda: norm.LayerNorm(0), "normalized_shape[0] must be a positive int, got 0"),
    (lambda: norm.GroupNorm(0, 4), "num_groups must be a positive int, got 0"),
    (lambda: norm.GroupNorm(1, 0), "num_channels must be a positive int, got 0"),
    (lambda: norm.WeightNormLinear(0, 2, rng=_rng()), "in_features must be a positive int, got 0"),
    (lambda: norm.WeightNormLinear(2, 0, rng=_rng()),
     "out_features must be a positive int, got 0"),
    (lambda: norm.SpectralNormLinear(0, 2, rng=_rng()),
     "in_features must be a positive int, got 0"),
    (lambda: norm.SpectralNormLinear(2, 0, rng=_rng()),
     "out_features must be a positive int, got 0"),
])
def test_sizes_below_one_are_refused(make, message):
    _raises(ValueError, message, make)


def test_sizes_of_one_are_fine():
    x = np.arange(3.0).reshape(3, 1)
    np.testing.assert_allclose(norm.LayerNorm(1).forward(x), np.zeros((3, 1)))
    np.testing.assert_allclose(norm.GroupNorm(1, 1).forward(np.arange(6.0).reshape(3, 1, 2)),
                               np.tile([-1.0, 1.0], (3, 1, 1)) / np.sqrt(1 + 4e-5),
                               rtol=1e-12)
    for cls in (norm.WeightNormLinear, norm.SpectralNormLinear):
        assert cls(1, 1, rng=_rng()).forward(x).shape == (3, 1)


def test_layernorm_takes_a_numpy_integer_as_the_shape():
    layer = norm.LayerNorm(np.int64(3))
    assert layer.normalized_shape == (3,) and layer.gamma.shape == (3,)


def test_groupnorm_refuses_a_1d_input_naming_the_shape():
    _raises(ValueError, "x must have shape (N, 4) or (N, 4, ...), got (3,)",
            norm.GroupNorm(2, 4).forward, np.zeros(3))


# ---------------------------------------------------------------- eps reaches every step

EPS = 0.5      # large, so that a step that falls back to the default 1e-5 shows


def test_batchnorm_with_a_large_eps_matches_torch():
    rng = np.random.default_rng(20)
    ours = norm.BatchNorm(3, eps=EPS)
    theirs = torch.nn.BatchNorm1d(3, eps=EPS, dtype=torch.float64)
    _run_steps(ours, theirs, [(4, 3, 2)] * 3, rng, ["train", "eval", "train"])


def test_layernorm_with_a_large_eps_matches_torch():
    rng = np.random.default_rng(21)
    ours = norm.LayerNorm(4, eps=EPS)
    theirs = torch.nn.LayerNorm(4, eps=EPS, dtype=torch.float64)
    _run_steps(ours, theirs, [(3, 4)] * 2, rng, ["train", "eval"])


def test_groupnorm_with_a_large_eps_matches_torch():
    rng = np.random.default_rng(22)
    ours = norm.GroupNorm(2, 4, eps=EPS)
    theirs = torch.nn.GroupNorm(2, 4, eps=EPS, dtype=torch.float64)
    _run_steps(ours, theirs, [(3, 4, 2)] * 2, rng, ["train", "eval"])


def test_functional_defaults_are_torchs():
    rng = np.random.default_rng(23)
    x = rng.normal(size=(2, 3, 4))
    ones, zeros = np.ones(4), np.zeros(4)
    out, _ = norm.layernorm_forward(x, ones, zeros)            # the last axis, eps 1e-5
    ref = torch.nn.functional.layer_norm(t64(x), (4,), eps=1e-5).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    x = 1e-3 * rng.normal(size=(2, 4, 3))                       # variance ~ eps shows eps
    out, _ = norm.groupnorm_forward(x, ones, zeros, 2)
    ref = torch.nn.functional.group_norm(t64(x), 2, eps=1e-5).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    out, _ = norm.layernorm_forward(x, 1.0, 0.0)
    ref = torch.nn.functional.layer_norm(t64(x), (3,), eps=1e-5).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------- without affine / bias

def test_layernorm_without_affine_matches_torch():
    rng = np.random.default_rng(24)
    ours = norm.LayerNorm((2, 3), elementwise_affine=False)
    assert ours.parameters() == [] and ours.gamma is None and ours.beta is None
    theirs = torch.nn.LayerNorm((2, 3), elementwise_affine=False, dtype=torch.float64)
    _run_steps(ours, theirs, [(4, 2, 3)] * 2, rng, ["train", "eval"])


def test_groupnorm_without_affine_keeps_the_input_dtype():
    bk = nb.Backend("numpy", dtype="float32")
    layer = norm.GroupNorm(2, 4, affine=False, backend=bk)
    x = np.random.default_rng(25).normal(size=(3, 4, 2)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    ref = torch.nn.functional.group_norm(torch.as_tensor(x), 2).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [norm.WeightNormLinear, norm.SpectralNormLinear])
def test_linear_layers_without_bias(cls):
    rng = np.random.default_rng(26)
    layer = cls(3, 2, rng=np.random.default_rng(0), bias=False)
    assert layer.b is None and [p.name for p in layer.parameters()] != []
    layer.eval()
    x = rng.normal(size=(4, 3))
    W = layer.weight if cls is norm.WeightNormLinear else layer.W.data / layer.sigma()
    np.testing.assert_allclose(layer.forward(x), x @ W.T, rtol=1e-12)
    assert all(p.name != "b" for p in layer.parameters())


@pytest.mark.parametrize("cls", [norm.WeightNormLinear, norm.SpectralNormLinear])
def test_linear_layers_skip_the_input_gradient_when_asked(cls):
    layer = cls(3, 2, rng=np.random.default_rng(0))
    x = np.random.default_rng(27).normal(size=(4, 3))
    layer.forward(x)
    assert layer.backward(np.ones((4, 2)), input_grad=False) is None
    assert layer.b.grad.tolist() == [4.0, 4.0]
    layer.forward(x)
    assert layer.backward(np.ones((4, 2))).shape == (4, 3)


# ---------------------------------------------------------------- batch statistics

def test_batchnorm_trains_on_two_values_per_channel():
    """Two samples are enough: the unbiased running variance uses m / (m - 1) = 2."""
    layer = norm.BatchNorm(2, momentum=1.0)
    x = np.array([[1.0, 5.0], [3.0, 9.0]])
    out = layer.forward(x)
    # deviations +-1 and +-2 from the means 2 and 7; biased variances 1 and 4
    scale = np.array([1 / np.sqrt(1 + 1e-5), 2 / np.sqrt(4 + 1e-5)])
    np.testing.assert_allclose(out, [[-1, -1], [1, 1]] * scale, rtol=1e-12)
    np.testing.assert_allclose(layer.running_mean, [2.0, 7.0], rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, [2.0, 8.0], rtol=1e-14)


# ---------------------------------------------------------------- power iteration

def test_power_iteration_default_is_one_step():
    rng = np.random.default_rng(28)
    W = 1e-3 * rng.normal(size=(3, 4))                   # norms well below 1
    u0, v0 = rng.normal(size=3), rng.normal(size=4)
    u, v, sigma = norm.power_iteration(W, u0, v0)
    u_ref = W @ v0 / np.linalg.norm(W @ v0)
    v_ref = W.T @ u_ref / np.linalg.norm(W.T @ u_ref)
    np.testing.assert_allclose(u, u_ref, rtol=1e-12)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    np.testing.assert_allclose(sigma, u_ref @ W @ v_ref, rtol=1e-12)


def test_power_iteration_floors_the_norms_at_eps():
    W = np.zeros((2, 3))
    u, v, sigma = norm.power_iteration(W, np.ones(2), np.ones(3), 2)
    assert u.tolist() == [0.0, 0.0] and v.tolist() == [0.0, 0.0, 0.0] and float(sigma) == 0.0
    W = np.array([[0.3, 0.0], [0.0, 0.1]])
    u, v, sigma = norm.power_iteration(W, np.array([1.0, 0.0]), np.array([1.0, 0.0]), 1, eps=2.0)
    np.testing.assert_allclose(u, [0.15, 0.0], rtol=1e-14)        # |W v| = 0.3 < eps = 2
    np.testing.assert_allclose(v, [0.0225, 0.0], rtol=1e-14)      # |W^T u| = 0.045


def test_spectral_norm_start_is_15_iterations_from_the_rng():
    """u, v drawn from rng after W and b (u first), then 15 power iterations."""
    for eps in (1e-12, 10.0):
        layer = norm.SpectralNormLinear(4, 3, rng=np.random.default_rng(5), eps=eps)
        rng = np.random.default_rng(5)
        W = nb.init.uniform_fan_in((3, 4), 4, 3, rng)
        nb.init.uniform_fan_in((3,), 4, 3, rng)
        u0, v0 = rng.standard_normal(3), rng.standard_normal(4)
        u0, v0 = u0 / max(np.linalg.norm(u0), eps), v0 / max(np.linalg.norm(v0), eps)
        u, v, _ = norm.power_iteration(W, u0, v0, 15, eps)
        np.testing.assert_array_equal(layer.W.data, W)
        np.testing.assert_allclose(layer.u, u, rtol=1e-14)
        np.testing.assert_allclose(layer.v, v, rtol=1e-14)
        assert layer.eps == eps


def test_spectral_norm_forward_floors_the_power_iteration_at_eps():
    eps = 10.0        # above every norm: u = W v / eps, v = W^T u / eps
    layer = norm.SpectralNormLinear(4, 3, rng=np.random.default_rng(6), eps=eps)
    u, v = layer.u.copy(), layer.v.copy()
    x = np.random.default_rng(7).normal(size=(2, 4))
    out = layer.forward(x)
    u1 = layer.W.data @ v / eps
    v1 = layer.W.data.T @ u1 / eps
    np.testing.assert_allclose(layer.u, u1, rtol=1e-13)
    np.testing.assert_allclose(layer.v, v1, rtol=1e-13)
    sigma = u1 @ layer.W.data @ v1
    np.testing.assert_allclose(out, x @ (layer.W.data / sigma).T + layer.b.data, rtol=1e-12)
    assert np.isfinite(u).all()


def test_spectral_norm_of_a_zero_weight_has_zero_vectors():
    layer = norm.SpectralNormLinear(3, 2, rng=_rng(), init=lambda shape, *a: np.zeros(shape))
    assert layer.u.tolist() == [0.0, 0.0] and layer.v.tolist() == [0.0, 0.0, 0.0]


def test_standardize_defaults_eps_1e_5():
    rng = np.random.default_rng(30)
    x = 1e-3 * rng.normal(size=(5, 3))
    xhat, mean, var = norm.standardize_forward(x, (0,))
    np.testing.assert_allclose(mean, x.mean(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(xhat, (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5),
                               rtol=1e-12)
    g = rng.normal(size=(5, 3))
    dx = norm.standardize_backward(g, xhat, var, (0,))
    ref = (g - g.mean(0) - xhat * (g * xhat).mean(0)) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(dx, ref, rtol=1e-12)
    out, cache = norm.batchnorm_forward(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(out, xhat, rtol=1e-12)
    assert cache["m"] == 5 and type(cache["m"]) is int


def test_integer_input_is_refused_by_dtype():
    _raises(TypeError, "x must have the model's dtype float64, got int64; convert it with "
            "model.backend.asarray(x)", norm.LayerNorm(3).forward, np.zeros((2, 3), np.int64))
