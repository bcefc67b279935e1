"""Signal-propagation tools against PyTorch's autograd, on NumPy and on PyTorch tensors."""

import math

import numpy as np
import pytest
import torch
from conftest import as_torch

from nnbook import Linear, Sequential, Tanh, init, mlp, to_numpy
from nnbook.backend import Backend
from nnbook.dropout import Dropout
from nnbook.gradcheck import numerical_gradient
from nnbook.signal import (
    deep_mlp,
    input_output_jacobian,
    jacobian_singular_values,
    signal_stats,
    spectrum_measures,
)


def test_blocks_pair_each_linear_with_the_activation_after_it():
    """Linear, Linear, Tanh: a bare Linear block then a Linear + Tanh block (runs first)."""
    rng = np.random.default_rng(10)
    first, second = Linear(3, 4, rng=rng, bias=False), Linear(4, 2, rng=rng, bias=False)
    model = Sequential(first, second, Tanh())
    X, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    stats = signal_stats(model, X, dout=dout)
    assert stats.depth == 2
    oracle = _torch_stats([first.W.data, second.W.data], [None, None],
                          ["identity", "tanh"], X, dout)
    for name, expected in oracle.items():
        np.testing.assert_allclose(getattr(stats, name), expected, rtol=1e-12, err_msg=name)


def test_blocks_of_linear_layers_alone():
    rng = np.random.default_rng(11)
    lins = [Linear(3, 3, rng=rng, bias=False) for _ in range(3)]
    X, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    stats = signal_stats(Sequential(*lins), X, dout=dout)
    oracle = _torch_stats([m.W.data for m in lins], [None] * 3, ["identity"] * 3, X, dout)
    assert stats.depth == 3
    np.testing.assert_allclose(stats.preact_std, oracle["preact_std"], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_std, oracle["grad_std"], rtol=1e-12)


TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
             "sigmoid": torch.sigmoid}


def _torch_stats(weights, biases, activations, X, dout):
    """The same statistics from a torch.autograd run of the same network."""
    Ws = [as_torch(W, requires_grad=True) for W in weights]
    a, zs, acts = as_torch(X), [], []
    for W, b, act in zip(Ws, biases, activations, strict=True):
        z = a @ W.T + (0 if b is None else as_torch(b))
        z.retain_grad()
        a = TORCH_ACT[act](z)
        zs.append(z)
        acts.append(a)
    (a * as_torch(dout)).sum().backward()

    def std(t):
        return t.detach().std(correction=0).item()

    return dict(preact_std=[std(z) for z in zs], act_std=[std(x) for x in acts],
                act_rms=[x.detach().pow(2).mean().sqrt().item() for x in acts],
                grad_std=[std(z.grad) for z in zs], weight_grad_std=[std(W.grad) for W in Ws])


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity", "sigmoid"])
def test_signal_stats_match_autograd(activation, backend):
    rng = np.random.default_rng(0)
    model = deep_mlp(6, 4, activation, init.he_normal, rng=rng, d_in=5, backend=backend)
    X, dout = rng.standard_normal((9, 5)), rng.standard_normal((9, 6))
    stats = signal_stats(model, backend.asarray(X), dout=backend.asarray(dout))
    weights = [to_numpy(m.W.data) for m in model.layers[::2]]
    oracle = _torch_stats(weights, [None] * 4, [activation] * 4, X, dout)
    assert stats.depth == 4
    for name, expected in oracle.items():
        np.testing.assert_allclose(getattr(stats, name), expected, rtol=1e-12, err_msg=name)


def test_signal_stats_of_an_mlp_with_biases_and_a_linear_output():
    rng = np.random.default_rng(1)
    model = mlp([5, 7, 6, 3], "tanh", rng=rng)            # Linear, Tanh, Linear, Tanh, Linear
    X, dout = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    stats = signal_stats(model, X, dout=dout)
    lin = model.layers[::2]
    oracle = _torch_stats([m.W.data for m in lin], [m.b.data for m in lin],
                          ["tanh", "tanh", "identity"], X, dout)
    for name, expected in oracle.items():
        np.testing.assert_allclose(getattr(stats, name), expected, rtol=1e-12, err_msg=name)


def test_default_dout_is_drawn_from_rng():
    model = deep_mlp(4, 3, "relu", init.he_normal, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((5, 4))
    a = signal_stats(model, X, rng=np.random.default_rng(7))
    b = signal_stats(model, X, dout=np.random.default_rng(7).standard_normal((5, 4)))
    np.testing.assert_array_equal(a.grad_std, b.grad_std)


def test_lecun_keeps_a_linear_network_variance():
    # Var(z_l) = fan_in Var(w) Var(z_{l-1}) = Var(z_{l-1}) for LeCun in a linear network;
    # the sample std of 256 x 256 values after 10 layers stays within a few per cent.
    model = deep_mlp(256, 10, "identity", init.lecun_normal, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((256, 256))
    stats = signal_stats(model, X, rng=np.random.default_rng(2))
    np.testing.assert_allclose(stats.preact_std, 1.0, rtol=0.15)
    np.testing.assert_allclose(stats.grad_std, 1.0, rtol=0.15)


def _torch_network(model, activation):
    Ws = [as_torch(to_numpy(m.W.data)) for m in model.layers[::2]]

    def f(x):
        for W in Ws:
            x = TORCH_ACT[activation](x @ W.T)
        return x
    return f


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
def test_jacobian_matches_autograd(activation, backend):
    rng = np.random.default_rng(2)
    model = deep_mlp(5, 3, activation, init.xavier_normal, rng=rng, d_in=4, backend=backend)
    X = rng.standard_normal((3, 4))
    J = to_numpy(input_output_jacobian(model, backend.asarray(X)))
    assert J.shape == (3, 5, 4)
    f = _torch_network(model, activation)
    for k in range(3):
        oracle = torch.autograd.functional.jacobian(f, as_torch(X[k:k + 1]))[0, :, 0, :]
        np.testing.assert_allclose(J[k], oracle.numpy(), rtol=1e-12, atol=1e-14)


def test_jacobian_central_differences():
    rng = np.random.default_rng(3)
    model = deep_mlp(4, 3, "tanh", init.lecun_normal, rng=rng, d_in=3)
    x = rng.standard_normal((1, 3))
    J = input_output_jacobian(model, x)[0]
    for k in range(4):
        num = numerical_gradient(lambda k=k: float(model.forward(x)[0, k]), x)
        np.testing.assert_allclose(J[k], num[0], rtol=1e-7, atol=1e-10)


def test_orthogonal_linear_network_is_an_isometry():
    model = deep_mlp(16, 20, "identity", init.orthogonal, rng=np.random.default_rng(4))
    sv = jacobian_singular_values(model, np.random.default_rng(5).standard_normal((3, 16)))
    assert sv.shape == (3, 16)
    np.testing.assert_allclose(sv, 1.0, rtol=1e-12)


def test_singular_values_of_a_gaussian_product():
    model = deep_mlp(8, 5, "identity", init.lecun_normal, rng=np.random.default_rng(6))
    product = np.eye(8)
    for m in model.layers[::2]:
        product = m.W.data @ product
    sv = jacobian_singular_values(model, np.zeros((2, 8)))
    np.testing.assert_allclose(sv[0], np.linalg.svd(product, compute_uv=False), rtol=1e-12)
    assert np.all(np.diff(sv, axis=1) <= 0)                 # largest first
    assert sv[0, 0] / sv[0, -1] > 10                        # and spread out


def test_jacobian_singular_values_on_torch():
    model = deep_mlp(8, 4, "tanh", init.orthogonal, rng=np.random.default_rng(7))
    X = np.random.default_rng(8).standard_normal((2, 8))
    ref = jacobian_singular_values(model, X)
    bk = model.backend.__class__("torch", "cpu")
    model.to(bk)
    np.testing.assert_allclose(jacobian_singular_values(model, bk.asarray(X)), ref, rtol=1e-12)
    assert math.isfinite(float(ref.sum()))


# ---------------------------------------------------------------- bad inputs

def _model():
    return deep_mlp(3, 2, "tanh", init.lecun_normal, rng=np.random.default_rng(0))


@pytest.mark.parametrize("call, exc, message", [
    (lambda: deep_mlp(0, 2, rng=np.random.default_rng(0)), ValueError,
     r"^width must be a positive int, got 0$"),
    (lambda: deep_mlp(3, 2.0, rng=np.random.default_rng(0)), ValueError,
     r"^depth must be a positive int, got 2\.0$"),
    (lambda: deep_mlp(3, 2, "swish", rng=np.random.default_rng(0)), ValueError,
     r"^activation must be one of \[.*'relu'.*'tanh'.*\], got 'swish'$"),
    (lambda: deep_mlp(3, 2, rng=0), TypeError, r"^rng must be a numpy\.random\.Generator"),
    (lambda: signal_stats(Tanh(), np.zeros((2, 3)), rng=np.random.default_rng(0)), TypeError,
     r"^model must be an nnbook Sequential, got Tanh$"),
    (lambda: signal_stats(Sequential(Tanh()), np.zeros((2, 3)), rng=np.random.default_rng(0)),
     ValueError, r"^model must alternate Linear layers and activations, got Tanh at position 0$"),
    (lambda: signal_stats(Sequential(), np.zeros((2, 3)), rng=np.random.default_rng(0)),
     ValueError, r"^model must hold at least one Linear layer, got an empty Sequential$"),
    (lambda: signal_stats(_model(), np.zeros((2, 4)), rng=np.random.default_rng(0)),
     ValueError, r"^x must have shape \(N, 3\), got \(2, 4\)$"),
    (lambda: signal_stats(_model(), np.zeros(3), rng=np.random.default_rng(0)),
     ValueError, r"^X must have 2 dimension\(s\), got shape \(3,\)$"),
    (lambda: signal_stats(_model(), np.zeros((2, 3))), ValueError,
     r"^give dout \(the gradient at the output\) or rng to draw it$"),
    (lambda: signal_stats(_model(), np.zeros((2, 3)), dout=np.zeros((3, 3))), ValueError,
     r"^dout must have shape \(2, 3\), got \(3, 3\)$"),
    (lambda: signal_stats(_model(), torch.zeros(2, 3, dtype=torch.float64),
                          rng=np.random.default_rng(0)), TypeError,
     r"^X is a torch array but the model lives on numpy:cpu:float64; "),
    (lambda: input_output_jacobian("net", np.zeros((2, 3))), TypeError,
     r"^model must be an nnbook Module, got str$"),
])
def test_bad_inputs_are_refused(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_spectrum_measures_isometry_and_zeros():
    ones = np.ones((2, 128))
    m = spectrum_measures(ones)
    assert m == {"spread": 1.0, "unresolved": 0.0, "normalised_variance": 0.0}
    # half the values exact zeros, half round-off-sized: the spread is unknown
    sv = np.concatenate([np.linspace(1, 2, 64), np.zeros(32), np.full(32, 1e-16)])
    m = spectrum_measures(sv)
    assert m["spread"] == math.inf
    assert m["unresolved"] == pytest.approx(0.5)
    s2 = sv ** 2
    assert m["normalised_variance"] == pytest.approx(s2.var() / s2.mean() ** 2)


def test_spectrum_measures_resolved_spread():
    sv = np.geomspace(1e-6, 1.0, 101)
    q10, q90 = np.quantile(sv, [0.1, 0.9])
    assert spectrum_measures(sv)["spread"] == pytest.approx(q90 / q10)
    assert spectrum_measures(sv)["unresolved"] == 0.0


def test_spectrum_measures_refuses_bad_input():
    with pytest.raises(ValueError, match=r"^sv must be non-negative singular values, "
                                         r"got a negative entry$"):
        spectrum_measures(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"^sv must have shape \(K, n\) or \(n,\) "
                                         r"with n >= 1, got \(1, 0\)$"):
        spectrum_measures(np.zeros(0))


@pytest.mark.parametrize("width, depth", [(1, 1), (1, 3), (4, 1)])
def test_deep_mlp_accepts_width_and_depth_one(width, depth):
    model = deep_mlp(width, depth, "tanh", rng=np.random.default_rng(0))
    assert len(model.layers) == 2 * depth
    assert [m.W.data.shape for m in model.layers[::2]] == [(width, width)] * depth
    assert all(m.b is None for m in model.layers[::2])


@pytest.mark.parametrize("X, message", [
    (np.zeros(3), r"^X must have 2 dimension\(s\), got shape \(3,\)$"),
    (torch.zeros(2, 3, dtype=torch.float64),
     r"^X is a torch array but the model lives on numpy:cpu:float64; "),
])
def test_jacobian_names_its_input_x_in_errors(X, message):
    with pytest.raises((TypeError, ValueError), match=message):
        input_output_jacobian(_model(), X)


def test_jacobian_probes_the_output_width_on_one_row():
    """A dropout layer draws masks for one probe row, then for the K * D_out copies."""
    rng = np.random.default_rng(12)
    lin = Linear(3, 4, rng=rng, bias=False)
    model = Sequential(lin, Dropout(0.5, rng=np.random.default_rng(13)))
    X = rng.standard_normal((3, 3))
    J = input_output_jacobian(model, X)
    ref = np.random.default_rng(13)
    ref.random((1, 4))                                   # the probe row
    keep = (ref.random((12, 4)) >= 0.5).reshape(3, 4, 4)  # copy k of row n: keep[n, k]
    scale = np.einsum("nkk->nk", keep) * 2.0               # mask / (1 - p) of output k
    np.testing.assert_allclose(J, scale[:, :, None] * lin.W.data[None], rtol=1e-15)
    assert model.layers[1].rng.random() == ref.random()


def test_jacobian_on_the_meta_device():
    """The identity that seeds the backward pass lives on X's device."""
    bk = Backend("torch", "meta")
    model = deep_mlp(3, 2, "identity", init.lecun_normal, rng=np.random.default_rng(0),
                     backend=bk)
    J = input_output_jacobian(model, bk.asarray(np.zeros((2, 3))))
    assert J.device.type == "meta" and tuple(J.shape) == (2, 3, 3)
    assert J.dtype == torch.float64


def test_spectrum_measures_floor_is_relative_to_each_row():
    # row 0 is tiny but evenly spread; against the global maximum it would be unresolved
    sv = np.array([[1e-20, 1e-20], [1.0, 1.0]])
    m = spectrum_measures(sv)
    assert m["unresolved"] == 0.0 and m["normalised_variance"] == 0.0
    assert m["spread"] == pytest.approx(1e20)             # q90 / q10 = 1 / 1e-20, pooled
    # a large maximum: rtol * 1e6 = 1e-7 floors 1e-8 out (rtol / 1e6 would not)
    m = spectrum_measures(np.array([1e6, 1e6, 1e-8, 1e-8]))
    assert m["unresolved"] == 0.5


def test_spectrum_measures_value_at_the_floor_is_resolved():
    # rtol = 0.5, largest 1: the floor is 0.5, and 0.5 itself is not below it
    sv = np.array([1.0] * 5 + [0.5] * 5)
    m = spectrum_measures(sv, rtol=0.5)
    assert m["unresolved"] == 0.0
    assert m["spread"] == 2.0


def test_spectrum_measures_round_off_values_make_the_spread_unknown():
    # q10 = 1e-16 > 0, but it is below the floor: the spread is inf, not 1e16
    sv = np.array([1.0] * 50 + [1e-16] * 50)
    assert np.quantile(sv, 0.1) == 1e-16
    m = spectrum_measures(sv)
    assert m["spread"] == math.inf
    assert m["unresolved"] == 0.5


def test_spectrum_measures_normalised_variance_per_row():
    # s^2 rows [1, 1] and [1, 9]: Var/E^2 = 0 and 16 / 25; their mean is 0.32
    m = spectrum_measures(np.array([[1.0, 1.0], [1.0, 3.0]]))
    assert m["normalised_variance"] == pytest.approx(0.32, rel=1e-14)


def test_spectrum_measures_computes_in_float64():
    # int8 squares would wrap around (20**2 = 400 > 127)
    sv = np.array([1, 20, 30], dtype=np.int8)
    s2 = np.array([1.0, 400.0, 900.0])
    m = spectrum_measures(sv)
    assert m["normalised_variance"] == pytest.approx(s2.var() / s2.mean() ** 2, rel=1e-14)
    assert m["spread"] == pytest.approx(float(np.quantile([1.0, 20, 30], 0.9)
                                              / np.quantile([1.0, 20, 30], 0.1)))
