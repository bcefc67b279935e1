"""The checks of the initialisation chapter's exercises: right answers pass, wrong ones are explained."""

import re

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

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
