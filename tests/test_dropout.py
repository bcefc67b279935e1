"""Dropout: inverted scaling, eval identity, MC mode, gradients, torch.nn.Dropout as the oracle."""


import numpy as np
import pytest
import torch
from conftest import whole

from nnbook import Backend, Linear, ReLU, Sequential, to_numpy
from nnbook.dropout import Dropout, dropout_backward, dropout_forward, dropout_mask
from nnbook.gradcheck import numerical_gradient


def test_mask_keeps_with_probability_one_minus_p():
    keep = dropout_mask((200, 500), 0.3, np.random.default_rng(0))
    assert keep.dtype == np.bool_
    assert abs(keep.mean() - 0.7) < 0.005
    assert dropout_mask((3, 4), 0.0, np.random.default_rng(0)).all()
    assert not dropout_mask((3, 4), 1.0, np.random.default_rng(0)).any()


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
def test_forward_scales_kept_units_by_one_over_keep(p, backend):
    x = backend.asarray(np.random.default_rng(1).normal(size=(6, 5)))
    keep = dropout_mask((6, 5), p, np.random.default_rng(2))
    out, cache = dropout_forward(x, p, mask=_on(backend, keep))
    expected = to_numpy(x) * keep / (1 - p)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-15)
    dout = backend.asarray(np.random.default_rng(3).normal(size=(6, 5)))
    np.testing.assert_allclose(to_numpy(dropout_backward(dout, cache)),
                               to_numpy(dout) * keep / (1 - p), rtol=1e-15)


def _on(backend, mask):
    return torch.as_tensor(mask, device=backend.device) if backend.library == "torch" else mask


def test_p_one_drops_everything_without_dividing_by_zero():
    out, _ = dropout_forward(np.ones((2, 3)), 1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def test_same_rng_same_mask_on_both_backends():
    x = np.random.default_rng(0).normal(size=(4, 7))
    a, _ = dropout_forward(x, 0.4, rng=np.random.default_rng(9))
    b, _ = dropout_forward(Backend("torch").asarray(x), 0.4, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, to_numpy(b))


def test_expectation_is_the_input():
    x = np.linspace(-2, 2, 10)[None, :].repeat(20000, axis=0)
    out, _ = dropout_forward(x, 0.5, rng=np.random.default_rng(0))
    np.testing.assert_allclose(out.mean(axis=0), x[0], atol=0.04)


def test_gradient_check_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4))
    w = rng.normal(size=(5, 4))
    keep = dropout_mask(x.shape, 0.3, rng)

    def f():
        return float(np.sum(w * dropout_forward(x, 0.3, mask=keep)[0]))

    _, cache = dropout_forward(x, 0.3, mask=keep)
    num = numerical_gradient(f, x)
    ana = dropout_backward(w, cache)
    rel = np.abs(num - ana).max() / max(np.abs(num).max(), np.abs(ana).max())
    assert rel < 1e-7


def test_module_train_eval_and_mc(backend):
    x = backend.asarray(np.ones((3, 8)))
    d = Dropout(0.5, rng=np.random.default_rng(0))
    out = to_numpy(d(x))
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any()
    np.testing.assert_array_equal(to_numpy(d.backward(backend.asarray(np.ones((3, 8))))), out)
    d.eval()
    assert d(x) is x
    assert d.backward(x) is x
    mc = Dropout(0.5, rng=np.random.default_rng(0), mc=True).eval()
    first, second = to_numpy(mc(x)), to_numpy(mc(x))
    assert (first == 0).any() and not np.array_equal(first, second)
    assert repr(mc) == "Dropout(p=0.5, mc=True)"


def test_in_a_network_backward_matches_torch_autograd():
    rng = np.random.default_rng(0)
    lin = Linear(6, 4, rng=rng)
    drop = Dropout(0.25, rng=np.random.default_rng(5))
    net = Sequential(lin, ReLU(), drop)
    x = rng.normal(size=(8, 6))
    out = net(x)
    dout = rng.normal(size=out.shape)
    dx = net.backward(dout)
    keep = to_numpy(drop._cache) > 0
    xt = torch.tensor(x, requires_grad=True)
    W = torch.tensor(lin.W.data, requires_grad=True)
    b = torch.tensor(lin.b.data, requires_grad=True)
    yt = torch.relu(xt @ W.T + b) * torch.tensor(keep, dtype=torch.float64) / 0.75
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.W.grad, W.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_torch_dropout_oracle_same_mask_same_output_and_gradient(p):
    torch.manual_seed(0)
    x = torch.rand(50, 40, dtype=torch.float64) + 0.5          # nonzero: the mask is readable
    x.requires_grad_(True)
    drop = torch.nn.Dropout(p)
    y = drop(x)
    dout = torch.randn(50, 40, dtype=torch.float64)
    y.backward(dout)
    keep = (y != 0).detach().numpy()
    ours, cache = dropout_forward(x.detach().numpy(), p, mask=keep)
    np.testing.assert_allclose(ours, y.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(dropout_backward(dout.numpy(), cache), x.grad.numpy(), rtol=1e-15)
    torch_drop_rate = 1 - keep.mean()
    our_drop_rate = 1 - dropout_mask((50, 40), p, np.random.default_rng(0)).mean()
    assert abs(torch_drop_rate - p) < 0.04 and abs(our_drop_rate - p) < 0.04
    drop.eval()
    assert torch.equal(drop(x), x)


def test_torch_dropout_oracle_statistics():
    torch.manual_seed(1)
    x = torch.ones(400, 500, dtype=torch.float64)
    y = torch.nn.Dropout(0.3)(x).numpy()
    ours = Dropout(0.3, rng=np.random.default_rng(1))(np.ones((400, 500)))
    for out in (y, ours):
        assert set(np.unique(out)) == {0.0, 1 / 0.7}
        assert abs((out == 0).mean() - 0.3) < 0.005
        assert abs(out.mean() - 1.0) < 0.01


@pytest.mark.parametrize("p, exc, message", [
    (1.5, ValueError, "p (the drop probability) must lie in [0, 1], got 1.5"),
    (-0.1, ValueError, "p (the drop probability) must lie in [0, 1], got -0.1"),
    (float("nan"), ValueError, "p (the drop probability) must lie in [0, 1], got nan"),
    ("0.5", TypeError, "p (the drop probability) must be a number in [0, 1], got '0.5' of type str"),
    (True, TypeError, "p (the drop probability) must be a number in [0, 1], got True of type bool"),
])
def test_bad_p(p, exc, message):
    with pytest.raises(exc, match=whole(message)):
        Dropout(p, rng=np.random.default_rng(0))
    with pytest.raises(exc, match=whole(message)):
        dropout_forward(np.ones((2, 2)), p, rng=np.random.default_rng(0))


def test_bad_inputs():
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match=whole(
            "rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), got int")):
        Dropout(0.5, rng=0)
    with pytest.raises(TypeError, match=whole("mc must be True or False, got 1")):
        Dropout(0.5, rng=np.random.default_rng(0), mc=1)
    with pytest.raises(ValueError, match=whole(
            "give exactly one of rng (to draw the mask) and mask, got neither")):
        dropout_forward(x, 0.5)
    with pytest.raises(ValueError, match=whole(
            "give exactly one of rng (to draw the mask) and mask, got both")):
        dropout_forward(x, 0.5, rng=np.random.default_rng(0), mask=x > 0)
    with pytest.raises(ValueError, match=whole(
            "mask must have the shape of x (2, 3), got (3, 2)")):
        dropout_forward(x, 0.5, mask=np.ones((3, 2), dtype=bool))
    with pytest.raises(TypeError, match=whole("mask must be a boolean keep mask, got dtype float64")):
        dropout_forward(x, 0.5, mask=x)
    with pytest.raises(TypeError, match=whole("x must have a float dtype, got int64")):
        dropout_forward(np.ones((2, 3), dtype=np.int64), 0.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=whole("x must be a NumPy array or torch.Tensor, got list")):
        Dropout(0.5, rng=np.random.default_rng(0))([[1.0]])
    with pytest.raises(RuntimeError, match=whole("Dropout.backward called before forward")):
        Dropout(0.5, rng=np.random.default_rng(0)).backward(x)


def test_input_dropout_first_in_a_torch_network_trains_like_numpy():
    import nnbook as nb

    def net(backend):
        rng = np.random.default_rng(0)
        model = nb.Sequential(Dropout(0.2, rng=rng, backend=backend),
                              Linear(4, 6, rng=rng, backend=backend), ReLU(),
                              Dropout(0.5, rng=rng, backend=backend),
                              Linear(6, 3, rng=rng, backend=backend))
        return model

    X = np.random.default_rng(1).normal(size=(20, 4))
    y = np.arange(20) % 3
    losses = []
    for lib in ("numpy", "torch"):
        bk = Backend(lib)
        model = net(lib)
        assert model.backend == bk
        h = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                   bk.asarray(X), bk.asarray(y), epochs=3, batch_size=5,
                   rng=np.random.default_rng(2))
        losses.append(h.loss)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    moved = net(None).to("torch")
    assert moved.backend == Backend("torch") and moved[0].backend == Backend("torch")


def _zeros_generator():
    """A genuine numpy Generator whose ``random()`` returns exactly 0.0 (all-zero MT19937 state)."""
    rng = np.random.Generator(np.random.MT19937(0))
    state = rng.bit_generator.state
    state["state"]["key"] = np.zeros(624, dtype=np.uint32)
    state["state"]["pos"] = 624
    rng.bit_generator.state = state
    assert rng.random() == 0.0
    return rng


def test_mask_keeps_a_draw_equal_to_p():
    """``u >= p`` keeps a unit: a draw of exactly 0 is kept at p = 0 (p = 0 keeps everything)."""
    assert dropout_mask((2, 3), 0.0, _zeros_generator()).all()
    out, _ = dropout_forward(np.full((2, 3), 1.5), 0.0, rng=_zeros_generator())
    np.testing.assert_array_equal(out, np.full((2, 3), 1.5))
    assert not dropout_mask((2, 3), 1.0, _zeros_generator()).any()


def test_p_one_with_a_mask_of_all_kept_units_still_gives_zero():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    out, cache = dropout_forward(x, 1.0, mask=np.ones((2, 3), dtype=bool))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))
    np.testing.assert_array_equal(dropout_backward(np.ones((2, 3)), cache), np.zeros((2, 3)))


@pytest.mark.parametrize("mask, exc, message", [
    (torch.ones(2, 3, dtype=torch.bool), TypeError,
     "mask must be a numpy array like x, got a torch array; "
     "put both on one backend with Backend.asarray"),
    ([[True, True, True], [True, True, True]], TypeError,
     "mask must be a NumPy array or torch.Tensor, got list"),
])
def test_mask_from_another_backend_is_refused(mask, exc, message):
    with pytest.raises(exc, match=whole(message)):
        dropout_forward(np.ones((2, 3)), 0.5, mask=mask)


def test_numpy_mask_for_a_torch_x_is_refused():
    with pytest.raises(TypeError, match=whole(
            "mask must be a torch array like x, got a numpy array; "
            "put both on one backend with Backend.asarray")):
        dropout_forward(torch.ones(2, 3, dtype=torch.float64), 0.5,
                        mask=np.ones((2, 3), dtype=bool))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_output_keeps_backend_dtype_and_device(backend, dtype):
    x = backend.asarray(np.ones((3, 4)))
    x = x.astype(dtype) if backend.library == "numpy" else x.to(getattr(torch, dtype))
    out, cache = dropout_forward(x, 0.5, rng=np.random.default_rng(0))
    assert type(out) is type(x) and type(cache) is type(x)
    assert out.dtype == x.dtype and cache.dtype == x.dtype
    if backend.library == "torch":
        assert out.device == x.device and cache.device == x.device


def test_default_p_is_one_half():
    d = Dropout(rng=np.random.default_rng(0))
    assert d.p == 0.5
    out = d(np.ones((200, 100)))
    assert set(np.unique(out)) == {0.0, 2.0}
    assert abs((out == 0).mean() - 0.5) < 0.01


def test_p_zero_module_is_the_identity_and_p_one_drops_everything():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    d0 = Dropout(0.0, rng=np.random.default_rng(0))
    assert d0(x) is x
    assert d0.backward(x) is x
    d1 = Dropout(1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(d1(x), np.zeros((2, 3)))
    np.testing.assert_array_equal(d1.backward(np.ones((2, 3))), np.zeros((2, 3)))


def test_repr_without_mc():
    assert repr(Dropout(0.25, rng=np.random.default_rng(0))) == "Dropout(p=0.25)"
    assert Dropout(rng=np.random.default_rng(0)).extra_repr() == "p=0.5"


def test_a_forward_that_refuses_its_p_leaves_no_mask_behind():
    """Setting ``p`` out of range fails at the next forward; backward then passes dout through."""
    d = Dropout(0.5, rng=np.random.default_rng(0))
    d.p = 1.5
    with pytest.raises(ValueError, match=whole(
            "p (the drop probability) must lie in [0, 1], got 1.5")):
        d(np.ones((2, 3)))
    dout = np.ones((2, 3))
    assert d.backward(dout) is dout


def test_mask_drawn_in_numpy_goes_to_the_device_of_x():
    """The keep mask is moved onto x's device. PyTorch's ``meta`` device stands in for an
    accelerator on a CPU-only machine (the helper is called directly: arithmetic on ``meta``
    tensors costs seconds of one-time set-up)."""
    from nnbook.dropout import _to_device

    keep = dropout_mask((2, 3), 0.5, np.random.default_rng(0))
    for x in (torch.ones(2, 3, device="meta"), torch.ones(2, 3, dtype=torch.float64)):
        moved = _to_device(keep, x)
        assert isinstance(moved, torch.Tensor) and moved.device == x.device
        assert moved.dtype == torch.bool and tuple(moved.shape) == (2, 3)
    np.testing.assert_array_equal(_to_device(keep, torch.ones(2, 3)).numpy(), keep)
    assert type(_to_device(keep, np.ones((2, 3)))) is np.ndarray
