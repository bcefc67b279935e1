"""Optimisers and the training loop, against torch.optim and torch.nn."""

import copy

import numpy as np
import pytest
import torch
from conftest import as_torch
from conftest import raises_whole as _raises

import nnbook as nb
from nnbook import to_numpy
from nnbook.layers import Module


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


def _reference_fit(model, X, Y, lr, epochs, batch_size, seed):
    """fit's loop for MSE and plain SGD, written out in NumPy."""
    rng, curve = np.random.default_rng(seed), []
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        total = 0.0
        for s in range(0, len(X), batch_size):
            idx = perm[s:s + batch_size]
            out = model.forward(X[idx])
            diff = out - Y[idx]
            total += np.mean(diff ** 2) * len(idx)
            model.backward(2 * diff / diff.size, input_grad=False)
            for p in model.parameters():
                p.data -= lr * p.grad
        curve.append(total / len(X))
    return curve


@pytest.mark.parametrize("batch_size", [1, 7, 40])        # one sample, a ragged last batch, full batch
def test_fit_with_matrix_targets_equals_the_loop_written_out(batch_size, rng):
    X, Y = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))
    model = nb.mlp([3, 5, 2], "tanh", rng=rng)
    twin = copy.deepcopy(model)
    steps = []

    class CountingSGD(nb.SGD):
        def step(self):
            steps.append(1)
            super().step()

    hist = nb.fit(model, nb.MSELoss(), CountingSGD(model.parameters(), lr=0.05), X, Y,
                  epochs=3, batch_size=batch_size, rng=np.random.default_rng(9))
    ref = _reference_fit(twin, X, Y, 0.05, 3, batch_size, 9)
    np.testing.assert_allclose(hist.loss, ref, rtol=1e-12)
    assert len(steps) == 3 * -(-30 // batch_size)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12)


def test_fit_records_the_validation_loss_of_each_epoch(rng):
    X, y = nb.data.blobs(40, rng=rng)
    X_val, y_val = nb.data.blobs(15, rng=rng)
    model = nb.mlp([2, 4, 2], "tanh", rng=rng)
    expected_loss, expected_acc = [], []

    def measure(epoch, m):
        out = nb.predict(m, X_val)
        expected_loss.append(float(nb.CrossEntropyLoss()(out, y_val)))
        expected_acc.append(float(np.mean(np.argmax(out, axis=1) == y_val)))

    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.3), X, y,
                  epochs=4, batch_size=8, rng=rng, X_val=X_val, y_val=y_val, callback=measure)
    assert hist.val_loss == pytest.approx(expected_loss, rel=1e-14)
    assert hist.val_acc == pytest.approx(expected_acc, rel=1e-14)
    assert len(set(hist.val_loss)) == 4                   # the weights moved between epochs


def test_fit_with_no_epoch_changes_nothing(rng):
    X, y = nb.data.blobs(10, rng=rng)
    model = nb.mlp([2, 3, 2], rng=rng)
    before = [p.data.copy() for p in model.parameters()]
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=0, batch_size=4, rng=rng, X_val=X, y_val=y)
    assert hist.loss == hist.val_loss == hist.val_acc == [] and hist.epochs == []
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_predict_runs_in_eval_mode_and_restores_training(rng):
    seen = []

    class Spy(nb.Identity):
        def forward(self, z):
            seen.append(self.training)
            return super().forward(z)

    model = nb.Sequential(nb.Linear(2, 2, rng=rng), Spy())
    assert model.training
    X = rng.standard_normal((3, 2))
    np.testing.assert_allclose(nb.predict(model, X), model.layers[0].forward(X), rtol=1e-15)
    assert seen == [False] and model.training and all(m.training for m in model.layers)


def test_accuracy_thresholds_binary_logits_at_zero():
    """One logit per sample: an argmax over one column would always say class 0 (here 1/2)."""
    logits = np.array([[2.0], [-1.0], [0.5], [3.0]])
    targets = np.array([[1.0], [0.0], [0.0], [1.0]])
    assert nb.accuracy(logits, targets) == 0.75
    assert nb.accuracy(logits[:, 0], targets[:, 0]) == 0.75
    assert nb.accuracy(np.array([[0.0], [-0.0]]), np.array([[0.0], [0.0]])) == 1.0   # sigma(0) = 1/2 is 0
    assert nb.accuracy(np.array([[0.1, 0.3, 0.2], [5.0, 1.0, 2.0]]), np.array([1, 2])) == 0.5


# --- whole refusal messages, the default metric per loss, zero_grad ---------------------------


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    model = nb.mlp([3, 4, 2], rng=rng)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    return model, X, y, nb.SGD(model.parameters(), lr=0.1)


def test_fit_refusals_name_the_argument_in_whole(setup):
    model, X, y, opt = setup
    rng = np.random.default_rng(1)
    ce = nb.CrossEntropyLoss()
    kw = dict(epochs=1, batch_size=4, rng=rng)
    _raises(TypeError, "model must be an nnbook Module (e.g. nb.mlp(...)), got str",
            nb.fit, "net", ce, opt, X, y, **kw)
    _raises(TypeError, "loss_fn must be an nnbook loss (e.g. nb.CrossEntropyLoss()), got object",
            nb.fit, model, object(), opt, X, y, **kw)
    other = nb.SGD(nb.mlp([3, 4, 2], rng=rng).parameters(), lr=0.1)
    _raises(ValueError, "optimizer must update this model's parameters (build it from "
            "model.parameters()), got parameters of another model", nb.fit, model, ce, other, X, y, **kw)
    _raises(ValueError, "y must have 10 rows like X, got shape (5,)", nb.fit, model, ce, opt, X, y[:5], **kw)
    _raises(ValueError, "X_val does not fit the model: x must have shape (N, 3), got (4, 5)",
            nb.fit, model, ce, opt, X, y, X_val=np.ones((4, 5)), y_val=y[:4], **kw)


def test_predict_and_accuracy_refusals(setup):
    model = setup[0]
    _raises(ValueError, "X does not fit the model: x must have shape (N, 3), got (4, 5)",
            nb.predict, model, np.ones((4, 5)))
    _raises(TypeError, "X must have a float dtype, got int64",
            nb.predict, model, np.ones((4, 3), dtype=np.int64))
    _raises(TypeError, "target must be a torch array like output, got a numpy array; "
            "put both on one backend with Backend.asarray",
            nb.accuracy, torch.ones(3, 2), np.zeros(3, dtype=np.int64))
    _raises(ValueError, "nesterov=True needs a momentum > 0",
            nb.SGD, model.parameters(), lr=0.1, nesterov=True)


class _Refuses(Module):
    """A layer whose forward raises the TypeError that a wrongly typed input would."""

    def forward(self, x):
        raise TypeError("cannot multiply")

    def backward(self, dout, input_grad=True):
        return dout


def test_an_error_inside_the_forward_pass_keeps_its_type_and_gets_the_argument_name():
    _raises(TypeError, "X does not fit the model: cannot multiply",
            nb.predict, nb.Sequential(_Refuses()), np.ones((2, 3)))


@pytest.mark.parametrize(("loss", "targets", "records_accuracy"), [
    ("bce", lambda y: y.astype(float), True),                 # (N,) 0/1 targets
    ("bce", lambda y: y[:, None].astype(float), True),        # (N, 1)
    ("bce", lambda y: np.eye(2)[y], False),                   # (N, 2) multi-label: no accuracy
    ("mse", lambda y: y.astype(float), False),                # regression
    ("ce", lambda y: y, True),
])
def test_the_default_metric_follows_the_loss_and_the_target_shape(loss, targets, records_accuracy):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), rng.integers(0, 2, 12)
    t = targets(y)
    out = 2 if loss == "ce" else (t.shape[1] if t.ndim == 2 else 1)
    loss_fn = {"bce": nb.BCEWithLogitsLoss(), "mse": nb.MSELoss(), "ce": nb.CrossEntropyLoss()}[loss]
    if out == 1 and t.ndim == 1 and loss != "ce":
        model = nb.Sequential(nb.mlp([3, 4, 1], rng=rng), _Squeeze())
    else:
        model = nb.mlp([3, 4, out], rng=rng)
    hist = nb.fit(model, loss_fn, nb.SGD(model.parameters(), lr=0.1), X, t, epochs=2, batch_size=4,
                  rng=rng, X_val=X, y_val=t)
    assert len(hist.val_loss) == 2
    assert len(hist.val_acc) == (2 if records_accuracy else 0)
    assert hist.val_metric == []


class _Squeeze(Module):
    """(N, 1) -> (N,), for losses on 1-D targets."""

    def forward(self, x):
        return x[:, 0]

    def backward(self, dout, input_grad=True):
        return dout[:, None]


def test_zero_grad_forgets_every_gradient(setup):
    model, X, y, opt = setup
    nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=5, rng=np.random.default_rng(2))
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("output", [torch.zeros(3, 2, dtype=torch.float64),    # class scores
                                    torch.zeros(3, 1, dtype=torch.float64),    # binary logits
                                    torch.zeros(3, dtype=torch.float64)])
def test_accuracy_names_both_arguments_when_their_backends_differ(output):
    target = np.zeros(tuple(output.shape[:1]) if output.shape[-1:] == (2,) else tuple(output.shape))
    with pytest.raises(TypeError, match=r"^target must be a torch array like output, got a numpy "
                                        r"array; put both on one backend with Backend\.asarray$"):
        nb.optim.accuracy(output, target.astype(int))


@pytest.mark.parametrize("where, bad, error, message", [
    ("X", lambda X: X[:, :1], ValueError,
     r"^X does not fit the model: x must have shape \(N, 2\), got \(6, 1\)$"),
    ("X_val", lambda X: X[:, :1], ValueError,
     r"^X_val does not fit the model: x must have shape \(N, 2\), got \(6, 1\)$"),
    ("X_val", torch.from_numpy, TypeError,
     r"^X_val is a torch array but the model lives on numpy:cpu:float64; convert it with "
     r"model\.backend\.asarray\(X_val\)$"),
])
def test_fit_names_the_input_that_does_not_fit(where, bad, error, message):
    rng = np.random.default_rng(0)
    model = nb.layers.mlp([2, 3, 2], rng=np.random.default_rng(0))
    X, y = rng.normal(size=(6, 2)), np.array([0, 1, 0, 1, 0, 1])
    data = {"X": X, "X_val": X} | {where: bad(X)}
    with pytest.raises(error, match=message):
        nb.optim.fit(model, nb.losses.CrossEntropyLoss(), nb.optim.SGD(model.parameters(), lr=0.1),
                     data["X"], y, epochs=1, batch_size=2, rng=np.random.default_rng(0),
                     X_val=data["X_val"], y_val=y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_momentum_velocity_keeps_the_parameters_dtype(dtype):
    """The first momentum step copies the gradient in the parameter's dtype: a float32 model
    keeps a float32 velocity, and the velocity is a copy, not the gradient itself."""
    model = nb.layers.Linear(3, 2, rng=np.random.default_rng(0),
                             backend=nb.Backend("numpy", dtype=np.dtype(dtype).name))
    opt = nb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    for p, state in zip(model.parameters(), opt.state, strict=True):
        assert state["velocity"].dtype == np.dtype(dtype)
        assert state["velocity"] is not p.grad


class _BreaksAfterTraining(nb.layers.Linear):
    """A layer whose evaluation fails once it has trained (as a model can, mid-run)."""

    trained = False

    def forward(self, x):
        if self.training:
            self.trained = True
        elif self.trained:
            raise ValueError("broken after training")
        return super().forward(x)


def test_fit_names_the_validation_set_when_its_evaluation_fails():
    model = _BreaksAfterTraining(3, 2, rng=np.random.default_rng(0))
    X, y = np.zeros((2, 3)), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match=r"^X_val does not fit the model: broken after training$"):
        nb.optim.fit(model, nb.losses.CrossEntropyLoss(), nb.optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=1, batch_size=2, rng=np.random.default_rng(0), X_val=X, y_val=y)
