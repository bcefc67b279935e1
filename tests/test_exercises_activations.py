"""The checks of chapter 4's code exercises: pass on the reference, explain plausible mistakes."""

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import activations as _module  # the checks' own references
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


# ---- every case's message, whole ---------------------------------------------------------------
# For each case k of each check: the message when an answer raises on case k (its description
# and hints, read against chapter 4's exercises), and, for every entry of case k's expected
# result, the message when only that entry is off by 1 (it shows the expected entry, computed
# here by hand, by a direct NumPy formula or by torch.autograd, never by nnbook's reference).

def _entry_messages(raised, expected):
    """The messages of the answers off by 1 in one entry of ``expected`` (C order), or in the
    number ``expected``."""
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    if np.ndim(expected) == 0:
        body = f"the result is wrong: expected {float(expected):.6g}, received {expected + 1:.6g}."
        return [f"{head}: {body}{hints}"]
    expected = np.asarray(expected, dtype=float)
    out = []
    for j, e in enumerate(expected.flat):
        index = np.unravel_index(j, expected.shape)
        body = (f"the result has wrong values.\n  First wrong entry at index "
                f"{tuple(int(i) for i in index)}: expected {e:.6g}, received {e + 1:.6g}.")
        out.append(f"{head}: {body}{hints}")
    return out


def _leaky_data():
    """The random inputs of the leaky cases 3 and 5: (dout, z) each."""
    rng = np.random.default_rng(40)
    case3 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    return case3, (rng.standard_normal((4, 6)), rng.standard_normal((4, 6)))


def _softmax_direct(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_data():
    """The inputs (dout, p) of the softmax cases 2 to 5."""
    rng = np.random.default_rng(41)
    case2 = np.ones((1, 3)), _softmax_direct(rng.standard_normal((1, 3)))
    case3 = rng.standard_normal((4, 3)), _softmax_direct(rng.standard_normal((4, 3)))
    case4 = rng.standard_normal((3, 5)), _softmax_direct(rng.standard_normal((3, 5)))
    case5 = rng.standard_normal((1, 4)), _softmax_direct(np.array([[8.0, 0.0, -1.0, 1.0]]))
    return case2, case3, case4, case5


def _prelu_data():
    """The random inputs (dout, z) of the PReLU cases 3 and 4."""
    rng = np.random.default_rng(42)
    case3 = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    return case3, (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))


def _softmax_by_jacobian(dout, p):
    """dout J row by row, with the full C x C Jacobian diag(p) - p p^T of each row."""
    jac = np.einsum("nk,kj->nkj", p, np.eye(p.shape[1])) - np.einsum("nk,nj->nkj", p, p)
    return np.einsum("nk,nkj->nj", dout, jac)


def _prelu_by_autograd(dout, z, a):
    """dL/da of torch's PReLU with one slope, L = sum(dout * prelu(z))."""
    weight = torch.tensor([a], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.prelu(torch.as_tensor(z), weight)
    out.backward(torch.as_tensor(dout))
    return float(weight.grad[0])


LEAKY = "ex-activations-leaky-backward"
LEAKY_RAISED = {
    1: _raised(LEAKY, 1, 5, "one row z = [-2, -0.5, 0.5, 3] with dout = 1 (the derivative itself)",
               "g'(z) is 1 where z > 0 and the negative slope where z < 0."),
    2: _raised(LEAKY, 2, 5, "the same z with dout = [1, 2, 3, 4]",
               "the backward multiplies the upstream gradient dout by g'(z), entry by entry."),
    3: _raised(LEAKY, 3, 5, "a 5 x 3 batch with negative_slope = 0.2",
               "use the negative_slope argument, not a fixed 0.01."),
    4: _raised(LEAKY, 4, 5, "z exactly 0 in some entries",
               "at z = 0 the derivative does not exist; use the negative slope there, "
               "as PyTorch does (z > 0 is the test for the slope 1)."),
    5: _raised(LEAKY, 5, 5, "a 4 x 6 batch with negative_slope = 0 (a plain ReLU)"),
}


def _leaky_expected():
    (dout3, z3), (dout5, z5) = _leaky_data()
    return {
        1: [[0.01, 0.01, 1.0, 1.0]],              # g'(z) at z = -2, -0.5, 0.5, 3
        2: [[0.01, 0.02, 3.0, 4.0]],              # times dout = 1, 2, 3, 4
        3: dout3 * np.where(z3 > 0, 1.0, 0.2),
        4: [[0.01, 1.0, 0.01], [0.01, 0.01, 1.0]],  # z = 0 takes the slope 0.01
        5: dout5 * (z5 > 0),                      # a plain ReLU
    }


SOFTMAX = "ex-activations-softmax-backward"
SOFTMAX_RAISED = {
    1: _raised(SOFTMAX, 1, 5, "two rows of two classes, p = [[0.25, 0.75], [0.6, 0.4]], "
               "dout = [[1, 0], [0, 1]]",
               "changing z_1 changes every p_k, not only p_1: the Jacobian is diag(p) - p p^T, "
               "not diagonal; and each row is its own softmax, so <dout, p> is a sum over the "
               "classes of that row (axis 1)."),
    2: _raised(SOFTMAX, 2, 5, "a uniform dout = [1, 1, 1] (softmax outputs always sum to 1)",
               "adding a constant to every entry of dout changes nothing: the result must be 0."),
    3: _raised(SOFTMAX, 3, 5, "a batch of 4 rows and 3 classes",
               "each row is its own softmax: sum over the classes (axis 1), one sum per row, "
               "and keep it as a column (keepdims) so it broadcasts."),
    4: _raised(SOFTMAX, 4, 5, "a batch of 3 rows and 5 classes"),
    5: _raised(SOFTMAX, 5, 5, "one confident row, p close to one-hot"),
}


def _softmax_expected():
    _, *rest = _softmax_data()
    return {
        # <dout, p> = 0.25 in row 1 and 0.4 in row 2: p * (dout - <dout, p>).
        1: [[0.25 * 0.75, 0.75 * -0.25], [0.6 * -0.4, 0.4 * 0.6]],
        2: [[0.0, 0.0, 0.0]],                     # a constant dout: 0 exactly
        **{k: _softmax_by_jacobian(dout, p) for k, (dout, p) in enumerate(rest, start=3)},
    }


PRELU = "ex-activations-prelu-slope"
PRELU_RAISED = {
    1: _raised(PRELU, 1, 4, "one row z = [-2, 1] with dout = [1, 1] and a = 0.25",
               "only the entries with z <= 0 depend on a: there g(z) = a z, so dg/da = z; and "
               "one slope is shared by all units: sum over every axis, not axis 0 (one number, "
               "not one per unit)."),
    2: _raised(PRELU, 2, 4, "z all positive (the slope is not used at all)"),
    3: _raised(PRELU, 3, 4, "a 5 x 4 batch, a = 0.1",
               "one slope is shared by every unit and every sample: add up all their "
               "contributions into one number."),
    4: _raised(PRELU, 4, 4, "a 3 x 2 batch, a = -0.5",
               "the gradient with respect to a does not depend on a itself."),
}


def _prelu_expected():
    (dout3, z3), (dout4, z4) = _prelu_data()
    return {1: -2.0,                              # only z = -2 counts, with dout = 1
            2: 0.0,                               # no z <= 0
            3: _prelu_by_autograd(dout3, z3, 0.1),
            4: _prelu_by_autograd(dout4, z4, -0.5)}


def _expected_messages(raised, expected):
    return {k: _entry_messages(raised[k], expected[k]) for k in raised}


@pytest.mark.parametrize("check, reference, raised, expected", [
    (check_leaky_relu_backward, _module._leaky_reference, LEAKY_RAISED, _leaky_expected),
    (check_softmax_backward, _module._softmax_reference, SOFTMAX_RAISED, _softmax_expected),
    (check_prelu_slope_grad, _module._prelu_reference, PRELU_RAISED, _prelu_expected),
], ids=["leaky", "softmax", "prelu"])
def test_every_case_explains_itself(check, reference, raised, expected, capsys):
    got_raised, got_entries = probe_messages(check, reference)
    capsys.readouterr()
    assert got_raised == raised
    assert got_entries == _expected_messages(raised, expected())


def test_the_hand_computed_values_agree_with_the_formulas():
    z = np.array([[-2.0, -0.5, 0.5, 3.0]])
    leaky = _leaky_expected()
    np.testing.assert_array_equal(leaky[1], np.where(z > 0, 1.0, 0.01))
    np.testing.assert_array_equal(leaky[2], [[1.0, 2.0, 3.0, 4.0]] * np.where(z > 0, 1.0, 0.01))
    z0 = np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(leaky[4], np.where(z0 > 0, 1.0, 0.01))
    p2 = np.array([[0.25, 0.75], [0.6, 0.4]])
    np.testing.assert_allclose(_softmax_expected()[1], _softmax_by_jacobian(np.eye(2), p2),
                               rtol=1e-15, atol=1e-16)
    assert _prelu_by_autograd(np.ones((1, 2)), np.array([[-2.0, 1.0]]), 0.25) == -2.0


# ---- the inputs of the cases ---------------------------------------------------------------------

def _assert_same_inputs(got, want):
    assert len(got) == len(want)
    for (args, kwargs), (want_args, want_kwargs) in zip(got, want, strict=True):
        assert kwargs == want_kwargs
        assert len(args) == len(want_args)
        for a, w in zip(args, want_args, strict=True):
            if isinstance(w, float):
                assert type(a) is float and a == w
            else:
                assert isinstance(a, np.ndarray) and a.dtype == np.float64
                np.testing.assert_allclose(a, w, rtol=1e-14, atol=0)


def test_the_cases_are_the_ones_their_descriptions_describe(capsys):
    z = np.array([[-2.0, -0.5, 0.5, 3.0]])
    (dout3, z3), (dout5, z5) = _leaky_data()
    _assert_same_inputs(_inputs(check_leaky_relu_backward, _module._leaky_reference), [
        ((np.ones((1, 4)), z), {}),
        ((np.array([[1.0, 2.0, 3.0, 4.0]]), z), {}),
        ((dout3, z3), {"negative_slope": 0.2}),
        ((np.ones((2, 3)), np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 2.0]])), {}),
        ((dout5, z5), {"negative_slope": 0.0}),
    ])
    softmax = [((np.eye(2), np.array([[0.25, 0.75], [0.6, 0.4]])), {})]
    softmax += [(data, {}) for data in _softmax_data()]
    _assert_same_inputs(_inputs(check_softmax_backward, _module._softmax_reference), softmax)
    (dout3, z3), (dout4, z4) = _prelu_data()
    _assert_same_inputs(_inputs(check_prelu_slope_grad, _module._prelu_reference), [
        ((np.ones((1, 2)), np.array([[-2.0, 1.0]]), 0.25), {}),
        ((np.ones((2, 2)), np.array([[1.0, 2.0], [0.5, 3.0]]), 0.25), {}),
        ((dout3, z3, 0.1), {}),
        ((dout4, z4, -0.5), {}),
    ])
    capsys.readouterr()


def test_the_cases_keep_the_exercises_promises(capsys):
    # dout and z (or p) of one shape (N, D); p a softmax: positive rows summing to 1, the
    # uniform dout's p of 3 classes, the confident row above 0.99; z all positive in
    # PReLU's case 2, and some z exactly 0 in Leaky ReLU's case 4.
    leaky = _inputs(check_leaky_relu_backward, _module._leaky_reference)
    for (dout, z), kwargs in leaky:
        assert dout.ndim == 2 and dout.shape == z.shape and set(kwargs) <= {"negative_slope"}
    assert np.count_nonzero(leaky[3][0][1] == 0) == 3
    assert leaky[2][0][0].shape == (5, 3) and leaky[4][0][0].shape == (4, 6)
    softmax = _inputs(check_softmax_backward, _module._softmax_reference)
    for (dout, p), kwargs in softmax:
        assert dout.ndim == 2 and dout.shape == p.shape and not kwargs
        assert np.all(p > 0)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    assert [args[1].shape for args, _ in softmax] == [(2, 2), (1, 3), (4, 3), (3, 5), (1, 4)]
    assert softmax[4][0][1].max() > 0.99
    prelu = _inputs(check_prelu_slope_grad, _module._prelu_reference)
    for (dout, z, a), kwargs in prelu:
        assert dout.ndim == 2 and dout.shape == z.shape and isinstance(a, float) and not kwargs
    assert np.all(prelu[1][0][1] > 0)
    assert [args[0].shape for args, _ in prelu] == [(1, 2), (2, 2), (5, 4), (3, 2)]
    capsys.readouterr()


# ---- the tolerances -----------------------------------------------------------------------------

def _off_on_case(reference, k, delta):
    """The reference, except that case k's result has ``delta`` added to its first entry."""
    calls = []

    def answer(*args, **kwargs):
        calls.append(None)
        out = reference(*args, **kwargs)
        if len(calls) == k:
            out = np.array(out, dtype=float)
            out.flat[0] += delta
        return out
    return answer


@pytest.mark.parametrize("delta, passes", [
    (0.5e-12, True),      # within atol = 1e-12 of an expected 0
    (5e-12, False),       # beyond it (run_check's default atol of 1e-9 would pass it)
])
def test_softmax_tolerance_is_atol_1e12_near_zero(delta, passes, capsys):
    # Case 2's result is 0 exactly: only atol decides.
    assert bool(check_softmax_backward(_off_on_case(softmax_reference, 2, delta))) is passes
    capsys.readouterr()


@pytest.mark.parametrize("delta, passes", [
    (1e-6 * 0.1875 + 0.5e-12, True),   # within rtol |x| + atol = 1e-6 * 0.1875 + 1e-12
    (1e-6 * 0.1875 + 5e-12, False),    # just beyond it
])
def test_softmax_tolerance_is_rtol_1e6(delta, passes, capsys):
    # Case 1's first entry is 0.25 * 0.75 = 0.1875.
    assert bool(check_softmax_backward(_off_on_case(softmax_reference, 1, delta))) is passes
    capsys.readouterr()


@pytest.mark.parametrize("delta, passes", [
    (1e-6 * 0.01 + 0.5e-9, True),      # within rtol |x| + atol = 1e-6 * 0.01 + 1e-9
    (1e-6 * 0.01 + 5e-9, False),       # just beyond it
])
def test_leaky_tolerance_is_rtol_1e6_and_atol_1e9(delta, passes, capsys):
    # Case 1's first entry is the slope 0.01.
    assert bool(check_leaky_relu_backward(_off_on_case(leaky_reference, 1, delta))) is passes
    capsys.readouterr()


# ---- the PReLU answer as a number or as an array of one number ---------------------------------

def _prelu_as(make):
    return lambda dout, z, a: make(prelu_reference(dout, z, a))


@pytest.mark.parametrize("make", [
    lambda g: np.array(g),                                  # shape ()
    lambda g: np.array([g]),                                # shape (1,), like PReLU().a.grad
    lambda g: np.array([[g]]),                              # shape (1, 1)
    lambda g: torch.tensor(g, dtype=torch.float64),         # torch, shape ()
    lambda g: torch.tensor([g], dtype=torch.float64),       # torch, shape (1,)
    lambda g: torch.tensor([[g]], dtype=torch.float64),     # torch, shape (1, 1)
], ids=["np0", "np1", "np11", "torch0", "torch1", "torch11"])
def test_prelu_accepts_one_number_in_any_array(make, capsys):
    assert check_prelu_slope_grad(_prelu_as(make))
    assert capsys.readouterr().out == "✓ ex-activations-prelu-slope: all 4 cases pass.\n"


@pytest.mark.parametrize("make", [
    lambda g: np.full((2, 1), g),                           # two numbers, even if equal
    lambda g: np.full((1, 2), g),
    lambda g: np.full((2,), g),
], ids=["2x1", "1x2", "2"])
def test_prelu_refuses_several_numbers(make, capsys):
    result = check_prelu_slope_grad(_prelu_as(make))
    assert not result
    assert result.message == (
        "✗ ex-activations-prelu-slope, case 1 of 4 (one row z = [-2, 1] with dout = [1, 1] and "
        "a = 0.25): the result should be a number, received ndarray.\n"
        "  Hint: only the entries with z <= 0 depend on a: there g(z) = a z, so dg/da = z; and "
        "one slope is shared by all units: sum over every axis, not axis 0 (one number, not one "
        "per unit).")
    capsys.readouterr()
