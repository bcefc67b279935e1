r"""Losses and their gradients with respect to the network's output.

Each loss is a pair ``*_forward(output, target) -> (loss, cache)`` and
``*_backward(cache) -> d loss / d output``, plus a small class that keeps the
cache between the two calls. The loss is the **mean** over the batch (and, for
MSE and BCE, over the output units), as in PyTorch's default ``reduction="mean"``.

The classification losses take **logits** (the last linear layer's output), not
probabilities: sigmoid or softmax and the logarithm are fused into one stable
expression, and the gradient becomes simply *probability minus target*.
"""

from __future__ import annotations

import math

import numpy as np
from array_api_compat import device as _device

from .backend import check_array, check_same_backend, namespace
from .layers import sigmoid_forward

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "MSELoss",
    "bce_with_logits_backward",
    "bce_with_logits_forward",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "log_softmax",
    "logsumexp",
    "mse_backward",
    "mse_forward",
    "one_hot",
    "softmax",
]


# --------------------------------------------------------------------------
# Numerically stable building blocks
# --------------------------------------------------------------------------

def logsumexp(z, axis: int = -1):
    r""":math:`\log \sum_j e^{z_j}`, shifted by :math:`\max_j z_j` so no exponential overflows."""
    xp = namespace(z)
    m = xp.max(z, axis=axis, keepdims=True)
    return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(z - m), axis=axis))


def log_softmax(z, axis: int = -1):
    r""":math:`\log \operatorname{softmax}(z)_k = z_k - \log\sum_j e^{z_j}`."""
    xp = namespace(z)
    return z - xp.expand_dims(logsumexp(z, axis=axis), axis=axis)


def softmax(z, axis: int = -1):
    r""":math:`\operatorname{softmax}(z)_k = e^{z_k} / \sum_j e^{z_j}`, computed stably."""
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _sum(x, axis: int | None = None, keepdims: bool = False):
    """``xp.sum(x, axis=axis)``, for NumPy without ``np.sum``'s dispatch layers.

    ``np.add.reduce`` is the reduction ``np.sum`` ends in (the same values); calling
    it directly saves microseconds that count in a training step on small batches.
    """
    if type(x) is np.ndarray:
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return namespace(x).sum(x, axis=axis, keepdims=keepdims)


def _max(x, axis: int):
    """``xp.max(x, axis=axis, keepdims=True)``; for NumPy ``np.maximum.reduce`` (see :func:`_sum`)."""
    if type(x) is np.ndarray:
        return np.maximum.reduce(x, axis=axis, keepdims=True)
    return namespace(x).max(x, axis=axis, keepdims=True)


_RANGES: dict = {}


def _arange(n: int, like):
    """``arange(n)`` in the library and on the device of ``like``, built once: it runs every step."""
    xp = namespace(like)
    key = (xp.__name__, n, str(_device(like)))
    r = _RANGES.get(key)
    if r is None:
        r = _RANGES[key] = xp.arange(n, device=_device(like))
    return r


def one_hot(labels, num_classes: int, dtype):
    r"""(N,) integer labels -> (N, C) one-hot rows of ``dtype``: row n is :math:`\mathbf{1}_{y_n}`."""
    xp = namespace(labels)
    return xp.astype(labels[:, None] == _arange(num_classes, labels), dtype)


# --------------------------------------------------------------------------
# Validation at the entry points
# --------------------------------------------------------------------------

def _check_same_shape(output, target):
    """Float targets: the library, device, dtype and shape of ``output``."""
    check_array(output, "output")
    check_array(target, "target")
    check_same_backend(target, "target", output, "output", dtype=True)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(
            f"target must have the shape of output {tuple(output.shape)}, "
            f"got {tuple(target.shape)}"
        )


def _check_labels(logits, labels, logits_name: str = "logits", labels_name: str = "labels"):
    """Class labels: integers in [0, C) of the library and device of ``logits`` (N, C), shape (N,)."""
    check_array(logits, logits_name, ndim=2)
    xp = check_same_backend(labels, labels_name, logits, logits_name)
    if labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
        raise ValueError(
            f"{labels_name} must have shape ({logits.shape[0]},), got {tuple(labels.shape)}"
        )
    if not xp.isdtype(labels.dtype, "integral"):
        raise TypeError(f"{labels_name} must be integer class indices, got dtype {labels.dtype}")
    C = logits.shape[1]
    if labels.shape[0] and (int(xp.min(labels)) < 0 or int(xp.max(labels)) >= C):
        raise ValueError(
            f"{labels_name} must lie in [0, {C - 1}] for {C} classes, got values in "
            f"[{int(xp.min(labels))}, {int(xp.max(labels))}]"
        )


# --------------------------------------------------------------------------
# Mean squared error
# --------------------------------------------------------------------------

def mse_forward(output, target):
    r"""Mean squared error :math:`L = \frac{1}{NK}\sum_{n,k} (\hat y_{nk} - y_{nk})^2`.

    Parameters
    ----------
    output, target : (N, K) arrays (any equal shapes)

    Returns
    -------
    loss : 0-d array
    cache : for :func:`mse_backward`
    """
    xp = namespace(output)
    diff = output - target
    return xp.mean(diff * diff), diff


def mse_backward(cache):
    r""":math:`\partial L/\partial \hat y = 2(\hat y - y)/(NK)`."""
    diff = cache
    return diff * (2.0 / math.prod(diff.shape))


# --------------------------------------------------------------------------
# Binary cross-entropy on logits
# --------------------------------------------------------------------------

def bce_with_logits_forward(logits, target):
    r"""Binary cross-entropy of :math:`p = \sigma(z)` against :math:`y \in [0, 1]`.

    .. math::
        \ell(z, y) = -y\log\sigma(z) - (1-y)\log(1-\sigma(z))
                   = \max(z, 0) - z y + \log(1 + e^{-|z|}),

    the right-hand form being finite for every :math:`z`. The loss is the mean
    of :math:`\ell` over all entries.
    """
    xp = namespace(logits)
    zeros = xp.zeros_like(logits)
    per_entry = xp.maximum(logits, zeros) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))
    return xp.mean(per_entry), (logits, target)


def bce_with_logits_backward(cache):
    r""":math:`\partial L/\partial z = (\sigma(z) - y)/M`, with :math:`M` the number of entries."""
    logits, target = cache
    p, _ = sigmoid_forward(logits)
    return (p - target) / math.prod(logits.shape)


# --------------------------------------------------------------------------
# Softmax cross-entropy on logits
# --------------------------------------------------------------------------

def cross_entropy_forward(logits, labels):
    r"""Softmax cross-entropy with integer labels.

    .. math::
        L = \frac1N \sum_n \Big(\log\sum_k e^{z_{nk}} - z_{n, y_n}\Big)
          = -\frac1N \sum_n \log \operatorname{softmax}(z_n)_{y_n}

    Each row is first shifted by its maximum (which changes neither term's
    difference), so that no exponential overflows.

    Parameters
    ----------
    logits : (N, C) array
    labels : (N,) integer array with values in ``[0, C)``

    Returns
    -------
    loss : 0-d array
    cache : ``(softmax(logits), labels)`` for the backward pass
    """
    xp = namespace(logits)
    N = logits.shape[0]
    shifted = logits - _max(logits, axis=1)                    # z - max_k z_k
    e = xp.exp(shifted)
    sum_e = _sum(e, axis=1, keepdims=True)
    z_y = shifted[_arange(N, labels), labels]                  # z_{n, y_n}, one per row
    loss = (_sum(xp.log(sum_e)) - _sum(z_y)) / N               # mean(logsumexp - z_y)
    e /= sum_e                                                 # softmax, in place of e
    return loss, (e, labels)


def cross_entropy_backward(cache):
    r""":math:`\partial L/\partial z_n = (\operatorname{softmax}(z_n) - \mathbf{1}_{y_n})/N`."""
    P, labels = cache
    N = P.shape[0]
    d = namespace(P).asarray(P, copy=True)                     # a copy: the cache stays as it is
    d[_arange(N, labels), labels] -= 1                         # P - one_hot(y), without building it
    d /= N                                                     # in place: one array, not two
    return d


# --------------------------------------------------------------------------
# Classes: keep the cache between forward and backward
# --------------------------------------------------------------------------

class _Loss:
    _forward = _backward = None
    _check = None

    def __init__(self):
        self._cache = None

    def __call__(self, output, target):
        return self.forward(output, target)

    def forward(self, output, target, validate: bool = True):
        """Return the loss (a 0-d array) and remember what backward needs.

        ``validate=False`` skips the input checks: for a training loop that has
        checked the whole data set once already.

        Raises
        ------
        TypeError, ValueError
            With ``validate``: if ``target`` is not an array of the library and
            device of ``output`` (and, for float targets, of its dtype), or has
            the wrong shape, dtype or values for this loss.
        """
        if validate:
            type(self)._check(output, target)
        loss, self._cache = type(self)._forward(output, target)
        return loss

    def backward(self):
        """Return d loss / d output for the last forward call."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return type(self)._backward(self._cache)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSELoss(_Loss):
    """Mean squared error (see :func:`mse_forward`); PyTorch: ``nn.MSELoss()``."""

    _forward = staticmethod(mse_forward)
    _backward = staticmethod(mse_backward)
    _check = staticmethod(_check_same_shape)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits; PyTorch: ``nn.BCEWithLogitsLoss()``."""

    _forward = staticmethod(bce_with_logits_forward)
    _backward = staticmethod(bce_with_logits_backward)
    _check = staticmethod(_check_same_shape)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits with integer labels; PyTorch: ``nn.CrossEntropyLoss()``."""

    _forward = staticmethod(cross_entropy_forward)
    _backward = staticmethod(cross_entropy_backward)
    _check = staticmethod(_check_labels)
