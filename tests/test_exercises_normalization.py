"""The checks of the normalization chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

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
