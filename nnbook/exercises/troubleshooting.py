r"""Checks for the code exercises of the troubleshooting chapter.

Each ``check_<name>(your_function)`` runs your function on a handful of inputs,
compares with nnbook's reference (:mod:`nnbook.diagnostics`), prints a verdict
and returns a :class:`~nnbook.exercises.feedback.CheckResult`. Where a wrong
answer has a recognisable cause (``ln C`` whatever the class frequencies, a
softmax over the wrong axis, a count in place of a fraction) the message names it.

Examples
--------
>>> import numpy as np
>>> def dead(H):
...     return float(np.mean(np.all(H == 0, axis=0)))
>>> _ = check_dead_fraction(dead)
✓ ex-troubleshooting-dead: all 4 cases pass.
"""

from __future__ import annotations

import copy

import numpy as np

from ..diagnostics import chance_loss, split_overlap
from .feedback import Case, compare, run_check

__all__ = ["check_chance_loss", "check_dead_fraction", "check_overlap_fraction",
           "check_train_step"]


def _scalar_check(name):
    """A compare_fn for a ``(value, hint)`` result: the hint names a recognised wrong answer."""
    def compare_fn(got, expected):
        value, hint = got
        try:
            compare(value, expected[0], rtol=1e-9, atol=1e-12, name=name)
        except Exception as err:
            extra = f"\n  It looks as if {hint}" if hint else ""
            raise AssertionError(f"{err}{extra}") from None
    return compare_fn


def _with_diagnosis(student, diagnose):
    """Wrap ``student`` so that its result travels with a diagnosis of it (made on the
    inputs as they were: the student's function gets copies it may change)."""
    def run(*args):
        value = student(*copy.deepcopy(args))
        try:
            hint = diagnose(float(value), *args)
        except (TypeError, ValueError):
            hint = ""
        return value, hint
    return run


# ---------------------------------------------------------------- the initial loss

def _entropy(counts, log):
    pi = counts[counts > 0] / counts.sum()
    return float(-np.sum(pi * log(pi)))


def _chance_diagnosis(value, y, num_classes):
    if np.isclose(value, chance_loss(y, num_classes)):
        return ""              # a near miss (float32?): a wrong form may equal the answer here
    counts = np.bincount(y, minlength=num_classes)
    if np.isclose(value, np.log(num_classes)) and not np.isclose(value, chance_loss(y, num_classes)):
        return ("you returned ln C whatever the labels; ln C is the loss of the best constant "
                "prediction only for balanced classes. In general it is the entropy of the "
                "class frequencies.")
    if np.isclose(value, _entropy(counts, np.log2)) and value != 0:
        return "the logarithm is in base 2 (bits); cross-entropy losses use the natural log."
    if np.isclose(value, -chance_loss(y, num_classes)) and value != 0:
        return "the sign is flipped: -sum(pi log pi) is >= 0."
    if np.isclose(value, np.log(np.count_nonzero(counts))) and value != 0:
        return ("you returned ln of the number of classes present; that is the entropy only "
                "when those classes are balanced.")
    return ""


def _chance_cases():
    rng = np.random.default_rng(0)
    balanced = np.repeat(np.arange(10), 5)[rng.permutation(50)]
    return [
        Case("10 balanced classes, 5 examples each: the answer is ln 10", (balanced, 10)),
        Case("3 classes with 6, 3 and 1 examples", (np.array([0] * 6 + [1] * 3 + [2]), 3),
             hint="the best constant prediction is the class frequencies (0.6, 0.3, 0.1)."),
        Case("4 classes, class 3 never occurs", (np.array([0, 1, 2, 0, 1, 2]), 4),
             hint="a class with frequency 0 adds 0 * ln 0 = 0 (the limit), not NaN."),
        Case("a single class: a constant prediction is always right", (np.zeros(7, np.int64), 2)),
    ]


def check_chance_loss(fn):
    """``fn(y, num_classes)`` -> the cross-entropy of the best constant prediction (nats)."""
    return run_check("ex-troubleshooting-initial-loss", _with_diagnosis(fn, _chance_diagnosis),
                     lambda y, c: (chance_loss(y, c), ""), _chance_cases(),
                     compare_fn=_scalar_check("the loss"))


# ---------------------------------------------------------------- dead units

def _dead_ref(H):
    return float(np.mean(np.all(H == 0, axis=0)))


def _dead_diagnosis(value, H):
    if np.isclose(value, _dead_ref(H)):
        return ""              # a near miss: a wrong form may equal the answer here
    if np.isclose(value, np.mean(H == 0)):
        return ("you counted zero entries; a unit is dead only when it is 0 on every example "
                "(np.all over the batch axis).")
    if np.isclose(value, np.mean(np.all(H == 0, axis=1))):
        return "the reduction runs over the units (axis 1); the examples are axis 0."
    if np.isclose(value, np.mean(np.any(H == 0, axis=0))):
        return "a unit that is 0 on *some* example is alive; dead means 0 on *every* example."
    if np.isclose(value, np.sum(np.all(H == 0, axis=0))) and value > 1:
        return "you returned the number of dead units; the exercise asks for their fraction."
    return ""


def _dead_cases():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, 8))
    z[:, [1, 4, 5]] = -np.abs(z[:, [1, 4, 5]])           # three units dead
    H1 = np.maximum(z, 0)
    z2 = rng.normal(size=(6, 10)) - 0.8
    H2 = np.maximum(z2, 0)
    return [
        Case("20 examples, 8 units, 3 of them dead", (H1,)),
        Case("6 examples, 10 units, biased negative", (H2,),
             hint="many entries are 0 here, but a unit is dead only if all of its 6 are."),
        Case("every unit alive", (np.ones((3, 4)),)),
        Case("every unit dead", (np.zeros((5, 3)),)),
    ]


def check_dead_fraction(fn):
    """``fn(H)`` with ``H`` (N, units) post-ReLU activations -> fraction of dead units."""
    return run_check("ex-troubleshooting-dead", _with_diagnosis(fn, _dead_diagnosis),
                     lambda H: (_dead_ref(H), ""), _dead_cases(),
                     compare_fn=_scalar_check("the fraction"))


# ---------------------------------------------------------------- leak between splits

def _overlap_diagnosis(value, X_train, X_val):
    if np.isclose(value, split_overlap(X_train, X_val)):
        return ""              # a near miss: a wrong form may equal the answer here
    same = np.all(X_val[:, None, :] == X_train[None, :, :], axis=2)
    if np.isclose(value, np.mean(np.any(same, axis=0))):
        return ("you measured the fraction of *training* rows found in the validation set; "
                "the question is about the validation rows (divide by len(X_val)).")
    if np.isclose(value, np.sum(np.any(same, axis=1))) and value > 1:
        return "you returned a count; the exercise asks for a fraction of the validation rows."
    if np.isclose(value, np.sum(same) / len(X_val)):
        return ("a validation row that occurs twice in the training set was counted twice: "
                "count each validation row once (np.any over the training rows).")
    return ""


def _overlap_cases():
    rng = np.random.default_rng(2)
    Xtr = rng.integers(0, 4, size=(12, 3)).astype(float)
    Xtr = np.unique(Xtr, axis=0)
    Xval = np.concatenate([Xtr[:3], rng.normal(size=(5, 3)) + 10])
    Xdup = np.concatenate([Xtr, Xtr[:2]])
    return [
        Case("8 validation rows, 3 copied from training", (Xtr, Xval)),
        Case("no overlap", (Xtr, rng.normal(size=(4, 3)) + 10)),
        Case("the training set holds two rows twice", (Xdup, Xval),
             hint="count each validation row once, however often it occurs in training."),
        Case("every validation row is a training row", (Xtr, Xtr[::2])),
    ]


def check_overlap_fraction(fn):
    """``fn(X_train, X_val)`` -> the fraction of validation rows that occur in the training set."""
    return run_check("ex-troubleshooting-leak", _with_diagnosis(fn, _overlap_diagnosis),
                     lambda a, b: (split_overlap(a, b), ""), _overlap_cases(),
                     compare_fn=_scalar_check("the fraction"))


# ---------------------------------------------------------------- find the bug: a training step

def _softmax(Z, axis, max_axis=None):
    Z = Z - Z.max(axis=axis if max_axis is None else max_axis, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=axis, keepdims=True)


def _step(W, b, X, y, lr, *, axis=1, sign=1.0, scale=None, max_axis=None):
    N, C = X.shape[0], W.shape[0]
    P = _softmax(X @ W.T + b, axis, max_axis)
    G = (P - np.eye(C)[y]) / (N if scale is None else scale)
    return W - sign * lr * (G.T @ X), b - sign * lr * G.sum(axis=0)


def train_step_reference(W, b, X, y, lr):
    r"""One gradient step of softmax regression on the mean cross-entropy.

    :math:`P = \operatorname{softmax}(X W^\top + b)` row by row,
    :math:`G = (P - Y)/N`, :math:`W \leftarrow W - \eta G^\top X`,
    :math:`b \leftarrow b - \eta \sum_n G_n`.
    """
    return _step(W, b, X, y, lr)


def _step_diagnosis(got, W, b, X, y, lr):
    for kwargs, hint in [
        ({"axis": 0}, "the softmax still normalises over the examples (axis 0); each row's "
                      "class probabilities must sum to 1 (axis 1)."),
        ({"max_axis": 0}, "the softmax sums over axis 1 now, but the max is still "
                          "subtracted over axis 0: a different constant for each column "
                          "changes every row's softmax. Subtract each row's own max."),
        ({"sign": -1.0}, "the step climbs the loss: subtract the gradient."),
        ({"scale": 1.0}, "the gradient is summed over the batch, not averaged: divide by N."),
    ]:
        W2, b2 = _step(W, b, X, y, lr, **kwargs)
        if np.allclose(got[0], W2) and np.allclose(got[1], b2):
            return hint
    return ""


def _step_cases():
    rng = np.random.default_rng(3)
    cases = []
    for desc, (N, D, C) in [("8 examples, 5 features, 4 classes", (8, 5, 4)),
                            ("3 examples, 2 features, 3 classes", (3, 2, 3)),
                            ("20 examples, 6 features, 2 classes", (20, 6, 2))]:
        W, b = rng.normal(size=(C, D)) * 0.5, rng.normal(size=C) * 0.1
        X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
        cases.append(Case(desc, (W, b, X, y, 0.5)))
    return cases


def check_train_step(fn):
    """``fn(W, b, X, y, lr)`` -> ``(W_new, b_new)``, one correct softmax-regression step."""
    def student(*args):
        got = fn(*copy.deepcopy(args))      # an update in place must not move the diagnosis's W
        if not (isinstance(got, tuple | list) and len(got) == 2):
            return got, ""
        try:
            hint = _step_diagnosis([np.asarray(g, float) for g in got], *args)
        except (TypeError, ValueError):
            hint = ""
        return got, hint

    def compare_fn(got, expected):
        value, hint = got
        try:
            compare(value, expected[0], rtol=1e-9, atol=1e-12, name="(W_new, b_new)")
        except Exception as err:
            extra = f"\n  It looks as if {hint}" if hint else ""
            raise AssertionError(f"{err}{extra}") from None

    return run_check("ex-troubleshooting-find-bug", student,
                     lambda *a: (tuple(train_step_reference(*a)), ""), _step_cases(),
                     compare_fn=compare_fn)
