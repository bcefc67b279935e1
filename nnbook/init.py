r"""Weight initialisers, drawn in NumPy from an explicit generator.

Each takes ``(shape, fan_in, fan_out, rng)`` and returns a float64 ndarray; a
layer then moves it to its backend, so that one seed gives the same network on
every backend. The chapter on initialisation derives the variances.
"""

from __future__ import annotations

import math

import numpy as np

from .backend import check_rng

__all__ = ["constant", "he_normal", "lecun_normal", "uniform_fan_in", "xavier_normal"]


def uniform_fan_in(shape, fan_in, fan_out, rng) -> np.ndarray:
    r"""PyTorch's default for ``nn.Linear``: :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`.

    Its variance is :math:`1/(3\,\text{fan\_in})`.
    """
    check_rng(rng)
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def lecun_normal(shape, fan_in, fan_out, rng) -> np.ndarray:
    r"""LeCun: :math:`\mathcal N(0, 1/\text{fan\_in})` (LeCun et al., 1998)."""
    check_rng(rng)
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape)


def xavier_normal(shape, fan_in, fan_out, rng) -> np.ndarray:
    r"""Glorot/Xavier: :math:`\mathcal N(0, 2/(\text{fan\_in} + \text{fan\_out}))` (Glorot & Bengio, 2010)."""
    check_rng(rng)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(shape, fan_in, fan_out, rng) -> np.ndarray:
    r"""He/Kaiming: :math:`\mathcal N(0, 2/\text{fan\_in})` (He et al., 2015)."""
    check_rng(rng)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def constant(value: float):
    """An initialiser that sets every weight to ``value`` (it cannot break symmetry)."""
    def init(shape, fan_in, fan_out, rng) -> np.ndarray:
        return np.full(shape, float(value))
    return init
