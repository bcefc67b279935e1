r"""Checks for the code exercises of the chapter on training fast.

* :func:`check_weighted_gradient_mean`: combine the workers' mean-loss gradients
  of shards of unequal sizes into the gradient of the whole batch's mean loss;
* :func:`check_unscale`: divide float16 loss-scaled gradients by the scale in
  float32, and report whether any is inf or NaN.

Examples
--------
>>> import numpy as np
>>> def combine(grads, counts):
...     return sum(m * g for m, g in zip(counts, grads, strict=True)) / sum(counts)
>>> _ = check_weighted_gradient_mean(combine)
✓ ex-training-fast-weighted-mean: all 4 cases pass.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np

from ..backend import to_numpy
from .feedback import Case, compare, run_check

__all__ = ["check_unscale", "check_weighted_gradient_mean"]


class _Diagnosed:
    """A wrong result together with the recognised cause."""

    def __init__(self, value, hint):
        self.value, self.hint = value, hint


def _with_diagnosis(name, rtol=1e-9, atol=1e-12):
    def compare_fn(got, expected):
        value = got.value if isinstance(got, _Diagnosed) else got
        try:
            compare(value, expected, rtol=rtol, atol=atol, name=name)
        except Exception as err:
            extra = f"\n  It looks as if {got.hint}" if isinstance(got, _Diagnosed) else ""
            raise AssertionError(f"{err}{extra}") from None
    return compare_fn


# ---------------------------------------------------------------- weighted mean of gradients

def _ref_combine(grads, counts):
    counts = np.asarray(counts, dtype=float)
    return sum(m * g for m, g in zip(counts, grads, strict=True)) / counts.sum()


def _combine_cases():
    """Gradients of a least-squares loss on shards of a real batch, so the answer is a gradient."""
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(12, 3)), rng.normal(size=12), rng.normal(size=3)

    def shard_grads(sizes):
        edges = np.cumsum([0, *sizes])
        return [2 * X[a:b].T @ (X[a:b] @ w - y[a:b]) / (b - a) for a, b in itertools.pairwise(edges)]

    G = rng.normal(size=(2, 4, 3))
    return [
        Case("3 shards of 6, 4 and 2 samples (a least-squares gradient)",
             (shard_grads([6, 4, 2]), [6, 4, 2]),
             hint="the result must be the gradient of the mean loss over all 12 samples."),
        Case("2 shards of 1 and 11 samples", (shard_grads([1, 11]), [1, 11])),
        Case("equal shards: the plain mean is right here", (shard_grads([4, 4, 4]), [4, 4, 4])),
        Case("matrix gradients (4, 3), shards of 5 and 3 samples", ([G[0], G[1]], [5, 3])),
    ]


def _combine_diagnosis(got, grads, counts):
    counts = np.asarray(counts, dtype=float)
    known = [
        (sum(grads) / len(grads), "you took the plain mean of the workers' gradients: with "
                                  "unequal shards, weight each by its number of samples."),
        (sum(m * g for m, g in zip(counts, grads, strict=True)), "you summed the weighted gradients but did "
                                                     "not divide by the total number of samples."),
        (sum(m * g for m, g in zip(counts, grads, strict=True)) / len(grads),
         "you divided the weighted sum by the number of workers, not of samples."),
        (sum(grads), "you summed the gradients: a sum, not a mean, and unweighted."),
        (sum(g / m for m, g in zip(counts, grads, strict=True)) / np.sum(1 / counts),
         "you weighted each gradient by 1/m_k: a shard with more samples must count more."),
    ]
    for candidate, message in known:
        if got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-9, atol=1e-12):
            return message
    return ""


def check_weighted_gradient_mean(combine_fn):
    r"""Check ``combine(grads, counts) -> g``: :math:`g = \sum_k m_k g_k / \sum_k m_k`.

    ``grads`` is a list of K arrays of the same shape (each the gradient of a
    shard's *mean* loss), ``counts`` the K shard sizes :math:`m_k`.
    """
    def student(grads, counts):
        # The diagnosis works on copies: an answer may change its inputs in place.
        grads_in, counts_in = copy.deepcopy(grads), copy.deepcopy(counts)
        out = combine_fn(grads, counts)
        try:
            got = np.asarray(to_numpy(out), dtype=float)
        except (TypeError, ValueError):
            return out
        ref = _ref_combine(grads_in, counts_in)
        if got.shape == ref.shape and not np.allclose(got, ref, rtol=1e-9, atol=1e-12):
            hint = _combine_diagnosis(got, grads_in, counts_in)
            if hint:
                return _Diagnosed(out, hint)
        return out

    if not callable(combine_fn):      # run_check explains a result passed in place of the function
        student = combine_fn
    return run_check("ex-training-fast-weighted-mean", student, _ref_combine, _combine_cases(),
                     compare_fn=_with_diagnosis("the combined gradient"))


# ---------------------------------------------------------------- unscaling float16 gradients

def _ref_unscale(grads16, scale):
    grads = [g.astype(np.float32) / np.float32(scale) for g in grads16]
    return grads, not all(bool(np.all(np.isfinite(g))) for g in grads16)


def _unscale_cases():
    rng = np.random.default_rng(1)
    small = (rng.normal(size=(3, 4)) * 1e-6).astype(np.float32)
    scale = 2.0**16
    g16 = (small * scale).astype(np.float16)
    other = (rng.normal(size=5) * 1e-3 * scale).astype(np.float16)
    with_inf = other.copy()
    with_inf[2] = np.inf
    with_nan = g16.copy()
    with_nan[1, 1] = np.nan
    return [
        Case("two finite float16 gradients scaled by 2^16", ([g16, other], scale),
             hint="dividing in float16 flushes the small values to 0 again: convert first."),
        Case("scale 1: only the conversion", ([other], 1.0)),
        Case("an inf in the second gradient", ([g16, with_inf], scale),
             hint="found_inf must be True when any entry of any gradient is inf."),
        Case("a NaN in the first gradient", ([with_nan, other], scale),
             hint="NaN counts too (inf - inf in the backward pass gives NaN)."),
    ]


def _compare_unscale(got, expected):
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError("the result should be a pair (grads, found_inf), received "
                             f"{type(got).__name__}.")
    grads, found = got
    exp_grads, exp_found = expected
    if not isinstance(found, (bool, np.bool_)):
        raise AssertionError(f"found_inf should be True or False, received {found!r}.")
    if bool(found) != exp_found:
        raise AssertionError(f"found_inf should be {exp_found}, received {bool(found)}.")
    if len(grads) != len(exp_grads):
        raise AssertionError(f"grads should hold {len(exp_grads)} arrays, received {len(grads)}.")
    for j, (g, e) in enumerate(zip(grads, exp_grads, strict=True)):
        arr = np.asarray(to_numpy(g))
        if arr.dtype != np.float32:
            raise AssertionError(f"grads[{j}] should be float32 (the master copy's precision), "
                                 f"received {arr.dtype}.")
        finite = np.isfinite(e)
        if not np.array_equal(np.isfinite(arr), finite):
            raise AssertionError(f"grads[{j}] should have its inf/NaN entries where the input has them.")
        if np.any(arr[finite] == 0) and not np.any(e[finite] == 0):
            raise AssertionError(f"grads[{j}] has entries flushed to 0 that are not 0 in float32: "
                                 "it looks as if you divided in float16. Convert to float32 first.")
        compare(arr[finite], e[finite], rtol=1e-6, atol=0.0, name=f"grads[{j}] (finite entries)")


def check_unscale(unscale_fn):
    r"""Check ``unscale(grads16, scale) -> (grads, found_inf)``.

    ``grads`` are ``float32(g) / scale`` for each float16 array ``g`` of
    ``grads16``; ``found_inf`` is True if any entry of any ``g`` is inf or NaN.
    """
    return run_check("ex-training-fast-unscale", unscale_fn, _ref_unscale, _unscale_cases(),
                     compare_fn=_compare_unscale)
