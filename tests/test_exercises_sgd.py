"""The checks of the SGD chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import case_inputs as _recorded
from conftest import raised_message as _raised

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


# ---------------------------------------------------------------- every case's message, whole
# For each case k of each check: the message when an answer raises on case k (its description
# and hint, read against the chapter's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by the direct formulas momentum_right and adam_right, themselves checked against
# torch.optim below).

def _entry_messages(raised, values):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    out = []
    for i, value in enumerate(values):
        for index in np.ndindex(value.shape):
            v = float(value[index])
            out.append(f"{head}: value {i} of the result has wrong values.\n  First wrong entry "
                       f"at index {index}: expected {v:.6g}, received {v + 1:.6g}.{hints}")
    return out


MOMENTUM_RAISED = {
    1: _raised("ex-sgd-momentum-step", 1, 5, "a first step: velocity 0, theta (1, -2), grad "
               "(0.5, 1), lr 0.1, momentum 0.9"),
    2: _raised("ex-sgd-momentum-step", 2, 5, "a later step: velocity (1, 1), grad (0.5, -1), "
               "lr 0.1, momentum 0.9"),
    3: _raised("ex-sgd-momentum-step", 3, 5, "momentum 0: plain gradient descent",
               "with momentum 0 the velocity is just the gradient."),
    4: _raised("ex-sgd-momentum-step", 4, 5, "a 3 x 4 weight matrix with random velocity and "
               "gradient, lr 0.01, momentum 0.5",
               "the update is elementwise: no matrix products."),
    5: _raised("ex-sgd-momentum-step", 5, 5, "lr 1, momentum 0.99, a velocity of 100 against "
               "a gradient of -1"),
}
ADAM_RAISED = {
    1: _raised("ex-sgd-adam-step", 1, 5, "the first step (t = 1) from m = v = 0, default "
               "hyper-parameters", "on the first step the bias-corrected m/sqrt(v) is about "
               "sign(g): every coordinate moves by about lr."),
    2: _raised("ex-sgd-adam-step", 2, 5, "step t = 3 with non-zero m and v, lr 0.01"),
    3: _raised("ex-sgd-adam-step", 3, 5, "a 2 x 3 matrix at step t = 50, betas (0.8, 0.99)"),
    4: _raised("ex-sgd-adam-step", 4, 5, "a tiny gradient 1e-9 with a large eps 1e-3 (eps "
               "dominates the denominator)"),
    5: _raised("ex-sgd-adam-step", 5, 5, "a zero gradient at step t = 10: m and v only decay"),
}


def _momentum_inputs():
    """(theta, velocity, grad, lr, momentum) of each case, as the descriptions give them."""
    r = np.random.default_rng(7)
    return [(np.array([1.0, -2.0]), np.zeros(2), np.array([0.5, 1.0]), 0.1, 0.9),
            (np.array([1.0, -2.0]), np.ones(2), np.array([0.5, -1.0]), 0.1, 0.9),
            (np.array([3.0, 0.0, -1.0]), np.full(3, 2.0), np.array([1.0, -1.0, 4.0]), 0.5, 0.0),
            (r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.standard_normal((3, 4)),
             0.01, 0.5),
            (np.zeros(2), np.array([100.0, -100.0]), np.array([-1.0, 1.0]), 1.0, 0.99)]


def _adam_inputs():
    """(args, kwargs) of each case."""
    r = np.random.default_rng(11)
    g = np.array([1e-3, -0.1, 1.0, -30.0])
    return [((np.zeros(4), g, np.zeros(4), np.zeros(4), 1), {}),
            ((np.ones(4), g, np.full(4, 0.2), np.full(4, 0.5), 3), {"lr": 0.01}),
            ((r.standard_normal((2, 3)), r.standard_normal((2, 3)),
              0.1 * r.standard_normal((2, 3)), r.uniform(0.1, 1.0, (2, 3)), 50),
             {"beta1": 0.8, "beta2": 0.99}),
            ((np.zeros(3), np.full(3, 1e-9), np.zeros(3), np.zeros(3), 1), {"eps": 1e-3}),
            ((np.ones(2), np.zeros(2), np.array([0.1, -0.2]), np.array([0.01, 0.04]), 10), {})]


def _momentum_ref(*args):
    return ex._momentum_reference(*args).step()


def _adam_ref(*args, **kwargs):
    return ex._adam_reference(*args, **kwargs).step()


def test_every_momentum_case_explains_itself(capsys):
    from conftest import probe_messages
    raised, entries = probe_messages(ex.check_momentum_step, _momentum_ref)
    capsys.readouterr()
    assert raised == MOMENTUM_RAISED
    assert entries == {k: _entry_messages(MOMENTUM_RAISED[k], momentum_right(*args))
                       for k, args in enumerate(_momentum_inputs(), start=1)}


def test_every_adam_case_explains_itself(capsys):
    from conftest import probe_messages
    raised, entries = probe_messages(ex.check_adam_step, _adam_ref)
    capsys.readouterr()
    assert raised == ADAM_RAISED
    assert entries == {k: _entry_messages(ADAM_RAISED[k], adam_right(*args, **kwargs))
                       for k, (args, kwargs) in enumerate(_adam_inputs(), start=1)}


def _adam_torch(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    p = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": torch.tensor(m),
                    "exp_avg_sq": torch.tensor(v)}
    p.grad = torch.tensor(grad)
    opt.step()
    return p.detach().numpy(), opt.state[p]["exp_avg"].numpy(), opt.state[p]["exp_avg_sq"].numpy()


def test_the_direct_formulas_agree_with_torch_optim():
    for args in _momentum_inputs():
        for got, want in zip(momentum_right(*args), momentum_torch(*args), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    for args, kwargs in _adam_inputs():
        for got, want in zip(adam_right(*args, **kwargs), _adam_torch(*args, **kwargs),
                             strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-24)


def test_the_cases_are_the_ones_their_descriptions_describe(capsys):
    got = _recorded(ex.check_momentum_step, momentum_right)
    assert len(got) == 5
    for (args, kwargs), want in zip(got, _momentum_inputs(), strict=True):
        assert kwargs == {} and len(args) == 5
        for a, w in zip(args, want, strict=True):
            np.testing.assert_array_equal(a, w)
    assert [a[0].shape for a, _ in got] == [(2,), (2,), (3,), (3, 4), (2,)]
    got = _recorded(ex.check_adam_step, adam_right)
    assert len(got) == 5
    for (args, kwargs), (want, want_kw) in zip(got, _adam_inputs(), strict=True):
        assert kwargs == want_kw and len(args) == 5
        for a, w in zip(args, want, strict=True):
            np.testing.assert_array_equal(a, w)
    assert [a[4] for a, _ in got] == [1, 3, 50, 1, 10]
    capsys.readouterr()


# ---------------------------------------------------------------- momentum: each diagnosis whole

M1 = ("✗ ex-sgd-momentum-step, case 1 of 5 (a first step: velocity 0, theta (1, -2), grad "
      "(0.5, 1), lr 0.1, momentum 0.9): ")
M2 = ("✗ ex-sgd-momentum-step, case 2 of 5 (a later step: velocity (1, 1), grad (0.5, -1), "
      "lr 0.1, momentum 0.9): ")
M4 = ("✗ ex-sgd-momentum-step, case 4 of 5 (a 3 x 4 weight matrix with random velocity and "
      "gradient, lr 0.01, momentum 0.5): ")


def _from_case(pred, wrong, right=momentum_right):
    """An answer that is right until ``pred(*args)`` holds, then ``wrong``."""
    def fn(*args, **kwargs):
        return (wrong if pred(*args, **kwargs) else right)(*args, **kwargs)
    return fn


def _later(theta, velocity, grad, lr, momentum):
    return np.any(velocity != 0)


def _matrix(theta, velocity, grad, lr, momentum):
    return theta.ndim == 2


def _no_lr(theta, velocity, grad, lr, momentum):
    v = momentum * velocity + grad
    return theta - v, v


def _grad_sign(theta, velocity, grad, lr, momentum):
    v = momentum * velocity - grad
    return theta - lr * v, v


def _momentum_sign(theta, velocity, grad, lr, momentum):
    v = -momentum * velocity + grad
    return theta - lr * v, v


def _case4_momentum_sign():
    theta, v0, g, lr, mu = _momentum_inputs()[3]
    got, want = theta - lr * (-mu * v0 + g), theta - lr * (mu * v0 + g)
    return (f"{M4}value 0 of the result has wrong values.\n  First wrong entry at index (0, 0): "
            f"expected {want[0, 0]:.6g}, received {got[0, 0]:.6g}. (12 of 12 entries differ.)\n"
            "  A sign in the velocity is flipped: v = mu v + g.\n"
            "  Hint: the update is elementwise: no matrix products.")


@pytest.mark.parametrize("wrong, message", [
    # v = 0.1 g: theta = (1, -2) - 0.1 (0.05, 0.1) = (0.995, -2.01), not (0.95, -2.1)
    (_dampened,
     M1 + "value 0 of the result has wrong values.\n  First wrong entry at index (0,): expected "
     "0.95, received 0.995. (2 of 2 entries differ.)\n  The velocity is mu v + (1 - mu) g, an "
     "exponential average (PyTorch's dampening, or Adam's first moment). SGD's momentum adds "
     "the whole gradient: v = mu v + g."),
    # v = 0.9 (1, 1) + (0.5, -1) = (1.4, -0.1); theta - lr v_old = (0.9, -2.1), not (0.86, -1.99)
    (_from_case(_later, _old_velocity),
     M2 + "value 0 of the result has wrong values.\n  First wrong entry at index (0,): expected "
     "0.86, received 0.9. (2 of 2 entries differ.)\n  theta moved by the old velocity: update "
     "the velocity first, then step with the new one."),
    # the right v = g = (0.5, 1), theta - v = (0.5, -3) in place of (0.95, -2.1): no guess
    (_no_lr,
     M1 + "value 0 of the result has wrong values.\n  First wrong entry at index (0,): expected "
     "0.95, received 0.5. (2 of 2 entries differ.)"),
    # v = -g = (-0.5, -1)
    (_grad_sign,
     M1 + "value 0 of the result has wrong values.\n  First wrong entry at index (0,): expected "
     "0.95, received 1.05. (2 of 2 entries differ.)\n  A sign in the velocity is flipped: "
     "v = mu v + g."),
    (_from_case(_matrix, _momentum_sign), _case4_momentum_sign()),
    # v = -0.9 (1, 1) + (0.5, -1) = (-0.4, -1.9): theta = (1.04, -1.81), not (0.86, -1.99)
    (_from_case(_later, _momentum_sign),
     M2 + "value 0 of the result has wrong values.\n  First wrong entry at index (0,): expected "
     "0.86, received 1.04. (2 of 2 entries differ.)\n  A sign in the velocity is flipped: "
     "v = mu v + g."),
    (lambda th, v, g, lr, mu: (th - lr * (mu * v + g), mu * v + g, 0.0),
     M1 + "the result should be a tuple (theta, velocity), received 3 values."),
    (lambda th, v, g, lr, mu: (th - lr * (mu * v + g), list(mu * v + g)),
     M1 + "velocity (value 1 of the result) should be an array, received list."),
    (lambda th, v, g, lr, mu: [list(th - lr * (mu * v + g)), mu * v + g],
     M1 + "theta (value 0 of the result) should be an array, received list."),
], ids=["dampened", "old_velocity", "no_lr", "grad_sign", "momentum_sign_matrix",
        "momentum_sign", "three_values", "velocity_list", "theta_list"])
def test_momentum_messages_whole(wrong, message, capsys):
    result, got = _verdict(ex.check_momentum_step, wrong, capsys)
    assert not result
    assert got == message


def test_momentum_zero_momentum_is_not_called_a_dampened_average(capsys):
    # With momentum 0 the dampened average (1 - mu) g is the right velocity g: a wrong theta
    # there is not blamed on the velocity.
    def wrong(theta, velocity, grad, lr, momentum):
        if momentum == 0:
            return theta - 2 * lr * grad, grad
        return momentum_right(theta, velocity, grad, lr, momentum)

    _result, got = _verdict(ex.check_momentum_step, wrong, capsys)
    assert got == ("✗ ex-sgd-momentum-step, case 3 of 5 (momentum 0: plain gradient descent): "
                   "value 0 of the result has wrong values.\n  First wrong entry at index (0,): "
                   "expected 2.5, received 2. (3 of 3 entries differ.)\n"
                   "  Hint: with momentum 0 the velocity is just the gradient.")


def test_momentum_names_the_gradient_changed_in_place(capsys):
    def in_place_grad(theta, velocity, grad, lr, momentum):
        grad += momentum * velocity           # changes nothing while the velocity is 0
        return theta - lr * grad, grad

    _result, got = _verdict(ex.check_momentum_step, in_place_grad, capsys)
    assert got == (M2 + "your function changed its input grad in place. The optimiser keeps the "
                   "old arrays (and so does the caller): return new arrays, v = momentum * "
                   "velocity + grad, not velocity *= momentum or theta -= ...")


def test_momentum_refuses_a_result_in_place_of_the_function(capsys):
    result, got = _verdict(ex.check_momentum_step,
                           momentum_right(*_momentum_inputs()[0]), capsys)
    assert not result
    assert got == ("✗ ex-sgd-momentum-step: pass your function itself (without calling it), "
                   "received tuple.")


@pytest.mark.parametrize("scale, passes", [(1 + 0.5e-9, True), (1 + 1e-7, False)])
def test_momentum_tolerance_is_rtol_1e9(scale, passes, capsys):
    def answer(*args):
        theta, v = momentum_right(*args)
        return theta * scale, v

    result, got = _verdict(ex.check_momentum_step, answer, capsys)
    assert bool(result) is passes
    if not passes:
        assert got.startswith(M1 + "value 0 of the result has wrong values.\n  First wrong "
                              "entry at index (0,): expected 0.95, received 0.95000009")


# ---------------------------------------------------------------- adam: each diagnosis whole

A1 = ("✗ ex-sgd-adam-step, case 1 of 5 (the first step (t = 1) from m = v = 0, default "
      "hyper-parameters): ")
A2 = "✗ ex-sgd-adam-step, case 2 of 5 (step t = 3 with non-zero m and v, lr 0.01): "
A1_HINT = ("\n  Hint: on the first step the bias-corrected m/sqrt(v) is about sign(g): every "
           "coordinate moves by about lr.")


def _t_later(theta, grad, m, v, t, **kwargs):
    return t > 1


def _uphill_adam(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta_e, m, v = adam_right(theta, grad, m, v, t, lr, beta1, beta2, eps)
    return 2 * theta - theta_e, m, v


def _t_minus_one(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta_e = adam_right(theta, grad, m, v, t - 1, lr, beta1, beta2, eps)[0]
    return theta_e, *adam_right(theta, grad, m, v, t, lr, beta1, beta2, eps)[1:]


def _abs_v(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * np.abs(grad)
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _twice_m(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, m, v = adam_right(theta, grad, m, v, t, lr, beta1, beta2, eps)
    return theta, 2 * m, v


def _uphill_twice_v(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, m, v = _uphill_adam(theta, grad, m, v, t, lr, beta1, beta2, eps)
    return theta, m, 2 * v


def _case2():
    (theta, g, m, v, t), kw = _adam_inputs()[1]
    return adam_right(theta, g, m, v, t, **kw), (theta, g, m, v, t), kw


def _a2_theta_message(received, hint):
    (theta_e, _, _), _, _ = _case2()
    return (f"{A2}value 0 of the result has wrong values.\n  First wrong entry at index (0,): "
            f"expected {theta_e[0]:.6g}, received {received:.6g}. (4 of 4 entries differ.)\n"
            f"  {hint}")


def _a2_t_minus_one():
    _, (theta, g, m, v, t), kw = _case2()
    return _a2_theta_message(adam_right(theta, g, m, v, t - 1, **kw)[0][0],
                             "The bias correction used t - 1: t is the number of this step, "
                             "counting from 1.")


def _a2_uphill():
    (theta_e, _, _), (theta, *_), _ = _case2()
    return _a2_theta_message(2 * theta[0] - theta_e[0], "theta moved uphill: subtract the step.")


def _a1_abs_v():
    # m_hat = g and v_hat = |g|: theta = -lr g / (sqrt|g| + eps); the same as the right
    # -lr g / (|g| + eps) where |g| = 1.
    g = _adam_inputs()[0][0][1]
    want, got = -1e-3 * g / (np.abs(g) + 1e-8), -1e-3 * g / (np.sqrt(np.abs(g)) + 1e-8)
    return (f"{A1}value 0 of the result has wrong values.\n  First wrong entry at index (0,): "
            f"expected {want[0]:.6g}, received {got[0]:.6g}. (3 of 4 entries differ.)\n"
            "  v averages |g|: Adam's second moment averages the squared gradient g**2." + A1_HINT)


@pytest.mark.parametrize("wrong, message", [
    (_from_case(_t_later, _t_minus_one, adam_right), _a2_t_minus_one()),
    (_from_case(_t_later, _uphill_adam, adam_right), _a2_uphill()),
    (_abs_v, _a1_abs_v()),
    # m = 2 (0.1 g): no recognised form, whatever theta is
    (_twice_m, f"{A1}value 1 of the result has wrong values.\n  First wrong entry at index (0,): "
               "expected 0.0001, received 0.0002. (4 of 4 entries differ.)\n  Every entry is 2 "
               "times the expected one: look for a missing or extra constant factor (a sum in "
               "place of a mean, a missing 1/N or 1/2, a learning rate)." + A1_HINT),
    # right m, v twice (not |g|), theta uphill: the moments are wrong, so no theta diagnosis
    (_uphill_twice_v, None),
], ids=["t_minus_one", "uphill", "abs_v", "twice_m", "uphill_twice_v"])
def test_adam_messages_whole(wrong, message, capsys):
    result, got = _verdict(ex.check_adam_step, wrong, capsys)
    assert not result
    if message is None:       # theta is checked first: -theta_e against theta_e (theta = 0)
        g = _adam_inputs()[0][0][1]
        theta_e = adam_right(np.zeros(4), g, np.zeros(4), np.zeros(4), 1)[0]
        message = (f"{A1}value 0 of the result has wrong values.\n  First wrong entry at index "
                   f"(0,): expected {theta_e[0]:.6g}, received {-theta_e[0]:.6g}. (4 of 4 "
                   "entries differ.)\n  Every entry has the opposite sign of the expected one: "
                   "look for a flipped sign." + A1_HINT)
    assert got == message


@pytest.mark.parametrize("name, index", [("theta", 0), ("m", 1), ("v", 2)])
def test_adam_names_a_value_that_is_not_an_array(name, index, capsys):
    def answer(*args, **kwargs):
        out = list(adam_right(*args, **kwargs))
        out[index] = out[index].tolist()
        return tuple(out)

    _result, got = _verdict(ex.check_adam_step, answer, capsys)
    assert got == (f"{A1}{name} (value {index} of the result) should be an array, received "
                   "list." + A1_HINT)


def test_adam_a_skipped_zero_gradient_step_is_not_blamed_on_the_moments(capsys):
    # With g = 0 the wrong forms beta1 m + g and beta2 v + (1 - beta2)|g| equal the right
    # moments: an answer that decays m and v but leaves theta alone is not told m is wrong.
    def skip(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        out = adam_right(theta, grad, m, v, t, lr, beta1, beta2, eps)
        return (theta, *out[1:]) if not np.any(grad) else out

    _result, got = _verdict(ex.check_adam_step, skip, capsys)
    (theta, g, m, v, t), _ = _adam_inputs()[4]
    theta_e = adam_right(theta, g, m, v, t)[0]
    assert got == ("✗ ex-sgd-adam-step, case 5 of 5 (a zero gradient at step t = 10: m and v "
                   "only decay): value 0 of the result has wrong values.\n  First wrong entry "
                   f"at index (0,): expected {theta_e[0]:.6g}, received 1. (2 of 2 entries "
                   "differ.)")


@pytest.mark.parametrize("delta, passes", [(0.5e-12, True), (5e-11, False)])
def test_adam_tolerance_is_atol_1e12(delta, passes, capsys):
    # Case 4's m is 0.1 * 1e-9 = 1e-10: there rtol |m| is 1e-19 and atol 1e-12 decides.
    def answer(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        theta, m, v = adam_right(theta, grad, m, v, t, lr, beta1, beta2, eps)
        return (theta, m + delta, v) if eps == 1e-3 else (theta, m, v)

    result, got = _verdict(ex.check_adam_step, answer, capsys)
    assert bool(result) is passes
    if not passes:
        assert got == ("✗ ex-sgd-adam-step, case 4 of 5 (a tiny gradient 1e-9 with a large eps "
                       "1e-3 (eps dominates the denominator)): value 1 of the result has wrong "
                       "values.\n  First wrong entry at index (0,): expected 1e-10, received "
                       "1.5e-10. (3 of 3 entries differ.)\n  Every entry is 1.5 times the "
                       "expected one: look for a missing or extra constant factor (a sum in "
                       "place of a mean, a missing 1/N or 1/2, a learning rate).")


def test_adam_uphill_on_the_matrix_case(capsys):
    # theta is random there (not 0 or 1): theta moved to 2 theta - theta_right exactly.
    wrong = _from_case(lambda theta, *a, **k: theta.ndim == 2, _uphill_adam, adam_right)
    _result, got = _verdict(ex.check_adam_step, wrong, capsys)
    (theta, g, m, v, t), kw = _adam_inputs()[2]
    theta_e = adam_right(theta, g, m, v, t, **kw)[0]
    assert got == ("✗ ex-sgd-adam-step, case 3 of 5 (a 2 x 3 matrix at step t = 50, betas "
                   "(0.8, 0.99)): value 0 of the result has wrong values.\n  First wrong entry "
                   f"at index (0, 0): expected {theta_e[0, 0]:.6g}, received "
                   f"{2 * theta[0, 0] - theta_e[0, 0]:.6g}. (6 of 6 entries differ.)\n"
                   "  theta moved uphill: subtract the step.")
