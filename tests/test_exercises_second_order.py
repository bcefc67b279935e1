"""The checks of the Newton/Quickprop chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook import second_order as so
from nnbook.exercises import second_order as ex

# ---------------------------------------------------------------- damped_newton_step

def newton_right(gradient, hessian, damping):
    return -np.linalg.solve(hessian + damping * np.eye(len(gradient)), gradient)


def newton_torch(gradient, hessian, damping):
    """The damped step with torch's solver, the Hessian of the quadratic from autograd."""
    H = torch.tensor(hessian)
    g = torch.tensor(gradient)
    return -torch.linalg.solve(H + damping * torch.eye(len(g), dtype=H.dtype), g).numpy()


@pytest.mark.parametrize("fn", [newton_right, newton_torch, so.newton_step])
def test_newton_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_damped_newton_step, fn, capsys)
    assert result and message == "✓ ex-newton-damped-step: all 5 cases pass."


def test_newton_placeholder(capsys):
    result, message = _verdict(ex.check_damped_newton_step, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-newton-damped-step: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


@pytest.mark.parametrize("wrong, expected", [
    (lambda g, H, lam: -np.linalg.solve(H, g),
     r"^✗ ex-newton-damped-step, case 2 of 5 \(the same with damping 1\): the result has wrong "
     r"values\.\n  First wrong entry at index \(0,\): expected -0\.454545, received -0\.8\. \(2 of 2 "
     r"entries differ\.\)\n  The damping is missing: solve with H \+ damping \* I, not H\.$"),
    (lambda g, H, lam: -np.linalg.solve(H + lam, g),
     r"case 2 of 5 .*\n  The damping was added to every entry of H \(H \+ damping\): add it to "
     r"the diagonal only, H \+ damping \* I\.$"),
    (lambda g, H, lam: np.linalg.solve(H + lam * np.eye(len(g)), g),
     r"^✗ ex-newton-damped-step, case 1 of 5 .*\n  Every entry has the opposite sign of the "
     r"expected one: look for a flipped sign\.$"),
    (lambda g, H, lam: -g / (np.diag(H) + lam),
     r"case 1 of 5 .*\n  Only the diagonal of H was used: solve the full linear system"),
    (lambda g, H, lam: -(H + lam * np.eye(len(g))) @ g,
     r"case 1 of 5 .*\n  The step multiplies by H \+ damping \* I: Newton's step solves with it"),
    (lambda g, H, lam: list(newton_right(g, H, lam)),
     r"^✗ ex-newton-damped-step, case 1 of 5 .*: the step should be an array, received list\.$"),
])
def test_newton_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_damped_newton_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message


# ---------------------------------------------------------------- quickprop_step

def quickprop_right(grad, prev_grad, prev_step, lr, mu):
    s = mu / (1 + mu)
    pos, neg, zero = prev_step > 0, prev_step < 0, prev_step == 0
    big = (pos & (grad < s * prev_grad)) | (neg & (grad > s * prev_grad))
    denom = prev_grad - grad
    quad = ~big & ~zero & (denom != 0)
    secant = prev_step * grad / np.where(quad, denom, 1.0)
    secant = np.clip(secant, -mu * np.abs(prev_step), mu * np.abs(prev_step))
    step = np.where(quad, secant, np.where(zero, 0.0, mu * prev_step))
    downhill = zero | (pos & (grad < 0)) | (neg & (grad > 0))
    return step + np.where(downhill, -lr * grad, 0.0)


@pytest.mark.parametrize("fn", [quickprop_right, so.quickprop_step])
def test_quickprop_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_quickprop_step, fn, capsys)
    assert result and message == "✓ ex-newton-quickprop-step: all 8 cases pass."


def test_quickprop_placeholder(capsys):
    result, message = _verdict(ex.check_quickprop_step, _placeholder, capsys)
    assert not result and "not answered yet" in message


def _no_gradient_term(grad, prev_grad, prev_step, lr, mu):
    return so.quickprop_step(grad, prev_grad, prev_step, 1e-300, mu)


def _gradient_term_everywhere(grad, prev_grad, prev_step, lr, mu):
    return _no_gradient_term(grad, prev_grad, prev_step, lr, mu) - lr * grad


def _unlimited(grad, prev_grad, prev_step, lr, mu):
    return quickprop_right(grad, prev_grad, prev_step, lr, 1e12)


@pytest.mark.parametrize("wrong, expected", [
    (_no_gradient_term,
     r"^✗ ex-newton-quickprop-step, case 1 of 8 \(no previous step .*\): the result has wrong "
     r"values\.\n  First wrong entry at index \(0,\): expected -0\.05, received -5e-301\. .*\n  "
     r"The gradient term is missing: add -lr \* grad where the slope still points the way of the "
     r"previous step, and take a plain gradient step where the previous step was 0\.\n  "
     r"Hint: where the previous step is 0 the step is -lr \* grad\.$"),
    (_gradient_term_everywhere,
     r"case 3 of 8 \(the slope changed sign.*\n  The gradient term -lr \* grad is added "
     r"everywhere: add it only where"),
    (_unlimited,
     r"case 4 of 8 \(the slope barely shrank.*\n  The step is not limited: where the secant's "
     r"jump would exceed mu times the previous step"),
    (lambda g, gp, sp, lr, mu: quickprop_right(-g, gp, sp, lr, mu),
     r"^✗ ex-newton-quickprop-step, case 1 of 8 .*expected -0\.05, received 0\.05"),
])
def test_quickprop_wrong_answers_explained(wrong, expected, capsys):
    result, message = _verdict(ex.check_quickprop_step, wrong, capsys)
    assert not result
    assert re.search(expected, message, flags=re.S), message


# ---- every case's message, whole -----------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 8's exercises), and, for every entry of case k's expected
# step, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by torch.linalg.solve or by the formulas above, never by nnbook's reference).

def _head_hints(raised):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return head, hints


def _newton_inputs():
    r = np.random.default_rng(3)
    M = r.standard_normal((4, 4))
    H2 = np.array([[2.0, 1.0], [1.0, 3.0]])
    return [(np.array([1.0, -1.0]), H2, 0.0), (np.array([1.0, -1.0]), H2, 1.0),
            (np.array([0.5, 0.5]), np.diag([1.0, -2.0]), 3.0),
            (r.standard_normal(4), M @ M.T + np.eye(4), 0.1),
            (np.array([2.0]), np.array([[4.0]]), 0.0)]


def _newton_oracle(g, H, lam):
    """-(H + lam I)^{-1} g by torch's solver."""
    Ht, gt = torch.tensor(H), torch.tensor(g)
    return (-torch.linalg.solve(Ht + lam * torch.eye(len(g), dtype=Ht.dtype), gt)).numpy()


def _quickprop_inputs():
    r = np.random.default_rng(11)
    G, Gp, S = r.standard_normal((3, 4)), r.standard_normal((3, 4)), r.standard_normal((3, 4))
    S = S * (r.random((3, 4)) > 0.2)
    a = np.array
    return [(a([0.5, -2.0]), a([0.0, 0.0]), a([0.0, 0.0]), 0.1, 1.75),
            (a([-0.5]), a([-1.0]), a([1.0]), 0.1, 1.75),
            (a([0.5]), a([-1.0]), a([1.0]), 0.1, 1.75),
            (a([-0.9]), a([-1.0]), a([1.0]), 0.1, 1.75),
            (a([0.5, 0.95]), a([1.0, 1.0]), a([-2.0, -2.0]), 0.1, 1.75),
            (G, Gp, S, 0.5, 1.75),
            (a([1.0, 0.8]), a([1.0, 1.0]), a([1.0, 1.0]), 0.1, 1.75),
            (a([-1.0, -0.8]), a([-1.0, -1.0]), a([-1.0, -1.0]), 0.1, 1.75)]


NEWTON_RAISED = {
    1: _raised("ex-newton-damped-step", 1, 5, "a positive definite 2 x 2 Hessian [[2, 1], "
               "[1, 3]], gradient (1, -1), damping 0"),
    2: _raised("ex-newton-damped-step", 2, 5, "the same with damping 1"),
    3: _raised("ex-newton-damped-step", 3, 5, "an indefinite Hessian diag(1, -2) with damping 3 "
               "(H + 3 I is positive definite)",
               "damping makes the matrix H + damping * I, whatever the signs in H."),
    4: _raised("ex-newton-damped-step", 4, 5,
               "a random symmetric positive definite 4 x 4 Hessian, damping 0.1"),
    5: _raised("ex-newton-damped-step", 5, 5, "one parameter: H = 4, g = 2, damping 0"),
}
QP = "ex-newton-quickprop-step"
QUICKPROP_RAISED = {
    1: _raised(QP, 1, 8, "no previous step (all zeros): grad (0.5, -2), lr 0.1, mu 1.75",
               "where the previous step is 0 the step is -lr * grad."),
    2: _raised(QP, 2, 8, "a secant step forward: previous step 1, prev_grad -1, grad -0.5"),
    3: _raised(QP, 3, 8, "the slope changed sign: previous step 1, prev_grad -1, grad 0.5 "
               "(step back)"),
    4: _raised(QP, 4, 8, "the slope barely shrank: previous step 1, prev_grad -1, grad -0.9 "
               "(growth limit)",
               "the parabola's minimum lies more than mu times the previous step away."),
    5: _raised(QP, 5, 8, "negative previous steps, the mirror image: step -2, prev_grad 1, grad "
               "0.5 and 0.95"),
    6: _raised(QP, 6, 8, "a 3 x 4 weight matrix of random gradients and steps, lr 0.5, mu 1.75",
               "every rule applies elementwise: use numpy.where, no loops needed."),
    7: _raised(QP, 7, 8, "an uphill step stays uphill: previous step 1, prev_grad 1, grad 1 and "
               "0.8",
               "G = G' gives mu * step'; the secant jump is capped at mu |step'|; no gradient "
               "term is added when grad > 0 after a positive step."),
    8: _raised(QP, 8, 8, "the mirror image, uphill after a negative step: previous step -1, "
               "prev_grad -1, grad -1 and -0.8",
               "the cap bounds the jump's size both ways: clip it between -mu |step'| and "
               "mu |step'|."),
}
# By hand (s = mu / (1 + mu) = 0.636..., lr = 0.1): case 2 jumps 1 (secant -0.5 / -0.5) and
# adds 0.05; case 3 steps back 0.5 / -1.5 = -1/3; case 4 hits the limit, 1.75 + 0.09; case 5
# is case 2's mirror, -2 - 0.05, and the limit -3.5 - 0.095; case 7 is mu * 1 both times
# (G = G', and the secant 0.8 / 0.2 = 4 capped), case 8 its mirror, mu * -1 both times.
QUICKPROP_BY_HAND = {1: [-0.05, 0.2], 2: [1.05], 3: [-1 / 3], 4: [1.84], 5: [-2.05, -3.595],
                     7: [1.75, 1.75], 8: [-1.75, -1.75]}


def _entry_messages(raised, expected):
    out = {}
    for k, want in expected.items():
        head, hints = _head_hints(raised[k])
        out[k] = []
        for i in np.ndindex(want.shape):
            e = want[i]
            sign = ("\n  Every entry has the opposite sign of the expected one: look for a "
                    "flipped sign." if want.size == 1 and e + 1 == -e else "")
            out[k].append(f"{head}: the result has wrong values.\n  First wrong entry at index "
                          f"{i}: expected {e:.6g}, received {e + 1:.6g}.{sign}{hints}")
    return out


def test_newton_every_case_explains_itself(capsys):
    raised, entries = probe_messages(ex.check_damped_newton_step,
                                     lambda *a: ex._newton_reference(*a).step())
    capsys.readouterr()
    assert raised == NEWTON_RAISED
    expected = {k: _newton_oracle(*a) for k, a in enumerate(_newton_inputs(), start=1)}
    np.testing.assert_allclose(expected[1], [-4 / 5, 3 / 5], rtol=1e-15)    # by hand
    np.testing.assert_allclose(expected[5], [-0.5], rtol=1e-15)
    assert entries == _entry_messages(NEWTON_RAISED, expected)


def test_quickprop_every_case_explains_itself(capsys):
    raised, entries = probe_messages(ex.check_quickprop_step,
                                     lambda *a: ex._quickprop_reference(*a).step())
    capsys.readouterr()
    assert raised == QUICKPROP_RAISED
    expected = {k: quickprop_right(*a) for k, a in enumerate(_quickprop_inputs(), start=1)}
    for k, want in QUICKPROP_BY_HAND.items():
        np.testing.assert_allclose(expected[k], want, rtol=1e-14)
    assert entries == _entry_messages(QUICKPROP_RAISED, expected)


@pytest.mark.parametrize("check, reference, inputs", [
    (ex.check_damped_newton_step, newton_right, _newton_inputs()),
    (ex.check_quickprop_step, quickprop_right, _quickprop_inputs()),
], ids=["newton", "quickprop"])
def test_the_cases_are_the_ones_their_descriptions_describe(check, reference, inputs, capsys):
    got = _inputs(check, reference)
    capsys.readouterr()
    assert len(got) == len(inputs) and all(kwargs == {} for _, kwargs in got)
    for (args, _), want in zip(got, inputs, strict=True):
        assert len(args) == len(want)
        for a, w in zip(args, want, strict=True):
            if isinstance(w, float):
                assert type(a) is float and a == w
            else:
                assert a.dtype == np.float64
                np.testing.assert_array_equal(a, w)


def test_the_random_cases_keep_their_promises(capsys):
    H = _inputs(ex.check_damped_newton_step, newton_right)[3][0][1]
    np.testing.assert_array_equal(H, H.T)
    assert np.linalg.eigvalsh(H).min() > 1.0 - 1e-12             # M M^T + I: >= 1
    _, _, S, _, _ = _inputs(ex.check_quickprop_step, quickprop_right)[5][0]
    assert 0 < np.count_nonzero(S == 0) < S.size                 # some steps 0, most not
    capsys.readouterr()


# ---- tolerances ----------------------------------------------------------------------------

@pytest.mark.parametrize("relative, absolute, passes", [
    (0.5e-9, 0.0, True),       # within rtol |p| = 1e-9 |p|
    (1e-7, 0.0, False),        # beyond it
    (0.0, 2e-11, True),        # within atol + rtol |p| = 1e-12 + 5e-11 at p = -0.05
    (0.0, 5e-10, False),       # beyond it
])
def test_quickprop_tolerance_is_rtol_1e9_and_atol_1e12(relative, absolute, passes, capsys):
    def answer(grad, prev_grad, prev_step, lr, mu):
        step = quickprop_right(grad, prev_grad, prev_step, lr, mu)
        return step + np.where(step == step.flat[0], relative * step + absolute, 0.0)

    assert quickprop_right(*_quickprop_inputs()[0])[0] == pytest.approx(-0.05, abs=1e-16)
    result = ex.check_quickprop_step(answer)
    capsys.readouterr()
    assert bool(result) is passes


# ---- the diagnoses, whole ------------------------------------------------------------------

def _first_wrong(got, want, rtol=1e-9, atol=1e-12):
    bad = np.abs(got - want) > atol + rtol * np.abs(want)
    return tuple(int(i) for i in np.argwhere(bad)[0]), int(bad.sum())


def _wrong_message(head, got, want, diagnosis, hints=""):
    index, n_bad = _first_wrong(got, want)
    count = f" ({n_bad} of {want.size} entries differ.)" if n_bad > 1 else ""
    return (f"{head}: the result has wrong values.\n  First wrong entry at index {index}: "
            f"expected {want[index]:.6g}, received {got[index]:.6g}.{count}\n  {diagnosis}{hints}")


def _damped_only(wrong):
    """Right at damping 0, ``wrong`` where there is damping."""
    return lambda g, H, lam: newton_right(g, H, lam) if lam == 0 else wrong(g, H, lam)


SUBTRACTED = "The damping was subtracted: the damped matrix is H + damping * I."
DIAGONAL = "Only the diagonal of H was used: solve the full linear system (numpy.linalg.solve)."
MULTIPLIES = ("The step multiplies by H + damping * I: Newton's step solves with it (multiplies "
              "by its inverse).")
DIVIDED = "The step is divided by d: no averaging, just the solution of the linear system."
NEWTON_WRONG = [
    (lambda g, H, lam: -np.linalg.solve(H - lam * np.eye(len(g)), g), 2, SUBTRACTED),
    (_damped_only(lambda g, H, lam: -g / (np.diag(H) + lam)), 2, DIAGONAL),
    (_damped_only(lambda g, H, lam: -(H + lam * np.eye(len(g))) @ g), 2, MULTIPLIES),
    (_damped_only(lambda g, H, lam: newton_right(g, H, lam) / len(g)), 2, DIVIDED),
    (lambda g, H, lam: newton_right(g, H, lam) / len(g), 1, DIVIDED),
    (lambda g, H, lam: -(H + lam * np.eye(len(g))) @ g, 1, MULTIPLIES),
    (lambda g, H, lam: -g / (np.diag(H) + lam), 1, DIAGONAL),
    (lambda g, H, lam: -np.linalg.solve(H, g), 2,
     "The damping is missing: solve with H + damping * I, not H."),
    (lambda g, H, lam: -np.linalg.solve(H + lam, g), 2,
     "The damping was added to every entry of H (H + damping): add it to the diagonal only, "
     "H + damping * I."),
]


@pytest.mark.parametrize("wrong, k, diagnosis", NEWTON_WRONG,
                         ids=["subtracted", "diagonal-damped", "multiplies-damped",
                              "divided-damped", "divided", "multiplies", "diagonal", "missing",
                              "every-entry"])
def test_newton_diagnoses_whole(wrong, k, diagnosis, capsys):
    args = _newton_inputs()[k - 1]
    head, hints = _head_hints(NEWTON_RAISED[k])
    result = ex.check_damped_newton_step(wrong)
    capsys.readouterr()
    assert not result
    assert result.message == _wrong_message(head, np.asarray(wrong(*args), dtype=float),
                                            _newton_oracle(*args), diagnosis, hints)


def _pure_jump(g, gp, sp):
    """The secant's jump G / (G' - G) * step', with no limit (0 where step' = 0)."""
    return np.where(sp == 0, 0.0, sp * g / np.where(gp == g, 1.0, gp - g))


def _gradient_term(g, sp, lr):
    downhill = (sp == 0) | ((sp > 0) & (g < 0)) | ((sp < 0) & (g > 0))
    return np.where(downhill, -lr * g, 0.0)


def _only_on(k, wrong):
    """Right on every case but the k-th, ``wrong`` there."""
    calls = []

    def answer(*args):
        calls.append(None)
        return wrong(*args) if len(calls) == k else quickprop_right(*args)
    return answer


UNLIMITED = ("The step is not limited: where the secant's jump would exceed mu times the previous "
             "step (grad < s * prev_grad after a positive step, s = mu / (1 + mu)), take "
             "mu * prev_step instead.")
NO_TERM = ("The gradient term is missing: add -lr * grad where the slope still points the way of "
           "the previous step, and take a plain gradient step where the previous step was 0.")
EVERYWHERE = ("The gradient term -lr * grad is added everywhere: add it only where the slope "
              "still points the way of the previous step (grad < 0 after a positive step, grad > "
              "0 after a negative one) or where the previous step was 0.")
WRONG_SIGN = "The secant jump has the wrong sign: it is grad / (prev_grad - grad) * prev_step."


def _flipped(g, gp, sp, lr, mu):
    jump = quickprop_right(g, gp, sp, 0.0, mu)
    return -jump + _gradient_term(g, sp, lr)


QUICKPROP_WRONG = [
    # no limit, the gradient term only where the previous step was 0
    (6, lambda g, gp, sp, lr, mu: _pure_jump(g, gp, sp) + np.where(sp == 0, -lr * g, 0.0),
     UNLIMITED),
    # no limit, the gradient term where it belongs
    (6, lambda g, gp, sp, lr, mu: _pure_jump(g, gp, sp) + _gradient_term(g, sp, lr), UNLIMITED),
    (4, lambda g, gp, sp, lr, mu: _pure_jump(g, gp, sp) + _gradient_term(g, sp, lr), UNLIMITED),
    # G = G' taken as a secant through a zero denominator replaced by 1, 0.8 / 0.2 uncapped
    (7, lambda g, gp, sp, lr, mu: _pure_jump(g, gp, sp) + _gradient_term(g, sp, lr), UNLIMITED),
    (2, _flipped, WRONG_SIGN),
    (1, lambda g, gp, sp, lr, mu: quickprop_right(g, gp, sp, 0.0, mu), NO_TERM),
    (3, lambda g, gp, sp, lr, mu: quickprop_right(g, gp, sp, 0.0, mu) - lr * g, EVERYWHERE),
]


@pytest.mark.parametrize("k, wrong, diagnosis", QUICKPROP_WRONG,
                         ids=["unlimited-no-term-6", "unlimited-6", "unlimited-4",
                              "unlimited-7", "flipped-2", "no-term-1", "everywhere-3"])
def test_quickprop_diagnoses_whole(k, wrong, diagnosis, capsys):
    args = _quickprop_inputs()[k - 1]
    head, hints = _head_hints(QUICKPROP_RAISED[k])
    result = ex.check_quickprop_step(_only_on(k, wrong))
    capsys.readouterr()
    assert not result
    assert result.message == _wrong_message(head, wrong(*args), quickprop_right(*args),
                                            diagnosis, hints)


def _capped_above_only(grad, prev_grad, prev_step, lr, mu):
    """The secant jump capped at +mu |step'| only (np.minimum in place of np.clip)."""
    s = mu / (1 + mu)
    pos, neg, zero = prev_step > 0, prev_step < 0, prev_step == 0
    big = (pos & (grad < s * prev_grad)) | (neg & (grad > s * prev_grad))
    denom = prev_grad - grad
    quad = ~big & ~zero & (denom != 0)
    secant = np.minimum(prev_step * grad / np.where(quad, denom, 1.0), mu * np.abs(prev_step))
    step = np.where(quad, secant, np.where(zero, 0.0, mu * prev_step))
    return step + _gradient_term(grad, prev_step, lr)


def test_quickprop_cap_works_both_ways(capsys):
    result = ex.check_quickprop_step(_capped_above_only)
    capsys.readouterr()
    head, hints = _head_hints(QUICKPROP_RAISED[8])
    assert result.message == (f"{head}: the result has wrong values.\n  First wrong entry at "
                              "index (1,): expected -1.75, received -4." + hints)


def test_quickprop_by_hand_diagnosed_answers():
    # the values the diagnoses above are about, by hand: case 7's uncapped secant is
    # (1 / 1, 0.8 / 0.2) = (1, 4); case 2's flipped jump is -1 + 0.05
    args7 = _quickprop_inputs()[6]
    np.testing.assert_allclose(_pure_jump(*args7[:3]), [1.0, 4.0], rtol=1e-15)
    np.testing.assert_allclose(_flipped(*_quickprop_inputs()[1]), [-0.95], rtol=1e-15)


def test_quickprop_a_list_is_not_a_step(capsys):
    result = ex.check_quickprop_step(lambda *a: list(quickprop_right(*a)))
    capsys.readouterr()
    assert result.message == (f"{_head_hints(QUICKPROP_RAISED[1])[0]}: the step should be an "
                              "array, received list.\n  Hint: where the previous step is 0 the "
                              "step is -lr * grad.")
