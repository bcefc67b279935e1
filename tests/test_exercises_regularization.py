"""The checks of the dropout chapter's exercises: right answers pass, wrong ones are explained."""

import re
import warnings

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import regularization as ex
from nnbook.regularization import EarlyStopping

PLACEHOLDER = ("NotImplementedError()` with your code, then run this cell again.")


# ---------------------------------------------------------------- dropout forward

def drop_right(x, p, u):
    return np.zeros_like(x) if p == 1 else x * (u >= p) / (1 - p)


def drop_torch(x, p, u):
    """torch's functional dropout, fed the same mask through its own formula."""
    xt = torch.as_tensor(x)
    keep = torch.as_tensor(u >= p)
    return torch.where(keep, xt / (1 - p), torch.zeros_like(xt)) if p < 1 else 0 * xt


@pytest.mark.parametrize("fn", [drop_right, drop_torch])
def test_dropout_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_dropout_forward, fn, capsys)
    assert result and message == "✓ ex-dropout-forward: all 6 cases pass."


def test_dropout_placeholder(capsys):
    result, message = _verdict(ex.check_dropout_forward, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-dropout-forward: not answered yet. Replace `raise " + PLACEHOLDER)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, p, u: x * (u >= p),
     "kept units are not rescaled: inverted dropout divides them by 1 - p, so that the "
     "expected output equals x."),
    (lambda x, p, u: x * (u >= p) * (1 - p),
     "kept units are multiplied by 1 - p; inverted dropout divides by 1 - p (multiplying by "
     "1 - p is what the original convention does at test time, not in training)."),
    (lambda x, p, u: x * (u < p) / p,
     "p is used as the keep probability; in this book p is the probability of dropping a "
     "unit: keep where u >= p."),
])
def test_dropout_wrong_answers_are_diagnosed(wrong, hint, capsys):
    result, message = _verdict(ex.check_dropout_forward, wrong, capsys)
    assert not result
    assert message.startswith("✗ ex-dropout-forward, case 1 of 6 (x (4, 5), p = 0.5): "
                              "the output has wrong values.\n  First wrong entry at index ")
    assert message.endswith("\n  It looks as if " + hint)


def test_dropout_division_by_zero_at_p_one(capsys):
    def naive(x, p, u):
        with np.errstate(divide="ignore", invalid="ignore"):
            return x * (u >= p) / (1 - p)

    result, message = _verdict(ex.check_dropout_forward, naive, capsys)
    assert not result
    assert message.startswith("✗ ex-dropout-forward, case 5 of 6 (p = 1: every unit is "
                              "dropped, the output is 0): the output has wrong values.")
    assert message.endswith("\n  Hint: 1/(1 - p) is infinite at p = 1: return zeros there, "
                            "as PyTorch does.")


# ---------------------------------------------------------------- early stopping

def early_right(val_losses, patience):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def early_with_nnbook(val_losses, patience):
    """The same rule through nnbook's EarlyStopping callback, fed the losses."""
    class Losses:
        values = iter(val_losses)

        def forward(self, out, y):
            return next(self.values)

    import nnbook as nb
    net = nb.mlp([1, 1], rng=np.random.default_rng(0))
    stopper = EarlyStopping(np.zeros((1, 1)), np.zeros((1, 1)), Losses(), patience=patience)
    for epoch in range(1, len(val_losses) + 1):
        stopper(epoch, net)
        if stopper.should_stop:
            return stopper.best_epoch, epoch
    return stopper.best_epoch, len(val_losses)


@pytest.mark.parametrize("fn", [early_right, early_with_nnbook])
def test_early_stopping_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_early_stopping, fn, capsys)
    assert result and message == "✓ ex-dropout-early-stopping: all 6 cases pass."


def test_early_stopping_placeholder(capsys):
    result, message = _verdict(ex.check_early_stopping, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-dropout-early-stopping: not answered yet. Replace `raise "
                       + PLACEHOLDER)


def _zero_based(val_losses, patience):
    b, s = early_right(val_losses, patience)
    return b - 1, s - 1


def _ties(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best, be = loss, e
        elif e - be >= patience:
            return be, e
    return be, len(val_losses)


def _late(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, be = loss, e
        elif e - be > patience:
            return be, e
    return be, len(val_losses)


def _early(val_losses, patience):
    best, be = float("inf"), 0
    for e, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, be = loss, e
        elif e - be >= patience - 1:
            return be, e
    return be, len(val_losses)


def _global_min(val_losses, patience):
    """The best epoch of the whole list, and a stop `patience` epochs after it."""
    best = int(np.argmin(val_losses)) + 1
    return best, min(best + patience, len(val_losses))


FIRST = "1 of 6 (losses [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 2], patience 3)"
GLOBAL = ("the best epoch is taken over all the losses (epoch 8), including those after the "
          "stop, which early stopping never sees.")


@pytest.mark.parametrize("wrong, case, hint", [
    (_zero_based, FIRST,
     "the epochs are counted from 0; count them from 1 (epoch 1 is the first pass over the "
     "data)."),
    (_late, FIRST,
     "training stops one epoch late: stop as soon as `patience` epochs in a row have not "
     "improved (epoch - best_epoch >= patience)."),
    (_early, FIRST,
     "training stops one epoch early: it should wait until `patience` epochs in a row have "
     "not improved (epoch - best_epoch >= patience), not patience - 1."),
    (_ties, "4 of 6 (a tie with the best is no improvement)",
     "a loss equal to the best counts as an improvement; only a strictly lower loss should."),
    (lambda v, p: (int(np.argmin(v)) + 1, early_right(v, p)[1]), FIRST, GLOBAL),
    (_global_min, FIRST, GLOBAL),
])
def test_early_stopping_wrong_answers_are_diagnosed(wrong, case, hint, capsys):
    result, message = _verdict(ex.check_early_stopping, wrong, capsys)
    assert not result
    assert message.startswith(f"✗ ex-dropout-early-stopping, case {case}: ")
    assert re.search(r"\(best_epoch, stop_epoch\)", message)
    assert "\n  It looks as if " + hint + "\n" in message + "\n"


def test_early_stopping_wrong_type(capsys):
    result, message = _verdict(ex.check_early_stopping, lambda v, p: 3, capsys)
    assert not result
    assert message == ("✗ ex-dropout-early-stopping, case " + FIRST + ": (best_epoch, "
                       "stop_epoch) should be a tuple of 2 values, received int.\n  Hint: the "
                       "best epoch is 3; epochs 4, 5 and 6 bring no improvement, so training "
                       "stops at 6 and never sees the 2 of epoch 8.")


# ---- every case's message, whole -----------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 9's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by a direct NumPy formula or by hand, never by nnbook's reference).

def _head_hints(raised):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return head, hints


def _dropout_data():
    """The check's inputs, drawn here in the order the exercise's cases describe them."""
    rng = np.random.default_rng(0)
    x1, u1 = rng.normal(size=(4, 5)), rng.random((4, 5))
    x2, u2 = rng.normal(size=(3, 6)), rng.random((3, 6))
    x3, u3 = rng.normal(size=(2, 3)), rng.random((2, 3))
    x6 = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    u6 = np.array([[0.5, 0.2, 0.5], [0.9, 0.5, 0.1]])
    return [(x1, 0.5, u1), (x2, 0.2, u2), (x2, 0.8, u2), (x3, 0.0, u3), (x3, 1.0, u3),
            (x6, 0.5, u6)]


def _dropout_direct(x, p, u):
    """Inverted dropout, entry by entry: x_i / (1 - p) where u_i >= p, else 0 (0 at p = 1)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        if p < 1 and u[i] >= p:
            out[i] = x[i] / (1 - p)
        else:
            out[i] = x[i] * 0.0          # -0.0 for a negative x, as x * mask gives
    return out


DROPOUT_RAISED = {
    1: _raised("ex-dropout-forward", 1, 6, "x (4, 5), p = 0.5"),
    2: _raised("ex-dropout-forward", 2, 6, "x (3, 6), p = 0.2",
               "with p = 0.2 most units are kept, each scaled by 1/0.8 = 1.25."),
    3: _raised("ex-dropout-forward", 3, 6, "x (3, 6), p = 0.8"),
    4: _raised("ex-dropout-forward", 4, 6, "p = 0: nothing is dropped, the output is x"),
    5: _raised("ex-dropout-forward", 5, 6, "p = 1: every unit is dropped, the output is 0",
               "1/(1 - p) is infinite at p = 1: return zeros there, as PyTorch does."),
    6: _raised("ex-dropout-forward", 6, 6,
               "p = 0.5 with u exactly 0.5 at three units: those are kept",
               "a unit is kept where u >= p, so u = p keeps it (not u > p)."),
}


def _dropout_entry_messages():
    out = {}
    for k, args in enumerate(_dropout_data(), start=1):
        head, hints = _head_hints(DROPOUT_RAISED[k])
        want = _dropout_direct(*args)    # p = 1: x * 0, so -0 where x < 0
        out[k] = [f"{head}: the output has wrong values.\n  First wrong entry at index {i}: "
                  f"expected {want[i]:.6g}, received {want[i] + 1:.6g}.{hints}"
                  for i in np.ndindex(want.shape)]
    return out


EARLY_HINT_1 = ("the best epoch is 3; epochs 4, 5 and 6 bring no improvement, so training stops "
                "at 6 and never sees the 2 of epoch 8.")
LATE = ("training stops one epoch late: stop as soon as `patience` epochs in a row have not "
        "improved (epoch - best_epoch >= patience).")
EARLY_RAISED = {
    1: _raised("ex-dropout-early-stopping", 1, 6,
               "losses [5, 4, 3, 3.5, 3.6, 3.7, 3.8, 2], patience 3", EARLY_HINT_1),
    2: _raised("ex-dropout-early-stopping", 2, 6,
               "losses [5, 4, 3, 3.5, 3.6, 3.7, 2], patience 3",
               "after the best epoch 3, epochs 4, 5 and 6 bring no improvement: stop at 6."),
    3: _raised("ex-dropout-early-stopping", 3, 6,
               "a loss that keeps falling: never stops early"),
    4: _raised("ex-dropout-early-stopping", 4, 6, "a tie with the best is no improvement",
               "1.0 after 1.0 does not improve: only a strictly lower loss does."),
    5: _raised("ex-dropout-early-stopping", 5, 6,
               "patience 1 stops at the first epoch without improvement"),
    6: _raised("ex-dropout-early-stopping", 6, 6, "the best epoch is the first one"),
}
# (best_epoch, stop_epoch) by hand, epochs from 1:
EARLY_EXPECTED = {
    1: (3, 6),    # 3 is the best; 4, 5, 6 are 3 epochs without improvement
    2: (3, 6),    # the same, the 2 of epoch 7 comes too late
    3: (4, 4),    # every epoch improves: runs to the last one
    4: (2, 4),    # 1.0 at epochs 3 and 4 ties with epoch 2's best: no improvement
    5: (2, 3),    # 2.5 after 2 at epoch 3: one epoch without improvement, patience 1
    6: (1, 5),    # 1.0 first; epochs 2..5 rise, 5 - 1 = 4 = patience
}
# The answers one epoch off are diagnosed only where they are a known slip: (3, 7) on case 1
# is stopping one epoch late (the others match no slip the check recognises).
EARLY_DIAGNOSED = {(1, 1): LATE}


def _early_entry_messages():
    out = {}
    for k, (b, s) in EARLY_EXPECTED.items():
        head, hints = _head_hints(EARLY_RAISED[k])
        out[k] = []
        for j, want in enumerate((b, s)):
            seen = f"\n  It looks as if {EARLY_DIAGNOSED[k, j]}" if (k, j) in EARLY_DIAGNOSED else ""
            out[k].append(f"{head}: value {j} of (best_epoch, stop_epoch) is wrong: expected "
                          f"{want}, received {want + 1}.{seen}{hints}")
    return out


@pytest.mark.parametrize("check, reference, raised, entries", [
    (ex.check_dropout_forward, ex._ref_dropout, DROPOUT_RAISED, _dropout_entry_messages()),
    (ex.check_early_stopping, ex._ref_early_stopping, EARLY_RAISED, _early_entry_messages()),
], ids=["dropout", "early"])
def test_every_case_explains_itself(check, reference, raised, entries, capsys):
    got_raised, got_entries = probe_messages(check, reference)
    capsys.readouterr()
    assert got_raised == raised
    assert got_entries == entries


def test_the_hand_computed_stops_agree_with_nnbooks_early_stopping():
    cases = [([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 2.0], 3), ([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 2.0], 3),
             ([4.0, 3.0, 2.0, 1.0], 2), ([2.0, 1.0, 1.0, 1.0, 0.5], 2), ([3.0, 2.0, 2.5, 1.0], 1),
             ([1.0, 2.0, 3.0, 4.0, 5.0, 0.1], 4)]
    for k, (losses, patience) in enumerate(cases, start=1):
        assert early_with_nnbook(losses, patience) == EARLY_EXPECTED[k]


def test_the_cases_are_the_ones_their_descriptions_describe(capsys):
    got = _inputs(ex.check_dropout_forward, ex._ref_dropout)
    assert [kw for _, kw in got] == [{}] * 6
    for (x, p, u), (x0, p0, u0) in zip([a for a, _ in got], _dropout_data(), strict=True):
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(u, u0)
        assert p == p0 and x.shape == u.shape and x.dtype == u.dtype == np.float64
        assert np.all((u >= 0) & (u < 1))
    assert [a[0].shape for a, _ in got] == [(4, 5), (3, 6), (3, 6), (2, 3), (2, 3), (2, 3)]
    assert np.count_nonzero(got[5][0][2] == 0.5) == 3      # u = p exactly at three units
    early = [(list(a[0]), a[1]) for a, _ in _inputs(ex.check_early_stopping,
                                                     ex._ref_early_stopping)]
    assert early == [([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 2.0], 3),
                     ([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 2.0], 3),
                     ([4.0, 3.0, 2.0, 1.0], 2), ([2.0, 1.0, 1.0, 1.0, 0.5], 2),
                     ([3.0, 2.0, 2.5, 1.0], 1), ([1.0, 2.0, 3.0, 4.0, 5.0, 0.1], 4)]
    capsys.readouterr()


# ---- tolerances ----------------------------------------------------------------------------

@pytest.mark.parametrize("relative, absolute, passes", [
    (0.5e-9, 0.0, True),       # within rtol |x| = 1e-9 |x|
    (2e-9, 0.0, False),        # beyond it
    (0.0, 0.5e-12, True),      # within atol = 1e-12 where the output is 0
    (0.0, 1e-10, False),       # beyond it
])
def test_dropout_tolerance_is_rtol_1e9_and_atol_1e12(relative, absolute, passes, capsys):
    def answer(x, p, u):
        out = drop_right(x, p, u)
        return out * (1 + relative) + absolute * (out == 0)

    result = ex.check_dropout_forward(answer)
    capsys.readouterr()
    assert bool(result) is passes
    if not passes:             # an answer this close is no recognised slip
        assert "It looks as if" not in result.message
        assert result.message.startswith("✗ ex-dropout-forward, case 1 of 6 (x (4, 5), "
                                         "p = 0.5): the output has wrong values.\n")


# ---- the diagnoses, whole ------------------------------------------------------------------

def _first_wrong(got, want, rtol=1e-9, atol=1e-12):
    bad = np.abs(got - want) > atol + rtol * np.abs(want)
    return tuple(int(i) for i in np.argwhere(bad)[0]), int(bad.sum()), bad.size


NO_RESCALE = ("kept units are not rescaled: inverted dropout divides them by 1 - p, so that the "
              "expected output equals x.")
TIMES_KEEP = ("kept units are multiplied by 1 - p; inverted dropout divides by 1 - p "
              "(multiplying by 1 - p is what the original convention does at test time, not in "
              "training).")
KEEP_PROB = ("p is used as the keep probability; in this book p is the probability of dropping "
             "a unit: keep where u >= p.")
MIRRORED = ("units are kept where u < 1 - p: that keeps the right share, but not the mask asked "
            "for (keep where u >= p).")


def _right_at_half(wrong):
    """Right at p = 0.5 (case 1), ``wrong`` from case 2 (p = 0.2) on."""
    return lambda x, p, u: drop_right(x, p, u) if p == 0.5 else wrong(x, p, u)


@pytest.mark.parametrize("wrong, k, factor, hint", [
    (lambda x, p, u: x * (u >= p), 1, 0.5, NO_RESCALE),
    (lambda x, p, u: x * (u >= p) * (1 - p), 1, 0.25, TIMES_KEEP),
    (lambda x, p, u: x * (u < p) / p, 1, None, KEEP_PROB),
    # p = 0.2: every kept entry is 0.8 or 0.64 times the right one, less than 1 away from it
    (_right_at_half(lambda x, p, u: x * (u >= p)), 2, 0.8, NO_RESCALE),
    (_right_at_half(lambda x, p, u: x * (u >= p) * (1 - p)), 2, 0.64, TIMES_KEEP),
    (_right_at_half(lambda x, p, u: x * (u < 1 - p) / (1 - p)), 2, None, MIRRORED),
], ids=["no-rescale", "times-keep", "keep-prob", "no-rescale-p0.2", "times-keep-p0.2",
        "mirrored-p0.2"])
def test_dropout_diagnoses_whole(wrong, k, factor, hint, capsys):
    x, p, u = _dropout_data()[k - 1]
    got, want = wrong(x, p, u), _dropout_direct(x, p, u)
    index, n_bad, size = _first_wrong(got, want)
    head = ["✗ ex-dropout-forward, case 1 of 6 (x (4, 5), p = 0.5): ",
            "✗ ex-dropout-forward, case 2 of 6 (x (3, 6), p = 0.2): "][k - 1]
    ratio = ("" if factor is None else
             f"\n  Every entry is {factor:.4g} times the expected one: look for a missing or "
             "extra constant factor (a sum in place of a mean, a missing 1/N or 1/2, a learning "
             "rate).")
    case_hint = "" if k == 1 else ("\n  Hint: with p = 0.2 most units are kept, each scaled by "
                                   "1/0.8 = 1.25.")
    result, message = _verdict(ex.check_dropout_forward, wrong, capsys)
    assert not result
    assert message == (f"{head}the output has wrong values.\n  First wrong entry at index "
                       f"{index}: expected {want[index]:.6g}, received {got[index]:.6g}. "
                       f"({n_bad} of {size} entries differ.){ratio}\n  It looks as if {hint}"
                       f"{case_hint}")


def test_dropout_diagnoses_are_not_loose():
    # 1e-7 relative away from the missing rescaling is another answer, not that slip.
    def answer(x, p, u):
        return x * (u >= p) * (1 + 1e-7)

    assert "It looks as if" not in ex.check_dropout_forward(answer).message

    def answer_abs(x, p, u):       # 1e-10 where the slip gives 0
        return x * (u >= p) + 1e-10 * (u < p)

    assert "It looks as if" not in ex.check_dropout_forward(answer_abs).message


@pytest.mark.parametrize("got, p, u, hint", [
    # u == p exactly: that unit is kept (u >= p), and not kept by the keep-probability slip
    (np.array([1.0, 0.0, 3.0]), 0.5, [0.5, 0.2, 0.7], NO_RESCALE),
    (np.array([0.0, 4.0, 0.0]), 0.5, [0.5, 0.2, 0.7], KEEP_PROB),
    # u == 1 - p exactly: not kept by the mirrored mask u < 1 - p
    (np.array([0.0, 2.5, 3.75]), 0.2, [0.8, 0.1, 0.5], MIRRORED),
])
def test_dropout_diagnosis_at_a_uniform_equal_to_the_threshold(got, p, u, hint):
    x = np.array([1.0, 2.0, 3.0])
    assert ex._dropout_diagnosis(got, x, p, np.array(u)) == hint


def test_dropout_a_strict_mask_fails_where_u_equals_p(capsys):
    result = ex.check_dropout_forward(lambda x, p, u: drop_right(x, p, u) * (u != p))
    capsys.readouterr()
    # case 6: x = ((1, -2, 3), (0.5, 4, -1)), u = p = 0.5 at (0, 0), (0, 2) and (1, 1), kept and
    # doubled: 2, 6 and 8
    assert result.message == (
        "✗ ex-dropout-forward, case 6 of 6 (p = 0.5 with u exactly 0.5 at three units: those "
        "are kept): the output has wrong values.\n  First wrong entry at index (0, 0): expected "
        "2, received 0. (3 of 6 entries differ.)\n  Hint: a unit is kept where u >= p, so u = p "
        "keeps it (not u > p).")


def test_dropout_reference_keeps_a_unit_whose_uniform_equals_p():
    x, u = np.array([1.0, 2.0, -3.0]), np.array([0.5, 0.4, 0.9])
    np.testing.assert_array_equal(ex._ref_dropout(x, 0.5, u), [2.0, 0.0, -6.0])


def test_dropout_diagnosis_does_not_warn_at_p_one(capsys):
    # Diagnosing the naive answer's nan at p = 1 divides 0 by 0 in the check itself: that
    # must stay silent, or a notebook that turns warnings into errors sees a crash.
    def naive(x, p, u):
        with np.errstate(divide="ignore", invalid="ignore"):
            return x * (u >= p) / (1 - p)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ex.check_dropout_forward(naive)
    capsys.readouterr()
    x = _dropout_data()[4][0]
    assert result.message == (
        "✗ ex-dropout-forward, case 5 of 6 (p = 1: every unit is dropped, the output is 0): "
        "the output has wrong values.\n  First wrong entry at index (0, 0): expected 0, "
        f"received nan. ({x.size} of {x.size} entries differ.)\n  Hint: 1/(1 - p) is infinite "
        "at p = 1: return zeros there, as PyTorch does.")


@pytest.mark.parametrize("answer, message", [
    (lambda x, p, u: drop_right(x, p, u).T,
     "the output has shape (5, 4), expected (4, 5).\n  The shape is transposed: check the "
     "order of a matrix product or a missing .T."),
    # the right numbers, as text
    (lambda x, p, u: drop_right(x, p, u).astype(str),
     "the output should hold numbers, received dtype {dtype}."),
])
def test_dropout_results_of_the_wrong_kind(answer, message, capsys):
    x, p, u = _dropout_data()[0]
    message = message.format(dtype=drop_right(x, p, u).astype(str).dtype)
    result = ex.check_dropout_forward(answer)
    capsys.readouterr()
    assert result.message == f"✗ ex-dropout-forward, case 1 of 6 (x (4, 5), p = 0.5): {message}"


# ---- early stopping: the diagnoses and the result's form -----------------------------------

ZERO_BASED = ("the epochs are counted from 0; count them from 1 (epoch 1 is the first pass over "
              "the data).")
TIES = "a loss equal to the best counts as an improvement; only a strictly lower loss should."
EARLY_BY_ONE = ("training stops one epoch early: it should wait until `patience` epochs in a row "
                "have not improved (epoch - best_epoch >= patience), not patience - 1.")


def _case1(body):
    return f"✗ ex-dropout-early-stopping, case {FIRST}: {body}\n  Hint: {EARLY_HINT_1}"


@pytest.mark.parametrize("answer, message", [
    # patience ignored: stops at the first epoch without improvement, no known slip
    (lambda v, p: (3, 4),
     _case1("value 1 of (best_epoch, stop_epoch) is wrong: expected 6, received 4.")),
    (_late, _case1("value 1 of (best_epoch, stop_epoch) is wrong: expected 6, received 7.\n"
                   "  It looks as if " + LATE)),
    (_zero_based, _case1("value 0 of (best_epoch, stop_epoch) is wrong: expected 3, received "
                         "2.\n  It looks as if " + ZERO_BASED)),
    (lambda v, p: (8, 6, 0),
     _case1("(best_epoch, stop_epoch) should hold 2 values, received 3.")),
    (lambda v, p: np.array([3, 6, 0]),
     _case1("(best_epoch, stop_epoch) should be a tuple of 2 values, received ndarray.")),
])
def test_early_stopping_messages_whole(answer, message, capsys):
    result = ex.check_early_stopping(answer)
    capsys.readouterr()
    assert not result and result.message == message


@pytest.mark.parametrize("form", [np.array, list, lambda pair: tuple(np.int64(v) for v in pair),
                                  lambda pair: tuple(float(v) for v in pair)],
                         ids=["ndarray", "list", "int64", "float"])
def test_early_stopping_accepts_the_pair_in_any_form(form, capsys):
    assert ex.check_early_stopping(lambda v, p: form(early_right(v, p)))
    capsys.readouterr()


NAN = float("nan")


def test_early_stopping_reference_on_a_run_that_never_improves():
    # nan never compares below the best: no epoch improves, best_epoch stays 0 (as in
    # nnbook's EarlyStopping) and training stops after `patience` epochs.
    for losses, patience in [([NAN] * 3, 2), ([NAN] * 4, 1), ([NAN] * 2, 5)]:
        assert ex._ref_early_stopping(losses, patience) == early_with_nnbook(losses, patience)
    assert ex._ref_early_stopping([NAN] * 3, 2) == (0, 2)


@pytest.mark.parametrize("got, losses, patience, hint", [
    # a run of nan losses never improves: the reference is (0, 2)
    ((1, 3), [NAN] * 3, 2, "the best epoch is taken over all the losses (epoch 1), including "
                           "those after the stop, which early stopping never sees."),
    ((0, 3), [NAN] * 3, 2, LATE),
    ((0, 1), [NAN] * 3, 2, EARLY_BY_ONE),
    # ties: the reference is (2, 4); (2, 3) stops one epoch early
    ((2, 3), [2.0, 1.0, 1.0, 1.0, 0.5], 2, EARLY_BY_ONE),
    ((5, 5), [2.0, 1.0, 1.0, 1.0, 0.5], 2, TIES),
    # ties: the reference is (2, 4); (2, 5) stops one epoch late
    ((2, 5), [2.0, 1.0, 1.0, 1.0, 1.0, 1.0], 2, LATE),
])
def test_early_stopping_diagnosis_direct(got, losses, patience, hint):
    assert ex._early_diagnosis(got, losses, patience) == hint
