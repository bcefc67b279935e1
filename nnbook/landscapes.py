r"""Loss landscapes: test functions, the Hessian test, and views of a network's loss.

Three things live here.

* **Test functions** of a few variables with exact gradients and Hessians:
  quadratics of a chosen condition number (and indefinite ones: saddles),
  the monkey saddle, Rosenbrock's valley, a double well, and two functions whose
  Hessian is singular at a critical point. Each takes points of shape
  ``(..., d)`` (one point or a whole grid) and runs on NumPy and PyTorch.
* **The Hessian test** (:func:`classify_critical_point`): at a point where the
  gradient vanishes, the signs of the Hessian's eigenvalues decide minimum,
  maximum or saddle, unless an eigenvalue is zero.
* **Views of a model's loss** in its parameter space :math:`\mathbb R^P`: along
  the segment between two parameter vectors (:func:`interpolate`, after
  Goodfellow et al., 2015) and on a plane through one of them spanned by two
  random, filter-normalised directions (:func:`random_direction`,
  :func:`slice_2d`, after Li et al., 2018).

And random symmetric matrices (:func:`goe`), the model of a "typical" Hessian in
high dimension behind the argument that saddles outnumber minima (Dauphin et al.,
2014).
"""

from __future__ import annotations

import math

import numpy as np
from array_api_compat import device as _device

from .backend import check_array, check_rng, namespace, to_numpy
from .hessian import (
    _check_model,
    _check_problem,
    _write,
    flat_parameters,
    num_parameters,
    set_flat_parameters,
)
from .optim import predict

__all__ = [
    "DoubleWell",
    "FlatDirection",
    "MonkeySaddle",
    "Objective",
    "Quadratic",
    "Rosenbrock",
    "classify_critical_point",
    "goe",
    "goe_positive_definite_fraction",
    "interpolate",
    "random_direction",
    "slice_2d",
]


# --------------------------------------------------------------------------
# Test functions
# --------------------------------------------------------------------------

def _const(a, x):
    """The NumPy constant ``a`` in ``x``'s namespace, dtype and device."""
    xp = namespace(x)
    return xp.asarray(np.asarray(a, dtype=float), dtype=x.dtype, device=_device(x))


class Objective:
    r"""A smooth function :math:`f:\mathbb R^d \to \mathbb R` with its gradient and Hessian.

    Every method takes points ``x`` of shape ``(..., d)`` (NumPy or torch, float)
    and returns ``value`` (...), ``gradient`` (..., d), ``hessian`` (..., d, d).
    ``critical_points()`` lists the known critical points with their nature.
    """

    name = "objective"
    dim = 2

    def _check(self, x):
        xp = check_array(x, "x")
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}), got {tuple(x.shape)}")
        return xp

    def __call__(self, x):
        return self.value(x)

    def value(self, x):
        self._check(x)
        return self._value(x)

    def gradient(self, x):
        self._check(x)
        return self._gradient(x)

    def hessian(self, x):
        self._check(x)
        return self._hessian(x)

    def critical_points(self) -> list[tuple[np.ndarray, str]]:
        """Known critical points as ``(point, kind)``, kind as :func:`classify_critical_point` says."""
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"


def _stack2(a, b, c, d):
    """The (..., 2, 2) array [[a, b], [c, d]] from (...)-shaped entries."""
    xp = namespace(a)
    return xp.stack([xp.stack([a, b], axis=-1), xp.stack([c, d], axis=-1)], axis=-2)


class Quadratic(Objective):
    r"""The quadratic :math:`f(x) = \tfrac12 (x - c)^\top A (x - c)` with symmetric :math:`A`.

    Gradient :math:`A(x - c)`, Hessian :math:`A` everywhere. Positive definite
    :math:`A`: a bowl with minimum :math:`c`; indefinite: a saddle at :math:`c`.
    The condition number :math:`\kappa = \lambda_\max/\lambda_\min` of a
    positive definite :math:`A` sets how slowly gradient descent converges.

    Parameters
    ----------
    A : (d, d) symmetric array-like
    center : (d,) array-like, optional (default 0)
    """

    def __init__(self, A, center=None):
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
            raise ValueError(f"A must be a square (d, d) matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
            raise ValueError("A must be symmetric, got a matrix with A != A.T")
        self.A = (A + A.T) / 2.0
        self.dim = A.shape[0]
        center = np.zeros(self.dim) if center is None else np.asarray(center, dtype=float)
        if center.shape != (self.dim,):
            raise ValueError(f"center must have shape ({self.dim},), got {center.shape}")
        self.center = center
        self.name = "quadratic"

    @classmethod
    def with_condition_number(cls, kappa: float, dim: int = 2, *, angle: float = 0.0):
        r"""A bowl with eigenvalues from 1 to :math:`\kappa` (geometrically spaced).

        In 2-D the axes are rotated by ``angle`` (radians); in more dimensions the
        Hessian is diagonal.
        """
        if not isinstance(kappa, (int, float)) or not kappa >= 1:
            raise ValueError(f"kappa must be a number >= 1, got {kappa!r}")
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        lam = np.geomspace(1.0, float(kappa), dim)
        A = np.diag(lam)
        if dim == 2 and angle:
            c, s = math.cos(angle), math.sin(angle)
            R = np.array([[c, -s], [s, c]])
            A = R @ A @ R.T
        q = cls((A + A.T) / 2.0)
        q.name = f"bowl, κ = {kappa:g}"
        return q

    @classmethod
    def saddle(cls):
        r"""The saddle :math:`f(x, y) = \tfrac12 (x^2 - y^2)`."""
        q = cls(np.diag([1.0, -1.0]))
        q.name = "saddle"
        return q

    def _value(self, x):
        xp = namespace(x)
        diff = x - _const(self.center, x)
        return 0.5 * xp.sum((diff @ _const(self.A, x)) * diff, axis=-1)

    def _gradient(self, x):
        return (x - _const(self.center, x)) @ _const(self.A, x)

    def _hessian(self, x):
        xp = namespace(x)
        A = _const(self.A, x)
        return xp.broadcast_to(A, tuple(x.shape[:-1]) + tuple(A.shape)) + 0.0

    def critical_points(self):
        lam = np.linalg.eigvalsh(self.A)
        if np.any(np.abs(lam) <= 1e-8 * max(1.0, np.abs(lam).max())):
            return []                                     # a line or plane of critical points
        kind = ("minimum" if lam.min() > 0 else "maximum" if lam.max() < 0 else "saddle")
        return [(self.center.copy(), kind)]

    def __repr__(self):
        return f"Quadratic(eigenvalues={np.round(np.linalg.eigvalsh(self.A), 6).tolist()})"


class MonkeySaddle(Objective):
    r"""The monkey saddle :math:`f(x, y) = x^3 - 3 x y^2`.

    Three valleys meet at the origin (room for a monkey's tail). The gradient
    :math:`(3x^2 - 3y^2, -6xy)` and the Hessian
    :math:`\begin{pmatrix} 6x & -6y \\ -6y & -6x\end{pmatrix}` both vanish
    there: a critical point the Hessian test cannot classify, although it is a
    saddle.
    """

    name = "monkey saddle"

    def _value(self, x):
        a, b = x[..., 0], x[..., 1]
        return a ** 3 - 3.0 * a * b ** 2

    def _gradient(self, x):
        xp = namespace(x)
        a, b = x[..., 0], x[..., 1]
        return xp.stack([3.0 * a ** 2 - 3.0 * b ** 2, -6.0 * a * b], axis=-1)

    def _hessian(self, x):
        a, b = x[..., 0], x[..., 1]
        return _stack2(6.0 * a, -6.0 * b, -6.0 * b, -6.0 * a)

    def critical_points(self):
        return [(np.zeros(2), "undecided")]


class Rosenbrock(Objective):
    r"""Rosenbrock's valley :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    One minimum, :math:`(a, a^2)`, at the end of a long curved valley: the
    Hessian there, :math:`\begin{pmatrix} 2 + 8ba^2 & -4ba \\ -4ba & 2b
    \end{pmatrix}`, has a condition number of about 2500 for the usual
    :math:`a = 1, b = 100`.
    """

    name = "Rosenbrock"

    def __init__(self, a: float = 1.0, b: float = 100.0):
        if not b > 0:
            raise ValueError(f"b must be positive, got {b!r}")
        self.a, self.b = float(a), float(b)

    def _value(self, x):
        u, v = x[..., 0], x[..., 1]
        return (self.a - u) ** 2 + self.b * (v - u ** 2) ** 2

    def _gradient(self, x):
        xp = namespace(x)
        u, v = x[..., 0], x[..., 1]
        r = v - u ** 2
        return xp.stack([-2.0 * (self.a - u) - 4.0 * self.b * u * r, 2.0 * self.b * r], axis=-1)

    def _hessian(self, x):
        xp = namespace(x)
        u, v = x[..., 0], x[..., 1]
        off = -4.0 * self.b * u
        return _stack2(2.0 - 4.0 * self.b * v + 12.0 * self.b * u ** 2, off, off,
                       2.0 * self.b + xp.zeros_like(u))

    def critical_points(self):
        return [(np.array([self.a, self.a ** 2]), "minimum")]

    def __repr__(self):
        return f"Rosenbrock(a={self.a:g}, b={self.b:g})"


class DoubleWell(Objective):
    r"""A double well :math:`f(x, y) = (x^2 - 1)^2 + t\,x + y^2`.

    Without tilt (:math:`t = 0`): two minima :math:`(\pm 1, 0)` of equal depth
    and a saddle :math:`(0, 0)` between them. A tilt :math:`0 < |t| < 8/\sqrt{27}`
    makes one minimum the global one and leaves the other a worse local minimum:
    the simplest non-convex landscape.
    """

    name = "double well"

    def __init__(self, tilt: float = 0.0):
        self.tilt = float(tilt)

    def _value(self, x):
        u, v = x[..., 0], x[..., 1]
        return (u ** 2 - 1.0) ** 2 + self.tilt * u + v ** 2

    def _gradient(self, x):
        xp = namespace(x)
        u, v = x[..., 0], x[..., 1]
        return xp.stack([4.0 * u * (u ** 2 - 1.0) + self.tilt, 2.0 * v], axis=-1)

    def _hessian(self, x):
        xp = namespace(x)
        u = x[..., 0]
        zero = xp.zeros_like(u)
        return _stack2(12.0 * u ** 2 - 4.0, zero, zero, zero + 2.0)

    def critical_points(self):
        roots = np.roots([4.0, 0.0, -4.0, self.tilt])          # 4u^3 - 4u + t = 0
        out = []
        for r in sorted(roots[np.abs(roots.imag) < 1e-9].real):
            out.append((np.array([r, 0.0]), "minimum" if 12 * r * r - 4 > 0 else "saddle"))
        return out

    def __repr__(self):
        return f"DoubleWell(tilt={self.tilt:g})"


class FlatDirection(Objective):
    r""":math:`f(x, y) = x^p + y^2`: a Hessian with a zero eigenvalue at the origin.

    At :math:`(0, 0)` the gradient vanishes and the Hessian is
    :math:`\operatorname{diag}(0, 2)` for every :math:`p \ge 3`; yet the origin
    is a minimum for even :math:`p` and not even a local extremum for odd
    :math:`p`. The second-order test cannot tell them apart.
    """

    def __init__(self, p: int = 4):
        if not isinstance(p, int) or p < 3:
            raise ValueError(f"p must be an int >= 3, got {p!r}")
        self.p = p
        self.name = f"x^{p} + y^2"

    def _value(self, x):
        return x[..., 0] ** self.p + x[..., 1] ** 2

    def _gradient(self, x):
        xp = namespace(x)
        return xp.stack([self.p * x[..., 0] ** (self.p - 1), 2.0 * x[..., 1]], axis=-1)

    def _hessian(self, x):
        xp = namespace(x)
        u = x[..., 0]
        zero = xp.zeros_like(u)
        return _stack2(self.p * (self.p - 1) * u ** (self.p - 2), zero, zero, zero + 2.0)

    def critical_points(self):
        return [(np.zeros(2), "undecided")]

    def __repr__(self):
        return f"FlatDirection(p={self.p})"


# --------------------------------------------------------------------------
# The Hessian test
# --------------------------------------------------------------------------

def classify_critical_point(gradient, hessian, *, grad_tol: float = 1e-6,
                            eig_tol: float = 1e-8) -> str:
    r"""Classify a critical point by the signs of the Hessian's eigenvalues.

    At a point where :math:`\nabla f = 0`, Taylor's formula gives
    :math:`f(x + h) = f(x) + \tfrac12 h^\top H h + o(\lVert h\rVert^2)`, so

    * all eigenvalues :math:`> 0`: a strict local **minimum**;
    * all :math:`< 0`: a strict local **maximum**;
    * some :math:`> 0` and some :math:`< 0`: a **saddle** (whatever the others);
    * otherwise (some are 0, the rest of one sign): **undecided**: the
      higher-order terms decide (see :class:`FlatDirection`).

    An eigenvalue counts as zero when :math:`|\lambda| \le` ``eig_tol`` times
    :math:`\max(1, \max_i |\lambda_i|)`.

    Parameters
    ----------
    gradient : (d,) array
    hessian : (d, d) symmetric array
    grad_tol : float
        Largest gradient norm accepted as zero.
    eig_tol : float

    Returns
    -------
    {"minimum", "maximum", "saddle", "undecided"}

    Raises
    ------
    ValueError
        If the gradient is not zero: the test says nothing at other points.
    """
    check_array(gradient, "gradient", ndim=1)
    d = gradient.shape[0]
    check_array(hessian, "hessian", shape=(d, d))
    g, H = to_numpy(gradient), to_numpy(hessian)
    norm = float(np.linalg.norm(g))
    if not norm <= grad_tol:
        raise ValueError(
            f"gradient must vanish at a critical point: |gradient| = {norm:.3g} > "
            f"grad_tol = {grad_tol:g}; the Hessian test classifies critical points only"
        )
    if not np.allclose(H, H.T, rtol=1e-8, atol=1e-12):
        raise ValueError("hessian must be symmetric, got a matrix with hessian != hessian.T")
    lam = np.linalg.eigvalsh((H + H.T) / 2.0)
    tol = eig_tol * max(1.0, float(np.abs(lam).max()))
    pos, neg = bool(np.any(lam > tol)), bool(np.any(lam < -tol))
    if pos and neg:
        return "saddle"
    if np.any(np.abs(lam) <= tol):
        return "undecided"
    return "minimum" if pos else "maximum"


# --------------------------------------------------------------------------
# Random symmetric matrices
# --------------------------------------------------------------------------

def goe(n: int, *, rng, size: int | None = None) -> np.ndarray:
    r"""Random symmetric matrices from the Gaussian orthogonal ensemble, scaled by :math:`1/\sqrt n`.

    :math:`A = (G + G^\top)/\sqrt{2n}` with :math:`G_{ij}` i.i.d.
    :math:`\mathcal N(0, 1)`: off-diagonal entries have variance :math:`1/n`,
    diagonal ones :math:`2/n`. As :math:`n` grows the eigenvalues fill
    Wigner's semicircle on :math:`[-2, 2]`, symmetric about 0, so a random
    "Hessian" has about half its eigenvalues negative, and all :math:`n` positive
    only with a probability that falls like :math:`e^{-c n^2}`.

    Returns
    -------
    (n, n) NumPy array, or (size, n, n) when ``size`` is given.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    check_rng(rng)
    n = int(n)
    shape = (n, n) if size is None else (size, n, n)
    G = rng.standard_normal(shape)
    return (G + np.swapaxes(G, -1, -2)) / math.sqrt(2.0 * n)


def goe_positive_definite_fraction(n: int, samples: int, *, rng,
                                   batch: int = 100_000) -> float:
    r"""The fraction of ``samples`` GOE matrices of size ``n`` that are positive definite.

    Draws the matrices of :func:`goe` in batches of ``batch`` and tests each by
    symmetric Gaussian elimination without pivoting: a symmetric matrix is
    positive definite exactly when all :math:`n` pivots are positive (Sylvester's
    criterion; the pivots are the ratios of successive leading principal minors).
    That costs :math:`O(n^3)` array operations per batch and no eigenvalues, so
    millions of draws can estimate probabilities of order :math:`10^{-6}`.

    Returns
    -------
    float in [0, 1]: the number of positive definite draws divided by ``samples``.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    for name, val in (("samples", samples), ("batch", batch)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}")
    check_rng(rng)
    n, count, done = int(n), 0, 0
    while done < samples:
        m = min(int(batch), int(samples) - done)
        A = goe(n, rng=rng, size=m)
        ok = np.ones(m, dtype=bool)
        for k in range(n):                      # eliminate column k below the pivot
            piv = A[:, k, k]
            ok &= piv > 0
            safe = np.where(piv > 0, piv, 1.0)
            A[:, k + 1:, k + 1:] -= (A[:, k + 1:, k, None] * A[:, None, k, k + 1:]
                                     / safe[:, None, None])
        count += int(ok.sum())
        done += m
    return count / int(samples)


# --------------------------------------------------------------------------
# Views of a model's loss
# --------------------------------------------------------------------------

def _as_theta(model, theta, name):
    check_array(theta, name, shape=(num_parameters(model),))
    return model.backend.asarray(theta)


def _evaluate(model, params, loss_fn, X, y, theta, metric):
    _write(params, theta, model.backend.xp)
    out = predict(model, X)
    loss = float(loss_fn.forward(out, y, validate=False))
    return loss, (None if metric is None else float(metric(out, y)))


def interpolate(model, loss_fn, X, y, theta_a, theta_b, alphas, *, metric=None):
    r"""The loss along the segment :math:`\theta(\alpha) = (1 - \alpha)\,\theta_a + \alpha\,\theta_b`.

    Goodfellow, Vinyals and Saxe (2015) drew this line from the initial to the
    trained parameters; between two trained networks it shows a barrier, or none.
    ``alphas`` outside [0, 1] extrapolate. The model's parameters are restored.

    Parameters
    ----------
    model, loss_fn, X, y : as in :func:`nnbook.hessian.flat_gradient`
    theta_a, theta_b : (P,) parameter vectors (:func:`~nnbook.hessian.flat_parameters`)
    alphas : 1-D sequence of floats
    metric : callable, optional
        ``metric(output, y) -> float`` (e.g. :func:`nnbook.accuracy`), also recorded.

    Returns
    -------
    losses : (len(alphas),) NumPy array; with ``metric``, ``(losses, metrics)``.
    """
    _check_problem(model, loss_fn, X, y)
    a, b = _as_theta(model, theta_a, "theta_a"), _as_theta(model, theta_b, "theta_b")
    alphas = np.asarray(alphas, dtype=float)
    if alphas.ndim != 1:
        raise ValueError(f"alphas must be a 1-D sequence, got shape {alphas.shape}")
    saved, params = flat_parameters(model), model.parameters()
    try:
        vals = [_evaluate(model, params, loss_fn, X, y, (1.0 - t) * a + t * b, metric)
                for t in alphas]
    finally:
        set_flat_parameters(model, saved)
    losses = np.array([v[0] for v in vals])
    return losses if metric is None else (losses, np.array([v[1] for v in vals]))


def random_direction(model, *, rng, normalization: str = "filter", ignore_bias: bool = True):
    r"""A random direction :math:`d \in \mathbb R^P` in parameter space, scaled like the model.

    Draw :math:`d \sim \mathcal N(0, I)`. With ``normalization="filter"`` (Li et
    al., 2018), each filter of :math:`d`, i.e. each row :math:`d_i` of a weight
    matrix (the weights into one unit), is rescaled to the norm of the same row
    of the model's weights,

    .. math::
        d_i \leftarrow \frac{d_i}{\lVert d_i\rVert}\,\lVert \theta_i\rVert,

    so that a step :math:`\alpha d` changes every unit by the same relative amount,
    and landscapes of networks with differently scaled weights compare.
    Vectors (biases) get a zero direction when ``ignore_bias`` (as in Li et
    al.'s experiments; their code can also keep them, copying the biases themselves
    into the direction, where nnbook rescales a random vector) and are otherwise
    rescaled as one filter. ``normalization="none"`` returns :math:`d / \lVert d\rVert`.

    Returns
    -------
    (P,) array on the model's backend, in the order of :func:`~nnbook.hessian.flat_parameters`.
    """
    _check_model(model)
    check_rng(rng)
    if normalization not in ("filter", "none"):
        raise ValueError(f"normalization must be 'filter' or 'none', got {normalization!r}")
    parts = []
    for p in model.parameters():
        d = rng.standard_normal(p.shape)
        if normalization == "filter":
            w = to_numpy(p.data)
            if w.ndim == 1:
                d = np.zeros_like(d) if ignore_bias else d * (np.linalg.norm(w) / np.linalg.norm(d))
            else:
                rows_w = np.linalg.norm(w.reshape(w.shape[0], -1), axis=1)
                rows_d = np.linalg.norm(d.reshape(d.shape[0], -1), axis=1)
                d = d * (rows_w / rows_d).reshape((-1,) + (1,) * (d.ndim - 1))
        parts.append(d.ravel())
    d = np.concatenate(parts)
    if normalization == "none":
        d = d / np.linalg.norm(d)
    return model.backend.asarray(d)


def slice_2d(model, loss_fn, X, y, theta, d1, d2, alphas, betas, *, metric=None):
    r"""The loss on the plane :math:`\theta + \alpha d_1 + \beta d_2` through ``theta``.

    Parameters
    ----------
    model, loss_fn, X, y : as in :func:`nnbook.hessian.flat_gradient`
    theta : (P,) the centre (usually the trained parameters)
    d1, d2 : (P,) directions (:func:`random_direction`)
    alphas, betas : 1-D sequences: the grid along :math:`d_1` and along :math:`d_2`
    metric : callable, optional, as in :func:`interpolate`

    Returns
    -------
    losses : (len(betas), len(alphas)) NumPy array, row ``i`` at ``betas[i]``
    (ready for ``contour(alphas, betas, losses)``); with ``metric``, ``(losses, metrics)``.
    """
    _check_problem(model, loss_fn, X, y)
    t = _as_theta(model, theta, "theta")
    u, v = _as_theta(model, d1, "d1"), _as_theta(model, d2, "d2")
    alphas, betas = np.asarray(alphas, dtype=float), np.asarray(betas, dtype=float)
    for name, g in (("alphas", alphas), ("betas", betas)):
        if g.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence, got shape {g.shape}")
    saved, params = flat_parameters(model), model.parameters()
    try:
        vals = [[_evaluate(model, params, loss_fn, X, y, t + a * u + b * v, metric)
                 for a in alphas] for b in betas]
    finally:
        set_flat_parameters(model, saved)
    losses = np.array([[c[0] for c in row] for row in vals])
    if metric is None:
        return losses
    return losses, np.array([[c[1] for c in row] for row in vals])
