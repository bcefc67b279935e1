"""The checks of chapter 3's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
from checks import placeholder as _placeholder

from nnbook.exercises import (
    check_classify_critical_point,
    check_hessian_vector_product,
    check_power_iteration,
)


def _not_answered(label):
    return (f"✗ {label}: not answered yet. Replace `raise NotImplementedError()` with your code, "
            "then run this cell again.")


# ---- ex-convexity-classify ---------------------------------------------------------------------

def _verdict(lam, tol, zero_first=False):
    t = tol * max(1.0, np.abs(lam).max())
    mixed = (lam > t).any() and (lam < -t).any()
    flat = (np.abs(lam) <= t).any()
    if zero_first and flat:
        return "undecided"
    if mixed:
        return "saddle"
    if flat:
        return "undecided"
    return "minimum" if lam.min() > 0 else "maximum"


def classify_reference(g, H, tol=1e-8):
    if np.linalg.norm(g) > 1e-6:
        raise ValueError("the gradient is not zero")
    return _verdict(np.linalg.eigvalsh(H), tol)


def classify_diagonal(g, H, tol=1e-8):          # the diagonal in place of the eigenvalues
    if np.linalg.norm(g) > 1e-6:
        raise ValueError("the gradient is not zero")
    return _verdict(np.diag(H), tol)


def classify_no_refusal(g, H, tol=1e-8):        # classifies any point
    return _verdict(np.linalg.eigvalsh(H), tol)


def classify_zero_first(g, H, tol=1e-8):        # a zero eigenvalue always undecided
    if np.linalg.norm(g) > 1e-6:
        raise ValueError("the gradient is not zero")
    return _verdict(np.linalg.eigvalsh(H), tol, zero_first=True)


def classify_exact_zero(g, H, tol=1e-8):        # signs taken without a tolerance
    if np.linalg.norm(g) > 1e-6:
        raise ValueError("the gradient is not zero")
    return _verdict(np.linalg.eigvalsh(H), 0.0)


CLASSIFY_WRONG = {
    classify_diagonal: (
        "✗ ex-convexity-classify, case 4 of 9 (a Hessian with positive diagonal entries (2, 2) but "
        "eigenvalues 3 and -1): the result is wrong: expected 'saddle', received 'minimum'.\n"
        "  Hint: the test uses the eigenvalues of H (numpy.linalg.eigvalsh), not its diagonal "
        "entries: the diagonal only gives the curvature along the axes."),
    classify_no_refusal: (
        "✗ ex-convexity-classify, case 9 of 9 (a point where the gradient is (0.5, 0), not zero): "
        "the result is wrong: expected 'raises ValueError', received 'minimum'.\n"
        "  Hint: the Hessian test applies at critical points only: raise a ValueError when the "
        "gradient is not zero (norm above 1e-6)."),
    classify_zero_first: (
        "✗ ex-convexity-classify, case 7 of 9 (eigenvalues 2, 0 and -1: a flat direction, but also "
        "curvature of both signs): the result is wrong: expected 'saddle', received 'undecided'.\n"
        "  Hint: one positive and one negative eigenvalue make a saddle whatever the others are."),
    classify_exact_zero: (
        "✗ ex-convexity-classify, case 8 of 9 (eigenvalues -3 and -1e-12 (zero up to rounding)): "
        "the result is wrong: expected 'undecided', received 'maximum'.\n"
        "  Hint: compare |lambda| with tol times max(1, the largest |lambda|), not with 0."),
}


def test_classify_passes_on_the_reference(capsys):
    result = check_classify_critical_point(classify_reference)
    assert result and result.cases_passed == result.cases_total == 9
    assert capsys.readouterr().out == "✓ ex-convexity-classify: all 9 cases pass.\n"


def test_classify_placeholder():
    result = check_classify_critical_point(_placeholder)
    assert not result and result.message == _not_answered("ex-convexity-classify")


@pytest.mark.parametrize("wrong", list(CLASSIFY_WRONG), ids=lambda f: f.__name__)
def test_classify_explains_wrong_answers(wrong):
    result = check_classify_critical_point(wrong)
    assert not result and result.message == CLASSIFY_WRONG[wrong]


# ---- ex-convexity-hvp --------------------------------------------------------------------------

def hvp_reference(grad, theta, v, eps=1e-5):
    return (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)


def hvp_one_sided(grad, theta, v, eps=1e-5):     # forward difference: error of order eps
    return (grad(theta + eps * v) - grad(theta)) / eps


def hvp_no_half(grad, theta, v, eps=1e-5):       # the 2 of the central difference forgotten
    return (grad(theta + eps * v) - grad(theta - eps * v)) / eps


def hvp_scalar(grad, theta, v, eps=1e-5):        # v^T H v in place of H v
    return (grad(theta + eps * v) - grad(theta - eps * v)) @ v / (2 * eps)


HVP_WRONG = {
    hvp_one_sided: (
        "✗ ex-convexity-hvp, case 2 of 5 (Rosenbrock's function at (0.5, 0.8), v = (0.3, -2)): "
        "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 394.6, received 394.603.\n"
        "  Hint: use central differences, (g(theta + eps v) - g(theta - eps v)) / (2 eps): a "
        "one-sided difference has an error of order eps, visible on a non-quadratic."),
    hvp_no_half: (
        "✗ ex-convexity-hvp, case 1 of 5 (the quadratic bowl (kappa = 10) at (1, -0.5), v = (1, 0)): "
        "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected 2.36482, received 4.72964. "
        "(2 of 2 entries differ.)\n"
        "  Every entry is 2 times the expected one: look for a missing or extra constant factor "
        "(a sum in place of a mean, a missing 1/N or 1/2, a learning rate)."),
    hvp_scalar: (
        "✗ ex-convexity-hvp, case 1 of 5 (the quadratic bowl (kappa = 10) at (1, -0.5), v = (1, 0)): "
        "the result should be an array of shape (2,), received float64."),
}


def test_hvp_passes_on_the_reference(capsys):
    result = check_hessian_vector_product(hvp_reference)
    assert result and result.cases_passed == 5
    assert capsys.readouterr().out == "✓ ex-convexity-hvp: all 5 cases pass.\n"


def test_hvp_placeholder():
    result = check_hessian_vector_product(_placeholder)
    assert not result and result.message == _not_answered("ex-convexity-hvp")


@pytest.mark.parametrize("wrong", list(HVP_WRONG), ids=lambda f: f.__name__)
def test_hvp_explains_wrong_answers(wrong):
    result = check_hessian_vector_product(wrong)
    assert not result and result.message == HVP_WRONG[wrong]


# ---- ex-convexity-power ------------------------------------------------------------------------

def power_reference(matvec, v0, iters=200):
    v = v0 / np.linalg.norm(v0)
    for _ in range(iters):
        w = matvec(v)
        v = w / np.linalg.norm(w)
    return float(v @ matvec(v))


def power_norm_ratio(matvec, v0, iters=200):     # |A v| loses the sign
    v = v0 / np.linalg.norm(v0)
    for _ in range(iters):
        w = matvec(v)
        v = w / np.linalg.norm(w)
    return float(np.linalg.norm(matvec(v)))


def power_unnormalised(matvec, v0, iters=200):   # v grows like lambda^k and overflows
    v = v0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iters):
            v = matvec(v)
        return float(v @ matvec(v) / (v @ v))


def power_vector(matvec, v0, iters=200):         # returns the eigenvector
    v = v0 / np.linalg.norm(v0)
    for _ in range(iters):
        w = matvec(v)
        v = w / np.linalg.norm(w)
    return v


POWER_WRONG = {
    power_norm_ratio: (
        "✗ ex-convexity-power, case 3 of 4 (a matrix whose eigenvalue of largest magnitude is "
        "negative: -4 (then 2, 1)): the result is wrong: expected -4, received 4.\n"
        "  Every entry has the opposite sign of the expected one: look for a flipped sign.\n"
        "  Hint: return the Rayleigh quotient v.(A v) / (v.v): the ratio of norms |A v| / |v| "
        "loses the sign of a negative eigenvalue."),
    power_unnormalised: (
        "✗ ex-convexity-power, case 4 of 4 (top eigenvalue 50 and 400 iterations: 50**400 "
        "overflows unless v is normalised): the result is wrong: expected 50, received nan.\n"
        "  Hint: divide v by its norm after every product, or its entries overflow to inf."),
    power_vector: (
        "✗ ex-convexity-power, case 1 of 4 (a 3 x 3 matrix with eigenvalues 5, 1, 0.5): the result "
        "should be a number, received ndarray."),
}


def test_power_passes_on_the_reference(capsys):
    result = check_power_iteration(power_reference)
    assert result and result.cases_passed == 4
    assert capsys.readouterr().out == "✓ ex-convexity-power: all 4 cases pass.\n"


def test_power_placeholder():
    result = check_power_iteration(_placeholder)
    assert not result and result.message == _not_answered("ex-convexity-power")


@pytest.mark.parametrize("wrong", list(POWER_WRONG), ids=lambda f: f.__name__)
def test_power_explains_wrong_answers(wrong):
    result = check_power_iteration(wrong)
    assert not result and result.message == POWER_WRONG[wrong]


def test_checks_refuse_a_called_function():
    result = check_power_iteration(3.0)
    assert not result and result.message == (
        "✗ ex-convexity-power: pass your function itself (without calling it), received float.")
