"""The planted bugs do what they claim: gradient checks fail where they should, ReLUs die."""


import numpy as np
import pytest
import torch
from conftest import as_torch, whole

from nnbook import CrossEntropyLoss, Linear, mlp, to_numpy
from nnbook.activations import dead_relu_units
from nnbook.bugs import BuggyLinear, Curves, biased_relu_mlp, train_curves
from nnbook.gradcheck import check_layer


def test_correct_linear_passes_and_each_bug_fails_only_where_planted(backend):
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.standard_normal((4, 6)))
    ok = check_layer(Linear(6, 6, rng=np.random.default_rng(1), backend=backend), x,
                     np.random.default_rng(2))
    assert max(ok.values()) < 1e-7
    sign = check_layer(BuggyLinear(6, 6, bug="sign", rng=np.random.default_rng(1),
                                   backend=backend), x, np.random.default_rng(2))
    assert sign["W"] == pytest.approx(1.0) and sign["x"] < 1e-7 and sign["b"] < 1e-7
    tr = check_layer(BuggyLinear(6, 6, bug="transpose", rng=np.random.default_rng(1),
                                 backend=backend), x, np.random.default_rng(2))
    assert tr["x"] > 0.1 and tr["W"] < 1e-7 and tr["b"] < 1e-7


def test_buggy_gradients_against_autograd():
    """The planted errors are exactly a sign and a transpose of autograd's gradients."""
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    for bug in ("sign", "transpose"):
        layer = BuggyLinear(4, 4, bug=bug, rng=np.random.default_rng(4))
        layer.forward(x)
        dx = layer.backward(dout)
        W = as_torch(to_numpy(layer.W.data), requires_grad=True)
        xt = as_torch(x, requires_grad=True)
        ((xt @ W.T + as_torch(to_numpy(layer.b.data))) * as_torch(dout)).sum().backward()
        if bug == "sign":
            np.testing.assert_allclose(layer.W.grad, -W.grad.numpy(), rtol=1e-12)
            np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)
        else:
            np.testing.assert_allclose(dx, dout @ to_numpy(layer.W.data).T, rtol=1e-12)
            np.testing.assert_allclose(layer.W.grad, W.grad.numpy(), rtol=1e-12)


def test_symmetric_weights_hide_the_transpose_bug():
    rng = np.random.default_rng(5)
    layer = BuggyLinear(5, 5, bug="transpose", rng=rng)
    layer.W.data[...] = layer.W.data + layer.W.data.T
    errors = check_layer(layer, rng.standard_normal((3, 5)), rng)
    assert errors["x"] < 1e-7


def test_biased_relu_mlp_kills_its_units():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 8))
    dead = biased_relu_mlp([8, 16, 16, 3], -20.0, rng=np.random.default_rng(7))
    assert [float(m.mean()) for m in dead_relu_units(dead, X)] == [1.0, 1.0]
    assert float(to_numpy(dead.layers[-1].b.data).min()) > -1       # output bias untouched
    alive = biased_relu_mlp([8, 16, 16, 3], 0.0, rng=np.random.default_rng(7))
    assert [float(m.mean()) for m in dead_relu_units(alive, X)] == [0.0, 0.0]


def test_train_curves_records_epoch_zero_and_uses_evaluate(backend):
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    Xb, yb = backend.asarray(X), backend.asarray(y)
    model = mlp([4, 8, 3], rng=np.random.default_rng(9), backend=backend)
    seen = []

    def evaluate(m, A):
        seen.append(m.training)
        return m.forward(A)

    c = train_curves(model, CrossEntropyLoss(), Xb, yb, Xb, yb, lr=0.1, epochs=3, batch_size=10,
                     rng=np.random.default_rng(10), evaluate=evaluate)
    assert isinstance(c, Curves) and c.epochs == [0, 1, 2, 3]
    assert len(c.train_loss) == len(c.val_loss) == 4
    assert c.train_loss[0] == pytest.approx(c.val_loss[0])         # no dropout: same loss
    assert c.train_loss[-1] < c.train_loss[0]
    assert seen == [True] * 4                        # a hand-written evaluate sees the mode as is


def test_train_curves_matches_a_torch_loop():
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    model = mlp([3, 2], rng=np.random.default_rng(12))
    W, b = (as_torch(to_numpy(p.data), requires_grad=True) for p in model.parameters())
    c = train_curves(model, CrossEntropyLoss(), X, y, X, y, lr=0.2, epochs=2, batch_size=20,
                     rng=np.random.default_rng(13), momentum=0.5)
    opt = torch.optim.SGD([W, b], lr=0.2, momentum=0.5)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(as_torch(X) @ W.T + b, torch.as_tensor(y))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(c.train_loss, losses, rtol=1e-12)


def test_diverging_runs_are_recorded_as_inf():
    rng = np.random.default_rng(14)
    X, y = rng.standard_normal((20, 3)) * 100, rng.integers(0, 2, 20)
    c = train_curves(mlp([3, 8, 2], rng=rng), CrossEntropyLoss(), X, y, X, y, lr=1e6, epochs=5,
                     batch_size=5, rng=rng)
    assert np.isinf(c.train_loss[-1]) or c.train_loss[-1] > 1e3


@pytest.mark.parametrize("call, cls, message", [
    (lambda: BuggyLinear(3, 3, bug="typo", rng=np.random.default_rng(0)), ValueError,
     "bug must be one of ('transpose', 'sign'), got 'typo'"),
    (lambda: BuggyLinear(3, 4, bug="transpose", rng=np.random.default_rng(0)), ValueError,
     "bug='transpose' needs a square layer (in_features == out_features), got 3 and 4"),
    (lambda: biased_relu_mlp([3, 4, 2], "a", rng=np.random.default_rng(0)), TypeError,
     "bias must be a real number, got 'a' of type str"),
    (lambda: train_curves(mlp([3, 2], rng=np.random.default_rng(0)), CrossEntropyLoss(),
                          np.zeros((2, 3)), np.zeros(2, np.int64), np.zeros((2, 3)),
                          np.zeros(2, np.int64), lr=0.1, epochs=1, batch_size=1,
                          rng=np.random.default_rng(0), evaluate=3), TypeError,
     "evaluate must be callable or None, got int"),
])
def test_bad_inputs_are_refused(call, cls, message):
    with pytest.raises(cls, match=whole(message)):
        call()


def test_buggy_linear_passes_init_and_bias_on_to_linear():
    def halves(shape, fan_in, fan_out, rng):
        return np.full(shape, 0.5)

    layer = BuggyLinear(3, 3, bug="sign", rng=np.random.default_rng(0), init=halves, bias=False)
    np.testing.assert_array_equal(layer.W.data, np.full((3, 3), 0.5))
    assert layer.b is None and len(layer.parameters()) == 1
    x, dout = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer.forward(x), np.full((2, 3), 1.5))
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, dout @ np.full((3, 3), 0.5))
    np.testing.assert_allclose(layer.W.grad, -(dout.T @ x))
    assert "bug='sign'" in repr(layer)


@pytest.mark.parametrize("bug", ["sign", "transpose"])
def test_buggy_linear_skips_the_input_gradient_when_asked(bug):
    layer = BuggyLinear(3, 3, bug=bug, rng=np.random.default_rng(0))
    x, dout = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    layer.forward(x)
    assert layer.backward(dout, input_grad=False) is None
    sign = -1.0 if bug == "sign" else 1.0
    np.testing.assert_allclose(layer.W.grad, sign * (dout.T @ x))
    np.testing.assert_allclose(layer.b.grad, dout.sum(axis=0))


def test_buggy_linear_backward_before_forward_is_refused():
    layer = BuggyLinear(3, 3, bug="sign", rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=r"^Linear\.backward called before forward$"):
        layer.backward(np.ones((2, 3)))


def test_biased_relu_mlp_lives_on_the_backend_asked_for(backend):
    model = biased_relu_mlp([3, 4, 4, 2], -2.5, rng=np.random.default_rng(0), backend=backend)
    assert model.backend == backend
    for p in model.parameters():
        assert type(p.data) is type(backend.asarray(np.zeros(1)))
    np.testing.assert_array_equal(to_numpy(model.layers[0].b.data), np.full(4, -2.5))
    np.testing.assert_array_equal(to_numpy(model.layers[2].b.data), np.full(4, -2.5))


class _FailsOnThirdForward(Linear):
    """A layer that breaks on its third forward pass, as a model can (a bad input mid-run)."""

    calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("broken on call 3")
        return super().forward(x)


def _curves_call(X=None, y=None, X_val=None, y_val=None, model=None):
    """A call of train_curves with one argument replaced; ``model`` is a class, built afresh at
    each call (a model that counts its calls must not carry its count from an earlier run)."""
    X = np.zeros((2, 3)) if X is None else X
    y = np.zeros(2, np.int64) if y is None else y
    X_val = np.zeros((2, 3)) if X_val is None else X_val
    y_val = np.zeros(2, np.int64) if y_val is None else y_val

    def build():
        if model is None:
            return mlp([3, 2], rng=np.random.default_rng(0))
        return model(3, 2, rng=np.random.default_rng(0))
    return lambda: train_curves(build(), CrossEntropyLoss(), X, y, X_val, y_val, lr=0.1, epochs=1,
                                batch_size=1, rng=np.random.default_rng(0))


@pytest.mark.parametrize("call, cls, message", [
    (_curves_call(X=np.zeros((2, 4))), ValueError,
     "X does not fit the model: x must have shape (N, 3), got (2, 4)"),
    (_curves_call(X_val=[[0.0, 0.0, 0.0]]), TypeError,
     "X_val must be a NumPy array or torch.Tensor, got list"),
    (_curves_call(X_val=np.zeros((0, 3)), y_val=np.zeros(0, np.int64)), ValueError,
     "X_val must have at least one row, got shape (0, 3)"),
    (_curves_call(y_val=np.zeros(3, np.int64)), ValueError,
     "y_val must have 2 rows like X_val, got shape (3,)"),
    (_curves_call(y_val=torch.zeros(2, dtype=torch.int64)), TypeError,
     "y_val must be a numpy array like X_val, got a torch array; "
     "put both on one backend with Backend.asarray"),
    (_curves_call(X_val=np.zeros((2, 4))), ValueError,
     "X_val does not fit the model: x must have shape (N, 3), got (2, 4)"),
    (_curves_call(y_val=np.array([0, 5])), ValueError,
     "y_val does not suit CrossEntropyLoss: labels must lie in [0, 1] for 2 classes, "
     "got values in [0, 5]"),
    (_curves_call(model=_FailsOnThirdForward), ValueError,
     "X_val does not fit the model: broken on call 3"),
])
def test_train_curves_names_the_bad_argument(call, cls, message):
    with pytest.raises(cls, match=whole(message)):
        call()


def test_nan_losses_are_recorded_as_inf_without_floating_point_errors():
    """The losses go through inf to NaN; each is recorded as inf, and numpy set to raise
    on overflow or invalid operations raises nothing: the run is silenced inside."""
    rng = np.random.default_rng(14)
    X, y = rng.standard_normal((20, 3)) * 100, rng.integers(0, 2, 20)
    with np.errstate(all="raise"):
        c = train_curves(mlp([3, 8, 2], rng=rng), CrossEntropyLoss(), X, y, X, y, lr=1e6,
                         epochs=12, batch_size=5, rng=rng)
    assert not np.isnan(c.train_loss).any() and not np.isnan(c.val_loss).any()
    assert c.train_loss[-1] == float("inf") and c.val_loss[-1] == float("inf")
    assert np.isfinite(c.train_loss[0])


def test_an_overflow_at_the_initial_weights_raises_no_floating_point_error():
    """Epoch 0 is evaluated with numpy's warnings silenced too (here numpy is set to raise)."""
    rng = np.random.default_rng(14)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    with np.errstate(all="raise"):
        c = train_curves(mlp([3, 8, 2], rng=rng), CrossEntropyLoss(), X * 1e300, y, X, y,
                         lr=0.1, epochs=1, batch_size=5, rng=rng)
    assert len(c.train_loss) == len(c.val_loss) == 2
    assert c.train_loss[0] > 1e200 and np.isfinite(c.val_loss[0])
