import numpy as np
import pytest

from nnbook.gradcheck import numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function(rng):
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)
    g = numerical_gradient(lambda: x @ A @ x, x)
    np.testing.assert_allclose(g, (A + A.T) @ x, rtol=1e-8)
    assert g.shape == x.shape


def test_numerical_gradient_restores_x(rng):
    x = rng.standard_normal((2, 3))
    before = x.copy()
    numerical_gradient(lambda: np.sum(np.sin(x)), x)
    np.testing.assert_array_equal(x, before)


def test_relative_error():
    assert relative_error(np.ones(3), np.ones(3)) == 0.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"):
        relative_error(np.ones(2), np.ones(3))


def test_numerical_gradient_refuses_integers():
    with pytest.raises(TypeError, match="x must have a float dtype, got int64"):
        numerical_gradient(lambda: 0.0, np.arange(3))


def test_autograd_gradients(rng):
    from nnbook.gradcheck import autograd_gradients

    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    gA, gx = autograd_gradients(lambda A_, x_: x_ @ A_ @ x_, A, x)
    np.testing.assert_allclose(gx, (A + A.T) @ x, rtol=1e-12)
    np.testing.assert_allclose(gA, np.outer(x, x), rtol=1e-12)
    (unused,) = autograd_gradients(lambda a: (a * 0).sum() + 1.0, x)
    np.testing.assert_array_equal(unused, 0.0)
    with pytest.raises(ValueError, match=r"f must return a scalar, got shape \(3,\)"):
        autograd_gradients(lambda a: a * 2, x)
