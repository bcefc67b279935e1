"""Activations: gradient checks, NumPy/PyTorch parity, torch.nn as the oracle, refusals."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import as_torch, whole

import nnbook as nb
from nnbook import activations as A
from nnbook import to_numpy
from nnbook.gradcheck import check_layer

# name -> (nnbook module factory, torch function of the input)
ELEMENTWISE = {
    "leaky_relu": (nb.LeakyReLU, F.leaky_relu),
    "leaky_relu_0.2": (lambda: nb.LeakyReLU(0.2), lambda z: F.leaky_relu(z, 0.2)),
    "elu": (nb.ELU, F.elu),
    "elu_1.5": (lambda: nb.ELU(1.5), lambda z: F.elu(z, 1.5)),
    "gelu": (nb.GELU, F.gelu),
    "gelu_tanh": (lambda: nb.GELU("tanh"), lambda z: F.gelu(z, approximate="tanh")),
    "softplus": (nb.Softplus, F.softplus),
    "softplus_2": (lambda: nb.Softplus(2.0), lambda z: F.softplus(z, beta=2.0)),
    "softmax": (nb.Softmax, lambda z: F.softmax(z, dim=1)),
}


def _input(rng, shape=(6, 5), scale=2.0):
    x = scale * rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5        # keep finite differences away from the kinks at 0
    return x


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_activation_gradcheck(name, backend, rng):
    errors = check_layer(ELEMENTWISE[name][0](), backend.asarray(_input(rng)), rng)
    assert errors["x"] < 1e-7, errors


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_activation_matches_torch(name, backend, rng):
    ours, theirs = ELEMENTWISE[name]
    x, dout = _input(rng), rng.standard_normal((6, 5))
    layer = ours()
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    xt = as_torch(x, requires_grad=True)
    theirs(xt).backward(as_torch(dout))
    np.testing.assert_allclose(to_numpy(out), theirs(xt).detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("num", [1, 5])
def test_prelu_gradcheck_and_torch(num, backend, rng):
    layer = nb.PReLU(num, init=0.25, backend=backend)
    errors = check_layer(layer, backend.asarray(_input(rng)), rng)
    assert set(errors) == {"x", "a"}
    assert max(errors.values()) < 1e-7, errors
    ref = torch.nn.PReLU(num, init=0.25).double()
    x, dout = _input(rng), rng.standard_normal((6, 5))
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    xt = as_torch(x, requires_grad=True)
    ref(xt).backward(as_torch(dout))
    np.testing.assert_allclose(to_numpy(out), ref(xt).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.a.grad), ref.weight.grad.numpy(), rtol=1e-12)


def test_maxout_gradcheck_and_torch(backend, rng):
    layer = nb.Maxout(4, 3, k=3, rng=rng, backend=backend)
    errors = check_layer(layer, backend.asarray(_input(rng, (6, 4))), rng)
    assert set(errors) == {"x", "linear.W", "linear.b"}
    assert max(errors.values()) < 1e-7, errors
    x, dout = _input(rng, (6, 4)), rng.standard_normal((6, 3))
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    xt = as_torch(x, requires_grad=True)
    W, b = (as_torch(to_numpy(p.data), requires_grad=True) for p in layer.parameters())
    yt = (xt @ W.T + b).reshape(6, 3, 3).max(dim=2).values     # torch has no maxout layer
    yt.backward(as_torch(dout))
    np.testing.assert_allclose(to_numpy(out), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(dx), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.linear.W.grad), W.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.linear.b.grad), b.grad.numpy(), rtol=1e-12)


def test_maxout_groups_consecutive_columns():
    z = np.array([[1.0, 5.0, -2.0, 3.0, 0.0, -1.0]])
    out, cache = A.maxout_forward(z, 2)
    np.testing.assert_array_equal(out, [[5.0, 3.0, 0.0]])
    np.testing.assert_array_equal(A.maxout_backward(np.array([[1.0, 2.0, 3.0]]), cache),
                                  [[0, 1, 0, 2, 3, 0]])


FLOAT32 = [nb.Backend("numpy", dtype="float32"), nb.Backend("torch", "cpu", "float32")]


@pytest.mark.parametrize("bk", FLOAT32, ids=lambda b: b.library)
def test_maxout_keeps_float32_and_the_first_maximum_on_ties(bk):
    """Ties go to the first piece (as documented); the output and gradient keep z's dtype."""
    z = bk.asarray(np.array([[2.0, 2.0, -1.0, 3.0, 3.0, 3.0],
                             [0.5, 0.5, 4.0, 1.0, 4.0, 4.0]]))
    out, cache = A.maxout_forward(z, 3)
    np.testing.assert_array_equal(to_numpy(out), [[2.0, 3.0], [4.0, 4.0]])
    dz = A.maxout_backward(bk.asarray(np.array([[1.0, 2.0], [3.0, 4.0]])), cache)
    np.testing.assert_array_equal(to_numpy(dz), [[1, 0, 0, 2, 0, 0], [0, 0, 3, 0, 4, 0]])
    for a in (out, dz):
        assert type(a) is type(z) and a.dtype == z.dtype


@pytest.mark.parametrize("bk", FLOAT32, ids=lambda b: b.library)
def test_maxout_with_one_piece_is_the_identity(bk):
    z = bk.asarray(np.array([[1.0, -2.0, 3.0]]))
    out, cache = A.maxout_forward(z, 1)
    np.testing.assert_array_equal(to_numpy(out), [[1.0, -2.0, 3.0]])
    dz = A.maxout_backward(bk.asarray(np.array([[4.0, 5.0, 6.0]])), cache)
    np.testing.assert_array_equal(to_numpy(dz), [[4.0, 5.0, 6.0]])
    layer = nb.Maxout(2, 3, k=1, rng=np.random.default_rng(0), backend=bk)
    assert layer.linear.out_features == 3
    x = bk.asarray(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(to_numpy(layer.forward(x)), to_numpy(layer.linear.forward(x)))


def test_maxout_winners_do_not_depend_on_torch_default_dtype():
    """The winning index is an integer: exact for any k, whatever torch's default float dtype.

    Under a bfloat16 default, integers above 256 are not representable; piece 257 of
    258 must still be the one that receives the gradient.
    """
    k = 258
    z = np.zeros((1, k))
    z[0, k - 1] = 1.0
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        out, cache = A.maxout_forward(torch.tensor(z, dtype=torch.float64), k)
        dz = A.maxout_backward(torch.ones((1, 1), dtype=torch.float64), cache)
    finally:
        torch.set_default_dtype(previous)
    assert out.dtype == dz.dtype == torch.float64 and float(out[0, 0]) == 1.0
    assert dz[0].nonzero().flatten().tolist() == [k - 1]


def test_maxout_arrays_stay_on_the_device_of_z():
    """The work arrays follow z's device, not torch's default device (here "meta")."""
    z = torch.tensor([[1.0, 3.0, 2.0, 0.0, -1.0, -2.0]], dtype=torch.float64, device="cpu")
    torch.set_default_device("meta")
    try:
        out, cache = A.maxout_forward(z, 2)
        dz = A.maxout_backward(torch.ones((1, 3), dtype=torch.float64, device="cpu"), cache)
    finally:
        torch.set_default_device(None)
    assert out.device == cache[0].device == dz.device == torch.device("cpu")
    np.testing.assert_array_equal(cache[0].numpy(), [[[0, 1], [1, 0], [1, 0]]])
    np.testing.assert_array_equal(dz.numpy(), [[0, 1, 1, 0, 1, 0]])


def test_maxout_layer_defaults_repr_and_backend(rng):
    layer = nb.Maxout(4, 3, rng=rng)
    assert layer.k == 2 and layer.linear.out_features == 6           # k = 2 pieces by default
    assert repr(layer) == "Maxout(4, 3, k=2)"
    assert repr(nb.Maxout(5, 2, k=3, rng=rng)) == "Maxout(5, 2, k=3)"
    bk = nb.Backend("torch", "cpu", "float32")
    layer = nb.Maxout(4, 3, rng=rng, backend=bk)
    assert layer.backend == bk and layer.linear.backend == bk
    assert layer.piece() is None                                      # no forward yet
    assert repr(nb.PReLU(5)) == "PReLU(num_parameters=5)"
    assert repr(nb.PReLU()) == "PReLU(num_parameters=1)"


def test_maxout_passes_init_to_its_linear_layer():
    def init(shape, fan_in, fan_out, rng):
        assert (fan_in, fan_out) == (3, 8)
        return np.full(shape, 0.5)

    layer = nb.Maxout(3, 4, k=2, rng=np.random.default_rng(0), init=init)
    np.testing.assert_array_equal(layer.linear.W.data, np.full((8, 3), 0.5))


def test_maxout_backward_without_the_input_gradient(rng):
    layer = nb.Maxout(3, 2, k=2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    assert layer.backward(dout, input_grad=False) is None
    dz = A.maxout_backward(dout, (layer.piece(), (4, 4)))
    np.testing.assert_allclose(layer.linear.W.grad, dz.T @ x, rtol=1e-14)
    np.testing.assert_allclose(layer.linear.b.grad, dz.sum(axis=0), rtol=1e-14)


def test_maxout_frozen_piece_uses_the_stored_winners(rng):
    """With ``frozen_piece`` set, each unit outputs the piece stored, not the largest one."""
    layer = nb.Maxout(3, 2, k=3, rng=rng)
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    layer.forward(x1)
    winner = layer.piece()
    assert winner.shape == (5, 2, 3)
    np.testing.assert_array_equal(winner.sum(axis=2), 1.0)
    layer.frozen_piece = winner
    W, b = layer.linear.W.data, layer.linear.b.data
    z2 = (x2 @ W.T + b).reshape(5, 2, 3)
    out = layer.forward(x2)
    expected = np.take_along_axis(z2, winner.argmax(axis=2)[:, :, None], axis=2)[:, :, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    assert not np.allclose(out, z2.max(axis=2))                       # a different piece
    dout = rng.standard_normal((5, 2))
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, (dout[:, :, None] * winner).reshape(5, 6) @ W, rtol=1e-13)


@pytest.mark.parametrize("name", ["leaky_relu", "prelu", "elu", "gelu", "gelu_tanh", "softplus"])
def test_mlp_accepts_the_new_activations(name, rng):
    model = nb.mlp([4, 6, 3], name, rng=rng)
    errors = check_layer(model, _input(rng, (5, 4)), rng)
    assert max(errors.values()) < 1e-7, errors


def test_numpy_and_torch_paths_agree(rng):
    x, dout = _input(rng, (8, 4)), rng.standard_normal((8, 3))
    results = []
    for bk in (nb.Backend("numpy"), nb.Backend("torch", "cpu")):
        model = nb.Sequential(nb.Linear(4, 8, rng=np.random.default_rng(3)), nb.GELU(),
                              nb.Maxout(8, 6, 2, rng=np.random.default_rng(4)), nb.ELU(),
                              nb.Linear(6, 6, rng=np.random.default_rng(5)), nb.PReLU(6),
                              nb.Linear(6, 3, rng=np.random.default_rng(6)), nb.Softmax())
        model.to(bk)
        out = model.forward(bk.asarray(x))
        dx = model.backward(bk.asarray(dout))
        results.append([to_numpy(out), to_numpy(dx)]
                       + [to_numpy(p.grad) for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        assert np.max(np.abs(a - b)) < 1e-10


def test_derivatives_at_and_around_zero():
    """ReLU's family: slope 1 for z > 0, the negative-side slope for z < 0 and at z = 0."""
    z = np.array([[-2.0, -1e-9, 0.0, 1e-9, 3.0]])
    ones = np.ones_like(z)
    leaky = nb.LeakyReLU(0.1)
    leaky.forward(z)
    np.testing.assert_allclose(leaky.backward(ones), [[0.1, 0.1, 0.1, 1, 1]])
    zt = torch.tensor(z, requires_grad=True)
    F.leaky_relu(zt, 0.1).sum().backward()
    np.testing.assert_allclose(zt.grad.numpy(), [[0.1, 0.1, 0.1, 1, 1]])
    elu = nb.ELU()
    elu.forward(z)
    np.testing.assert_allclose(elu.backward(ones)[0, 2:], [1, 1, 1])   # smooth at 0 for alpha=1


def test_extreme_inputs_stay_finite():
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    for layer in (nb.ELU(), nb.GELU(), nb.GELU("tanh"), nb.Softplus(), nb.LeakyReLU()):
        out = layer.forward(z)
        assert np.all(np.isfinite(out)), layer
        assert np.all(np.isfinite(layer.backward(np.ones_like(z)))), layer
    np.testing.assert_allclose(nb.Softplus().forward(z), [[0, 1.9287498479639178e-22, np.log(2), 50, 1000]])
    p = nb.Softmax().forward(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])


def test_default_slopes_match_torch():
    """leaky_relu's default slope is 0.01 and elu's default alpha is 1, as in torch.nn."""
    z = np.array([[-2.0, -0.5, 0.0, 1.5]])
    out, _ = A.leaky_relu_forward(z)
    np.testing.assert_allclose(out, F.leaky_relu(torch.tensor(z)).numpy(), rtol=1e-15)
    np.testing.assert_allclose(out, [[-0.02, -0.005, 0.0, 1.5]], rtol=1e-15)
    out, _ = A.elu_forward(z)
    np.testing.assert_allclose(out, [[np.expm1(-2.0), np.expm1(-0.5), 0.0, 1.5]], rtol=1e-15)


def test_prelu_on_a_vector_takes_one_slope():
    z, a = np.array([-2.0, 3.0, -0.5]), np.array([0.25])
    out, cache = A.prelu_forward(z, a)
    np.testing.assert_allclose(out, [-0.5, 3.0, -0.125], rtol=1e-15)
    dz, da = A.prelu_backward(np.array([1.0, 2.0, 4.0]), cache)
    np.testing.assert_allclose(dz, [0.25, 2.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(da, [-2.0 - 2.0], rtol=1e-15)          # sum of dout * min(z, 0)


def test_gelu_uses_torch_erf_on_tensors():
    """On torch the exact GELU calls torch's erf: a tensor out, no NumPy round trip (no warning)."""
    import warnings

    z = torch.tensor([[-1.0, 0.5, 2.0]], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = A.gelu_forward(z)
    assert type(out) is torch.Tensor
    torch.testing.assert_close(out, F.gelu(z), rtol=1e-15, atol=0)


def test_gelu_without_scipy_falls_back_to_math_erf(monkeypatch):
    """Without SciPy, NumPy's exact GELU uses math.erf entry by entry, keeping the dtype."""
    import sys

    monkeypatch.setitem(sys.modules, "scipy.special", None)           # import fails
    z = np.array([[-1.0, 0.5, 2.0]], dtype=np.float32)
    out, _ = A.gelu_forward(z)
    assert out.dtype == np.float32
    expected = F.gelu(torch.tensor(z, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_softmax_rows_sum_to_one_and_shift_invariance(rng):
    z = _input(rng, (5, 4))
    p, _ = A.softmax_forward(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(A.softmax_forward(z + 100.0)[0], p, rtol=1e-12)


def test_softmax_then_cross_entropy_on_probabilities_is_p_minus_y(rng):
    """The gradient simplification of the output layer: softmax' times dCE/dp = (p - y)/N."""
    z, y = _input(rng, (6, 4)), rng.integers(0, 4, size=6)
    p, cache = A.softmax_forward(z)
    Y = np.eye(4)[y]
    dp = -Y / p / 6                                  # d/dp of -(1/N) sum log p_y
    ce = nb.CrossEntropyLoss()
    ce.forward(z, y)
    np.testing.assert_allclose(A.softmax_backward(dp, cache), ce.backward(), atol=1e-15)


def test_dead_relu_units(rng):
    model = nb.mlp([3, 4, 4, 2], "relu", rng=rng)
    first = model[0]
    first.b.data[:] = [-100.0, 0.0, 0.0, 0.0]     # unit 0: pre-activation < 0 everywhere
    first.W.data[1] = 0.0                          # unit 1: pre-activation = 0 everywhere
    X = rng.uniform(-1, 1, (50, 3))
    masks = nb.activations.dead_relu_units(model, X)
    assert [m.shape for m in masks] == [(4,), (4,)]
    assert masks[0][:2].tolist() == [True, True]
    expected = np.all(model[1].forward(model[0].forward(X)) == 0, axis=0)  # chapter 2's count
    np.testing.assert_array_equal(masks[0], expected)
    assert model.training                                                 # mode restored


def test_layer_gradient_norms_match_the_grads(rng):
    model = nb.mlp([3, 5, 5, 2], "sigmoid", rng=rng)
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, size=10)
    norms = nb.activations.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y)
    assert len(norms) == 3
    for n, layer in zip(norms, (model[0], model[2], model[4]), strict=True):
        assert n == pytest.approx(np.linalg.norm(layer.W.grad))
    b_norms = nb.activations.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y,
                                                  param="b")
    for n, layer in zip(b_norms, (model[0], model[2], model[4]), strict=True):
        assert n == pytest.approx(np.linalg.norm(layer.b.grad))
    with pytest.raises(ValueError, match=r'^param must be "W" or "b", got \'w\'$'):
        nb.activations.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y, param="w")


def test_refusals(rng):
    z = np.ones((2, 6))
    cases = [
        (TypeError, "negative_slope must be a real number, got str",
         lambda: A.leaky_relu_forward(z, "0.1")),
        (ValueError, "alpha must be a positive finite number, got -1.0",
         lambda: nb.ELU(-1.0)),
        (ValueError, "alpha must be a positive finite number, got -1.0",
         lambda: A.elu_forward(z, -1.0)),
        (ValueError, "alpha must be a positive finite number, got 0.0",
         lambda: A.elu_forward(z, 0)),
        (ValueError, "negative_slope must be a finite number, got nan",
         lambda: A.leaky_relu_forward(z, float("nan"))),
        (TypeError, "z must be a NumPy array or torch.Tensor, got list",
         lambda: A.leaky_relu_forward([1.0, -1.0])),
        (TypeError, "z must be a NumPy array or torch.Tensor, got list",
         lambda: A.prelu_forward([1.0, -1.0], np.ones(1))),
        (TypeError, "a must be a NumPy array or torch.Tensor, got list",
         lambda: A.prelu_forward(z, [0.25])),
        (ValueError, "a must have 1 dimension(s), got shape (1, 6)",
         lambda: A.prelu_forward(z, np.ones((1, 6)))),
        (ValueError, "a must have shape (1,) or (1,), got (2,)",
         lambda: A.prelu_forward(np.ones(2), np.ones(2))),
        (ValueError, "beta must be a positive finite number, got 0.0",
         lambda: A.softplus_forward(z, 0)),
        (ValueError, "approximate must be 'none' or 'tanh', got 'erf'",
         lambda: nb.GELU("erf")),
        (ValueError, "k must be a positive int, got 0", lambda: A.maxout_forward(z, 0)),
        (ValueError, "k must be a positive int, got True", lambda: A.maxout_forward(z, True)),
        (ValueError, "k must be a positive int, got 2.0", lambda: A.maxout_forward(z, 2.0)),
        (ValueError, "z must have 2 dimension(s), got shape (6,)",
         lambda: A.maxout_forward(np.ones(6), 2)),
        (ValueError, "z must have 2 dimension(s), got shape (1, 2, 6)",
         lambda: A.maxout_forward(np.ones((1, 2, 6)), 2)),
        (ValueError, "k must be a positive int, got 0", lambda: nb.Maxout(3, 2, 0, rng=rng)),
        (ValueError, "k must be a positive int, got -1", lambda: nb.Maxout(3, 2, -1, rng=rng)),
        (ValueError, "k must be a positive int, got True",
         lambda: nb.Maxout(3, 2, True, rng=rng)),
        (ValueError, "k must be a positive int, got 2.0", lambda: nb.Maxout(3, 2, 2.0, rng=rng)),
        (ValueError, "out_features must be a positive int, got -1",
         lambda: nb.Maxout(3, -1, 2, rng=rng)),
        (ValueError, "out_features must be a positive int, got True",
         lambda: nb.Maxout(3, True, 2, rng=rng)),
        (ValueError, "out_features must be a positive int, got 2.0",
         lambda: nb.Maxout(3, 2.0, 2, rng=rng)),
        (ValueError, "z must have a multiple of k=4 columns, got 6",
         lambda: A.maxout_forward(z, 4)),
        (ValueError, "z must have 2 dimension(s), got shape (6,)",
         lambda: A.softmax_forward(np.ones(6))),
        (TypeError, "z must have a float dtype, got int64",
         lambda: A.elu_forward(np.ones((2, 3), dtype=np.int64))),
        (TypeError, "z must be a NumPy array or torch.Tensor, got list",
         lambda: A.gelu_forward([1.0, 2.0])),
        (ValueError, "a must have shape (1,) or (6,), got (3,)",
         lambda: A.prelu_forward(z, np.ones(3))),
        (ValueError, "num_parameters must be a positive int, got 0", lambda: nb.PReLU(0)),
        (ValueError, "out_features must be a positive int, got 0",
         lambda: nb.Maxout(3, 0, 2, rng=rng)),
        (RuntimeError, "PReLU.backward called before forward",
         lambda: nb.PReLU().backward(z)),
        (RuntimeError, "Maxout.backward called before forward",
         lambda: nb.Maxout(3, 2, rng=rng).backward(z)),
        (RuntimeError, "ELU.backward called before forward", lambda: nb.ELU().backward(z)),
        (TypeError, "model must be an nnbook Sequential, got Linear",
         lambda: A.dead_relu_units(nb.Linear(2, 2, rng=rng), z)),
        (ValueError, "X must have 2 dimension(s), got shape (6,)",
         lambda: A.dead_relu_units(nb.mlp([6, 2], rng=rng), np.ones(6))),
    ]
    for exc, message, call in cases:
        with pytest.raises(exc, match=whole(message)):
            call()



def test_elu_slope_at_zero_is_alpha_as_in_torch():
    """At z = 0 ELU's slope is alpha e^0 = alpha (torch's convention), not 1."""
    z = np.array([[-1.0, 0.0, 2.0]])
    _, slope = A.elu_forward(z, 1.5)
    np.testing.assert_allclose(slope, [[1.5 * np.exp(-1.0), 1.5, 1.0]], rtol=1e-15)
    zt = torch.tensor(z, requires_grad=True)
    F.elu(zt, 1.5).sum().backward()
    np.testing.assert_allclose(slope, zt.grad.numpy(), rtol=1e-15)


def test_softplus_default_beta_is_one():
    z = np.array([[-3.0, 0.0, 0.5, 4.0]])
    out, (_, beta) = A.softplus_forward(z)
    assert beta == 1.0
    np.testing.assert_allclose(out, np.log1p(np.exp(z)), rtol=1e-15)


def test_prelu_defaults_and_parameter_name():
    layer = nb.PReLU()
    np.testing.assert_array_equal(layer.a.data, [0.25])               # torch's init
    assert repr(layer.a) == "Parameter('a', shape=(1,))"
    assert [name for name, _ in layer.named_parameters()] == ["a"]
    out = layer.forward(np.array([[-4.0, 2.0]]))
    np.testing.assert_array_equal(out, [[-1.0, 2.0]])


def test_prelu_frozen_piece_keeps_the_stored_mask():
    """With ``frozen_piece`` set, the slope pattern is the stored mask, and backward works."""
    layer = nb.PReLU(2, init=0.5)
    layer.frozen_piece = np.array([[1.0, 0.0]])                       # as if z = [+, -]
    z = np.array([[-2.0, 4.0]])                                       # the other signs
    np.testing.assert_array_equal(layer.forward(z), [[-2.0, 2.0]])
    dz = layer.backward(np.array([[3.0, 5.0]]))
    np.testing.assert_array_equal(dz, [[3.0, 2.5]])
    np.testing.assert_array_equal(layer.a.grad, [0.0, 5.0 * 4.0])     # dout * z off the mask


def test_layer_gradient_norms_of_a_maxout_layer(rng):
    """A Maxout layer counts as one layer: the norm of its Linear's gradient."""
    model = nb.Sequential(nb.Maxout(3, 4, k=2, rng=rng), nb.Linear(4, 2, rng=rng))
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    norms = A.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y)
    assert len(norms) == 2
    assert norms[0] == pytest.approx(np.linalg.norm(model[0].linear.W.grad), rel=1e-14)
    assert norms[1] == pytest.approx(np.linalg.norm(model[1].W.grad), rel=1e-14)
    b_norms = A.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y, param="b")
    assert b_norms[0] == pytest.approx(np.linalg.norm(model[0].linear.b.grad), rel=1e-14)


def test_layer_gradient_norms_skips_the_input_gradient(rng):
    """The first layer is not asked for the gradient with respect to the data."""
    asked = []

    class Recording(nb.Linear):
        def backward(self, dout, input_grad=True):
            asked.append(input_grad)
            return super().backward(dout, input_grad)

    model = nb.Sequential(Recording(3, 4, rng=rng), nb.Tanh(), Recording(4, 2, rng=rng))
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)
    A.layer_gradient_norms(model, nb.CrossEntropyLoss(), X, y)
    assert asked == [True, False]                                     # last layer first


def test_more_refusals(rng):
    z = np.ones((2, 6))
    model = nb.mlp([6, 2], rng=rng)
    ce = nb.CrossEntropyLoss()
    y = np.zeros(2, dtype=np.int64)
    cases = [
        (TypeError, "negative_slope must be a real number, got str",
         lambda: nb.LeakyReLU("0.1")),
        (ValueError, "negative_slope must be a finite number, got inf",
         lambda: nb.LeakyReLU(float("inf"))),
        (ValueError, "approximate must be 'none' or 'tanh', got 'erf'",
         lambda: A.gelu_forward(z, "erf")),
        (TypeError, "z must be a NumPy array or torch.Tensor, got list",
         lambda: A.softplus_forward([1.0, -1.0])),
        (ValueError, "beta must be a positive finite number, got 0.0",
         lambda: nb.Softplus(0)),
        (ValueError, "beta must be a positive finite number, got -2.0",
         lambda: nb.Softplus(-2.0)),
        (TypeError, "beta must be a real number, got str", lambda: nb.Softplus("1")),
        (ValueError, "num_parameters must be a positive int, got True",
         lambda: nb.PReLU(True)),
        (ValueError, "num_parameters must be a positive int, got 2.0",
         lambda: nb.PReLU(2.0)),
        (TypeError, "init must be a real number, got str", lambda: nb.PReLU(1, "0.25")),
        (ValueError, "init must be a finite number, got nan",
         lambda: nb.PReLU(1, float("nan"))),
        (TypeError, "model must be an nnbook Sequential, got Linear",
         lambda: A.layer_gradient_norms(nb.Linear(6, 2, rng=rng), ce, z, y)),
        (TypeError, "X must be a NumPy array or torch.Tensor, got list",
         lambda: A.layer_gradient_norms(model, ce, [[1.0] * 6] * 2, y)),
        (ValueError, "X must have 2 dimension(s), got shape (6,)",
         lambda: A.layer_gradient_norms(model, ce, np.ones(6), y)),
    ]
    for exc, message, call in cases:
        with pytest.raises(exc, match=whole(message)):
            call()

# --------------------------------------------------------------------------
# Figures and the gradient-flow explorer (nnbook.plots_activations)
# --------------------------------------------------------------------------

@pytest.fixture
def agg():
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # Agg cannot "show"
        yield plt
    plt.close("all")


def test_activation_curves_draw_the_backward_of_each_module(agg):
    from nnbook import plots_activations as pa

    ax_f, ax_d = pa.activation_curves(["sigmoid", "relu"], z=np.array([-1.0, 0.5, 2.0]))
    assert [t.get_text() for t in ax_f.get_legend().get_texts()] == ["sigmoid", "relu"]
    s = 1 / (1 + np.exp(-np.array([-1.0, 0.5, 2.0])))
    np.testing.assert_allclose(ax_d.lines[0].get_ydata(), s * (1 - s))
    dg_relu = ax_d.lines[1].get_ydata()                   # 0, then a jump: drawn as a gap
    assert dg_relu[0] == 0 and np.isnan(dg_relu[1]) and dg_relu[2] == 1
    assert ax_d.get_ylabel() == "$g'(z)$"


def test_gradient_profile_and_explorer(agg):
    from nnbook import plots_activations as pa

    norms = pa.gradient_profile("sigmoid", 4, 1.0, n=32)
    assert len(norms) == 5 and norms[0] < norms[-2] < norms[-1]
    explorer = pa.gradient_flow_explorer()
    html = explorer._repr_mimebundle_()["text/html"]
    names = [c for c in explorer.widget.children if getattr(c, "description", "") == "activation"]
    assert html.count("iVBOR") == len(names[0].options) + 1       # one frame per activation
    w = explorer.widget
    controls = {c.description: c for c in w.children if getattr(c, "description", "")}
    assert set(controls) == {"activation", "hidden layers", "weight scale"}
    assert "sign" not in controls["activation"].options
    for name in ("relu", "prelu", "gelu_tanh"):
        w.f(activation=name, depth=2, gain=1.0)
        assert agg.gcf().axes[0].get_title() == f"{name}, 2 hidden layers, weight scale 1.00"


def test_dead_units_and_comparison_figures(agg):
    from nnbook import plots_activations as pa

    ax = pa.dead_units_curves({"lr = 0.5": [1, 5, 9]}, 10)
    assert ax.get_ylim() == (0, 10.8) and len(ax.lines) == 2
    a1, a2 = pa.variant_comparison({"relu": {"acc": [0.9, 0.95], "loss": [0.3, 0.2]},
                                    "tanh": {"acc": [0.8, 0.85], "loss": [0.5, 0.4]}})
    assert [t.get_text() for t in a1.get_yticklabels()] == ["relu", "tanh"]
    assert a2.get_xlabel() == "test loss (cross-entropy)"
    ax = pa.gradient_norms({"tanh": [1e-3, 1e-2, 1e-1]}, ylim=(1e-4, 1))
    assert ax.get_yscale() == "log" and ax.get_ylim() == (1e-4, 1)
