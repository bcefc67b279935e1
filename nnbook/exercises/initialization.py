r"""Checks for the code exercises of the chapter on initialisation.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with what it should give, prints a verdict and returns a
:class:`~nnbook.exercises.feedback.CheckResult`. Random initialisers are checked
statistically: shape, mean and variance, within a tolerance of six standard
errors of the sample variance (so a right answer never fails by chance).

Examples
--------
>>> import numpy as np
>>> def he_normal(shape, fan_in, fan_out, rng):
...     return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
>>> _ = check_he_normal(he_normal)
✓ ex-init-he-normal: all 4 cases pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy
from .feedback import Case, run_check

__all__ = ["check_forward_stds", "check_he_normal", "check_orthogonal"]

Z = 6.0


def _as_numpy(x, what: str) -> np.ndarray:
    if isinstance(x, np.ndarray) or type(x).__module__.startswith("torch"):
        return np.asarray(to_numpy(x), dtype=float)
    raise AssertionError(f"{what} should be an array, received {type(x).__name__}.")


# ---- ex-init-he-normal: He's initialiser for ReLU layers -----------------------------------

@dataclass(frozen=True)
class _Draw:
    """What a correct draw looks like: its shape and the variance of its entries."""

    shape: tuple
    fan_in: int
    fan_out: int

    @property
    def var(self) -> float:
        return 2.0 / self.fan_in


def _he_reference(shape, fan_in, fan_out, rng):
    return _Draw(tuple(shape), fan_in, fan_out)


def _he_diagnosis(var: float, d: _Draw) -> str:
    known = [
        (2.0 / (d.fan_in + d.fan_out),
         "This is Xavier's variance 2/(fan_in + fan_out); He's uses fan_in alone: 2/fan_in."),
        (1.0 / d.fan_in,
         "This is LeCun's 1/fan_in: the factor 2 that makes up for ReLU zeroing half its "
         "inputs is missing."),
        (2.0 / d.fan_out, "This is 2/fan_out: use fan_in (the forward mode)."),
        ((2.0 / d.fan_in) ** 2,
         "The variance is (2/fan_in)^2: numpy's normal(loc, scale) takes the standard "
         "deviation, the square root of the variance."),
        (1.0, "The variance is 1: the weights are standard normal, not scaled."),
        (2.0 / (3 * d.fan_in),
         "The variance is a third of 2/fan_in: a uniform U(-a, a) has variance a^2/3, "
         "so its bound for He is sqrt(6/fan_in), or draw from a normal."),
    ]
    n = math.prod(d.shape)
    for target, message in known:
        if abs(var - target) < Z * target * math.sqrt(2.0 / n):
            return message
    return ""


def _he_compare(got, expected: _Draw):
    w = _as_numpy(got, "the result")
    if w.shape != expected.shape:
        raise AssertionError(f"the result has shape {w.shape}, expected {expected.shape}."
                             + ("\n  It is transposed: the weight of a layer is "
                                "(fan_out, fan_in) = shape as given."
                                if w.shape == expected.shape[::-1] else ""))
    if not np.all(np.isfinite(w)):
        raise AssertionError("the result holds NaN or infinite values.")
    n, var = w.size, expected.var
    distinct = np.unique(w).size
    if distinct == 1:
        raise AssertionError(f"all {n} weights are equal: draw every weight independently "
                             "(constant weights cannot break symmetry).")
    if distinct < n // 2:
        raise AssertionError(f"the {n} weights take only {distinct} distinct values: draw "
                             "each from a continuous normal distribution (rng.normal), not "
                             "from a few fixed values.")
    mean_tol = Z * math.sqrt(var / n)
    if abs(w.mean()) > mean_tol:
        raise AssertionError(f"the weights have mean {w.mean():.4g}, expected 0 "
                             f"(within {mean_tol:.2g}).")
    got_var, tol = float(w.var()), Z * var * math.sqrt(2.0 / n)
    if abs(got_var - var) > tol:
        hint = _he_diagnosis(got_var, expected)
        raise AssertionError(
            f"the weights have variance {got_var:.4g}, expected 2/fan_in = {var:.4g} "
            f"(within {tol:.2g} for {n} draws)." + (f"\n  {hint}" if hint else ""))
    kurtosis = float(np.mean((w - w.mean()) ** 4) / w.var() ** 2)
    k_tol = Z * math.sqrt(24.0 / n)
    if abs(kurtosis - 3.0) > k_tol:
        raise AssertionError(
            f"the weights have kurtosis E[w^4]/Var(w)^2 = {kurtosis:.2f}, expected 3 for a "
            f"normal distribution (within {k_tol:.2f})."
            + ("\n  1.8 is the kurtosis of a uniform distribution: draw from rng.normal."
               if abs(kurtosis - 1.8) < k_tol else ""))


_SAME_SEED = "two generators with the same seed"


def _same_seed_draws(fn):
    shape, fan_in, fan_out = (50, 40), 40, 50
    return tuple(_as_numpy(fn(shape, fan_in, fan_out, np.random.default_rng(7)),
                           "the result") for _ in range(2))


def _same_seed_compare(got):
    first, second = got
    if first.shape != second.shape or not np.array_equal(first, second):
        raise AssertionError(
            "two calls with generators of the same seed, np.random.default_rng(7), gave "
            "different weights.\n  Draw from the rng argument, not from np.random's global "
            "state: the same rng seed must give the same network.")


def check_he_normal(he_normal):
    r"""Check ``he_normal(shape, fan_in, fan_out, rng)``: :math:`\mathcal N(0, 2/\text{fan\_in})`.

    Every weight drawn independently from ``rng``; the result has ``shape``. The
    mean, the variance and the kurtosis (3 for a normal) are checked on 20 480 to
    80 000 draws, fan_in and fan_out different; the last case checks that the
    same ``rng`` seed gives the same weights.
    """
    cases = [
        Case("shape (200, 400): fan_in = 400, fan_out = 200",
             ((200, 400), 400, 200, np.random.default_rng(0))),
        Case("shape (500, 100): fan_in = 100, fan_out = 500",
             ((500, 100), 100, 500, np.random.default_rng(1)),
             hint="fan_in is the number of inputs of a unit, the second entry of the shape."),
        Case("shape (64, 320): fan_in = 320, fan_out = 64",
             ((64, 320), 320, 64, np.random.default_rng(2))),
        Case("the same call twice, with two generators of the same seed", (_SAME_SEED,)),
    ]

    def student(*args):
        return _same_seed_draws(he_normal) if args[0] == _SAME_SEED else he_normal(*args)

    def reference(*args):
        return None if args[0] == _SAME_SEED else _he_reference(*args)

    def compare(got, expected):
        return _same_seed_compare(got) if expected is None else _he_compare(got, expected)

    return run_check("ex-init-he-normal", student if callable(he_normal) else he_normal,
                     reference, cases, compare_fn=compare)


# ---- ex-init-layer-stds: per-layer standard deviations of the forward signal -------------------

def _forward_stds_reference(X, weights, activation):
    a, out = X, []
    for W in weights:
        z = a @ W.T
        out.append(float(np.std(z)))
        a = activation(z)
    return np.array(out)


def _relu(z):
    return np.maximum(z, 0.0)


def _stds_cases():
    r = np.random.default_rng(5)
    X = r.standard_normal((32, 6))
    sq = [r.standard_normal((6, 6)) / np.sqrt(6) for _ in range(4)]
    rect = [r.standard_normal((8, 6)) / np.sqrt(6), r.standard_normal((3, 8)) / np.sqrt(8),
            r.standard_normal((5, 3)) / np.sqrt(3)]
    return [
        Case("4 square tanh layers of width 6, a batch of 32", (X, sq, np.tanh),
             hint="record the std of z_l = a_{l-1} W_l^T, before the activation, pooled over "
                  "the whole batch and all units of the layer."),
        Case("3 ReLU layers of widths 8, 3, 5 (fan_in differs from fan_out)",
             (X, rect, _relu),
             hint="a weight matrix has shape (fan_out, fan_in): z = a @ W.T."),
        Case("1 linear layer (identity activation)", (X, sq[:1], lambda z: z)),
        Case("4 layers and a batch of one sample", (X[:1], sq, np.tanh),
             hint="pool over every entry of z: with one sample there are still 6 units."),
    ]


def check_forward_stds(forward_stds):
    r"""Check ``forward_stds(X, weights, activation)``: the std of :math:`z_l` at every layer.

    ``X`` is (N, D_0), ``weights`` a list of (D_l, D_{l-1}) arrays and
    ``activation`` an element-wise function; the network computes
    :math:`z_l = a_{l-1} W_l^\top`, :math:`a_l = g(z_l)`, :math:`a_0 = X`, and the
    result is the array (L,) of :math:`\mathrm{std}(z_l)` over all N x D_l entries.
    """
    return run_check("ex-init-layer-stds", forward_stds, _forward_stds_reference, _stds_cases(),
                     compare_fn=_stds_compare)


def _stds_compare(got, expected):
    from .feedback import _Mismatch, compare

    try:
        compare(got, expected, rtol=1e-8, atol=1e-12)
    except _Mismatch as err:
        g = _as_numpy(got, "the result") if not isinstance(got, list | tuple) else None
        if g is not None and g.shape == expected.shape and np.all(expected > 0):
            ratio = g / expected
            if np.allclose(ratio, ratio[0], rtol=1e-8) and ratio[0] > 1:
                n = 1.0 / (1.0 - 1.0 / ratio[0] ** 2)      # ratio = sqrt(n / (n - 1))
                if abs(n - round(n)) < 1e-6:
                    raise AssertionError(
                        f"every entry is {ratio[0]:.4f} = sqrt(n/(n-1)) times the expected "
                        f"one, with n = {round(n)} entries of z: this is the sample std "
                        "with ddof=1.\n  Use the population std: NumPy's default ddof=0; "
                        "in torch, z.std(unbiased=False) or z.std(correction=0).") from None
        raise AssertionError(str(err)) from None


# ---- ex-init-orthogonal: a random orthogonal matrix -----------------------------------------

@dataclass(frozen=True)
class _Orth:
    shape: tuple
    gain: float


def _orth_reference(shape, rng, gain=1.0):
    return _Orth(tuple(shape), gain)


def _orth_compare(got, expected: _Orth):
    W = _as_numpy(got, "the result")
    rows, cols = expected.shape
    if W.shape != expected.shape and rows > cols and W.shape == (rows, rows):
        raise AssertionError(
            f"the result has shape {W.shape}, expected {expected.shape}.\n  A tall matrix "
            "keeps its shape: np.linalg.qr's default mode 'reduced' gives Q of shape "
            "(rows, cols); mode='complete' gives a square Q.")
    if W.shape != expected.shape:
        raise AssertionError(
            f"the result has shape {W.shape}, expected {expected.shape}."
            + ("\n  For a wide matrix (rows < cols) decompose the transpose, then transpose "
               "Q back." if W.shape == expected.shape[::-1] or W.shape == (rows, rows) else ""))
    small = W @ W.T if rows <= cols else W.T @ W
    target = expected.gain ** 2 * np.eye(len(small))
    err = float(np.max(np.abs(small - target)))
    if err > 1e-8:
        what = "rows" if rows <= cols else "columns"
        raise AssertionError(
            f"the {what} are not orthonormal (times gain {expected.gain:g}): the largest entry "
            f"of {'W W^T' if rows <= cols else 'W^T W'} - gain^2 I is {err:.3g}.\n"
            "  Return the Q factor of a QR decomposition, not R, and multiply it by gain.")


_HAAR = "many 3 x 3 draws"


@dataclass(frozen=True)
class _HaarSample:
    """Many independent draws, (draws, n, n); every entry has mean 0 under the Haar measure."""

    draws: np.ndarray


def _haar_draws(fn, n=3, draws=3000):
    rng = np.random.default_rng(11)
    return _HaarSample(np.stack([_as_numpy(fn((n, n), rng), "the result")
                                 for _ in range(draws)]))


def _haar_compare(got: _HaarSample, n=3):
    means = got.draws.mean(axis=0)
    tol = Z * math.sqrt(1 / n / got.draws.shape[0])
    worst = np.unravel_index(np.argmax(np.abs(means)), means.shape)
    if abs(means[worst]) > tol:
        i, j = (int(k) for k in worst)
        raise AssertionError(
            f"over {got.draws.shape[0]} draws of a {n} x {n} matrix, W[{i}, {j}] has mean "
            f"{means[worst]:.3f}, expected 0 (within {tol:.3f}) for a uniformly random "
            "orthogonal matrix.\n  QR's signs are a convention of the algorithm: multiply "
            "each column of Q by the sign of the matching diagonal entry of R.")


def check_orthogonal(orthogonal):
    r"""Check ``orthogonal(shape, rng, gain=1.0)``: a uniformly random (semi-)orthogonal matrix.

    Orthonormal rows for a wide shape, orthonormal columns for a tall one, times
    ``gain``; and uniformly distributed (the sign fix by :math:`\operatorname{diag}(R)`),
    which the last case tests on 3000 draws: every entry must have mean 0.
    """
    cases = [
        Case("a square 5 x 5 matrix", ((5, 5), np.random.default_rng(0))),
        Case("a tall 7 x 3 matrix: orthonormal columns", ((7, 3), np.random.default_rng(1))),
        Case("a wide 3 x 7 matrix: orthonormal rows", ((3, 7), np.random.default_rng(2)),
             hint="QR of a wide matrix gives a square Q: decompose its transpose."),
        Case("a 4 x 4 matrix with gain 2", ((4, 4), np.random.default_rng(3)), {"gain": 2.0}),
        Case("3000 draws of a 3 x 3 matrix: their distribution", (_HAAR,)),
    ]

    def student(*args, **kwargs):
        return _haar_draws(orthogonal) if args[0] == _HAAR else orthogonal(*args, **kwargs)

    def reference(*args, **kwargs):
        return None if args[0] == _HAAR else _orth_reference(*args, **kwargs)

    def compare(got, expected):
        return _haar_compare(got) if expected is None else _orth_compare(got, expected)

    return run_check("ex-init-orthogonal", student if callable(orthogonal) else orthogonal,
                     reference, cases, compare_fn=compare)
