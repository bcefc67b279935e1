"""The checks of the troubleshooting chapter's exercises: right answers pass, wrong ones are explained."""

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import raised_message as _raised

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


# ---------------------------------------------------------------- every case's message, whole
# For each case k of each check: the message when an answer raises on case k (its description
# and hint, read against chapter 11's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by hand, by a direct NumPy formula or by PyTorch, never by nnbook's reference).

def _scalar_messages(raised, name, value):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return [f"{head}: {name} is wrong: expected {value:.6g}, received {value + 1:.6g}.{hints}"]


def _array_messages(raised, values):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    out = []
    for i, value in enumerate(values):
        for index in np.ndindex(value.shape):
            v = float(value[index])
            out.append(f"{head}: value {i} of (W_new, b_new) has wrong values.\n  First wrong "
                       f"entry at index {index}: expected {v:.6g}, received {v + 1:.6g}.{hints}")
    return out


CHANCE_RAISED = {
    1: _raised("ex-troubleshooting-initial-loss", 1, 4,
               "10 balanced classes, 5 examples each: the answer is ln 10"),
    2: _raised("ex-troubleshooting-initial-loss", 2, 4, "3 classes with 6, 3 and 1 examples",
               "the best constant prediction is the class frequencies (0.6, 0.3, 0.1)."),
    3: _raised("ex-troubleshooting-initial-loss", 3, 4, "4 classes, class 3 never occurs",
               "a class with frequency 0 adds 0 * ln 0 = 0 (the limit), not NaN."),
    4: _raised("ex-troubleshooting-initial-loss", 4, 4,
               "a single class: a constant prediction is always right"),
}
# By hand: ln 10; -(0.6 ln 0.6 + 0.3 ln 0.3 + 0.1 ln 0.1); three balanced classes, ln 3;
# one class, -1 ln 1 = -0 (the sign of the zero shows: "expected -0").
CHANCE_EXPECTED = {1: np.log(10), 2: -(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1)),
                   3: np.log(3), 4: -0.0}
DEAD_RAISED = {
    1: _raised("ex-troubleshooting-dead", 1, 4, "20 examples, 8 units, 3 of them dead"),
    2: _raised("ex-troubleshooting-dead", 2, 4, "6 examples, 10 units, biased negative",
               "many entries are 0 here, but a unit is dead only if all of its 6 are."),
    3: _raised("ex-troubleshooting-dead", 3, 4, "every unit alive"),
    4: _raised("ex-troubleshooting-dead", 4, 4, "every unit dead"),
}
DEAD_EXPECTED = {1: 3 / 8, 2: 0.1, 3: 0.0, 4: 1.0}
LEAK_RAISED = {
    1: _raised("ex-troubleshooting-leak", 1, 4, "8 validation rows, 3 copied from training"),
    2: _raised("ex-troubleshooting-leak", 2, 4, "no overlap"),
    3: _raised("ex-troubleshooting-leak", 3, 4, "the training set holds two rows twice",
               "count each validation row once, however often it occurs in training."),
    4: _raised("ex-troubleshooting-leak", 4, 4, "every validation row is a training row"),
}
LEAK_EXPECTED = {1: 3 / 8, 2: 0.0, 3: 3 / 8, 4: 1.0}
STEP_RAISED = {
    1: _raised("ex-troubleshooting-find-bug", 1, 3, "8 examples, 5 features, 4 classes"),
    2: _raised("ex-troubleshooting-find-bug", 2, 3, "3 examples, 2 features, 3 classes"),
    3: _raised("ex-troubleshooting-find-bug", 3, 3, "20 examples, 6 features, 2 classes"),
}


def _chance_inputs():
    rng = np.random.default_rng(0)
    return [(np.repeat(np.arange(10), 5)[rng.permutation(50)], 10),
            (np.array([0] * 6 + [1] * 3 + [2]), 3), (np.array([0, 1, 2, 0, 1, 2]), 4),
            (np.zeros(7, np.int64), 2)]


def _dead_inputs():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, 8))
    z[:, [1, 4, 5]] = -np.abs(z[:, [1, 4, 5]])
    z2 = rng.normal(size=(6, 10)) - 0.8
    return [(np.maximum(z, 0),), (np.maximum(z2, 0),), (np.ones((3, 4)),), (np.zeros((5, 3)),)]


def _leak_inputs():
    rng = np.random.default_rng(2)
    Xtr = np.unique(rng.integers(0, 4, size=(12, 3)).astype(float), axis=0)
    Xval = np.concatenate([Xtr[:3], rng.normal(size=(5, 3)) + 10])
    Xno = rng.normal(size=(4, 3)) + 10
    return [(Xtr, Xval), (Xtr, Xno), (np.concatenate([Xtr, Xtr[:2]]), Xval), (Xtr, Xtr[::2])]


def _step_inputs():
    rng = np.random.default_rng(3)
    out = []
    for N, D, C in [(8, 5, 4), (3, 2, 3), (20, 6, 2)]:
        W, b = rng.normal(size=(C, D)) * 0.5, rng.normal(size=C) * 0.1
        X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
        out.append((W, b, X, y, 0.5))
    return out


def test_the_hand_values_are_the_formulas_on_the_cases():
    for k, args in enumerate(_chance_inputs(), start=1):
        assert chance_right(*args) == pytest.approx(CHANCE_EXPECTED[k], abs=1e-15)
        assert chance_torch(*args) == pytest.approx(CHANCE_EXPECTED[k], abs=1e-15)
    for k, args in enumerate(_dead_inputs(), start=1):
        assert dead_torch(*args) == DEAD_EXPECTED[k]
    for k, args in enumerate(_leak_inputs(), start=1):
        assert overlap_torch(*args) == LEAK_EXPECTED[k]
    assert _leak_inputs()[0][1].shape == (8, 3)


@pytest.mark.parametrize("check, reference, raised, expected", [
    (ex.check_chance_loss, lambda y, c: ex.chance_loss(y, c), CHANCE_RAISED,
     {k: _scalar_messages(CHANCE_RAISED[k], "the loss", v) for k, v in CHANCE_EXPECTED.items()}),
    (ex.check_dead_fraction, ex._dead_ref, DEAD_RAISED,
     {k: _scalar_messages(DEAD_RAISED[k], "the fraction", v) for k, v in DEAD_EXPECTED.items()}),
    (ex.check_overlap_fraction, lambda a, b: ex.split_overlap(a, b), LEAK_RAISED,
     {k: _scalar_messages(LEAK_RAISED[k], "the fraction", v) for k, v in LEAK_EXPECTED.items()}),
    (ex.check_train_step, ex.train_step_reference, STEP_RAISED,
     {k: _array_messages(STEP_RAISED[k], step_torch(*args))
      for k, args in enumerate(_step_inputs(), start=1)}),
], ids=["chance", "dead", "leak", "step"])
def test_every_case_explains_itself(check, reference, raised, expected, capsys):
    from conftest import probe_messages
    got_raised, got_entries = probe_messages(check, reference)
    capsys.readouterr()
    assert got_raised == raised
    assert got_entries == expected


def _recorded(check, reference):
    seen = []

    def recording(*args):
        seen.append(args)
        return reference(*args)

    assert check(recording)
    return seen


@pytest.mark.parametrize("check, reference, inputs", [
    (ex.check_chance_loss, chance_right, _chance_inputs()),
    (ex.check_dead_fraction, dead_torch, _dead_inputs()),
    (ex.check_overlap_fraction, overlap_right, _leak_inputs()),
    (ex.check_train_step, step_torch, _step_inputs()),
], ids=["chance", "dead", "leak", "step"])
def test_the_cases_are_the_ones_their_descriptions_describe(check, reference, inputs, capsys):
    got = _recorded(check, reference)
    assert len(got) == len(inputs)
    for args, want in zip(got, inputs, strict=True):
        assert len(args) == len(want)
        for a, w in zip(args, want, strict=True):
            np.testing.assert_array_equal(a, w)
            assert type(a) is type(w)
    capsys.readouterr()


def test_the_dead_cases_have_the_dead_units_they_promise():
    H1, H2 = _dead_inputs()[0][0], _dead_inputs()[1][0]
    assert np.flatnonzero(np.all(H1 == 0, axis=0)).tolist() == [1, 4, 5]
    assert H1.shape == (20, 8) and H2.shape == (6, 10)
    assert np.mean(H2 == 0) > 0.5 and np.all(H2 == 0, axis=0).sum() == 1


# ---------------------------------------------------------------- the diagnoses themselves

LOG2 = "the logarithm is in base 2 (bits); cross-entropy losses use the natural log."
PRESENT = ("you returned ln of the number of classes present; that is the entropy only when "
           "those classes are balanced.")


@pytest.mark.parametrize("value, y, c, hint", [
    # two classes of 2 and 1: H = 0.918 bits; class 2 absent, class 1 a singleton
    (-(2 / 3 * np.log2(2 / 3) + 1 / 3 * np.log2(1 / 3)), [0, 0, 1], 3, LOG2),
    (1.0, [0, 1], 2, LOG2),                              # exactly 1 bit
    (np.log(2), [0, 0, 0, 1], 3, PRESENT),                # 2 of 3 classes present, unbalanced
    (0.0, [0, 0, 0], 2, ""),                             # the right answer: nothing to say
    (5.0, [0, 0, 1], 3, ""),
])
def test_chance_diagnosis(value, y, c, hint):
    assert ex._chance_diagnosis(value, np.array(y), c) == hint


ZEROS = ("you counted zero entries; a unit is dead only when it is 0 on every example "
         "(np.all over the batch axis).")
ROWS = "the reduction runs over the units (axis 1); the examples are axis 0."
SOME = "a unit that is 0 on *some* example is alive; dead means 0 on *every* example."
COUNT = "you returned the number of dead units; the exercise asks for their fraction."


@pytest.mark.parametrize("value, H, hint", [
    # one all-zero row of 5, two rows without a zero, no dead unit
    (0.2, [[0, 0, 0], [1, 2, 0], [3, 0, 1], [1, 2, 1], [2, 2, 2]], ROWS),
    # two of three units have a zero (rows: two of four)
    (2 / 3, [[0, 1, 1], [2, 0, 3], [1, 1, 2], [1, 1, 1]], SOME),
    (2.0, [[0, 0, 2], [0, 0, 1]], COUNT),               # two dead units counted
    (1.0, [[0, 1, 2], [0, 3, 1]], ""),                  # one dead unit: 1 is not told a count
    (0.3, [[0, 1, 2], [0, 3, 1]], ""),
])
def test_dead_diagnosis(value, H, hint):
    assert ex._dead_diagnosis(value, np.array(H, dtype=float)) == hint


TWICE = ("a validation row that occurs twice in the training set was counted twice: count "
         "each validation row once (np.any over the training rows).")


@pytest.mark.parametrize("value, n_copied, hint", [
    (2.0, 2, "you returned a count; the exercise asks for a fraction of the validation rows."),
    (1.0, 1, ""),                                        # one copied row: 1 is not told a count
    (0.5, 1, ""),
])
def test_overlap_diagnosis(value, n_copied, hint):
    X_train = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    X_val = np.concatenate([X_train[:n_copied], np.full((3 - n_copied, 2), 7.0)])
    assert ex._overlap_diagnosis(value, X_train, X_val) == hint


def test_overlap_diagnosis_of_a_count_through_the_check(capsys):
    _result, message = _verdict(ex.check_overlap_fraction, lambda A, V: 100 * overlap_right(A, V),
                               capsys)
    assert message == ("✗ ex-troubleshooting-leak, case 1 of 4 (8 validation rows, 3 copied "
                       "from training): the fraction is wrong: expected 0.375, received 37.5.")


def test_dead_fraction_as_a_percentage_has_no_guess(capsys):
    _result, message = _verdict(ex.check_dead_fraction,
                               lambda H: 100 * float(np.mean(np.all(H == 0, axis=0))), capsys)
    assert message == ("✗ ex-troubleshooting-dead, case 1 of 4 (20 examples, 8 units, 3 of them "
                       "dead): the fraction is wrong: expected 0.375, received 37.5.")


@pytest.mark.parametrize("answer, name", [(lambda *a: "half", "str"), (lambda *a: None, "NoneType")])
def test_a_result_that_is_not_a_number(answer, name, capsys):
    _result, message = _verdict(ex.check_dead_fraction, answer, capsys)
    assert message == ("✗ ex-troubleshooting-dead, case 1 of 4 (20 examples, 8 units, 3 of them "
                       f"dead): the fraction should be a number, received {name}.")


def test_a_dead_fraction_that_overwrites_h_is_diagnosed_on_the_h_it_was_given(capsys):
    def overwrite(H):                 # H becomes the indicator of its zeros, in place
        H[...] = H == 0
        return float(np.mean(H))      # the fraction of zero entries

    _result, message = _verdict(ex.check_dead_fraction, overwrite, capsys)
    assert message.endswith("received 0.70625.\n  It looks as if " + ZEROS)


# ---------------------------------------------------------------- the scalar tolerances

@pytest.mark.parametrize("scale, passes", [(1 + 0.5e-9, True), (1 + 1e-7, False)])
def test_scalar_tolerance_is_rtol_1e9(scale, passes, capsys):
    # A near miss gets no guess, though ln(classes present) is ln 10 here too.
    result, message = _verdict(ex.check_chance_loss, lambda y, c: scale * chance_right(y, c),
                               capsys)
    assert bool(result) is passes
    if not passes:
        assert message == ("✗ ex-troubleshooting-initial-loss, case 1 of 4 (10 balanced "
                           "classes, 5 examples each: the answer is ln 10): the loss is wrong: "
                           "expected 2.30258509299, received 2.30258532325.")


@pytest.mark.parametrize("delta, passes", [(0.5e-12, True), (5e-11, False)])
def test_scalar_tolerance_is_atol_1e12(delta, passes, capsys):
    # Case 2 of the leak has no overlap: the fraction 0, where only atol counts (case 1's
    # 0.375 allows rtol * 0.375 = 3.75e-10). A near miss gets no guess, though the fraction
    # of training rows found is 0 there too.
    result, message = _verdict(ex.check_overlap_fraction,
                               lambda A, V: overlap_right(A, V) + delta, capsys)
    assert bool(result) is passes
    if not passes:
        assert message == ("✗ ex-troubleshooting-leak, case 2 of 4 (no overlap): the fraction "
                           "is wrong: expected 0, received 5e-11.")


# ---------------------------------------------------------------- the training step

STEP1 = ("✗ ex-troubleshooting-find-bug, case 1 of 3 (8 examples, 5 features, 4 classes): ")


def _right_step(W, b, X, y, lr):
    """The step by hand: row softmax, G = (P - Y) / N."""
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    G = (P - np.eye(W.shape[0])[y]) / len(y)
    return W - lr * G.T @ X, b - lr * G.sum(axis=0)


def test_train_step_an_update_in_place_keeps_its_diagnosis(capsys):
    def in_place_uphill(W, b, X, y, lr):
        W_up, b_up = 2 * W - _right_step(W, b, X, y, lr)[0], 2 * b - _right_step(W, b, X, y, lr)[1]
        W[...], b[...] = W_up, b_up
        return W, b

    _result, message = _verdict(ex.check_train_step, in_place_uphill, capsys)
    assert message.endswith("\n  It looks as if the step climbs the loss: subtract the gradient.")


def test_train_step_a_summed_weight_gradient_with_a_mean_bias_gradient(capsys):
    # Only W's gradient is summed: not the recognised mistake, which sums both.
    def half_summed(W, b, X, y, lr):
        W_new, b_new = _right_step(W, b, X, y, lr)
        return W - len(y) * (W - W_new), b_new

    _result, message = _verdict(ex.check_train_step, half_summed, capsys)
    W, b, X, y, lr = _step_inputs()[0]
    W_e = step_torch(W, b, X, y, lr)[0]
    W_got = W - 8 * (W - W_e)
    assert message == (f"{STEP1}value 0 of (W_new, b_new) has wrong values.\n  First wrong "
                       f"entry at index (0, 0): expected {W_e[0, 0]:.6g}, received "
                       f"{W_got[0, 0]:.6g}. (20 of 20 entries differ.)")


@pytest.mark.parametrize("answer", [lambda *a: None, lambda W, b, X, y, lr: W])
def test_train_step_a_result_that_is_not_a_pair(answer, capsys):
    _result, message = _verdict(ex.check_train_step, answer, capsys)
    name = "NoneType" if answer(*_step_inputs()[0]) is None else "ndarray"
    assert message == (f"{STEP1}(W_new, b_new) should be a tuple of 2 values, received {name}.")


def test_train_step_numbers_written_as_text_are_read_for_the_diagnosis(capsys):
    def uphill_text(W, b, X, y, lr):
        W_new, b_new = _right_step(W, b, X, y, lr)
        return (2 * W - W_new).astype(str), (2 * b - b_new).astype(str)

    _result, message = _verdict(ex.check_train_step, uphill_text, capsys)
    dtype = (2 * _step_inputs()[0][0]).astype(str).dtype
    assert message.startswith(f"{STEP1}value 0 of (W_new, b_new) should hold numbers, received "
                              "dtype <U")
    assert message == (f"{STEP1}value 0 of (W_new, b_new) should hold numbers, received dtype "
                       f"{dtype}.\n  It looks as if the step climbs the loss: subtract the "
                       "gradient.")


@pytest.mark.parametrize("perturb, passes", [
    (lambda W, b: (W * (1 + 0.5e-9), b), True),
    (lambda W, b: (W * (1 + 1e-7), b), False),         # rtol 1e-9
    (lambda W, b: (W, b + 0.5e-12), True),
    (lambda W, b: (W, b + 5e-11), False),              # atol 1e-12 (case 1's b_new[0] = 0.0075)
], ids=["rtol_in", "rtol_out", "atol_in", "atol_out"])
def test_train_step_tolerances(perturb, passes, capsys):
    result, _ = _verdict(ex.check_train_step, lambda *a: perturb(*_right_step(*a)), capsys)
    assert bool(result) is passes


def test_train_step_reference_subtracts_each_rows_own_max():
    # Logits 2000 apart between the two rows: a shared max would underflow the second row.
    W, b = np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)
    X, y = np.array([[1000.0, 999.0], [-1000.0, -1001.0]]), np.array([0, 1])
    W_new, b_new = ex.train_step_reference(W, b, X, y, 0.1)
    W_t, b_t = step_torch(W, b, X, y, 0.1)
    np.testing.assert_allclose(W_new, W_t, rtol=1e-12)
    np.testing.assert_allclose(b_new, b_t, rtol=1e-12)


def test_dead_fraction_near_miss_gets_no_guess(capsys):
    # Every unit alive: the answer 0 is also the fraction of zero entries; an answer 5e-11
    # off is a near miss, not "you counted zero entries".
    def near(H):
        return float(np.mean(np.all(H == 0, axis=0))) + (5e-11 if np.all(H == 1) else 0.0)

    result, message = _verdict(ex.check_dead_fraction, near, capsys)
    assert not result
    assert message == ("✗ ex-troubleshooting-dead, case 3 of 4 (every unit alive): the fraction "
                       "is wrong: expected 0, received 5e-11.")
