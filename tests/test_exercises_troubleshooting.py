"""The checks of the troubleshooting chapter's exercises: right answers pass, wrong ones are explained."""

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

from nnbook.exercises import troubleshooting as ex

NOT_YET = ("NotImplementedError()` with your code, then run this cell again.")


def _not_answered(label):
    return f"✗ {label}: not answered yet. Replace `raise " + NOT_YET


# ---------------------------------------------------------------- chance loss

def chance_right(y, c):
    pi = np.bincount(y, minlength=c) / len(y)
    pi = pi[pi > 0]
    return float(-(pi * np.log(pi)).sum())


def chance_torch(y, c):
    """The loss of torch's cross_entropy at the best constant logits, log(pi)."""
    pi = torch.bincount(torch.as_tensor(y), minlength=c).double() / len(y)
    logits = torch.log(pi).expand(len(y), -1)
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y)).item()


@pytest.mark.parametrize("fn", [chance_right, chance_torch])
def test_chance_loss_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_chance_loss, fn, capsys)
    assert result and message == "✓ ex-troubleshooting-initial-loss: all 4 cases pass."


def test_chance_loss_placeholder(capsys):
    result, message = _verdict(ex.check_chance_loss, _placeholder, capsys)
    assert not result and message == _not_answered("ex-troubleshooting-initial-loss")


@pytest.mark.parametrize("wrong, case, values, hint", [
    (lambda y, c: float(np.log(c)), "2 of 4 (3 classes with 6, 3 and 1 examples)",
     "expected 0.897946, received 1.09861",
     "you returned ln C whatever the labels; ln C is the loss of the best constant prediction "
     "only for balanced classes. In general it is the entropy of the class frequencies.\n"
     "  Hint: the best constant prediction is the class frequencies (0.6, 0.3, 0.1)."),
    (lambda y, c: chance_right(y, c) / np.log(2),
     "1 of 4 (10 balanced classes, 5 examples each: the answer is ln 10)",
     "expected 2.30259, received 3.32193",
     "the logarithm is in base 2 (bits); cross-entropy losses use the natural log."),
    (lambda y, c: -chance_right(y, c),
     "1 of 4 (10 balanced classes, 5 examples each: the answer is ln 10)",
     "expected 2.30259, received -2.30259.\n  Every entry has the opposite sign of the expected "
     "one: look for a flipped sign",
     "the sign is flipped: -sum(pi log pi) is >= 0."),
])
def test_chance_loss_wrong_answers_are_diagnosed(wrong, case, values, hint, capsys):
    result, message = _verdict(ex.check_chance_loss, wrong, capsys)
    assert not result
    assert message == (f"✗ ex-troubleshooting-initial-loss, case {case}: the loss is wrong: "
                       f"{values}.\n  It looks as if {hint}")


def test_chance_loss_nan_for_an_absent_class(capsys):
    def naive(y, c):
        pi = np.bincount(y, minlength=c) / len(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(-(pi * np.log(pi)).sum())

    result, message = _verdict(ex.check_chance_loss, naive, capsys)
    assert not result
    assert message.startswith("✗ ex-troubleshooting-initial-loss, case 3 of 4 (4 classes, "
                              "class 3 never occurs): the loss is wrong: expected 1.09861, "
                              "received nan.")
    assert message.endswith("\n  Hint: a class with frequency 0 adds 0 * ln 0 = 0 (the limit), "
                            "not NaN.")


# ---------------------------------------------------------------- dead fraction

def dead_torch(H):
    return (torch.as_tensor(H) == 0).all(dim=0).double().mean().item()


@pytest.mark.parametrize("fn", [lambda H: float(np.mean(np.all(H == 0, axis=0))), dead_torch])
def test_dead_fraction_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_dead_fraction, fn, capsys)
    assert result and message == "✓ ex-troubleshooting-dead: all 4 cases pass."


def test_dead_fraction_placeholder(capsys):
    result, message = _verdict(ex.check_dead_fraction, _placeholder, capsys)
    assert not result and message == _not_answered("ex-troubleshooting-dead")


@pytest.mark.parametrize("wrong, received, hint", [
    (lambda H: float(np.mean(H == 0)), "0.70625",
     "you counted zero entries; a unit is dead only when it is 0 on every example "
     "(np.all over the batch axis)."),
    (lambda H: float(np.mean(np.all(H == 0, axis=1))), "0",
     "the reduction runs over the units (axis 1); the examples are axis 0."),
    (lambda H: float(np.mean(np.any(H == 0, axis=0))), "1",
     "a unit that is 0 on *some* example is alive; dead means 0 on *every* example."),
    (lambda H: float(np.sum(np.all(H == 0, axis=0))), "3",
     "you returned the number of dead units; the exercise asks for their fraction."),
])
def test_dead_fraction_wrong_answers_are_diagnosed(wrong, received, hint, capsys):
    result, message = _verdict(ex.check_dead_fraction, wrong, capsys)
    assert not result
    assert message == ("✗ ex-troubleshooting-dead, case 1 of 4 (20 examples, 8 units, 3 of them "
                       f"dead): the fraction is wrong: expected 0.375, received {received}."
                       f"\n  It looks as if {hint}")


# ---------------------------------------------------------------- overlap fraction

def overlap_right(A, V):
    return float(np.mean(np.any(np.all(V[:, None, :] == A[None, :, :], axis=2), axis=1)))


def overlap_torch(A, V):
    same = (torch.as_tensor(V)[:, None, :] == torch.as_tensor(A)[None, :, :]).all(dim=2)
    return same.any(dim=1).double().mean().item()


@pytest.mark.parametrize("fn", [overlap_right, overlap_torch])
def test_overlap_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_overlap_fraction, fn, capsys)
    assert result and message == "✓ ex-troubleshooting-leak: all 4 cases pass."


def test_overlap_placeholder(capsys):
    result, message = _verdict(ex.check_overlap_fraction, _placeholder, capsys)
    assert not result and message == _not_answered("ex-troubleshooting-leak")


@pytest.mark.parametrize("wrong, case, received, hint", [
    (lambda A, V: overlap_right(V, A), "1 of 4 (8 validation rows, 3 copied from training)",
     "0.272727",
     "you measured the fraction of *training* rows found in the validation set; the question "
     "is about the validation rows (divide by len(X_val))."),
    (lambda A, V: float(np.sum(np.any(np.all(V[:, None] == A[None], axis=2), axis=1))),
     "1 of 4 (8 validation rows, 3 copied from training)", "3",
     "you returned a count; the exercise asks for a fraction of the validation rows."),
    (lambda A, V: float(np.all(V[:, None] == A[None], axis=2).sum() / len(V)),
     "3 of 4 (the training set holds two rows twice)", "0.625",
     "a validation row that occurs twice in the training set was counted twice: count each "
     "validation row once (np.any over the training rows).\n  Hint: count each validation row "
     "once, however often it occurs in training."),
])
def test_overlap_wrong_answers_are_diagnosed(wrong, case, received, hint, capsys):
    result, message = _verdict(ex.check_overlap_fraction, wrong, capsys)
    assert not result
    assert message == (f"✗ ex-troubleshooting-leak, case {case}: the fraction is wrong: "
                       f"expected 0.375, received {received}.\n  It looks as if {hint}")


# ---------------------------------------------------------------- find the bug: train step

def step_torch(W, b, X, y, lr):
    """One step of torch.optim.SGD on torch's cross_entropy: the oracle."""
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    opt = torch.optim.SGD([Wt, bt], lr=lr)
    torch.nn.functional.cross_entropy(torch.as_tensor(X) @ Wt.T + bt,
                                      torch.as_tensor(y)).backward()
    opt.step()
    return Wt.detach().numpy(), bt.detach().numpy()


@pytest.mark.parametrize("fn", [ex.train_step_reference, step_torch])
def test_train_step_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_train_step, fn, capsys)
    assert result and message == "✓ ex-troubleshooting-find-bug: all 3 cases pass."


def test_train_step_placeholder(capsys):
    result, message = _verdict(ex.check_train_step, _placeholder, capsys)
    assert not result and message == _not_answered("ex-troubleshooting-find-bug")


@pytest.mark.parametrize("kwargs, hint", [
    ({"axis": 0}, "the softmax still normalises over the examples (axis 0); each row's class "
                  "probabilities must sum to 1 (axis 1)."),
    ({"max_axis": 0}, "the softmax sums over axis 1 now, but the max is still subtracted "
                      "over axis 0: a different constant for each column changes every row's "
                      "softmax. Subtract each row's own max."),
    ({"sign": -1.0}, "the step climbs the loss: subtract the gradient."),
    ({"scale": 1.0}, "the gradient is summed over the batch, not averaged: divide by N."),
])
def test_train_step_wrong_answers_are_diagnosed(kwargs, hint, capsys):
    result, message = _verdict(ex.check_train_step, lambda *a: ex._step(*a, **kwargs), capsys)
    assert not result
    assert message.startswith("✗ ex-troubleshooting-find-bug, case 1 of 3 (8 examples, 5 "
                              "features, 4 classes): value 0 of (W_new, b_new) has wrong values."
                              "\n  First wrong entry at index (0, 0): expected 1.10125, received ")
    assert message.endswith(f"\n  It looks as if {hint}")


def test_train_step_with_a_transposed_gradient(capsys):
    def transposed(W, b, X, y, lr):
        W2, b2 = ex.train_step_reference(W, b, X, y, lr)
        return (W2 - W).T + W.T, b2

    result, message = _verdict(ex.check_train_step, transposed, capsys)
    assert not result
    assert message == ("✗ ex-troubleshooting-find-bug, case 1 of 3 (8 examples, 5 features, 4 "
                       "classes): value 0 of (W_new, b_new) has shape (5, 4), expected (4, 5).\n"
                       "  The shape is transposed: check the order of a matrix product or a "
                       "missing .T.")


def test_train_step_half_fixed_is_diagnosed(capsys):
    """The student fixed the softmax's sum but left the max over the examples."""
    def half_fixed(W, b, X, y, lr):
        Z = X @ W.T + b
        Z = Z - Z.max(axis=0, keepdims=True)
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        G = (P - np.eye(W.shape[0])[y]) / len(y)
        return W - lr * G.T @ X, b - lr * G.sum(axis=0)

    result, message = _verdict(ex.check_train_step, half_fixed, capsys)
    assert not result
    assert message.endswith("\n  It looks as if the softmax sums over axis 1 now, but the max "
                            "is still subtracted over axis 0: a different constant for each "
                            "column changes every row's softmax. Subtract each row's own max.")
