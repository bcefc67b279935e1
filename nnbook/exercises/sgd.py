r"""Checks for the code exercises of the chapter on SGD and momentum.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with nnbook's reference (which matches ``torch.optim``), prints a verdict
and returns a :class:`~nnbook.exercises.feedback.CheckResult`. When a result is
wrong in a recognisable way (the papers' sign convention for the velocity, a
missing bias correction, :math:`\epsilon` inside the square root...) the message
says so.

Examples
--------
>>> import numpy as np
>>> def momentum_step(theta, velocity, grad, lr, momentum):
...     velocity = momentum * velocity + grad
...     return theta - lr * velocity, velocity
>>> _ = check_momentum_step(momentum_step)
✓ ex-sgd-momentum-step: all 5 cases pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .feedback import Case, compare, float_array, run_check

__all__ = ["check_adam_step", "check_momentum_step"]


def _pair(got, n, names):
    if not isinstance(got, tuple | list) or len(got) != n:
        kind = type(got).__name__ if not isinstance(got, tuple | list) else f"{len(got)} values"
        raise AssertionError(f"the result should be a tuple ({', '.join(names)}), received {kind}.")
    return [float_array(g, f"{name} (value {i} of the result)") for i, (g, name) in
            enumerate(zip(got, names, strict=True))]


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


def _explain(got, expected, hint):
    """Raise the first difference (as :func:`compare` words it); a specific ``hint`` replaces
    compare's generic diagnosis."""
    try:
        compare(got, expected, rtol=1e-9, atol=1e-12)
    except Exception as err:
        lines = str(err).split("\n")
        if hint:
            lines = [*lines[:2], f"  {hint}"]
        raise AssertionError("\n".join(lines)) from None


# ---- ex-sgd-momentum-step: one step of SGD with momentum, PyTorch's form ---------------------

@dataclass(frozen=True)
class _MomentumCase:
    theta: np.ndarray
    velocity: np.ndarray
    grad: np.ndarray
    lr: float
    momentum: float

    def step(self):
        v = self.momentum * self.velocity + self.grad
        return self.theta - self.lr * v, v


def _momentum_reference(theta, velocity, grad, lr, momentum):
    return _MomentumCase(theta, velocity, grad, lr, momentum)


@dataclass(frozen=True)
class _ChangedInPlace:
    name: str


def _keep_inputs(student):
    """Call ``student`` on its arguments and return :class:`_ChangedInPlace` if it
    modified one of the arrays it was given (the arrays are the check's own copies)."""
    def call(theta, velocity, grad, lr, momentum):
        before = [np.array(a, copy=True) for a in (theta, velocity, grad)]
        got = student(theta, velocity, grad, lr, momentum)
        for name, old, new in zip(("theta", "velocity", "grad"), before,
                                  (theta, velocity, grad), strict=True):
            if not np.array_equal(old, np.asarray(new)):
                return _ChangedInPlace(name)
        return got
    return call


def _momentum_compare(got, c: _MomentumCase):
    if isinstance(got, _ChangedInPlace):
        raise AssertionError(
            f"your function changed its input {got.name} in place. The optimiser keeps the old "
            f"arrays (and so does the caller): return new arrays, v = momentum * velocity + grad, "
            f"not velocity *= momentum or theta -= ...")
    theta, v = _pair(got, 2, ["theta", "velocity"])
    theta_e, v_e = c.step()
    if _close(theta, theta_e) and _close(v, v_e):
        return
    mu, lr, g, v0 = c.momentum, c.lr, c.grad, c.velocity
    paper_v = mu * v0 - lr * g
    v_wrong = not _close(v, v_e)      # a wrong form can give the right v (v = 0, mu = 0)
    known = [
        (v_wrong and _close(v, paper_v),
         "The velocity is the papers' v = mu v - lr g. This exercise asks for PyTorch's "
         "form v = mu v + g, theta = theta - lr v (the velocity is then -1/lr times the papers')."),
        (v_wrong and _close(v, mu * v0 + (1 - mu) * g),
         "The velocity is mu v + (1 - mu) g, an exponential average (PyTorch's dampening, or "
         "Adam's first moment). SGD's momentum adds the whole gradient: v = mu v + g."),
        (_close(v, v_e) and _close(theta, c.theta - lr * v0),
         "theta moved by the old velocity: update the velocity first, then step with the new one."),
        (_close(v, v_e) and _close(theta, c.theta + lr * v_e),
         "theta moved uphill: subtract lr times the velocity."),
        (_close(v, v_e) and _close(theta, c.theta - lr * (g + mu * v_e)),
         "That is Nesterov's step (g + mu v); the heavy ball steps with v itself."),
        (v_wrong and (_close(v, mu * v0 - g) or _close(v, -mu * v0 + g)),
         "A sign in the velocity is flipped: v = mu v + g."),
    ]
    hint = next((msg for cond, msg in known if cond), "")
    _explain([theta, v], [theta_e, v_e], hint)


def _momentum_cases():
    r = np.random.default_rng(7)
    return [
        Case("a first step: velocity 0, theta (1, -2), grad (0.5, 1), lr 0.1, momentum 0.9",
             (np.array([1.0, -2.0]), np.zeros(2), np.array([0.5, 1.0]), 0.1, 0.9)),
        Case("a later step: velocity (1, 1), grad (0.5, -1), lr 0.1, momentum 0.9",
             (np.array([1.0, -2.0]), np.ones(2), np.array([0.5, -1.0]), 0.1, 0.9)),
        Case("momentum 0: plain gradient descent",
             (np.array([3.0, 0.0, -1.0]), np.array([2.0, 2.0, 2.0]), np.array([1.0, -1.0, 4.0]),
              0.5, 0.0),
             hint="with momentum 0 the velocity is just the gradient."),
        Case("a 3 x 4 weight matrix with random velocity and gradient, lr 0.01, momentum 0.5",
             (r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.standard_normal((3, 4)),
              0.01, 0.5),
             hint="the update is elementwise: no matrix products."),
        Case("lr 1, momentum 0.99, a velocity of 100 against a gradient of -1",
             (np.zeros(2), np.array([100.0, -100.0]), np.array([-1.0, 1.0]), 1.0, 0.99)),
    ]


def check_momentum_step(momentum_step):
    r"""Check ``momentum_step(theta, velocity, grad, lr, momentum) -> (theta, velocity)``.

    PyTorch's heavy ball: :math:`v \leftarrow \mu v + g`, :math:`\theta \leftarrow
    \theta - \eta v`, returning new arrays: a function that changes its inputs in
    place fails, with a message naming the input.
    """
    student = _keep_inputs(momentum_step) if callable(momentum_step) else momentum_step
    return run_check("ex-sgd-momentum-step", student, _momentum_reference,
                     _momentum_cases(), compare_fn=_momentum_compare)


# ---- ex-sgd-adam-step: one step of Adam ------------------------------------------------------

@dataclass(frozen=True)
class _AdamCase:
    theta: np.ndarray
    grad: np.ndarray
    m: np.ndarray
    v: np.ndarray
    t: int
    lr: float
    beta1: float
    beta2: float
    eps: float

    def step(self, correct=True, eps_inside=False, t=None):
        t = self.t if t is None else t
        b1, b2 = self.beta1, self.beta2
        m = b1 * self.m + (1 - b1) * self.grad
        v = b2 * self.v + (1 - b2) * self.grad ** 2
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
        denom = np.sqrt(vh + self.eps) if eps_inside else np.sqrt(vh) + self.eps
        return self.theta - self.lr * mh / denom, m, v


def _adam_reference(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _AdamCase(theta, grad, m, v, t, lr, beta1, beta2, eps)


def _adam_compare(got, c: _AdamCase):
    theta, m, v = _pair(got, 3, ["theta", "m", "v"])
    theta_e, m_e, v_e = c.step()
    if _close(theta, theta_e) and _close(m, m_e) and _close(v, v_e):
        return
    b1, b2, g = c.beta1, c.beta2, c.grad
    moments_ok = _close(m, m_e) and _close(v, v_e)
    known = [      # a wrong form can give the right moments (g = 0)
        (not _close(m, m_e) and _close(m, b1 * c.m + g),
         "m is beta1 m + g: Adam's first moment is an average, m = beta1 m + (1 - beta1) g."),
        (not _close(v, v_e) and _close(v, b2 * c.v + (1 - b2) * np.abs(g)),
         "v averages |g|: Adam's second moment averages the squared gradient g**2."),
        (moments_ok and _close(theta, c.step(correct=False)[0]),
         "The bias correction is missing: divide m by 1 - beta1**t and v by 1 - beta2**t."),
        (moments_ok and _close(theta, c.step(eps_inside=True)[0]),
         "eps is inside the square root: PyTorch and the paper add it to sqrt(v_hat)."),
        (moments_ok and _close(theta, c.step(t=c.t - 1)[0]) if c.t > 1 else False,
         "The bias correction used t - 1: t is the number of this step, counting from 1."),
        (moments_ok and _close(theta, c.step(t=c.t + 1)[0]),
         "The bias correction used t + 1: t is already the number of this step, counting from 1."),
        (moments_ok and _close(theta, 2 * c.theta - theta_e),
         "theta moved uphill: subtract the step."),
    ]
    hint = next((msg for cond, msg in known if cond), "")
    _explain([theta, m, v], [theta_e, m_e, v_e], hint)


def _adam_cases():
    r = np.random.default_rng(11)
    g = np.array([1e-3, -0.1, 1.0, -30.0])
    return [
        Case("the first step (t = 1) from m = v = 0, default hyper-parameters",
             (np.zeros(4), g, np.zeros(4), np.zeros(4), 1),
             hint="on the first step the bias-corrected m/sqrt(v) is about sign(g): every "
                  "coordinate moves by about lr."),
        Case("step t = 3 with non-zero m and v, lr 0.01",
             (np.ones(4), g, np.full(4, 0.2), np.full(4, 0.5), 3), {"lr": 0.01}),
        Case("a 2 x 3 matrix at step t = 50, betas (0.8, 0.99)",
             (r.standard_normal((2, 3)), r.standard_normal((2, 3)), 0.1 * r.standard_normal((2, 3)),
              r.uniform(0.1, 1.0, (2, 3)), 50), {"beta1": 0.8, "beta2": 0.99}),
        Case("a tiny gradient 1e-9 with a large eps 1e-3 (eps dominates the denominator)",
             (np.zeros(3), np.full(3, 1e-9), np.zeros(3), np.zeros(3), 1), {"eps": 1e-3}),
        Case("a zero gradient at step t = 10: m and v only decay",
             (np.ones(2), np.zeros(2), np.array([0.1, -0.2]), np.array([0.01, 0.04]), 10)),
    ]


def check_adam_step(adam_step):
    r"""Check ``adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)``.

    Returns ``(theta, m, v)`` after step number ``t`` (from 1), as
    :class:`nnbook.adaptive.Adam` and ``torch.optim.Adam`` compute it.
    """
    return run_check("ex-sgd-adam-step", adam_step, _adam_reference, _adam_cases(),
                     compare_fn=_adam_compare)
