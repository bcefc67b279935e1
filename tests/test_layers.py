"""Layers: gradient checks, NumPy/PyTorch parity, torch.nn as the oracle, refusals."""

import re

import numpy as np
import pytest
import torch
from conftest import as_torch

import nnbook as nb
from nnbook import layers, to_numpy
from nnbook.gradcheck import check_layer

ACTIVATIONS = {
    "sigmoid": (nb.Sigmoid, torch.sigmoid),
    "tanh": (nb.Tanh, torch.tanh),
    "relu": (nb.ReLU, torch.relu),
    "identity": (nb.Identity, lambda z: z),
}


def _input(rng, shape=(6, 5)):
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5        # keep finite differences away from ReLU's kink
    return x


def test_linear_gradcheck(backend, rng):
    layer = nb.Linear(5, 3, rng=rng, backend=backend)
    errors = check_layer(layer, backend.asarray(_input(rng)), rng)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name, backend, rng):
    errors = check_layer(ACTIVATIONS[name][0](), backend.asarray(_input(rng)), rng)
    assert errors["x"] < 1e-7, errors


def test_mlp_gradcheck(backend, rng):
    model = nb.mlp([4, 7, 5, 3], "tanh", rng=rng, backend=backend)
    errors = check_layer(model, backend.asarray(_input(rng, (5, 4))), rng)
    assert len(errors) == 1 + 6           # x and W, b of three layers
    assert max(errors.values()) < 1e-7, errors


def test_gradcheck_catches_a_wrong_backward(rng):
    """The check itself must fail on a broken backward (here: a missing transpose)."""

    class Broken(nb.Sigmoid):
        _backward = staticmethod(lambda dout, s: dout * s)   # forgot (1 - s)

    assert check_layer(Broken(), _input(rng), rng)["x"] > 1e-2


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name, backend, rng):
    ours, theirs = ACTIVATIONS[name]
    x = _input(rng)
    dout = rng.standard_normal(x.shape)
    layer = ours()
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    xt = as_torch(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(as_torch(dout))
    np.testing.assert_allclose(to_numpy(out), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_linear_matches_torch_nn(backend, rng):
    layer = nb.Linear(5, 3, rng=rng, backend=backend)
    ref = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        ref.weight.copy_(as_torch(to_numpy(layer.W.data)))
        ref.bias.copy_(as_torch(to_numpy(layer.b.data)))
    x, dout = _input(rng), rng.standard_normal((6, 3))
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    xt = as_torch(x, requires_grad=True)
    ref(xt).backward(as_torch(dout))
    np.testing.assert_allclose(to_numpy(out), ref(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.W.grad), ref.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.b.grad), ref.bias.grad.numpy(), rtol=1e-12)


def test_numpy_and_torch_paths_agree(rng):
    """One seed, one network, two array libraries: equal to 1e-10 in float64."""
    x, dout = _input(rng, (8, 4)), rng.standard_normal((8, 3))
    results = []
    for bk in (nb.Backend("numpy"), nb.Backend("torch", "cpu")):
        model = nb.mlp([4, 16, 16, 3], "sigmoid", rng=np.random.default_rng(7), backend=bk)
        out = model.forward(bk.asarray(x))
        dx = model.backward(bk.asarray(dout))
        results.append([to_numpy(out), to_numpy(dx)] + [to_numpy(p.grad) for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        assert np.max(np.abs(a - b)) < 1e-10


def test_relu_derivative_is_one_above_zero_and_zero_below():
    z = np.array([[-2.0, -1e-9, 0.0, 1e-9, 3.0]])
    relu = nb.ReLU()
    np.testing.assert_array_equal(relu.forward(z), [[0, 0, 0, 1e-9, 3]])
    np.testing.assert_array_equal(relu.backward(np.ones_like(z)), [[0, 0, 0, 1, 1]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_relu_keeps_its_mask_in_the_input_dtype_with_the_same_values(dtype, backend):
    bk = nb.Backend(backend.library, backend.device, dtype)
    z = bk.asarray(np.array([[-2.0, -0.0, 0.0, 3.0, np.nan]]))
    out, mask = layers.relu_forward(z)
    assert mask.dtype == z.dtype           # a float-by-float product: no per-element cast
    np.testing.assert_array_equal(to_numpy(mask), [[0, 0, 0, 1, 0]])
    got = to_numpy(out)
    np.testing.assert_array_equal(got, [[-0.0, -0.0, 0.0, 3.0, np.nan]])
    assert list(np.signbit(got[0, :3])) == [True, True, False]    # as z * [z > 0] gives


def test_sigmoid_is_stable_for_large_inputs():
    s = nb.Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(s))


def test_sign_outputs_classes_and_passes_no_gradient():
    sign = nb.Sign()
    np.testing.assert_array_equal(sign.forward(np.array([-0.5, 0.0, 2.0])), [-1, 1, 1])
    np.testing.assert_array_equal(sign.backward(np.array([3.0, 3.0, 3.0])), [0, 0, 0])


def test_sequential_skips_input_gradient_only_when_asked(rng):
    model = nb.mlp([3, 4, 2], "relu", rng=rng)
    model.forward(_input(rng, (5, 3)))
    assert model.backward(np.ones((5, 2)), input_grad=False) is None
    assert model.layers[0].W.grad.shape == (4, 3)
    model.forward(_input(rng, (5, 3)))
    assert model.backward(np.ones((5, 2))).shape == (5, 3)


def test_train_eval_modes_and_to(rng):
    model = nb.mlp([3, 4, 2], "relu", rng=rng)
    assert model.training and all(layer.training for layer in model.layers)
    model.eval()
    assert not model.training and not any(layer.training for layer in model.layers)
    W = to_numpy(model.layers[0].W.data).copy()
    model.to("torch", device="cpu", dtype="float32")
    assert model.layers[0].W.data.dtype == torch.float32
    assert str(model.backend) == "torch:cpu:float32"
    np.testing.assert_allclose(to_numpy(model.layers[0].W.data), W, rtol=1e-6)


def test_init_matches_pytorch_default_range(rng):
    layer = nb.Linear(400, 300, rng=rng)
    bound = 1 / np.sqrt(400)
    W = layer.W.data
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    assert abs(W.var() - bound ** 2 / 3) < 0.02 * bound ** 2 / 3


def test_layer_refusals(rng):
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        nb.Linear(0, 3, rng=rng)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        nb.Linear(2, 3, rng=1)
    layer = nb.Linear(4, 3, rng=rng)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4\), got \(2, 5\)"):
        layer.forward(np.ones((2, 5)))
    with pytest.raises(RuntimeError, match=r"^Linear\.backward called before forward$"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"ReLU\.backward called before forward"):
        nb.ReLU().backward(np.ones(3))
    with pytest.raises(TypeError, match="layer 1 must be an nnbook Module, got str"):
        nb.Sequential(layer, "relu")
    with pytest.raises(ValueError, match=r"activation must be one of .* got 'swish'"):
        nb.mlp([2, 3], "swish", rng=rng)
    with pytest.raises(ValueError, match=r"sizes must list at least 2 layer widths, got \[2\]"):
        nb.mlp([2], rng=rng)
    with pytest.raises(ValueError, match=r"^give either a Backend or device/dtype, not both$"):
        layer.to(nb.Backend(), dtype="float32")


def test_functional_forms_are_what_the_modules_run(rng):
    x = _input(rng)
    layer = nb.Tanh()
    out, cache = layers.tanh_forward(x)
    np.testing.assert_array_equal(layer.forward(x), out)
    np.testing.assert_array_equal(layer.backward(x), layers.tanh_backward(x, cache))


def test_residual_gradcheck_and_torch(backend, rng):
    inner = nb.Sequential(nb.Linear(4, 4, rng=rng), nb.Tanh(), nb.Linear(4, 4, rng=rng))
    block = nb.Residual(inner).to(backend)
    errors = check_layer(block, backend.asarray(_input(rng, (5, 4))), rng)
    assert set(errors) == {"x", "inner.0.W", "inner.0.b", "inner.2.W", "inner.2.b"}
    assert max(errors.values()) < 1e-7, errors
    x = _input(rng, (5, 4))
    xt = as_torch(x, requires_grad=True)
    W1, b1, W2, b2 = (as_torch(to_numpy(p.data)) for p in block.parameters())
    yt = xt + torch.tanh(xt @ W1.T + b1) @ W2.T + b2
    yt.sum().backward()
    block.forward(backend.asarray(x))
    dx = block.backward(backend.asarray(np.ones((5, 4))))
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"inner must keep the shape \(5, 4\) of its input, got \(5, 3\)"):
        nb.Residual(nb.Linear(4, 3, rng=rng)).forward(x)


def test_residual_refuses_a_non_module():
    with pytest.raises(TypeError, match="inner must be an nnbook Module, got function"):
        nb.Residual(lambda x: x)


def _placed(a, bk):
    """``a`` is an array of ``bk``'s library, float dtype and device."""
    if bk.library == "numpy":
        return isinstance(a, np.ndarray) and a.dtype == np.dtype(bk.dtype)
    return (isinstance(a, torch.Tensor) and a.dtype == getattr(torch, bk.dtype)
            and a.device.type == bk.device)


@pytest.mark.parametrize("make", [
    lambda bk, rng: nb.Linear(3, 4, rng=rng, backend=bk),
    lambda bk, rng: nb.mlp([3, 5, 4], "tanh", rng=rng, backend=bk),
    lambda bk, rng: nb.Sequential(nb.Linear(3, 4, rng=rng, backend=bk), nb.Sigmoid()),
    lambda bk, rng: nb.Residual(nb.mlp([3, 5, 3], "relu", rng=rng, backend=bk)),
    lambda bk, rng: nb.mlp([3, 5, 4], "tanh", rng=rng, backend=bk, norm="batch"),
    lambda bk, rng: nb.mlp([3, 5, 4], "tanh", rng=rng, backend=bk, norm="layer"),
], ids=["Linear", "mlp", "Sequential", "Residual", "mlp-batchnorm", "mlp-layernorm"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parameters_outputs_and_gradients_live_on_the_backend(make, dtype, backend, rng):
    bk = nb.Backend(backend.library, backend.device, dtype)
    model = make(bk, rng)
    assert model.backend == bk
    x = bk.asarray(rng.standard_normal((6, 3)))
    out = model(x)                                    # __call__ is forward
    assert _placed(out, bk)
    dx = model.backward(bk.asarray(np.ones(tuple(out.shape))))
    assert _placed(dx, bk) and tuple(dx.shape) == (6, 3)
    for p in model.parameters():
        assert _placed(p.data, bk) and _placed(p.grad, bk), p


def test_linear_without_bias(rng):
    layer = nb.Linear(3, 2, rng=rng, bias=False)
    assert layer.b is None and [n for n, _ in layer.named_parameters()] == ["W"]
    assert repr(layer) == "Linear(3, 2, bias=False)"
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    np.testing.assert_allclose(layer(x), x @ layer.W.data.T, rtol=1e-15)
    np.testing.assert_allclose(layer.backward(dout), dout @ layer.W.data, rtol=1e-15)
    np.testing.assert_allclose(layer.W.grad, dout.T @ x, rtol=1e-15)
    assert check_layer(layer, x, rng)["W"] < 1e-7


def test_init_argument_draws_the_weights_only(rng):
    layer = nb.Linear(4, 3, rng=rng, init=nb.init.constant(0.25))
    np.testing.assert_array_equal(layer.W.data, 0.25)
    assert np.all(np.abs(layer.b.data) <= 0.5) and np.unique(layer.b.data).size == 3   # PyTorch's bias
    model = nb.mlp([4, 6, 2], rng=rng, init=nb.init.constant(-1.0))
    for layer in (model[0], model[2]):
        np.testing.assert_array_equal(layer.W.data, -1.0)


def test_zero_grad_and_modes_reach_every_layer(rng):
    model = nb.Residual(nb.mlp([3, 4, 3], "relu", rng=rng))
    model.forward(rng.standard_normal((2, 3)))
    model.backward(np.ones((2, 3)))
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model
    assert not any(m.training for m in model._modules())
    assert model.train() is model
    assert all(m.training is True for m in model._modules())


def test_to_with_its_defaults_and_a_device(rng):
    model = nb.mlp([3, 4, 2], rng=rng, backend="torch")
    model.forward(model.backend.asarray(rng.standard_normal((2, 3))))
    model.backward(model.backend.asarray(np.ones((2, 2))))
    W = to_numpy(model[0].W.data).copy()
    assert model.to() is model                                  # back to NumPy float64
    assert model.backend == nb.Backend() and all(m.backend == nb.Backend() for m in model._modules())
    assert isinstance(model[0].W.data, np.ndarray) and model[0].W.data.dtype == np.float64
    assert all(p.grad is None for p in model.parameters())      # old gradients would mix backends
    np.testing.assert_array_equal(model[0].W.data, W)
    model.to("torch", device="meta")                            # PyTorch's shape-only device
    assert model.backend == nb.Backend("torch", "meta")
    assert all(p.data.device.type == "meta" for p in model.parameters())


def test_residual_and_sequential_take_their_backend_from_their_layers(rng):
    bk = nb.Backend("torch", "cpu", "float32")
    inner = nb.Linear(3, 3, rng=rng, backend=bk)
    assert nb.Residual(inner).backend == bk
    assert nb.Sequential(inner, nb.Tanh()).backend == bk
    assert nb.Sequential().backend == nb.Backend()


def test_reprs(rng):
    model = nb.mlp([3, 4, 2], "tanh", rng=rng)
    assert repr(model) == ("Sequential(\n  (0): Linear(3, 4, bias=True)\n  (1): Tanh()\n"
                           "  (2): Linear(4, 2, bias=True)\n)")
    assert repr(nb.Residual(nb.Sigmoid())) == "Residual(Sigmoid())"
    assert repr(model[0].W) == "Parameter('W', shape=(4, 3))"


def test_sign_on_torch_and_its_types(backend):
    z = backend.asarray(np.array([[-0.5, 0.0, 2.0]]))
    sign = nb.Sign()
    out = sign(z)
    assert _placed(out, backend)
    np.testing.assert_array_equal(to_numpy(out), [[-1.0, 1.0, 1.0]])
    g = sign.backward(backend.asarray(np.array([[3.0, 3.0, 3.0]])))
    assert _placed(g, backend) and tuple(g.shape) == (1, 3)
    np.testing.assert_array_equal(to_numpy(g), 0.0)


def test_an_empty_sequential_is_the_identity():
    model = nb.Sequential()
    x = np.ones((2, 3))
    assert model.forward(x) is x and model.backward(x) is x and len(model) == 0


def test_check_input_messages(rng):
    from nnbook.layers import check_input

    model = nb.mlp([4, 2], rng=rng)
    with pytest.raises(ValueError, match=r"^x must have 2 dimension\(s\), got shape \(3,\)$"):
        check_input(np.ones(3), model)
    with pytest.raises(ValueError, match=r"^x must have shape \(N, 4\), got \(3,\)$"):
        model[0].forward(np.ones(3))
    meta = nb.mlp([4, 2], rng=rng).to("torch", device="meta")
    with pytest.raises(ValueError, match=r"^X is on device cpu but the model lives on torch:meta:float64; "
                                         r"convert it with model\.backend\.asarray\(X\)$"):
        check_input(torch.ones(2, 4, dtype=torch.float64), meta, "X")


def test_parameter_starts_unnamed_and_without_gradient(rng):
    p = layers.Parameter(np.ones(2))
    assert p.name == "" and p.grad is None
    layer = nb.Linear(3, 2, rng=rng)
    assert layer.W.grad is None and layer.b.grad is None
    assert layer.b.name == "b" and repr(layer.b) == "Parameter('b', shape=(2,))"


def test_linear_backward_returns_the_input_gradient_by_default(rng):
    x, W, dout = (rng.standard_normal(s) for s in [(4, 3), (2, 3), (4, 2)])
    _, cache = layers.linear_forward(x, W, np.zeros(2))
    dx, dW, db = layers.linear_backward(dout, cache)
    np.testing.assert_allclose(dx, dout @ W, rtol=1e-14)
    np.testing.assert_allclose(dW, dout.T @ x, rtol=1e-14)
    np.testing.assert_allclose(db, dout.sum(axis=0), rtol=1e-14)
    assert layers.linear_backward(dout, cache, input_grad=False)[0] is None


def test_a_layer_of_one_unit_and_an_mlp_with_a_width_of_one(rng):
    assert nb.Linear(2, 1, rng=rng).forward(np.ones((3, 2))).shape == (3, 1)
    model = nb.mlp([3, 1, 1], "tanh", rng=rng)
    assert model.forward(np.ones((2, 3))).shape == (2, 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda r: nb.Linear(2, 0, rng=r), ValueError,
     "out_features must be a positive int, got 0"),
    (lambda r: nb.mlp(5, rng=r), TypeError,
     "sizes must be a sequence of layer widths, got 5"),
    (lambda r: nb.mlp([3, 0], rng=r), ValueError, "sizes[1] must be a positive int, got 0"),
    (lambda r: nb.mlp([0, 3], rng=r), ValueError, "sizes[0] must be a positive int, got 0"),
    (lambda r: nb.mlp([3, 2], rng=r, norm="group"), ValueError,
     "norm must be None, 'batch' or 'layer', got 'group'"),
])
def test_constructor_refusals_name_the_argument(call, error, message, rng):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        call(rng)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_mlp_puts_the_requested_norm_after_each_hidden_layer(norm, rng):
    from nnbook import norm as _norm
    model = nb.mlp([3, 4, 5, 2], "relu", rng=rng, norm=norm)
    kind = {"batch": _norm.BatchNorm, "layer": _norm.LayerNorm}[norm]
    assert [type(m) for m in model.layers] == [nb.Linear, kind, nb.ReLU,
                                               nb.Linear, kind, nb.ReLU, nb.Linear]


def test_relu_with_a_frozen_piece_uses_that_mask(rng):
    relu = nb.ReLU()
    mask = np.array([[True, False, True]])
    relu.frozen_piece = mask
    z = np.array([[-2.0, 3.0, 0.5]])
    np.testing.assert_array_equal(relu.forward(z), [[-2.0, 0.0, 0.5]])
    assert relu.piece() is mask
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[1.0, 0.0, 1.0]])


def test_linear_refuses_a_batch_of_another_dtype_or_rank(rng):
    layer = nb.Linear(4, 3, rng=rng)
    hint = "; convert it with model.backend.asarray(x)"
    with pytest.raises(TypeError, match="^" + re.escape(
            "x must have the model's dtype float64, got float32" + hint) + "$"):
        layer.forward(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^x must have shape \(N, 4\), got \(2, 4, 4\)$"):
        layer.forward(np.ones((2, 4, 4)))
    with pytest.raises(TypeError, match="^" + re.escape(
            "x is a torch array but the model lives on numpy:cpu:float64" + hint) + "$"):
        layer.forward(torch.ones(2, 4, dtype=torch.float64))


def test_linear_refuses_a_batch_on_another_device(rng):
    layer = nb.Linear(4, 3, rng=rng).to("torch")
    with pytest.raises(ValueError, match="^" + re.escape(
            "x is on device meta but the model lives on torch:cpu:float64; "
            "convert it with model.backend.asarray(x)") + "$"):
        layer.forward(torch.ones(2, 4, dtype=torch.float64, device="meta"))


@pytest.mark.parametrize("x, model, error, message", [
    ([[1.0]], "numpy", TypeError, "X must be a NumPy array or torch.Tensor, got list"),
    (torch.ones(2, 4, dtype=torch.float64), "numpy", TypeError,
     "X is a torch array but the model lives on numpy:cpu:float64; HINT"),
    (torch.ones(2, 4, dtype=torch.int64), "numpy", TypeError,
     "X is a torch array but the model lives on numpy:cpu:float64; HINT"),
    (np.ones((2, 4), dtype=np.int64), "numpy", TypeError,
     "X must have a float dtype, got int64"),
    (np.ones((2, 4), dtype=np.float32), "numpy", TypeError,
     "X must have the model's dtype float64, got float32; HINT"),
    (torch.ones(2, 4, dtype=torch.float64, device="meta"), "torch", ValueError,
     "X is on device meta but the model lives on torch:cpu:float64; HINT"),
])
def test_check_input_refusals(x, model, error, message, rng):
    from nnbook.layers import check_input
    net = nb.mlp([4, 2], rng=rng).to(model)
    message = message.replace("HINT", "convert it with model.backend.asarray(X)")
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        check_input(x, net, "X")
