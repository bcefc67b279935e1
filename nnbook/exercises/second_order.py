r"""Checks for the code exercises of the chapter on Newton's method and Quickprop.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with nnbook's reference (:mod:`nnbook.second_order`), prints a verdict and
returns a :class:`~nnbook.exercises.feedback.CheckResult`. When a result is wrong
in a recognisable way (the damping added to every entry of :math:`H`, the damping
forgotten, Quickprop without its growth limit or its gradient term...) the
message says so.

Examples
--------
>>> import numpy as np
>>> def damped_newton_step(gradient, hessian, damping):
...     return -np.linalg.solve(hessian + damping * np.eye(len(gradient)), gradient)
>>> _ = check_damped_newton_step(damped_newton_step)
✓ ex-newton-damped-step: all 5 cases pass.
"""

from __future__ import annotations

import numpy as np

from ..second_order import _quickprop_step
from .feedback import Case, compare, float_array, run_check

__all__ = ["check_damped_newton_step", "check_quickprop_step"]


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


def _explain(got, expected, hint):
    try:
        compare(got, expected, rtol=1e-9, atol=1e-12)
    except Exception as err:
        lines = str(err).split("\n")
        if hint:
            lines = [*lines[:2], f"  {hint}"]
        raise AssertionError("\n".join(lines)) from None


# ---- ex-newton-damped-step: p = -(H + lambda I)^{-1} g ----------------------------------------

class _NewtonCase:
    def __init__(self, g, H, lam):
        self.g, self.H, self.lam = g, H, lam

    def step(self):
        return -np.linalg.solve(self.H + self.lam * np.eye(len(self.g)), self.g)


def _newton_reference(gradient, hessian, damping):
    return _NewtonCase(gradient, hessian, damping)


def _newton_compare(got, c: _NewtonCase):
    p = float_array(got, "the step")
    expected = c.step()
    if _close(p, expected):
        return
    g, H, lam = c.g, c.H, c.lam
    eye = np.eye(len(g))
    known = [
        (p.shape == expected.shape and lam > 0 and _close(p, -np.linalg.solve(H, g)),
         "The damping is missing: solve with H + damping * I, not H."),
        (p.shape == expected.shape and lam > 0 and _close(p, -np.linalg.solve(H + lam, g)),
         "The damping was added to every entry of H (H + damping): add it to the diagonal "
         "only, H + damping * I."),
        (p.shape == expected.shape and lam > 0 and _close(p, -np.linalg.solve(H - lam * eye, g)),
         "The damping was subtracted: the damped matrix is H + damping * I."),
        (p.shape == expected.shape and _close(p, -g / (np.diag(H) + lam)),
         "Only the diagonal of H was used: solve the full linear system (numpy.linalg.solve)."),
        (p.shape == expected.shape and _close(p, -(H + lam * eye) @ g),
         "The step multiplies by H + damping * I: Newton's step solves with it (multiplies by "
         "its inverse)."),
        (p.shape == expected.shape and _close(p, -np.linalg.solve(H + lam * eye, g) / len(g)),
         "The step is divided by d: no averaging, just the solution of the linear system."),
    ]
    hint = next((msg for cond, msg in known if cond), "")
    _explain(p, expected, hint)


def _newton_cases():
    r = np.random.default_rng(3)
    M = r.standard_normal((4, 4))
    return [
        Case("a positive definite 2 x 2 Hessian [[2, 1], [1, 3]], gradient (1, -1), damping 0",
             (np.array([1.0, -1.0]), np.array([[2.0, 1.0], [1.0, 3.0]]), 0.0)),
        Case("the same with damping 1",
             (np.array([1.0, -1.0]), np.array([[2.0, 1.0], [1.0, 3.0]]), 1.0)),
        Case("an indefinite Hessian diag(1, -2) with damping 3 (H + 3 I is positive definite)",
             (np.array([0.5, 0.5]), np.diag([1.0, -2.0]), 3.0),
             hint="damping makes the matrix H + damping * I, whatever the signs in H."),
        Case("a random symmetric positive definite 4 x 4 Hessian, damping 0.1",
             (r.standard_normal(4), M @ M.T + np.eye(4), 0.1)),
        Case("one parameter: H = 4, g = 2, damping 0",
             (np.array([2.0]), np.array([[4.0]]), 0.0)),
    ]


def check_damped_newton_step(damped_newton_step):
    r"""Check ``damped_newton_step(gradient, hessian, damping) -> step``.

    The step is :math:`p = -(H + \lambda I)^{-1} g`, shape (d,), solved rather than
    inverted.
    """
    return run_check("ex-newton-damped-step", damped_newton_step, _newton_reference,
                     _newton_cases(), compare_fn=_newton_compare)


# ---- ex-newton-quickprop-step: Fahlman's rules, per weight --------------------------------------

class _QuickpropCase:
    def __init__(self, grad, prev_grad, prev_step, lr, mu):
        self.args = (grad, prev_grad, prev_step, lr, mu)

    def step(self):
        return _quickprop_step(*self.args)


def _quickprop_reference(grad, prev_grad, prev_step, lr, mu):
    return _QuickpropCase(grad, prev_grad, prev_step, lr, mu)


def _quickprop_compare(got, c: _QuickpropCase):
    p = float_array(got, "the step")
    expected = c.step()
    if _close(p, expected):
        return
    g, gp, sp, lr, mu = c.args
    jump = _quickprop_step(g, gp, sp, 0.0, mu)             # lr = 0: no gradient term
    pure = np.where(sp == 0, 0.0, sp * g / np.where(gp == g, 1.0, gp - g))
    same = p.shape == expected.shape
    known = [
        (same and _close(p, jump),
         "The gradient term is missing: add -lr * grad where the slope still points the way "
         "of the previous step, and take a plain gradient step where the previous step was 0."),
        (same and _close(p, jump - lr * g),
         "The gradient term -lr * grad is added everywhere: add it only where the slope still "
         "points the way of the previous step (grad < 0 after a positive step, grad > 0 after "
         "a negative one) or where the previous step was 0."),
        (same and (_close(p, pure + np.where(sp == 0, -lr * g, 0.0))
                   or _close(p, pure + (expected - jump))),
         "The step is not limited: where the secant's jump would exceed mu times the previous "
         "step (grad < s * prev_grad after a positive step, s = mu / (1 + mu)), take "
         "mu * prev_step instead."),
        (same and _close(p, -jump + (expected - jump)),
         "The secant jump has the wrong sign: it is grad / (prev_grad - grad) * prev_step."),
    ]
    hint = next((msg for cond, msg in known if cond), "")
    _explain(p, expected, hint)


def _quickprop_cases():
    r = np.random.default_rng(11)
    return [
        Case("no previous step (all zeros): grad (0.5, -2), lr 0.1, mu 1.75",
             (np.array([0.5, -2.0]), np.array([0.0, 0.0]), np.zeros(2), 0.1, 1.75),
             hint="where the previous step is 0 the step is -lr * grad."),
        Case("a secant step forward: previous step 1, prev_grad -1, grad -0.5",
             (np.array([-0.5]), np.array([-1.0]), np.array([1.0]), 0.1, 1.75)),
        Case("the slope changed sign: previous step 1, prev_grad -1, grad 0.5 (step back)",
             (np.array([0.5]), np.array([-1.0]), np.array([1.0]), 0.1, 1.75)),
        Case("the slope barely shrank: previous step 1, prev_grad -1, grad -0.9 (growth limit)",
             (np.array([-0.9]), np.array([-1.0]), np.array([1.0]), 0.1, 1.75),
             hint="the parabola's minimum lies more than mu times the previous step away."),
        Case("negative previous steps, the mirror image: step -2, prev_grad 1, grad 0.5 and 0.95",
             (np.array([0.5, 0.95]), np.array([1.0, 1.0]), np.array([-2.0, -2.0]), 0.1, 1.75)),
        Case("a 3 x 4 weight matrix of random gradients and steps, lr 0.5, mu 1.75",
             (r.standard_normal((3, 4)), r.standard_normal((3, 4)),
              r.standard_normal((3, 4)) * (r.random((3, 4)) > 0.2), 0.5, 1.75),
             hint="every rule applies elementwise: use numpy.where, no loops needed."),
        Case("an uphill step stays uphill: previous step 1, prev_grad 1, grad 1 and 0.8",
             (np.array([1.0, 0.8]), np.array([1.0, 1.0]), np.array([1.0, 1.0]), 0.1, 1.75),
             hint="G = G' gives mu * step'; the secant jump is capped at mu |step'|; "
                  "no gradient term is added when grad > 0 after a positive step."),
        Case("the mirror image, uphill after a negative step: previous step -1, prev_grad -1, "
             "grad -1 and -0.8",
             (np.array([-1.0, -0.8]), np.array([-1.0, -1.0]), np.array([-1.0, -1.0]), 0.1, 1.75),
             hint="the cap bounds the jump's size both ways: clip it between -mu |step'| and "
                  "mu |step'|."),
    ]


def check_quickprop_step(quickprop_step):
    r"""Check ``quickprop_step(grad, prev_grad, prev_step, lr, mu) -> step``.

    Fahlman's rules elementwise, as :func:`nnbook.second_order.quickprop_step`
    states them.
    """
    return run_check("ex-newton-quickprop-step", quickprop_step, _quickprop_reference,
                     _quickprop_cases(), compare_fn=_quickprop_compare)
