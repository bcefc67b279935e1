r"""Second-order methods: Newton, damping, Gauss–Newton, BFGS, L-BFGS and Quickprop.

Near a point :math:`x` a smooth loss is approximated by its second-order Taylor model

.. math::
    L(x + p) \approx L(x) + g^\top p + \tfrac12 p^\top H p,
    \qquad g = \nabla L(x),\quad H = \nabla^2 L(x),

whose critical point is **Newton's step** :math:`p = -H^{-1} g` (solved, never
inverted). The methods here differ in what they use for :math:`H`:

* :func:`newton_step`, :func:`newton`: the exact Hessian, optionally **damped**,
  :math:`p = -(H + \lambda I)^{-1} g` (Levenberg 1944; Marquardt 1963), with the
  Levenberg–Marquardt rule that adapts :math:`\lambda` (``adaptive=True``), or the
  **saddle-free** :math:`|H|` of Dauphin et al. (2014) (:func:`saddle_free_step`);
* :func:`gauss_newton`: for least squares :math:`L = \tfrac12\lVert r(x)\rVert^2`,
  the Gauss–Newton matrix :math:`J^\top J` in place of :math:`H` (damped and
  adaptive: Levenberg–Marquardt, :func:`levenberg_marquardt`);
* :func:`bfgs`, :func:`lbfgs`: an inverse-Hessian estimate built from gradient
  differences (Broyden, Fletcher, Goldfarb, Shanno 1970), or its limited-memory
  two-loop form (Liu & Nocedal 1989) with the conventions of ``torch.optim.LBFGS``;
* :class:`Quickprop`: one secant parabola per weight (Fahlman 1988), an
  :class:`~nnbook.optim.Optimizer` that works with :func:`~nnbook.optim.fit`.

The drivers take an objective with ``value(x)``, ``gradient(x)`` and (for Newton)
``hessian(x)`` methods on points ``x`` of shape (d,): the test functions of
:mod:`nnbook.landscapes`, or a network's loss as a function of its flat parameter
vector (:class:`ModelObjective`). They run on NumPy and on PyTorch (the namespace
of ``x0``) and return a :class:`Trace`.

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .backend import check_array, check_int, check_real, check_same_backend, namespace, to_numpy
from .hessian import _check_problem, _gradient, _loss, _write, flat_parameters, hessian, num_parameters
from .optim import Optimizer

__all__ = [
    "ModelObjective",
    "Quickprop",
    "Trace",
    "bfgs",
    "gauss_newton",
    "lbfgs",
    "levenberg_marquardt",
    "newton",
    "newton_step",
    "quickprop_step",
    "saddle_free_step",
]


# --------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------

def _check_g_H(gradient, hessian_):
    xp = check_array(gradient, "gradient")
    if gradient.ndim < 1:
        raise ValueError(f"gradient must have shape (..., d), got {tuple(gradient.shape)}")
    d = gradient.shape[-1]
    check_array(hessian_, "hessian")
    want = (*gradient.shape, d)
    if tuple(hessian_.shape) != want:
        raise ValueError(f"hessian must have shape {want}, got {tuple(hessian_.shape)}")
    check_same_backend(hessian_, "hessian", gradient, "gradient")
    return xp, d


def _solve(xp, M, rhs):
    common = xp.result_type(M, rhs)        # float32 and float64 mix on torch as on NumPy
    M, rhs = xp.astype(M, common), xp.astype(rhs, common)
    try:
        return xp.linalg.solve(M, rhs[..., None])[..., 0]
    except (np.linalg.LinAlgError, RuntimeError) as e:
        # NumPy's LinAlgError, or torch.linalg.LinAlgError (a RuntimeError); any other
        # RuntimeError (arrays on two devices, say) is not a singular matrix
        if "LinAlgError" not in type(e).__name__:
            raise
        raise ValueError("the matrix H + damping * I is singular: increase damping") from None


def newton_step(gradient, hessian, damping: float = 0.0):
    r"""Newton's step :math:`p = -(H + \lambda I)^{-1} g`, by solving a linear system.

    With :math:`\lambda = 0` the step goes to the critical point of the quadratic
    model :math:`g^\top p + \frac12 p^\top H p`: a minimum if :math:`H` is positive
    definite, a saddle or a maximum otherwise. A damping :math:`\lambda` larger
    than :math:`-\lambda_{\min}(H)` makes :math:`H + \lambda I` positive definite,
    so :math:`p` points downhill (:math:`g^\top p < 0`), and shortens it towards
    the gradient step :math:`-g/\lambda` as :math:`\lambda \to \infty`.

    Parameters
    ----------
    gradient : (..., d) float array
    hessian : (..., d, d) float array, symmetric
        Leading axes, if any, hold a batch of independent problems (one step
        for each of many starting points at once).
    damping : float >= 0

    Returns
    -------
    (..., d) array in the namespace of ``gradient``.

    Raises
    ------
    ValueError
        For wrong shapes, a negative damping, or a singular :math:`H + \lambda I`.
    """
    xp, d = _check_g_H(gradient, hessian)
    lam = check_real(damping, "damping", 0)
    M = hessian + lam * xp.eye(d, dtype=hessian.dtype, device=_device(hessian)) if lam else hessian
    return -_solve(xp, M, gradient)


def saddle_free_step(gradient, hessian, damping: float = 0.0):
    r"""The saddle-free Newton step :math:`p = -(|H| + \lambda I)^{-1} g` (Dauphin et al., 2014).

    :math:`|H| = U |\Lambda| U^\top` flips the sign of the negative eigenvalues of
    :math:`H = U \Lambda U^\top`: along a direction of negative curvature the step
    goes downhill (away from a saddle or a maximum) instead of towards it, with
    Newton's scaling :math:`1/|\lambda_i|` in every direction.

    Parameters, returns and errors as :func:`newton_step`.
    """
    xp, _ = _check_g_H(gradient, hessian)
    lam = check_real(damping, "damping", 0)
    w, U = xp.linalg.eigh(hessian)
    w = xp.abs(w) + lam
    if bool(xp.any(w == 0)):
        raise ValueError("the matrix |H| + damping * I is singular: increase damping")
    Ut = xp.matrix_transpose(U)
    return -(U @ ((Ut @ gradient[..., None])[..., 0] / w)[..., None])[..., 0]


def _device(x):
    from array_api_compat import device

    return device(x)


# --------------------------------------------------------------------------
# Objectives and traces
# --------------------------------------------------------------------------

class ModelObjective:
    r"""A network's loss as a function of its flat parameter vector :math:`\theta` (P,).

    ``value(theta)``, ``gradient(theta)`` (backpropagation) and ``hessian(theta)``
    (:func:`nnbook.hessian.hessian`, :math:`2P` backward passes) write
    :math:`\theta` into the model first, so the drivers of this module can train
    it. After a run, the model holds the last point evaluated; write the result
    back with :func:`nnbook.hessian.set_flat_parameters`.

    Parameters
    ----------
    model : Module
    loss_fn : an nnbook loss
    X, y : the whole training set (these methods are full-batch)
    """

    def __init__(self, model, loss_fn, X, y):
        _check_problem(model, loss_fn, X, y)
        self.model, self.loss_fn, self.X, self.y = model, loss_fn, X, y
        self.dim = num_parameters(model)
        self.xp = model.backend.xp

    def _set(self, theta):
        check_array(theta, "theta", shape=(self.dim,))
        _write(self.model.parameters(), theta, self.xp)

    def value(self, theta):
        self._set(theta)
        return _loss(self.model, self.loss_fn, self.X, self.y)

    def gradient(self, theta):
        self._set(theta)
        return _gradient(self.model, self.loss_fn, self.X, self.y)[1]

    def hessian(self, theta):
        self._set(theta)
        return hessian(self.model, self.loss_fn, self.X, self.y)

    def x0(self):
        """The model's current parameters, (P,)."""
        return flat_parameters(self.model)


@dataclass
class Trace:
    """What a second-order driver did.

    Attributes
    ----------
    x : (d,) array
        The last iterate, in the namespace of ``x0``.
    path : (k + 1, d) float64 NumPy array
        Every accepted iterate, ``x0`` first.
    losses : (k + 1,) NumPy array
        The objective at each iterate.
    grad_norms : (k + 1,) NumPy array
        :math:`\\lVert g\\rVert` at each iterate (NaN where not computed).
    evaluations : int
        Evaluations of the objective (with its gradient), rejected trials included.
    dampings : list of float
        The damping :math:`\\lambda` of each accepted step (damped methods).
    evaluations_at : (k + 1,) NumPy array of int
        Evaluations of the objective spent up to each iterate (cumulative; Hessians
        not counted).
    """

    x: object
    path: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    evaluations: int
    dampings: list = field(default_factory=list)
    evaluations_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def _check_objective(f, methods):
    missing = [m for m in methods if not callable(getattr(f, m, None))]
    if missing:
        raise TypeError(f"f must have the methods {', '.join(methods)} (e.g. a "
                        f"landscapes.Objective or a ModelObjective), got {type(f).__name__} "
                        f"without {missing[0]}")


def _check_x0(f, x0):
    xp = check_array(x0, "x0", ndim=1)
    dim = getattr(f, "dim", None)
    if dim is not None and x0.shape[0] != dim:
        raise ValueError(f"x0 must have shape ({dim},), got {tuple(x0.shape)}")
    return xp


def _norm(xp, v):
    return float(xp.linalg.vector_norm(v))


class _Recorder:
    def __init__(self):
        self.path, self.losses, self.grad_norms, self.dampings = [], [], [], []
        self.evals = []

    def add(self, x, loss, gnorm=float("nan"), evals=0):
        self.path.append(np.asarray(to_numpy(x), dtype=float))
        self.losses.append(float(loss))
        self.grad_norms.append(gnorm)
        self.evals.append(evals)

    def trace(self, x, evaluations):
        return Trace(x, np.stack(self.path), np.asarray(self.losses),
                     np.asarray(self.grad_norms), evaluations, self.dampings,
                     np.asarray(self.evals, dtype=int))


# --------------------------------------------------------------------------
# Newton's method, damped, adaptive (Levenberg–Marquardt rule) or saddle-free
# --------------------------------------------------------------------------

def newton(f, x0, steps: int, *, damping: float = 0.0, adaptive: bool = False,
           saddle_free: bool = False, factor: float = 10.0, tol: float = 0.0,
           max_tries: int = 30) -> Trace:
    r"""Newton's method :math:`x_{k+1} = x_k - (H_k + \lambda_k I)^{-1} g_k`.

    * ``damping=0``: the pure method. It converges in one step on a quadratic
      with positive definite :math:`H`, and quadratically near a minimum with
      positive definite Hessian (:math:`\lVert e_{k+1}\rVert \le C \lVert e_k\rVert^2`);
      elsewhere it goes to whatever critical point its quadratic model has:
      a saddle or a maximum just as readily.
    * ``damping > 0``, ``adaptive=False``: a fixed :math:`\lambda`.
    * ``adaptive=True``: the Levenberg–Marquardt rule. A step that lowers
      :math:`f` is accepted and :math:`\lambda` divided by ``factor``; one that
      does not is rejected and retried with :math:`\lambda` times ``factor``
      (at most ``max_tries`` times). The loss never goes up.
    * ``saddle_free=True``: :math:`|H|` in place of :math:`H` (:func:`saddle_free_step`).

    Parameters
    ----------
    f : objective with ``value``, ``gradient`` and ``hessian`` methods on (d,) points
    x0 : (d,) float array (NumPy or torch: the computation runs in its namespace)
    steps : int >= 0
        Number of (accepted) steps.
    damping : float >= 0
        :math:`\lambda` (the initial one when adaptive; then it must be positive).
    adaptive, saddle_free : bool
    factor : float > 1
    tol : float >= 0
        Stop early once :math:`\lVert g\rVert \le` ``tol``.
    max_tries : int >= 1

    Returns
    -------
    Trace
    """
    _check_objective(f, ("value", "gradient", "hessian"))
    xp = _check_x0(f, x0)
    steps = check_int(steps, "steps", minimum=0)
    lam = check_real(damping, "damping", 0)
    if adaptive and lam == 0:
        raise ValueError("damping must be positive when adaptive=True (the initial lambda), got 0.0")
    factor = check_real(factor, "factor", 1, low_open=True)
    tol = check_real(tol, "tol", 0)
    max_tries = check_int(max_tries, "max_tries", minimum=1)
    step_fn = saddle_free_step if saddle_free else newton_step
    x = x0 + 0.0
    loss = float(f.value(x))
    evals = 1
    rec = _Recorder()
    for _ in range(steps):
        g, H = f.gradient(x), f.hessian(x)
        gn = _norm(xp, g)
        if gn <= tol:
            break
        rec.add(x, loss, gn, evals)
        if not adaptive:
            x = x + step_fn(g, H, lam)
            loss = float(f.value(x))
            evals += 1
            rec.dampings.append(lam)
            continue
        for _try in range(max_tries):
            try:
                p = step_fn(g, H, lam)
            except ValueError:
                lam *= factor
                continue
            trial = float(f.value(x + p))
            evals += 1
            if trial < loss:
                x, loss = x + p, trial
                rec.dampings.append(lam)
                lam /= factor
                break
            lam *= factor
        else:
            break                                   # no step lowers f: stop where we are
    rec.add(x, loss, _norm(xp, f.gradient(x)), evals)
    return rec.trace(x, evals)


# --------------------------------------------------------------------------
# Gauss–Newton and Levenberg–Marquardt for least squares
# --------------------------------------------------------------------------

def gauss_newton(residual, jacobian, x0, steps: int, *, damping: float = 0.0,
                 adaptive: bool = False, factor: float = 10.0, max_tries: int = 30) -> Trace:
    r"""Gauss–Newton for :math:`L(x) = \tfrac12 \lVert r(x)\rVert^2`, optionally damped.

    The Hessian of :math:`L` is :math:`J^\top J + \sum_i r_i \nabla^2 r_i`; Gauss–Newton
    keeps the first term only, which needs first derivatives alone and is positive
    semi-definite, and steps

    .. math::
        p = -(J^\top J + \lambda I)^{-1} J^\top r .

    ``adaptive=True`` adapts :math:`\lambda` by Levenberg's and Marquardt's rule
    (see :func:`newton`): small :math:`\lambda` is Gauss–Newton, large is a short
    gradient step.

    Parameters
    ----------
    residual : callable, ``residual(x) -> (m,)`` array
    jacobian : callable, ``jacobian(x) -> (m, d)`` array, :math:`J_{ij} = \partial r_i/\partial x_j`
    x0 : (d,) float array
    steps, damping, adaptive, factor, max_tries : as in :func:`newton`

    Returns
    -------
    Trace
        ``losses`` hold :math:`\tfrac12\lVert r\rVert^2`.
    """
    if not callable(residual):
        raise TypeError(f"residual must be callable, got {type(residual).__name__}")
    if not callable(jacobian):
        raise TypeError(f"jacobian must be callable, got {type(jacobian).__name__}")

    class _LeastSquares:
        def value(self, x):
            r = residual(x)
            return 0.5 * namespace(r).sum(r * r)

        def gradient(self, x):
            return jacobian(x).T @ residual(x)

        def hessian(self, x):
            J = jacobian(x)
            return J.T @ J

    xp = check_array(x0, "x0", ndim=1)
    r0, J0 = residual(x0), jacobian(x0)
    check_array(r0, "residual(x0)", ndim=1)
    check_array(J0, "jacobian(x0)", shape=(r0.shape[0], x0.shape[0]))
    del xp
    return newton(_LeastSquares(), x0, steps, damping=damping, adaptive=adaptive,
                  factor=factor, max_tries=max_tries)


def levenberg_marquardt(residual, jacobian, x0, steps: int, *, damping: float = 1e-3,
                        factor: float = 10.0, max_tries: int = 30) -> Trace:
    r"""Levenberg–Marquardt: :func:`gauss_newton` with ``adaptive=True``."""
    return gauss_newton(residual, jacobian, x0, steps, damping=damping, adaptive=True,
                        factor=factor, max_tries=max_tries)


# --------------------------------------------------------------------------
# Quasi-Newton: BFGS and L-BFGS
# --------------------------------------------------------------------------

def _wolfe(f, x, loss, g, d, t, c1=1e-4, c2=0.9, max_trials=50):
    """A step length t meeting the weak Wolfe conditions, by expansion and bisection.

    Sufficient decrease f(x + t d) <= f(x) + c1 t g.d and curvature
    g(x + t d).d >= c2 g.d (Nocedal & Wright 2006, eq. 3.6; the bisection of
    Lewis & Overton). Returns (t, f, g at x + t d, evaluations); t = 0 if none found.
    """
    slope = float(g @ d)
    lo, hi = 0.0, float("inf")
    for n in range(1, max_trials + 1):
        x_t = x + t * d
        trial = float(f.value(x_t))
        if not trial <= loss + c1 * t * slope:          # too long (NaN counts as too long)
            hi = t
        else:
            g_t = f.gradient(x_t)
            if float(g_t @ d) < c2 * slope:              # still steep downhill: too short
                lo = t
            else:
                return t, trial, g_t, n
        t = 2.0 * lo if hi == float("inf") else 0.5 * (lo + hi)
    return 0.0, loss, g, max_trials


def bfgs(f, x0, steps: int, *, tol: float = 0.0) -> Trace:
    r"""BFGS with a line search for the (weak) Wolfe conditions.

    Keeps an estimate :math:`B \approx H^{-1}` (:math:`d \times d`, so
    :math:`d^2` memory), steps along :math:`p = -B g`, and after each step
    :math:`s = x_{k+1} - x_k`, :math:`y = g_{k+1} - g_k` applies the BFGS update
    (Nocedal & Wright 2006, eq. 6.17)

    .. math::
        B \leftarrow (I - \rho s y^\top) B (I - \rho y s^\top) + \rho s s^\top,
        \qquad \rho = 1 / y^\top s,

    which makes :math:`B y = s` (the secant condition) and keeps :math:`B`
    positive definite while :math:`y^\top s > 0` (the update is skipped otherwise).
    The first :math:`B` is :math:`I`, rescaled after the first step to
    :math:`(y^\top s / y^\top y) I` (eq. 6.20).

    Parameters
    ----------
    f : objective with ``value`` and ``gradient``
    x0 : (d,) float array
    steps : int >= 0
    tol : float >= 0
        Stop once :math:`\lVert g\rVert \le` ``tol``.

    Returns
    -------
    Trace
    """
    _check_objective(f, ("value", "gradient"))
    xp = _check_x0(f, x0)
    steps = check_int(steps, "steps", minimum=0)
    tol = check_real(tol, "tol", 0)
    d = x0.shape[0]
    eye = xp.eye(d, dtype=x0.dtype, device=_device(x0))
    B = eye + 0.0
    x = x0 + 0.0
    loss, g = float(f.value(x)), f.gradient(x)
    evals = 1
    rec = _Recorder()
    first = True
    for _ in range(steps):
        gn = _norm(xp, g)
        if gn <= tol:
            break
        rec.add(x, loss, gn, evals)
        p = -(B @ g)
        t, new_loss, g_new, n = _wolfe(f, x, loss, g, p, 1.0)
        evals += n
        if t == 0.0:
            break
        s = t * p
        x_new = x + s
        y = g_new - g
        ys = float(y @ s)
        if ys > 1e-10:
            if first:
                B = (ys / float(y @ y)) * eye
                first = False
            rho = 1.0 / ys
            V = eye - rho * (s[:, None] * y[None, :])
            B = V @ B @ V.T + rho * (s[:, None] * s[None, :])
        x, loss, g = x_new, new_loss, g_new
    rec.add(x, loss, _norm(xp, g), evals)
    return rec.trace(x, evals)


def lbfgs(f, x0, steps: int, *, history: int = 10, lr: float = 1.0,
          line_search: str | None = None, tol: float = 0.0) -> Trace:
    r"""L-BFGS: BFGS from the last ``history`` pairs :math:`(s_i, y_i)` only (Liu & Nocedal 1989).

    The product :math:`-B g` is computed by the two-loop recursion (Nocedal &
    Wright 2006, alg. 7.4) from :math:`2m` vectors, :math:`O(m d)` memory and
    time, with the initial :math:`B_0 = (y^\top s / y^\top y) I` of the latest pair.
    Without a line search the step length follows ``torch.optim.LBFGS``:
    :math:`t = \min(1, 1/\lVert g\rVert_1)\,\eta` on the first step, :math:`\eta`
    after, and pairs with :math:`y^\top s \le 10^{-10}` are dropped; with
    ``line_search="wolfe"`` the step length starts at :math:`\eta` and is
    doubled or bisected until it meets the weak Wolfe conditions (sufficient
    decrease and curvature, which guarantee :math:`y^\top s > 0`).

    Parameters
    ----------
    f : objective with ``value`` and ``gradient``
    x0 : (d,) float array
    steps : int >= 0
    history : int >= 1
        :math:`m`, the number of pairs kept (torch's ``history_size``).
    lr : float > 0
        :math:`\eta` (torch's ``lr``).
    line_search : None or "wolfe"
    tol : float >= 0
        Stop once :math:`\lVert g\rVert \le` ``tol``.

    Returns
    -------
    Trace
    """
    _check_objective(f, ("value", "gradient"))
    xp = _check_x0(f, x0)
    steps = check_int(steps, "steps", minimum=0)
    m = check_int(history, "history", minimum=1)
    lr = check_real(lr, "lr", 0, low_open=True)
    if line_search not in (None, "wolfe"):
        raise ValueError(f"line_search must be None or 'wolfe', got {line_search!r}")
    tol = check_real(tol, "tol", 0)
    x = x0 + 0.0
    loss, g = float(f.value(x)), f.gradient(x)
    evals = 1
    S, Y, rho = [], [], []
    h0 = 1.0
    rec = _Recorder()
    for k in range(steps):
        gn = _norm(xp, g)
        if gn <= tol:
            break
        rec.add(x, loss, gn, evals)
        q = -g
        alphas = []
        for s, y, r in zip(reversed(S), reversed(Y), reversed(rho), strict=True):
            a = float(s @ q) * r                         # first loop: newest pair first
            alphas.append(a)
            q = q - a * y
        d = q * h0
        for s, y, r, a in zip(S, Y, rho, reversed(alphas), strict=True):
            b = float(y @ d) * r                         # second loop: oldest pair first
            d = d + (a - b) * s
        t = min(1.0, 1.0 / float(xp.sum(xp.abs(g)))) * lr if k == 0 else lr
        if line_search == "wolfe":
            t, new_loss, g_new, n = _wolfe(f, x, loss, g, d, lr)
            evals += n
            if t == 0.0:
                break
        else:
            new_loss = float(f.value(x + t * d))
            g_new = f.gradient(x + t * d)
            evals += 1
        s = t * d
        x_new = x + s
        y = g_new - g
        ys = float(y @ s)
        if ys > 1e-10:
            if len(S) == m:
                S.pop(0), Y.pop(0), rho.pop(0)
            S.append(s)
            Y.append(y)
            rho.append(1.0 / ys)
            h0 = ys / float(y @ y)
        x, loss, g = x_new, new_loss, g_new
    rec.add(x, loss, _norm(xp, g), evals)
    return rec.trace(x, evals)


# --------------------------------------------------------------------------
# Quickprop (Fahlman 1988): a secant parabola per weight
# --------------------------------------------------------------------------

def _quickprop_step(grad, prev_grad, prev_step, lr, mu):
    xp = namespace(grad)
    s = mu / (1.0 + mu)
    pos, neg = prev_step > 0, prev_step < 0
    zero = ~(pos | neg)
    big = (pos & (grad < s * prev_grad)) | (neg & (grad > s * prev_grad))
    denom = prev_grad - grad
    use_quad = ~(big | zero) & (denom != 0)
    safe = xp.where(use_quad, denom, xp.ones_like(denom))
    cap = mu * xp.abs(prev_step)
    quad = xp.clip(prev_step * grad / safe, -cap, cap)      # G / (G' - G) * step', capped
    # the cap and mu * step' where G' = G are nnbook's additions to Fahlman's rules; after
    # an uphill step (G' > 0, G >= s G' with step' > 0) the jump stays uphill, no -lr G
    jump = xp.where(use_quad, quad, xp.where(zero, 0.0 * prev_step, mu * prev_step))
    downhill = zero | (pos & (grad < 0)) | (neg & (grad > 0))
    return jump + xp.where(downhill, -lr * grad, 0.0 * grad)


def quickprop_step(grad, prev_grad, prev_step, lr: float, mu: float = 1.75):
    r"""One Quickprop step for every weight at once (Fahlman 1988), elementwise.

    With the gradient :math:`G = \partial L/\partial w` now, :math:`G'` at the previous
    step and that step :math:`\Delta'`, the secant through the two slopes
    estimates the curvature :math:`(G - G')/\Delta'`, and the minimum of that
    parabola is a step

    .. math::
        \Delta_q = \frac{G}{G' - G}\,\Delta' .

    Fahlman's rules, per weight, with the shrink factor :math:`s = \mu/(1 + \mu)`:

    * :math:`\Delta' = 0` (or no previous step): a gradient step :math:`-\eta G`;
    * :math:`\Delta' > 0`: if :math:`G < s G'` (the slope has not shrunk enough: the
      parabola's minimum is more than :math:`\mu\Delta'` away, or behind a
      maximum) the step is :math:`\mu \Delta'`, else :math:`\Delta_q`; and
      :math:`-\eta G` is added when :math:`G < 0` (still downhill ahead);
    * :math:`\Delta' < 0`: the mirror image (:math:`G > s G'`, :math:`G > 0`).

    Two additions are nnbook's, not Fahlman's: the quadratic step is capped at
    :math:`\mu|\Delta'|` in size, and where :math:`G = G'` (a division by zero)
    the step is :math:`\mu\Delta'`.

    The rules do not turn a weight around after an uphill step: with
    :math:`\Delta' > 0`, :math:`G' > 0` and :math:`G \ge s G'`, the step is
    positive (uphill, since :math:`G > 0`) and as large as :math:`\mu\Delta'`;
    ``quickprop_step([1.], [1.], [1.], 0.1)`` is ``[1.75]``. It is one cause of the
    loss spikes of full-batch Quickprop at large :math:`\eta`.

    Parameters
    ----------
    grad, prev_grad, prev_step : arrays of one shape
    lr : float > 0
        :math:`\eta`.
    mu : float > 0
        The maximum growth factor :math:`\mu` (1.75 in Fahlman's experiments).

    Returns
    -------
    The step :math:`\Delta`, an array of the same shape.
    """
    check_array(grad, "grad")
    for name, a in (("prev_grad", prev_grad), ("prev_step", prev_step)):
        check_array(a, name)
        if tuple(a.shape) != tuple(grad.shape):
            raise ValueError(f"{name} must have the shape of grad {tuple(grad.shape)}, "
                             f"got {tuple(a.shape)}")
    namespace(grad, prev_grad, prev_step)
    lr = check_real(lr, "lr", 0, low_open=True)
    mu = check_real(mu, "mu", 0, low_open=True)
    return _quickprop_step(grad, prev_grad, prev_step, lr, mu)


class Quickprop(Optimizer):
    r"""Quickprop (Fahlman 1988) as an optimiser for :func:`~nnbook.optim.fit`.

    Each weight takes the step of :func:`quickprop_step` from its own gradient, its
    previous gradient and its previous step: a one-dimensional secant (Newton)
    step per weight, with a growth limit :math:`\mu` and a gradient step where
    the secant says nothing. It assumes the same loss at every step: use it
    full-batch (``batch_size >= N``), as Fahlman did.

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0
        :math:`\eta` of the gradient term.
    mu : float > 0
        Maximum growth factor (default 1.75).
    """

    def __init__(self, params, lr: float, mu: float = 1.75):
        super().__init__(params, lr)
        self.mu = check_real(mu, "mu", 0, low_open=True)

    def update(self, theta, grad, state):
        prev = state.get("step")
        if prev is None:
            step = -self.lr * grad
        else:
            step = _quickprop_step(grad, state["grad"], prev, self.lr, self.mu)
        theta += step
        state["step"] = step
        state["grad"] = grad + 0.0
