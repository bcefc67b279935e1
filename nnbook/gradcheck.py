r"""Gradient checking by central finite differences.

For a scalar function :math:`f` and a coordinate :math:`i`,

.. math::
    \frac{\partial f}{\partial x_i} \approx
    \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon},

with an error of order :math:`\varepsilon^2` (the one-sided difference has
order :math:`\varepsilon`). In float64, :math:`\varepsilon = 10^{-6}` balances
that truncation error against round-off; a correct backward then agrees to a
relative error near :math:`10^{-9}`, a wrong one rarely better than :math:`10^{-3}`.

A layer :math:`y = \text{layer}(x)` is checked through the scalar
:math:`f = \sum_{ij} \delta_{ij} y_{ij}` for a random fixed :math:`\delta`, whose
gradient with respect to the layer output is exactly :math:`\delta`: so the
layer's ``backward(delta)`` must equal the numerical gradient of :math:`f`.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import device as _device

from .backend import check_rng, namespace, to_numpy

__all__ = [
    "autograd_gradients",
    "check_layer",
    "check_loss",
    "numerical_gradient",
    "relative_error",
]


def numerical_gradient(f, x, eps: float = 1e-6):
    """Central-difference gradient of the scalar function ``f`` at array ``x``.

    ``x`` is perturbed in place one coordinate at a time and restored, so ``f``
    may close over it (a layer's parameter, for example). Costs ``2 x.size``
    evaluations of ``f``: this loop over coordinates is the price of a check,
    and why backpropagation (one backward pass for all of them) matters.

    Parameters
    ----------
    f : callable
        ``f()`` returns a scalar (float or 0-d array), reading ``x``.
    x : array (float64 recommended)
    eps : float

    Returns
    -------
    grad : ndarray of x's shape (NumPy, float64)
    """
    xp = namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"x must have a float dtype, got {x.dtype}")
    grad = np.zeros(tuple(x.shape))
    for idx in np.ndindex(*x.shape):
        old = float(x[idx])
        x[idx] = old + eps
        f_plus = float(f())
        x[idx] = old - eps
        f_minus = float(f())
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b) -> float:
    r""":math:`\lVert a - b\rVert / \max(\lVert a\rVert + \lVert b\rVert, 10^{-300})` (Euclidean norms)."""
    a, b = to_numpy(a), to_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    num = np.linalg.norm(a - b)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return float(num / max(den, 1e-300))


def check_layer(layer, x, rng, eps: float = 1e-6) -> dict:
    """Compare a module's backward with finite differences, for its input and parameters.

    Parameters
    ----------
    layer : nnbook Module (in train mode for layers with randomness, which must
        then be deterministic for a fixed mask, e.g. by re-seeding)
    x : (N, ...) float64 array
    rng : numpy.random.Generator
        Draws the upstream gradient ``delta``.

    Returns
    -------
    dict
        ``{"x": err, "W": err, ...}``: relative errors, one per input and
        parameter (named as by ``named_parameters``, e.g. ``"0.W"`` in a Sequential).
    """
    check_rng(rng)
    bk_xp = namespace(x)
    x = x + 0.0                                   # a private, contiguous copy
    out = layer.forward(x)
    delta = bk_xp.asarray(rng.standard_normal(tuple(out.shape)), dtype=out.dtype,
                          device=_device(out))
    analytic = {"x": layer.backward(delta)}
    for name, p in layer.named_parameters():
        analytic[name] = p.grad

    def f():
        return bk_xp.sum(layer.forward(x) * delta)

    errors = {"x": relative_error(analytic["x"], numerical_gradient(f, x, eps))}
    for name, p in layer.named_parameters():
        errors[name] = relative_error(analytic[name], numerical_gradient(f, p.data, eps))
    return errors


def check_loss(loss_fn, output, target, eps: float = 1e-6) -> float:
    """Relative error between ``loss_fn.backward()`` and finite differences in ``output``."""
    output = output + 0.0
    loss_fn.forward(output, target)
    analytic = loss_fn.backward()
    numeric = numerical_gradient(lambda: loss_fn.forward(output, target), output, eps)
    return relative_error(analytic, numeric)


def autograd_gradients(f, *arrays):
    """Gradients of the scalar ``f(*tensors)`` by PyTorch's autograd, as NumPy arrays.

    The independent oracle for a hand-written backward: each array becomes a
    float64 leaf tensor that requires grad, ``f`` builds the computation with
    ``torch`` operations, and reverse-mode autodiff returns one gradient per array.

    Examples
    --------
    >>> import numpy as np, torch
    >>> autograd_gradients(lambda x: (x ** 2).sum(), np.array([1.0, -2.0]))
    [array([ 2., -4.])]
    """
    import torch

    tensors = [torch.tensor(to_numpy(a), dtype=torch.float64, requires_grad=True)
               for a in arrays]
    out = f(*tensors)
    if out.numel() != 1:
        raise ValueError(f"f must return a scalar, got shape {tuple(out.shape)}")
    out.backward()
    return [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in tensors]
