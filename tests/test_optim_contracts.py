"""fit, predict, accuracy and the optimisers: whole refusal messages, the default metric per
loss, and what zero_grad leaves behind (behaviour no other test pins down)."""

import re

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook.layers import Module


def _raises(exc, message, fn, *args, **kwargs):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        fn(*args, **kwargs)


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
