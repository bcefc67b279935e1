"""The checks of the SGD chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

from nnbook import adaptive
from nnbook.exercises import sgd as ex
from nnbook.layers import Parameter

# ---------------------------------------------------------------- momentum_step

def momentum_right(theta, velocity, grad, lr, momentum):
    velocity = momentum * velocity + grad
    return theta - lr * velocity, velocity


def momentum_torch(theta, velocity, grad, lr, momentum):
    """The same step by torch.optim.SGD, its buffer preset to the given velocity."""
    t = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.SGD([t], lr=lr, momentum=momentum)
    t.grad = torch.tensor(grad)
    if momentum > 0:
        opt.state[t]["momentum_buffer"] = torch.tensor(velocity)
    opt.step()
    v = opt.state[t]["momentum_buffer"] if momentum > 0 else torch.tensor(grad)
    return t.detach().numpy(), v.numpy()


@pytest.mark.parametrize("fn", [momentum_right, momentum_torch])
def test_momentum_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_momentum_step, fn, capsys)
    assert result and message == "✓ ex-sgd-momentum-step: all 5 cases pass."


def test_momentum_placeholder(capsys):
    result, message = _verdict(ex.check_momentum_step, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-sgd-momentum-step: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


def _paper(theta, velocity, grad, lr, momentum):
    v = momentum * velocity - lr * grad
    return theta + v, v


def _dampened(theta, velocity, grad, lr, momentum):
    v = momentum * velocity + (1 - momentum) * grad
    return theta - lr * v, v


def _old_velocity(theta, velocity, grad, lr, momentum):
    return theta - lr * velocity, momentum * velocity + grad


def _nesterov(theta, velocity, grad, lr, momentum):
    v = momentum * velocity + grad
    return theta - lr * (grad + momentum * v), v


def _uphill(theta, velocity, grad, lr, momentum):
    v = momentum * velocity + grad
    return theta + lr * v, v


def _in_place_velocity(theta, velocity, grad, lr, momentum):
    velocity *= momentum
    velocity += grad
    return theta - lr * velocity, velocity


def _in_place_theta(theta, velocity, grad, lr, momentum):
    v = momentum * velocity + grad
    theta -= lr * v
    return theta, v


@pytest.mark.parametrize("wrong, name", [(_in_place_velocity, "velocity"),
                                         (_in_place_theta, "theta")])
def test_momentum_in_place_refused(wrong, name, capsys):
    result, message = _verdict(ex.check_momentum_step, wrong, capsys)
    assert not result
    assert message == (f"✗ ex-sgd-momentum-step, case 1 of 5 (a first step: velocity 0, theta "
                       f"(1, -2), grad (0.5, 1), lr 0.1, momentum 0.9): your function changed its "
                       f"input {name} in place. The optimiser keeps the old arrays (and so does "
                       f"the caller): return new arrays, v = momentum * velocity + grad, not "
                       f"velocity *= momentum or theta -= ...")


@pytest.mark.parametrize("wrong, expected", [
    (_paper, r"^✗ ex-sgd-momentum-step, case 1 of 5 \(a first step: .*\): value 1 of the result "
             r"has wrong values\.\n  First wrong entry at index \(0,\): expected 0\.5, received "
             r"-0\.05\. \(2 of 2 entries differ\.\)\n  The velocity is the papers' v = mu v - lr g\. "
             r"This exercise asks for PyTorch's form v = mu v \+ g, theta = theta - lr v \(the "
             r"velocity is then -1/lr times the papers'\)\.$"),
    (_dampened, r"case 1 of 5 .*\n  The velocity is mu v \+ \(1 - mu\) g, an exponential average"),
    (_old_velocity, r"case 1 of 5 .*\n  theta moved by the old velocity: update the velocity "
                    r"first, then step with the new one\.$"),
    (_nesterov, r"case 1 of 5 .*\n  That is Nesterov's step \(g \+ mu v\); the heavy ball steps "
                r"with v itself\.$"),
    (_uphill, r"case 1 of 5 .*value 0 of the result has wrong values\..*\n  theta moved uphill: "
              r"subtract lr times the velocity\.$"),
    (lambda th, v, g, lr, mu: th - lr * g, r"^✗ ex-sgd-momentum-step, case 1 of 5 .*: the result "
     r"should be a tuple \(theta, velocity\), received ndarray\.$"),
])
def test_momentum_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_momentum_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message


# ---------------------------------------------------------------- adam_step

def adam_right(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_nnbook(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """nnbook's Adam with its state preset (itself checked against torch.optim.Adam)."""
    p = Parameter(theta.copy())
    opt = adaptive.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[0].update(step=t - 1, exp_avg=m.copy(), exp_avg_sq=v.copy())
    p.grad = grad
    opt.step()
    return p.data, opt.state[0]["exp_avg"], opt.state[0]["exp_avg_sq"]


@pytest.mark.parametrize("fn", [adam_right, adam_nnbook])
def test_adam_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_adam_step, fn, capsys)
    assert result and message == "✓ ex-sgd-adam-step: all 5 cases pass."


def test_adam_placeholder(capsys):
    result, message = _verdict(ex.check_adam_step, _placeholder, capsys)
    assert not result and "not answered yet" in message


def _no_correction(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def _eps_inside(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / np.sqrt(v_hat + eps), m, v


def _t_plus_one(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return adam_right(theta, grad, m, v, t + 1, lr, beta1, beta2, eps)


def _sum_moment(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


@pytest.mark.parametrize("wrong, expected", [
    (_no_correction, r"^✗ ex-sgd-adam-step, case 1 of 5 \(the first step .*\): value 0 of the "
                     r"result has wrong values\.\n  First wrong entry at index \(0,\): expected "
                     r"-0\.000\d+, received -\d.*\n  The bias correction is missing: divide m by "
                     r"1 - beta1\*\*t and v by 1 - beta2\*\*t\.\n  Hint: on the first step"),
    (_eps_inside, r"case 1 of 5 .*\n  eps is inside the square root: PyTorch "
                  r"and the paper add it to sqrt\(v_hat\)\."),
    (_t_plus_one, r"case 1 of 5 .*\n  The bias correction used t \+ 1: t is already the number of "
                  r"this step, counting from 1\."),
    (_sum_moment, r"case 1 of 5 .*value 0 of the result has wrong values.*\n  m is beta1 m \+ g: "
                  r"Adam's first moment is an average"),
])
def test_adam_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_adam_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message
