"""The training loop keeps a GPU busy: no step reads a value back to the host.

``train_epoch`` is the inner loop of ``fit``. On every backend it returns the summed
loss that ``fit`` records; on CUDA (run where a GPU exists) it is run under
``torch.cuda.set_sync_debug_mode("error")``, which raises at the first operation that
makes the host wait for the device (``.item()``, ``float()``, a copy to the host,
data-dependent shapes).
"""

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook.optim import train_epoch


def _problem(backend, n=96):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return backend.asarray(X), backend.asarray(y, dtype=None)


def test_train_epoch_returns_the_loss_fit_records(backend):
    X, y = _problem(backend)
    losses = []
    for run in ("fit", "train_epoch"):
        model = nb.mlp([5, 8, 3], rng=np.random.default_rng(1), backend=backend)
        opt = nb.SGD(model.parameters(), lr=0.1, momentum=0.9)
        if run == "fit":
            hist = nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=32,
                          rng=np.random.default_rng(2))
            losses.append(hist.loss[0])
        else:
            perm = backend.asarray(np.random.default_rng(2).permutation(X.shape[0]))
            xp = backend.xp
            total = train_epoch(model, nb.CrossEntropyLoss(), opt, xp.take(X, perm, axis=0),
                                xp.take(y, perm, axis=0), 32)
            losses.append(float(total) / X.shape[0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    assert losses[0] == pytest.approx(np.log(3), abs=0.3)     # near chance after one epoch


def _optimizers(params):
    return {
        "sgd-momentum": nb.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
        "adam": nb.adaptive.Adam(params, lr=1e-3),
        "adamw": nb.adaptive.AdamW(params, lr=1e-3),
        "rmsprop": nb.adaptive.RMSprop(params, lr=1e-3),
        "adagrad": nb.adaptive.Adagrad(params, lr=1e-2),
    }


def _model(backend, norm):
    rng = np.random.default_rng(1)
    if norm != "dropout":
        return nb.mlp([5, 64, 64, 3], rng=rng, backend=backend, norm=norm)
    return nb.Sequential(nb.Linear(5, 64, rng=rng, backend=backend), nb.ReLU(),
                         nb.dropout.Dropout(0.5, rng=rng, backend=backend),
                         nb.Linear(64, 3, rng=rng, backend=backend))


@pytest.mark.parametrize("norm", [None, "batch", "layer", "dropout"])
def test_every_model_of_the_cuda_test_trains_on_the_cpu(norm):
    backend = nb.Backend("torch", "cpu", "float32")
    X, y = _problem(backend, n=256)
    model = _model(backend, norm)
    opt = _optimizers(model.parameters())["adam"]
    total = train_epoch(model, nb.CrossEntropyLoss(), opt, X, y, 64,
                        nb.schedules.StepLR(opt, step_size=2, gamma=0.5))
    assert 0.5 < float(total) / 256 < 2.0


CUDA = torch.cuda.is_available()


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (runs on the GPU machine)")
@pytest.mark.parametrize("name", ["sgd-momentum", "adam", "adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("norm", [None, "batch", "layer", "dropout"])
def test_cuda_training_steps_never_wait_for_the_host(name, norm):
    backend = nb.Backend("torch", "cuda", "float32")
    X, y = _problem(backend, n=256)
    model = _model(backend, norm)
    opt = _optimizers(model.parameters())[name]
    scheduler = nb.schedules.StepLR(opt, step_size=2, gamma=0.5)
    loss_fn = nb.CrossEntropyLoss()
    train_epoch(model, loss_fn, opt, X, y, 64, scheduler)     # lazily created state
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        total = train_epoch(model, loss_fn, opt, X, y, 64, scheduler)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert total.device.type == "cuda"
    assert np.isfinite(float(total))
