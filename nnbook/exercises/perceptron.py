r"""Checks for the code exercises of the chapter on perceptrons.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs
(edge cases included), compares with nnbook's reference, prints a verdict and
returns a :class:`~nnbook.exercises.feedback.CheckResult`.

Examples
--------
>>> import numpy as np
>>> def perceptron_update(w, phi, y, lr=1.0):
...     return w + lr * y * phi if y * (w @ phi) <= 0 else w
>>> _ = check_perceptron_update(perceptron_update)
✓ ex-perceptron-update: all 7 cases pass.
"""

from __future__ import annotations

import numpy as np

from ..perceptron import perceptron_epoch as _epoch
from .feedback import Case, run_check

__all__ = ["check_logistic_gradient", "check_perceptron_epoch", "check_perceptron_update"]


# ---- ex-perceptron-update: one step of Rosenblatt's rule ---------------------------------------

def _update_reference(w, phi, y, lr=1.0):
    w = np.asarray(w, dtype=float)
    return w + lr * y * phi if y * float(w @ phi) <= 0 else w.copy()


def _update_cases():
    phi = np.array([1.0, 2.0, -1.0])                  # (1, x1, x2): the bias feature first
    return [
        Case("a mistake: y = +1 but the score w.phi = -1.5 is negative",
             (np.array([0.5, -1.0, 0.0]), phi, 1.0)),
        Case("a correct sample: y = +1 and w.phi = 2.5 > 0, nothing should change",
             (np.array([0.5, 1.0, 0.0]), phi, 1.0),
             hint="a correctly classified sample leaves w as it is: the rule is mistake-driven."),
        Case("a mistake of the other class: y = -1 but w.phi = 2.5 > 0",
             (np.array([0.5, 1.0, 0.0]), phi, -1.0),
             hint="the update adds y phi: for y = -1 it subtracts phi."),
        Case("a correct sample of class -1: y = -1 and w.phi = -1.5 < 0",
             (np.array([0.5, -1.0, 0.0]), phi, -1.0)),
        Case("the start w = 0, where every score is exactly 0",
             (np.zeros(3), phi, 1.0),
             hint="a score of exactly 0 is a mistake (y w.phi <= 0), or the rule could never "
                  "leave w = 0."),
        Case("a step size lr = 0.5",
             (np.array([0.0, -1.0, 1.0]), phi, 1.0), {"lr": 0.5},
             hint="the step is lr * y * phi."),
        Case("a correct sample with a small margin: y = +1 and w.phi = 0.5 > 0",
             (np.array([0.5, 0.0, 0.0]), phi, 1.0),
             hint="any score of the right sign is correct, however small: the rule asks "
                  "for y w.phi > 0, not for a margin such as y w.phi > 1."),
    ]


def check_perceptron_update(perceptron_update):
    r"""Check ``perceptron_update(w, phi, y, lr=1.0)``: one step of Rosenblatt's rule.

    It returns the new weights, :math:`w + \eta\, y\, \phi` if the sample is a
    mistake (:math:`y\, w^\top\phi \le 0`), else ``w`` unchanged; ``w`` and ``phi``
    have shape (D,), ``y`` is -1 or +1.
    """
    return run_check("ex-perceptron-update", perceptron_update, _update_reference, _update_cases())


# ---- ex-perceptron-epoch: one pass over the data ----------------------------------------------

def _epoch_reference(X, y, w, lr=1.0):
    w_new, updated, _ = _epoch(X, y, np.asarray(w, dtype=float), lr, np.arange(X.shape[0]))
    return w_new, len(updated)


def _epoch_cases():
    # The XOR corners with the bias feature, labels -1/+1.
    X_xor = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    y_xor = np.array([-1.0, 1.0, 1.0, -1.0])
    # Two samples where the first update already fixes the second one.
    X_seq = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, -1.0, -2.0]])
    y_seq = np.array([1.0, 1.0, -1.0])
    rng = np.random.default_rng(7)
    X_rand = np.c_[np.ones(6), rng.standard_normal((6, 2))].round(2)
    y_rand = np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0])
    return [
        Case("the four XOR corners, starting from w = 0", (X_xor, y_xor, np.zeros(3)),
             hint="the result is a tuple (w, number of mistakes in this pass); a score of "
                  "exactly 0, as everywhere at w = 0, counts as a mistake."),
        Case("three samples, starting from w = 0: after the first update the second sample is "
             "already right", (X_seq, y_seq, np.zeros(3)),
             hint="visit the samples one by one and test each with the weights as they are "
                  "*now*, after the updates earlier in this pass (not the weights at the start "
                  "of the pass)."),
        Case("three samples that w = (0, 1, 1) already classifies correctly",
             (X_seq, y_seq, np.array([0.0, 1.0, 1.0])),
             hint="a pass without mistakes returns w unchanged and 0 mistakes."),
        Case("six random samples, w = (0.5, -1, 0.2), lr = 0.1",
             (X_rand, y_rand, np.array([0.5, -1.0, 0.2])), {"lr": 0.1},
             hint="each update is lr * y_n * phi_n."),
    ]


def check_perceptron_epoch(perceptron_epoch):
    r"""Check ``perceptron_epoch(X, y, w, lr=1.0) -> (w_new, mistakes)``: one pass in index order.

    ``X`` (N, D) holds the features :math:`\phi(x_n)` (bias column included), ``y``
    (N,) the labels -1/+1, ``w`` (D,) the weights at the start of the pass. The
    samples are visited in the order 0, 1, ..., N - 1, each tested with the current
    weights and, on a mistake, used for an update at once.
    """
    return run_check("ex-perceptron-epoch", perceptron_epoch, _epoch_reference, _epoch_cases())


# ---- ex-perceptron-logistic: the gradient of the logistic loss -------------------------------

def _logistic_reference(w, X, t):
    z = X @ w
    p = np.exp(-np.logaddexp(0.0, -z))                # sigma(z), without overflow
    return X.T @ (p - t) / X.shape[0]


def _logistic_cases():
    rng = np.random.default_rng(11)
    X = np.c_[np.ones(5), rng.standard_normal((5, 2))]
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    X_big = np.array([[1.0, 40.0], [1.0, -40.0], [1.0, 2.0]])
    return [
        Case("w = 0, where sigma(w.phi) = 1/2 for every sample", (np.zeros(3), X, t),
             hint="the targets t are 0 or 1 (not -1 and +1)."),
        Case("random weights, five samples", (np.array([0.3, -1.2, 0.8]), X, t),
             hint="the loss is the mean over the N samples."),
        Case("one sample", (np.array([0.3, -1.2, 0.8]), X[:1], t[:1])),
        Case("large scores w.phi = +-40 (sigma saturates)", (np.array([0.0, 1.0]), X_big,
                                                            np.array([1.0, 0.0, 0.0])),
             hint="compute sigma(z) = 1 / (1 + exp(-z)) without overflow, or with "
                  "np.exp(-np.logaddexp(0, -z))."),
    ]


def check_logistic_gradient(logistic_gradient):
    r"""Check ``logistic_gradient(w, X, t)``: the gradient of the mean logistic loss.

    .. math::
        L(w) = -\frac1N \sum_n \big[t_n \log\sigma(w^\top\phi_n)
               + (1 - t_n)\log(1 - \sigma(w^\top\phi_n))\big],
        \qquad \nabla L = \frac1N \sum_n (\sigma(w^\top\phi_n) - t_n)\,\phi_n,

    with ``w`` (D,), ``X`` (N, D) the features (bias column included) and ``t``
    (N,) targets in {0, 1}; the result has shape (D,).
    """
    return run_check("ex-perceptron-logistic", logistic_gradient, _logistic_reference,
                     _logistic_cases(), rtol=1e-6, atol=1e-10,
                     hint="the gradient has one entry per feature, shape (D,): it sums the "
                          "per-sample vectors (sigma_n - t_n) phi_n over the samples n.")
