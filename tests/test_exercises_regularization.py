"""The checks of the dropout chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

from nnbook.exercises import regularization as ex
from nnbook.regularization import EarlyStopping

PLACEHOLDER = ("NotImplementedError()` with your code, then run this cell again.")


# ---------------------------------------------------------------- dropout forward

def drop_right(x, p, u):
    return np.zeros_like(x) if p == 1 else x * (u >= p) / (1 - p)


def drop_torch(x, p, u):
    """torch's functional dropout, fed the same mask through its own formula."""
    xt = torch.as_tensor(x)
    keep = torch.as_tensor(u >= p)
    return torch.where(keep, xt / (1 - p), torch.zeros_like(xt)) if p < 1 else 0 * xt


@pytest.mark.parametrize("fn", [drop_right, drop_torch])
def test_dropout_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_dropout_forward, fn, capsys)
    assert result and message == "✓ ex-dropout-forward: all 5 cases pass."


def test_dropout_placeholder(capsys):
    result, message = _verdict(ex.check_dropout_forward, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-dropout-forward: not answered yet. Replace `raise " + PLACEHOLDER)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, p, u: x * (u >= p),
     "kept units are not rescaled: inverted dropout divides them by 1 - p, so that the "
     "expected output equals x."),
    (lambda x, p, u: x * (u >= p) * (1 - p),
     "kept units are multiplied by 1 - p; inverted dropout divides by 1 - p (multiplying by "
     "1 - p is what the original convention does at test time, not in training)."),
    (lambda x, p, u: x * (u < p) / p,
     "p is used as the keep probability; in this book p is the probability of dropping a "
     "unit: keep where u >= p."),
])
def test_dropout_wrong_answers_are_diagnosed(wrong, hint, capsys):
    result, message = _verdict(ex.check_dropout_forward, wrong, capsys)
    assert not result
    assert message.startswith("✗ ex-dropout-forward, case 1 of 5 (x (4, 5), p = 0.5): "
                              "the output has wrong values.\n  First wrong entry at index ")
    assert message.endswith("\n  It looks as if " + hint)


def test_dropout_division_by_zero_at_p_one(capsys):
    def naive(x, p, u):
        with np.errstate(divide="ignore", invalid="ignore"):
            return x * (u >= p) / (1 - p)

    result, message = _verdict(ex.check_dropout_forward, naive, capsys)
    assert not result
    assert message.startswith("✗ ex-dropout-forward, case 5 of 5 (p = 1: every unit is "
                              "dropped, the output is 0): the output has wrong values.")
    assert message.endswith("\n  Hint: 1/(1 - p) is infinite at p = 1: return zeros there, "
                            "as PyTorch does.")


# ---------------------------------------------------------------- early stopping

def early_right(val_losses, patience):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def early_with_nnbook(val_losses, patience):
    """The same rule through nnbook's EarlyStopping callback, fed the losses."""
    class Losses:
        values = iter(val_losses)

        def forward(self, out, y):
            return next(self.values)

    import nnbook as nb
    net = nb.mlp([1, 1], rng=np.random.default_rng(0))
    stopper = EarlyStopping(np.zeros((1, 1)), np.zeros((1, 1)), Losses(), patience=patience)
    for epoch in range(1, len(val_losses) + 1):
        stopper(epoch, net)
        if stopper.should_stop:
            return stopper.best_epoch, epoch
    return stopper.best_epoch, len(val_losses)


@pytest.mark.parametrize("fn", [early_right, early_with_nnbook])
def test_early_stopping_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_early_stopping, fn, capsys)
    assert result and message == "✓ ex-dropout-early-stopping: all 6 cases pass."


def test_early_stopping_placeholder(capsys):
    result, message = _verdict(ex.check_early_stopping, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-dropout-early-stopping: not answered yet. Replace `raise "
                       + PLACEHOLDER)


def _zero_based(val_losses, patience):
    b, s = early_right(val_losses, patience)
    return b - 1, s - 1


def _ties(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best, be = loss, e
        elif e - be >= patience:
            return be, e
    return be, len(val_losses)


def _late(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, be = loss, e
        elif e - be > patience:
            return be, e
    return be, len(val_losses)


def _early(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, be = loss, e
        elif e - be >= patience - 1:
            return be, e
    return be, len(val_losses)


def _global_min(val_losses, patience):
    """The best epoch of the whole list, and a stop `patience` epochs after it."""
    best = int(np.argmin(val_losses)) + 1
    return best, min(best + patience, len(val_losses))


FIRST = "1 of 6 (losses [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 2], patience 3)"
GLOBAL = ("the best epoch is taken over all the losses (epoch 8), including those after the "
          "stop, which early stopping never sees.")


@pytest.mark.parametrize("wrong, case, hint", [
    (_zero_based, FIRST,
     "the epochs are counted from 0; count them from 1 (epoch 1 is the first pass over the "
     "data)."),
    (_late, FIRST,
     "training stops one epoch late: stop as soon as `patience` epochs in a row have not "
     "improved (epoch - best_epoch >= patience)."),
    (_early, FIRST,
     "training stops one epoch early: it should wait until `patience` epochs in a row have "
     "not improved (epoch - best_epoch >= patience), not patience - 1."),
    (_ties, "4 of 6 (a tie with the best is no improvement)",
     "a loss equal to the best counts as an improvement; only a strictly lower loss should."),
    (lambda v, p: (int(np.argmin(v)) + 1, early_right(v, p)[1]), FIRST, GLOBAL),
    (_global_min, FIRST, GLOBAL),
])
def test_early_stopping_wrong_answers_are_diagnosed(wrong, case, hint, capsys):
    result, message = _verdict(ex.check_early_stopping, wrong, capsys)
    assert not result
    assert message.startswith(f"✗ ex-dropout-early-stopping, case {case}: ")
    assert re.search(r"\(best_epoch, stop_epoch\)", message)
    assert "\n  It looks as if " + hint + "\n" in message + "\n"


def test_early_stopping_wrong_type(capsys):
    result, message = _verdict(ex.check_early_stopping, lambda v, p: 3, capsys)
    assert not result
    assert message == ("✗ ex-dropout-early-stopping, case " + FIRST + ": (best_epoch, "
                       "stop_epoch) should be a tuple of 2 values, received int.\n  Hint: the "
                       "best epoch is 3; epochs 4, 5 and 6 bring no improvement, so training "
                       "stops at 6 and never sees the 2 of epoch 8.")
