r"""The Hessian of a model's loss with respect to its parameters.

Flatten every parameter of a model into one vector :math:`\theta \in \mathbb R^P`
(in the order of ``model.parameters()``, each array row-major). The loss
:math:`L(\theta)` on a fixed batch ``(X, y)`` then has a gradient
:math:`g(\theta) \in \mathbb R^P`, computed exactly by backpropagation, and a
Hessian :math:`H(\theta) = \nabla^2 L(\theta) \in \mathbb R^{P \times P}`.

nnbook has no second-order backward pass. It gets second derivatives from its
exact gradients by central differences along a direction :math:`v`,

.. math::
    H v \approx \frac{g(\theta + \varepsilon v) - g(\theta - \varepsilon v)}{2 \varepsilon},

a **Hessian-vector product** (:func:`hvp`) that costs two backward passes and is
exact for a quadratic loss (error :math:`O(\varepsilon^2)` otherwise). The full
Hessian (:func:`hessian`) is :math:`P` such products with the unit vectors,
symmetrised; for models too large for a :math:`P \times P` matrix the top
eigenvalues come from Hessian-vector products alone, by the Lanczos method or by
power (subspace) iteration (:func:`top_eigenvalues`).

:func:`autograd_hessian` writes the same network in PyTorch and lets
``torch.autograd.functional.hessian`` differentiate it twice: the independent
oracle for all of the above.

ReLU networks: the loss is only piecewise smooth in :math:`\theta`. On each
linear piece of the network (each *activation pattern*: which ReLUs are on) it is
smooth, and its Hessian there is what autograd returns. A step that crossed a kink
would add a jump of the gradient divided by :math:`2h`, which is huge, and a
Lanczos iteration seeks out exactly such directions. So :func:`hvp` freezes every
ReLU, leaky ReLU, PReLU and maxout on the piece it takes at :math:`\theta`
(``Module.frozen_piece``) while it differences the gradient: the quotient is the
Hessian of the current piece, exactly what autograd gives (ReLU's derivative
taken as 0 at 0).

Stochastic models: every function here refuses (ValueError) a model with a
module that draws at random on its next forward pass (``Dropout`` in training
mode, Monte-Carlo dropout, any module with ``stochastic = True``): a new mask on
each of the two gradients would make their difference noise. Call
``model.eval()`` first; the Hessian is then that of the deterministic network
(batch norm in eval mode uses its running statistics).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

from .backend import check_array, check_rng, namespace, to_numpy
from .layers import Module, check_input

__all__ = [
    "autograd_hessian",
    "flat_gradient",
    "flat_parameters",
    "hessian",
    "hvp",
    "lanczos",
    "loss_value",
    "num_parameters",
    "set_flat_parameters",
    "top_eigenvalues",
]


# --------------------------------------------------------------------------
# Flat parameter vectors
# --------------------------------------------------------------------------

def _check_model(model):
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnbook Module, got {type(model).__name__}")
    if not model.parameters():
        raise ValueError("model must have at least one parameter, got none")


def num_parameters(model) -> int:
    """The number :math:`P` of scalar parameters of ``model``."""
    _check_model(model)
    return sum(math.prod(p.shape) for p in model.parameters())


def flat_parameters(model):
    r"""All parameters of ``model`` as one new vector :math:`\theta`, shape (P,).

    The order is that of ``model.parameters()``, each array flattened row-major
    (``W`` of a Linear layer row by row: the weights into unit 0, then unit 1...).
    The vector is a copy on the model's backend: changing it changes nothing.
    """
    _check_model(model)
    xp = model.backend.xp
    return xp.concat([xp.reshape(p.data, (-1,)) for p in model.parameters()]) + 0.0


def set_flat_parameters(model, theta):
    """Write the vector ``theta`` (P,) into the parameters of ``model``, in place.

    The inverse of :func:`flat_parameters`. ``theta`` may be a NumPy array or a
    tensor; it is converted to the model's backend (and is not kept).

    Raises
    ------
    ValueError
        If ``theta`` does not have shape (P,).
    """
    P = num_parameters(model)
    check_array(theta, "theta", shape=(P,))
    _write(model.parameters(), model.backend.asarray(theta), model.backend.xp)


def _write(params, theta, xp):
    """Copy the slices of ``theta`` into ``params`` (no checks: the inner loop of the views)."""
    start = 0
    for p in params:
        n = math.prod(p.shape)
        p.data[...] = xp.reshape(theta[start:start + n], p.shape)
        start += n


# --------------------------------------------------------------------------
# Loss and gradient as functions of theta
# --------------------------------------------------------------------------

def _stochastic_modules(model):
    """Names of the modules of ``model`` whose next forward pass draws at random.

    Found without importing them: a module that declares ``stochastic``, or one
    whose class name contains "Dropout" and that is ``active`` (Dropout in
    training mode, or Monte-Carlo dropout) or, without that flag, in training mode.
    """
    found = []
    for m in model._modules():
        flag = getattr(m, "stochastic", None)
        if flag is None and "dropout" in type(m).__name__.lower():
            flag = getattr(m, "active", m.training) and getattr(m, "p", 1.0) != 0.0
        if flag:
            found.append(type(m).__name__)
    return found


def _check_problem(model, loss_fn, X, y):
    _check_model(model)
    stochastic = _stochastic_modules(model)
    if stochastic:
        raise ValueError(
            f"model must be deterministic (a new dropout mask on every forward makes "
            f"finite differences of the gradient meaningless): call model.eval() "
            f"first, got {', '.join(sorted(set(stochastic)))} active"
        )
    if not (callable(getattr(loss_fn, "forward", None))
            and callable(getattr(loss_fn, "backward", None))):
        raise TypeError(
            f"loss_fn must be an nnbook loss (with forward and backward), "
            f"got {type(loss_fn).__name__}"
        )
    check_input(X, model, "X")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} rows like X, got shape {tuple(y.shape)}")
    loss_fn.forward(model.forward(X), y)          # validates the targets once


def _loss(model, loss_fn, X, y):
    return loss_fn.forward(model.forward(X), y, validate=False)


def _gradient(model, loss_fn, X, y, params=None):
    xp = model.backend.xp
    params = model.parameters() if params is None else params
    loss = _loss(model, loss_fn, X, y)
    for p in params:
        p.grad = None
    model.backward(loss_fn.backward(), input_grad=False)
    parts = [xp.reshape(p.grad, (-1,)) if p.grad is not None
             else xp.zeros(math.prod(p.shape), dtype=p.data.dtype)
             for p in params]
    return loss, xp.concat(parts)


def loss_value(model, loss_fn, X, y) -> float:
    """The loss of ``model`` on the batch ``(X, y)``, as a float (model's current mode)."""
    _check_problem(model, loss_fn, X, y)
    return float(_loss(model, loss_fn, X, y))


def flat_gradient(model, loss_fn, X, y):
    r"""The gradient :math:`g = \nabla_\theta L` (P,) of the loss on ``(X, y)``, by backpropagation.

    Parameters
    ----------
    model : Module
    loss_fn : an nnbook loss (``MSELoss``, ``CrossEntropyLoss``...)
    X : (N, D) float array on the model's backend
    y : the targets ``loss_fn`` expects, N rows

    Returns
    -------
    (P,) array on the model's backend, in the order of :func:`flat_parameters`.
    """
    _check_problem(model, loss_fn, X, y)
    return _gradient(model, loss_fn, X, y)[1]


# --------------------------------------------------------------------------
# Hessian-vector products and the full Hessian
# --------------------------------------------------------------------------

def _default_eps(dtype_name: str) -> float:
    # Central differences balance a truncation error eps^2 against round-off u/eps:
    # the best step is about u^(1/3): 6e-6 in float64, 5e-3 in float32.
    return float(np.finfo(dtype_name).eps) ** (1.0 / 3.0)


@contextmanager
def _on_current_piece(model, X, theta):
    """Freeze every piecewise-linear module on the piece it takes at ``theta`` on ``X``.

    A ReLU network's loss is smooth on each linear piece (each activation
    pattern) and has kinks between them. Inside this context, every ReLU,
    leaky ReLU, PReLU and maxout uses the pattern of a forward at ``theta``,
    whatever its input: the loss is the smooth function of the parameters that
    it is on that piece, and finite differences of its gradient give that
    piece's Hessian, which is what autograd returns (with ReLU's derivative 0 at 0).
    """
    modules = list(model._modules())
    for m in modules:                       # no stale piece from an earlier freeze
        m.frozen_piece = None
    _write(model.parameters(), theta, model.backend.xp)
    model.forward(X)
    pieces = [(m, m.piece()) for m in modules]
    try:
        for m, piece in pieces:
            m.frozen_piece = piece
        yield
    finally:
        for m in modules:
            m.frozen_piece = None


def _hvp(model, loss_fn, X, y, theta, v, eps):
    xp = model.backend.xp
    norm = float(xp.linalg.vector_norm(v))
    if norm == 0.0:
        return xp.zeros_like(v)
    h = eps / norm                              # a step of length eps along v
    params = model.parameters()
    try:
        with _on_current_piece(model, X, theta):
            _write(params, theta + h * v, xp)
            _, g_plus = _gradient(model, loss_fn, X, y, params)
            _write(params, theta - h * v, xp)
            _, g_minus = _gradient(model, loss_fn, X, y, params)
    finally:
        _write(params, theta, xp)
    return (g_plus - g_minus) / (2.0 * h)


def _eps(model, eps):
    if eps is None:
        return _default_eps(model.backend.dtype)
    if not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return float(eps)


def hvp(model, loss_fn, X, y, v, *, eps: float | None = None):
    r"""The Hessian-vector product :math:`H v` at the model's current parameters.

    .. math::
        H v \approx \frac{g(\theta + h v) - g(\theta - h v)}{2 h},
        \qquad h = \varepsilon / \lVert v \rVert,

    two gradients by backpropagation, and no :math:`P \times P` matrix. The
    parameters are restored afterwards.

    Parameters
    ----------
    model, loss_fn, X, y : as in :func:`flat_gradient`
    v : (P,) array (NumPy or the model's backend)
    eps : float, optional
        Length of the step along :math:`v`; default :math:`u^{1/3}` for the
        model's dtype with unit roundoff :math:`u` (:math:`6\cdot 10^{-6}` in float64).

    Returns
    -------
    (P,) array on the model's backend.
    """
    _check_problem(model, loss_fn, X, y)
    P = num_parameters(model)
    check_array(v, "v", shape=(P,))
    eps = _eps(model, eps)
    return _hvp(model, loss_fn, X, y, flat_parameters(model), model.backend.asarray(v), eps)


def hessian(model, loss_fn, X, y, *, eps: float | None = None):
    r"""The Hessian :math:`H = \nabla^2_\theta L` (P, P) of the loss on ``(X, y)``.

    Column :math:`j` is the Hessian-vector product with the unit vector
    :math:`e_j` (:func:`hvp`), i.e. central differences of the exact gradient in
    coordinate :math:`j`; the result is symmetrised, :math:`(H + H^\top)/2`,
    which removes the rounding asymmetry and changes nothing else. Cost:
    :math:`2P` forward and backward passes, :math:`P^2` memory; for large models
    use :func:`hvp` and :func:`top_eigenvalues`.

    Parameters
    ----------
    model, loss_fn, X, y : as in :func:`flat_gradient`
    eps : float, optional
        Finite-difference step, see :func:`hvp`.

    Returns
    -------
    (P, P) symmetric array on the model's backend, rows and columns in the order
    of :func:`flat_parameters`.
    """
    _check_problem(model, loss_fn, X, y)
    eps = _eps(model, eps)
    xp = model.backend.xp
    theta = flat_parameters(model)
    P = theta.shape[0]
    eye = xp.eye(P, dtype=theta.dtype, device=_device_of(theta))
    # One column per parameter: the loop over coordinates is the price of finite differences.
    cols = [_hvp(model, loss_fn, X, y, theta, eye[j], eps) for j in range(P)]
    H = xp.stack(cols, axis=1)
    return (H + H.T) / 2.0


def _device_of(x):
    from array_api_compat import device

    return device(x)


# --------------------------------------------------------------------------
# Top eigenvalues from Hessian-vector products
# --------------------------------------------------------------------------

def lanczos(matvec, v0, iters: int):
    r"""Lanczos tridiagonalisation of a symmetric operator, with full reorthogonalisation.

    From :math:`q_1 = v_0/\lVert v_0\rVert`, each step applies the operator once,

    .. math::
        \beta_j q_{j+1} = A q_j - \alpha_j q_j - \beta_{j-1} q_{j-1},
        \qquad \alpha_j = q_j^\top A q_j,

    so that :math:`Q^\top A Q = T` is tridiagonal (diagonal :math:`\alpha`,
    off-diagonal :math:`\beta`). The eigenvalues of the small :math:`T` (Ritz
    values) approach the extreme eigenvalues of :math:`A` first. Each new
    :math:`q` is re-orthogonalised against all previous ones (twice), which
    costs :math:`O(mP)` per step and keeps rounding from producing spurious
    copies of converged eigenvalues.

    Parameters
    ----------
    matvec : callable, ``matvec(q) -> A q``, (P,) -> (P,)
    v0 : (P,) array, starting vector (not zero)
    iters : int
        Number of steps :math:`m \le P` (operator applications); stops earlier
        if the Krylov space becomes invariant (:math:`\beta_j \approx 0`).

    Returns
    -------
    T : (m, m) NumPy array, tridiagonal
    Q : (m, P) array of the Lanczos vectors, on ``v0``'s backend
    """
    xp = namespace(v0)
    P = v0.shape[0]
    if not isinstance(iters, int) or isinstance(iters, bool) or iters < 1:
        raise ValueError(f"iters must be a positive int, got {iters!r}")
    m = min(iters, P)
    norm0 = float(xp.linalg.vector_norm(v0))
    if norm0 == 0.0:
        raise ValueError("v0 must not be the zero vector")
    qs = [v0 / norm0]
    alphas, betas = [], []
    scale = 0.0
    for j in range(m):
        w = matvec(qs[j])
        alpha = float(xp.sum(w * qs[j]))
        alphas.append(alpha)
        Q = xp.stack(qs, axis=0)                       # (j+1, P)
        for _ in range(2):                             # full reorthogonalisation, twice
            w = w - (Q @ w) @ Q
        beta = float(xp.linalg.vector_norm(w))
        scale = max(scale, abs(alpha), beta)
        if j == m - 1 or beta <= 1e-12 * max(scale, 1e-300):
            break
        betas.append(beta)
        qs.append(w / beta)
    k = len(alphas)
    T = np.diag(np.array(alphas)) + np.diag(np.array(betas[:k - 1]), 1) \
        + np.diag(np.array(betas[:k - 1]), -1)
    return T, xp.stack(qs[:k], axis=0)


def top_eigenvalues(model, loss_fn, X, y, k: int = 1, *, iters: int = 100, rng,
                    method: str = "lanczos", eps: float | None = None):
    r"""The ``k`` largest eigenvalues of the loss Hessian, from Hessian-vector products only.

    No :math:`P \times P` matrix is formed: each iteration is one :func:`hvp`
    (two backward passes), so this works for models of any size.

    * ``method="lanczos"`` (default): ``iters`` Lanczos steps (:func:`lanczos`)
      from a random start, then the ``k`` largest Ritz values, which converge to
      the largest (algebraic) eigenvalues. With ``iters >= P`` the result is the
      exact top of the spectrum (up to the finite-difference error).
    * ``method="power"``: subspace (block power) iteration
      :math:`Q \leftarrow \operatorname{qr}(H Q)` with a :math:`P \times k` block, then
      the eigenvalues of :math:`Q^\top H Q`. It converges to the ``k``
      eigenvalues of largest **magnitude**, at a rate set by
      :math:`|\lambda_{k+1}|/|\lambda_k|`; at a minimum, where
      :math:`H \succeq 0`, these are the largest ones.

    Parameters
    ----------
    model, loss_fn, X, y : as in :func:`flat_gradient`
    k : int, 1 <= k <= P
    iters : int
        Lanczos steps (at least ``k``) or power iterations.
    rng : numpy.random.Generator
        Draws the starting vector(s).
    method : {"lanczos", "power"}
    eps : float, optional
        Finite-difference step of :func:`hvp`.

    Returns
    -------
    (k,) NumPy float64 array, in descending order.
    """
    _check_problem(model, loss_fn, X, y)
    check_rng(rng)
    P = num_parameters(model)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= P:
        raise ValueError(f"k must be an int in [1, {P}] (the number of parameters), got {k!r}")
    if not isinstance(iters, int) or isinstance(iters, bool) or iters < k:
        raise ValueError(f"iters must be an int >= k = {k}, got {iters!r}")
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    eps = _eps(model, eps)
    theta = flat_parameters(model)
    bk = model.backend

    def matvec(v):
        return _hvp(model, loss_fn, X, y, theta, v, eps)

    if method == "lanczos":
        T, _ = lanczos(matvec, bk.asarray(rng.standard_normal(P)), iters)
        ritz = np.linalg.eigvalsh(T)[::-1]
        if ritz.shape[0] < k:                        # the Krylov space closed early
            raise ValueError(
                f"the Krylov space of the starting vector has dimension {ritz.shape[0]} < k = {k}; "
                "try another rng"
            )
        return ritz[:k].copy()
    xp = bk.xp
    Q, _ = xp.linalg.qr(bk.asarray(rng.standard_normal((P, k))))
    for _ in range(iters):
        HQ = xp.stack([matvec(Q[:, i]) for i in range(k)], axis=1)
        Q, _ = xp.linalg.qr(HQ)
    HQ = xp.stack([matvec(Q[:, i]) for i in range(k)], axis=1)
    small = to_numpy(Q.T @ HQ)
    return np.linalg.eigvalsh((small + small.T) / 2.0)[::-1].copy()


# --------------------------------------------------------------------------
# The oracle: the same network in PyTorch, differentiated twice by autograd
# --------------------------------------------------------------------------

def _torch_forward(module, x, params):
    """Run ``module`` in torch with parameters taken in order from the iterator ``params``."""
    import torch

    from . import layers

    if isinstance(module, layers.Linear):
        W = next(params)
        out = x @ W.T
        return out + next(params) if module.b is not None else out
    if isinstance(module, layers.Sequential):
        for layer in module.layers:
            x = _torch_forward(layer, x, params)
        return x
    if isinstance(module, layers.Residual):
        return x + _torch_forward(module.inner, x, params)
    simple = {layers.Tanh: torch.tanh, layers.Sigmoid: torch.sigmoid,
              layers.ReLU: torch.relu, layers.Identity: lambda z: z}
    if type(module) in simple:
        return simple[type(module)](x)
    raise TypeError(f"autograd_hessian does not know the module {type(module).__name__}")


def _torch_loss(loss_fn, out, y):
    import torch.nn.functional as F

    from . import losses

    if isinstance(loss_fn, losses.MSELoss):
        return F.mse_loss(out, y)
    if isinstance(loss_fn, losses.BCEWithLogitsLoss):
        return F.binary_cross_entropy_with_logits(out, y)
    if isinstance(loss_fn, losses.CrossEntropyLoss):
        return F.cross_entropy(out, y)
    raise TypeError(f"autograd_hessian does not know the loss {type(loss_fn).__name__}")


def autograd_hessian(model, loss_fn, X, y) -> np.ndarray:
    """The loss Hessian by ``torch.autograd.functional.hessian``, as a (P, P) NumPy array.

    The model (Linear, Sequential, Residual, Tanh, Sigmoid, ReLU, Identity) and
    the loss (MSE, BCE with logits, cross-entropy) are rewritten with ``torch``
    operations as a function of the flat parameter vector, in float64 on the
    CPU, and differentiated twice by autograd. An independent check of
    :func:`hessian`, which only uses nnbook's own backward passes.
    """
    import torch

    _check_problem(model, loss_fn, X, y)
    shapes = [p.shape for p in model.parameters()]
    sizes = [math.prod(s) for s in shapes]
    Xt = torch.as_tensor(to_numpy(X), dtype=torch.float64)
    y_np = to_numpy(y)
    yt = torch.as_tensor(y_np, dtype=torch.float64 if np.issubdtype(y_np.dtype, np.floating)
                         else torch.int64)

    def f(theta):
        parts = torch.split(theta, sizes)
        params = iter(part.reshape(s) for part, s in zip(parts, shapes, strict=True))
        return _torch_loss(loss_fn, _torch_forward(model, Xt, params), yt)

    theta0 = torch.as_tensor(to_numpy(flat_parameters(model)), dtype=torch.float64)
    return torch.autograd.functional.hessian(f, theta0).numpy()
