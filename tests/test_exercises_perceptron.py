"""The checks of chapter 1's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
from checks import placeholder as _placeholder
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import (
    check_logistic_gradient,
    check_perceptron_epoch,
    check_perceptron_update,
)
from nnbook.exercises import perceptron as _module  # the checks' own references


def _not_answered(label):
    return (f"✗ {label}: not answered yet. Replace `raise NotImplementedError()` with your code, "
            "then run this cell again.")


# ---- ex-perceptron-update ----------------------------------------------------------------------

def update_reference(w, phi, y, lr=1.0):
    return w + lr * y * phi if y * (w @ phi) <= 0 else w


def update_always(w, phi, y, lr=1.0):            # updates on correct samples too
    return w + lr * y * phi


def update_strict(w, phi, y, lr=1.0):            # a score of 0 taken as correct
    return w + lr * y * phi if y * (w @ phi) < 0 else w


def update_minus(w, phi, y, lr=1.0):             # wrong sign
    return w - lr * y * phi if y * (w @ phi) <= 0 else w


def update_no_lr(w, phi, y, lr=1.0):             # step size forgotten
    return w + y * phi if y * (w @ phi) <= 0 else w


def update_margin(w, phi, y, lr=1.0):            # a margin rule: updates unless y w.phi > 1
    return w + lr * y * phi if y * (w @ phi) <= 1 else w


UPDATE_WRONG = {
    update_always: (
        "✗ ex-perceptron-update, case 2 of 7 (a correct sample: y = +1 and w.phi = 2.5 > 0, "
        "nothing should change): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 0.5, received 1.5. (3 of 3 entries differ.)\n"
        "  Hint: a correctly classified sample leaves w as it is: the rule is mistake-driven."),
    update_strict: (
        "✗ ex-perceptron-update, case 5 of 7 (the start w = 0, where every score is exactly 0): "
        "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 1, received 0. (3 of 3 entries differ.)\n"
        "  Hint: a score of exactly 0 is a mistake (y w.phi <= 0), or the rule could never "
        "leave w = 0."),
    update_minus: (
        "✗ ex-perceptron-update, case 1 of 7 (a mistake: y = +1 but the score w.phi = -1.5 is "
        "negative): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 1.5, received -0.5. (3 of 3 entries differ.)"),
    update_no_lr: (
        "✗ ex-perceptron-update, case 6 of 7 (a step size lr = 0.5): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 0.5, received 1. (3 of 3 entries differ.)\n"
        "  Hint: the step is lr * y * phi."),
    update_margin: (
        "✗ ex-perceptron-update, case 7 of 7 (a correct sample with a small margin: y = +1 and "
        "w.phi = 0.5 > 0): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 0.5, received 1.5. (3 of 3 entries differ.)\n"
        "  Hint: any score of the right sign is correct, however small: the rule asks for "
        "y w.phi > 0, not for a margin such as y w.phi > 1."),
}


def test_update_passes_on_the_reference(capsys):
    result = check_perceptron_update(update_reference)
    assert result and result.cases_passed == result.cases_total == 7
    assert capsys.readouterr().out == "✓ ex-perceptron-update: all 7 cases pass.\n"


def test_update_placeholder():
    result = check_perceptron_update(_placeholder)
    assert not result and result.message == _not_answered("ex-perceptron-update")


@pytest.mark.parametrize("wrong", list(UPDATE_WRONG), ids=lambda f: f.__name__)
def test_update_explains_wrong_answers(wrong):
    result = check_perceptron_update(wrong)
    assert not result
    assert result.message == UPDATE_WRONG[wrong]


def test_update_does_not_trust_an_in_place_update():
    def in_place(w, phi, y, lr=1.0):              # modifies its argument, returns it
        if y * (w @ phi) <= 0:
            w += lr * y * phi
        return w

    assert check_perceptron_update(in_place)      # each call gets its own copy of the inputs


# ---- ex-perceptron-epoch -----------------------------------------------------------------------

def epoch_reference(X, y, w, lr=1.0):
    mistakes = 0
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w) <= 0:
            w = w + lr * y[n] * X[n]
            mistakes += 1
    return w, mistakes


def epoch_batch(X, y, w, lr=1.0):                # every mistake judged by the starting w
    wrong = y * (X @ w) <= 0
    return w + lr * (y[wrong] @ X[wrong]), int(wrong.sum())


def epoch_strict(X, y, w, lr=1.0):               # a score of 0 taken as correct
    mistakes = 0
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w) < 0:
            w = w + lr * y[n] * X[n]
            mistakes += 1
    return w, mistakes


def epoch_weights_only(X, y, w, lr=1.0):         # forgets the count
    return epoch_reference(X, y, w, lr)[0]


def epoch_no_lr(X, y, w, lr=1.0):                # step size forgotten
    return epoch_reference(X, y, w, 1.0)


EPOCH_WRONG = {
    epoch_batch: (
        "✗ ex-perceptron-epoch, case 2 of 4 (three samples, starting from w = 0: after the first "
        "update the second sample is already right): value 0 of the result has wrong values.\n"
        "  First wrong entry at index (1,): expected 1, received 4. (2 of 3 entries differ.)\n"
        "  Hint: visit the samples one by one and test each with the weights as they are *now*, "
        "after the updates earlier in this pass (not the weights at the start of the pass)."),
    epoch_strict: (
        "✗ ex-perceptron-epoch, case 1 of 4 (the four XOR corners, starting from w = 0): "
        "value 1 of the result is wrong: expected 4, received 0.\n"
        "  Hint: the result is a tuple (w, number of mistakes in this pass); a score of exactly 0, "
        "as everywhere at w = 0, counts as a mistake."),
    epoch_weights_only: (
        "✗ ex-perceptron-epoch, case 1 of 4 (the four XOR corners, starting from w = 0): "
        "the result should be a tuple of 2 values, received ndarray.\n"
        "  Hint: the result is a tuple (w, number of mistakes in this pass); a score of exactly 0, "
        "as everywhere at w = 0, counts as a mistake."),
}


def test_epoch_passes_on_the_reference(capsys):
    assert check_perceptron_epoch(epoch_reference)
    assert capsys.readouterr().out == "✓ ex-perceptron-epoch: all 4 cases pass.\n"


def test_epoch_placeholder():
    result = check_perceptron_epoch(_placeholder)
    assert not result and result.message == _not_answered("ex-perceptron-epoch")


@pytest.mark.parametrize("wrong", list(EPOCH_WRONG), ids=lambda f: f.__name__)
def test_epoch_explains_wrong_answers(wrong):
    result = check_perceptron_epoch(wrong)
    assert not result
    assert result.message == EPOCH_WRONG[wrong]


def test_epoch_without_the_step_size_fails_on_the_lr_case():
    result = check_perceptron_epoch(epoch_no_lr)
    assert not result
    assert result.message.startswith("✗ ex-perceptron-epoch, case 4 of 4 (six random samples, "
                                     "w = (0.5, -1, 0.2), lr = 0.1): value 0 of the result")
    assert result.message.endswith("  Hint: each update is lr * y_n * phi_n.")


# ---- ex-perceptron-logistic --------------------------------------------------------------------

def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def logistic_reference(w, X, t):
    return X.T @ (_sigmoid(X @ w) - t) / X.shape[0]


def logistic_sign(w, X, t):                      # the gradient of the log-likelihood instead
    return X.T @ (t - _sigmoid(X @ w)) / X.shape[0]


def logistic_sum(w, X, t):                       # the sum, not the mean
    return X.T @ (_sigmoid(X @ w) - t)


def logistic_pm1(w, X, t):                       # targets taken as -1/+1
    return X.T @ (_sigmoid(X @ w) - (2 * t - 1)) / X.shape[0]


GENERAL = ("  Hint: the gradient has one entry per feature, shape (D,): it sums the per-sample "
           "vectors (sigma_n - t_n) phi_n over the samples n.")
CASE1 = ("✗ ex-perceptron-logistic, case 1 of 4 (w = 0, where sigma(w.phi) = 1/2 for every "
         "sample): ")
LOGISTIC_WRONG = {
    logistic_sign: (
        CASE1 + "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected -0.1, received 0.1. (3 of 3 entries differ.)\n"
        "  Every entry has the opposite sign of the expected one: look for a flipped sign.\n"
        "  Hint: the targets t are 0 or 1 (not -1 and +1).\n" + GENERAL),
    logistic_sum: (
        CASE1 + "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected -0.1, received -0.5. (3 of 3 entries differ.)\n"
        "  Every entry is 5 times the expected one: look for a missing or extra constant factor "
        "(a sum in place of a mean, a missing 1/N or 1/2, a learning rate).\n"
        "  Hint: the targets t are 0 or 1 (not -1 and +1).\n" + GENERAL),
    logistic_pm1: (
        CASE1 + "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected -0.1, received 0.3. (3 of 3 entries differ.)\n"
        "  Hint: the targets t are 0 or 1 (not -1 and +1).\n" + GENERAL),
}


def test_logistic_passes_on_the_reference(capsys):
    assert check_logistic_gradient(logistic_reference)
    assert capsys.readouterr().out == "✓ ex-perceptron-logistic: all 4 cases pass.\n"


def test_logistic_passes_on_a_naive_sigmoid():
    # 1 / (1 + exp(-z)) is exact enough at |z| = 40: no need to insist on logaddexp.
    assert check_logistic_gradient(
        lambda w, X, t: X.T @ (1 / (1 + np.exp(-(X @ w))) - t) / X.shape[0])


def test_logistic_placeholder():
    result = check_logistic_gradient(_placeholder)
    assert not result and result.message == _not_answered("ex-perceptron-logistic")


@pytest.mark.parametrize("wrong", list(LOGISTIC_WRONG), ids=lambda f: f.__name__)
def test_logistic_explains_wrong_answers(wrong):
    result = check_logistic_gradient(wrong)
    assert not result
    assert result.message == LOGISTIC_WRONG[wrong]


def test_logistic_wrong_axis_names_the_error():
    result = check_logistic_gradient(lambda w, X, t: X @ (_sigmoid(X @ w) - t) / X.shape[0])
    assert not result
    assert result.message.startswith(CASE1 + "your function raised ValueError: matmul")
    assert result.message.endswith(GENERAL)


def test_checks_accept_torch_answers():
    torch = pytest.importorskip("torch")

    def via_torch(w, phi, y, lr=1.0):
        w, phi = torch.as_tensor(w), torch.as_tensor(phi)
        return w + lr * y * phi if y * float(w @ phi) <= 0 else w

    assert check_perceptron_update(via_torch)


# ---- every case's message, whole ---------------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 1's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by hand or by a direct NumPy formula, never by nnbook's reference).

def _entry_messages(raised, entries):
    """The messages of the answers that are off by 1 in one entry: ``entries`` lists
    (where, index, expected) in the probe's order; ``where`` names the value ("the result",
    "value 0 of the result"), ``index`` is None for a number."""
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    out = []
    for where, index, expected in entries:
        if index is None:
            body = f"{where} is wrong: expected {expected!r}, received {expected + 1:.6g}."
        else:
            body = (f"{where} has wrong values.\n  First wrong entry at index {index}: "
                    f"expected {expected:.6g}, received {expected + 1:.6g}.")
        out.append(f"{head}: {body}{hints}")
    return out


def _vector(values, where="the result"):
    return [(where, (j,), float(v)) for j, v in enumerate(values)]


UPDATE_RAISED = {
    1: _raised("ex-perceptron-update", 1, 7,
               "a mistake: y = +1 but the score w.phi = -1.5 is negative"),
    2: _raised("ex-perceptron-update", 2, 7,
               "a correct sample: y = +1 and w.phi = 2.5 > 0, nothing should change",
               "a correctly classified sample leaves w as it is: the rule is mistake-driven."),
    3: _raised("ex-perceptron-update", 3, 7,
               "a mistake of the other class: y = -1 but w.phi = 2.5 > 0",
               "the update adds y phi: for y = -1 it subtracts phi."),
    4: _raised("ex-perceptron-update", 4, 7,
               "a correct sample of class -1: y = -1 and w.phi = -1.5 < 0"),
    5: _raised("ex-perceptron-update", 5, 7,
               "the start w = 0, where every score is exactly 0",
               "a score of exactly 0 is a mistake (y w.phi <= 0), or the rule could never "
               "leave w = 0."),
    6: _raised("ex-perceptron-update", 6, 7, "a step size lr = 0.5",
               "the step is lr * y * phi."),
    7: _raised("ex-perceptron-update", 7, 7,
               "a correct sample with a small margin: y = +1 and w.phi = 0.5 > 0",
               "any score of the right sign is correct, however small: the rule asks for "
               "y w.phi > 0, not for a margin such as y w.phi > 1."),
}
# phi = (1, 2, -1) in every case; by hand:
UPDATE_EXPECTED = {
    1: [1.5, 1.0, -1.0],      # w = (0.5, -1, 0), w.phi = -1.5, y = +1: w + phi
    2: [0.5, 1.0, 0.0],       # w = (0.5, 1, 0), w.phi = 2.5, y = +1: unchanged
    3: [-0.5, -1.0, 1.0],     # w = (0.5, 1, 0), y w.phi = -2.5: w - phi
    4: [0.5, -1.0, 0.0],      # w = (0.5, -1, 0), y w.phi = 1.5: unchanged
    5: [1.0, 2.0, -1.0],      # w = 0, a score of 0: w + phi
    6: [0.5, 0.0, 0.5],       # w = (0, -1, 1), w.phi = -3, lr = 0.5: w + phi / 2
    7: [0.5, 0.0, 0.0],       # w = (0.5, 0, 0), w.phi = 0.5 > 0: unchanged
}


def _epoch_loop(X, y, w, lr=1.0):
    """One pass in index order, sample by sample: (w, mistakes)."""
    w, mistakes = np.array(w, dtype=float), 0
    for x_n, y_n in zip(X, y, strict=True):
        if y_n * float(x_n @ w) <= 0:
            w, mistakes = w + lr * y_n * x_n, mistakes + 1
    return w, mistakes


def _epoch_random_case():
    rng = np.random.default_rng(7)
    X = np.c_[np.ones(6), rng.standard_normal((6, 2))].round(2)
    return _epoch_loop(X, np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0]),
                       [0.5, -1.0, 0.2], lr=0.1)


EPOCH_RAISED = {
    1: _raised("ex-perceptron-epoch", 1, 4, "the four XOR corners, starting from w = 0",
               "the result is a tuple (w, number of mistakes in this pass); a score of exactly "
               "0, as everywhere at w = 0, counts as a mistake."),
    2: _raised("ex-perceptron-epoch", 2, 4,
               "three samples, starting from w = 0: after the first update the second sample "
               "is already right",
               "visit the samples one by one and test each with the weights as they are *now*, "
               "after the updates earlier in this pass (not the weights at the start of the "
               "pass)."),
    3: _raised("ex-perceptron-epoch", 3, 4,
               "three samples that w = (0, 1, 1) already classifies correctly",
               "a pass without mistakes returns w unchanged and 0 mistakes."),
    4: _raised("ex-perceptron-epoch", 4, 4,
               "six random samples, w = (0.5, -1, 0.2), lr = 0.1",
               "each update is lr * y_n * phi_n."),
}
EPOCH_EXPECTED = {
    # XOR: every one of the 4 visits is a mistake: w = 0 -> (-1, 0, 0) -> (0, 0, 1)
    # -> (1, 1, 1) -> (0, 0, 0).
    1: ([0.0, 0.0, 0.0], 4),
    # Only the first sample (score 0) is a mistake; w = (1, 1, 1) scores 4 and 2 after it.
    2: ([1.0, 1.0, 1.0], 1),
    3: ([0.0, 1.0, 1.0], 0),  # scores 2, 3 and -3 (y = -1): no mistake
    4: _epoch_random_case(),
}


def _sigmoid_direct(z):
    return 1.0 / (1.0 + np.exp(-z))


def _logistic_direct(w, X, t):
    """The mean of (sigma(w.phi_n) - t_n) phi_n, sample by sample."""
    return np.mean([(_sigmoid_direct(x @ w) - t_n) * x for x, t_n in zip(X, t, strict=True)],
                   axis=0)


def _logistic_data():
    rng = np.random.default_rng(11)
    return np.c_[np.ones(5), rng.standard_normal((5, 2))], np.array([1.0, 0.0, 0.0, 1.0, 1.0])


_GRADIENT_HINT = ("the gradient has one entry per feature, shape (D,): it sums the per-sample "
                  "vectors (sigma_n - t_n) phi_n over the samples n.")
LOGISTIC_RAISED = {
    1: _raised("ex-perceptron-logistic", 1, 4,
               "w = 0, where sigma(w.phi) = 1/2 for every sample",
               "the targets t are 0 or 1 (not -1 and +1).", _GRADIENT_HINT),
    2: _raised("ex-perceptron-logistic", 2, 4, "random weights, five samples",
               "the loss is the mean over the N samples.", _GRADIENT_HINT),
    3: _raised("ex-perceptron-logistic", 3, 4, "one sample", _GRADIENT_HINT),
    4: _raised("ex-perceptron-logistic", 4, 4, "large scores w.phi = +-40 (sigma saturates)",
               "compute sigma(z) = 1 / (1 + exp(-z)) without overflow, or with "
               "np.exp(-np.logaddexp(0, -z)).", _GRADIENT_HINT),
}


def _logistic_expected():
    X, t = _logistic_data()
    w = np.array([0.3, -1.2, 0.8])
    s40, s2 = _sigmoid_direct(40.0), _sigmoid_direct(2.0)   # sigma(-40) = 1 - sigma(40)
    return {
        # sigma = 1/2 everywhere: the mean of (1/2 - t_n) phi_n; its bias entry is
        # (5/2 - 3) / 5 = -0.1.
        1: (X.T @ (0.5 - t)) / 5,
        2: _logistic_direct(w, X, t),
        3: (_sigmoid_direct(X[0] @ w) - t[0]) * X[0],
        # z = 40, -40, 2 with t = 1, 0, 0.
        4: np.array([(s40 - 1) + (1 - s40) + s2,
                     40 * (s40 - 1) - 40 * (1 - s40) + 2 * s2]) / 3,
    }


def _expected_messages(raised, expected_values, split):
    return {k: _entry_messages(raised[k], split(expected_values[k])) for k in raised}


def _epoch_entries(value):
    w, mistakes = value
    return [*_vector(w, "value 0 of the result"), ("value 1 of the result", None, mistakes)]


@pytest.mark.parametrize("check, reference, raised, entries", [
    (check_perceptron_update, _module._update_reference, UPDATE_RAISED,
     _expected_messages(UPDATE_RAISED, UPDATE_EXPECTED, _vector)),
    (check_perceptron_epoch, _module._epoch_reference, EPOCH_RAISED,
     _expected_messages(EPOCH_RAISED, EPOCH_EXPECTED, _epoch_entries)),
    (check_logistic_gradient, _module._logistic_reference, LOGISTIC_RAISED,
     _expected_messages(LOGISTIC_RAISED, _logistic_expected(), _vector)),
], ids=["update", "epoch", "logistic"])
def test_every_case_explains_itself(check, reference, raised, entries, capsys):
    got_raised, got_entries = probe_messages(check, reference)
    capsys.readouterr()
    assert got_raised == raised
    assert got_entries == entries


def test_the_hand_computed_values_agree_with_the_formulas():
    # The update's hand values are w + lr y phi on a mistake, else w.
    phi = np.array([1.0, 2.0, -1.0])
    for k, (w, y, lr) in {1: ([0.5, -1, 0], 1, 1), 2: ([0.5, 1, 0], 1, 1),
                          3: ([0.5, 1, 0], -1, 1), 4: ([0.5, -1, 0], -1, 1),
                          5: ([0, 0, 0], 1, 1), 6: ([0, -1, 1], 1, 0.5),
                          7: ([0.5, 0, 0], 1, 1)}.items():
        w = np.array(w, dtype=float)
        want = w + lr * y * phi if y * (w @ phi) <= 0 else w
        np.testing.assert_array_equal(UPDATE_EXPECTED[k], want)
    X_xor = np.array([[1.0, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]])
    w, n = _epoch_loop(X_xor, np.array([-1.0, 1, 1, -1]), np.zeros(3))
    assert (list(w), n) == EPOCH_EXPECTED[1]
    X_seq = np.array([[1.0, 1, 1], [1, 2, 1], [1, -1, -2]])
    for k, w0 in {2: np.zeros(3), 3: np.array([0.0, 1, 1])}.items():
        w, n = _epoch_loop(X_seq, np.array([1.0, 1, -1]), w0)
        assert (list(w), n) == EPOCH_EXPECTED[k]
    assert _logistic_expected()[1][0] == pytest.approx(-0.1, abs=1e-15)


# ---- the references themselves -----------------------------------------------------------------

def test_update_reference_leaves_a_small_positive_margin_alone():
    # A correct sample is left alone however small its margin y w.phi > 0 (here 0.5): the
    # perceptron is mistake-driven, not a margin rule.
    w, phi = np.array([0.5, 0.0, 0.0]), np.array([1.0, 2.0, -1.0])
    np.testing.assert_array_equal(_module._update_reference(w, phi, 1.0), w)


@pytest.mark.parametrize("delta, passes", [
    (1e-6 * 0.1 + 0.5e-10, True),     # within rtol |g| + atol = 1e-6 * 0.1 + 1e-10
    (1e-6 * 0.1 + 5e-10, False),      # just beyond it
])
def test_logistic_tolerance_is_rtol_1e6_and_atol_1e10(delta, passes, capsys):
    def answer(w, X, t):
        g = _logistic_direct(w, X, t)
        return g + np.r_[delta, 0.0, 0.0][:g.size] if np.all(w == 0) else g

    assert _logistic_expected()[1][0] == pytest.approx(-0.1, abs=1e-15)
    assert bool(check_logistic_gradient(answer)) is passes


def test_the_cases_keep_the_exercises_promises(capsys):
    # The exercises promise labels y in {-1, +1} (targets t in {0, 1} for the logistic
    # loss), weights of shape (D,) and features (N, D) that start with the bias column.
    for args, kwargs in _inputs(check_perceptron_update, _module._update_reference):
        w, phi, y = args
        assert y in (-1.0, 1.0) and w.shape == phi.shape == (3,) and phi[0] == 1.0
        assert set(kwargs) <= {"lr"}
    for args, _ in _inputs(check_perceptron_epoch, _module._epoch_reference):
        X, y, w = args
        assert set(np.unique(y)) <= {-1.0, 1.0} and y.shape == (X.shape[0],)
        assert w.shape == (X.shape[1],) and np.all(X[:, 0] == 1.0)
    for args, _ in _inputs(check_logistic_gradient, _module._logistic_reference):
        w, X, t = args
        assert set(np.unique(t)) <= {0.0, 1.0} and t.shape == (X.shape[0],)
        assert w.shape == (X.shape[1],) and np.all(X[:, 0] == 1.0)
    capsys.readouterr()


def _as_lists(inputs):
    return [([np.asarray(a).tolist() for a in args], kwargs) for args, kwargs in inputs]


def test_the_cases_are_the_ones_their_descriptions_describe(capsys):
    phi = [1.0, 2.0, -1.0]
    update = [([[0.5, -1.0, 0.0], phi, 1.0], {}), ([[0.5, 1.0, 0.0], phi, 1.0], {}),
              ([[0.5, 1.0, 0.0], phi, -1.0], {}), ([[0.5, -1.0, 0.0], phi, -1.0], {}),
              ([[0.0, 0.0, 0.0], phi, 1.0], {}), ([[0.0, -1.0, 1.0], phi, 1.0], {"lr": 0.5}),
              ([[0.5, 0.0, 0.0], phi, 1.0], {})]
    assert _as_lists(_inputs(check_perceptron_update, _module._update_reference)) == update
    # The scores the descriptions quote: w.phi = -1.5, 2.5, 2.5, -1.5, 0 and (case 7) 0.5.
    assert ([float(np.dot(w, p)) for (w, p, _), _ in update[:5] + update[6:]]
            == [-1.5, 2.5, 2.5, -1.5, 0.0, 0.5])
    xor = [[1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    seq = [[1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, -1.0, -2.0]]
    rng = np.random.default_rng(7)
    rand = np.c_[np.ones(6), rng.standard_normal((6, 2))].round(2).tolist()
    epoch = [([xor, [-1.0, 1.0, 1.0, -1.0], [0.0, 0.0, 0.0]], {}),
             ([seq, [1.0, 1.0, -1.0], [0.0, 0.0, 0.0]], {}),
             ([seq, [1.0, 1.0, -1.0], [0.0, 1.0, 1.0]], {}),
             ([rand, [1.0, -1.0, -1.0, 1.0, 1.0, -1.0], [0.5, -1.0, 0.2]], {"lr": 0.1})]
    assert _as_lists(_inputs(check_perceptron_epoch, _module._epoch_reference)) == epoch
    X, t = _logistic_data()
    w = [0.3, -1.2, 0.8]
    logistic = [([[0.0, 0.0, 0.0], X.tolist(), t.tolist()], {}),
                ([w, X.tolist(), t.tolist()], {}),
                ([w, X[:1].tolist(), t[:1].tolist()], {}),
                ([[0.0, 1.0], [[1.0, 40.0], [1.0, -40.0], [1.0, 2.0]], [1.0, 0.0, 0.0]], {})]
    assert _as_lists(_inputs(check_logistic_gradient, _module._logistic_reference)) == logistic
    # The large scores are w.phi = 40, -40 (and 2).
    assert (np.array(logistic[3][0][1]) @ [0.0, 1.0]).tolist() == [40.0, -40.0, 2.0]
    capsys.readouterr()
