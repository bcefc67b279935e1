r"""Checks for the code exercises of the chapter on activation functions.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs
(edge cases included), compares with nnbook's reference, prints a verdict and
returns a :class:`~nnbook.exercises.feedback.CheckResult`.

Examples
--------
>>> import numpy as np
>>> def leaky_relu_backward(dout, z, negative_slope=0.01):
...     return dout * np.where(z > 0, 1.0, negative_slope)
>>> _ = check_leaky_relu_backward(leaky_relu_backward)
✓ ex-activations-leaky-backward: all 5 cases pass.
"""

from __future__ import annotations

import numpy as np

from ..activations import leaky_relu_backward as _leaky_bwd
from ..activations import leaky_relu_forward as _leaky_fwd
from ..activations import prelu_backward as _prelu_bwd
from ..activations import prelu_forward as _prelu_fwd
from ..activations import softmax_backward as _softmax_bwd
from ..activations import softmax_forward as _softmax_fwd
from .feedback import Case, run_check

__all__ = ["check_leaky_relu_backward", "check_prelu_slope_grad", "check_softmax_backward"]


# ---- ex-activations-leaky-backward: the backward of Leaky ReLU -------------------------------

def _leaky_reference(dout, z, negative_slope=0.01):
    _, cache = _leaky_fwd(z, negative_slope)
    return _leaky_bwd(dout, cache)


def _leaky_cases():
    rng = np.random.default_rng(40)
    z = np.array([[-2.0, -0.5, 0.5, 3.0]])
    return [
        Case("one row z = [-2, -0.5, 0.5, 3] with dout = 1 (the derivative itself)",
             (np.ones((1, 4)), z),
             hint="g'(z) is 1 where z > 0 and the negative slope where z < 0."),
        Case("the same z with dout = [1, 2, 3, 4]", (np.array([[1.0, 2.0, 3.0, 4.0]]), z),
             hint="the backward multiplies the upstream gradient dout by g'(z), entry by entry."),
        Case("a 5 x 3 batch with negative_slope = 0.2",
             (rng.standard_normal((5, 3)), rng.standard_normal((5, 3))),
             {"negative_slope": 0.2},
             hint="use the negative_slope argument, not a fixed 0.01."),
        Case("z exactly 0 in some entries",
             (np.ones((2, 3)), np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 2.0]])),
             hint="at z = 0 the derivative does not exist; use the negative slope there, "
                  "as PyTorch does (z > 0 is the test for the slope 1)."),
        Case("a 4 x 6 batch with negative_slope = 0 (a plain ReLU)",
             (rng.standard_normal((4, 6)), rng.standard_normal((4, 6))),
             {"negative_slope": 0.0}),
    ]


def check_leaky_relu_backward(leaky_relu_backward):
    r"""Check ``leaky_relu_backward(dout, z, negative_slope=0.01)``.

    It returns :math:`\partial L/\partial z = \text{dout} \odot g'(z)`, with
    :math:`g'(z) = 1` for :math:`z > 0` and ``negative_slope`` otherwise; all
    arrays have the shape (N, D) of ``z``.
    """
    return run_check("ex-activations-leaky-backward", leaky_relu_backward, _leaky_reference,
                     _leaky_cases())


# ---- ex-activations-softmax-backward: the vector-Jacobian product of softmax ------------------

def _softmax_reference(dout, p):
    return _softmax_bwd(dout, p)


def _softmax_cases():
    rng = np.random.default_rng(41)

    def probs(shape):
        return _softmax_fwd(rng.standard_normal(shape))[0]

    p2 = np.array([[0.25, 0.75], [0.6, 0.4]])
    return [
        Case("two rows of two classes, p = [[0.25, 0.75], [0.6, 0.4]], "
             "dout = [[1, 0], [0, 1]]", (np.array([[1.0, 0.0], [0.0, 1.0]]), p2),
             hint="changing z_1 changes every p_k, not only p_1: the Jacobian is "
                  "diag(p) - p p^T, not diagonal; and each row is its own softmax, so "
                  "<dout, p> is a sum over the classes of that row (axis 1)."),
        Case("a uniform dout = [1, 1, 1] (softmax outputs always sum to 1)",
             (np.ones((1, 3)), probs((1, 3))),
             hint="adding a constant to every entry of dout changes nothing: the result must "
                  "be 0."),
        Case("a batch of 4 rows and 3 classes", (rng.standard_normal((4, 3)), probs((4, 3))),
             hint="each row is its own softmax: sum over the classes (axis 1), one sum per "
                  "row, and keep it as a column (keepdims) so it broadcasts."),
        Case("a batch of 3 rows and 5 classes", (rng.standard_normal((3, 5)), probs((3, 5)))),
        Case("one confident row, p close to one-hot", (rng.standard_normal((1, 4)),
             _softmax_fwd(np.array([[8.0, 0.0, -1.0, 1.0]]))[0])),
    ]


def check_softmax_backward(softmax_backward):
    r"""Check ``softmax_backward(dout, p)``, with ``p`` the softmax output of each row.

    It returns :math:`\partial L/\partial z` of shape (N, C), row by row
    :math:`p \odot (\text{dout} - \langle \text{dout}, p\rangle)`.
    """
    return run_check("ex-activations-softmax-backward", softmax_backward, _softmax_reference,
                     _softmax_cases(), atol=1e-12)


# ---- ex-activations-prelu-slope: the gradient of PReLU's learned slope ------------------------

def _prelu_reference(dout, z, a):
    _, cache = _prelu_fwd(z, np.array([a]))
    return float(_prelu_bwd(dout, cache)[1][0])


def _as_number(prelu_slope_grad):
    """Accept a size-1 array (what ``nb.PReLU().a.grad`` holds) as the number it holds."""
    def wrapped(*args, **kwargs):
        out = prelu_slope_grad(*args, **kwargs)
        if hasattr(out, "shape") and tuple(out.shape) in ((), (1,), (1, 1)):
            return float(out.reshape(-1)[0])
        return out
    return wrapped


def _prelu_cases():
    rng = np.random.default_rng(42)
    return [
        Case("one row z = [-2, 1] with dout = [1, 1] and a = 0.25",
             (np.ones((1, 2)), np.array([[-2.0, 1.0]]), 0.25),
             hint="only the entries with z <= 0 depend on a: there g(z) = a z, so dg/da = z; "
                  "and one slope is shared by all units: sum over every axis, not axis 0 "
                  "(one number, not one per unit)."),
        Case("z all positive (the slope is not used at all)",
             (np.ones((2, 2)), np.array([[1.0, 2.0], [0.5, 3.0]]), 0.25)),
        Case("a 5 x 4 batch, a = 0.1", (rng.standard_normal((5, 4)),
                                         rng.standard_normal((5, 4)), 0.1),
             hint="one slope is shared by every unit and every sample: add up all their "
                  "contributions into one number."),
        Case("a 3 x 2 batch, a = -0.5", (rng.standard_normal((3, 2)),
                                          rng.standard_normal((3, 2)), -0.5),
             hint="the gradient with respect to a does not depend on a itself."),
    ]


def check_prelu_slope_grad(prelu_slope_grad):
    r"""Check ``prelu_slope_grad(dout, z, a)``: :math:`\partial L/\partial a` for one shared slope.

    ``dout`` and ``z`` have shape (N, D), ``a`` is a float; the answer is a number
    (a float, or an array holding one number, like ``nb.PReLU().a.grad``),
    :math:`\sum_{n,j} \text{dout}_{nj}\,\min(z_{nj}, 0)`.
    """
    return run_check("ex-activations-prelu-slope", _as_number(prelu_slope_grad),
                     _prelu_reference, _prelu_cases())
