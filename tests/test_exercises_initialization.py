"""The checks of the initialisation chapter's exercises: right answers pass, wrong ones are explained."""

import math
import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import probe_messages
from conftest import raised_message as _raised

from nnbook.exercises import initialization as ex

# ---------------------------------------------------------------- he_normal

def he_right(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def he_uniform_right(shape, fan_in, fan_out, rng):
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def he_torch(shape, fan_in, fan_out, rng):
    return torch.nn.init.kaiming_normal_(torch.empty(shape, dtype=torch.float64),
                                         generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("fn", [he_right, he_torch])
def test_he_normal_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_he_normal, fn, capsys)
    assert result and message == "✓ ex-init-he-normal: all 4 cases pass."


def test_he_normal_refuses_a_uniform_answer(capsys):
    result, message = _verdict(ex.check_he_normal, he_uniform_right, capsys)
    assert not result
    assert re.search(r"case 1 of 4 .*: the weights have kurtosis E\[w\^4\]/Var\(w\)\^2 = "
                     r"1\.8\d, expected 3 for a normal distribution \(within 0\.10\)\.\n  "
                     r"1\.8 is the kurtosis of a uniform distribution: draw from "
                     r"rng\.normal\.$", message), message


def test_he_normal_refuses_global_random_state(capsys):
    def global_state(shape, fan_in, fan_out, rng):
        return np.random.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)  # noqa: NPY002

    result, message = _verdict(ex.check_he_normal, global_state, capsys)
    assert not result
    assert message == (
        "✗ ex-init-he-normal, case 4 of 4 (the same call twice, with two generators of "
        "the same seed): two calls with generators of the same seed, "
        "np.random.default_rng(7), gave different weights.\n  Draw from the rng argument, "
        "not from np.random's global state: the same rng seed must give the same network.")


def test_he_normal_placeholder(capsys):
    result, message = _verdict(ex.check_he_normal, _placeholder, capsys)
    assert not result
    assert message == ("✗ ex-init-he-normal: not answered yet. Replace `raise "
                       "NotImplementedError()` with your code, then run this cell again.")


@pytest.mark.parametrize("wrong, expected", [
    (lambda s, fi, fo, r: r.normal(0.0, np.sqrt(2.0 / (fi + fo)), size=s),
     r"the weights have variance 0\.003\d+, expected 2/fan_in = 0\.005 \(within 0\.000\d+ "
     r"for 80000 draws\)\.\n  This is Xavier's variance 2/\(fan_in \+ fan_out\); He's uses "
     r"fan_in alone: 2/fan_in\.$"),
    (lambda s, fi, fo, r: r.normal(0.0, 2.0 / fi, size=s),
     r"expected 2/fan_in = 0\.005 .*\n  The variance is \(2/fan_in\)\^2: numpy's normal\(loc, "
     r"scale\) takes the standard deviation, the square root of the variance\.$"),
    (lambda s, fi, fo, r: r.normal(0.0, np.sqrt(1.0 / fi), size=s),
     r"\n  This is LeCun's 1/fan_in: the factor 2 that makes up for ReLU zeroing half its "
     r"inputs is missing\.$"),
    (lambda s, fi, fo, r: r.uniform(-np.sqrt(2 / fi), np.sqrt(2 / fi), size=s),
     r"\n  The variance is a third of 2/fan_in: a uniform U\(-a, a\) has variance a\^2/3"),
    (lambda s, fi, fo, r: r.normal(0.0, np.sqrt(2.0 / fi), size=s[::-1]),
     r"the result has shape \(400, 200\), expected \(200, 400\)\.\n  It is transposed"),
    (lambda s, fi, fo, r: np.full(s, np.sqrt(2.0 / fi)),
     r"all 80000 weights are equal: draw every weight independently"),
    (lambda s, fi, fo, r: np.sqrt(2.0 / fi) * r.choice([-1.0, 1.0], size=s),
     r"the 80000 weights take only 2 distinct values: draw each from a continuous normal "
     r"distribution \(rng\.normal\), not from a few fixed values\.$"),
    (lambda s, fi, fo, r: 0.1 + r.normal(0.0, np.sqrt(2.0 / fi), size=s),
     r"the weights have mean 0\.(09999?\d*|1), expected 0 \(within 0\.0015\)\.$"),
])
def test_he_normal_explains_wrong_answers(wrong, expected, capsys):
    result, message = _verdict(ex.check_he_normal, wrong, capsys)
    assert not result
    assert message.startswith("✗ ex-init-he-normal, case 1 of 4 (shape (200, 400): "
                              "fan_in = 400, fan_out = 200): ")
    assert re.search(expected, message), message


def test_he_normal_fan_out_fails_on_the_second_case(capsys):
    # on case 1 2/fan_out = 0.01 is caught too; a square-insensitive error shows on case 2
    result, message = _verdict(
        ex.check_he_normal, lambda s, fi, fo, r: r.normal(0.0, np.sqrt(2.0 / fo), size=s),
        capsys)
    assert not result
    assert "This is 2/fan_out: use fan_in (the forward mode)." in message


# ---------------------------------------------------------------- forward_stds

def stds_right(X, weights, activation):
    a, out = X, []
    for W in weights:
        z = a @ W.T
        out.append(z.std())
        a = activation(z)
    return np.array(out)


def stds_of_activations(X, weights, activation):
    a, out = X, []
    for W in weights:
        a = activation(a @ W.T)
        out.append(a.std())
    return np.array(out)


def stds_per_unit(X, weights, activation):
    a, out = X, []
    for W in weights:
        z = a @ W.T
        out.append(z.std(axis=0).mean())
        a = activation(z)
    return np.array(out)


def stds_untransposed(X, weights, activation):
    a, out = X, []
    for W in weights:
        z = a @ W
        out.append(z.std())
        a = activation(z)
    return np.array(out)


def test_forward_stds_passes(capsys):
    result, message = _verdict(ex.check_forward_stds, stds_right, capsys)
    assert result and message == "✓ ex-init-layer-stds: all 4 cases pass."


def test_forward_stds_placeholder(capsys):
    result, message = _verdict(ex.check_forward_stds, _placeholder, capsys)
    assert not result and "not answered yet" in message


@pytest.mark.parametrize("wrong, start", [
    (stds_of_activations, "✗ ex-init-layer-stds, case 1 of 4 (4 square tanh layers of width "
                          "6, a batch of 32): the result has wrong values.\n  First wrong entry "
                          "at index (0,): expected "),
    (stds_per_unit, "✗ ex-init-layer-stds, case 1 of 4 (4 square tanh layers of width 6, a "
                    "batch of 32): the result has wrong values."),
    (stds_untransposed, "✗ ex-init-layer-stds, case 1 of 4"),
])
def test_forward_stds_explains_wrong_answers(wrong, start, capsys):
    result, message = _verdict(ex.check_forward_stds, wrong, capsys)
    assert not result
    assert message.startswith(start), message
    assert "Hint: record the std of z_l = a_{l-1} W_l^T, before the activation" in message


def test_forward_stds_untransposed_fails_on_rectangular_layers(capsys):
    def square_ok(X, weights, activation):          # right on square layers only
        return stds_untransposed(X, weights, activation) if weights[0].shape[0] != 6 or len(
            weights) == 3 else stds_right(X, weights, activation)
    result, message = _verdict(ex.check_forward_stds, square_ok, capsys)
    assert not result
    assert message.startswith("✗ ex-init-layer-stds, case 2 of 4 (3 ReLU layers of widths 8, "
                              "3, 5 (fan_in differs from fan_out)): your function raised "
                              "ValueError: matmul")
    assert message.endswith("Hint: a weight matrix has shape (fan_out, fan_in): z = a @ W.T.")


def stds_ddof1(X, weights, activation):
    a, out = X, []
    for W in weights:
        z = a @ W.T
        out.append(z.std(ddof=1))
        a = activation(z)
    return np.array(out)


def stds_torch_default(X, weights, activation):
    a, out = torch.as_tensor(X), []
    for W in weights:
        z = a @ torch.as_tensor(W).T
        out.append(float(z.std()))                   # torch's std is unbiased by default
        a = torch.as_tensor(activation(z.numpy()))
    return np.array(out)


@pytest.mark.parametrize("wrong", [stds_ddof1, stds_torch_default])
def test_forward_stds_diagnoses_the_sample_std(wrong, capsys):
    result, message = _verdict(ex.check_forward_stds, wrong, capsys)
    assert not result
    assert message.startswith(
        "✗ ex-init-layer-stds, case 1 of 4 (4 square tanh layers of width 6, a batch of "
        "32): every entry is 1.0026 = sqrt(n/(n-1)) times the expected one, with n = 192 "
        "entries of z: this is the sample std with ddof=1.\n  Use the population std: "
        "NumPy's default ddof=0; in torch, z.std(unbiased=False) or z.std(correction=0)."), \
        message


# ---------------------------------------------------------------- orthogonal

def orth_right(shape, rng, gain=1.0):
    rows, cols = shape
    A = rng.standard_normal((rows, cols))
    if rows < cols:
        A = A.T
    Q, R = np.linalg.qr(A)
    Q = Q * np.sign(np.diag(R))
    return gain * (Q.T if rows < cols else Q)


def orth_no_sign_fix(shape, rng, gain=1.0):
    rows, cols = shape
    A = rng.standard_normal((rows, cols))
    Q = np.linalg.qr(A.T if rows < cols else A)[0]
    return gain * (Q.T if rows < cols else Q)


def orth_first_column_sign_only(shape, rng, gain=1.0):
    rows, cols = shape
    A = rng.standard_normal((rows, cols))
    Q, R = np.linalg.qr(A.T if rows < cols else A)
    Q[:, 0] *= np.sign(R[0, 0])
    return gain * (Q.T if rows < cols else Q)


def orth_returns_r(shape, rng, gain=1.0):
    return gain * np.linalg.qr(rng.standard_normal(shape))[1]


def orth_no_transpose(shape, rng, gain=1.0):
    Q, R = np.linalg.qr(rng.standard_normal(shape))
    return gain * Q * np.sign(np.diag(R))


def orth_no_gain(shape, rng, gain=1.0):
    return orth_right(shape, rng)


def test_orthogonal_passes(capsys):
    result, message = _verdict(ex.check_orthogonal, orth_right, capsys)
    assert result and message == "✓ ex-init-orthogonal: all 5 cases pass."


def test_orthogonal_placeholder(capsys):
    result, message = _verdict(ex.check_orthogonal, _placeholder, capsys)
    assert not result and "not answered yet" in message


def test_orthogonal_not_a_function(capsys):
    result, message = _verdict(ex.check_orthogonal, orth_right((3, 3), np.random.default_rng(0)),
                               capsys)
    assert not result
    assert message == ("✗ ex-init-orthogonal: pass your function itself (without calling it), "
                       "received ndarray.")


@pytest.mark.parametrize("wrong, expected", [
    (orth_returns_r, "✗ ex-init-orthogonal, case 1 of 5 (a square 5 x 5 matrix): the rows "
                     "are not orthonormal (times gain 1): the largest entry of W W^T - gain^2 I "
                     "is "),
    (orth_no_transpose, "✗ ex-init-orthogonal, case 3 of 5 (a wide 3 x 7 matrix: orthonormal "
                        "rows): the result has shape (3, 3), expected (3, 7).\n  For a wide "
                        "matrix (rows < cols) decompose the transpose, then transpose Q back."),
    (orth_no_gain, "✗ ex-init-orthogonal, case 4 of 5 (a 4 x 4 matrix with gain 2): the rows "
                   "are not orthonormal (times gain 2)"),
    (orth_no_sign_fix, "✗ ex-init-orthogonal, case 5 of 5 (3000 draws of a 3 x 3 matrix: their "
                       "distribution): over 3000 draws of a 3 x 3 matrix, W[0, 0] has mean "),
    (orth_first_column_sign_only, "✗ ex-init-orthogonal, case 5 of 5 (3000 draws of a 3 x 3 "
                                  "matrix: their distribution): over 3000 draws of a 3 x 3 "
                                  "matrix, W[1, 1] has mean -0."),
])
def test_orthogonal_explains_wrong_answers(wrong, expected, capsys):
    result, message = _verdict(ex.check_orthogonal, wrong, capsys)
    assert not result
    assert message.startswith(expected), message


def test_orthogonal_sign_fix_hint(capsys):
    _, message = _verdict(ex.check_orthogonal, orth_no_sign_fix, capsys)
    assert message.endswith("multiply each column of Q by the sign of the matching diagonal "
                            "entry of R.")


# ---- every case's message, whole -----------------------------------------------------------------
# The messages are asserted whole. The numbers they quote (a variance, a mean, a kurtosis)
# are recomputed here from the same draws (the case's seeded generator, the answer's own
# formula) with direct NumPy formulas, never by nnbook's check.

class _Stop(Exception):
    """What a probe answer raises on the case it stops at."""


def _raising_on_call(k, right):
    """``right``, except that its k-th call raises ``_Stop("probe")``."""
    calls = []

    def answer(*args, **kwargs):
        calls.append(None)
        if len(calls) == k:
            raise _Stop("probe")
        return right(*args, **kwargs)
    return answer


HE = "ex-init-he-normal"
HE_CASE1 = f"✗ {HE}, case 1 of 4 (shape (200, 400): fan_in = 400, fan_out = 200): "
HE_FAN_IN_HINT = "fan_in is the number of inputs of a unit, the second entry of the shape."
HE_RAISED = {
    1: _raised(HE, 1, 4, "shape (200, 400): fan_in = 400, fan_out = 200"),
    2: _raised(HE, 2, 4, "shape (500, 100): fan_in = 100, fan_out = 500", HE_FAN_IN_HINT),
    3: _raised(HE, 3, 4, "shape (64, 320): fan_in = 320, fan_out = 64"),
    4: _raised(HE, 4, 4, "the same call twice, with two generators of the same seed"),
}


@pytest.mark.parametrize("k", sorted(HE_RAISED))
def test_he_normal_every_case_explains_itself(k, capsys):
    result, message = _verdict(ex.check_he_normal, _raising_on_call(k, he_right), capsys)
    assert not result and message == HE_RAISED[k]


def _recorded(check, right):
    """The arguments of every call of the answer ``right``, rng as its state at the call."""
    seen = []

    def recording(*args, **kwargs):
        seen.append((*(a.bit_generator.state if isinstance(a, np.random.Generator) else a
                       for a in args), kwargs))
        return right(*args, **kwargs)

    assert check(recording)
    return seen


def _state(seed):
    return np.random.default_rng(seed).bit_generator.state


def test_he_normal_cases_are_the_ones_their_descriptions_describe(capsys):
    # Three draws whose fan_in (the second entry of the shape) differs from fan_out, from
    # generators seeded 0, 1, 2; then twice (50, 40) from two generators seeded 7.
    assert _recorded(ex.check_he_normal, he_right) == [
        ((200, 400), 400, 200, _state(0), {}), ((500, 100), 100, 500, _state(1), {}),
        ((64, 320), 320, 64, _state(2), {}),
        ((50, 40), 40, 50, _state(7), {}), ((50, 40), 40, 50, _state(7), {})]
    capsys.readouterr()


def _he_draws(shape, fan_in, seed, draw):
    """The weights of the answer ``draw(rng, shape)`` for the case seeded ``seed``."""
    return np.asarray(draw(np.random.default_rng(seed), shape), dtype=float)


def _variance_message(w, var, n, hint=""):
    tol = 6 * var * np.sqrt(2.0 / n)
    text = (f"the weights have variance {np.var(w):.4g}, expected 2/fan_in = {var:.4g} "
            f"(within {tol:.2g} for {n} draws).")
    return text + (f"\n  {hint}" if hint else "")


def _standardised(x, std, mean=0.0):
    """``x`` shifted and scaled to this mean and standard deviation (as NumPy computes them)."""
    return mean + std * (x - x.mean()) / x.std()


HE_VARIANCE_WRONG = {
    "xavier": (lambda r, s: r.normal(0.0, np.sqrt(2.0 / 600), size=s),
               "This is Xavier's variance 2/(fan_in + fan_out); He's uses fan_in alone: "
               "2/fan_in."),
    "lecun": (lambda r, s: r.normal(0.0, np.sqrt(1.0 / 400), size=s),
              "This is LeCun's 1/fan_in: the factor 2 that makes up for ReLU zeroing half its "
              "inputs is missing."),
    "fan_out": (lambda r, s: r.normal(0.0, np.sqrt(2.0 / 200), size=s),
                "This is 2/fan_out: use fan_in (the forward mode)."),
    "squared": (lambda r, s: r.normal(0.0, 2.0 / 400, size=s),
                "The variance is (2/fan_in)^2: numpy's normal(loc, scale) takes the standard "
                "deviation, the square root of the variance."),
    "standard": (lambda r, s: r.standard_normal(s),
                 "The variance is 1: the weights are standard normal, not scaled."),
    "uniform_third": (lambda r, s: r.uniform(-np.sqrt(2.0 / 400), np.sqrt(2.0 / 400), size=s),
                      "The variance is a third of 2/fan_in: a uniform U(-a, a) has variance "
                      "a^2/3, so its bound for He is sqrt(6/fan_in), or draw from a normal."),
    # 3.3 % too large: beyond the tolerance 6 * sqrt(2/n) = 3 %, and like no known mistake
    "no_diagnosis": (lambda r, s: _standardised(r.standard_normal(s), np.sqrt(0.005 * 1.033)),
                     ""),
}


@pytest.mark.parametrize("name", sorted(HE_VARIANCE_WRONG))
def test_he_normal_names_the_variance_it_measured(name, capsys):
    draw, hint = HE_VARIANCE_WRONG[name]
    w = _he_draws((200, 400), 400, 0, draw)
    result, message = _verdict(ex.check_he_normal, lambda s, fi, fo, r: draw(r, s), capsys)
    assert not result
    assert message == HE_CASE1 + _variance_message(w, 0.005, 80000, hint)


@pytest.mark.parametrize("factor, passes", [
    (1.0 + 0.03 * 0.99, True),     # within 6 * sqrt(2/n) = 3 % of 2/fan_in on all 80000 draws
    (1.0 + 0.03 * 1.01, False),    # just beyond it
    (1.0 - 0.03 * 0.99, True),
    (1.0 - 0.03 * 1.01, False),
])
def test_he_normal_variance_tolerance_is_six_standard_errors(factor, passes, capsys):
    def answer(shape, fan_in, fan_out, rng):
        return _standardised(rng.standard_normal(shape), np.sqrt(2.0 / fan_in * factor))

    result, message = _verdict(ex.check_he_normal, answer, capsys)
    assert bool(result) is passes, message


def _kurtosis_message(w, n, uniform_hint):
    k = np.mean((w - w.mean()) ** 4) / np.var(w) ** 2
    k_tol = 6 * np.sqrt(24.0 / n)
    return (f"the weights have kurtosis E[w^4]/Var(w)^2 = {k:.2f}, expected 3 for a normal "
            f"distribution (within {k_tol:.2f})."
            + ("\n  1.8 is the kurtosis of a uniform distribution: draw from rng.normal."
               if uniform_hint else ""))


def test_he_normal_tells_a_heavy_tail_by_its_kurtosis(capsys):
    # A Laplace distribution of the right mean and variance: kurtosis 6, no uniform hint.
    def laplace(r, s):
        return _standardised(r.laplace(0.0, 1.0, size=s), np.sqrt(2.0 / s[1]))

    w = _he_draws((200, 400), 400, 0, laplace)
    result, message = _verdict(ex.check_he_normal, lambda s, fi, fo, r: laplace(r, s), capsys)
    assert not result
    assert message == HE_CASE1 + _kurtosis_message(w, 80000, uniform_hint=False)
    assert "= 5.9" in message or "= 6.0" in message or "= 6.1" in message


def test_he_normal_measures_the_kurtosis_around_the_mean(capsys):
    # Right on the first two cases; on the third a uniform draw shifted by 0.9 times the
    # mean's tolerance 6 sqrt(var/n): the kurtosis is that of the centred draws (1.79), not
    # of the draws around minus their mean (1.83).
    def shifted_uniform(r, s):
        var, n = 2.0 / s[1], s[0] * s[1]
        u = r.uniform(-1.0, 1.0, size=s)
        return _standardised(u, np.sqrt(var), mean=0.9 * 6 * np.sqrt(var / n))

    def answer(shape, fan_in, fan_out, rng):
        return shifted_uniform(rng, shape) if shape == (64, 320) else he_right(
            shape, fan_in, fan_out, rng)

    w = _he_draws((64, 320), 320, 2, shifted_uniform)
    result, message = _verdict(ex.check_he_normal, answer, capsys)
    assert not result
    assert message == (f"✗ {HE}, case 3 of 4 (shape (64, 320): fan_in = 320, fan_out = 64): "
                       + _kurtosis_message(w, 20480, uniform_hint=True))
    assert "= 1.79," in message


def test_he_normal_refuses_a_uniform_answer_whole(capsys):
    w = _he_draws((200, 400), 400, 0, lambda r, s: he_uniform_right(s, 400, 200, r))
    result, message = _verdict(ex.check_he_normal, he_uniform_right, capsys)
    assert not result
    assert message == HE_CASE1 + _kurtosis_message(w, 80000, uniform_hint=True)


HE_OTHER_WRONG = [
    (lambda s, fi, fo, r: he_right(s[::-1], fi, fo, r),
     "the result has shape (400, 200), expected (200, 400).\n  It is transposed: the weight "
     "of a layer is (fan_out, fan_in) = shape as given."),
    (lambda s, fi, fo, r: he_right((s[0], s[1] - 1), fi, fo, r),
     "the result has shape (200, 399), expected (200, 400)."),
    (lambda s, fi, fo, r: np.full(s, np.nan),
     "the result holds NaN or infinite values."),
    (lambda s, fi, fo, r: np.full(s, np.sqrt(2.0 / fi)),
     "all 80000 weights are equal: draw every weight independently (constant weights cannot "
     "break symmetry)."),
    (lambda s, fi, fo, r: he_right(s, fi, fo, r).tolist(),
     "the result should be an array, received list."),
    (lambda s, fi, fo, r: np.resize(he_right((2 * s[0] * s[1] // 5,), fi, fo, r), s),
     "the 80000 weights take only 32000 distinct values: draw each from a continuous normal "
     "distribution (rng.normal), not from a few fixed values."),
]


@pytest.mark.parametrize("wrong, body", HE_OTHER_WRONG)
def test_he_normal_other_mistakes_whole(wrong, body, capsys):
    result, message = _verdict(ex.check_he_normal, wrong, capsys)
    assert not result and message == HE_CASE1 + body


def test_he_normal_accepts_half_as_many_distinct_values(capsys):
    # Every value twice: n/2 distinct values is still enough (fewer is refused).
    def twice(shape, fan_in, fan_out, rng):
        v = he_right((shape[0] * shape[1] // 2,), fan_in, fan_out, rng)
        return np.concatenate([v, v]).reshape(shape)

    result, message = _verdict(ex.check_he_normal, twice, capsys)
    assert result, message


def test_he_normal_mean_tolerance_is_inclusive(capsys):
    # Weights whose mean is exactly the tolerance 6 sqrt(var/n) pass the test of the mean.
    shape, var = (200, 400), 0.005
    tol = 6.0 * np.sqrt(var / 80000)
    w = _standardised(np.random.default_rng(0).standard_normal(shape), np.sqrt(var), tol)
    first = w[0, 0]
    for k in range(-300, 300):      # nudge one weight until the mean lands on tol exactly
        w[0, 0] = first + k * 4e-15
        if w.mean() == tol:
            break
    assert w.mean() == tol

    def answer(s, fi, fo, r):
        return w.copy() if s == shape else he_right(s, fi, fo, r)

    result, message = _verdict(ex.check_he_normal, answer, capsys)
    assert result, message
    w_beyond = np.nextafter(w, np.inf)      # each weight one ulp up: the mean beyond tol

    def beyond(s, fi, fo, r):
        return w_beyond.copy() if s == shape else he_right(s, fi, fo, r)

    assert w_beyond.mean() > tol
    result, message = _verdict(ex.check_he_normal, beyond, capsys)
    assert not result
    assert message == HE_CASE1 + (f"the weights have mean {w_beyond.mean():.4g}, expected 0 "
                                  f"(within {tol:.2g}).")


def test_he_normal_same_seed_case_needs_arrays(capsys):
    def answer(shape, fan_in, fan_out, rng):
        w = he_right(shape, fan_in, fan_out, rng)
        return w.tolist() if shape == (50, 40) else w

    result, message = _verdict(ex.check_he_normal, answer, capsys)
    assert not result
    assert message == (f"✗ {HE}, case 4 of 4 (the same call twice, with two generators of "
                       "the same seed): your function raised AssertionError: the result "
                       "should be an array, received list.")


def test_he_normal_not_a_function(capsys):
    result, message = _verdict(ex.check_he_normal, np.zeros((2, 2)), capsys)
    assert not result
    assert message == ("✗ ex-init-he-normal: pass your function itself (without calling it), "
                       "received ndarray.")


# ---- forward_stds: every case, whole -------------------------------------------------------------

STDS = "ex-init-layer-stds"
STDS_Z_HINT = ("record the std of z_l = a_{l-1} W_l^T, before the activation, pooled over the "
               "whole batch and all units of the layer.")
STDS_RAISED = {
    1: _raised(STDS, 1, 4, "4 square tanh layers of width 6, a batch of 32", STDS_Z_HINT),
    2: _raised(STDS, 2, 4, "3 ReLU layers of widths 8, 3, 5 (fan_in differs from fan_out)",
               "a weight matrix has shape (fan_out, fan_in): z = a @ W.T."),
    3: _raised(STDS, 3, 4, "1 linear layer (identity activation)"),
    4: _raised(STDS, 4, 4, "4 layers and a batch of one sample",
               "pool over every entry of z: with one sample there are still 6 units."),
}


def _stds_data():
    """The batch X (32, 6), the 4 square layers and the 3 rectangular ones, as the cases
    draw them from one generator seeded 5: N(0, 1/fan_in) weights."""
    r = np.random.default_rng(5)
    X = r.standard_normal((32, 6))
    sq = [r.standard_normal((6, 6)) / np.sqrt(6) for _ in range(4)]
    rect = [r.standard_normal((8, 6)) / np.sqrt(6), r.standard_normal((3, 8)) / np.sqrt(8),
            r.standard_normal((5, 3)) / np.sqrt(3)]
    return X, sq, rect


def _stds_by_torch(X, weights, activation):
    """The population std of every z_l, by torch (correction=0)."""
    a, out = torch.as_tensor(X), []
    for W in weights:
        z = torch.nn.functional.linear(a, torch.as_tensor(W))
        out.append(float(torch.std(z, correction=0)))
        a = activation(z)
    return np.array(out)


def _stds_expected():
    X, sq, rect = _stds_data()
    return {1: _stds_by_torch(X, sq, torch.tanh), 2: _stds_by_torch(X, rect, torch.relu),
            3: _stds_by_torch(X, sq[:1], lambda z: z), 4: _stds_by_torch(X[:1], sq, torch.tanh)}


def _stds_entry_messages(raised, expected):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return [f"{head}: the result has wrong values.\n  First wrong entry at index ({j},): "
            f"expected {e:.6g}, received {e + 1:.6g}.{hints}" for j, e in enumerate(expected)]


def test_forward_stds_every_case_explains_itself(capsys):
    got_raised, got_entries = probe_messages(ex.check_forward_stds, ex._forward_stds_reference)
    capsys.readouterr()
    assert got_raised == STDS_RAISED
    expected = _stds_expected()
    assert got_entries == {k: _stds_entry_messages(STDS_RAISED[k], expected[k])
                           for k in STDS_RAISED}


def test_forward_stds_cases_are_the_ones_their_descriptions_describe(capsys):
    seen = []

    def recording(X, weights, activation):
        seen.append((X, weights, activation))
        return stds_right(X, weights, activation)

    assert ex.check_forward_stds(recording)
    capsys.readouterr()
    X, sq, rect = _stds_data()
    want = [(X, sq), (X, rect), (X, sq[:1]), (X[:1], sq)]
    assert len(seen) == len(want)
    for (got_X, got_w, _), (want_X, want_w) in zip(seen, want, strict=True):
        np.testing.assert_array_equal(got_X, want_X)
        assert [w.shape for w in got_w] == [w.shape for w in want_w]
        for g, w in zip(got_w, want_w, strict=True):
            np.testing.assert_array_equal(g, w)
    # The activations: tanh, ReLU, the identity, tanh.
    z = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    for (_, _, g), want_g in zip(seen, [np.tanh(z), np.maximum(z, 0.0), z, np.tanh(z)],
                                 strict=True):
        np.testing.assert_array_equal(g(z), want_g)


def _scaled_stds(factors):
    """The right stds, entry l multiplied by factors[l] (on every case)."""
    def answer(X, weights, activation):
        s = stds_right(X, weights, activation)
        return s * np.asarray(factors, dtype=float)[:len(s)]
    return answer


def _case1_stds():
    X, sq, _ = _stds_data()
    return _stds_by_torch(X, sq, torch.tanh)


STDS_CASE1 = (f"✗ {STDS}, case 1 of 4 (4 square tanh layers of width 6, a batch of 32): ")


def test_forward_stds_ddof1_message_whole(capsys):
    result, message = _verdict(ex.check_forward_stds, stds_ddof1, capsys)
    assert not result
    assert message == STDS_CASE1 + (
        "every entry is 1.0026 = sqrt(n/(n-1)) times the expected one, with n = 192 entries "
        "of z: this is the sample std with ddof=1.\n  Use the population std: NumPy's default "
        "ddof=0; in torch, z.std(unbiased=False) or z.std(correction=0).\n  Hint: " + STDS_Z_HINT)


def _generic(index, expected, received, extra=""):
    return STDS_CASE1 + (f"the result has wrong values.\n  First wrong entry at index ({index},): "
                         f"expected {expected}, received {received}.{extra}\n  Hint: "
                         + STDS_Z_HINT)


def test_forward_stds_ddof1_on_one_layer_is_no_constant_factor(capsys):
    # ddof=1 on the first layer only: the ratios are not one factor, no ddof diagnosis.
    r = np.sqrt(192 / 191)
    result, message = _verdict(ex.check_forward_stds, _scaled_stds([r, 1, 1, 1]), capsys)
    assert not result
    e = _case1_stds()[0]
    assert message == _generic(0, f"{e:.6g}", f"{e * r:.6g}")


def test_forward_stds_one_percent_too_large_is_no_ddof(capsys):
    # A constant factor 1.01 is sqrt(n/(n-1)) for n = 50.75, not a whole number of entries.
    result, message = _verdict(ex.check_forward_stds, _scaled_stds([1.01] * 4), capsys)
    assert not result
    e = _case1_stds()[0]
    assert message == _generic(
        0, f"{e:.6g}", f"{e * 1.01:.6g}",
        " (4 of 4 entries differ.)\n  Every entry is 1.01 times the expected one: look for a "
        "missing or extra constant factor (a sum in place of a mean, a missing 1/N or 1/2, a "
        "learning rate).")


def test_forward_stds_ratios_equal_within_1e8_are_one_factor(capsys):
    # The ddof factor, wobbling by less than 1e-8 + 1e-8 r between layers: still one factor
    # (ratios measured against the first layer's), and n is read from the first layer's.
    r = np.sqrt(192 / 191)
    answer = _scaled_stds([r, r - 0.5e-8, r + 1.9e-8, r])
    result, message = _verdict(ex.check_forward_stds, answer, capsys)
    assert not result
    assert message.startswith(STDS_CASE1 + "every entry is 1.0026 = sqrt(n/(n-1)) times the "
                              "expected one, with n = 192 entries of z"), message
    # A wobble of 1e-6: not one factor for the ddof test (rtol 1e-8), the generic message
    # (whose own test of a constant factor allows 1e-6).
    result, message = _verdict(ex.check_forward_stds, _scaled_stds([r, r, r * (1 + 1e-6), r]),
                               capsys)
    assert not result
    e = _case1_stds()[0]
    assert message == _generic(
        0, f"{e:.6g}", f"{e * r:.6g}",
        " (4 of 4 entries differ.)\n  Every entry is 1.003 times the expected one: look for a "
        "missing or extra constant factor (a sum in place of a mean, a missing 1/N or 1/2, a "
        "learning rate).")


def test_forward_stds_a_ratio_of_1_on_the_first_layer_is_no_ddof(capsys):
    # Right on the first layer, 1.5e-8 too large on the second (beyond rtol 1e-8): the
    # ratios are one factor within 1e-8, but that factor is 1: the generic message.
    result, message = _verdict(ex.check_forward_stds, _scaled_stds([1, 1 + 1.5e-8, 1, 1]),
                               capsys)
    assert not result
    e = _case1_stds()[1]
    assert message == _generic(1, f"{e:.12g}", f"{e * (1 + 1.5e-8):.12g}")


@pytest.mark.parametrize("rel, abs_, passes", [
    (1e-8, 0.5e-12, True),      # within rtol |x| + atol = 1e-8 |x| + 1e-12
    (1e-8, 5e-12, False),       # just beyond the atol
    (1.2e-8, 0.0, False),       # beyond the rtol (compare's default 1e-6 would pass it)
])
def test_forward_stds_tolerance_is_rtol_1e8_atol_1e12(rel, abs_, passes, capsys):
    def answer(X, weights, activation):
        s = stds_right(X, weights, activation)
        s[-1] += rel * abs(s[-1]) + abs_
        return s

    result, message = _verdict(ex.check_forward_stds, answer, capsys)
    assert bool(result) is passes, message


@pytest.mark.parametrize("wrong, body", [
    (lambda X, W, g: stds_right(X, W, g).tolist(),
     "the result should be an array of shape (4,), received list."),
    (lambda X, W, g: float(stds_right(X, W, g)[0]),
     "the result should be an array, received float."),
    (lambda X, W, g: stds_right(X, W, g)[:3],
     "the result has shape (3,), expected (4,)."),
])
def test_forward_stds_wrong_types_and_shapes(wrong, body, capsys):
    result, message = _verdict(ex.check_forward_stds, wrong, capsys)
    assert not result
    assert message == STDS_CASE1 + body + "\n  Hint: " + STDS_Z_HINT


def test_forward_stds_relu_case_values(capsys):
    # The ReLU case's expected stds, by torch: a ReLU, not max(z, 1).
    X, _, rect = _stds_data()
    want = _stds_by_torch(X, rect, torch.relu)
    got = ex._forward_stds_reference(X, rect, ex._relu)
    np.testing.assert_allclose(got, want, rtol=1e-13)


# ---- orthogonal: every case, whole ---------------------------------------------------------------

ORTH = "ex-init-orthogonal"
ORTH_QR_HINT = "Return the Q factor of a QR decomposition, not R, and multiply it by gain."
ORTH_SIGN_HINT = ("QR's signs are a convention of the algorithm: multiply each column of Q by "
                  "the sign of the matching diagonal entry of R.")
ORTH_RAISED = {
    1: _raised(ORTH, 1, 5, "a square 5 x 5 matrix"),
    2: _raised(ORTH, 2, 5, "a tall 7 x 3 matrix: orthonormal columns"),
    3: _raised(ORTH, 3, 5, "a wide 3 x 7 matrix: orthonormal rows",
               "QR of a wide matrix gives a square Q: decompose its transpose."),
    4: _raised(ORTH, 4, 5, "a 4 x 4 matrix with gain 2"),
    5: _raised(ORTH, 5, 5, "3000 draws of a 3 x 3 matrix: their distribution"),
}


def _orth_head(k):
    return ORTH_RAISED[k].partition(": your function raised")[0] + ": "


def _orth_hints(k):
    return ORTH_RAISED[k].partition(": your function raised _Stop: probe")[2]


@pytest.mark.parametrize("k", sorted(ORTH_RAISED))
def test_orthogonal_every_case_explains_itself(k, capsys):
    result, message = _verdict(ex.check_orthogonal, _raising_on_call(k, orth_right), capsys)
    assert not result and message == ORTH_RAISED[k]


def test_orthogonal_cases_are_the_ones_their_descriptions_describe(capsys):
    # Square, tall, wide, gain 2, from generators seeded 0 to 3; then 3000 draws of a 3 x 3
    # matrix from one generator seeded 11.
    seen = _recorded(ex.check_orthogonal, orth_right)
    assert seen[:4] == [((5, 5), _state(0), {}), ((7, 3), _state(1), {}),
                        ((3, 7), _state(2), {}), ((4, 4), _state(3), {"gain": 2.0})]
    assert len(seen) == 4 + 3000
    assert seen[4] == ((3, 3), _state(11), {})
    assert all(shape == (3, 3) and not kwargs for shape, _, kwargs in seen[4:])
    capsys.readouterr()


def _max_dev(W, gain=1.0, rows_first=True):
    small = W @ W.T if rows_first else W.T @ W
    return np.max(np.abs(small - gain ** 2 * np.eye(len(small))))


def _r_factor(shape, rng, gain=1.0):
    return np.linalg.qr(rng.standard_normal(shape))[1]


def test_orthogonal_returning_r_shows_how_far_w_wt_is_from_i(capsys):
    # Square: the rows are tested, with W W^T (R's W^T W is another matrix).
    R = _r_factor((5, 5), np.random.default_rng(0))
    assert f"{_max_dev(R):.3g}" != f"{_max_dev(R, rows_first=False):.3g}"
    result, message = _verdict(ex.check_orthogonal, orth_returns_r, capsys)
    assert not result
    assert message == _orth_head(1) + (
        f"the rows are not orthonormal (times gain 1): the largest entry of W W^T - gain^2 I "
        f"is {_max_dev(R):.3g}.\n  " + ORTH_QR_HINT)


def test_orthogonal_tall_matrix_tests_the_columns(capsys):
    def tall_scaled(shape, rng, gain=1.0):          # right, but 1.5 times too large if tall
        W = orth_right(shape, rng, gain)
        return 1.5 * W if shape[0] > shape[1] else W

    W = 1.5 * orth_right((7, 3), np.random.default_rng(1))
    result, message = _verdict(ex.check_orthogonal, tall_scaled, capsys)
    assert not result
    assert message == _orth_head(2) + (
        f"the columns are not orthonormal (times gain 1): the largest entry of W^T W - gain^2 "
        f"I is {_max_dev(W, rows_first=False):.3g}.\n  " + ORTH_QR_HINT)
    assert "is 1.25." in message                  # 1.5^2 - 1


def test_orthogonal_without_gain_whole(capsys):
    W = orth_right((4, 4), np.random.default_rng(3))
    result, message = _verdict(ex.check_orthogonal, orth_no_gain, capsys)
    assert not result
    assert message == _orth_head(4) + (
        f"the rows are not orthonormal (times gain 2): the largest entry of W W^T - gain^2 I "
        f"is {_max_dev(W, gain=2.0):.3g}.\n  " + ORTH_QR_HINT)
    assert "is 3." in message                     # 1 - 2^2


@pytest.mark.parametrize("e, passes", [
    (1e-8, True),       # the largest entry of W W^T - I is exactly 1e-8: within the tolerance
    (2e-8, False),      # beyond it
])
def test_orthogonal_tolerance_is_1e8(e, passes, capsys):
    def near_identity(shape, rng, gain=1.0):       # case 1 only: I with W[0, 1] = e
        if shape != (5, 5):
            return orth_right(shape, rng, gain)
        W = np.eye(5)
        W[0, 1] = e
        return W

    result, message = _verdict(ex.check_orthogonal, near_identity, capsys)
    assert bool(result) is passes
    if not passes:
        assert message == _orth_head(1) + (
            f"the rows are not orthonormal (times gain 1): the largest entry of W W^T - "
            f"gain^2 I is {e:.3g}.\n  " + ORTH_QR_HINT)


def _wide_wrong(make):
    """Right except on the wide case, where it returns ``make(Q of the transpose)``."""
    def answer(shape, rng, gain=1.0):
        rows, cols = shape
        if rows >= cols:
            return orth_right(shape, rng, gain)
        return make(orth_right((cols, rows), rng, gain))
    return answer


ORTH_WIDE_HINT = ("\n  For a wide matrix (rows < cols) decompose the transpose, then transpose "
                  "Q back.")


@pytest.mark.parametrize("case, answer, body", [
    # the wide case: Q of the transpose not transposed back, or QR of the wide matrix itself
    (3, _wide_wrong(lambda Q: Q), "the result has shape (7, 3), expected (3, 7)." + ORTH_WIDE_HINT),
    (3, orth_no_transpose, "the result has shape (3, 3), expected (3, 7)." + ORTH_WIDE_HINT),
    # another shape: no hint about the transpose
    (1, lambda s, r, gain=1.0: orth_right((5, 4), r, gain),
     "the result has shape (5, 4), expected (5, 5)."),
    (2, lambda s, r, gain=1.0: orth_right(s[::-1], r, gain) if s == (7, 3) else orth_right(
        s, r, gain), "the result has shape (3, 7), expected (7, 3)." + ORTH_WIDE_HINT),
    # the tall case with a square Q: the complete QR, not the reduced one
    (2, lambda s, r, gain=1.0: np.linalg.qr(r.standard_normal(s), mode="complete")[0],
     "the result has shape (7, 7), expected (7, 3).\n  A tall matrix keeps its shape: "
     "np.linalg.qr's default mode 'reduced' gives Q of shape (rows, cols); mode='complete' "
     "gives a square Q."),
    (1, lambda s, r, gain=1.0: orth_right(s, r, gain).tolist(),
     "the result should be an array, received list."),
], ids=["wide-untransposed", "wide-qr-of-itself", "other-shape", "tall-transposed",
        "tall-complete", "list"])
def test_orthogonal_shape_messages(case, answer, body, capsys):
    result, message = _verdict(ex.check_orthogonal, answer, capsys)
    assert not result
    assert message == _orth_head(case) + body + _orth_hints(case)


def _haar_means(answer):
    """Entry-wise means of 3000 draws of a 3 x 3 matrix from one generator seeded 11."""
    rng = np.random.default_rng(11)
    return np.mean([answer((3, 3), rng) for _ in range(3000)], axis=0)


@pytest.mark.parametrize("wrong", [orth_no_sign_fix, orth_first_column_sign_only])
def test_orthogonal_haar_message_whole(wrong, capsys):
    means = _haar_means(wrong)
    i, j = np.unravel_index(np.argmax(np.abs(means)), means.shape)
    result, message = _verdict(ex.check_orthogonal, wrong, capsys)
    assert not result
    assert message == _orth_head(5) + (
        f"over 3000 draws of a 3 x 3 matrix, W[{i}, {j}] has mean {means[i, j]:.3f}, expected 0 "
        f"(within {6 * np.sqrt(1 / 9000):.3f}) for a uniformly random orthogonal matrix.\n  "
        + ORTH_SIGN_HINT)
    assert "(within 0.063)" in message


def test_orthogonal_haar_tolerance_is_inclusive(capsys):
    # Draws whose W[0, 0] averages exactly the tolerance 6 sqrt(1/(3 * 3000)) pass; the
    # tolerance is that of 3000 draws of an entry of variance 1/3.
    tol = 6.0 * math.sqrt(1 / 3 / 3000)
    draws = np.zeros((3000, 3, 3))
    draws[:, 0, 0] = tol
    deficit = tol - draws.mean(axis=0)[0, 0]
    first = tol + deficit * 3000
    for k in range(-400, 400):     # nudge the first draw until the mean lands on tol exactly
        draws[0, 0, 0] = first + k * 1e-15
        if draws.mean(axis=0)[0, 0] == tol:
            break
    assert draws.mean(axis=0)[0, 0] == tol

    def answer(stack):
        it = iter(stack)

        def orthogonal(shape, rng, gain=1.0):
            return next(it).copy() if shape == (3, 3) else orth_right(shape, rng, gain)
        return orthogonal

    result, message = _verdict(ex.check_orthogonal, answer(draws), capsys)
    assert result, message
    beyond = draws.copy()
    beyond[:, 0, 0] += 1e-12
    mean = beyond.mean(axis=0)[0, 0]
    assert mean > tol
    result, message = _verdict(ex.check_orthogonal, answer(beyond), capsys)
    assert not result
    assert message == _orth_head(5) + (
        f"over 3000 draws of a 3 x 3 matrix, W[0, 0] has mean {mean:.3f}, expected 0 (within "
        f"{tol:.3f}) for a uniformly random orthogonal matrix.\n  " + ORTH_SIGN_HINT)


def test_orthogonal_haar_case_needs_arrays(capsys):
    def answer(shape, rng, gain=1.0):
        W = orth_right(shape, rng, gain)
        return W.tolist() if shape == (3, 3) else W

    result, message = _verdict(ex.check_orthogonal, answer, capsys)
    assert not result
    assert message == _orth_head(5) + ("your function raised AssertionError: the result should "
                                       "be an array, received list.")


def test_orthogonal_measures_float32_answers_in_float64(capsys):
    # A float32 Q is orthonormal only to float32's precision, beyond the tolerance 1e-8; the
    # deviation quoted is computed in float64 (float32 arithmetic would add its own error).
    def orth32(shape, rng, gain=1.0):
        return orth_right(shape, rng, gain).astype(np.float32)

    W = orth32((5, 5), np.random.default_rng(0)).astype(float)
    result, message = _verdict(ex.check_orthogonal, orth32, capsys)
    assert not result
    assert message == _orth_head(1) + (
        f"the rows are not orthonormal (times gain 1): the largest entry of W W^T - gain^2 I "
        f"is {_max_dev(W):.3g}.\n  " + ORTH_QR_HINT)
    assert "is 5.09e-08." in message


def test_forward_stds_quotes_the_first_layers_factor(capsys):
    # The factors of the layers agree within 1e-8 + 1e-8 r; the one quoted (to 4 decimals)
    # and the n it implies are the first layer's: sqrt(770/769) = 1.000649984 -> 1.0006,
    # while the second layer's 1.000650002 would print 1.0007.
    r = np.sqrt(770 / 769)
    result, message = _verdict(ex.check_forward_stds, _scaled_stds([r, r + 1.8e-8, r, r]),
                               capsys)
    assert not result
    assert message == STDS_CASE1 + (
        "every entry is 1.0006 = sqrt(n/(n-1)) times the expected one, with n = 770 entries "
        "of z: this is the sample std with ddof=1.\n  Use the population std: NumPy's default "
        "ddof=0; in torch, z.std(unbiased=False) or z.std(correction=0).\n  Hint: " + STDS_Z_HINT)


@pytest.mark.parametrize("factor, named", [
    (1.0 + 0.03 * 0.99, True),     # within 6 sqrt(2/n) = 3 % of Xavier's 2/(fan_in + fan_out)
    (1.0 + 0.03 * 1.01, False),    # beyond it: not named Xavier's
])
def test_he_normal_names_a_known_variance_within_six_standard_errors(factor, named, capsys):
    var = 2.0 / 600 * factor

    def near_xavier(s, fi, fo, r):
        return _standardised(r.standard_normal(s), np.sqrt(var))

    w = _he_draws((200, 400), 400, 0, lambda r, s: near_xavier(s, 400, 200, r))
    result, message = _verdict(ex.check_he_normal, near_xavier, capsys)
    assert not result
    hint = HE_VARIANCE_WRONG["xavier"][1] if named else ""
    assert message == HE_CASE1 + _variance_message(w, 0.005, 80000, hint)
