"""The checks of chapter 1's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
from checks import placeholder as _placeholder

from nnbook.exercises import (
    check_logistic_gradient,
    check_perceptron_epoch,
    check_perceptron_update,
)


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


UPDATE_WRONG = {
    update_always: (
        "✗ ex-perceptron-update, case 2 of 6 (a correct sample: y = +1 and w.phi = 2.5 > 0, "
        "nothing should change): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 0.5, received 1.5. (3 of 3 entries differ.)\n"
        "  Hint: a correctly classified sample leaves w as it is: the rule is mistake-driven."),
    update_strict: (
        "✗ ex-perceptron-update, case 5 of 6 (the start w = 0, where every score is exactly 0): "
        "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 1, received 0. (3 of 3 entries differ.)\n"
        "  Hint: a score of exactly 0 is a mistake (y w.phi <= 0), or the rule could never "
        "leave w = 0."),
    update_minus: (
        "✗ ex-perceptron-update, case 1 of 6 (a mistake: y = +1 but the score w.phi = -1.5 is "
        "negative): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 1.5, received -0.5. (3 of 3 entries differ.)"),
    update_no_lr: (
        "✗ ex-perceptron-update, case 6 of 6 (a step size lr = 0.5): the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 0.5, received 1. (3 of 3 entries differ.)\n"
        "  Hint: the step is lr * y * phi."),
}


def test_update_passes_on_the_reference(capsys):
    result = check_perceptron_update(update_reference)
    assert result and result.cases_passed == result.cases_total == 6
    assert capsys.readouterr().out == "✓ ex-perceptron-update: all 6 cases pass.\n"


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
