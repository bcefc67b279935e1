r"""The learning-rate range test: one short run with a growing rate, read off a curve.

Smith (2017) proposed to find usable learning rates before training: train for a
few epochs while the rate grows linearly from small to large, plot the accuracy
against the rate, and read off where it starts to rise and where it stops rising
(the two bounds of a cyclical schedule). The variant here, that of the fastai
library's learning-rate finder (Howard and Gugger, 2020), is shorter and reads the
training loss: a hundred or so minibatch steps while the rate grows from far too
small to far too large. Read from left to right, the curve is flat (the rate is too
small to move anything), then falls (the rate is useful), then turns up and
explodes (the rate is too large: the steps overshoot). The rate grows
geometrically, so that every decade gets the same number of steps,

.. math::
    \eta_k = \eta_{\min} \Big(\frac{\eta_{\max}}{\eta_{\min}}\Big)^{k/(K-1)},
    \qquad k = 0, \dots, K-1,

and the loss of each step is smoothed by an exponential moving average with
bias correction (the loss of one minibatch is noisy),

.. math::
    m_k = \beta m_{k-1} + (1-\beta) L_k, \qquad \bar L_k = m_k / (1 - \beta^{k+1}).

The run stops once :math:`\bar L_k` exceeds ``diverge`` times its smallest value.
:func:`suggest_lr` then applies a stated rule to the curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import check_int, check_real, check_rng
from .layers import Module
from .optim import SGD, _check_set, _check_targets

__all__ = ["LRRangeTest", "lr_range_test", "suggest_lr"]


@dataclass
class LRRangeTest:
    """The record of a range test; all arrays have one entry per step taken.

    Attributes
    ----------
    lrs : (K,) the learning rate of each step
    losses : (K,) the minibatch loss of each step, before its update
    smoothed : (K,) the bias-corrected moving average of ``losses``
    diverged : bool, whether the run stopped early because the loss exploded
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    diverged: bool


def _snapshot(model: Module) -> list:
    xp = model.backend.xp
    return [xp.asarray(p.data, copy=True) for p in model.parameters()]


def _restore(model: Module, saved: list):
    for p, s in zip(model.parameters(), saved, strict=True):
        p.data[...] = s


def lr_range_test(model: Module, loss_fn, X, y, *, rng, lr_min: float = 1e-5,
                  lr_max: float = 10.0, steps: int = 100, batch_size: int = 32,
                  momentum: float = 0.9, beta: float = 0.9,
                  diverge: float = 4.0) -> LRRangeTest:
    r"""Train ``model`` for up to ``steps`` minibatch steps with a geometrically growing rate.

    The model is trained by :class:`~nnbook.optim.SGD` with ``momentum``, on
    minibatches drawn in order from fresh random permutations of ``(X, y)``; its
    parameters are put back as they were at the end, so the test can be run
    before the real training.

    Parameters
    ----------
    model : Module
    loss_fn : an nnbook loss (e.g. ``CrossEntropyLoss()``)
    X : (N, D) array on the model's backend; y : its targets
    rng : numpy.random.Generator
        Draws the permutations.
    lr_min, lr_max : float, 0 < lr_min < lr_max
    steps : int >= 2
    batch_size : int >= 1
    momentum : float in [0, 1)
    beta : float in [0, 1)
        Smoothing of the loss (0: none).
    diverge : float > 1
        Stop once the smoothed loss exceeds ``diverge`` times its minimum, or is
        not finite.

    Returns
    -------
    LRRangeTest

    Raises
    ------
    TypeError, ValueError
        For a model that is not an nnbook Module, data that do not fit it, or an
        argument out of its range, naming it.

    References
    ----------
    L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017.
    J. Howard and S. Gugger, "Fastai: a layered API for deep learning",
    Information 11(2), 108, 2020.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnbook Module, got {type(model).__name__}")
    xp = _check_set(model, X, y, "X", "y")
    check_rng(rng)
    lr_min = check_real(lr_min, "lr_min", 0, low_open=True)
    lr_max = check_real(lr_max, "lr_max", 0, low_open=True)
    if not lr_max > lr_min:
        raise ValueError(f"lr_max must be larger than lr_min = {lr_min:g}, got {lr_max:g}")
    steps = check_int(steps, "steps", minimum=2)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    beta = check_real(beta, "beta", 0, 1, high_open=True)
    diverge = check_real(diverge, "diverge", 1, low_open=True)
    _check_targets(model, loss_fn, X, y, "X", "y")
    lrs = np.geomspace(lr_min, lr_max, steps)     # exact ends, no overflow for any range
    saved = _snapshot(model)
    opt = SGD(model.parameters(), lr=float(lrs[0]), momentum=momentum)
    n, bk = X.shape[0], model.backend
    losses, smoothed, avg, best, diverged = [], [], 0.0, np.inf, False
    model.train()
    order, pos = None, n
    try:
        for k in range(steps):
            if pos + batch_size > n:                   # a fresh permutation when one runs out
                order, pos = bk.asarray(rng.permutation(n)), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            xb, yb = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
            opt.lr = float(lrs[k])
            loss = float(loss_fn.forward(model.forward(xb), yb, validate=False))
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
            avg = beta * avg + (1 - beta) * loss        # m_k, then the bias correction
            smooth = avg / (1 - beta ** (k + 1))
            losses.append(loss)
            smoothed.append(smooth)
            best = min(best, smooth)
            if not np.isfinite(smooth) or smooth > diverge * best:
                diverged = True
                break
    finally:
        _restore(model, saved)
        model.zero_grad()
    m = len(losses)
    return LRRangeTest(lrs=lrs[:m].copy(), losses=np.array(losses),
                       smoothed=np.array(smoothed), diverged=diverged)


RULES = ("min/10", "steepest")


def suggest_lr(result: LRRangeTest, rule: str = "min/10") -> float:
    r"""A learning rate read from a range test by a stated rule.

    * ``"min/10"``: one decade below the rate at which the smoothed loss is
      smallest. At the minimum the rate is already about as large as it can be
      before the loss turns up; a tenth of it is safely on the falling part.
    * ``"steepest"``: the rate at which the smoothed loss falls fastest per
      decade, :math:`\arg\min_k \mathrm{d}\bar L/\mathrm{d}\log_{10}\eta` (by
      central differences, :func:`numpy.gradient`), among the steps up to the
      minimum.

    Parameters
    ----------
    result : LRRangeTest
    rule : {"min/10", "steepest"}

    Returns
    -------
    float
    """
    if not isinstance(result, LRRangeTest):
        raise TypeError(f"result must be an LRRangeTest (from lr_range_test), "
                        f"got {type(result).__name__}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if len(result.smoothed) < 3:
        raise ValueError(f"result must hold at least 3 steps, got {len(result.smoothed)}")
    s = np.where(np.isfinite(result.smoothed), result.smoothed, np.inf)
    k_min = int(np.argmin(s))
    if rule == "min/10":
        return float(result.lrs[k_min] / 10)
    upto = max(k_min + 1, 3)
    slope = np.gradient(s[:upto], np.log10(result.lrs[:upto]))
    return float(result.lrs[int(np.argmin(slope))])
