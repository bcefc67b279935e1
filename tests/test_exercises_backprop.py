"""The checks of chapter 2's code exercises: pass on the reference, explain plausible mistakes."""
import numpy as np
import pytest
from checks import placeholder as _placeholder
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import backprop as _module  # the checks' own references
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
        '✗ ex-backprop-mlp, case 4 of 4 (large weights: logits from about 600 to 22 000): dW2 has '
        'wrong values.\n'
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


# ---- every case's message, whole ---------------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 2's exercises), and, for every entry of every gradient of
# case k, the message when only that entry is off by 1 (it shows the expected entry, computed
# here with torch.autograd as the oracle, never by nnbook's reference).

def _torch():
    return pytest.importorskip("torch")


def _grad_entries(raised, names, grads, grad_hints):
    """The messages of the answers off by 1 in one entry, gradient by gradient, in C order."""
    head, _, case_hints = raised.partition(": your function raised _Stop: probe")
    out = []
    for name, grad in zip(names, grads, strict=True):
        extra = f"\n  {grad_hints[name]}" if name in grad_hints else ""
        for idx in np.ndindex(*grad.shape):
            e = float(grad[idx]) + 0.0      # -0.0 prints as 0
            out.append(f"{head}: {name} has wrong values.\n  First wrong entry at index "
                       f"{tuple(int(i) for i in idx)}: expected {e:.6g}, received {e + 1:.6g}."
                       f"{extra}{case_hints}")
    return out


def _messages(raised, names, expected, grad_hints=None):
    return {k: _grad_entries(raised[k], names, expected[k], grad_hints or {}) for k in raised}


# -- the cases' inputs, drawn here again from the seeds the exercises use

def _linear_inputs():
    r = np.random.default_rng(0)
    n = r.standard_normal
    return [
        (np.array([[1.0, -2.0, 0.5]]), np.array([[3.0, -1.0]]),
         np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 1.0]])),
        (n((4, 2)), n((4, 3)), n((2, 3))),
        (n((5, 3)), n((5, 3)), n((3, 3))),
        (n((6, 1)), n((6, 4)), n((1, 4))),
        (np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, 0.5]]), n((3, 4)), n((2, 4))),
    ]


def _mlp_draw(seed, n, d, h, c, scale=1.0):
    r = np.random.default_rng(seed)
    return (r.standard_normal((n, d)), r.integers(0, c, n), scale * r.standard_normal((h, d)),
            0.1 * r.standard_normal(h), scale * r.standard_normal((c, h)),
            0.1 * r.standard_normal(c))


def _mlp_inputs():
    return [
        (np.array([[1.0, 2.0]]), np.array([1]), np.array([[1.0, -1.0], [0.5, 0.5]]), np.zeros(2),
         np.array([[1.0, 2.0], [-1.0, 1.0]]), np.zeros(2)),
        _mlp_draw(1, 5, 4, 6, 3),
        _mlp_draw(2, 8, 3, 3, 4),
        _mlp_draw(3, 4, 5, 7, 2, scale=30.0),
    ]


_A = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0], [1.0, 1.0, -2.0]])


def _gradcheck_points():
    r = np.random.default_rng(7)
    return [np.array([1.0, -2.0, 0.5]), r.standard_normal(3), r.standard_normal(5),
            r.standard_normal((2, 3))]


def _softplus_inputs():
    r = np.random.default_rng(11)
    return [(np.array([-1.0, 0.0, 2.0]), np.ones(3)),
            (r.standard_normal((4, 3)), r.standard_normal((4, 3))),
            (np.array([-800.0, -40.0, 40.0, 800.0]), np.array([1.0, 2.0, 3.0, 4.0]))]


def _rnn_draw(seed, T, N, D, H):
    r = np.random.default_rng(seed)
    X, h0 = r.standard_normal((T, N, D)), r.standard_normal((N, H))
    W, U = 0.5 * r.standard_normal((H, H)), r.standard_normal((H, D))
    return X, h0, W, U, r.standard_normal((T, N, H))


def _rnn_raw():
    return [_rnn_draw(20, 1, 2, 3, 4), _rnn_draw(21, 3, 2, 3, 4), _rnn_draw(22, 6, 1, 2, 3)]


# -- the oracle: torch.autograd

def _autograd(loss_of, *arrays):
    torch = _torch()
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    loss_of(torch, *leaves).backward()
    return tuple(t.grad.numpy() for t in leaves)


def _linear_oracle(dout, x, W):
    def loss(torch, x, W, b):
        return ((x @ W.T + b) * torch.tensor(dout)).sum()
    return _autograd(loss, x, W, np.zeros(W.shape[0]))


def _mlp_oracle(X, y, W1, b1, W2, b2):
    def loss(torch, W1, b1, W2, b2):
        Z = torch.relu(torch.tensor(X) @ W1.T + b1) @ W2.T + b2
        return torch.nn.functional.cross_entropy(Z, torch.tensor(y))
    return _autograd(loss, W1, b1, W2, b2)


_GRADCHECK_FUNCTIONS = [
    lambda torch, x: (x ** 3).sum(),
    lambda torch, x: x @ torch.tensor(_A) @ x,
    lambda torch, x: torch.sin(3 * x).sum(),
    lambda torch, x: torch.logsumexp(x.flatten(), 0),
]


def _softplus_oracle(z, dout):
    torch = _torch()
    zt = torch.tensor(z, requires_grad=True)
    out = torch.nn.functional.softplus(zt)         # log(1 + e^z), linear beyond z = 20
    (out * torch.tensor(dout)).sum().backward()
    return out.detach().numpy(), zt.grad.numpy()


def _rnn_oracle(X, h0, W, U, G):
    """(hs, (dW, dU, dh0)) for the loss sum_t G[t - 1] . h_t."""
    torch = _torch()
    states = []

    def loss(torch, W, U, h0):
        h, total = h0, 0.0
        states.append(h0.detach().numpy())
        for t in range(len(X)):
            h = torch.tanh(h @ W.T + torch.tensor(X[t]) @ U.T)
            states.append(h.detach().numpy())
            total = total + (torch.tensor(G[t]) * h).sum()
        return total
    grads = _autograd(loss, W, U, h0)
    assert torch is not None
    return np.stack(states), grads


def _rnn_inputs():
    return [(G, _rnn_oracle(X, h0, W, U, G)[0], X, W, U) for X, h0, W, U, G in _rnn_raw()]


# -- the messages

LINEAR_CASE_HINTS = {
    1: ("one sample, 2 inputs, 3 outputs (small integers)",
        "here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has the shape of its "
        "array: dx (1, 2), dW (3, 2), db (3,)."),
    2: ("a batch of 4 samples, 3 inputs, 2 outputs",),
    3: ("a square layer: 3 inputs, 3 outputs, a batch of 5",
        "with as many inputs as outputs, a missing transpose keeps the shape: compare the order "
        "of your matrix products with the shape table."),
    4: ("one output unit, a batch of 6",),
    5: ("a batch of 3 whose upstream gradient is zero for one sample",),
}
LINEAR_RAISED = {k: _raised("ex-backprop-linear", k, 5, *v) for k, v in LINEAR_CASE_HINTS.items()}
LINEAR_GRAD_HINTS = {
    "db": "Hint: each bias is added to every sample of the batch, so its gradient collects the "
          "upstream gradient of all of them.",
    "dW": "Hint: dW[i, j] adds up dout[n, i] * x[n, j] over the samples n."}

_HIDDEN = "Hint: the hidden layer's error signal is relu'(Z1) * (delta2 @ W2)"
_OUTPUT = ("Hint: the output error signal of softmax with cross-entropy, averaged over N "
           "samples, is (P - one_hot(y)) / N.")
MLP_GRAD_HINTS = {
    "dW1": _HIDDEN + "; relu'(z) is 1 where z > 0 and 0 elsewhere.",
    "db1": _HIDDEN + ".",
    "dW2": _OUTPUT,
    "db2": _OUTPUT,
}
MLP_RAISED = {
    1: _raised("ex-backprop-mlp", 1, 4,
               "one sample, 2 inputs, 2 hidden units (the first one inactive), 2 classes"),
    2: _raised("ex-backprop-mlp", 2, 4, "a batch of 5, 4 inputs, 6 hidden units, 3 classes"),
    3: _raised("ex-backprop-mlp", 3, 4, "a batch of 8, 3 inputs, 3 hidden units, 4 classes"),
    4: _raised("ex-backprop-mlp", 4, 4, "large weights: logits from about 600 to 22 000",
               "exp of a large logit overflows: subtract each row's largest logit before the "
               "exponential (softmax does not change)."),
}
_CENTRAL = ("Hint: the error is larger than central differences make: use (f(x + eps e_i) - "
            "f(x - eps e_i)) / (2 eps).")
GRADCHECK_RAISED = {
    1: _raised("ex-backprop-gradcheck", 1, 4, "f(x) = sum(x**3) at x = (1, -2, 0.5)"),
    2: _raised("ex-backprop-gradcheck", 2, 4,
               "f(x) = x^T A x, a quadratic, at a random x of length 3"),
    3: _raised("ex-backprop-gradcheck", 3, 4,
               "f(x) = sum(sin(3 x)) at a random x of length 5, eps = 1e-5",
               "use the eps you are given."),
    4: _raised("ex-backprop-gradcheck", 4, 4, "f(X) = log sum exp(X) for a 2 x 3 matrix X",
               "x may have any shape: loop over np.ndindex(*x.shape), and return an array of "
               "x's shape."),
}
SOFTPLUS_RAISED = {
    1: _raised("ex-backprop-softplus", 1, 3, "z = (-1, 0, 2) with dout = (1, 1, 1)"),
    2: _raised("ex-backprop-softplus", 2, 3, "a 4 x 3 batch of z with a random dout"),
    3: _raised("ex-backprop-softplus", 3, 3, "large |z|: z = (-800, -40, 40, 800)",
               "log(1 + exp(z)) overflows for large z: use softplus(z) = max(z, 0) + "
               "log(1 + exp(-|z|)), and compute the sigmoid without exp of a large positive "
               "number."),
}
SOFTPLUS_GRAD_HINTS = {"dz": "Hint: the derivative of log(1 + e^z) is the sigmoid of z; "
                             "multiply it by dout."}
RNN_RAISED = {
    1: _raised("ex-backprop-bptt", 1, 3, "one time step (T = 1), 2 sequences, 3 inputs, 4 units",
               "with T = 1 this is one tanh layer: delta = G[0] * (1 - h_1^2), dW = delta^T "
               "h_0, dU = delta^T x_1, dh0 = delta W."),
    2: _raised("ex-backprop-bptt", 2, 3, "T = 3 steps, 2 sequences, 3 inputs, 4 units",
               "the gradient reaching h_t is G[t - 1] plus what flows back from step t + 1; the "
               "shared W and U add up their gradients over the steps."),
    3: _raised("ex-backprop-bptt", 3, 3, "T = 6 steps, one sequence, 2 inputs, 3 units"),
}


def _gradcheck_entries():
    out = {}
    for k, (x, fn) in enumerate(zip(_gradcheck_points(), _GRADCHECK_FUNCTIONS, strict=True), 1):
        (g,) = _autograd(fn, x)
        head, _, hints = GRADCHECK_RAISED[k].partition(": your function raised _Stop: probe")
        out[k] = [f"{head}: the gradient has wrong values.\n  First wrong entry at index "
                  f"{tuple(int(i) for i in idx)}: expected {g[idx]:.6g}, received "
                  f"{g[idx] + 1:.6g}.\n  {_CENTRAL}{hints}" for idx in np.ndindex(*g.shape)]
    return out


def _softplus_pair(student):
    """check_softplus's two functions, from one function (z, dout) -> (out, dz)."""
    def forward(z):
        out = np.empty(np.shape(z))
        return out, (z, out)

    def backward(dout, cache):
        z, out = cache
        out[...], dz = student(z, dout)
        return dz
    return forward, backward


def _check_softplus_one(student):
    return check_softplus(*_softplus_pair(student))


def test_every_linear_case_explains_itself(capsys):
    expected = {k: _linear_oracle(*a) for k, a in enumerate(_linear_inputs(), 1)}
    raised, entries = probe_messages(check_linear_backward, _module._ref_linear_backward)
    capsys.readouterr()
    assert raised == LINEAR_RAISED
    assert entries == _messages(LINEAR_RAISED, ["dx", "dW", "db"], expected, LINEAR_GRAD_HINTS)


def test_every_mlp_case_explains_itself(capsys):
    expected = {k: _mlp_oracle(*a) for k, a in enumerate(_mlp_inputs(), 1)}
    raised, entries = probe_messages(check_mlp_backward, _module._ref_mlp_backward)
    capsys.readouterr()
    assert raised == MLP_RAISED
    assert entries == _messages(MLP_RAISED, ["dW1", "db1", "dW2", "db2"], expected,
                                MLP_GRAD_HINTS)


def test_every_gradcheck_case_explains_itself(capsys):
    raised, entries = probe_messages(check_numerical_gradient, _module._ref_numerical_gradient)
    capsys.readouterr()
    assert raised == GRADCHECK_RAISED
    assert entries == _gradcheck_entries()


def test_every_softplus_case_explains_itself(capsys):
    expected = {k: _softplus_oracle(*a) for k, a in enumerate(_softplus_inputs(), 1)}
    raised, entries = probe_messages(_check_softplus_one, _module._ref_softplus)
    capsys.readouterr()
    assert raised == SOFTPLUS_RAISED
    assert entries == _messages(SOFTPLUS_RAISED, ["the forward output", "dz"], expected,
                                SOFTPLUS_GRAD_HINTS)


def test_every_rnn_case_explains_itself(capsys):
    expected = {k: _rnn_oracle(X, h0, W, U, G)[1]
                for k, (X, h0, W, U, G) in enumerate(_rnn_raw(), 1)}
    raised, entries = probe_messages(check_rnn_backward, _module._ref_rnn_backward)
    capsys.readouterr()
    assert raised == RNN_RAISED
    assert entries == _messages(RNN_RAISED, ["dW", "dU", "dh0"], expected)


# ---- the cases are the ones their descriptions describe ----------------------------------------

def _assert_same_inputs(seen, wanted):
    assert len(seen) == len(wanted)
    for (args, kwargs), (want_args, want_kwargs) in zip(seen, wanted, strict=True):
        assert kwargs == want_kwargs and len(args) == len(want_args)
        for a, w in zip(args, want_args, strict=True):
            assert type(a) is np.ndarray and a.dtype == np.asarray(w).dtype
            np.testing.assert_array_equal(a, w)


def test_the_linear_cases_are_the_ones_described(capsys):
    seen = _inputs(check_linear_backward, _module._ref_linear_backward)
    _assert_same_inputs(seen, [(a, {}) for a in _linear_inputs()])
    shapes = [tuple(a.shape for a in args) for args, _ in seen]
    assert shapes == [((1, 3), (1, 2), (3, 2)), ((4, 2), (4, 3), (2, 3)),
                      ((5, 3), (5, 3), (3, 3)), ((6, 1), (6, 4), (1, 4)),
                      ((3, 2), (3, 4), (2, 4))]
    dout = seen[4][0][0]
    assert np.all(dout[1] == 0) and np.all(dout[[0, 2]] != 0)   # zero for one sample
    capsys.readouterr()


def test_the_mlp_cases_are_the_ones_described(capsys):
    seen = _inputs(check_mlp_backward, _module._ref_mlp_backward)
    _assert_same_inputs(seen, [(a, {}) for a in _mlp_inputs()])
    # (N, D, H, C) as the descriptions say, integer labels below C.
    dims = [(X.shape[0], X.shape[1], W1.shape[0], W2.shape[0])
            for (X, y, W1, b1, W2, b2), _ in seen]
    assert dims == [(1, 2, 2, 2), (5, 4, 6, 3), (8, 3, 3, 4), (4, 5, 7, 2)]
    for (X, y, W1, b1, W2, b2), _ in seen:
        assert np.issubdtype(y.dtype, np.integer) and y.shape == (X.shape[0],)
        assert y.min() >= 0 and y.max() < W2.shape[0]
        assert W1.shape[1] == X.shape[1] and W2.shape[1] == W1.shape[0]
        assert b1.shape == (W1.shape[0],) and b2.shape == (W2.shape[0],)
    X, _, W1, b1, W2, b2 = seen[0][0]
    assert (X @ W1.T + b1).tolist() == [[-1.0, 1.5]]           # the first unit inactive
    X, _, W1, b1, W2, b2 = seen[3][0]
    logits = np.maximum(X @ W1.T + b1, 0) @ W2.T + b2
    # Logits from about 600 to 22 000 in size; every row has one whose exp overflows float64.
    assert 550 < np.abs(logits).min() < 650 and 21_000 < np.abs(logits).max() < 23_000
    assert np.all(np.abs(logits).max(axis=1) > np.log(np.finfo(np.float64).max))
    capsys.readouterr()


def test_the_gradcheck_cases_are_the_ones_described(capsys):
    torch = _torch()
    seen = _inputs(check_numerical_gradient, _module._ref_numerical_gradient)
    assert len(seen) == 4
    assert [kwargs for _, kwargs in seen] == [{}, {}, {"eps": 1e-5}, {}]
    assert [repr(f) for (f, x), _ in seen] == [
        "f(x) = sum(x**3)", "f(x) = x^T A x", "f(x) = sum(sin(3 x))", "f(X) = log sum exp(X)"]
    for ((f, x), _), want, fn in zip(seen, _gradcheck_points(), _GRADCHECK_FUNCTIONS,
                                     strict=True):
        np.testing.assert_array_equal(x, want)
        assert x.dtype == np.float64
        assert f(x) == pytest.approx(float(fn(torch, torch.tensor(x))), rel=1e-14)
    assert [x.shape for (f, x), _ in seen] == [(3,), (3,), (5,), (2, 3)]
    capsys.readouterr()


def test_the_softplus_cases_are_the_ones_described(capsys):
    seen = []

    def recording(z, dout):
        seen.append(((z, dout), {}))
        return _module._ref_softplus(z, dout)

    assert _check_softplus_one(recording)
    _assert_same_inputs(seen, [(a, {}) for a in _softplus_inputs()])
    capsys.readouterr()


def test_the_rnn_cases_are_the_ones_described(capsys):
    seen = _inputs(check_rnn_backward, _module._ref_rnn_backward)
    assert len(seen) == 3
    dims = []
    for ((G, hs, X, W, U), kwargs), (X0, h0, W0, U0, G0) in zip(seen, _rnn_raw(), strict=True):
        assert kwargs == {}
        for a, b in ((G, G0), (X, X0), (W, W0), (U, U0)):
            np.testing.assert_array_equal(a, b)
        # hs are the states h_0 = h0, h_t = tanh(W h_{t-1} + U x_t), as torch computes them.
        np.testing.assert_allclose(hs, _rnn_oracle(X0, h0, W0, U0, G0)[0], rtol=1e-13,
                                   atol=1e-15)
        np.testing.assert_array_equal(hs[0], h0)
        T, N, D = X.shape
        dims.append((T, N, D, W.shape[0]))
        assert hs.shape == (T + 1, N, W.shape[0]) and G.shape == (T, N, W.shape[0])
    assert dims == [(1, 2, 3, 4), (3, 2, 3, 4), (6, 1, 2, 3)]
    capsys.readouterr()


# ---- what the gradients' comparison says ------------------------------------------------------

_LIN1 = ("✗ ex-backprop-linear, case 1 of 5 (one sample, 2 inputs, 3 outputs (small "
         "integers)): ")
_LIN1_HINT = ("\n  Hint: here dout is (1, 3), x is (1, 2) and W is (3, 2); each gradient has the "
              "shape of its array: dx (1, 2), dW (3, 2), db (3,).")


@pytest.mark.parametrize("answer, message", [
    (lambda dout, x, W: dout @ W,
     "your function should return a tuple of 3 arrays (dx, dW, db), received ndarray."),
    (lambda dout, x, W: None,
     "your function should return a tuple of 3 arrays (dx, dW, db), received NoneType."),
    (lambda dout, x, W: (dout @ W, dout.T @ x),
     "your function should return 3 arrays (dx, dW, db), received 2."),
    (lambda dout, x, W: [dout @ W, dout.T @ x, dout.sum(axis=0), 0],
     "your function should return 3 arrays (dx, dW, db), received 4."),
    # db = (1, -2, 0.5) by hand; an infinity is diagnosed, so the gradient's hint is left out.
    (lambda dout, x, W: (dout @ W, dout.T @ x, dout.sum(axis=0) + np.array([np.inf, 0, 0])),
     "db has wrong values.\n  First wrong entry at index (0,): expected 1, received inf."),
    (lambda dout, x, W: (dout @ W, dout.T @ x, dout.sum(axis=0) + np.array([0, 1, 0])),
     "db has wrong values.\n  First wrong entry at index (1,): expected -2, received -1.\n"
     "  Hint: each bias is added to every sample of the batch, so its gradient collects the "
     "upstream gradient of all of them."),
    (lambda dout, x, W: (dout @ W, None, dout.sum(axis=0)),
     "dW should be an array of shape (3, 2), received NoneType.\n"
     "  Hint: dW[i, j] adds up dout[n, i] * x[n, j] over the samples n."),
], ids=["array", "None", "two", "four", "inf", "db", "dW-None"])
def test_the_linear_check_names_the_gradient(answer, message, capsys):
    result = check_linear_backward(answer)
    assert not result and result.message == _LIN1 + message + _LIN1_HINT
    capsys.readouterr()


def _linear_square_case():
    dout, x, W = _linear_inputs()[2]
    return _linear_oracle(dout, x, W)


_LIN3 = "✗ ex-backprop-linear, case 3 of 5 (a square layer: 3 inputs, 3 outputs, a batch of 5): "
_LIN3_HINT = ("\n  Hint: with as many inputs as outputs, a missing transpose keeps the shape: "
              "compare the order of your matrix products with the shape table.")
_TRANSPOSE = ("\n  Your result is the transpose of the expected one: a weight gradient has the "
              "shape of W, (D_out, D_in).")


def _square_answer(transform, as_torch=False):
    """Right on every case but the square one, where dW is transform(dW)."""
    def answer(dout, x, W):
        dx, dW, db = dout @ W, dout.T @ x, dout.sum(axis=0)
        if dW.shape == (3, 3):
            dW = transform(dW)
            if as_torch:
                torch = _torch()
                return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in (dx, dW, db))
        return dx, dW, db
    return answer


@pytest.mark.parametrize("as_torch", [False, True], ids=["numpy", "torch"])
def test_a_transposed_square_weight_gradient_is_named(as_torch, capsys):
    _, dW, _ = _linear_square_case()
    result = check_linear_backward(_square_answer(lambda g: g.T, as_torch))
    assert result.message == (
        _LIN3 + f"dW has wrong values.\n  First wrong entry at index (0, 1): expected "
        f"{dW[0, 1]:.6g}, received {dW[1, 0]:.6g}. (6 of 9 entries differ.)" + _TRANSPOSE
        + _LIN3_HINT)
    capsys.readouterr()


def test_a_transpose_is_named_only_within_the_tolerance(capsys):
    # 5e-6 relative off the transpose: beyond rtol = 1e-6, so no transpose is named (NumPy's
    # default rtol, 1e-5, would name one), and the gradient's own hint is given.
    _, dW, _ = _linear_square_case()
    result = check_linear_backward(_square_answer(lambda g: g.T * (1 + 5e-6)))
    assert result.message == (
        _LIN3 + f"dW has wrong values.\n  First wrong entry at index (0, 0): expected "
        f"{dW[0, 0]:.6g}, received {dW[0, 0] * (1 + 5e-6):.6g}. (9 of 9 entries differ.)\n"
        "  Hint: dW[i, j] adds up dout[n, i] * x[n, j] over the samples n." + _LIN3_HINT)
    result = check_linear_backward(_square_answer(lambda g: g.T * (1 + 0.5e-6)))
    assert result.message.endswith(_TRANSPOSE + _LIN3_HINT)
    capsys.readouterr()


def test_a_transpose_is_named_only_within_the_absolute_tolerance(capsys):
    # Case 1 of the MLP: dW1's first row is 0 (an inactive unit). 5e-9 off the transpose
    # where it is 0: beyond atol = 1e-9 (NumPy's default atol, 1e-8, would name a transpose).
    grads = _mlp_oracle(*_mlp_inputs()[0])
    dW1 = grads[0]
    assert dW1[0].tolist() == [0.0, 0.0] and np.all(dW1[1] != 0)

    def answer(shift):
        def mlp_backward(X, y, W1, b1, W2, b2):
            got = list(_mlp_oracle(X, y, W1, b1, W2, b2))
            if X.shape[0] == 1:
                got[0] = got[0].T + np.array([[shift, 0.0], [0.0, 0.0]])
            return tuple(got)
        return mlp_backward

    head = ("✗ ex-backprop-mlp, case 1 of 4 (one sample, 2 inputs, 2 hidden units (the first "
            "one inactive), 2 classes): dW1 has wrong values.\n  First wrong entry at index ")
    result = check_mlp_backward(answer(5e-9))
    assert result.message == (
        head + "(0, 0): expected 0, received 5e-09. (3 of 4 entries differ.)\n"
        "  Hint: the hidden layer's error signal is relu'(Z1) * (delta2 @ W2); relu'(z) is 1 "
        "where z > 0 and 0 elsewhere.")
    result = check_mlp_backward(answer(0.5e-9))
    assert result.message == (
        head + f"(0, 1): expected 0, received {dW1[1, 0]:.6g}. (2 of 4 entries differ.)"
        + _TRANSPOSE)
    capsys.readouterr()


def test_the_mlp_check_compares_every_gradient_output_layer_first(capsys):
    # Each gradient alone wrong: each is caught; all wrong: dW2 is named first, then db2.
    for j, name in enumerate(["dW1", "db1", "dW2", "db2"]):
        def answer(*args, j=j):
            got = list(_mlp_oracle(*args))
            got[j] = got[j] + 1.0
            return tuple(got)
        result = check_mlp_backward(answer)
        assert not result and f"2 classes): {name} has wrong values." in result.message

    def all_wrong(*args):
        return tuple(g + 1.0 for g in _mlp_oracle(*args))

    assert ": dW2 has wrong values." in check_mlp_backward(all_wrong).message

    def lower_wrong(*args):
        dW1, db1, dW2, db2 = _mlp_oracle(*args)
        return dW1 + 1.0, db1 + 1.0, dW2, db2 + 1.0

    assert ": db2 has wrong values." in check_mlp_backward(lower_wrong).message
    capsys.readouterr()


# ---- the gradient check's tolerance and its refusals -------------------------------------------

@pytest.mark.parametrize("delta, passes", [
    (8e-8, True),      # within rtol |g| + atol = 1e-7 * 0.75 + 1e-8 = 8.5e-8
    (9e-8, False),     # just beyond it
])
def test_gradcheck_tolerance_is_rtol_1e7_and_atol_1e8(delta, passes, capsys):
    # Case 1: f = sum(x**3) at x = (1, -2, 0.5): the gradient 3 x**2 = (3, 12, 0.75).
    def answer(f, x, eps=1e-6):
        g = 3 * x ** 2
        if x.tolist() == [1.0, -2.0, 0.5]:
            assert g.tolist() == [3.0, 12.0, 0.75]
            g = g + np.array([0.0, 0.0, delta])
        elif x.ndim == 2:
            g = np.exp(x) / np.exp(x).sum()
        elif x.size == 5:
            g = 3 * np.cos(3 * x)
        else:
            g = (_A + _A.T) @ x
        return g

    assert bool(check_numerical_gradient(answer)) is passes
    capsys.readouterr()


@pytest.mark.parametrize("fn", [np.zeros(3), None, 1.5], ids=["ndarray", "None", "float"])
def test_gradcheck_explains_a_called_function(fn, capsys):
    result = check_numerical_gradient(fn)
    assert not result and result.message == (
        "✗ ex-backprop-gradcheck: pass your function itself (without calling it), received "
        f"{type(fn).__name__}.")
    capsys.readouterr()


@pytest.mark.parametrize("forward, backward, received", [
    (np.zeros(3), sp_backward, "ndarray"),           # the forward called
    (sp_forward, np.zeros(3), "ndarray"),            # the backward called
    (sp_forward, None, "NoneType"),
    (None, sp_backward, "NoneType"),
    (1.5, None, "float"),                             # both: the forward is named
])
def test_softplus_explains_a_called_function(forward, backward, received, capsys):
    result = check_softplus(forward, backward)
    assert not result and result.message == (
        "✗ ex-backprop-softplus: pass your function itself (without calling it), received "
        f"{received}.")
    capsys.readouterr()


@pytest.mark.parametrize("relative, passes", [
    (0.5e-6, True),       # within rtol |g| + atol = 1e-6 |g| + 1e-9
    (2e-6, False),        # beyond it
])
def test_the_gradients_tolerance_is_rtol_1e6(relative, passes, capsys):
    def answer(dout, x, W):
        return dout @ W * (1 + relative), dout.T @ x, dout.sum(axis=0)

    assert bool(check_linear_backward(answer)) is passes
    capsys.readouterr()


@pytest.mark.parametrize("shift, passes", [
    (0.5e-9, True),       # within atol = 1e-9 where the gradient is 0
    (5e-9, False),        # beyond it
])
def test_the_gradients_tolerance_is_atol_1e9_at_zero(shift, passes, capsys):
    # Case 5's second sample has dout = 0, so its row of dx is exactly 0.
    def answer(dout, x, W):
        dx = dout @ W
        dx[np.all(dout == 0, axis=1)] += shift
        return dx, dout.T @ x, dout.sum(axis=0)

    assert bool(check_linear_backward(answer)) is passes
    capsys.readouterr()


@pytest.mark.parametrize("answer, message", [
    (lambda G, hs, X, W, U: np.zeros_like(W),
     "your function should return a tuple of 3 arrays (dW, dU, dh0), received ndarray."),
    (lambda G, hs, X, W, U: (np.zeros_like(W), np.zeros_like(U)),
     "your function should return 3 arrays (dW, dU, dh0), received 2."),
], ids=["array", "two"])
def test_the_rnn_check_names_the_three_gradients(answer, message, capsys):
    result = check_rnn_backward(answer)
    assert not result and result.message == (
        "✗ ex-backprop-bptt, case 1 of 3 (one time step (T = 1), 2 sequences, 3 inputs, 4 "
        "units): " + message + "\n  Hint: with T = 1 this is one tanh layer: delta = G[0] * "
        "(1 - h_1^2), dW = delta^T h_0, dU = delta^T x_1, dh0 = delta W.")
    capsys.readouterr()
