"""The checks of the Newton/Quickprop chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

from nnbook import second_order as so
from nnbook.exercises import second_order as ex

# ---------------------------------------------------------------- damped_newton_step

def newton_right(gradient, hessian, damping):
    return -np.linalg.solve(hessian + damping * np.eye(len(gradient)), gradient)


def newton_torch(gradient, hessian, damping):
    """The damped step with torch's solver, the Hessian of the quadratic from autograd."""
    H = torch.tensor(hessian)
    g = torch.tensor(gradient)
    return -torch.linalg.solve(H + damping * torch.eye(len(g), dtype=H.dtype), g).numpy()


@pytest.mark.parametrize("fn", [newton_right, newton_torch, so.newton_step])
def test_newton_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_damped_newton_step, fn, capsys)
    assert result and message == "✓ ex-newton-damped-step: all 5 cases pass."


def test_newton_placeholder(capsys):
    result, message = _verdict(ex.check_damped_newton_step, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-newton-damped-step: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


@pytest.mark.parametrize("wrong, expected", [
    (lambda g, H, lam: -np.linalg.solve(H, g),
     r"^✗ ex-newton-damped-step, case 2 of 5 \(the same with damping 1\): the result has wrong "
     r"values\.\n  First wrong entry at index \(0,\): expected -0\.454545, received -0\.8\. \(2 of 2 "
     r"entries differ\.\)\n  The damping is missing: solve with H \+ damping \* I, not H\.$"),
    (lambda g, H, lam: -np.linalg.solve(H + lam, g),
     r"case 2 of 5 .*\n  The damping was added to every entry of H \(H \+ damping\): add it to "
     r"the diagonal only, H \+ damping \* I\.$"),
    (lambda g, H, lam: np.linalg.solve(H + lam * np.eye(len(g)), g),
     r"^✗ ex-newton-damped-step, case 1 of 5 .*\n  Every entry has the opposite sign of the "
     r"expected one: look for a flipped sign\.$"),
    (lambda g, H, lam: -g / (np.diag(H) + lam),
     r"case 1 of 5 .*\n  Only the diagonal of H was used: solve the full linear system"),
    (lambda g, H, lam: -(H + lam * np.eye(len(g))) @ g,
     r"case 1 of 5 .*\n  The step multiplies by H \+ damping \* I: Newton's step solves with it"),
    (lambda g, H, lam: list(newton_right(g, H, lam)),
     r"^✗ ex-newton-damped-step, case 1 of 5 .*: the step should be an array, received list\.$"),
])
def test_newton_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_damped_newton_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message


# ---------------------------------------------------------------- quickprop_step

def quickprop_right(grad, prev_grad, prev_step, lr, mu):
    s = mu / (1 + mu)
    pos, neg, zero = prev_step > 0, prev_step < 0, prev_step == 0
    big = (pos & (grad < s * prev_grad)) | (neg & (grad > s * prev_grad))
    denom = prev_grad - grad
    quad = ~big & ~zero & (denom != 0)
    secant = prev_step * grad / np.where(quad, denom, 1.0)
    secant = np.clip(secant, -mu * np.abs(prev_step), mu * np.abs(prev_step))
    step = np.where(quad, secant, np.where(zero, 0.0, mu * prev_step))
    downhill = zero | (pos & (grad < 0)) | (neg & (grad > 0))
    return step + np.where(downhill, -lr * grad, 0.0)


@pytest.mark.parametrize("fn", [quickprop_right, so.quickprop_step])
def test_quickprop_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_quickprop_step, fn, capsys)
    assert result and message == "✓ ex-newton-quickprop-step: all 7 cases pass."


def test_quickprop_placeholder(capsys):
    result, message = _verdict(ex.check_quickprop_step, _placeholder, capsys)
    assert not result and "not answered yet" in message


def _no_gradient_term(grad, prev_grad, prev_step, lr, mu):
    return so.quickprop_step(grad, prev_grad, prev_step, 1e-300, mu)


def _gradient_term_everywhere(grad, prev_grad, prev_step, lr, mu):
    return _no_gradient_term(grad, prev_grad, prev_step, lr, mu) - lr * grad


def _unlimited(grad, prev_grad, prev_step, lr, mu):
    return quickprop_right(grad, prev_grad, prev_step, lr, 1e12)


@pytest.mark.parametrize("wrong, expected", [
    (_no_gradient_term,
     r"^✗ ex-newton-quickprop-step, case 1 of 7 \(no previous step .*\): the result has wrong "
     r"values\.\n  First wrong entry at index \(0,\): expected -0\.05, received -5e-301\. .*\n  "
     r"The gradient term is missing: add -lr \* grad where the slope still points the way of the "
     r"previous step, and take a plain gradient step where the previous step was 0\.\n  "
     r"Hint: where the previous step is 0 the step is -lr \* grad\.$"),
    (_gradient_term_everywhere,
     r"case 3 of 7 \(the slope changed sign.*\n  The gradient term -lr \* grad is added "
     r"everywhere: add it only where"),
    (_unlimited,
     r"case 4 of 7 \(the slope barely shrank.*\n  The step is not limited: where the secant's "
     r"jump would exceed mu times the previous step"),
    (lambda g, gp, sp, lr, mu: quickprop_right(-g, gp, sp, lr, mu),
     r"^✗ ex-newton-quickprop-step, case 1 of 7 .*expected -0\.05, received 0\.05"),
])
def test_quickprop_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_quickprop_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message
