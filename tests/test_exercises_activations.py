"""The checks of chapter 4's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
from checks import placeholder as _placeholder

from nnbook.exercises import (
    check_leaky_relu_backward,
    check_prelu_slope_grad,
    check_softmax_backward,
)


# ---- ex-activations-leaky-backward
def leaky_reference(dout, z, negative_slope=0.01):
    return dout * np.where(z > 0, 1.0, negative_slope)


def leaky_swapped(dout, z, negative_slope=0.01):      # slope a above 0, 1 below
    return dout * np.where(z > 0, negative_slope, 1.0)


def leaky_no_dout(dout, z, negative_slope=0.01):      # returns g'(z) alone
    return np.where(z > 0, 1.0, negative_slope)


def leaky_one_at_zero(dout, z, negative_slope=0.01):  # z >= 0 gets the slope 1
    return dout * np.where(z >= 0, 1.0, negative_slope)


def leaky_relu_like(dout, z, negative_slope=0.01):    # forgets the leak
    return dout * (z > 0)


# ---- ex-activations-softmax-backward
def softmax_reference(dout, p):
    return p * (dout - np.sum(dout * p, axis=1, keepdims=True))


def softmax_diagonal(dout, p):                        # only the diagonal of the Jacobian
    return dout * p * (1 - p)


def softmax_wrong_axis(dout, p):                      # sums over the batch
    return p * (dout - np.sum(dout * p, axis=0, keepdims=True))


def softmax_no_keepdims(dout, p):                     # the row sums broadcast along columns
    s = np.sum(dout * p, axis=1)
    return p * (dout - s[None, :]) if s.shape[0] == dout.shape[1] else p * (dout - s)


def softmax_flipped(dout, p):
    return -softmax_reference(dout, p)


# ---- ex-activations-prelu-slope
def prelu_reference(dout, z, a):
    return float(np.sum(dout * np.minimum(z, 0)))


def prelu_all_entries(dout, z, a):                    # dout * z everywhere
    return float(np.sum(dout * z))


def prelu_not_summed(dout, z, a):                     # per-unit gradients
    return np.sum(dout * np.minimum(z, 0), axis=0)


def prelu_times_a(dout, z, a):                        # differentiates a^2 z / 2, say
    return float(a * np.sum(dout * np.minimum(z, 0)))


CHECKS = {
    "leaky": (check_leaky_relu_backward, leaky_reference, "ex-activations-leaky-backward", 5),
    "softmax": (check_softmax_backward, softmax_reference, "ex-activations-softmax-backward", 5),
    "prelu": (check_prelu_slope_grad, prelu_reference, "ex-activations-prelu-slope", 4),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_passes(name, capsys):
    check, reference, label, n = CHECKS[name]
    result = check(reference)
    assert result
    assert capsys.readouterr().out == f"✓ {label}: all {n} cases pass.\n"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_placeholder_is_not_answered(name, capsys):
    check, _, label, _ = CHECKS[name]
    assert not check(_placeholder)
    assert capsys.readouterr().out.startswith(f"✗ {label}: not answered yet.")


@pytest.mark.parametrize("wrong, case, words", [
    (leaky_swapped, 1, ["First wrong entry at index (0, 0): expected 0.01, received 1.",
                        "g'(z) is 1 where z > 0"]),
    (leaky_no_dout, 2, ["expected 0.02, received 0.01", "multiplies the upstream gradient"]),
    (leaky_one_at_zero, 4, ["expected 0.01, received 1", "at z = 0"]),
    (leaky_relu_like, 1, ["expected 0.01, received 0"]),
])
def test_leaky_mistakes(wrong, case, words, capsys):
    assert not check_leaky_relu_backward(wrong)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ ex-activations-leaky-backward, case {case} of 5")
    for w in words:
        assert w in out, out


@pytest.mark.parametrize("wrong, case, words", [
    (softmax_diagonal, 1, ["has wrong values", "diag(p) - p p^T"]),
    # case 1 has two rows, so a sum over axis 0 mixes them: the hint names the axis
    (softmax_wrong_axis, 1, ["has wrong values", "a sum over the classes of that row (axis 1)"]),
    (softmax_no_keepdims, 1, ["has wrong values", "(axis 1)"]),
    (softmax_flipped, 1, ["opposite sign"]),
])
def test_softmax_mistakes(wrong, case, words, capsys):
    assert not check_softmax_backward(wrong)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ ex-activations-softmax-backward, case {case} of 5")
    for w in words:
        assert w in out, out


@pytest.mark.parametrize("wrong, case, words", [
    (prelu_all_entries, 1, ["expected -2, received -1", "only the entries with z <= 0"]),
    (prelu_not_summed, 1, ["should be a number, received ndarray", "not axis 0"]),
    (prelu_times_a, 1, ["expected -2, received -0.5"]),
])
def test_prelu_mistakes(wrong, case, words, capsys):
    assert not check_prelu_slope_grad(wrong)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ ex-activations-prelu-slope, case {case} of 4")
    for w in words:
        assert w in out, out


def test_prelu_no_constant_factor_for_one_number(capsys):
    # one number is always some multiple of another: no "times the expected one"
    assert not check_prelu_slope_grad(prelu_times_a)
    assert "times the expected one" not in capsys.readouterr().out


def test_prelu_accepts_an_array_of_one_number(capsys):
    # what nb.PReLU().a.grad holds: shape (1,)
    def as_array(dout, z, a):
        return np.sum(dout * np.minimum(z, 0), keepdims=True).reshape(1)
    assert check_prelu_slope_grad(as_array)
    assert capsys.readouterr().out == "✓ ex-activations-prelu-slope: all 4 cases pass.\n"


def test_prelu_accepts_the_layers_gradient(capsys):
    from nnbook import PReLU

    def with_layer(dout, z, a):                   # the exercise's comparison
        layer = PReLU(init=a)
        layer.forward(z)
        layer.backward(dout)
        return layer.a.grad
    assert check_prelu_slope_grad(with_layer)
    assert capsys.readouterr().out == "✓ ex-activations-prelu-slope: all 4 cases pass.\n"


def test_leaky_hard_coded_slope(capsys):
    def hard_coded(dout, z, negative_slope=0.01):
        return dout * np.where(z > 0, 1.0, 0.01)
    assert not check_leaky_relu_backward(hard_coded)
    out = capsys.readouterr().out
    assert out.startswith("✗ ex-activations-leaky-backward, case 3 of 5")
    assert "use the negative_slope argument, not a fixed 0.01." in out


def test_a_value_instead_of_a_function(capsys):
    assert not check_softmax_backward(np.zeros((2, 2)))
    assert "pass your function itself" in capsys.readouterr().out
