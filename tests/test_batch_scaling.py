"""The linear-scaling rule and training to a target accuracy."""

import re

import numpy as np
import pytest

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
