"""The checks of chapter 3's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
from checks import placeholder as _placeholder
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import (
    check_classify_critical_point,
    check_hessian_vector_product,
    check_power_iteration,
)
from nnbook.exercises import convexity as _module  # the checks' own references


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


def classify_ignores_tol(g, H, tol=1e-8):      # the default 1e-8 whatever tol says
    return classify_reference(g, H)


def classify_any_gradient(g, H, tol=1e-8):      # refuses any nonzero gradient
    if np.any(g != 0):
        raise ValueError("the gradient is not zero")
    return _verdict(np.linalg.eigvalsh(H), tol)


CLASSIFY_WRONG = {
    classify_ignores_tol: (
        "✗ ex-convexity-classify, case 9 of 11 (eigenvalues 1 and 0.05 with tol = 0.1: 0.05 "
        "counts as zero): the result is wrong: expected 'undecided', received 'minimum'.\n"
        "  Hint: use the tol argument: an eigenvalue counts as zero when |lambda| <= tol * "
        "max(1, the largest |lambda|), here 0.1."),
    classify_any_gradient: (
        "✗ ex-convexity-classify, case 10 of 11 (a gradient of norm 1e-7, below 1e-6: still a "
        "critical point): the result is wrong: expected 'minimum', received 'raises "
        "ValueError'.\n"
        "  Hint: the gradient counts as zero up to a norm of 1e-6 (compare "
        "numpy.linalg.norm(gradient) with 1e-6)."),
    classify_diagonal: (
        "✗ ex-convexity-classify, case 4 of 11 (a Hessian with positive diagonal entries (2, 2) but "
        "eigenvalues 3 and -1): the result is wrong: expected 'saddle', received 'minimum'.\n"
        "  Hint: the test uses the eigenvalues of H (numpy.linalg.eigvalsh), not its diagonal "
        "entries: the diagonal only gives the curvature along the axes."),
    classify_no_refusal: (
        "✗ ex-convexity-classify, case 11 of 11 (a point where the gradient is (0.5, 0), not zero): "
        "the result is wrong: expected 'raises ValueError', received 'minimum'.\n"
        "  Hint: the Hessian test applies at critical points only: raise a ValueError when the "
        "gradient is not zero (norm above 1e-6)."),
    classify_zero_first: (
        "✗ ex-convexity-classify, case 7 of 11 (eigenvalues 2, 0 and -1: a flat direction, but also "
        "curvature of both signs): the result is wrong: expected 'saddle', received 'undecided'.\n"
        "  Hint: one positive and one negative eigenvalue make a saddle whatever the others are."),
    classify_exact_zero: (
        "✗ ex-convexity-classify, case 8 of 11 (eigenvalues -3 and -1e-12 (zero up to rounding)): "
        "the result is wrong: expected 'undecided', received 'maximum'.\n"
        "  Hint: compare |lambda| with tol times max(1, the largest |lambda|), not with 0."),
}


def test_classify_passes_on_the_reference(capsys):
    result = check_classify_critical_point(classify_reference)
    assert result and result.cases_passed == result.cases_total == 11
    assert capsys.readouterr().out == "✓ ex-convexity-classify: all 11 cases pass.\n"


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


# ---- every case's message, whole ---------------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 3's exercises), and the message when only case k's answer
# is wrong (it shows case k's expected result, computed here by hand or by a direct NumPy
# formula, never by nnbook's reference).

def _head_hints(raised):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return head, hints


def _wrong_on(reference, k, answer):
    """The reference's result on every case but the k-th, ``answer`` on the k-th."""
    seen = []

    def student(*args, **kwargs):
        seen.append(None)
        return answer if len(seen) == k else reference(*args, **kwargs)
    return student


_EIGVALSH_HINT = ("the test uses the eigenvalues of H (numpy.linalg.eigvalsh), not its diagonal "
                  "entries: the diagonal only gives the curvature along the axes.")
_FLAT_HINT = ("a zero eigenvalue (within tol) leaves the test undecided, unless other eigenvalues "
              "of both signs already prove a saddle.")
_SADDLE_HINT = "one positive and one negative eigenvalue make a saddle whatever the others are."
_ROUNDING_HINT = "compare |lambda| with tol times max(1, the largest |lambda|), not with 0."
_REFUSE_HINT = ("the Hessian test applies at critical points only: raise a ValueError when the "
                "gradient is not zero (norm above 1e-6).")
CLASSIFY_RAISED = {
    1: _raised("ex-convexity-classify", 1, 11, "a bowl: Hessian diag(1, 3) at a zero gradient"),
    2: _raised("ex-convexity-classify", 2, 11, "a hilltop: Hessian diag(-2, -0.5)"),
    3: _raised("ex-convexity-classify", 3, 11, "a saddle: Hessian diag(2, -1)"),
    4: _raised("ex-convexity-classify", 4, 11, "a Hessian with positive diagonal entries (2, 2) "
               "but eigenvalues 3 and -1", _EIGVALSH_HINT),
    5: _raised("ex-convexity-classify", 5, 11,
               "a rotated hilltop: eigenvalues -1 and -4 in tilted directions"),
    6: _raised("ex-convexity-classify", 6, 11, "eigenvalues 2, 0 and 1: one direction is flat",
               _FLAT_HINT),
    7: _raised("ex-convexity-classify", 7, 11, "eigenvalues 2, 0 and -1: a flat direction, but "
               "also curvature of both signs", _SADDLE_HINT),
    8: _raised("ex-convexity-classify", 8, 11, "eigenvalues -3 and -1e-12 (zero up to rounding)",
               _ROUNDING_HINT),
    9: _raised("ex-convexity-classify", 9, 11,
               "eigenvalues 1 and 0.05 with tol = 0.1: 0.05 counts as zero",
               "use the tol argument: an eigenvalue counts as zero when |lambda| <= tol * "
               "max(1, the largest |lambda|), here 0.1."),
    10: _raised("ex-convexity-classify", 10, 11,
                "a gradient of norm 1e-7, below 1e-6: still a critical point",
                "the gradient counts as zero up to a norm of 1e-6 (compare "
                "numpy.linalg.norm(gradient) with 1e-6)."),
    11: _raised("ex-convexity-classify", 11, 11,
                "a point where the gradient is (0.5, 0), not zero", _REFUSE_HINT),
}
# By hand, from the eigenvalues: (1, 3) > 0; (-2, -0.5) < 0; (2, -1) mixed; (3, -1) mixed;
# (-1, -4) < 0; (2, 0, 1) a zero and no negative one; (2, 0, -1) mixed; -1e-12 is within
# 1e-8 * 3 of zero; with tol = 0.1, 0.05 <= 0.1 * 1 is zero; a gradient of norm 1e-7 counts
# as zero, one of norm 0.5 is refused.
CLASSIFY_EXPECTED = {1: "minimum", 2: "maximum", 3: "saddle", 4: "saddle", 5: "maximum",
                     6: "undecided", 7: "saddle", 8: "undecided", 9: "undecided",
                     10: "minimum", 11: "raises ValueError"}


def test_classify_every_case_explains_itself(capsys):
    raised, _ = probe_messages(check_classify_critical_point,
                               _module._outcome(_module._classify_reference))
    assert raised == CLASSIFY_RAISED
    for k, want in CLASSIFY_EXPECTED.items():
        head, hints = _head_hints(CLASSIFY_RAISED[k])
        result = check_classify_critical_point(
            _wrong_on(_module._classify_reference, k, "flat"))
        assert result.message == (f"{head}: the result is wrong: expected {want!r}, received "
                                  f"'flat'.{hints}")
    capsys.readouterr()


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _classify_inputs():
    z2, z3 = np.zeros(2), np.zeros(3)
    R = _rotation(0.7)
    return [(z2, np.diag([1.0, 3.0])), (z2, np.diag([-2.0, -0.5])), (z2, np.diag([2.0, -1.0])),
            (z2, np.array([[1.0, 2.0], [2.0, 1.0]])), (z2, R @ np.diag([-1.0, -4.0]) @ R.T),
            (z3, np.diag([2.0, 0.0, 1.0])), (z3, np.diag([2.0, 0.0, -1.0])),
            (z2, np.diag([-3.0, -1e-12])), (z2, np.diag([1.0, 0.05])),
            (np.array([1e-7, 0.0]), np.diag([1.0, 3.0])),
            (np.array([0.5, 0.0]), np.diag([1.0, 3.0]))]


def test_classify_cases_are_the_ones_their_descriptions_describe(capsys):
    got = _inputs(check_classify_critical_point, _module._classify_reference)
    assert len(got) == 11
    assert [kwargs for _, kwargs in got] == [{}] * 8 + [{"tol": 0.1}] + [{}] * 2
    for (args, _), want in zip(got, _classify_inputs(), strict=True):
        assert len(args) == 2
        np.testing.assert_array_equal(args[0], want[0])
        np.testing.assert_allclose(args[1], want[1], rtol=0, atol=1e-15)
    capsys.readouterr()
    H4, H5 = got[3][0][1], got[4][0][1]
    np.testing.assert_allclose(np.linalg.eigvalsh(H4), [-1.0, 3.0], atol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(H5), [-4.0, -1.0], atol=1e-14)
    assert abs(H5[0, 1]) > 1.0 and np.array_equal(H5, H5.T)   # tilted: not diagonal


def test_classify_reference_honours_tol_and_the_gradient_threshold():
    z2, H = np.zeros(2), np.diag([1.0, 0.05])
    assert _module._classify_reference(z2, H) == "minimum"
    assert _module._classify_reference(z2, H, tol=0.1) == "undecided"   # 0.05 <= 0.1 * 1
    assert _module._outcome(_module._classify_reference)(z2, H, tol=0.1) == "undecided"
    # A gradient of norm up to 1e-6 counts as zero; above it the point is refused.
    assert _module._classify_reference(np.array([1e-6, 0.0]), H) == "minimum"
    assert _module._outcome(_module._classify_reference)(np.array([2e-6, 0.0]), H) == (
        "raises ValueError")


# ---- ex-convexity-hvp: the cases -----------------------------------------------------------

def _bowl_hessian():
    R = _rotation(0.4)
    return R @ np.diag([1.0, 10.0]) @ R.T


def _rosenbrock_hessian(theta):
    x, y = theta
    return np.array([[2.0 - 400.0 * y + 1200.0 * x ** 2, -400.0 * x], [-400.0 * x, 200.0]])


def _rosenbrock_gradient(theta):
    x, y = theta
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x ** 2), 200.0 * (y - x ** 2)])


def _well_hessian(theta):
    return np.array([[12.0 * theta[0] ** 2 - 4.0, 0.0], [0.0, 2.0]])


HVP_INPUTS = [
    ("gradient of bowl, κ = 10", [1.0, -0.5], [1.0, 0.0]),
    ("gradient of Rosenbrock", [0.5, 0.8], [0.3, -2.0]),
    ("gradient of double well", [0.2, 1.0], [2.0, 1.0]),
    ("gradient of bowl, κ = 100", [-1.0, -0.5, 0.0, 0.5, 1.0], [0.5, -1.0, 2.0, 0.0, 1.0]),
    ("gradient of Rosenbrock", [-1.0, 1.0], [0.0, 0.0]),
]


def _hvp_expected():
    bowl5 = np.diag(np.geomspace(1.0, 100.0, 5))
    H = [_bowl_hessian(), _rosenbrock_hessian([0.5, 0.8]), _well_hessian([0.2, 1.0]), bowl5,
         _rosenbrock_hessian([-1.0, 1.0])]
    return {k: h @ np.array(v) for k, (h, (_, _, v)) in enumerate(zip(H, HVP_INPUTS, strict=True),
                                                               start=1)}


_CENTRAL_HINT = ("use central differences, (g(theta + eps v) - g(theta - eps v)) / (2 eps): a "
                 "one-sided difference has an error of order eps, visible on a non-quadratic.")
HVP_RAISED = {
    1: _raised("ex-convexity-hvp", 1, 5, "the quadratic bowl (kappa = 10) at (1, -0.5), "
               "v = (1, 0)"),
    2: _raised("ex-convexity-hvp", 2, 5, "Rosenbrock's function at (0.5, 0.8), v = (0.3, -2)",
               _CENTRAL_HINT),
    3: _raised("ex-convexity-hvp", 3, 5, "the double well at (0.2, 1), v = (2, 1)"),
    4: _raised("ex-convexity-hvp", 4, 5, "a 5-D quadratic (kappa = 100) at theta = (-1, -0.5, "
               "0, 0.5, 1), v = (0.5, -1, 2, 0, 1)",
               "the result has the shape of theta: one entry per parameter."),
    5: _raised("ex-convexity-hvp", 5, 5, "Rosenbrock's function at (-1, 1), v = 0"),
}


def _vector_messages(raised, expected):
    """One message per entry: the answer that is right but for that entry, 1 too large."""
    out = {}
    for k, want in expected.items():
        head, hints = _head_hints(raised[k])
        out[k] = [f"{head}: the result has wrong values.\n  First wrong entry at index ({j},): "
                  f"expected {w:.6g}, received {w + 1:.6g}.{hints}" for j, w in enumerate(want)]
    return out


def test_hvp_every_case_explains_itself(capsys):
    raised, entries = probe_messages(check_hessian_vector_product, _module._hvp_reference)
    capsys.readouterr()
    assert raised == HVP_RAISED
    assert entries == _vector_messages(HVP_RAISED, _hvp_expected())


def test_hvp_cases_are_the_ones_their_descriptions_describe(capsys):
    got = _inputs(check_hessian_vector_product, _module._hvp_reference)
    capsys.readouterr()
    assert [(repr(g), t.tolist(), v.tolist()) for (g, t, v), _ in got] == HVP_INPUTS
    assert all(kwargs == {} for _, kwargs in got)
    # the gradients are those of the functions named: checked on Rosenbrock's formula
    rosen = got[1][0][0]
    for theta in ([0.5, 0.8], [-1.0, 1.0], [2.0, -3.0]):
        np.testing.assert_allclose(rosen(np.array(theta)), _rosenbrock_gradient(theta),
                                   rtol=1e-14)
    np.testing.assert_allclose(got[0][0][0](np.array([1.0, -0.5])),
                               _bowl_hessian() @ [1.0, -0.5], rtol=1e-14)
    np.testing.assert_allclose(got[2][0][0](np.array([0.2, 1.0])),
                               [4 * 0.2 * (0.2 ** 2 - 1) + 0.3, 2.0], rtol=1e-14)


def test_hvp_works_in_float64_whatever_theta_it_is_given():
    # A float32 theta (rounded) is taken in float64: no float32 rounding in the gradient the
    # student calls, nor in the reference's Hessian.
    theta = np.array([0.7, 0.3], dtype=np.float32)
    exact = theta.astype(float)
    grad = _module._Gradient("rosenbrock")
    g = grad(theta)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, _rosenbrock_gradient(exact), rtol=1e-13)
    v = np.array([0.3, -2.0])
    np.testing.assert_allclose(_module._hvp_reference(grad, theta, v),
                               _rosenbrock_hessian(exact) @ v, rtol=1e-13)


@pytest.mark.parametrize("k, delta, passes", [
    (5, 0.5e-6, True),             # v = 0, H v = 0: within atol = 1e-6
    (5, 2e-6, False),              # beyond it
    (2, 0.5e-6 * 394.6, True),     # within rtol |Hv| = 1e-6 * 394.6 (plus atol)
    (2, 2e-6 * 394.6 + 1e-6, False),
])
def test_hvp_tolerance_is_rtol_1e6_and_atol_1e6(k, delta, passes, capsys):
    expected = _hvp_expected()
    assert expected[2][0] == pytest.approx(394.6, abs=1e-12)
    calls = []

    def answer(grad, theta, v, eps=1e-5):
        calls.append(None)
        out = expected[len(calls)].copy()
        if len(calls) == k:
            out[0] += delta
        return out

    assert bool(check_hessian_vector_product(answer)) is passes
    capsys.readouterr()


# ---- ex-convexity-power: the cases ---------------------------------------------------------

POWER_RAISED = {
    1: _raised("ex-convexity-power", 1, 4, "a 3 x 3 matrix with eigenvalues 5, 1, 0.5"),
    2: _raised("ex-convexity-power", 2, 4, "a 10 x 10 positive semi-definite matrix, top "
               "eigenvalue 3 (then 1, 0.875, 0.75, ..., 0)"),
    3: _raised("ex-convexity-power", 3, 4, "a matrix whose eigenvalue of largest magnitude is "
               "negative: -4 (then 2, 1)",
               "return the Rayleigh quotient v.(A v) / (v.v): the ratio of norms |A v| / |v| "
               "loses the sign of a negative eigenvalue."),
    4: _raised("ex-convexity-power", 4, 4, "top eigenvalue 50 and 400 iterations: 50**400 "
               "overflows unless v is normalised",
               "divide v by its norm after every product, or its entries overflow to inf."),
}
POWER_EXPECTED = {1: 5.0, 2: 3.0, 3: -4.0, 4: 50.0}   # the eigenvalue of largest magnitude


def test_power_every_case_explains_itself(capsys):
    raised, entries = probe_messages(check_power_iteration, _module._power_reference)
    capsys.readouterr()
    assert raised == POWER_RAISED
    want = {}
    for k, lam in POWER_EXPECTED.items():
        head, hints = _head_hints(POWER_RAISED[k])
        want[k] = [f"{head}: the result is wrong: expected {lam:.6g}, received "
                   f"{lam + 1:.6g}.{hints}"]
    assert entries == want


def _symmetric(eigenvalues, seed):
    """Q diag(eigenvalues) Q^T for the Q of a QR of a seeded Gaussian matrix."""
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Q @ np.diag(eigenvalues) @ Q.T


POWER_INPUTS = [([5.0, 1.0, 0.5], 0, np.ones(3), {}),
                ([3.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0], 1, np.ones(10),
                 {}),
                ([-4.0, 2.0, 1.0], 2, np.array([1.0, 0.0, 0.0]), {}),
                ([50.0, 10.0, 1.0, 0.1], 3, np.ones(4), {"iters": 400})]


def test_power_cases_are_the_ones_their_descriptions_describe(capsys):
    got = _inputs(check_power_iteration, _module._power_reference)
    capsys.readouterr()
    assert len(got) == 4
    for ((matvec, v0), kwargs), (lam, seed, v0_want, kw_want) in zip(got, POWER_INPUTS,
                                                                    strict=True):
        assert repr(matvec) == f"matvec with eigenvalues {lam}"
        A = _symmetric(lam, seed)
        np.testing.assert_allclose(matvec.A, A, rtol=0, atol=1e-13)
        np.testing.assert_array_equal(matvec.A, matvec.A.T)
        np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(matvec.A)), np.sort(lam),
                                   atol=1e-13)
        v = np.linspace(-1.0, 2.0, len(lam))
        np.testing.assert_allclose(matvec(v), A @ v, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(v0, v0_want)
        assert kwargs == kw_want


def test_power_reference_is_the_eigenvalue_of_largest_magnitude():
    # whatever the iteration count: the reference is exact
    matvec = _module._MatVec([-4.0, 2.0, 1.0], 2)
    for iters in (1, 200, 201):
        assert _module._power_reference(matvec, np.ones(3), iters) == pytest.approx(-4.0,
                                                                                   rel=1e-14)


@pytest.mark.parametrize("factor, shift, passes", [
    (1 + 0.5e-6, 0.0, True),       # within rtol |lambda| = 1e-6 |lambda|
    (1 + 2e-6, 0.0, False),        # beyond it
    (1.0, 0.5, False),             # half a unit off is wrong, however loose one might be
    (1.5, 0.0, False),
])
def test_power_tolerance_is_rtol_1e6(factor, shift, passes, capsys):
    calls = []

    def answer(matvec, v0, iters=200):
        calls.append(None)
        return POWER_EXPECTED[len(calls)] * factor + shift

    assert bool(check_power_iteration(answer)) is passes
    capsys.readouterr()
