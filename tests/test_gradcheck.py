import numpy as np
import pytest

import nnbook as nb
from nnbook.gradcheck import autograd_gradients, check_layer, check_loss, numerical_gradient, relative_error


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
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    gA, gx = autograd_gradients(lambda A_, x_: x_ @ A_ @ x_, A, x)
    np.testing.assert_allclose(gx, (A + A.T) @ x, rtol=1e-12)
    np.testing.assert_allclose(gA, np.outer(x, x), rtol=1e-12)
    (unused,) = autograd_gradients(lambda a: (a * 0).sum() + 1.0, x)
    np.testing.assert_array_equal(unused, 0.0)
    with pytest.raises(ValueError, match=r"f must return a scalar, got shape \(3,\)"):
        autograd_gradients(lambda a: a * 2, x)


def test_default_eps_is_small_enough_for_a_curved_function(rng):
    """sin is not quadratic: the central difference is exact only up to O(eps^2)."""
    x = rng.standard_normal(5)
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(np.sin(x)), x), np.cos(x), rtol=1e-8)


def test_relative_error_keeps_tiny_norms():
    """The floor 1e-300 only guards 0/0: norms of 1e-100 are compared like any others."""
    assert relative_error(np.array([1e-100]), np.array([0.0])) == pytest.approx(1.0)
    assert relative_error(np.array([2e-100]), np.array([1e-100])) == pytest.approx(1 / 3)


def test_check_layer_checks_at_the_given_input(rng):
    """A ReLU whose backward forgets the mask is right for positive inputs only:
    on negative inputs the check must see it."""

    class NoMask(nb.ReLU):
        _backward = staticmethod(lambda dout, mask: dout)

    x = rng.uniform(-0.9, -0.1, size=(4, 3))
    before = x.copy()
    assert check_layer(NoMask(), x, rng)["x"] == pytest.approx(1.0)
    assert check_layer(nb.ReLU(), x, rng)["x"] == 0.0
    np.testing.assert_array_equal(x, before)


def test_check_layer_and_check_loss_use_their_eps(rng):
    """A larger step gives the O(eps^2) truncation error of a curved function."""
    x = rng.standard_normal((4, 3))
    assert 1e-7 < check_layer(nb.Tanh(), x, rng, eps=1e-2)["x"] < 1e-3
    assert check_layer(nb.Tanh(), x, rng)["x"] < 1e-9
    layer = nb.mlp([3, 4, 2], "tanh", rng=rng)
    errors = check_layer(layer, x, rng, eps=1e-2)       # the first layer's W is behind a tanh
    assert 1e-7 < errors["0.W"] < 1e-3, errors
    target = rng.uniform(size=(4, 3))
    assert 1e-7 < check_loss(nb.BCEWithLogitsLoss(), 3 * x, target, eps=1e-1) < 1e-2
    assert check_loss(nb.BCEWithLogitsLoss(), 3 * x, target) < 1e-8


def test_check_loss_checks_at_the_given_output(rng):
    """The loss is evaluated at the output given (not a shifted copy), and the caller's
    array is left as it was."""
    seen = []

    class Spy(nb.MSELoss):
        def forward(self, output, target, validate=True):
            seen.append(np.array(output))
            return super().forward(output, target, validate)

    out, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    before = out.copy()
    assert check_loss(Spy(), out, target) < 1e-8
    np.testing.assert_array_equal(seen[0], out)
    np.testing.assert_array_equal(out, before)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_check_layer_in_float32(library, rng):
    """delta is drawn in the layer's dtype: a float32 torch layer cannot multiply float64."""
    bk = nb.Backend(library, "cpu", "float32")
    layer = nb.Linear(3, 2, rng=rng, backend=bk)
    errors = check_layer(layer, bk.asarray(rng.standard_normal((4, 3))), rng, eps=1e-2)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-3, errors


def test_autograd_gradients_work_in_float64_and_skip_unused_inputs(rng):
    x32 = rng.standard_normal(4).astype(np.float32)
    y = rng.standard_normal((2, 3))
    gx, gy = autograd_gradients(lambda a, b: (a ** 3).sum(), x32, y)
    assert gx.dtype == np.float64 and gy.dtype == np.float64
    np.testing.assert_allclose(gx, 3 * x32.astype(np.float64) ** 2, rtol=1e-14)
    np.testing.assert_array_equal(gy, np.zeros((2, 3)))        # b never reaches the output
