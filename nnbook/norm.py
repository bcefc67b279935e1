r"""Normalization layers: batch, layer and group norm; weight and spectral norm.

The first three standardise activations over some axes and then apply a learned
per-feature scale :math:`\gamma` and shift :math:`\beta`,

.. math::
    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
    y = \gamma \hat x + \beta,

with :math:`\mu` and :math:`\sigma^2` the mean and the **biased** variance over the
axes in question (``eps`` is inside the square root). They differ only in those axes,
for an input of shape (N, C, H, W):

* :class:`BatchNorm`: over (N, H, W), per channel (a batch statistic);
* :class:`LayerNorm`: over the trailing feature axes, per sample;
* :class:`GroupNorm`: over (C/G, H, W) within each group of channels, per sample
  (``G = C`` is instance normalization, ``G = 1`` layer normalization over (C, H, W)).

The backward pass of the standardisation, over :math:`m` values per statistic, is

.. math::
    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \varepsilon}}
    \Big(g - \overline{g} - \hat x\, \overline{g \hat x}\Big), \qquad
    g = \frac{\partial L}{\partial \hat x},

where the bars are means over the same axes: the two subtracted terms are the
gradient flowing through :math:`\mu` and through :math:`\sigma^2`.

The last two reparametrise a weight matrix instead: :class:`WeightNormLinear`
splits each row into a norm and a direction (:func:`weight_norm`), and
:class:`SpectralNormLinear` divides the whole matrix by its largest singular
value, estimated by power iteration (:func:`power_iteration`). Both follow
``torch.nn.utils.parametrizations``.

Everything follows PyTorch's conventions (``torch.nn.BatchNorm1d/2d``,
``LayerNorm``, ``GroupNorm``), which the tests use as the oracle.
"""

from __future__ import annotations

import math

from array_api_compat import device as _device

from . import init as _init
from .backend import (
    as_backend,
    check_array,
    check_int,
    check_real,
    check_rng,
    device_name,
    dtype_name,
    library,
    namespace,
    to_numpy,
)
from .layers import Module, Parameter, linear_backward, linear_forward

__all__ = [
    "BatchNorm",
    "GroupNorm",
    "LayerNorm",
    "SpectralNormLinear",
    "WeightNormLinear",
    "batchnorm_backward",
    "batchnorm_forward",
    "groupnorm_backward",
    "groupnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
    "power_iteration",
    "spectral_norm_backward",
    "standardize_backward",
    "standardize_forward",
    "weight_norm",
    "weight_norm_backward",
]


# --------------------------------------------------------------------------
# The shared core: standardise over some axes, and its backward
# --------------------------------------------------------------------------

def standardize_forward(x, axes, eps: float = 1e-5):
    r""":math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}` over ``axes``.

    Parameters
    ----------
    x : array of any shape
    axes : tuple of int
        The axes the mean and the biased variance are taken over.
    eps : float

    Returns
    -------
    xhat : array like ``x``
    mean, var : arrays with the ``axes`` kept as size 1 (biased variance)
    """
    xp = namespace(x)
    mean = xp.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    return xc / xp.sqrt(var + eps), mean, var


def standardize_backward(dxhat, xhat, var, axes, eps: float = 1e-5):
    r"""Gradient of :func:`standardize_forward`.

    :math:`(g - \bar g - \hat x\,\overline{g\hat x})/\sqrt{\sigma^2+\varepsilon}`, with
    ``dxhat`` :math:`= g` and the bars means over ``axes``.
    """
    xp = namespace(dxhat)
    g_mean = xp.mean(dxhat, axis=axes, keepdims=True)
    gx_mean = xp.mean(dxhat * xhat, axis=axes, keepdims=True)
    return (dxhat - g_mean - xhat * gx_mean) / xp.sqrt(var + eps)


def _channel_shape(x):
    """(1, C, 1, ..., 1): broadcasts a per-channel vector against x (N, C, *)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


# --------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, eps: float = 1e-5):
    r"""Batch normalization in training mode: statistics of the batch, per channel.

    .. math::
        \mu_c = \frac{1}{m}\sum_{n,h,w} x_{nchw}, \quad
        \sigma_c^2 = \frac{1}{m}\sum_{n,h,w} (x_{nchw} - \mu_c)^2, \quad
        y_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}} + \beta_c,

    with :math:`m = N H W` (:math:`m = N` for (N, C) inputs).

    Parameters
    ----------
    x : (N, C) or (N, C, *spatial) array
    gamma, beta : (C,) arrays
    eps : float

    Returns
    -------
    out : array like ``x``
    cache : dict with ``xhat``, ``var``, ``mean`` (both (C,)-broadcastable),
        ``gamma``, ``axes`` and ``m``, the number of values per channel.
    """
    xp = namespace(x)
    axes = (0, *range(2, x.ndim))
    xhat, mean, var = standardize_forward(x, axes, eps)
    shape = _channel_shape(x)
    out = xhat * xp.reshape(gamma, shape) + xp.reshape(beta, shape)
    m = math.prod(x.shape) // x.shape[1]
    return out, {"xhat": xhat, "mean": mean, "var": var, "gamma": gamma, "axes": axes,
                 "eps": eps, "m": m}


def batchnorm_backward(dout, cache):
    r"""Gradients of :func:`batchnorm_forward`.

    .. math::
        \frac{\partial L}{\partial \gamma_c} = \sum_{n,h,w} \delta_{nchw}\,\hat x_{nchw},
        \qquad
        \frac{\partial L}{\partial \beta_c} = \sum_{n,h,w} \delta_{nchw},

    and :math:`\partial L/\partial x` by :func:`standardize_backward` with
    :math:`g = \gamma \delta`.

    Returns
    -------
    dx : like ``dout``; dgamma, dbeta : (C,)
    """
    xp = namespace(dout)
    xhat, axes = cache["xhat"], cache["axes"]
    gamma = xp.reshape(cache["gamma"], _channel_shape(dout))
    dgamma = xp.sum(dout * xhat, axis=axes)
    dbeta = xp.sum(dout, axis=axes)
    dx = standardize_backward(dout * gamma, xhat, cache["var"], axes, cache["eps"])
    return dx, dgamma, dbeta


class _Norm(Module):
    """Shared by the normalization modules: input checks and buffers that move with ``to``."""

    _buffers: tuple[str, ...] = ()

    def _check_x(self, x, min_ndim: int, what: str):
        check_array(x, "x", floating=False)
        bk = self.backend
        hint = "convert it with model.backend.asarray(x)"
        if library(x) != bk.library:
            raise TypeError(f"x is a {library(x)} array but the model lives on {bk}; {hint}")
        if x.ndim < min_ndim:
            raise ValueError(f"x must have shape {what}, got {tuple(x.shape)}")
        if dtype_name(x) != bk.dtype:
            raise TypeError(f"x must have the model's dtype {bk.dtype}, got {dtype_name(x)}; {hint}")
        dev = device_name(x)
        if dev != bk.device and dev.partition(":")[0] != bk.device:
            raise ValueError(f"x is on device {dev} but the model lives on {bk}; {hint}")

    def to(self, backend=None, device=None, dtype=None):
        super().to(backend, device, dtype)
        for name in self._buffers:
            setattr(self, name, self.backend.asarray(to_numpy(getattr(self, name))))
        return self


def _check_eps(eps):
    return check_real(eps, "eps", 0, low_open=True)


class BatchNorm(_Norm):
    r"""Batch normalization (Ioffe & Szegedy, 2015), as ``torch.nn.BatchNorm1d/2d``.

    In training mode (``train()``) the layer normalises each channel with the
    mean and the biased variance of the current batch (:func:`batchnorm_forward`)
    and updates running estimates,

    .. math::
        \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\tfrac{n}{n-1}\sigma_B^2,

    with ``momentum`` :math:`m` and :math:`n` values per channel (the running
    variance is the **unbiased** estimate). In evaluation mode (``eval()``) it uses
    the running estimates instead: a fixed affine map of each sample, independent
    of the rest of the batch.

    Parameters
    ----------
    num_features : int
        C, the number of channels (features).
    eps : float, > 0
        Added to the variance inside the square root.
    momentum : float in [0, 1]
        Weight of the new batch in the running estimates (PyTorch's convention).
    affine : bool
        Learn :math:`\gamma` (start 1) and :math:`\beta` (start 0).
    backend : Backend or str, optional

    Shapes: ``x`` (N, C) or (N, C, *spatial) -> the same shape. Parameters
    ``gamma``, ``beta`` (C,); buffers ``running_mean`` (start 0) and
    ``running_var`` (start 1), (C,).
    """

    _buffers = ("running_mean", "running_var")

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, backend=None):
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.eps = _check_eps(eps)
        self.momentum = check_real(momentum, "momentum", 0, 1)
        self.backend = as_backend(backend)
        bk, C = self.backend, self.num_features
        xp = bk.xp
        if affine:
            self.gamma = Parameter(bk.asarray(xp.ones(C)), "gamma")
            self.beta = Parameter(bk.asarray(xp.zeros(C)), "beta")
        else:
            self.gamma = self.beta = None
        self.running_mean = bk.asarray(xp.zeros(C))
        self.running_var = bk.asarray(xp.ones(C))
        self._cache = None

    def _affine(self, xp):
        if self.gamma is not None:
            return self.gamma.data, self.beta.data
        like = self.running_mean
        return xp.ones_like(like), xp.zeros_like(like)

    def forward(self, x):
        self._check_x(x, 2, f"(N, {self.num_features}) or (N, {self.num_features}, ...)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} channels on axis 1 (shape "
                             f"(N, {self.num_features}, ...)), got shape {tuple(x.shape)}")
        xp = namespace(x)
        gamma, beta = self._affine(xp)
        if self.training:
            m = math.prod(x.shape) // x.shape[1]
            if m < 2:
                raise ValueError("BatchNorm needs more than 1 value per channel in training "
                                 f"mode, got x of shape {tuple(x.shape)}")
            out, cache = batchnorm_forward(x, gamma, beta, self.eps)
            mom = self.momentum
            mean = xp.reshape(cache["mean"], (-1,))
            var = xp.reshape(cache["var"], (-1,)) * (m / (m - 1))
            self.running_mean = (1.0 - mom) * self.running_mean + mom * mean
            self.running_var = (1.0 - mom) * self.running_var + mom * var
            self._cache = ("train", cache)
            return out
        shape = _channel_shape(x)
        inv_std = 1.0 / xp.sqrt(xp.reshape(self.running_var, shape) + self.eps)
        xhat = (x - xp.reshape(self.running_mean, shape)) * inv_std
        self._cache = ("eval", (xhat, inv_std, gamma))
        return xhat * xp.reshape(gamma, shape) + xp.reshape(beta, shape)

    def backward(self, dout, input_grad: bool = True):
        """In eval mode the layer is a fixed affine map: ``dx = dout * gamma / sqrt(running_var + eps)``."""
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        mode, cache = self._cache
        xp = namespace(dout)
        if mode == "train":
            dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        else:
            xhat, inv_std, gamma = cache
            axes = (0, *range(2, dout.ndim))
            dgamma = xp.sum(dout * xhat, axis=axes)
            dbeta = xp.sum(dout, axis=axes)
            dx = dout * xp.reshape(gamma, _channel_shape(dout)) * inv_std
        if self.gamma is not None:
            self.gamma.grad, self.beta.grad = dgamma, dbeta
        return dx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}, "
                f"affine={self.gamma is not None}")


# --------------------------------------------------------------------------
# Layer normalization
# --------------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, normalized_ndim: int = 1, eps: float = 1e-5):
    r"""Layer normalization: statistics of each sample over its last ``normalized_ndim`` axes.

    .. math::
        y = \gamma \odot \frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \varepsilon}} + \beta

    Parameters
    ----------
    x : (N, ..., *S) array, S the normalised shape
    gamma, beta : arrays of shape S
    normalized_ndim : int
        len(S).

    Returns
    -------
    out : like ``x``; cache : dict for :func:`layernorm_backward`
    """
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    xhat, _, var = standardize_forward(x, axes, eps)
    return xhat * gamma + beta, {"xhat": xhat, "var": var, "gamma": gamma, "axes": axes,
                                 "eps": eps}


def layernorm_backward(dout, cache):
    r"""Gradients of :func:`layernorm_forward`: ``dx`` like ``dout``, ``dgamma``, ``dbeta`` of shape S.

    :math:`\partial L/\partial\gamma` and :math:`\partial L/\partial\beta` sum over the
    leading (sample) axes; ``dx`` is :func:`standardize_backward` over the normalised ones.
    """
    xp = namespace(dout)
    xhat, axes = cache["xhat"], cache["axes"]
    lead = tuple(range(dout.ndim - len(axes)))
    dgamma = xp.sum(dout * xhat, axis=lead)
    dbeta = xp.sum(dout, axis=lead)
    dx = standardize_backward(dout * cache["gamma"], xhat, cache["var"], axes, cache["eps"])
    return dx, dgamma, dbeta


class LayerNorm(_Norm):
    r"""Layer normalization (Ba, Kiros & Hinton, 2016), as ``torch.nn.LayerNorm``.

    Each sample is standardised over its last ``len(normalized_shape)`` axes, so
    the output of one sample never depends on the others, and training and
    evaluation compute the same function (no running statistics).

    Parameters
    ----------
    normalized_shape : int or tuple of int
        S, the trailing shape normalised over (the features D for (N, D) inputs).
    eps : float, > 0
    elementwise_affine : bool
        Learn :math:`\gamma` (start 1) and :math:`\beta` (start 0), of shape S.
    backend : Backend or str, optional
    """

    def __init__(self, normalized_shape, *, eps: float = 1e-5, elementwise_affine: bool = True,
                 backend=None):
        if isinstance(normalized_shape, int) or hasattr(normalized_shape, "__index__"):
            normalized_shape = (normalized_shape,)
        try:
            shape = tuple(normalized_shape)
        except TypeError:
            raise TypeError("normalized_shape must be an int or a tuple of ints, got "
                            f"{type(normalized_shape).__name__}") from None
        if not shape:
            raise ValueError("normalized_shape must have at least 1 entry, got ()")
        self.normalized_shape = tuple(check_int(s, f"normalized_shape[{i}]", minimum=1)
                                      for i, s in enumerate(shape))
        self.eps = _check_eps(eps)
        self.backend = as_backend(backend)
        xp, bk = self.backend.xp, self.backend
        if elementwise_affine:
            self.gamma = Parameter(bk.asarray(xp.ones(self.normalized_shape)), "gamma")
            self.beta = Parameter(bk.asarray(xp.zeros(self.normalized_shape)), "beta")
        else:
            self.gamma = self.beta = None
        self._cache = None

    def forward(self, x):
        S, k = self.normalized_shape, len(self.normalized_shape)
        want = "(N, " + ", ".join(str(s) for s in S) + ")"
        self._check_x(x, k + 1, want)
        if tuple(x.shape[-k:]) != S:
            raise ValueError(f"x must end with the normalized shape {S}, as in {want}, "
                             f"got {tuple(x.shape)}")
        gamma, beta = (1.0, 0.0) if self.gamma is None else (self.gamma.data, self.beta.data)
        out, self._cache = layernorm_forward(x, gamma, beta, k, self.eps)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("LayerNorm.backward called before forward")
        dx, dgamma, dbeta = layernorm_backward(dout, self._cache)
        if self.gamma is not None:
            self.gamma.grad, self.beta.grad = dgamma, dbeta
        return dx

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps:g}, affine={self.gamma is not None}"


# --------------------------------------------------------------------------
# Group normalization
# --------------------------------------------------------------------------

def groupnorm_forward(x, gamma, beta, num_groups: int, eps: float = 1e-5):
    r"""Group normalization: per sample, over each group of C/G channels and the spatial axes.

    ``x`` (N, C, *spatial) is viewed as (N, G, C/G · prod(spatial)), standardised
    over the last axis, viewed back, and scaled and shifted per channel by
    ``gamma``, ``beta`` (C,).

    Returns
    -------
    out : like ``x``; cache : dict for :func:`groupnorm_backward`
    """
    xp = namespace(x)
    N, G = x.shape[0], num_groups
    xg = xp.reshape(x, (N, G, -1))
    xhat_g, _, var = standardize_forward(xg, (2,), eps)
    xhat = xp.reshape(xhat_g, tuple(x.shape))
    shape = _channel_shape(x)
    out = xhat * xp.reshape(gamma, shape) + xp.reshape(beta, shape)
    return out, {"xhat_g": xhat_g, "xhat": xhat, "var": var, "gamma": gamma, "eps": eps,
                 "G": G}


def groupnorm_backward(dout, cache):
    """Gradients of :func:`groupnorm_forward`: ``dx`` like ``dout``, ``dgamma``, ``dbeta`` (C,)."""
    xp = namespace(dout)
    axes = (0, *range(2, dout.ndim))
    dgamma = xp.sum(dout * cache["xhat"], axis=axes)
    dbeta = xp.sum(dout, axis=axes)
    g = dout * xp.reshape(cache["gamma"], _channel_shape(dout))
    gg = xp.reshape(g, (dout.shape[0], cache["G"], -1))
    dx = standardize_backward(gg, cache["xhat_g"], cache["var"], (2,), cache["eps"])
    return xp.reshape(dx, tuple(dout.shape)), dgamma, dbeta


class GroupNorm(_Norm):
    r"""Group normalization (Wu & He, 2018), as ``torch.nn.GroupNorm``.

    Statistics per sample and per group of ``num_channels / num_groups`` channels
    (and all spatial positions): independent of the batch, like :class:`LayerNorm`.
    ``num_groups = num_channels`` is instance normalization (Ulyanov et al., 2016).

    Parameters
    ----------
    num_groups : int, dividing ``num_channels``
    num_channels : int
    eps : float, > 0
    affine : bool
        Learn per-channel :math:`\gamma` (start 1) and :math:`\beta` (start 0).
    backend : Backend or str, optional

    Shapes: ``x`` (N, C) or (N, C, *spatial) -> the same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, *, eps: float = 1e-5,
                 affine: bool = True, backend=None):
        self.num_groups = check_int(num_groups, "num_groups", minimum=1)
        self.num_channels = check_int(num_channels, "num_channels", minimum=1)
        if self.num_channels % self.num_groups:
            raise ValueError(f"num_groups must divide num_channels = {self.num_channels}, "
                             f"got {self.num_groups}")
        self.eps = _check_eps(eps)
        self.backend = as_backend(backend)
        xp, bk, C = self.backend.xp, self.backend, self.num_channels
        if affine:
            self.gamma = Parameter(bk.asarray(xp.ones(C)), "gamma")
            self.beta = Parameter(bk.asarray(xp.zeros(C)), "beta")
        else:
            self.gamma = self.beta = None
        self._cache = None

    def forward(self, x):
        C = self.num_channels
        self._check_x(x, 2, f"(N, {C}) or (N, {C}, ...)")
        if x.shape[1] != C:
            raise ValueError(f"x must have {C} channels on axis 1 (shape (N, {C}, ...)), "
                             f"got shape {tuple(x.shape)}")
        if self.gamma is None:
            xp = namespace(x)
            gamma = xp.ones((C,), dtype=x.dtype, device=_device(x))
            beta = xp.zeros((C,), dtype=x.dtype, device=_device(x))
        else:
            gamma, beta = self.gamma.data, self.beta.data
        out, self._cache = groupnorm_forward(x, gamma, beta, self.num_groups, self.eps)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("GroupNorm.backward called before forward")
        dx, dgamma, dbeta = groupnorm_backward(dout, self._cache)
        if self.gamma is not None:
            self.gamma.grad, self.beta.grad = dgamma, dbeta
        return dx

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps:g}"


# --------------------------------------------------------------------------
# Weight normalization
# --------------------------------------------------------------------------

def weight_norm(v, g):
    r"""Weight normalization of the rows of ``v``: :math:`W_i = g_i\, v_i / \lVert v_i\rVert`.

    Parameters
    ----------
    v : (D_out, D_in) array, the directions
    g : (D_out, 1) array, the norms

    Returns
    -------
    W : (D_out, D_in) array whose row i has norm :math:`|g_i|`
    """
    xp = namespace(v)
    return g * v / xp.sqrt(xp.sum(v * v, axis=1, keepdims=True))


def weight_norm_backward(dW, v, g):
    r"""Gradients of :func:`weight_norm` (Salimans & Kingma, 2016, eq. 3).

    .. math::
        \frac{\partial L}{\partial g_i} = \frac{\partial L}{\partial W_i}\cdot \hat v_i,
        \qquad
        \frac{\partial L}{\partial v_i} = \frac{g_i}{\lVert v_i\rVert}
        \Big(\frac{\partial L}{\partial W_i}
        - \frac{\partial L}{\partial g_i}\, \hat v_i\Big),
        \qquad \hat v_i = v_i/\lVert v_i\rVert.

    The gradient in ``v`` is orthogonal to ``v``: it only turns the direction.

    Returns
    -------
    dv : (D_out, D_in), dg : (D_out, 1)
    """
    xp = namespace(dW)
    norm = xp.sqrt(xp.sum(v * v, axis=1, keepdims=True))
    vhat = v / norm
    dg = xp.sum(dW * vhat, axis=1, keepdims=True)
    return (g / norm) * (dW - dg * vhat), dg


class WeightNormLinear(Module):
    r"""A :class:`~nnbook.layers.Linear` layer with weight normalization.

    The weight is :math:`W = g \odot v/\lVert v\rVert` row by row
    (:func:`weight_norm`); the trainable parameters are the norms ``g``
    (D_out, 1), the directions ``v`` (D_out, D_in) and the bias ``b``, as
    ``torch.nn.utils.parametrizations.weight_norm(nn.Linear(...))`` (whose
    ``original0`` is ``g`` and ``original1`` is ``v``). At the start ``v`` is the
    initial weight and ``g`` its row norms, so the layer computes what the plain
    Linear layer would.

    Parameters
    ----------
    in_features, out_features, rng, init, bias, backend : as :class:`~nnbook.layers.Linear`
    """

    def __init__(self, in_features: int, out_features: int, *, rng, init=None,
                 bias: bool = True, backend=None):
        in_features = check_int(in_features, "in_features", minimum=1)
        out_features = check_int(out_features, "out_features", minimum=1)
        check_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.backend = bk = as_backend(backend)
        init = init or _init.uniform_fan_in
        W = init((out_features, in_features), in_features, out_features, rng)
        g = (W * W).sum(axis=1, keepdims=True) ** 0.5
        self.g = Parameter(bk.asarray(g), "g")
        self.v = Parameter(bk.asarray(W), "v")
        if bias:
            b = _init.uniform_fan_in((out_features,), in_features, out_features, rng)
            self.b = Parameter(bk.asarray(b), "b")
        else:
            self.b = None
        self._cache = None

    @property
    def weight(self):
        """The effective weight :math:`W = g\\, v/\\lVert v\\rVert` (D_out, D_in)."""
        return weight_norm(self.v.data, self.g.data)

    def forward(self, x):
        _check_linear_input(self, x)
        b = self.b.data if self.b is not None else 0.0
        out, self._cache = linear_forward(x, self.weight, b)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("WeightNormLinear.backward called before forward")
        dx, dW, db = linear_backward(dout, self._cache, input_grad)
        self.v.grad, self.g.grad = weight_norm_backward(dW, self.v.data, self.g.data)
        if self.b is not None:
            self.b.grad = db
        return dx

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.b is not None}"


def _check_linear_input(layer, x):
    from .layers import check_input

    check_input(x, layer, "x", features=layer.in_features)


# --------------------------------------------------------------------------
# Spectral normalization
# --------------------------------------------------------------------------

def _normalize(a, eps):
    xp = namespace(a)
    n = xp.sqrt(xp.sum(a * a))
    return a / xp.clip(n, min=eps)


def power_iteration(W, u, v, iters: int = 1, eps: float = 1e-12):
    r"""``iters`` steps of power iteration for the top singular pair of ``W``.

    .. math::
        u \leftarrow \frac{W v}{\lVert W v\rVert}, \qquad
        v \leftarrow \frac{W^\top u}{\lVert W^\top u\rVert},

    (norms floored at ``eps``), as ``torch.nn.utils.parametrizations.spectral_norm``.
    Then :math:`\sigma = u^\top W v` estimates the largest singular value
    :math:`\sigma_1(W)`; its error shrinks like :math:`(\sigma_2/\sigma_1)^{4k}`
    (the singular vectors ``u``, ``v`` converge like :math:`(\sigma_2/\sigma_1)^{2k}`).

    Parameters
    ----------
    W : (D_out, D_in) array
    u : (D_out,) array, v : (D_in,) array
        The current estimates (not modified).
    iters : int >= 0

    Returns
    -------
    u, v : the new estimates (unit vectors); sigma : float array (0-d)
    """
    for _ in range(iters):
        u = _normalize(W @ v, eps)
        v = _normalize(W.T @ u, eps)
    return u, v, u @ (W @ v)


def spectral_norm_backward(dW_sn, W, u, v, sigma):
    r"""Gradient through :math:`W_{SN} = W/\sigma`, :math:`\sigma = u^\top W v`, with u, v held fixed.

    .. math::
        \frac{\partial L}{\partial W} = \frac{1}{\sigma}\Big(G
        - \big\langle G, W_{SN}\big\rangle\, u v^\top\Big),
        \qquad G = \frac{\partial L}{\partial W_{SN}}.

    (PyTorch too computes u and v without gradient.)
    """
    xp = namespace(dW_sn)
    inner = xp.sum(dW_sn * W) / sigma
    return (dW_sn - inner * (u[:, None] * v[None, :])) / sigma


class SpectralNormLinear(_Norm):
    r"""A Linear layer whose weight is divided by its largest singular value (Miyato et al., 2018).

    As ``torch.nn.utils.parametrizations.spectral_norm(nn.Linear(...))``: the layer
    keeps the raw weight ``W`` (a parameter) and two unit vectors ``u`` (D_out,)
    and ``v`` (D_in,) (buffers, drawn from ``rng`` and refined by 15 power
    iterations at construction). Every forward pass in training mode first does
    ``n_power_iterations`` steps of :func:`power_iteration`, then uses
    :math:`W/\sigma` with :math:`\sigma = u^\top W v`; in evaluation mode u and v
    stay as they are. The layer's Lipschitz constant (its spectral norm) is then
    about 1.

    Parameters
    ----------
    in_features, out_features, rng, init, bias, backend : as :class:`~nnbook.layers.Linear`
    n_power_iterations : int >= 1
    eps : float, > 0
        Floor of the norms in the power iteration.
    """

    _buffers = ("u", "v")

    def __init__(self, in_features: int, out_features: int, *, rng, init=None,
                 bias: bool = True, n_power_iterations: int = 1, eps: float = 1e-12,
                 backend=None):
        in_features = check_int(in_features, "in_features", minimum=1)
        out_features = check_int(out_features, "out_features", minimum=1)
        check_rng(rng)
        self.n_power_iterations = check_int(n_power_iterations, "n_power_iterations",
                                            minimum=1)
        self.eps = _check_eps(eps)
        self.in_features, self.out_features = in_features, out_features
        self.backend = bk = as_backend(backend)
        init = init or _init.uniform_fan_in
        W = init((out_features, in_features), in_features, out_features, rng)
        self.W = Parameter(bk.asarray(W), "W")
        if bias:
            b = _init.uniform_fan_in((out_features,), in_features, out_features, rng)
            self.b = Parameter(bk.asarray(b), "b")
        else:
            self.b = None
        u = _normalize(bk.asarray(rng.standard_normal(out_features)), self.eps)
        v = _normalize(bk.asarray(rng.standard_normal(in_features)), self.eps)
        self.u, self.v, _ = power_iteration(self.W.data, u, v, 15, self.eps)
        self._cache = None

    def sigma(self):
        r"""The current estimate :math:`u^\top W v` of the largest singular value of ``W``."""
        return float(self.u @ (self.W.data @ self.v))

    def forward(self, x):
        _check_linear_input(self, x)
        W = self.W.data
        if self.training:
            self.u, self.v, sigma = power_iteration(W, self.u, self.v,
                                                    self.n_power_iterations, self.eps)
        else:
            sigma = self.u @ (W @ self.v)
        b = self.b.data if self.b is not None else 0.0
        out, cache = linear_forward(x, W / sigma, b)
        self._cache = (cache, self.u, self.v, sigma)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("SpectralNormLinear.backward called before forward")
        cache, u, v, sigma = self._cache
        dx, dW_sn, db = linear_backward(dout, cache, input_grad)
        self.W.grad = spectral_norm_backward(dW_sn, self.W.data, u, v, sigma)
        if self.b is not None:
            self.b.grad = db
        return dx

    def extra_repr(self):
        return (f"{self.in_features}, {self.out_features}, bias={self.b is not None}, "
                f"n_power_iterations={self.n_power_iterations}")
