"""The checks of chapter 2's code exercises: pass on the reference, explain plausible mistakes."""
import numpy as np
import pytest
from checks import placeholder as _placeholder

from nnbook.exercises import (
    check_linear_backward,
    check_mlp_backward,
    check_numerical_gradient,
    check_rnn_backward,
    check_softplus,
)


# ---- ex-backprop-linear
def linear_reference(dout, x, W):
    return dout @ W, dout.T @ x, dout.sum(axis=0)


def linear_transposed_dW(dout, x, W):          # x^T dout: the shape of W transposed
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def linear_mean_db(dout, x, W):                # a mean over the batch for the bias
    return dout @ W, dout.T @ x, dout.mean(axis=0)


def linear_db_not_summed(dout, x, W):          # the per-sample bias gradients
    return dout @ W, dout.T @ x, dout


def linear_dx_with_WT(dout, x, W):             # W^T where W is needed
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


# ---- ex-backprop-mlp
def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def mlp_reference(X, y, W1, b1, W2, b2, *, mask=True, mean=True, stable=True, sign=1.0,
                  transpose=False):
    N = X.shape[0]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W2.T + b2
    if stable:
        P = _softmax(Z2)
    else:
        E = np.exp(Z2)
        P = E / E.sum(axis=1, keepdims=True)
    D2 = sign * (P - np.eye(W2.shape[0])[y])
    if mean:
        D2 = D2 / N
    dA1 = D2 @ W2
    D1 = dA1 * (Z1 > 0) if mask else dA1
    dW1 = X.T @ D1 if transpose else D1.T @ X
    return dW1, D1.sum(axis=0), D2.T @ A1, D2.sum(axis=0)


def mlp_no_mask(*a):
    return mlp_reference(*a, mask=False)


def mlp_sum(*a):
    return mlp_reference(*a, mean=False)


def mlp_sign(*a):
    return mlp_reference(*a, sign=-1.0)


def mlp_transposed(*a):
    return mlp_reference(*a, transpose=True)


def mlp_unstable(*a):
    with np.errstate(all="ignore"):
        return mlp_reference(*a, stable=False)


# ---- ex-backprop-gradcheck
def grad_reference(f, x, eps=1e-6):
    g = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = f(x)
        x[idx] = old - eps
        fm = f(x)
        x[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g


def grad_one_sided(f, x, eps=1e-6):
    g, f0 = np.zeros(x.shape), f(x)
    for idx in np.ndindex(*x.shape):
        xp = x.copy()
        xp[idx] += eps
        g[idx] = (f(xp) - f0) / eps
    return g


def grad_no_half(f, x, eps=1e-6):              # divides by eps, not 2 eps
    return 2 * grad_reference(f, x, eps)


def grad_fixed_eps(f, x, eps=1e-6):            # ignores the eps it is given
    return grad_reference(f, x, 1e-2)


def grad_first_axis(f, x, eps=1e-6):           # loops over the first axis only
    g = np.zeros(len(x))
    for i in range(len(x)):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def grad_no_restore(f, x, eps=1e-6):           # leaves x perturbed
    g = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        x[idx] += eps
        fp = f(x)
        x[idx] -= 2 * eps
        fm = f(x)
        g[idx] = (fp - fm) / (2 * eps)
    return g


# ---- ex-backprop-softplus
def sp_forward(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))), z


def sp_backward(dout, z):
    e = np.exp(-np.abs(z))
    return dout * np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sp_forward_naive(z):
    with np.errstate(over="ignore"):
        return np.log(1 + np.exp(z)), z


def sp_backward_no_dout(dout, z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sp_backward_tanh(dout, z):                 # a wrong derivative
    return dout * (1 - np.tanh(z) ** 2)


def _not_answered(label):
    return (f"✗ {label}: not answered yet. Replace `raise NotImplementedError()` with your code, "
            "then run this cell again.")


# ---- ex-backprop-linear ------------------------------------------------------

LINEAR_WRONG = {
    linear_transposed_dW: (
        '✗ ex-backprop-linear, case 1 of 5 (one sample, 2 inputs, 3 outputs (small integers)): '
        'dW has shape (2, 3), expected (3, 2).\n'
        '  The shape is transposed: check the order of a matrix product or a missing .T.\n'
        '  Hint: here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has the shape '
        'of its array: dx (1, 2), dW (3, 2), db (3,).'
    ),
    linear_mean_db: (
        '✗ ex-backprop-linear, case 2 of 5 (a batch of 4 samples, 3 inputs, 2 outputs): db has '
        'wrong values.\n'
        '  First wrong entry at index (0,): expected 1.53448, received 0.383621. (2 of 2 entries '
        'differ.)\n'
        '  Every entry is 0.25 times the expected one: look for a missing or extra constant '
        'factor (a sum in place of a mean, a missing 1/N or 1/2, a learning rate).'
    ),
    linear_db_not_summed: (
        '✗ ex-backprop-linear, case 1 of 5 (one sample, 2 inputs, 3 outputs (small integers)): '
        'db has shape (1, 3), expected (3,).\n'
        '  It has the right number of entries: check a reshape, or keepdims in a reduction.\n'
        '  Hint: each bias is added to every sample of the batch, so its gradient collects the '
        'upstream gradient of all of them.\n'
        '  Hint: here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has the shape '
        'of its array: dx (1, 2), dW (3, 2), db (3,).'
    ),
}


def test_linear_passes_on_the_reference(capsys):
    assert check_linear_backward(linear_reference)
    assert capsys.readouterr().out == "✓ ex-backprop-linear: all 5 cases pass.\n"


def test_linear_reports_the_placeholder():
    result = check_linear_backward(_placeholder)
    assert not result and result.message == _not_answered("ex-backprop-linear")


@pytest.mark.parametrize("wrong", list(LINEAR_WRONG), ids=lambda f: f.__name__)
def test_linear_explains_plausible_mistakes(wrong):
    result = check_linear_backward(wrong)
    assert not result
    assert result.message == LINEAR_WRONG[wrong]


# ---- ex-backprop-mlp ---------------------------------------------------------

MLP_WRONG = {
    mlp_no_mask: (
        '✗ ex-backprop-mlp, case 1 of 4 (one sample, 2 inputs, 2 hidden units (the first one '
        'inactive), 2 classes): dW1 has wrong values.\n'
        '  First wrong entry at index (0, 0): expected 0, received 1.63515. (2 of 4 entries '
        'differ.)\n'
        "  Hint: the hidden layer's error signal is relu'(Z1) * (delta2 @ W2); relu'(z) is 1 "
        'where z > 0 and 0 elsewhere.'
    ),
    mlp_sum: (
        '✗ ex-backprop-mlp, case 2 of 4 (a batch of 5, 4 inputs, 6 hidden units, 3 classes): dW2 '
        'has wrong values.\n'
        '  First wrong entry at index (0, 0): expected 0.475346, received 2.37673. (18 of 18 '
        'entries differ.)\n'
        '  Every entry is 5 times the expected one: look for a missing or extra constant factor '
        '(a sum in place of a mean, a missing 1/N or 1/2, a learning rate).'
    ),
    mlp_sign: (
        '✗ ex-backprop-mlp, case 1 of 4 (one sample, 2 inputs, 2 hidden units (the first one '
        'inactive), 2 classes): dW2 has wrong values.\n'
        '  First wrong entry at index (0, 1): expected 1.22636, received -1.22636. (2 of 4 '
        'entries differ.)\n'
        '  Every entry has the opposite sign of the expected one: look for a flipped sign.'
    ),
    mlp_transposed: (
        '✗ ex-backprop-mlp, case 1 of 4 (one sample, 2 inputs, 2 hidden units (the first one '
        'inactive), 2 classes): dW1 has wrong values.\n'
        '  First wrong entry at index (0, 1): expected 0, received 0.817574. (2 of 4 entries '
        'differ.)\n'
        '  Your result is the transpose of the expected one: a weight gradient has the shape of '
        'W, (D_out, D_in).'
    ),
    mlp_unstable: (
        '✗ ex-backprop-mlp, case 4 of 4 (large weights: logits in the hundreds): dW2 has wrong '
        'values.\n'
        '  First wrong entry at index (0, 0): expected -51.7481, received nan. (14 of 14 entries '
        'differ.)\n'
        "  Hint: exp of a large logit overflows: subtract each row's largest logit before the "
        'exponential (softmax does not change).'
    ),
}


def test_mlp_passes_on_the_reference(capsys):
    assert check_mlp_backward(mlp_reference)
    assert capsys.readouterr().out == "✓ ex-backprop-mlp: all 4 cases pass.\n"


def test_mlp_reports_the_placeholder():
    result = check_mlp_backward(_placeholder)
    assert not result and result.message == _not_answered("ex-backprop-mlp")


@pytest.mark.parametrize("wrong", list(MLP_WRONG), ids=lambda f: f.__name__)
def test_mlp_explains_plausible_mistakes(wrong):
    result = check_mlp_backward(wrong)
    assert not result
    assert result.message == MLP_WRONG[wrong]


# ---- ex-backprop-gradcheck ---------------------------------------------------

GRADCHECK_WRONG = {
    grad_one_sided: (
        '✗ ex-backprop-gradcheck, case 1 of 4 (f(x) = sum(x**3) at x = (1, -2, 0.5)): the '
        'gradient has wrong values.\n'
        '  First wrong entry at index (0,): expected 3, received 3.0000029998. (3 of 3 entries '
        'differ.)\n'
        '  Hint: the error is larger than central differences make: use (f(x + eps e_i) - f(x - '
        'eps e_i)) / (2 eps).'
    ),
    grad_no_half: (
        '✗ ex-backprop-gradcheck, case 1 of 4 (f(x) = sum(x**3) at x = (1, -2, 0.5)): the '
        'gradient has wrong values.\n'
        '  First wrong entry at index (0,): expected 3, received 6. (3 of 3 entries differ.)\n'
        '  Every entry is 2 times the expected one: look for a missing or extra constant factor '
        '(a sum in place of a mean, a missing 1/N or 1/2, a learning rate).'
    ),
    grad_fixed_eps: (
        '✗ ex-backprop-gradcheck, case 1 of 4 (f(x) = sum(x**3) at x = (1, -2, 0.5)): the '
        'gradient has wrong values.\n'
        '  First wrong entry at index (0,): expected 3, received 3.0001. (3 of 3 entries differ.)\n'
        '  Hint: the error is larger than central differences make: use (f(x + eps e_i) - f(x - '
        'eps e_i)) / (2 eps).'
    ),
    grad_first_axis: (
        '✗ ex-backprop-gradcheck, case 4 of 4 (f(X) = log sum exp(X) for a 2 x 3 matrix X): the '
        'gradient has shape (2,), expected (2, 3).\n'
        '  Hint: x may have any shape: loop over np.ndindex(*x.shape), and return an array of '
        "x's shape."
    ),
    grad_no_restore: (
        '✗ ex-backprop-gradcheck, case 1 of 4 (f(x) = sum(x**3) at x = (1, -2, 0.5)): your '
        'function changed x: restore each entry after perturbing it (or perturb a copy).'
    ),
}


def test_gradcheck_passes_on_the_reference(capsys):
    assert check_numerical_gradient(grad_reference)
    assert capsys.readouterr().out == "✓ ex-backprop-gradcheck: all 4 cases pass.\n"


def test_gradcheck_reports_the_placeholder():
    result = check_numerical_gradient(_placeholder)
    assert not result and result.message == _not_answered("ex-backprop-gradcheck")


@pytest.mark.parametrize("wrong", list(GRADCHECK_WRONG), ids=lambda f: f.__name__)
def test_gradcheck_explains_plausible_mistakes(wrong):
    result = check_numerical_gradient(wrong)
    assert not result
    assert result.message == GRADCHECK_WRONG[wrong]


# ---- ex-backprop-softplus ---------------------------------------------------------------------

SOFTPLUS_WRONG = {
    (sp_forward_naive, sp_backward): (
        '✗ ex-backprop-softplus, case 3 of 3 (large |z|: z = (-800, -40, 40, 800)): the forward '
        'output has wrong values.\n'
        '  First wrong entry at index (3,): expected 800, received inf.\n'
        '  Hint: log(1 + exp(z)) overflows for large z: use softplus(z) = max(z, 0) + log(1 + '
        'exp(-|z|)), and compute the sigmoid without exp of a large positive number.'
    ),
    (sp_forward, sp_backward_no_dout): (
        '✗ ex-backprop-softplus, case 2 of 3 (a 4 x 3 batch of z with a random dout): dz has '
        'wrong values.\n'
        '  First wrong entry at index (0, 0): expected 0.346005, received 0.508547. (12 of 12 '
        'entries differ.)\n'
        '  Hint: the derivative of log(1 + e^z) is the sigmoid of z; multiply it by dout.'
    ),
    (sp_forward, sp_backward_tanh): (
        '✗ ex-backprop-softplus, case 1 of 3 (z = (-1, 0, 2) with dout = (1, 1, 1)): dz has '
        'wrong values.\n'
        '  First wrong entry at index (0,): expected 0.268941, received 0.419974. (3 of 3 '
        'entries differ.)\n'
        '  Hint: the derivative of log(1 + e^z) is the sigmoid of z; multiply it by dout.'
    ),
}


def test_softplus_passes_on_the_reference(capsys):
    assert check_softplus(sp_forward, sp_backward)
    assert capsys.readouterr().out == "✓ ex-backprop-softplus: all 3 cases pass.\n"


def test_softplus_reports_the_placeholder():
    result = check_softplus(_placeholder, _placeholder)
    assert not result and result.message == _not_answered("ex-backprop-softplus")


@pytest.mark.parametrize("pair", list(SOFTPLUS_WRONG), ids=lambda p: f"{p[0].__name__}-{p[1].__name__}")
def test_softplus_explains_plausible_mistakes(pair):
    result = check_softplus(*pair)
    assert not result
    assert result.message == SOFTPLUS_WRONG[pair]


def test_an_exception_in_the_students_function_is_reported_with_the_case_hint():
    result = check_linear_backward(linear_dx_with_WT)
    assert not result
    first, *rest = result.message.split("\n")
    assert first.startswith("✗ ex-backprop-linear, case 1 of 5 (one sample, 2 inputs, 3 outputs "
                            "(small integers)): your function raised ValueError: matmul")
    assert rest == ["  Hint: here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has "
                    "the shape of its array: dx (1, 2), dW (3, 2), db (3,)."]


def test_a_function_called_instead_of_passed_is_explained():
    result = check_linear_backward(np.zeros(3))
    assert not result
    assert result.message == ("✗ ex-backprop-linear: pass your function itself (without calling "
                              "it), received ndarray.")


def test_the_checks_work_on_torch_tensors_too():
    torch = pytest.importorskip("torch")

    def linear_torch(dout, x, W):
        dout, x, W = (torch.from_numpy(a) for a in (dout, x, W))
        return dout @ W, dout.T @ x, dout.sum(dim=0)

    assert check_linear_backward(linear_torch)


# ---- ex-backprop-bptt
def rnn_reference(G, hs, X, W, U):
    dW, dU, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(hs[0])
    for t in range(len(X), 0, -1):
        delta = (dh + G[t - 1]) * (1 - hs[t] ** 2)
        dW += delta.T @ hs[t - 1]
        dU += delta.T @ X[t - 1]
        dh = delta @ W
    return dW, dU, dh


def rnn_no_carry(G, hs, X, W, U):              # drops the gradient from step t + 1
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    for t in range(len(X), 0, -1):
        delta = G[t - 1] * (1 - hs[t] ** 2)
        dW += delta.T @ hs[t - 1]
        dU += delta.T @ X[t - 1]
    return dW, dU, delta @ W


def rnn_last_step_only(G, hs, X, W, U):        # overwrites instead of adding over time
    dh = np.zeros_like(hs[0])
    for t in range(len(X), 0, -1):
        delta = (dh + G[t - 1]) * (1 - hs[t] ** 2)
        dW = delta.T @ hs[t - 1]
        dU = delta.T @ X[t - 1]
        dh = delta @ W
    return dW, dU, dh


def rnn_wrong_state(G, hs, X, W, U):           # h_t where h_{t-1} is needed
    dW, dU, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(hs[0])
    for t in range(len(X), 0, -1):
        delta = (dh + G[t - 1]) * (1 - hs[t] ** 2)
        dW += delta.T @ hs[t]
        dU += delta.T @ X[t - 1]
        dh = delta @ W
    return dW, dU, dh


RNN_WRONG = {
    rnn_no_carry: (
        '✗ ex-backprop-bptt, case 2 of 3 (T = 3 steps, 2 sequences, 3 inputs, 4 units): dW has '
        'wrong values.\n'
        '  First wrong entry at index (0, 0): expected -0.334431, received -0.412191. (16 of 16 '
        'entries differ.)\n'
        '  Hint: the gradient reaching h_t is G[t - 1] plus what flows back from step t + 1; the '
        'shared W and U add up their gradients over the steps.'
    ),
    rnn_last_step_only: (
        '✗ ex-backprop-bptt, case 2 of 3 (T = 3 steps, 2 sequences, 3 inputs, 4 units): dW has '
        'wrong values.\n'
        '  First wrong entry at index (0, 0): expected -0.334431, received -0.0673573. (16 of 16 '
        'entries differ.)\n'
        '  Hint: the gradient reaching h_t is G[t - 1] plus what flows back from step t + 1; the '
        'shared W and U add up their gradients over the steps.'
    ),
    rnn_wrong_state: (
        '✗ ex-backprop-bptt, case 1 of 3 (one time step (T = 1), 2 sequences, 3 inputs, 4 '
        'units): dW has wrong values.\n'
        '  First wrong entry at index (0, 0): expected -0.255167, received 0.377373. (16 of 16 '
        'entries differ.)\n'
        '  Hint: with T = 1 this is one tanh layer: delta = G[0] * (1 - h_1^2), dW = delta^T '
        'h_0, dU = delta^T x_1, dh0 = delta W.'
    ),
}


def test_rnn_passes_on_the_reference(capsys):
    assert check_rnn_backward(rnn_reference)
    assert capsys.readouterr().out == "✓ ex-backprop-bptt: all 3 cases pass.\n"


def test_rnn_reports_the_placeholder():
    result = check_rnn_backward(_placeholder)
    assert not result and result.message == _not_answered("ex-backprop-bptt")


@pytest.mark.parametrize("wrong", list(RNN_WRONG), ids=lambda f: f.__name__)
def test_rnn_explains_plausible_mistakes(wrong):
    result = check_rnn_backward(wrong)
    assert not result
    assert result.message == RNN_WRONG[wrong]
