r"""Checks for the code exercises of the chapter on dropout and regularization.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with nnbook's reference (:mod:`nnbook.dropout`,
:mod:`nnbook.regularization`), prints a verdict and returns a
:class:`~nnbook.exercises.feedback.CheckResult`. Where a wrong answer has a
recognisable cause (no rescaling, ``p`` read as the keep probability, epochs
counted from 0, patience off by one) the message names it.

Examples
--------
>>> import numpy as np
>>> def drop(x, p, u):
...     keep = u >= p
...     return np.zeros_like(x) if p == 1 else x * keep / (1 - p)
>>> _ = check_dropout_forward(drop)
✓ ex-dropout-forward: all 6 cases pass.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from ..dropout import dropout_forward
from .feedback import Case, compare, run_check

__all__ = ["check_dropout_forward", "check_early_stopping"]


class _Diagnosed:
    """A wrong result together with the recognised cause."""

    def __init__(self, value, hint):
        self.value, self.hint = value, hint


def _compare_with_diagnosis(name):
    def compare_fn(got, expected):
        value = got.value if isinstance(got, _Diagnosed) else got
        try:
            compare(value, expected, rtol=1e-9, atol=1e-12, name=name)
        except Exception as err:
            extra = f"\n  It looks as if {got.hint}" if isinstance(got, _Diagnosed) else ""
            raise AssertionError(f"{err}{extra}") from None
    return compare_fn


# ---------------------------------------------------------------- dropout forward

def _ref_dropout(x, p, u):
    return dropout_forward(x, p, mask=u >= p)[0]


def _dropout_cases():
    rng = np.random.default_rng(0)
    x1, u1 = rng.normal(size=(4, 5)), rng.random((4, 5))
    x2, u2 = rng.normal(size=(3, 6)), rng.random((3, 6))
    x3, u3 = rng.normal(size=(2, 3)), rng.random((2, 3))
    return [
        Case("x (4, 5), p = 0.5", (x1, 0.5, u1)),
        Case("x (3, 6), p = 0.2", (x2, 0.2, u2),
             hint="with p = 0.2 most units are kept, each scaled by 1/0.8 = 1.25."),
        Case("x (3, 6), p = 0.8", (x2, 0.8, u2)),
        Case("p = 0: nothing is dropped, the output is x", (x3, 0.0, u3)),
        Case("p = 1: every unit is dropped, the output is 0", (x3, 1.0, u3),
             hint="1/(1 - p) is infinite at p = 1: return zeros there, as PyTorch does."),
        Case("p = 0.5 with u exactly 0.5 at three units: those are kept",
             (np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]), 0.5,
              np.array([[0.5, 0.2, 0.5], [0.9, 0.5, 0.1]])),
             hint="a unit is kept where u >= p, so u = p keeps it (not u > p)."),
    ]


def _dropout_diagnosis(got, x, p, u):
    keep = u >= p
    with np.errstate(divide="ignore", invalid="ignore"):
        known = [
            (x * keep, "kept units are not rescaled: inverted dropout divides them by "
                       "1 - p, so that the expected output equals x."),
            (x * keep * (1 - p), "kept units are multiplied by 1 - p; inverted dropout "
                                 "divides by 1 - p (multiplying by 1 - p is what the "
                                 "original convention does at test time, not in training)."),
            (x * (u < p) / p, "p is used as the keep probability; in this book p is the "
                              "probability of dropping a unit: keep where u >= p."),
            (x * (u < 1 - p) / (1 - p), "units are kept where u < 1 - p: that keeps the right "
                                        "share, but not the mask asked for (keep where u >= p)."),
        ]
    for candidate, message in known:
        if got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-9, atol=1e-12):
            return message
    return ""


def check_dropout_forward(dropout_fn):
    r"""Check ``dropout(x, p, u) -> out``: inverted dropout with the uniforms ``u``.

    ``x`` and ``u`` have the same shape, ``u`` uniform in [0, 1); unit ``i`` is
    kept where ``u[i] >= p`` (``p`` is the drop probability) and the output is
    :math:`x \odot m / (1 - p)`, zeros for ``p = 1``.
    """
    def student(x, p, u):
        out = dropout_fn(x, p, u)
        try:
            got = np.asarray(to_numpy(out), dtype=float)
        except (TypeError, ValueError):
            return out
        ref = _ref_dropout(x, p, u)
        if got.shape == ref.shape and not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
            hint = _dropout_diagnosis(got, x, p, u)
            if hint:
                return _Diagnosed(out, hint)
        return out

    return run_check("ex-dropout-forward", student, _ref_dropout, _dropout_cases(),
                     compare_fn=_compare_with_diagnosis("the output"))


# ---------------------------------------------------------------- early stopping

def _ref_early_stopping(val_losses, patience):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def _early_cases():
    return [
        # First, so that its two classic slips fail here with different answers: the
        # global minimum (epoch 8) versus stopping one epoch late (3, 7) or early (3, 5).
        Case("losses [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 2], patience 3",
             ([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 2.0], 3),
             hint="the best epoch is 3; epochs 4, 5 and 6 bring no improvement, so training "
                  "stops at 6 and never sees the 2 of epoch 8."),
        Case("losses [5, 4, 3, 3.5, 3.6, 3.7, 2], patience 3",
             ([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 2.0], 3),
             hint="after the best epoch 3, epochs 4, 5 and 6 bring no improvement: stop at 6."),
        Case("a loss that keeps falling: never stops early", ([4.0, 3.0, 2.0, 1.0], 2)),
        Case("a tie with the best is no improvement", ([2.0, 1.0, 1.0, 1.0, 0.5], 2),
             hint="1.0 after 1.0 does not improve: only a strictly lower loss does."),
        Case("patience 1 stops at the first epoch without improvement",
             ([3.0, 2.0, 2.5, 1.0], 1)),
        Case("the best epoch is the first one", ([1.0, 2.0, 3.0, 4.0, 5.0, 0.1], 4)),
    ]


def _early_diagnosis(got, val_losses, patience):
    b, s = _ref_early_stopping(val_losses, patience)
    losses = list(val_losses)

    def with_ties():
        best, be = float("inf"), 0
        for e, loss in enumerate(losses, start=1):
            if loss <= best:
                best, be = loss, e
            elif e - be >= patience:
                return be, e
        return be, len(losses)

    def late_by_one():
        best, be = float("inf"), 0
        for e, loss in enumerate(losses, start=1):
            if loss < best:
                best, be = loss, e
            elif e - be > patience:
                return be, e
        return be, len(losses)

    def early_by_one():
        best, be = float("inf"), 0
        for e, loss in enumerate(losses, start=1):
            if loss < best:
                best, be = loss, e
            elif e - be >= patience - 1:
                return be, e
        return be, len(losses)

    known = [
        ((b - 1, s - 1), "the epochs are counted from 0; count them from 1 (epoch 1 is the "
                         "first pass over the data)."),
        (with_ties(), "a loss equal to the best counts as an improvement; only a strictly "
                      "lower loss should."),
        (late_by_one(), "training stops one epoch late: stop as soon as `patience` epochs in a "
                        "row have not improved (epoch - best_epoch >= patience)."),
        (early_by_one(), "training stops one epoch early: it should wait until `patience` "
                         "epochs in a row have not improved (epoch - best_epoch >= patience), "
                         "not patience - 1."),
    ]
    for candidate, message in known:
        if tuple(got) == tuple(candidate) and tuple(candidate) != (b, s):
            return message
    best_anywhere = int(np.argmin(losses)) + 1
    if got[0] == best_anywhere != b:
        return (f"the best epoch is taken over all the losses (epoch {best_anywhere}), "
                "including those after the stop, which early stopping never sees.")
    return ""


def check_early_stopping(early_stopping_fn):
    """Check ``early_stopping(val_losses, patience) -> (best_epoch, stop_epoch)``.

    Epochs count from 1. An epoch improves when its loss is strictly below the
    best so far; training stops at the first epoch that is ``patience`` epochs
    after the best one without an improvement in between, or at the last epoch.
    ``best_epoch`` is the epoch whose weights early stopping restores.
    """
    def student(val_losses, patience):
        out = early_stopping_fn(val_losses, patience)
        try:
            pair = tuple(int(v) for v in out)
        except (TypeError, ValueError):
            return out
        if len(pair) == 2 and pair != _ref_early_stopping(val_losses, patience):
            hint = _early_diagnosis(pair, val_losses, patience)
            if hint:
                return _Diagnosed(pair, hint)
        return pair if len(pair) == 2 else out

    return run_check("ex-dropout-early-stopping", student, _ref_early_stopping, _early_cases(),
                     compare_fn=_compare_with_diagnosis("(best_epoch, stop_epoch)"))
