r"""Checks for the code exercises of the chapter on convexity and the loss landscape.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs
(edge cases included), compares with nnbook's reference, prints a verdict and
returns a :class:`~nnbook.exercises.feedback.CheckResult`.

Examples
--------
>>> import numpy as np
>>> def hessian_vector_product(grad, theta, v, eps=1e-5):
...     return (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)
>>> _ = check_hessian_vector_product(hessian_vector_product)
✓ ex-convexity-hvp: all 5 cases pass.
"""

from __future__ import annotations

import numpy as np

from .. import landscapes as _ls
from .feedback import Case, run_check

__all__ = ["check_classify_critical_point", "check_hessian_vector_product",
           "check_power_iteration"]

_REFUSED = "raises ValueError"


# ---- ex-convexity-classify: the Hessian test ---------------------------------------------------

def _classify_reference(gradient, hessian, tol=1e-8):
    return _ls.classify_critical_point(gradient, hessian, grad_tol=1e-6, eig_tol=tol)


def _outcome(fn):
    """The function's answer, or ``"raises ValueError"`` when it refuses the input."""
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError:
            return _REFUSED
    return run


def _rotated(eigenvalues, angle=0.7):
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag(eigenvalues) @ R.T


def _classify_cases():
    z2, z3 = np.zeros(2), np.zeros(3)
    return [
        Case("a bowl: Hessian diag(1, 3) at a zero gradient", (z2, np.diag([1.0, 3.0]))),
        Case("a hilltop: Hessian diag(-2, -0.5)", (z2, np.diag([-2.0, -0.5]))),
        Case("a saddle: Hessian diag(2, -1)", (z2, np.diag([2.0, -1.0]))),
        Case("a Hessian with positive diagonal entries (2, 2) but eigenvalues 3 and -1",
             (z2, np.array([[1.0, 2.0], [2.0, 1.0]])),
             hint="the test uses the eigenvalues of H (numpy.linalg.eigvalsh), not its "
                  "diagonal entries: the diagonal only gives the curvature along the axes."),
        Case("a rotated hilltop: eigenvalues -1 and -4 in tilted directions",
             (z2, _rotated([-1.0, -4.0]))),
        Case("eigenvalues 2, 0 and 1: one direction is flat",
             (z3, np.diag([2.0, 0.0, 1.0])),
             hint="a zero eigenvalue (within tol) leaves the test undecided, unless other "
                  "eigenvalues of both signs already prove a saddle."),
        Case("eigenvalues 2, 0 and -1: a flat direction, but also curvature of both signs",
             (z3, np.diag([2.0, 0.0, -1.0])),
             hint="one positive and one negative eigenvalue make a saddle whatever the others are."),
        Case("eigenvalues -3 and -1e-12 (zero up to rounding)",
             (z2, np.diag([-3.0, -1e-12])),
             hint="compare |lambda| with tol times max(1, the largest |lambda|), not with 0."),
        Case("eigenvalues 1 and 0.05 with tol = 0.1: 0.05 counts as zero",
             (z2, np.diag([1.0, 0.05])), {"tol": 0.1},
             hint="use the tol argument: an eigenvalue counts as zero when |lambda| <= tol * "
                  "max(1, the largest |lambda|), here 0.1."),
        Case("a gradient of norm 1e-7, below 1e-6: still a critical point",
             (np.array([1e-7, 0.0]), np.diag([1.0, 3.0])),
             hint="the gradient counts as zero up to a norm of 1e-6 (compare "
                  "numpy.linalg.norm(gradient) with 1e-6)."),
        Case("a point where the gradient is (0.5, 0), not zero",
             (np.array([0.5, 0.0]), np.diag([1.0, 3.0])),
             hint="the Hessian test applies at critical points only: raise a ValueError when "
                  "the gradient is not zero (norm above 1e-6)."),
    ]


def check_classify_critical_point(classify):
    r"""Check ``classify(gradient, hessian, tol=1e-8)`` -> ``"minimum"``, ``"maximum"``,
    ``"saddle"`` or ``"undecided"``.

    ``gradient`` (d,) and ``hessian`` (d, d) are NumPy arrays; a gradient of norm
    above 1e-6 must be refused with a ``ValueError``; an eigenvalue counts as zero
    when :math:`|\lambda| \le` ``tol`` :math:`\cdot \max(1, \max_i |\lambda_i|)`.
    """
    return run_check("ex-convexity-classify", _outcome(classify), _outcome(_classify_reference),
                     _classify_cases())


# ---- ex-convexity-hvp: a Hessian-vector product from two gradients -----------------------------

def _hvp_reference(grad, theta, v, eps=1e-5):
    return _FUNCTIONS[grad.key].hessian(np.asarray(theta, dtype=float)) @ v


# The test functions behind the gradients the check passes; the reference uses their exact
# Hessians (the student's finite differences must match them to about 1e-6).
_FUNCTIONS = {
    "bowl": _ls.Quadratic.with_condition_number(10.0, angle=0.4),
    "rosenbrock": _ls.Rosenbrock(),
    "well": _ls.DoubleWell(tilt=0.3),
    "bowl5": _ls.Quadratic.with_condition_number(100.0, dim=5),
}


class _Gradient:
    """A picklable, printable gradient function: ``grad(theta) -> (d,)``."""

    def __init__(self, key):
        self.key = key

    def __call__(self, theta):
        return _FUNCTIONS[self.key].gradient(np.asarray(theta, dtype=float))

    def __repr__(self):
        return f"gradient of {_FUNCTIONS[self.key].name}"


def _hvp_cases():
    return [
        Case("the quadratic bowl (kappa = 10) at (1, -0.5), v = (1, 0)",
             (_Gradient("bowl"), np.array([1.0, -0.5]), np.array([1.0, 0.0]))),
        Case("Rosenbrock's function at (0.5, 0.8), v = (0.3, -2)",
             (_Gradient("rosenbrock"), np.array([0.5, 0.8]), np.array([0.3, -2.0])),
             hint="use central differences, (g(theta + eps v) - g(theta - eps v)) / (2 eps): a "
                  "one-sided difference has an error of order eps, visible on a non-quadratic."),
        Case("the double well at (0.2, 1), v = (2, 1)",
             (_Gradient("well"), np.array([0.2, 1.0]), np.array([2.0, 1.0]))),
        Case("a 5-D quadratic (kappa = 100) at theta = (-1, -0.5, 0, 0.5, 1), "
             "v = (0.5, -1, 2, 0, 1)",
             (_Gradient("bowl5"), np.linspace(-1.0, 1.0, 5), np.array([0.5, -1.0, 2.0, 0.0, 1.0])),
             hint="the result has the shape of theta: one entry per parameter."),
        Case("Rosenbrock's function at (-1, 1), v = 0",
             (_Gradient("rosenbrock"), np.array([-1.0, 1.0]), np.zeros(2))),
    ]


def check_hessian_vector_product(hessian_vector_product):
    r"""Check ``hessian_vector_product(grad, theta, v, eps=1e-5)`` -> :math:`H(\theta)\,v`, shape (d,).

    ``grad(theta)`` returns the exact gradient (d,); the product is to be computed
    from two calls of it, by central differences, without forming :math:`H`.
    """
    return run_check("ex-convexity-hvp", hessian_vector_product, _hvp_reference, _hvp_cases(),
                     rtol=1e-6, atol=1e-6)


# ---- ex-convexity-power: the largest eigenvalue from matrix-vector products -------------------

def _power_reference(matvec, v0, iters=200):
    A = matvec.A
    lam = np.linalg.eigvalsh(A)
    return float(lam[np.argmax(np.abs(lam))])


class _MatVec:
    """``matvec(v) -> A v`` for a fixed symmetric matrix, printable by its eigenvalues."""

    def __init__(self, eigenvalues, seed):
        rng = np.random.default_rng(seed)
        Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
        self.A = (Q * np.asarray(eigenvalues, dtype=float)) @ Q.T
        self.A = (self.A + self.A.T) / 2.0
        self.eigenvalues = eigenvalues

    def __call__(self, v):
        return self.A @ v

    def __repr__(self):
        return f"matvec with eigenvalues {self.eigenvalues}"


def _power_cases():
    return [
        Case("a 3 x 3 matrix with eigenvalues 5, 1, 0.5",
             (_MatVec([5.0, 1.0, 0.5], 0), np.ones(3))),
        Case("a 10 x 10 positive semi-definite matrix, top eigenvalue 3 "
             "(then 1, 0.875, 0.75, ..., 0)",
             (_MatVec([3.0, *np.linspace(1.0, 0.0, 9).tolist()], 1), np.ones(10))),
        Case("a matrix whose eigenvalue of largest magnitude is negative: -4 (then 2, 1)",
             (_MatVec([-4.0, 2.0, 1.0], 2), np.array([1.0, 0.0, 0.0])),
             hint="return the Rayleigh quotient v.(A v) / (v.v): the ratio of norms |A v| / |v| "
                  "loses the sign of a negative eigenvalue."),
        Case("top eigenvalue 50 and 400 iterations: 50**400 overflows unless v is normalised",
             (_MatVec([50.0, 10.0, 1.0, 0.1], 3), np.ones(4)), {"iters": 400},
             hint="divide v by its norm after every product, or its entries overflow to inf."),
    ]


def check_power_iteration(power_iteration):
    r"""Check ``power_iteration(matvec, v0, iters=200)`` -> the eigenvalue of largest magnitude.

    ``matvec(v)`` returns :math:`A v` for a symmetric :math:`A` that the function
    never sees; the answer must agree with the exact eigenvalue to a relative 1e-6.
    """
    return run_check("ex-convexity-power", power_iteration, _power_reference, _power_cases(),
                     rtol=1e-6, atol=1e-9)
