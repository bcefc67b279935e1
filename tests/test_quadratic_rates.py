"""Closed-form rates on a quadratic, against measured runs and against nnbook.SGD / torch.optim.SGD."""


import numpy as np
import pytest
import torch
from conftest import whole

import nnbook as nb
from nnbook import quadratic_rates as qr
from nnbook.landscapes import Quadratic


def test_closed_forms():
    assert qr.optimal_step(1.0, 9.0) == pytest.approx(0.2)
    assert qr.gd_rate(9.0) == pytest.approx(0.8)
    assert qr.heavy_ball_rate(9.0) == pytest.approx(0.5)
    eta, beta = qr.heavy_ball_parameters(1.0, 9.0)
    assert eta == pytest.approx(0.25) and beta == pytest.approx(0.25)
    assert qr.max_stable_step(4.0) == 0.5
    assert qr.condition_number([2.0, 0.5, 1.0]) == 4.0
    assert qr.gd_rate_at(qr.optimal_step(1.0, 9.0), [1.0, 3.0, 9.0]) == pytest.approx(0.8)


@pytest.mark.parametrize("kappa", [1.0, 10.0, 100.0, 1000.0])
def test_spectral_radius_equals_closed_forms(kappa):
    lam = np.array([1.0, kappa])
    assert qr.momentum_rate(qr.optimal_step(1.0, kappa), 0.0, lam) == pytest.approx(qr.gd_rate(kappa),
                                                                                   abs=1e-12)
    eta, beta = qr.heavy_ball_parameters(1.0, kappa)
    # the optimal heavy ball has a double eigenvalue: eigvals are accurate to ~sqrt(machine eps)
    assert qr.momentum_rate(eta, beta, lam) == pytest.approx(qr.heavy_ball_rate(kappa), abs=1e-6)


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_measured_rates_match(kappa):
    q = Quadratic.with_condition_number(kappa, angle=0.3)
    x0 = np.array([1.0, 1.0])
    path = qr.descend(q.A, x0, qr.optimal_step(1.0, kappa), 400)
    err = np.linalg.norm(path, axis=1)
    assert qr.measured_rate(err[:300]) == pytest.approx(qr.gd_rate(kappa), rel=1e-6)
    eta, beta = qr.heavy_ball_parameters(1.0, kappa)
    path = qr.descend(q.A, x0, eta, 300, momentum=beta)
    err = np.linalg.norm(path, axis=1)
    # a double root: the error is (c + d k) rho^k, so the measured rate approaches rho slowly
    assert qr.measured_rate(err, tail=0.5) == pytest.approx(qr.heavy_ball_rate(kappa), rel=0.02)


def test_divergence_threshold():
    A = np.diag([1.0, 10.0])
    x0 = np.array([1.0, 1.0])
    below = qr.descend(A, x0, 0.99 * qr.max_stable_step(10.0), 500)
    above = qr.descend(A, x0, 1.01 * qr.max_stable_step(10.0), 500)
    assert np.linalg.norm(below[-1]) < 1e-1 and np.linalg.norm(above[-1]) > 1e1
    assert qr.gd_rate_at(0.21, [1.0, 10.0]) > 1 > qr.gd_rate_at(0.19, [1.0, 10.0])


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.7, True)])
def test_descend_is_torch_sgd(momentum, nesterov, rng):
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x0 = rng.standard_normal(2)
    path = qr.descend(A, x0, 0.1, 60, momentum=momentum, nesterov=nesterov)
    t = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([t], lr=0.1, momentum=momentum, nesterov=nesterov)
    p = nb.layers.Parameter(x0.copy())
    ours = nb.SGD([p], lr=0.1, momentum=momentum, nesterov=nesterov)
    for k in range(60):
        t.grad = torch.tensor(A) @ t.detach()
        opt.step()
        p.grad = A @ p.data
        ours.step()
        np.testing.assert_allclose(path[k + 1], t.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(path[k + 1], p.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_rate_is_the_measured_rate(nesterov):
    A = np.diag([1.0, 50.0])
    path = qr.descend(A, np.ones(2), 0.03, 600, momentum=0.8, nesterov=nesterov)
    err = np.linalg.norm(path, axis=1)
    assert qr.measured_rate(err) == pytest.approx(qr.momentum_rate(0.03, 0.8, [1.0, 50.0],
                                                                   nesterov=nesterov), rel=1e-3)


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: qr.optimal_step(2.0, 1.0), ValueError,
     "lam_min must be <= lam_max, got lam_min=2 > lam_max=1"),
    (lambda: qr.optimal_step(0.0, 1.0), ValueError, "lam_min must be a positive number, got 0.0"),
    (lambda: qr.gd_rate(0.5), ValueError, "kappa must lie in [1, inf), got 0.5"),
    (lambda: qr.condition_number([1.0, -2.0]), ValueError,
     "eigenvalues must be a non-empty 1-D array of positive numbers (a positive definite "
     "Hessian), got [ 1. -2.]"),
    (lambda: qr.descend(np.eye(2), np.ones(3), 0.1, 5), ValueError,
     "x0 must have shape (2,), got (3,)"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.1, 5, nesterov=True), ValueError,
     "nesterov=True needs a momentum > 0"),
    (lambda: qr.measured_rate([1.0, 0.5]), ValueError,
     "errors must be a 1-D sequence of at least 3 values, got shape (2,)"),
    (lambda: qr.measured_rate([1.0, 0.5, 0.0]), ValueError,
     "errors must be finite and positive (stop the run before it reaches 0 or overflows)"),
    (lambda: qr.momentum_rate(0.1, 1.0, [1.0]), ValueError, "momentum must lie in [0, 1), got 1.0"),
])
def test_bad_arguments_refused(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call()


def test_measured_rate_ignores_the_phase_of_the_oscillation():
    # Nesterov at mu = 0.95 oscillates: the ratio of the window's two ends jumped by up
    # to 0.018 with where the run stopped; the log-linear fit stays within 1e-3.
    path = qr.descend(np.diag([1.0, 100.0]), [1.0, 1.0], 0.01, 600, momentum=0.95,
                      nesterov=True)
    err = np.linalg.norm(path, axis=1)
    theory = qr.momentum_rate(0.01, 0.95, [1.0, 100.0], nesterov=True)
    got = [qr.measured_rate(err[:n + 1]) for n in range(500, 601)]
    assert np.max(np.abs(np.array(got) - theory)) < 1e-3


def test_eigenvalues_are_read_as_floats():
    # Python integers beyond int64 and fractions are numbers too: they are read as floats
    from fractions import Fraction
    assert qr.condition_number([3, 2 ** 70]) == pytest.approx(2.0 ** 70 / 3)
    assert qr.condition_number([Fraction(1, 2), Fraction(2)]) == 4.0
    assert qr.gd_rate_at(0.5, [Fraction(1), 2 ** 70]) == pytest.approx(2.0 ** 69)
    assert qr.momentum_rate(0.5, 0.0, [Fraction(1), Fraction(3)]) == pytest.approx(0.5)


def test_one_eigenvalue_is_enough():
    assert qr.condition_number([2.0]) == 1.0
    assert qr.gd_rate_at(0.25, [2.0]) == 0.5


def test_measured_rate_reads_large_integers_as_floats():
    assert qr.measured_rate([2 ** 80, 2 ** 79, 2 ** 78, 2 ** 77]) == pytest.approx(0.5)


def test_measured_rate_fits_at_least_three_points():
    # a short tail still fits the last three errors (the last two would be a ratio,
    # four would reach back into the flat start)
    e = [1.0] * 8 + [1.0, 0.5, 0.25]
    assert qr.measured_rate(e, tail=0.01) == pytest.approx(0.5, rel=1e-12)
    assert qr.measured_rate(e, tail=0.2) == pytest.approx(0.5, rel=1e-12)
    assert qr.measured_rate(e, tail=0.3) != pytest.approx(0.5, rel=1e-3)


_BAD_EIG = "eigenvalues must be a non-empty 1-D array of positive numbers (a positive " \
    "definite Hessian), got "


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: qr.condition_number([1.0, np.inf]), ValueError, _BAD_EIG + "[ 1. inf]"),
    (lambda: qr.condition_number([1.0, np.nan]), ValueError, _BAD_EIG + "[ 1. nan]"),
    (lambda: qr.condition_number([[1.0, 2.0]]), ValueError, _BAD_EIG + "[[1. 2.]]"),
    (lambda: qr.condition_number([]), ValueError, _BAD_EIG + "[]"),
    (lambda: qr.condition_number(3.0), ValueError, _BAD_EIG + "[3.]"),
    (lambda: qr.condition_number([0.0, 1.0]), ValueError, _BAD_EIG + "[0. 1.]"),
    (lambda: qr.gd_rate_at(0.1, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -7.0]), ValueError,
     _BAD_EIG + "[ 1.  2.  3. ...  5.  6. -7.]"),
    (lambda: qr.momentum_rate(0.1, 0.5, [1.0, 2.0, 3.0, 4.0, 5.0, -6.0]), ValueError,
     _BAD_EIG + "[ 1.  2.  3.  4.  5. -6.]"),
    (lambda: qr.optimal_step(1.0, 0.0), ValueError, "lam_max must be a positive number, got 0.0"),
    (lambda: qr.optimal_step(1.0, -2.0), ValueError, "lam_max must be a positive number, got -2.0"),
    (lambda: qr.heavy_ball_parameters(1.0, 0.0), ValueError,
     "lam_max must be a positive number, got 0.0"),
    (lambda: qr.max_stable_step(0.0), ValueError, "lam_max must be a positive number, got 0.0"),
    (lambda: qr.max_stable_step(-1.0), ValueError, "lam_max must be a positive number, got -1.0"),
    (lambda: qr.gd_rate_at(0.0, [1.0]), ValueError, "lr must be a positive number, got 0.0"),
    (lambda: qr.gd_rate_at(-0.5, [1.0]), ValueError, "lr must be a positive number, got -0.5"),
    (lambda: qr.heavy_ball_rate(0.5), ValueError, "kappa must lie in [1, inf), got 0.5"),
    (lambda: qr.heavy_ball_rate(-2.0), ValueError, "kappa must lie in [1, inf), got -2.0"),
    (lambda: qr.momentum_rate(0.0, 0.5, [1.0]), ValueError, "lr must be a positive number, got 0.0"),
    (lambda: qr.momentum_rate(-1.0, 0.5, [1.0]), ValueError,
     "lr must be a positive number, got -1.0"),
    (lambda: qr.measured_rate([1.0, 0.5, 0.25], tail=0.0), ValueError,
     "tail must lie in (0, 1], got 0.0"),
    (lambda: qr.measured_rate([1.0, 0.5, 0.25], tail=-0.5), ValueError,
     "tail must lie in (0, 1], got -0.5"),
    (lambda: qr.measured_rate([1.0, 0.5, 0.25], tail=1.5), ValueError,
     "tail must lie in (0, 1], got 1.5"),
    (lambda: qr.measured_rate([1.0, 0.5, 0.25], tail="half"), TypeError,
     "tail must lie in (0, 1], got 'half' of type str"),
])
def test_bad_arguments_refused_with_their_names(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call()


def test_tail_of_one_is_the_whole_run():
    assert qr.measured_rate([1.0, 0.5, 0.25, 0.125], tail=1.0) == pytest.approx(0.5)


def test_descend_defaults_are_plain_gradient_descent():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x0 = np.array([1.0, -2.0])
    path = qr.descend(A, [1, -2], 0.1, 5)
    assert path.shape == (6, 2) and path.dtype == np.float64
    M = np.eye(2) - 0.1 * A
    np.testing.assert_allclose(path, [np.linalg.matrix_power(M, k) @ x0 for k in range(6)],
                               rtol=1e-13)
    np.testing.assert_array_equal(qr.descend(A, x0, 0.1, 0), [x0])


def test_descend_diverges_to_inf_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = qr.descend(np.diag([1.0, 1e3]), [1.0, 1.0], 1.0, 400, momentum=0.5)
    assert np.isinf(path[200:, 1]).any() or np.isnan(path[-1, 1])


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: qr.descend(np.ones(3), np.ones(3), 0.1, 5), ValueError,
     "A must be a square (d, d) matrix, got shape (3,)"),
    (lambda: qr.descend(np.ones((2, 3)), np.ones(2), 0.1, 5), ValueError,
     "A must be a square (d, d) matrix, got shape (2, 3)"),
    (lambda: qr.descend(np.ones((3, 2)), np.ones(3), 0.1, 5), ValueError,
     "A must be a square (d, d) matrix, got shape (3, 2)"),
    (lambda: qr.descend(np.ones((1, 2, 2)), np.ones(2), 0.1, 5), ValueError,
     "A must be a square (d, d) matrix, got shape (1, 2, 2)"),
    (lambda: qr.descend(np.eye(2), np.ones((2, 1)), 0.1, 5), ValueError,
     "x0 must have shape (2,), got (2, 1)"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.0, 5), ValueError,
     "lr must be a positive number, got 0.0"),
    (lambda: qr.descend(np.eye(2), np.ones(2), -0.1, 5), ValueError,
     "lr must be a positive number, got -0.1"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.1, -1), ValueError,
     "steps must be a non-negative int, got -1"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.1, 2.5), TypeError,
     "steps must be a non-negative int, got 2.5 of type float"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.1, 5, momentum=1.0), ValueError,
     "momentum must lie in [0, 1), got 1.0"),
    (lambda: qr.descend(np.eye(2), np.ones(2), 0.1, 5, momentum=-0.1), ValueError,
     "momentum must lie in [0, 1), got -0.1"),
])
def test_descend_refusals(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call()


def test_descend_reads_any_real_numbers_as_floats():
    from decimal import Decimal

    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    ref = qr.descend(A, [1.0, -2.0], 0.1, 5, momentum=0.5)
    got = qr.descend([[Decimal(3), Decimal(1)], [Decimal(1), Decimal(2)]],
                     [Decimal(1), Decimal(-2)], 0.1, 5, momentum=0.5)
    np.testing.assert_array_equal(got, ref)
