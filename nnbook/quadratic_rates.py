r"""Gradient descent and momentum on a quadratic, in closed form.

On :math:`f(\theta) = \tfrac12 \theta^\top A \theta` with :math:`A` symmetric
positive definite, eigenvalues :math:`0 < \mu = \lambda_\min \le \dots \le
\lambda_\max = L` and condition number :math:`\kappa = L/\mu`, every method of
this chapter is a linear iteration, and its speed is the spectral radius of the
iteration matrix:

* gradient descent, :math:`\theta \leftarrow (I - \eta A)\theta`: each eigen-
  component is multiplied by :math:`1 - \eta\lambda`, so the error shrinks by
  :math:`\rho(\eta) = \max_\lambda |1 - \eta\lambda|` per step. It diverges for
  :math:`\eta > 2/L` (:func:`max_stable_step`); the best step
  :math:`\eta^* = 2/(\mu + L)` (:func:`optimal_step`) gives
  :math:`\rho = (\kappa-1)/(\kappa+1)` (:func:`gd_rate`);
* heavy-ball momentum (Polyak, 1964) with :math:`\eta = 4/(\sqrt L+\sqrt\mu)^2`,
  :math:`\beta = ((\sqrt\kappa-1)/(\sqrt\kappa+1))^2`
  (:func:`heavy_ball_parameters`) gives :math:`\rho = (\sqrt\kappa-1)/(\sqrt\kappa+1)`
  (:func:`heavy_ball_rate`): :math:`\sqrt\kappa` in place of :math:`\kappa`.

:func:`momentum_rate` gives the rate of any step size and momentum (heavy ball or
Nesterov, in PyTorch's form) from the 2 x 2 iteration matrix of each eigenvalue;
:func:`descend` runs the iteration itself; :func:`measured_rate` reads the rate off
a run.
"""

from __future__ import annotations

import math

import numpy as np

from .backend import check_int, check_real

__all__ = ["condition_number", "descend", "gd_rate", "gd_rate_at", "heavy_ball_parameters",
           "heavy_ball_rate", "max_stable_step", "measured_rate", "momentum_rate",
           "optimal_step"]


def _eigenvalues(eigenvalues, name="eigenvalues"):
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)) or not np.all(lam > 0):
        raise ValueError(f"{name} must be a non-empty 1-D array of positive numbers (a positive "
                         f"definite Hessian), got {np.array2string(np.atleast_1d(lam), threshold=6)}")
    return lam


def _mu_L(lam_min, lam_max):
    mu = check_real(lam_min, "lam_min", 0, low_open=True)
    L = check_real(lam_max, "lam_max", 0, low_open=True)
    if mu > L:
        raise ValueError(f"lam_min must be <= lam_max, got lam_min={mu:g} > lam_max={L:g}")
    return mu, L


def condition_number(eigenvalues) -> float:
    r""":math:`\kappa = \lambda_\max/\lambda_\min` of positive eigenvalues."""
    lam = _eigenvalues(eigenvalues)
    return float(lam.max() / lam.min())


def max_stable_step(lam_max: float) -> float:
    r"""The divergence threshold :math:`2/\lambda_\max`: gradient descent on the quadratic
    converges for :math:`0 < \eta < 2/\lambda_\max` and diverges for :math:`\eta > 2/\lambda_\max`
    (at equality the top component oscillates without shrinking).

    In 1-D, :math:`\eta_{\text{opt}} = 1/\lambda` reaches the minimum in one step, and
    the threshold is :math:`2\eta_{\text{opt}}`.
    """
    return 2.0 / check_real(lam_max, "lam_max", 0, low_open=True)


def optimal_step(lam_min: float, lam_max: float) -> float:
    r"""The step :math:`\eta^* = 2/(\lambda_\min + \lambda_\max)` that minimises
    :math:`\max_\lambda |1 - \eta\lambda|`."""
    mu, L = _mu_L(lam_min, lam_max)
    return 2.0 / (mu + L)


def gd_rate(kappa: float) -> float:
    r"""Gradient descent's rate at the optimal step: :math:`(\kappa-1)/(\kappa+1)`.

    The error :math:`\lVert\theta_k - \theta^*\rVert` shrinks by at least this factor per
    step (exactly this factor for a start with a component along both extreme
    eigenvectors). Steps to gain a factor :math:`10`: about :math:`1.15\,\kappa`.
    """
    kappa = check_real(kappa, "kappa", 1)
    return (kappa - 1.0) / (kappa + 1.0)


def gd_rate_at(lr: float, eigenvalues) -> float:
    r"""Gradient descent's rate at step ``lr``: :math:`\max_\lambda |1 - \eta\lambda|` (> 1: diverges)."""
    lr = check_real(lr, "lr", 0, low_open=True)
    lam = _eigenvalues(eigenvalues)
    return float(np.max(np.abs(1.0 - lr * lam)))


def heavy_ball_parameters(lam_min: float, lam_max: float) -> tuple[float, float]:
    r"""Polyak's optimal heavy-ball parameters :math:`(\eta, \beta)` for eigenvalues in
    :math:`[\mu, L]`:

    .. math::
        \eta = \frac{4}{(\sqrt L + \sqrt\mu)^2}, \qquad
        \beta = \left(\frac{\sqrt L - \sqrt\mu}{\sqrt L + \sqrt\mu}\right)^2.

    In PyTorch's form (``SGD(lr=eta, momentum=beta)``) with a constant rate these
    are the same numbers.
    """
    mu, L = _mu_L(lam_min, lam_max)
    s = math.sqrt(L) + math.sqrt(mu)
    return 4.0 / s ** 2, ((math.sqrt(L) - math.sqrt(mu)) / s) ** 2


def heavy_ball_rate(kappa: float) -> float:
    r"""Heavy ball's rate with the optimal parameters: :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`."""
    kappa = check_real(kappa, "kappa", 1)
    r = math.sqrt(kappa)
    return (r - 1.0) / (r + 1.0)


def _matrices(lr, momentum, lam, nesterov):
    """The (n, 2, 2) matrices mapping (theta, v) to (theta', v') for each eigenvalue."""
    b = momentum
    M = np.empty((lam.size, 2, 2))
    if nesterov:                    # v' = b v + l th;  th' = th - lr (l th + b v')
        M[:, 0, 0] = 1.0 - lr * lam * (1.0 + b)
        M[:, 0, 1] = -lr * b * b
    else:                           # v' = b v + l th;  th' = th - lr v'
        M[:, 0, 0] = 1.0 - lr * lam
        M[:, 0, 1] = -lr * b
    M[:, 1, 0] = lam
    M[:, 1, 1] = b
    return M


def momentum_rate(lr: float, momentum: float, eigenvalues, *, nesterov: bool = False) -> float:
    r"""Asymptotic rate of SGD with momentum on the quadratic: the spectral radius of its iteration.

    In PyTorch's form :math:`v \leftarrow \beta v + \lambda\theta`,
    :math:`\theta \leftarrow \theta - \eta v` (heavy ball) or
    :math:`\theta \leftarrow \theta - \eta(\lambda\theta + \beta v)` (Nesterov), each
    eigen-component evolves by a 2 x 2 matrix; the rate is the largest modulus of
    their eigenvalues (> 1: diverges). With ``momentum=0`` this is
    :func:`gd_rate_at`.
    """
    lr = check_real(lr, "lr", 0, low_open=True)
    momentum = check_real(momentum, "momentum", 0, 1, high_open=True)
    lam = _eigenvalues(eigenvalues)
    M = _matrices(lr, momentum, lam, bool(nesterov))
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def descend(A, x0, lr: float, steps: int, *, momentum: float = 0.0,
            nesterov: bool = False) -> np.ndarray:
    r"""Run (momentum) gradient descent on :math:`f(x) = \tfrac12 x^\top A x`, PyTorch's form.

    ``v = momentum * v + g; x -= lr * v`` (``x -= lr * (g + momentum * v)`` with
    ``nesterov``), :math:`g = Ax`, the first step with :math:`v = g`: the same
    update as :class:`nnbook.optim.SGD`.

    Parameters
    ----------
    A : (d, d) symmetric array-like
    x0 : (d,) array-like
    lr : float > 0
    steps : int >= 0
    momentum : float in [0, 1)
    nesterov : bool

    Returns
    -------
    (steps + 1, d) NumPy array: the path, ``x0`` first. Diverging runs overflow to inf.
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square (d, d) matrix, got shape {A.shape}")
    x = np.array(x0, dtype=float)
    if x.shape != (A.shape[0],):
        raise ValueError(f"x0 must have shape ({A.shape[0]},), got {x.shape}")
    lr = check_real(lr, "lr", 0, low_open=True)
    steps = check_int(steps, "steps", minimum=0)
    mu = check_real(momentum, "momentum", 0, 1, high_open=True)
    if nesterov and mu == 0.0:
        raise ValueError("nesterov=True needs a momentum > 0")
    path = np.empty((steps + 1, x.size))
    path[0] = x
    v = np.zeros_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            g = A @ x
            v = mu * v + g
            x = x - lr * (g + mu * v if nesterov else v)
            path[k + 1] = x
    return path


def measured_rate(errors, *, tail: float = 0.5) -> float:
    r"""The per-step rate read off a sequence of errors :math:`e_0, e_1, \dots`.

    The exponential of the least-squares slope of :math:`\log e_k` against :math:`k`
    over the last ``tail`` fraction of the run, so transients at the start are left
    out, and the oscillation of momentum (which makes single ratios, and the ratio of
    the two ends of a window, jump with the phase) averages out over the window.

    Parameters
    ----------
    errors : (n,) array-like of positive numbers, n >= 3
    tail : float in (0, 1]

    Returns
    -------
    float
    """
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1 or e.size < 3:
        raise ValueError(f"errors must be a 1-D sequence of at least 3 values, got shape {e.shape}")
    if not np.all(np.isfinite(e)) or not np.all(e > 0):
        raise ValueError("errors must be finite and positive (stop the run before it reaches "
                         "0 or overflows)")
    tail = check_real(tail, "tail", 0, 1, low_open=True)
    n = e.size - 1
    m = min(n - 2, round(n * (1 - tail)))
    k = np.arange(m, n + 1, dtype=float)
    slope = np.polyfit(k, np.log(e[m:]), 1)[0]
    return float(np.exp(slope))
