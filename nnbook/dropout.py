r"""Dropout: switch units off at random while training (inverted dropout).

Throughout nnbook, ``p`` is the probability of **dropping** a unit (PyTorch's
convention); a unit is kept with probability :math:`1 - p`. With a keep mask
:math:`m_i \sim \text{Bernoulli}(1 - p)`, drawn afresh for every forward pass,
*inverted* dropout computes at training time

.. math::
    y_i = \frac{m_i\,x_i}{1 - p}, \qquad
    \mathbb{E}[y_i] = \frac{(1 - p)\,x_i}{1 - p} = x_i ,

so the expected activation is unchanged and evaluation is the identity. (The
original formulation keeps :math:`y_i = m_i x_i` while training and multiplies by
:math:`1 - p` at test time instead; the two are the same networks up to a factor
:math:`1 - p` in the next layer's weights.)

The math is a forward/backward pair, :func:`dropout_forward` and
:func:`dropout_backward`; :class:`Dropout` is the module that owns the generator
and the mode. ``Dropout(p, rng=rng, mc=True)`` keeps dropping units in eval mode
too: Monte-Carlo dropout, averaging the outputs of many random subnetworks.
"""

from __future__ import annotations

import numpy as np

from .backend import as_backend, check_array, check_rng, check_same_backend
from .layers import Module

__all__ = ["Dropout", "dropout_backward", "dropout_forward", "dropout_mask"]


def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float | np.integer | np.floating):
        raise TypeError(
            f"p (the drop probability) must be a number in [0, 1], got {p!r} of type "
            f"{type(p).__name__}"
        )
    p = float(p)
    if not 0.0 <= p <= 1.0:            # also refuses NaN
        raise ValueError(f"p (the drop probability) must lie in [0, 1], got {p!r}")
    return p


def dropout_mask(shape, p: float, rng) -> np.ndarray:
    r"""A keep mask: ``True`` with probability :math:`1 - p`, independently per entry.

    Parameters
    ----------
    shape : tuple of int
    p : float in [0, 1]
        The drop probability.
    rng : numpy.random.Generator

    Returns
    -------
    bool ndarray of ``shape``: ``u >= p`` for ``u`` uniform in [0, 1), so that
    ``p = 0`` keeps everything and ``p = 1`` drops everything.
    """
    p = _check_p(p)
    check_rng(rng)
    return rng.random(tuple(shape)) >= p


def dropout_forward(x, p: float, *, rng=None, mask=None):
    r"""Inverted dropout of ``x`` with drop probability ``p``.

    .. math::
        y = \frac{m \odot x}{1 - p}, \qquad m_i \sim \text{Bernoulli}(1 - p),

    and :math:`y = 0` for :math:`p = 1` (every unit dropped, as in PyTorch).

    Parameters
    ----------
    x : (N, ...) float array (NumPy or torch)
    p : float in [0, 1]
        Probability of dropping each entry.
    rng : numpy.random.Generator, optional
        Draws the mask (in NumPy, so every backend sees the same mask).
    mask : bool array of ``x``'s shape, optional
        The keep mask to use instead of drawing one (give ``rng`` or ``mask``).

    Returns
    -------
    out : array like ``x``
    cache : the scaled mask :math:`m/(1-p)`, for :func:`dropout_backward`

    Raises
    ------
    TypeError
        If ``x`` is not a float array, ``p`` not a number, ``rng`` not a Generator,
        or ``mask`` not a boolean array.
    ValueError
        If ``p`` is outside [0, 1], ``mask`` has another shape, or both or
        neither of ``rng`` and ``mask`` are given.
    """
    xp = check_array(x, "x")
    p = _check_p(p)
    if (rng is None) == (mask is None):
        raise ValueError("give exactly one of rng (to draw the mask) and mask, got "
                         + ("both" if rng is not None else "neither"))
    if mask is None:
        keep = dropout_mask(x.shape, p, rng)
    else:
        check_same_backend(mask, "mask", x, "x")
        if mask.dtype != np.bool_ and str(mask.dtype) != "torch.bool":
            raise TypeError(f"mask must be a boolean keep mask, got dtype {mask.dtype}")
        if tuple(mask.shape) != tuple(x.shape):
            raise ValueError(
                f"mask must have the shape of x {tuple(x.shape)}, got {tuple(mask.shape)}"
            )
        keep = mask
    keep = _to_device(keep, x)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    scaled = xp.astype(keep, x.dtype) * scale
    return x * scaled, scaled


def _to_device(keep, x):
    """The keep mask on ``x``'s device, without making a GPU wait for the host.

    A mask drawn in NumPy goes to a GPU through page-locked memory, as an
    asynchronous copy: the training loop does not stall on every dropout layer,
    and every backend still sees the same mask.
    """
    from array_api_compat import array_namespace, device, is_torch_array

    where = device(x)
    if is_torch_array(x) and isinstance(keep, np.ndarray) and where.type == "cuda":
        import torch

        return torch.from_numpy(keep).pin_memory().to(where, non_blocking=True)
    return array_namespace(x).asarray(keep, device=where)


def dropout_backward(dout, cache):
    r"""Gradient of inverted dropout: :math:`\partial L/\partial x = \delta \odot m/(1 - p)`.

    The same mask that multiplied the activations multiplies the gradients: a
    dropped unit passes no gradient back, a kept one passes :math:`1/(1-p)` of it.
    """
    return dout * cache


class Dropout(Module):
    r"""Inverted dropout as a module: drops units in training mode, identity in eval mode.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        Probability of **dropping** each unit (PyTorch's ``torch.nn.Dropout(p)``).
    rng : numpy.random.Generator
        Draws a fresh mask on every forward pass that drops units.
    mc : bool, default False
        Monte-Carlo dropout: keep dropping units in eval mode too, so that repeated
        predictions sample different subnetworks (Gal & Ghahramani, 2016).
    backend : Backend or str, optional
        Where the arrays it works on live (default NumPy float64); it matters only
        when the layer comes first in a :class:`~nnbook.layers.Sequential`, whose
        backend is its first layer's (``model.to(...)`` sets it for every layer).

    Shapes: ``x`` (N, ...) -> the same shape. The mask is drawn per entry, so
    every sample of the batch has its own subnetwork.

    Examples
    --------
    >>> import numpy as np
    >>> drop = Dropout(0.5, rng=np.random.default_rng(0))
    >>> drop(np.ones((1, 6)))
    array([[2., 0., 0., 0., 2., 2.]])
    >>> drop.eval()(np.ones((1, 6)))
    array([[1., 1., 1., 1., 1., 1.]])
    """

    def __init__(self, p: float = 0.5, *, rng, mc: bool = False, backend=None):
        self.p = _check_p(p)
        self.backend = as_backend(backend)
        self.rng = check_rng(rng)
        if not isinstance(mc, bool):
            raise TypeError(f"mc must be True or False, got {mc!r}")
        self.mc = mc
        self._cache = None
        self._ran = False

    @property
    def active(self) -> bool:
        """Whether the next forward pass drops units (training mode, or ``mc``)."""
        return self.training or self.mc

    def forward(self, x):
        check_array(x, "x")
        self._ran = True
        if not self.active or self.p == 0.0:
            self._cache = None
            return x
        out, self._cache = dropout_forward(x, self.p, rng=self.rng)
        return out

    def backward(self, dout, input_grad: bool = True):
        if not self._ran:
            raise RuntimeError("Dropout.backward called before forward")
        if self._cache is None:
            return dout
        return dropout_backward(dout, self._cache)

    def extra_repr(self):
        return f"p={self.p:g}" + (", mc=True" if self.mc else "")
