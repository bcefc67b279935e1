r"""Weight initialisers, drawn in NumPy from an explicit generator.

Every initialiser has the signature ``init(shape, fan_in, fan_out, rng)`` and
returns a float64 ndarray of ``shape``; a layer then moves it to its backend, so
that one seed gives the same network on every backend. That is the signature
:class:`nnbook.layers.Linear` and :func:`nnbook.layers.mlp` call with ``init=``.
Options (``gain``, ``mode``, ``nonlinearity``) are keyword-only; bind them with
:func:`functools.partial`::

    Linear(256, 128, rng=rng, init=partial(he_normal, mode="fan_out"))

For a weight of shape ``(out_features, in_features)``, ``fan_in = in_features``
and ``fan_out = out_features``. The variances, derived in the chapter on
initialisation from keeping the variance of the signal about constant from layer
to layer:

=====================  ===========================================  ======================
scheme                 :math:`\operatorname{Var}(w)`                PyTorch
=====================  ===========================================  ======================
LeCun                  :math:`g^2 / \text{fan\_in}`                 ``kaiming_*_(nonlinearity="linear")``
Xavier / Glorot        :math:`g^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})`  ``xavier_*_``
He / Kaiming           :math:`2 / \text{fan\_in}` (or ``fan_out``)  ``kaiming_*_``
orthogonal             rows (or columns) orthonormal, times ``gain``  ``orthogonal_``
=====================  ===========================================  ======================

A uniform :math:`U(-a, a)` has variance :math:`a^2/3`, so each ``*_uniform``
uses the bound :math:`a = \sqrt{3 \operatorname{Var}(w)}` of its ``*_normal`` twin.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import check_rng

__all__ = [
    "calculate_gain",
    "constant",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "scheme_variance",
    "uniform_fan_in",
    "xavier_normal",
    "xavier_uniform",
]

_LINEAR_LIKE = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")
_NONLINEARITIES = (*_LINEAR_LIKE, "tanh", "relu", "leaky_relu", "selu")


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple | list) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
            for s in shape):
        raise ValueError(f"shape must be a tuple of positive ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def _check_fan(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_gain(gain) -> float:
    if (not isinstance(gain, numbers.Real) or isinstance(gain, bool)
            or not math.isfinite(gain) or gain <= 0):
        raise ValueError(f"gain must be a positive finite number, got {gain!r}")
    return float(gain)


def _check_common(shape, fan_in, fan_out, rng):
    shape = _check_shape(shape)
    fan_in, fan_out = _check_fan(fan_in, "fan_in"), _check_fan(fan_out, "fan_out")
    check_rng(rng)
    return shape, fan_in, fan_out


def _fan(mode: str, fan_in: int, fan_out: int) -> int:
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


# --------------------------------------------------------------------------
# Gains and variances
# --------------------------------------------------------------------------

def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain :math:`g` for an activation, as ``torch.nn.init.calculate_gain``.

    The weights' standard deviation is multiplied by :math:`g` to make up for
    what the activation does to the second moment of the signal:

    ===============================  =========================================
    nonlinearity                     gain
    ===============================  =========================================
    linear, identity, conv, sigmoid  :math:`1`
    tanh                             :math:`5/3`
    relu                             :math:`\sqrt 2`
    leaky_relu                       :math:`\sqrt{2 / (1 + \alpha^2)}`
    selu                             :math:`3/4`
    ===============================  =========================================

    For leaky_relu, ``param`` is the negative slope :math:`\alpha` (0.01 by default).

    For ReLU the factor is exact: half the pre-activations are zeroed, so
    :math:`E[\operatorname{relu}(z)^2] = \operatorname{Var}(z)/2` for a symmetric
    :math:`z`. For tanh, 5/3 is PyTorch's empirical choice (tanh is close to the
    identity near 0, where gain 1 would do).

    Raises
    ------
    ValueError
        For an unknown ``nonlinearity`` or a ``param`` that is not a number.
    """
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {list(_NONLINEARITIES)}, got {nonlinearity!r}"
        )
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    # leaky_relu
    if param is None:
        slope = 0.01
    elif isinstance(param, numbers.Real) and not isinstance(param, bool):
        slope = float(param)
    else:
        raise ValueError(f"param must be a number (the negative slope), got {param!r}")
    return math.sqrt(2.0 / (1 + slope ** 2))


def scheme_variance(scheme: str, fan_in: int, fan_out: int, *, gain: float = 1.0,
                    mode: str = "fan_in") -> float:
    r"""The weight variance :math:`\operatorname{Var}(w)` a scheme prescribes.

    ``"lecun"``: :math:`g^2/\text{fan\_in}`; ``"xavier"``:
    :math:`2g^2/(\text{fan\_in} + \text{fan\_out})`; ``"he"``: :math:`2/\text{fan}`
    with ``fan`` chosen by ``mode`` (``gain`` is ignored: it is :math:`\sqrt 2`);
    ``"orthogonal"``: :math:`g^2/\max(\text{fan\_in}, \text{fan\_out})` (orthonormal
    rows or columns of length :math:`g`).

    Examples
    --------
    >>> scheme_variance("he", 400, 100)          # He: 2 / fan_in
    0.005
    >>> scheme_variance("xavier", 400, 100)      # Xavier: 2 / (fan_in + fan_out)
    0.004
    """
    fan_in, fan_out = _check_fan(fan_in, "fan_in"), _check_fan(fan_out, "fan_out")
    gain = _check_gain(gain)
    if scheme == "lecun":
        return gain ** 2 / fan_in
    if scheme == "xavier":
        return gain ** 2 * 2.0 / (fan_in + fan_out)
    if scheme == "he":
        return 2.0 / _fan(mode, fan_in, fan_out)
    if scheme == "orthogonal":
        return gain ** 2 / max(fan_in, fan_out)
    raise ValueError(
        f"scheme must be one of ['lecun', 'xavier', 'he', 'orthogonal'], got {scheme!r}"
    )


# --------------------------------------------------------------------------
# Initialisers
# --------------------------------------------------------------------------

def uniform_fan_in(shape, fan_in, fan_out, rng) -> np.ndarray:
    r"""PyTorch's default for ``nn.Linear``: :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`.

    Its variance is :math:`1/(3\,\text{fan\_in})`: a third of LeCun's, so the
    signal of a deep network of these layers shrinks (the chapter on
    initialisation measures it). PyTorch writes it as
    ``kaiming_uniform_(w, a=math.sqrt(5))``.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def lecun_normal(shape, fan_in, fan_out, rng, *, gain: float = 1.0) -> np.ndarray:
    r"""LeCun: :math:`\mathcal N(0, g^2/\text{fan\_in})` (LeCun et al., 1998).

    Keeps :math:`\operatorname{Var}(z)` constant through linear layers (and tanh
    layers near 0). PyTorch: ``kaiming_normal_(w, nonlinearity="linear")``.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    return rng.normal(0.0, _check_gain(gain) / math.sqrt(fan_in), size=shape)


def lecun_uniform(shape, fan_in, fan_out, rng, *, gain: float = 1.0) -> np.ndarray:
    r"""LeCun uniform: :math:`U(-a, a)`, :math:`a = g\sqrt{3/\text{fan\_in}}`.

    Its variance is LeCun's, :math:`g^2/\text{fan\_in}`.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    bound = _check_gain(gain) * math.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape, fan_in, fan_out, rng, *, gain: float = 1.0) -> np.ndarray:
    r"""Glorot/Xavier: :math:`\mathcal N(0, 2g^2/(\text{fan\_in} + \text{fan\_out}))` (Glorot & Bengio, 2010).

    The compromise between :math:`1/\text{fan\_in}` (forward) and
    :math:`1/\text{fan\_out}` (backward). PyTorch: ``xavier_normal_``.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    std = _check_gain(gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=shape)


def xavier_uniform(shape, fan_in, fan_out, rng, *, gain: float = 1.0) -> np.ndarray:
    r"""Glorot/Xavier uniform: :math:`U(-a, a)`, :math:`a = g\sqrt{6/(\text{fan\_in} + \text{fan\_out})}`.

    Glorot and Bengio's "normalized initialization"; PyTorch: ``xavier_uniform_``.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    bound = _check_gain(gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape, fan_in, fan_out, rng, *, mode: str = "fan_in",
              nonlinearity: str = "relu", a: float = 0.0) -> np.ndarray:
    r"""He/Kaiming: :math:`\mathcal N(0, g^2/\text{fan})`; for ReLU :math:`2/\text{fan\_in}`.

    From He et al. (2015).

    Parameters
    ----------
    mode : {"fan_in", "fan_out"}
        ``"fan_in"`` keeps the variance of the forward signal constant,
        ``"fan_out"`` that of the backward gradient.
    nonlinearity, a :
        The gain :math:`g` is ``calculate_gain(nonlinearity, a)``: :math:`\sqrt 2`
        for ReLU, :math:`\sqrt{2/(1 + a^2)}` for a leaky ReLU of slope ``a``.

    Not to be confused with Xavier's :math:`2/(\text{fan\_in} + \text{fan\_out})`.
    PyTorch: ``kaiming_normal_`` (same arguments).
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    fan = _fan(mode, fan_in, fan_out)
    gain = calculate_gain(nonlinearity, a)
    return rng.normal(0.0, gain / math.sqrt(fan), size=shape)


def he_uniform(shape, fan_in, fan_out, rng, *, mode: str = "fan_in",
               nonlinearity: str = "relu", a: float = 0.0) -> np.ndarray:
    r"""He/Kaiming uniform: :math:`U(-b, b)`, :math:`b = g\sqrt{3/\text{fan}}`.

    For ReLU and ``mode="fan_in"``: :math:`b = \sqrt{6/\text{fan\_in}}`.

    PyTorch: ``kaiming_uniform_`` (same arguments).
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    fan = _fan(mode, fan_in, fan_out)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return rng.uniform(-bound, bound, size=shape)


def orthogonal(shape, fan_in, fan_out, rng, *, gain: float = 1.0) -> np.ndarray:
    r"""A random (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014).

    Draw :math:`A \in \mathbb R^{r \times c}` with i.i.d. standard normal entries,
    :math:`r` = ``shape[0]`` and :math:`c` the product of the other dimensions;
    factor :math:`A = QR` (QR decomposition of :math:`A` or, if :math:`r < c`, of
    :math:`A^\top`) and fix the signs of :math:`Q`'s columns by those of
    :math:`\operatorname{diag}(R)`, which makes :math:`Q` uniformly (Haar)
    distributed. The result has orthonormal rows (:math:`r \le c`) or columns
    (:math:`r \ge c`): every singular value equals ``gain``. Like PyTorch's
    ``orthogonal_`` (which draws from its own generator).

    Raises
    ------
    ValueError
        If ``shape`` has fewer than 2 dimensions.
    """
    shape, fan_in, fan_out = _check_common(shape, fan_in, fan_out, rng)
    gain = _check_gain(gain)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions, got {shape!r}")
    rows, cols = shape[0], math.prod(shape[1:])
    A = rng.standard_normal((rows, cols))
    if rows < cols:
        A = A.T
    Q, R = np.linalg.qr(A)
    Q = Q * np.sign(np.diag(R))
    if rows < cols:
        Q = Q.T
    return gain * Q.reshape(shape)


def normal(std: float):
    r"""An initialiser drawing :math:`\mathcal N(0, \text{std}^2)`, whatever the fans.

    A fixed standard deviation (such as the once common 0.01, or 1) ignores the
    layer's width: the chapter on initialisation shows what that does to a deep
    network.
    """
    std = float(std) if isinstance(std, numbers.Real) and not isinstance(std, bool) else std
    if not isinstance(std, float) or not math.isfinite(std) or std < 0:
        raise ValueError(f"std must be a finite number >= 0, got {std!r}")

    def init(shape, fan_in, fan_out, rng) -> np.ndarray:
        shape, _, _ = _check_common(shape, fan_in, fan_out, rng)
        return rng.normal(0.0, std, size=shape)

    init.__name__ = init.__qualname__ = f"normal({std:g})"
    return init


def constant(value: float):
    """An initialiser that sets every weight to ``value`` (it cannot break symmetry)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}")
    value = float(value)

    def init(shape, fan_in, fan_out, rng) -> np.ndarray:
        return np.full(_check_shape(shape), value)

    init.__name__ = init.__qualname__ = f"constant({value:g})"
    return init
