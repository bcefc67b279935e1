"""The linear-scaling rule and training to a target accuracy."""

import re

import numpy as np
import pytest
from conftest import whole

import nnbook as nb
from nnbook import batch_scaling as bs


def test_scaled_lr_is_linear_and_capped():
    assert bs.scaled_lr(0.1, 256, 2048) == pytest.approx(0.8)
    assert bs.scaled_lr(0.1, 256, 128) == pytest.approx(0.05)
    assert bs.scaled_lr(0.05, 32, 1438, max_factor=16) == pytest.approx(0.8)


@pytest.mark.parametrize("args, message", [
    ((0.0, 32, 64), "base_lr must be a positive number, got 0.0"),
    ((0.1, 0, 64), "base_batch must be"),
    ((0.1, 32, 64, 0.5), "max_factor must lie in [1, inf), got 0.5"),
])
def test_scaled_lr_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        bs.scaled_lr(*args)


def test_epochs_to_counts_from_one():
    assert bs.epochs_to([0.5, 0.94, 0.95, 0.99], 0.95) == 3
    assert bs.epochs_to([0.5, 0.6], 0.95) is None


def _setup(seed=0):
    d = nb.data.digits(rng=np.random.default_rng(0))
    model = nb.mlp([64, 32, 10], rng=np.random.default_rng(seed))
    return d, model, nb.SGD(model.parameters(), lr=0.05, momentum=0.9)


def test_accuracy_curve_equals_fit():
    """Same permutations, same steps: the curve of nnbook.fit."""
    d, model, opt = _setup()
    acc, losses = bs.accuracy_curve(model, nb.CrossEntropyLoss(), opt, d.X_train, d.y_train,
                                    d.X_test, d.y_test, batch_size=64, epochs=3,
                                    rng=np.random.default_rng(5))
    d, model2, opt2 = _setup()
    h = nb.fit(model2, nb.CrossEntropyLoss(), opt2, d.X_train, d.y_train, epochs=3, batch_size=64,
               rng=np.random.default_rng(5), X_val=d.X_test, y_val=d.y_test)
    np.testing.assert_allclose(acc, h.val_acc, rtol=0, atol=1e-12)
    steps = -(-d.X_train.shape[0] // 64)
    assert losses.shape == (3 * steps,)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def test_accuracy_curve_stops_at_the_target():
    d, model, opt = _setup()
    acc, _ = bs.accuracy_curve(model, nb.CrossEntropyLoss(), opt, d.X_train, d.y_train, d.X_test,
                               d.y_test, batch_size=32, epochs=30, rng=np.random.default_rng(1),
                               stop_at=0.9)
    assert acc[-1] >= 0.9 and np.all(acc[:-1] < 0.9)


def test_scaled_lr_accepts_batches_of_one():
    assert bs.scaled_lr(0.1, 1, 4) == pytest.approx(0.4)
    assert bs.scaled_lr(0.1, 2, 1) == pytest.approx(0.05)
    assert bs.scaled_lr(0.1, 1, 1) == pytest.approx(0.1)


@pytest.mark.parametrize("args, exc, message", [
    ((0.1, 0, 64), ValueError, "base_batch must be a positive int, got 0"),
    ((0.1, 32, 0), ValueError, "batch must be a positive int, got 0"),
    ((0.1, 32, -4), ValueError, "batch must be a positive int, got -4"),
    ((0.1, 32, 2.0), TypeError, "batch must be a positive int, got 2.0 of type float"),
    ((0.1, 32.0, 64), TypeError, "base_batch must be a positive int, got 32.0 of type float"),
])
def test_scaled_lr_refuses_bad_batch_sizes_with_the_whole_message(args, exc, message):
    with pytest.raises(exc, match=whole(message)):
        bs.scaled_lr(*args)


def _tiny(seed=0):
    """Six 4-d points in three classes and a small MLP: a cheap model to train."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    model = nb.mlp([4, 5, 3], rng=np.random.default_rng(seed + 1))
    return X, y, model, nb.SGD(model.parameters(), lr=0.1)


def _curve(model, opt, X, y, **kw):
    return bs.accuracy_curve(model, nb.CrossEntropyLoss(), opt, X, y, X, y, **kw)


@pytest.mark.parametrize("kw, exc, message", [
    (dict(batch_size=0, epochs=1), ValueError, "batch_size must be a positive int, got 0"),
    (dict(batch_size=2.0, epochs=1), TypeError,
     "batch_size must be a positive int, got 2.0 of type float"),
    (dict(batch_size=2, epochs=0), ValueError, "epochs must be a positive int, got 0"),
    (dict(batch_size=2, epochs=-1), ValueError, "epochs must be a positive int, got -1"),
    (dict(batch_size=2, epochs="3"), TypeError, "epochs must be a positive int, got '3' of type str"),
])
def test_accuracy_curve_refuses_bad_sizes_with_the_whole_message(kw, exc, message):
    X, y, model, opt = _tiny()
    with pytest.raises(exc, match=whole(message)):
        _curve(model, opt, X, y, rng=np.random.default_rng(0), **kw)


def test_accuracy_curve_with_batches_of_one_and_a_single_epoch():
    X, y, model, opt = _tiny()
    acc, losses = _curve(model, opt, X, y, batch_size=1, epochs=1, rng=np.random.default_rng(0))
    assert acc.shape == (1,) and losses.shape == (6,)


def test_accuracy_curve_steps_the_scheduler_after_every_optimiser_step():
    X, y, model, opt = _tiny()
    sched = nb.schedules.ExponentialLR(opt, gamma=0.5)
    _, losses = _curve(model, opt, X, y, batch_size=4, epochs=3, rng=np.random.default_rng(0),
                       scheduler=sched)
    assert losses.shape == (6,)                  # 2 steps per epoch (4 + 2 samples), 3 epochs
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 6)
    X, y, model2, opt2 = _tiny()
    nb.fit(model2, nb.CrossEntropyLoss(), opt2, X, y, epochs=3, batch_size=4,
           rng=np.random.default_rng(0), scheduler=nb.schedules.ExponentialLR(opt2, 0.5))
    assert opt2.lr == pytest.approx(opt.lr)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def test_accuracy_curve_stops_when_the_accuracy_equals_the_target():
    """Reaching the target exactly counts: the run stops after that epoch."""
    X, y, model, opt = _tiny()
    first, _ = _curve(model, opt, X, y, batch_size=2, epochs=1, rng=np.random.default_rng(3))
    X, y, model, opt = _tiny()
    acc, losses = _curve(model, opt, X, y, batch_size=2, epochs=4, rng=np.random.default_rng(3),
                         stop_at=float(first[0]))
    assert acc.tolist() == [first[0]] and losses.shape == (3,)
