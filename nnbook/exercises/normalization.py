r"""Checks for the code exercises of the chapter on normalization.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with nnbook's reference (:mod:`nnbook.norm`), prints a verdict and
returns a :class:`~nnbook.exercises.feedback.CheckResult`. Where a wrong answer
has a recognisable cause (``eps`` outside the square root, the unbiased variance,
a missing term of the backward pass) the message names it.

Examples
--------
>>> import numpy as np
>>> def bn(x, gamma, beta, eps=1e-5):
...     mu = x.mean(axis=0)
...     var = x.var(axis=0)
...     return gamma * (x - mu) / np.sqrt(var + eps) + beta
>>> _ = check_batchnorm_forward(bn)
✓ ex-norm-bn-forward: all 4 cases pass.
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend import to_numpy
from ..norm import batchnorm_backward, batchnorm_forward
from .feedback import Case, compare, run_check

__all__ = ["check_batchnorm_backward", "check_batchnorm_forward"]


def _bn_cases():
    rng = np.random.default_rng(0)
    x1 = rng.normal(3.0, 2.0, size=(8, 3))
    x2 = rng.normal(-1.0, 0.5, size=(5, 4))
    x3 = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 6.0]])           # a constant column
    x4 = rng.normal(size=(2, 3))
    return [
        Case("x (8, 3), gamma = 1, beta = 0", (x1, np.ones(3), np.zeros(3))),
        Case("x (5, 4) with mean -1 and std 0.5, random gamma and beta",
             (x2, rng.normal(size=4), rng.normal(size=4))),
        Case("x (3, 2) whose first column is constant, eps = 0.1",
             (x3, np.array([2.0, 1.0]), np.array([0.5, 0.0])), {"eps": 0.1},
             hint="a constant feature has variance 0: only eps keeps the division finite."),
        Case("a batch of 2 samples", (x4, rng.normal(size=3), rng.normal(size=3))),
    ]


def _ref_forward(x, gamma, beta, eps=1e-5):
    return batchnorm_forward(x, gamma, beta, eps)[0]


def _forward_diagnosis(got, x, gamma, beta, eps):
    mu, var = x.mean(axis=0), x.var(axis=0)
    known = [
        (gamma * (x - mu) / (np.sqrt(var) + eps) + beta,
         "eps is added to the standard deviation; it belongs inside the square root: "
         "sqrt(var + eps)."),
        (gamma * (x - mu) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta,
         "you divide by the unbiased variance (N - 1); batch norm normalises with the "
         "biased one (divide by N). The unbiased one is only for the running estimate."),
        (gamma * (x - x.mean(axis=1, keepdims=True))
         / np.sqrt(x.var(axis=1, keepdims=True) + eps) + beta,
         "the statistics are taken over the features of each sample (axis 1): that is layer "
         "norm. Batch norm averages over the batch, axis 0."),
        ((x - mu) / np.sqrt(var + eps),
         "gamma and beta are not applied: scale by gamma and shift by beta."),
        (gamma * (x - mu) / (var + eps) + beta,
         "you divide by the variance; divide by its square root, the standard deviation."),
    ]
    for candidate, message in known:
        if got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-6, atol=1e-9):
            return message
    return ""


def check_batchnorm_forward(batchnorm_forward_fn):
    r"""Check ``batchnorm_forward(x, gamma, beta, eps=1e-5) -> out`` in training mode.

    ``x`` (N, D); ``gamma``, ``beta`` (D,); the output
    :math:`\gamma (x - \mu)/\sqrt{\sigma^2 + \varepsilon} + \beta` with the batch
    mean and biased variance of every column.
    """
    def compare_fn(got, expected):
        try:
            compare(got, expected, rtol=1e-6, atol=1e-9)
        except Exception as err:
            raise AssertionError(str(err)) from None

    def student(x, gamma, beta, eps=1e-5):
        given = copy.deepcopy((x, gamma, beta))       # the diagnosis needs the inputs as given
        out = batchnorm_forward_fn(x, gamma, beta, eps=eps)
        x, gamma, beta = given                         # (x -= mu in the answer changed x)
        try:
            got = np.asarray(to_numpy(out), dtype=float)
        except (TypeError, ValueError):
            return out
        if got.shape == x.shape and not np.allclose(got, _ref_forward(x, gamma, beta, eps),
                                                    rtol=1e-6, atol=1e-9):
            hint = _forward_diagnosis(got, x, gamma, beta, eps)
            if hint:
                return _Diagnosed(got, hint)
        return out

    def compare_diag(got, expected):
        if isinstance(got, _Diagnosed):
            try:
                compare(got.value, expected, rtol=1e-6, atol=1e-9)
            except Exception as err:
                raise AssertionError(f"{err}\n  It looks as if {got.hint}") from None
        compare_fn(got, expected)

    return run_check("ex-norm-bn-forward", student, _ref_forward, _bn_cases(),
                     compare_fn=compare_diag)


class _Diagnosed:
    """A wrong result together with the recognised cause."""

    def __init__(self, value, hint):
        self.value, self.hint = value, hint


def _ref_backward(dout, x, gamma, eps=1e-5):
    _, cache = batchnorm_forward(x, gamma, np.zeros_like(gamma), eps)
    return batchnorm_backward(dout, cache)


def _backward_cases():
    rng = np.random.default_rng(1)
    cases = []
    for desc, (N, D) in [("N = 6, D = 3", (6, 3)), ("N = 4, D = 5", (4, 5)),
                         ("a batch of 2 samples", (2, 3))]:
        x = rng.normal(1.0, 2.0, size=(N, D))
        cases.append(Case(f"{desc}, random x, gamma and dout",
                          (rng.normal(size=(N, D)), x, rng.normal(size=D))))
    x = rng.normal(size=(5, 2))
    cases.append(Case("dout the same for every sample (the gradient through the mean "
                      "cancels it)", (np.tile([[1.0, -2.0]], (5, 1)), x, np.array([1.5, 0.5])),
                      hint="a constant dout shifts every output equally: the mean absorbs "
                           "it, so dx must be 0."))
    return cases


def _backward_diagnosis(dx, dout, x, gamma, eps):
    mu, var = x.mean(axis=0), x.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    inv_out = 1.0 / (np.sqrt(var) + eps)
    xhat_out = (x - mu) * inv_out
    g = dout * gamma
    known = [
        (g * inv, "dx is gamma * dout / sqrt(var + eps): the gradient flowing through the "
                  "batch mean and the batch variance is missing (both depend on x)."),
        ((g - g.mean(axis=0)) * inv,
         "the term through the variance, - xhat * mean(g * xhat), is missing."),
        ((g - xhat * (g * xhat).mean(axis=0)) * inv,
         "the term through the mean, - mean(g), is missing."),
        ((dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0)) * inv,
         "gamma is missing: the gradient reaching xhat is gamma * dout."),
        ((g - g.mean(axis=0) - xhat_out * (g * xhat_out).mean(axis=0)) * inv_out,
         "eps is outside the square root: the forward pass divides by "
         "sqrt(var + eps), not by sqrt(var) + eps."),
    ]
    for candidate, message in known:
        if np.allclose(dx, candidate, rtol=1e-6, atol=1e-9):
            return message
    return ""


def check_batchnorm_backward(batchnorm_backward_fn):
    r"""Check ``batchnorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta)``.

    The gradients of the training-mode forward pass
    :math:`y = \gamma\hat x + \beta`, :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}`,
    with ``dout`` (N, D) the gradient of the loss with respect to ``y``:
    ``dx`` (N, D), ``dgamma`` and ``dbeta`` (D,).
    """
    def compare_fn(got, expected):
        try:
            compare(got, expected, rtol=1e-6, atol=1e-9, name="(dx, dgamma, dbeta)")
        except Exception as err:
            raise AssertionError(str(err)) from None

    def student(dout, x, gamma, eps=1e-5):
        given = copy.deepcopy((dout, x, gamma))       # the diagnosis needs the inputs as given
        out = batchnorm_backward_fn(dout, x, gamma, eps=eps)
        dout, x, gamma = given
        if isinstance(out, tuple | list) and len(out) == 3:
            try:
                dx = np.asarray(to_numpy(out[0]), dtype=float)
            except (TypeError, ValueError):
                return out
            ref = _ref_backward(dout, x, gamma, eps)[0]
            if dx.shape == ref.shape and not np.allclose(dx, ref, rtol=1e-6, atol=1e-9):
                hint = _backward_diagnosis(dx, dout, x, gamma, eps)
                if hint:
                    return _Diagnosed(out, hint)
        return out

    def compare_diag(got, expected):
        if isinstance(got, _Diagnosed):
            try:
                compare(tuple(got.value), expected, rtol=1e-6, atol=1e-9,
                        name="(dx, dgamma, dbeta)")
            except Exception as err:
                raise AssertionError(f"{err}\n  It looks as if {got.hint}") from None
        compare_fn(got, expected)

    return run_check("ex-norm-bn-backward", student, _ref_backward, _backward_cases(),
                     compare_fn=compare_diag)
