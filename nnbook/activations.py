r"""Activation functions beyond sigmoid, tanh and ReLU, and the softmax of the output layer.

Each activation comes as in :mod:`nnbook.layers`: a pair of functions that do the
math, ``*_forward(z, ...) -> (out, cache)`` and ``*_backward(dout, cache)``,
written once against the array API (NumPy arrays and PyTorch tensors), and a
:class:`~nnbook.layers.Module` that calls them. Sigmoid, tanh and ReLU stay in
:mod:`nnbook.layers`.

========================  ==========================================================
``leaky_relu``            :math:`z` for :math:`z > 0`, :math:`a z` otherwise (fixed ``a``)
``prelu``                 the same with a learned slope ``a`` (a :class:`Parameter`)
``elu``                   :math:`z` for :math:`z > 0`, :math:`\alpha(e^z - 1)` otherwise
``gelu``                  :math:`z\,\Phi(z)`, exact (erf) or its tanh approximation
``softplus``              :math:`\frac1\beta \log(1 + e^{\beta z})`, a smooth ReLU
``maxout``                the largest of ``k`` linear pieces (reduces the width by ``k``)
``softmax``               :math:`e^{z_k}/\sum_j e^{z_j}` per row: class probabilities
========================  ==========================================================

Importing this module registers the element-wise ones with
:func:`nnbook.mlp` (``mlp(sizes, "gelu", rng=rng)``); maxout changes the width,
so it is a layer of its own, :class:`Maxout`.

Two diagnostics measure what the chapter on activations is about:
:func:`dead_relu_units` (units whose pre-activation is never positive on a data
set) and :func:`layer_gradient_norms` (how the gradient shrinks, layer by layer).

Notation as in :mod:`nnbook.layers`: ``dout`` is :math:`\partial L/\partial\,\text{out}`,
and a backward returns :math:`\partial L/\partial z` of ``z``'s shape.
"""

from __future__ import annotations

import math
import numbers

from . import losses as _losses
from .backend import as_backend, check_array, namespace
from .layers import ACTIVATIONS, Linear, Module, Parameter, ReLU, Sequential, _Activation

__all__ = [
    "ELU",
    "GELU",
    "LeakyReLU",
    "Maxout",
    "PReLU",
    "Softmax",
    "Softplus",
    "dead_relu_units",
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "layer_gradient_norms",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "prelu_backward",
    "prelu_forward",
    "softmax_backward",
    "softmax_forward",
    "softplus_backward",
    "softplus_forward",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715


# --------------------------------------------------------------------------
# Validation of the scalar settings (cheap: done at every public call)
# --------------------------------------------------------------------------

def _real(name: str, value, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        want = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return value


def _erf(xp, z):
    """The error function, element-wise: ``xp.erf`` where the namespace has it.

    The array API standard has no ``erf``; PyTorch does, and for NumPy arrays
    SciPy's (installed with scikit-learn) is used, else :func:`math.erf` entry by
    entry.
    """
    f = getattr(xp, "erf", None)
    if f is not None:
        return f(z)
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - NumPy alone
        import numpy as np

        return np.vectorize(math.erf, otypes=[z.dtype])(z)
    return erf(z)


# --------------------------------------------------------------------------
# Leaky ReLU and PReLU
# --------------------------------------------------------------------------

def leaky_relu_forward(z, negative_slope: float = 0.01):
    r"""Leaky ReLU :math:`g(z) = z` for :math:`z > 0`, :math:`a z` for :math:`z \le 0`.

    Maas, Hannun & Ng (2013). A unit with :math:`z < 0` still passes a gradient
    :math:`a` (PyTorch's default :math:`a = 0.01`), so it cannot die.

    Parameters
    ----------
    z : (N, ...) float array
    negative_slope : float
        The slope :math:`a` for negative inputs.

    Returns
    -------
    out : array of ``z``'s shape
    cache : the local slope :math:`g'(z)`, 1 or :math:`a` per entry
    """
    a = _real("negative_slope", negative_slope)
    xp = check_array(z, "z")
    slope = a + (1.0 - a) * xp.astype(z > 0, z.dtype)      # 1 where z > 0, else a
    return z * slope, slope


def leaky_relu_backward(dout, cache):
    r""":math:`g'(z) = 1` for :math:`z > 0`, :math:`a` for :math:`z < 0` (and at 0, as PyTorch)."""
    return dout * cache


def _check_slope(a, z):
    check_array(a, "a", ndim=1)
    d = z.shape[1] if z.ndim > 1 else 1
    if a.shape[0] not in (1, d):
        raise ValueError(f"a must have shape (1,) or ({d},), got {tuple(a.shape)}")


def prelu_forward(z, a):
    r"""Parametric ReLU :math:`g(z) = \max(z, 0) + a \min(z, 0)` with a learned slope.

    He, Zhang, Ren & Sun (2015). ``a`` has one slope for all units (shape (1,))
    or one per unit (shape (D,), broadcast along the batch), as in
    ``torch.nn.PReLU(num_parameters)``.

    Parameters
    ----------
    z : (N, D) float array
    a : (1,) or (D,) float array

    Returns
    -------
    out : (N, D) array
    cache : ``(z, pos, a)``, ``pos`` the float mask :math:`[z > 0]`
    """
    xp = check_array(z, "z")
    _check_slope(a, z)
    pos = xp.astype(z > 0, z.dtype)
    return z * (pos + a * (1.0 - pos)), (z, pos, a)


def prelu_backward(dout, cache):
    r"""Gradients with respect to the input and to the slope.

    .. math::
        \frac{\partial L}{\partial z} = \delta \odot \big([z > 0] + a\,[z \le 0]\big),
        \qquad
        \frac{\partial L}{\partial a_j} = \sum_n \delta_{nj} \min(z_{nj}, 0)

    (summed over every unit too when a single slope is shared).

    Returns
    -------
    dz : array of ``z``'s shape, da : array of ``a``'s shape
    """
    z, pos, a = cache
    xp = namespace(dout)
    dz = dout * (pos + a * (1.0 - pos))
    contrib = dout * z * (1.0 - pos)                           # delta * min(z, 0)
    da = xp.sum(contrib, axis=0) if z.ndim > 1 else contrib
    if a.shape[0] == 1:
        da = xp.reshape(xp.sum(da), (1,))
    return dz, da


# --------------------------------------------------------------------------
# ELU, GELU, softplus
# --------------------------------------------------------------------------

def elu_forward(z, alpha: float = 1.0):
    r"""Exponential linear unit :math:`g(z) = z` for :math:`z > 0`, :math:`\alpha(e^z - 1)` otherwise.

    Clevert, Unterthiner & Hochreiter (2016). Smooth at 0 for :math:`\alpha = 1`;
    its negative outputs (down to :math:`-\alpha`) push the mean activation
    towards 0. ``expm1`` is evaluated on :math:`\min(z, 0)` only, so it never
    overflows.

    Returns
    -------
    out : array of ``z``'s shape
    cache : the local slope :math:`g'(z)`
    """
    alpha = _real("alpha", alpha, positive=True)
    xp = check_array(z, "z")
    zero = xp.zeros_like(z)
    neg = xp.minimum(z, zero)                                  # 0 where z > 0
    pos = xp.astype(z > 0, z.dtype)
    # max(z, 0) + alpha (e^min(z,0) - 1): one term is 0 on each side of 0
    out = xp.maximum(z, zero) + alpha * xp.expm1(neg)
    return out, pos + (1.0 - pos) * (alpha * xp.exp(neg))


def elu_backward(dout, cache):
    r""":math:`g'(z) = 1` for :math:`z > 0`, :math:`\alpha e^z = g(z) + \alpha` for :math:`z \le 0`."""
    return dout * cache


def gelu_forward(z, approximate: str = "none"):
    r"""Gaussian error linear unit :math:`g(z) = z\,\Phi(z)`, as ``torch.nn.GELU(approximate=...)``.

    Hendrycks & Gimpel (2016). :math:`\Phi` is the standard normal CDF,
    :math:`\Phi(z) = \tfrac12\big(1 + \operatorname{erf}(z/\sqrt2)\big)` for
    ``approximate="none"``; ``approximate="tanh"`` uses

    .. math::
        \Phi(z) \approx \tfrac12\Big(1 + \tanh\big(\sqrt{2/\pi}\,(z + 0.044715\,z^3)\big)\Big).

    Returns
    -------
    out : array of ``z``'s shape
    cache : ``(z, phi, approximate)``, ``phi`` the (approximate) :math:`\Phi(z)`
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    xp = check_array(z, "z")
    if approximate == "none":
        cdf = 0.5 * (1.0 + _erf(xp, z * (1.0 / math.sqrt(2.0))))
        return z * cdf, (z, cdf, approximate)
    t = xp.tanh(_SQRT_2_OVER_PI * (z + _GELU_TANH_C * z * z * z))
    return 0.5 * z * (1.0 + t), (z, t, approximate)


def gelu_backward(dout, cache):
    r"""Exact: :math:`g'(z) = \Phi(z) + z\,\varphi(z)`, :math:`\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}`.

    Tanh form, with :math:`t = \tanh(u)`, :math:`u = \sqrt{2/\pi}(z + 0.044715 z^3)`:
    :math:`g'(z) = \tfrac12(1 + t) + \tfrac12 z (1 - t^2)\sqrt{2/\pi}(1 + 3 \cdot 0.044715 z^2)`.
    """
    z, c, approximate = cache
    xp = namespace(dout)
    if approximate == "none":
        pdf = xp.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))
        return dout * (c + z * pdf)
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * z * z)
    return dout * (0.5 * (1.0 + c) + 0.5 * z * (1.0 - c * c) * du)


def softplus_forward(z, beta: float = 1.0):
    r"""Softplus :math:`g(z) = \frac1\beta\log(1 + e^{\beta z})`, a smooth ReLU.

    Computed as :math:`\max(z, 0) + \frac1\beta\log(1 + e^{-\beta|z|})`, finite for
    every :math:`z`. PyTorch's ``softplus`` returns :math:`z` itself once
    :math:`\beta z > 20` (its ``threshold``); the two differ there by less than
    :math:`e^{-20}/\beta`. Dugas et al. (2001); Glorot, Bordes & Bengio (2011).

    Returns
    -------
    out : array of ``z``'s shape
    cache : ``(z, beta)``
    """
    beta = _real("beta", beta, positive=True)
    xp = check_array(z, "z")
    out = xp.maximum(z, xp.zeros_like(z)) + xp.log1p(xp.exp(-beta * xp.abs(z))) / beta
    return out, (z, beta)


def softplus_backward(dout, cache):
    r""":math:`g'(z) = \sigma(\beta z) \in (0, 1)`: the logistic sigmoid."""
    from .layers import sigmoid_forward

    z, beta = cache
    s, _ = sigmoid_forward(beta * z)
    return dout * s


# --------------------------------------------------------------------------
# Maxout
# --------------------------------------------------------------------------

def maxout_forward(z, k: int):
    r"""Maxout: unit :math:`j` outputs the largest of its ``k`` pieces.

    Goodfellow et al. (2013). The pieces of unit :math:`j` are the consecutive
    columns :math:`jk, \dots, jk + k - 1` of ``z`` (the output of a Linear layer
    with :math:`Dk` outputs):

    .. math:: h_j = \max_{i < k} z_{j k + i}.

    Parameters
    ----------
    z : (N, D * k) float array
    k : int
        Pieces per unit.

    Returns
    -------
    out : (N, D) array
    cache : ``(winner, shape)``: the (N, D, k) one-hot mask of the largest piece
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    xp = check_array(z, "z", ndim=2)
    N, Dk = z.shape
    if Dk % k:
        raise ValueError(f"z must have a multiple of k={k} columns, got {Dk}")
    pieces = xp.reshape(z, (N, Dk // k, k))
    # k is small: k - 1 element-wise comparisons are much faster than a reduction
    # over a short inner axis, and keep the first maximum on ties.
    best = pieces[:, :, 0]
    idx = xp.zeros(best.shape, dtype=xp.int64, device=_device(z))
    for i in range(1, k):
        better = xp.astype(pieces[:, :, i] > best, xp.int64)
        best = xp.maximum(best, pieces[:, :, i])
        idx = idx + better * (i - idx)
    ar = xp.reshape(xp.arange(k, device=_device(z)), (1, 1, k))
    winner = xp.astype(idx[:, :, None] == ar, z.dtype)
    return best, (winner, (N, Dk))


def maxout_backward(dout, cache):
    r"""The gradient goes to the winning piece of each unit, 0 to the others.

    .. math:: \frac{\partial L}{\partial z_{jk+i}} = \delta_j \,[i = \arg\max_{i'} z_{jk+i'}]
    """
    winner, shape = cache
    xp = namespace(dout)
    return xp.reshape(dout[:, :, None] * winner, shape)


def _device(x):
    from array_api_compat import device

    return device(x)


# --------------------------------------------------------------------------
# Softmax for the output layer
# --------------------------------------------------------------------------

def softmax_forward(z):
    r"""Row-wise softmax :math:`p_{nk} = e^{z_{nk}}/\sum_j e^{z_{nj}}`, computed stably.

    Each row is shifted by its maximum first (softmax is unchanged by adding a
    constant to a row), so no exponential overflows.

    Parameters
    ----------
    z : (N, C) float array of logits

    Returns
    -------
    out : (N, C) array, rows summing to 1
    cache : the output ``p``
    """
    check_array(z, "z", ndim=2)
    p = _losses.softmax(z, axis=1)
    return p, p


def softmax_backward(dout, cache):
    r"""Vector-Jacobian product of the softmax, row by row.

    The Jacobian of row :math:`n` is :math:`\operatorname{diag}(p) - p p^\top`, so

    .. math::
        \frac{\partial L}{\partial z_{nk}} = p_{nk}\Big(\delta_{nk} - \sum_j \delta_{nj} p_{nj}\Big),

    without forming the :math:`C \times C` matrix.
    """
    p = cache
    xp = namespace(dout)
    return p * (dout - xp.sum(dout * p, axis=1, keepdims=True))


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------

class LeakyReLU(_Activation):
    """Leaky ReLU with a fixed ``negative_slope`` (see :func:`leaky_relu_forward`)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = _real("negative_slope", negative_slope)

    def forward(self, z):
        if self.frozen_piece is not None:
            self._cache = self.frozen_piece
            return z * self._cache
        out, self._cache = leaky_relu_forward(z, self.negative_slope)
        return out

    _backward = staticmethod(leaky_relu_backward)

    def piece(self):
        return self._cache                                # the local slope, 1 or a

    def extra_repr(self):
        return f"negative_slope={self.negative_slope:g}"


class PReLU(_Activation):
    """Parametric ReLU with a learned slope ``a`` (see :func:`prelu_forward`).

    Parameters
    ----------
    num_parameters : int
        1 (one slope shared by all units, PyTorch's default) or the layer width.
    init : float
        Initial slope (PyTorch: 0.25).
    backend : Backend or str, optional
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, *, backend=None):
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) \
                or num_parameters < 1:
            raise ValueError(f"num_parameters must be a positive int, got {num_parameters!r}")
        init = _real("init", init)
        self.backend = as_backend(backend)
        self.a = Parameter(self.backend.asarray([init] * num_parameters), "a")

    def forward(self, z):
        if self.frozen_piece is not None:
            pos, a = self.frozen_piece, self.a.data
            self._cache = (z, pos, a)
            return z * (pos + a * (1.0 - pos))
        out, self._cache = prelu_forward(z, self.a.data)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("PReLU.backward called before forward")
        dz, self.a.grad = prelu_backward(dout, self._cache)
        return dz

    def piece(self):
        return None if self._cache is None else self._cache[1]   # the mask [z > 0]

    def extra_repr(self):
        return f"num_parameters={self.a.shape[0]}"


class ELU(_Activation):
    """Exponential linear unit (see :func:`elu_forward`)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = _real("alpha", alpha, positive=True)

    def forward(self, z):
        out, self._cache = elu_forward(z, self.alpha)
        return out

    _backward = staticmethod(elu_backward)

    def extra_repr(self):
        return f"alpha={self.alpha:g}"


class GELU(_Activation):
    """Gaussian error linear unit, ``approximate="none"`` or ``"tanh"`` (see :func:`gelu_forward`)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, z):
        out, self._cache = gelu_forward(z, self.approximate)
        return out

    _backward = staticmethod(gelu_backward)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(_Activation):
    """Softplus, a smooth ReLU (see :func:`softplus_forward`)."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = _real("beta", beta, positive=True)

    def forward(self, z):
        out, self._cache = softplus_forward(z, self.beta)
        return out

    _backward = staticmethod(softplus_backward)

    def extra_repr(self):
        return f"beta={self.beta:g}"


class Softmax(_Activation):
    """Row-wise softmax for the output layer (see :func:`softmax_forward`).

    For training, prefer :class:`nnbook.CrossEntropyLoss` on the logits: it fuses
    softmax and the log, and its gradient is :math:`(p - y)/N` directly.
    """

    _forward = staticmethod(softmax_forward)
    _backward = staticmethod(softmax_backward)


class Maxout(Module):
    r"""A maxout layer: a Linear map to ``out_features * k`` pieces, then the max of each ``k``.

    .. math:: h_j = \max_{i < k} \big(x W^\top + b\big)_{jk + i}

    Parameters
    ----------
    in_features, out_features : int
    k : int
        Pieces per unit (``k = 2`` with one piece fixed at 0 would be a ReLU).
    rng : numpy.random.Generator
    init, backend : as for :class:`~nnbook.layers.Linear`

    Shapes: ``x`` (N, D_in) -> (N, D_out); parameters ``linear.W`` (D_out k, D_in)
    and ``linear.b`` (D_out k,).
    """

    def __init__(self, in_features: int, out_features: int, k: int = 2, *, rng,
                 init=None, backend=None):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        if isinstance(out_features, bool) or not isinstance(out_features, int) \
                or out_features < 1:
            raise ValueError(f"out_features must be a positive int, got {out_features!r}")
        self.k = k
        self.linear = Linear(in_features, out_features * k, rng=rng, init=init,
                             backend=backend)
        self.backend = self.linear.backend
        self._cache = None

    def forward(self, x):
        z = self.linear.forward(x)
        if self.frozen_piece is not None:
            xp = namespace(z)
            N, Dk = z.shape
            winner = self.frozen_piece
            self._cache = (winner, (N, Dk))
            return xp.sum(xp.reshape(z, (N, Dk // self.k, self.k)) * winner, axis=2)
        out, self._cache = maxout_forward(z, self.k)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("Maxout.backward called before forward")
        return self.linear.backward(maxout_backward(dout, self._cache), input_grad)

    def piece(self):
        return None if self._cache is None else self._cache[0]   # the winning pieces

    def children(self):
        return [("linear", self.linear)]

    def extra_repr(self):
        return (f"{self.linear.in_features}, {self.linear.out_features // self.k}, "
                f"k={self.k}")


# The element-wise activations by name, for ``mlp(sizes, activation)``.
ACTIVATIONS.update({
    "leaky_relu": LeakyReLU,
    "prelu": PReLU,
    "elu": ELU,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU("tanh"),
    "softplus": Softplus,
})


# --------------------------------------------------------------------------
# Diagnostics: dead units and gradients per layer
# --------------------------------------------------------------------------

def dead_relu_units(model: Sequential, X) -> list:
    r"""For each ReLU layer of ``model``, which units are dead on the data ``X``.

    A ReLU unit is **dead** on a data set when its pre-activation is
    :math:`\le 0` on every input: its output and its gradient are then 0 for
    all of them, so no gradient step on that data changes its incoming weights.

    Parameters
    ----------
    model : Sequential
        Its ReLU layers are inspected (other layers are just run).
    X : (N, D) float array on the model's backend

    Returns
    -------
    list of (D_l,) boolean arrays, one per ReLU layer, ``True`` for a dead unit.
    ``sum(int(m.sum()) for m in masks)`` counts them.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnbook Sequential, got {type(model).__name__}")
    xp = check_array(X, "X", ndim=2)
    was_training = model.training
    model.eval()
    masks, h = [], X
    try:
        for layer in model.layers:
            if isinstance(layer, ReLU):
                masks.append(xp.all(h <= 0, axis=0))
            h = layer.forward(h)
    finally:
        model.train(was_training)
    return masks


def layer_gradient_norms(model: Sequential, loss_fn, X, y, *, param: str = "W") -> list:
    r"""The Frobenius norm :math:`\lVert \partial L/\partial W_l \rVert` of each Linear layer's weight.

    One forward and one backward pass of ``loss_fn`` on ``(X, y)``; the list
    runs from the first layer (next to the input) to the last. With saturating
    activations the first layers' norms are orders of magnitude below the last
    ones': the vanishing gradient.

    The weight gradient :math:`\delta_l^\top a_{l-1}` is the error signal
    :math:`\delta_l = \partial L/\partial z_l` times the layer's input; with
    ``param="b"`` the norm of the bias gradient
    :math:`\partial L/\partial b_l = \sum_n \delta_{l,n}` is returned instead,
    which follows the error signal alone.

    Parameters
    ----------
    model : Sequential
    loss_fn : a loss module (``forward(out, y)``, ``backward()``)
    X : (N, D) float array on the model's backend
    y : the targets ``loss_fn`` expects
    param : {"W", "b"}
        Which parameter's gradient to measure.

    Returns
    -------
    list of float, one per :class:`~nnbook.layers.Linear` (or :class:`Maxout`) layer
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnbook Sequential, got {type(model).__name__}")
    if param not in ("W", "b"):
        raise ValueError(f'param must be "W" or "b", got {param!r}')
    check_array(X, "X", ndim=2)
    model.zero_grad()
    loss_fn.forward(model.forward(X), y)
    model.backward(loss_fn.backward(), input_grad=False)
    xp = model.backend.xp
    norms = []
    for layer in model.layers:
        lin = layer.linear if isinstance(layer, Maxout) else layer
        if isinstance(lin, Linear):
            g = lin.W.grad if param == "W" else lin.b.grad
            norms.append(float(xp.sqrt(xp.sum(g * g))))
    return norms
