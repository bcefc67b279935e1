r"""Checks for the code exercises of the backpropagation chapter.

Each ``check_<name>(fn)`` runs the student's function on several inputs, edge
cases included, against nnbook's own reference, and prints one verdict: every
case passes, or the first case that fails with the gradient concerned (``dW``,
``db1``...), the expected and the received shape or value, the first wrong entry,
and a hint. It never shows the reference's code or its full output.

>>> import numpy as np
>>> def linear_backward(dout, x, W):
...     return dout @ W, dout.T @ x, dout.sum(axis=0)
>>> _ = check_linear_backward(linear_backward)
✓ ex-backprop-linear: all 5 cases pass.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from ..layers import linear_backward as _linear_backward
from ..layers import mlp as _mlp
from ..losses import CrossEntropyLoss
from .feedback import Case, CheckResult, _Mismatch, compare, run_check

__all__ = ["check_linear_backward", "check_mlp_backward", "check_numerical_gradient",
           "check_rnn_backward", "check_softplus"]


def _rng(seed):
    return np.random.default_rng(seed)


def _gradients_compare(names, hints=None, order=None, rtol=1e-6, atol=1e-9):
    """A ``compare_fn`` for a tuple of gradients: each named, with gradient-specific diagnoses.

    ``order`` lists the positions in the order they are compared (the output layer's
    gradients first: an error there explains the errors below it). A gradient's
    hint is added only when no generic diagnosis (sign, factor, transpose) was found.
    """
    hints = hints or {}
    order = list(range(len(names))) if order is None else order

    def compare_fn(got, expected):
        if not isinstance(got, tuple | list):
            raise AssertionError(f"your function should return a tuple of {len(names)} arrays "
                                 f"({', '.join(names)}), received {type(got).__name__}.")
        if len(got) != len(expected):
            raise AssertionError(f"your function should return {len(names)} arrays "
                                 f"({', '.join(names)}), received {len(got)}.")
        for k in order:
            name, g, e = names[k], got[k], expected[k]
            try:
                compare(g, e, rtol=rtol, atol=atol, name=name)
            except _Mismatch as err:
                msg = str(err)
                g_arr = to_numpy(g) if not isinstance(g, np.ndarray) else g
                e_arr = np.asarray(e)
                if (isinstance(g_arr, np.ndarray) and g_arr.shape == e_arr.shape
                        and e_arr.ndim == 2 and e_arr.shape[0] == e_arr.shape[1]
                        and np.allclose(g_arr, e_arr.T, rtol=rtol, atol=atol)):
                    msg += ("\n  Your result is the transpose of the expected one: a weight "
                            "gradient has the shape of W, (D_out, D_in).")
                diagnosed = any(w in msg for w in ("opposite sign", "times the expected",
                                                    "transpose", "received nan", "received inf"))
                if name in hints and not diagnosed:
                    msg += f"\n  {hints[name]}"
                raise AssertionError(msg) from None

    return compare_fn


# --------------------------------------------------------------------------
# ex-backprop-linear: the backward pass of a linear layer
# --------------------------------------------------------------------------

def _ref_linear_backward(dout, x, W):
    return _linear_backward(dout, (x, W))


def _linear_cases():
    r = _rng(0)
    return [
        Case("one sample, 2 inputs, 3 outputs (small integers)",
             (np.array([[1.0, -2.0, 0.5]]), np.array([[3.0, -1.0]]),
              np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 1.0]])),
             hint="here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has "
                  "the shape of its array: dx (1, 2), dW (3, 2), db (3,)."),
        Case("a batch of 4 samples, 3 inputs, 2 outputs",
             (r.standard_normal((4, 2)), r.standard_normal((4, 3)),
              r.standard_normal((2, 3)))),
        Case("a square layer: 3 inputs, 3 outputs, a batch of 5",
             (r.standard_normal((5, 3)), r.standard_normal((5, 3)),
              r.standard_normal((3, 3))),
             hint="with as many inputs as outputs, a missing transpose keeps the shape: "
                  "compare the order of your matrix products with the shape table."),
        Case("one output unit, a batch of 6",
             (r.standard_normal((6, 1)), r.standard_normal((6, 4)),
              r.standard_normal((1, 4)))),
        Case("a batch of 3 whose upstream gradient is zero for one sample",
             (np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 0.5]]), r.standard_normal((3, 4)),
              r.standard_normal((2, 4)))),
    ]


def check_linear_backward(linear_backward) -> CheckResult:
    r"""Check ``linear_backward(dout, x, W) -> (dx, dW, db)`` for :math:`y = x W^\top + b`.

    ``dout`` (N, D_out), ``x`` (N, D_in), ``W`` (D_out, D_in); the gradients of
    the loss: ``dx`` (N, D_in), ``dW`` (D_out, D_in), ``db`` (D_out,).
    """
    compare_fn = _gradients_compare(
        ["dx", "dW", "db"],
        hints={"db": "Hint: each bias is added to every sample of the batch, so its gradient "
                     "collects the upstream gradient of all of them.",
               "dW": "Hint: dW[i, j] adds up dout[n, i] * x[n, j] over the samples n."})
    return run_check("ex-backprop-linear", linear_backward, _ref_linear_backward,
                     _linear_cases(), compare_fn=compare_fn)


# --------------------------------------------------------------------------
# ex-backprop-mlp: the whole backward pass of a 2-layer ReLU MLP on a batch
# --------------------------------------------------------------------------

def _ref_mlp_backward(X, y, W1, b1, W2, b2):
    model = _mlp([W1.shape[1], W1.shape[0], W2.shape[0]], "relu", rng=np.random.default_rng(0))
    for p, value in zip(model.parameters(), (W1, b1, W2, b2), strict=True):
        p.data = np.array(value, dtype=float)
    loss = CrossEntropyLoss()
    loss(model.forward(np.asarray(X, dtype=float)), y)
    model.backward(loss.backward(), input_grad=False)
    return tuple(p.grad for p in model.parameters())


def _mlp_case(seed, n, d, h, c, desc, scale=1.0, hint=""):
    r = _rng(seed)
    return Case(desc, (r.standard_normal((n, d)), r.integers(0, c, n),
                       scale * r.standard_normal((h, d)), 0.1 * r.standard_normal(h),
                       scale * r.standard_normal((c, h)), 0.1 * r.standard_normal(c)),
                hint=hint)


def _mlp_cases():
    return [
        Case("one sample, 2 inputs, 2 hidden units (the first one inactive), 2 classes",
             (np.array([[1.0, 2.0]]), np.array([1]),
              np.array([[1.0, -1.0], [0.5, 0.5]]), np.zeros(2),
              np.array([[1.0, 2.0], [-1.0, 1.0]]), np.zeros(2))),
        _mlp_case(1, 5, 4, 6, 3, "a batch of 5, 4 inputs, 6 hidden units, 3 classes"),
        _mlp_case(2, 8, 3, 3, 4, "a batch of 8, 3 inputs, 3 hidden units, 4 classes"),
        _mlp_case(3, 4, 5, 7, 2, "large weights: logits from about 600 to 22 000", scale=30.0,
                  hint="exp of a large logit overflows: subtract each row's largest logit "
                       "before the exponential (softmax does not change)."),
    ]


def check_mlp_backward(mlp_backward) -> CheckResult:
    r"""Check ``mlp_backward(X, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)``.

    The network is :math:`Z = \operatorname{relu}(X W_1^\top + b_1) W_2^\top + b_2`
    with the cross-entropy loss averaged over the batch, as ``nnbook.mlp([D, H, C],
    "relu")`` with ``nnbook.CrossEntropyLoss()``.
    """
    compare_fn = _gradients_compare(
        ["dW1", "db1", "dW2", "db2"],
        hints={"dW1": "Hint: the hidden layer's error signal is relu'(Z1) * (delta2 @ W2); "
                      "relu'(z) is 1 where z > 0 and 0 elsewhere.",
               "db1": "Hint: the hidden layer's error signal is relu'(Z1) * (delta2 @ W2).",
               "dW2": "Hint: the output error signal of softmax with cross-entropy, averaged "
                      "over N samples, is (P - one_hot(y)) / N.",
               "db2": "Hint: the output error signal of softmax with cross-entropy, averaged "
                      "over N samples, is (P - one_hot(y)) / N."},
        order=[2, 3, 0, 1])
    return run_check("ex-backprop-mlp", mlp_backward, _ref_mlp_backward, _mlp_cases(),
                     compare_fn=compare_fn)


# --------------------------------------------------------------------------
# ex-backprop-gradcheck: central differences
# --------------------------------------------------------------------------

class _Fn:
    """A test function with its exact gradient and a readable name."""

    def __init__(self, name, f, grad):
        self.name, self.f, self.grad = name, f, grad

    def __call__(self, x):
        return self.f(x)

    def __repr__(self):
        return self.name

    def __deepcopy__(self, memo):
        return self


_A = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0], [1.0, 1.0, -2.0]])
_FUNCTIONS = {
    "cubic": _Fn("f(x) = sum(x**3)", lambda x: float(np.sum(x ** 3)), lambda x: 3 * x ** 2),
    "quadratic": _Fn("f(x) = x^T A x", lambda x: float(x @ _A @ x), lambda x: (_A + _A.T) @ x),
    "lse": _Fn("f(X) = log sum exp(X)", lambda x: float(np.log(np.sum(np.exp(x)))),
               lambda x: np.exp(x) / np.sum(np.exp(x))),
    "sin": _Fn("f(x) = sum(sin(3 x))", lambda x: float(np.sum(np.sin(3 * x))),
               lambda x: 3 * np.cos(3 * x)),
}


def _ref_numerical_gradient(f, x, eps=1e-6):
    return f.grad(np.asarray(x, dtype=float))


def _gradcheck_cases():
    r = _rng(7)
    return [
        Case("f(x) = sum(x**3) at x = (1, -2, 0.5)",
             (_FUNCTIONS["cubic"], np.array([1.0, -2.0, 0.5]))),
        Case("f(x) = x^T A x, a quadratic, at a random x of length 3",
             (_FUNCTIONS["quadratic"], r.standard_normal(3))),
        Case("f(x) = sum(sin(3 x)) at a random x of length 5, eps = 1e-5",
             (_FUNCTIONS["sin"], r.standard_normal(5)), {"eps": 1e-5},
             hint="use the eps you are given."),
        Case("f(X) = log sum exp(X) for a 2 x 3 matrix X",
             (_FUNCTIONS["lse"], r.standard_normal((2, 3))),
             hint="x may have any shape: loop over np.ndindex(*x.shape), and return an "
                  "array of x's shape."),
    ]


class _ChangedInput:
    """What the wrapper returns when the student's function modified its input."""


def check_numerical_gradient(numerical_gradient) -> CheckResult:
    r"""Check ``numerical_gradient(f, x, eps=1e-6)``, the central-difference gradient.

    ``f(x)`` returns a float for an array ``x`` of any shape; the result has
    ``x``'s shape. It is compared with the exact gradient, with a tolerance
    (relative 1e-7) that central differences meet and one-sided ones do not.
    """
    def student(f, x, **kw):
        x_before = x.copy()
        out = numerical_gradient(f, x, **kw)
        return _ChangedInput() if not np.array_equal(x, x_before) else out

    def compare_fn(got, expected):
        if isinstance(got, _ChangedInput):
            raise AssertionError("your function changed x: restore each entry after "
                                 "perturbing it (or perturb a copy).")
        try:
            compare(got, expected, rtol=1e-7, atol=1e-8, name="the gradient")
        except _Mismatch as err:
            msg = str(err)
            if "has wrong values" in msg and "times the expected" not in msg:
                msg += ("\n  Hint: the error is larger than central differences make: "
                        "use (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).")
            raise AssertionError(msg) from None

    if not callable(numerical_gradient):
        student = numerical_gradient
    return run_check("ex-backprop-gradcheck", student, _ref_numerical_gradient,
                     _gradcheck_cases(), compare_fn=compare_fn)


# --------------------------------------------------------------------------
# ex-backprop-softplus: a new activation, forward and backward
# --------------------------------------------------------------------------

def _ref_softplus(z, dout):
    s = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))),
                 np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
    return np.logaddexp(0.0, z), dout * s


def _softplus_cases():
    r = _rng(11)
    return [
        Case("z = (-1, 0, 2) with dout = (1, 1, 1)",
             (np.array([-1.0, 0.0, 2.0]), np.ones(3))),
        Case("a 4 x 3 batch of z with a random dout",
             (r.standard_normal((4, 3)), r.standard_normal((4, 3)))),
        Case("large |z|: z = (-800, -40, 40, 800)",
             (np.array([-800.0, -40.0, 40.0, 800.0]), np.array([1.0, 2.0, 3.0, 4.0])),
             hint="log(1 + exp(z)) overflows for large z: use "
                  "softplus(z) = max(z, 0) + log(1 + exp(-|z|)), and compute the sigmoid "
                  "without exp of a large positive number."),
    ]


def check_softplus(softplus_forward, softplus_backward) -> CheckResult:
    r"""Check the pair ``softplus_forward(z) -> (out, cache)`` and
    ``softplus_backward(dout, cache) -> dz``, for :math:`\log(1 + e^z)`.

    The pair is run as ``out, cache = softplus_forward(z)`` then
    ``softplus_backward(dout, cache)``; both results are compared, as
    ``(out, dz)``, with finite, exact values, large :math:`|z|` included.
    """
    if not (callable(softplus_forward) and callable(softplus_backward)):
        student = softplus_forward if not callable(softplus_forward) else softplus_backward
    else:
        def student(z, dout):
            out, cache = softplus_forward(z)
            return out, softplus_backward(dout, cache)

    compare_fn = _gradients_compare(
        ["the forward output", "dz"],
        hints={"dz": "Hint: the derivative of log(1 + e^z) is the sigmoid of z; "
                     "multiply it by dout."})
    return run_check("ex-backprop-softplus", student, _ref_softplus, _softplus_cases(),
                     compare_fn=compare_fn)


# --------------------------------------------------------------------------
# ex-backprop-bptt: backpropagation through time
# --------------------------------------------------------------------------

def _rnn_states(X, h0, W, U):
    hs = [h0]
    for x_t in X:
        hs.append(np.tanh(hs[-1] @ W.T + x_t @ U.T))
    return np.stack(hs)


def _ref_rnn_backward(G, hs, X, W, U):
    dW, dU, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(hs[0])
    for t in range(len(X), 0, -1):
        delta = (dh + G[t - 1]) * (1.0 - hs[t] ** 2)
        dW += delta.T @ hs[t - 1]
        dU += delta.T @ X[t - 1]
        dh = delta @ W
    return dW, dU, dh


def _rnn_case(seed, T, N, D, H, desc, hint=""):
    r = _rng(seed)
    X, h0 = r.standard_normal((T, N, D)), r.standard_normal((N, H))
    W, U = 0.5 * r.standard_normal((H, H)), r.standard_normal((H, D))
    G = r.standard_normal((T, N, H))
    return Case(desc, (G, _rnn_states(X, h0, W, U), X, W, U), hint=hint)


def _rnn_cases():
    return [
        _rnn_case(20, 1, 2, 3, 4, "one time step (T = 1), 2 sequences, 3 inputs, 4 units",
                  hint="with T = 1 this is one tanh layer: delta = G[0] * (1 - h_1^2), "
                       "dW = delta^T h_0, dU = delta^T x_1, dh0 = delta W."),
        _rnn_case(21, 3, 2, 3, 4, "T = 3 steps, 2 sequences, 3 inputs, 4 units",
                  hint="the gradient reaching h_t is G[t - 1] plus what flows back from "
                       "step t + 1; the shared W and U add up their gradients over the steps."),
        _rnn_case(22, 6, 1, 2, 3, "T = 6 steps, one sequence, 2 inputs, 3 units"),
    ]


def check_rnn_backward(rnn_backward) -> CheckResult:
    r"""Check ``rnn_backward(G, hs, X, W, U) -> (dW, dU, dh0)`` for
    :math:`h_t = \tanh(W h_{t-1} + U x_t)`.

    ``X`` (T, N, D), ``hs`` (T + 1, N, H) the states :math:`h_0, \dots, h_T`,
    ``G`` (T, N, H) with ``G[t - 1]`` :math:`= \partial L/\partial h_t` read directly
    by the loss (not through later steps).
    """
    compare_fn = _gradients_compare(["dW", "dU", "dh0"])
    return run_check("ex-backprop-bptt", rnn_backward, _ref_rnn_backward, _rnn_cases(),
                     compare_fn=compare_fn)
