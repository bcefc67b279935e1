"""The checks of the normalization chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import case_inputs as _recorded
from conftest import raised_message as _raised

from nnbook.exercises import normalization as ex

# ---------------------------------------------------------------- forward

def bn_right(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    return gamma * (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=0) + eps) + beta


def bn_torch(x, gamma, beta, eps=1e-5):
    bn = torch.nn.BatchNorm1d(x.shape[1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.as_tensor(gamma))
        bn.bias.copy_(torch.as_tensor(beta))
        return bn(torch.as_tensor(x))


@pytest.mark.parametrize("fn", [bn_right, bn_torch])
def test_forward_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_batchnorm_forward, fn, capsys)
    assert result and message == "✓ ex-norm-bn-forward: all 4 cases pass."


def test_forward_placeholder(capsys):
    result, message = _verdict(ex.check_batchnorm_forward, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-norm-bn-forward: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


@pytest.mark.parametrize("wrong, case, hint", [
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / (x.std(0) + eps) + b, 1,
     "eps is added to the standard deviation; it belongs inside the square root: "
     "sqrt(var + eps)."),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + b, 1,
     "you divide by the unbiased variance (N - 1); batch norm normalises with the biased "
     "one (divide by N). The unbiased one is only for the running estimate."),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(1, keepdims=True))
     / np.sqrt(x.var(1, keepdims=True) + eps) + b, 1,
     "the statistics are taken over the features of each sample (axis 1): that is layer "
     "norm. Batch norm averages over the batch, axis 0."),
    (lambda x, g, b, eps=1e-5: (x - x.mean(0)) / np.sqrt(x.var(0) + eps), 2,
     "gamma and beta are not applied: scale by gamma and shift by beta."),
])
def test_forward_wrong_answers_are_diagnosed(wrong, case, hint, capsys):
    result, message = _verdict(ex.check_batchnorm_forward, wrong, capsys)
    assert not result
    assert message.startswith(f"✗ ex-norm-bn-forward, case {case} of 4 (")
    assert re.search(r": the result has wrong values\.\n  First wrong entry at index ", message)
    assert message.endswith("\n  It looks as if " + hint)


# ---------------------------------------------------------------- backward

def bwd_right(dout, x, gamma, eps=1e-5):
    mu, var = x.mean(0), x.var(0)
    inv = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    g = dout * gamma
    dx = inv * (g - g.mean(0) - xhat * (g * xhat).mean(0))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def bwd_autograd(dout, x, gamma, eps=1e-5):
    xt = torch.as_tensor(x).requires_grad_(True)
    gt = torch.as_tensor(gamma).requires_grad_(True)
    bt = torch.zeros_like(gt, requires_grad=True)
    out = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    out.backward(torch.as_tensor(dout))
    return xt.grad, gt.grad, bt.grad


@pytest.mark.parametrize("fn", [bwd_right, bwd_autograd])
def test_backward_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_batchnorm_backward, fn, capsys)
    assert result and message == "✓ ex-norm-bn-backward: all 4 cases pass."


def test_backward_placeholder(capsys):
    result, message = _verdict(ex.check_batchnorm_backward, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-norm-bn-backward: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


def _variant(drop_mean=False, drop_var=False, no_gamma=False, only_scale=False,
             eps_outside=False):
    def fn(dout, x, gamma, eps=1e-5):
        dx, dgamma, dbeta = bwd_right(dout, x, gamma, eps)
        mu, var = x.mean(0), x.var(0)
        inv = 1 / (np.sqrt(var) + eps) if eps_outside else 1 / np.sqrt(var + eps)
        xhat = (x - mu) * inv
        g = dout if no_gamma else dout * gamma
        if only_scale:
            return g * inv, dgamma, dbeta
        dx = g
        if not drop_mean:
            dx = dx - g.mean(0)
        if not drop_var:
            dx = dx - xhat * (g * xhat).mean(0)
        return dx * inv, dgamma, dbeta
    return fn


@pytest.mark.parametrize("wrong, hint", [
    (_variant(only_scale=True), "dx is gamma * dout / sqrt(var + eps): the gradient flowing "
     "through the batch mean and the batch variance is missing (both depend on x)."),
    (_variant(drop_var=True), "the term through the variance, - xhat * mean(g * xhat), is "
     "missing."),
    (_variant(drop_mean=True), "the term through the mean, - mean(g), is missing."),
    (_variant(no_gamma=True), "gamma is missing: the gradient reaching xhat is gamma * dout."),
    (_variant(eps_outside=True), "eps is outside the square root: the forward pass divides "
     "by sqrt(var + eps), not by sqrt(var) + eps."),
])
def test_backward_wrong_answers_are_diagnosed(wrong, hint, capsys):
    result, message = _verdict(ex.check_batchnorm_backward, wrong, capsys)
    assert not result
    assert message.startswith("✗ ex-norm-bn-backward, case 1 of 4 (N = 6, D = 3, random x, "
                              "gamma and dout): value 0 of (dx, dgamma, dbeta) has wrong values.")
    assert message.endswith("\n  It looks as if " + hint)


def test_backward_wrong_dbeta(capsys):
    def wrong(dout, x, gamma, eps=1e-5):
        dx, dgamma, _ = bwd_right(dout, x, gamma, eps)
        return dx, dgamma, dout.mean(0)

    result, message = _verdict(ex.check_batchnorm_backward, wrong, capsys)
    assert not result
    assert "value 2 of (dx, dgamma, dbeta) has wrong values." in message


# ---------------------------------------------------------------- every case's message, whole
# For each case k of each check: the message when an answer raises on case k (its description
# and hint, read against the chapter's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by PyTorch, never by nnbook's reference). Entries that are 0 up to rounding (the
# gradients of the constant-dout case) are shown as "≈0".

def _fmt_expected(v):
    return "≈0" if abs(v) < 1e-12 else f"{v:.6g}"


def _tiny(message):
    """The message with an expected entry that is 0 up to rounding written "≈0"."""
    return re.sub(r"expected (\S+), received",
                  lambda m: "expected ≈0, received" if abs(float(m[1])) < 1e-12 else m[0],
                  message)


def _entry_messages(raised, values, names):
    """One message per entry of ``values`` (arrays, in order), each off by 1."""
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    out = []
    for name, value in zip(names, values, strict=True):
        for index in np.ndindex(value.shape):
            v = float(value[index])
            body = (f"{name} has wrong values.\n  First wrong entry at index {index}: "
                    f"expected {_fmt_expected(v)}, received {v + 1:.6g}.")
            out.append(f"{head}: {body}{hints}")
    return out


FORWARD_RAISED = {
    1: _raised("ex-norm-bn-forward", 1, 4, "x (8, 3), gamma = 1, beta = 0"),
    2: _raised("ex-norm-bn-forward", 2, 4,
               "x (5, 4) with mean -1 and std 0.5, random gamma and beta"),
    3: _raised("ex-norm-bn-forward", 3, 4, "x (3, 2) whose first column is constant, eps = 0.1",
               "a constant feature has variance 0: only eps keeps the division finite."),
    4: _raised("ex-norm-bn-forward", 4, 4, "a batch of 2 samples"),
}
BACKWARD_RAISED = {
    1: _raised("ex-norm-bn-backward", 1, 4, "N = 6, D = 3, random x, gamma and dout"),
    2: _raised("ex-norm-bn-backward", 2, 4, "N = 4, D = 5, random x, gamma and dout"),
    3: _raised("ex-norm-bn-backward", 3, 4, "a batch of 2 samples, random x, gamma and dout"),
    4: _raised("ex-norm-bn-backward", 4, 4,
               "dout the same for every sample (the gradient through the mean cancels it)",
               "a constant dout shifts every output equally: the mean absorbs it, so dx must "
               "be 0."),
}


def _forward_inputs():
    """The forward cases' (x, gamma, beta, eps), drawn as the chapter's exercise describes."""
    rng = np.random.default_rng(0)
    x1 = rng.normal(3.0, 2.0, size=(8, 3))
    x2 = rng.normal(-1.0, 0.5, size=(5, 4))
    x3 = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 6.0]])
    x4 = rng.normal(size=(2, 3))
    return [(x1, np.ones(3), np.zeros(3), 1e-5),
            (x2, rng.normal(size=4), rng.normal(size=4), 1e-5),
            (x3, np.array([2.0, 1.0]), np.array([0.5, 0.0]), 0.1),
            (x4, rng.normal(size=3), rng.normal(size=3), 1e-5)]


def _backward_inputs():
    """The backward cases' (dout, x, gamma), eps the default 1e-5."""
    rng = np.random.default_rng(1)
    out = []
    for N, D in [(6, 3), (4, 5), (2, 3)]:
        x = rng.normal(1.0, 2.0, size=(N, D))
        out.append((rng.normal(size=(N, D)), x, rng.normal(size=D)))
    x = rng.normal(size=(5, 2))
    out.append((np.tile([[1.0, -2.0]], (5, 1)), x, np.array([1.5, 0.5])))
    return out


def _torch_forward(x, gamma, beta, eps):
    return torch.nn.functional.batch_norm(
        torch.as_tensor(x), None, None, torch.as_tensor(gamma), torch.as_tensor(beta),
        training=True, eps=eps).numpy()


def _torch_backward(dout, x, gamma, eps=1e-5):
    return tuple(t.numpy() for t in bwd_autograd(dout, x, gamma, eps))


def test_every_forward_case_explains_itself(capsys):
    from conftest import probe_messages
    raised, entries = probe_messages(ex.check_batchnorm_forward, ex._ref_forward)
    capsys.readouterr()
    assert raised == FORWARD_RAISED
    want = {k: _entry_messages(FORWARD_RAISED[k], [_torch_forward(*args)], ["the result"])
            for k, args in enumerate(_forward_inputs(), start=1)}
    assert {k: [_tiny(m) for m in v] for k, v in entries.items()} == want


def test_every_backward_case_explains_itself(capsys):
    from conftest import probe_messages
    raised, entries = probe_messages(ex.check_batchnorm_backward, ex._ref_backward)
    capsys.readouterr()
    assert raised == BACKWARD_RAISED
    names = [f"value {i} of (dx, dgamma, dbeta)" for i in range(3)]
    want = {k: _entry_messages(BACKWARD_RAISED[k], _torch_backward(*args), names)
            for k, args in enumerate(_backward_inputs(), start=1)}
    assert {k: [_tiny(m) for m in v] for k, v in entries.items()} == want


def test_the_constant_dout_case_has_a_zero_dx_and_dgamma():
    # What the hint of case 4 promises: dx = 0 and dgamma = sum_n dout xhat_n = 0.
    dx, dgamma, dbeta = _torch_backward(*_backward_inputs()[3])
    np.testing.assert_allclose(dx, 0.0, atol=1e-12)
    np.testing.assert_allclose(dgamma, 0.0, atol=1e-12)
    np.testing.assert_array_equal(dbeta, [5.0, -10.0])


def test_the_cases_are_the_ones_their_descriptions_describe(capsys):
    forward = _recorded(ex.check_batchnorm_forward, ex._ref_forward)
    assert len(forward) == 4
    for (args, kwargs), (x, gamma, beta, eps) in zip(forward, _forward_inputs(), strict=True):
        assert len(args) == 3 and kwargs == {"eps": eps}
        for got, want in zip(args, (x, gamma, beta), strict=True):
            np.testing.assert_array_equal(got, want)
    # The descriptions' shapes; the third case's first column is constant.
    assert [a[0].shape for a, _ in forward] == [(8, 3), (5, 4), (3, 2), (2, 3)]
    assert np.ptp(forward[2][0][0][:, 0]) == 0.0 and np.ptp(forward[2][0][0][:, 1]) > 0
    backward = _recorded(ex.check_batchnorm_backward, ex._ref_backward)
    assert len(backward) == 4
    for (args, kwargs), want in zip(backward, _backward_inputs(), strict=True):
        assert kwargs == {"eps": 1e-5} and len(args) == 3
        for got, w in zip(args, want, strict=True):
            np.testing.assert_array_equal(got, w)
    assert [a[1].shape for a, _ in backward] == [(6, 3), (4, 5), (2, 3), (5, 2)]
    assert np.all(backward[3][0][0] == backward[3][0][0][0])      # dout the same for every n
    capsys.readouterr()


# ---------------------------------------------------------------- the diagnoses themselves

def _diag_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(5, 3)), np.array([1.5, -0.5, 2.0]), np.array([0.3, -1.0, 0.5])


def _forward_candidates(x, g, b, eps):
    mu, var = x.mean(0), x.var(0)
    return [g * (x - mu) / (np.sqrt(var) + eps) + b,
            g * (x - mu) / np.sqrt(x.var(0, ddof=1) + eps) + b,
            g * (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) + b,
            (x - mu) / np.sqrt(var + eps),
            g * (x - mu) / (var + eps) + b]


FORWARD_HINTS = [
    "eps is added to the standard deviation; it belongs inside the square root: sqrt(var + eps).",
    "you divide by the unbiased variance (N - 1); batch norm normalises with the biased one "
    "(divide by N). The unbiased one is only for the running estimate.",
    "the statistics are taken over the features of each sample (axis 1): that is layer norm. "
    "Batch norm averages over the batch, axis 0.",
    "gamma and beta are not applied: scale by gamma and shift by beta.",
    "you divide by the variance; divide by its square root, the standard deviation.",
]


@pytest.mark.parametrize("k", range(5))
def test_forward_diagnosis_names_each_mistake_with_a_shift_beta(k):
    x, g, b = _diag_data()
    got = _forward_candidates(x, g, b, 0.01)[k]
    assert ex._forward_diagnosis(got, x, g, b, 0.01) == FORWARD_HINTS[k]


def test_forward_diagnosis_of_an_unknown_mistake_is_empty():
    x, g, b = _diag_data()
    assert ex._forward_diagnosis(2 * x, x, g, b, 1e-5) == ""
    assert ex._forward_diagnosis(x[:, :2], x, g, b, 1e-5) == ""


def test_forward_diagnosis_tolerance_is_rtol_1e6():
    x, g, b = _diag_data()
    c = _forward_candidates(x, g, b, 0.01)[0]
    assert ex._forward_diagnosis(c * (1 + 0.5e-6), x, g, b, 0.01) == FORWARD_HINTS[0]
    assert ex._forward_diagnosis(c * (1 + 3e-6), x, g, b, 0.01) == ""


def test_forward_diagnosis_tolerance_is_atol_1e9():
    # gamma = beta = 0 in the first column: there every candidate but the last-but-one is 0.
    x, g, b = _diag_data()
    g[0] = b[0] = 0.0
    c = _forward_candidates(x, g, b, 0.01)[0]
    assert np.all(c[:, 0] == 0)
    assert ex._forward_diagnosis(c + 0.5e-9, x, g, b, 0.01) == FORWARD_HINTS[0]
    assert ex._forward_diagnosis(c + 5e-9, x, g, b, 0.01) == ""


def test_forward_undiagnosed_mistake_has_no_guess(capsys):
    def wrong(x, gamma, beta, eps=1e-5):         # the output of the exercise, times 1.5
        return 1.5 * bn_right(x, gamma, beta, eps)

    _result, message = _verdict(ex.check_batchnorm_forward, wrong, capsys)
    x = _forward_inputs()[0][0]
    e = float(_torch_forward(x, np.ones(3), np.zeros(3), 1e-5)[0, 0])
    assert message == (
        "✗ ex-norm-bn-forward, case 1 of 4 (x (8, 3), gamma = 1, beta = 0): the result has "
        f"wrong values.\n  First wrong entry at index (0, 0): expected {e:.6g}, received "
        f"{1.5 * e:.6g}. (24 of 24 entries differ.)\n  Every entry is 1.5 times the expected "
        "one: look for a missing or extra constant factor (a sum in place of a mean, a "
        "missing 1/N or 1/2, a learning rate).")


def test_forward_a_result_of_strings_is_named(capsys):
    _result, message = _verdict(ex.check_batchnorm_forward,
                               lambda x, gamma, beta, eps=1e-5: np.full(x.shape, "0"), capsys)
    assert message == ("✗ ex-norm-bn-forward, case 1 of 4 (x (8, 3), gamma = 1, beta = 0): "
                       "the result should hold numbers, received dtype <U1.")


def test_forward_diagnoses_a_later_case_with_its_own_gamma_and_beta(capsys):
    # Right on case 1 (gamma = 1, beta = 0), eps outside the root everywhere after.
    def wrong(x, gamma, beta, eps=1e-5):
        if np.all(gamma == 1) and np.all(beta == 0):
            return bn_right(x, gamma, beta, eps)
        return gamma * (x - x.mean(0)) / (x.std(0) + eps) + beta

    _result, message = _verdict(ex.check_batchnorm_forward, wrong, capsys)
    assert message.startswith("✗ ex-norm-bn-forward, case 2 of 4 (x (5, 4) with mean -1 and "
                              "std 0.5, random gamma and beta): the result has wrong values.")
    assert message.endswith("\n  It looks as if " + FORWARD_HINTS[0])


def _backward_candidates(dout, x, gamma, eps):
    mu, var = x.mean(0), x.var(0)
    s, s_out = np.sqrt(var + eps), np.sqrt(var) + eps
    xhat, xhat_out = (x - mu) / s, (x - mu) / s_out
    g = dout * gamma
    return [g / s, (g - g.mean(0)) / s, (g - xhat * (g * xhat).mean(0)) / s,
            (dout - dout.mean(0) - xhat * (dout * xhat).mean(0)) / s,
            (g - g.mean(0) - xhat_out * (g * xhat_out).mean(0)) / s_out]


BACKWARD_HINTS = [
    "dx is gamma * dout / sqrt(var + eps): the gradient flowing through the batch mean and "
    "the batch variance is missing (both depend on x).",
    "the term through the variance, - xhat * mean(g * xhat), is missing.",
    "the term through the mean, - mean(g), is missing.",
    "gamma is missing: the gradient reaching xhat is gamma * dout.",
    "eps is outside the square root: the forward pass divides by sqrt(var + eps), not by "
    "sqrt(var) + eps.",
]


def test_backward_diagnosis_tolerances():
    rng = np.random.default_rng(4)
    x, dout, gamma = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), np.array([0.0, 1.5, -1])
    c = _backward_candidates(dout, x, gamma, 1e-5)[0]
    assert ex._backward_diagnosis(c, dout, x, gamma, 1e-5) == BACKWARD_HINTS[0]
    assert ex._backward_diagnosis(c * (1 + 0.5e-6), dout, x, gamma, 1e-5) == BACKWARD_HINTS[0]
    assert ex._backward_diagnosis(c * (1 + 3e-6), dout, x, gamma, 1e-5) == ""     # rtol 1e-6
    assert np.all(c[:, 0] == 0)                                                     # gamma_0 = 0
    assert ex._backward_diagnosis(c + 0.5e-9, dout, x, gamma, 1e-5) == BACKWARD_HINTS[0]
    assert ex._backward_diagnosis(c + 5e-9, dout, x, gamma, 1e-5) == ""             # atol 1e-9
    assert ex._backward_diagnosis(1.5 * c, dout, x, gamma, 1e-5) == ""
    assert ex._backward_diagnosis(np.zeros_like(c) + 7, dout, x, gamma, 1e-5) == ""


def test_backward_passes_eps_by_keyword(capsys):
    def needs_eps(dout, x, gamma, *, eps):        # no default: the check must pass it
        return bwd_right(dout, x, gamma, eps)

    result, message = _verdict(ex.check_batchnorm_backward, needs_eps, capsys)
    assert result and message == "✓ ex-norm-bn-backward: all 4 cases pass."


def test_backward_a_result_that_is_not_a_tuple(capsys):
    _result, message = _verdict(ex.check_batchnorm_backward,
                               lambda dout, x, gamma, eps=1e-5: None, capsys)
    assert message == ("✗ ex-norm-bn-backward, case 1 of 4 (N = 6, D = 3, random x, gamma and "
                       "dout): (dx, dgamma, dbeta) should be a tuple of 3 values, received "
                       "NoneType.")


def test_backward_a_dx_of_strings_is_named(capsys):
    def strings(dout, x, gamma, eps=1e-5):
        _, dgamma, dbeta = bwd_right(dout, x, gamma, eps)
        return np.full(x.shape, "0"), dgamma, dbeta

    _result, message = _verdict(ex.check_batchnorm_backward, strings, capsys)
    assert message == ("✗ ex-norm-bn-backward, case 1 of 4 (N = 6, D = 3, random x, gamma and "
                       "dout): value 0 of (dx, dgamma, dbeta) should hold numbers, received "
                       "dtype <U1.")


@pytest.mark.parametrize("offset", [
    lambda r: -np.sign(r) * 1e-9,                               # 1e-9 + |r| from the answer
    lambda r: r - np.sign(r) * (1e-9 + 5e-6 * np.abs(r)),       # 1e-9 + 5e-6 |r| from it
], ids=["atol", "rtol"])
def test_backward_diagnoses_whatever_misses_the_answer_by_more_than_its_tolerance(offset,
                                                                                   capsys):
    # On the constant-dout case the missing variance term gives dx = 0 exactly, the answer
    # 0 up to rounding. An answer that misses the reference by more than rtol |r| + atol
    # (1e-6, 1e-9) yet lies within 1e-9 of that mistake is named as that mistake.
    def wrong(dout, x, gamma, eps=1e-5):
        dx, dgamma, dbeta = ex._ref_backward(dout, x, gamma, eps)
        if x.shape == (5, 2):
            assert np.any(dx != 0)
            dx = np.where(dx != 0, offset(dx), 0.0)
        return dx, dgamma, dbeta

    _result, message = _verdict(ex.check_batchnorm_backward, wrong, capsys)
    assert message.startswith("✗ ex-norm-bn-backward, case 4 of 4 (")
    assert message.endswith("\n  It looks as if " + BACKWARD_HINTS[1] + "\n  Hint: a constant "
                            "dout shifts every output equally: the mean absorbs it, so dx "
                            "must be 0.")


def test_forward_in_place_answer_keeps_its_diagnosis(capsys):
    # x -= mu and x /= (std + eps) in place: the diagnosis is made on x as it was given.
    def in_place(x, gamma, beta, eps=1e-5):
        x -= x.mean(axis=0)
        x /= np.sqrt(x.var(axis=0)) + eps
        return gamma * x + beta

    result, message = _verdict(ex.check_batchnorm_forward, in_place, capsys)
    assert not result
    assert message.endswith("\n  It looks as if " + FORWARD_HINTS[0])


def test_backward_in_place_answer_keeps_its_diagnosis(capsys):
    # dout *= gamma in place, then the variance term forgotten.
    def in_place(dout, x, gamma, eps=1e-5):
        _, dgamma, dbeta = bwd_right(dout, x, gamma, eps)
        s = np.sqrt(x.var(axis=0) + eps)
        dout *= gamma
        return (dout - dout.mean(axis=0)) / s, dgamma, dbeta

    result, message = _verdict(ex.check_batchnorm_backward, in_place, capsys)
    assert not result
    assert message.endswith("\n  It looks as if " + BACKWARD_HINTS[1])
