"""Second derivatives of ReLU networks: finite differences stay on the current linear piece.

A step along v that crosses a kink adds a jump of the gradient divided by the
step; a Lanczos iteration seeks out such directions. nnbook's hvp differences the gradient
while every ReLU is frozen on the piece it takes at theta.
"""

import numpy as np
import pytest

import nnbook as nb
from nnbook import activations, hessian


@pytest.fixture
def relu_problem():
    rng = np.random.default_rng(3)
    model = nb.mlp([4, 12, 12, 3], "relu", rng=rng)
    X = rng.standard_normal((200, 4))
    y = rng.integers(0, 3, 200)
    return model, nb.CrossEntropyLoss(), X, y


def test_hvp_matches_autograd_on_a_relu_network_even_with_a_coarse_step(relu_problem):
    model, ce, X, y = relu_problem
    H = hessian.autograd_hessian(model, ce, X, y)
    rng = np.random.default_rng(0)
    for _ in range(10):
        v = rng.standard_normal(H.shape[0])
        Hv = hessian.hvp(model, ce, X, y, v, eps=1e-3)      # crosses kinks unless frozen
        # a jump across a kink would be off by orders of magnitude; O(h^2) is left
        assert np.linalg.norm(Hv - H @ v) < 1e-6 * np.linalg.norm(H @ v)


def test_top_eigenvalue_of_a_relu_network_is_the_exact_one(relu_problem):
    model, ce, X, y = relu_problem
    exact = np.linalg.eigvalsh(hessian.autograd_hessian(model, ce, X, y))[::-1]
    top = hessian.top_eigenvalues(model, ce, X, y, k=2, iters=60, rng=np.random.default_rng(1))
    np.testing.assert_allclose(top, exact[:2], rtol=1e-6)


def test_the_parameters_are_restored(relu_problem):
    model, ce, X, y = relu_problem
    theta = hessian.flat_parameters(model).copy()
    hessian.hvp(model, ce, X, y, np.ones(theta.shape[0]), eps=1e-1)
    np.testing.assert_array_equal(hessian.flat_parameters(model), theta)


def test_piecewise_linear_modules_report_their_piece():
    rng = np.random.default_rng(0)
    z = np.array([[-1.0, 2.0, 0.0]])
    relu, leaky, prelu = nb.ReLU(), activations.LeakyReLU(0.1), activations.PReLU()
    for m in (relu, leaky, prelu):
        assert m.piece() is None                             # before any forward
        m.forward(z)
    np.testing.assert_array_equal(relu.piece(), [[False, True, False]])
    np.testing.assert_array_equal(leaky.piece(), [[0.1, 1.0, 0.1]])
    np.testing.assert_array_equal(prelu.piece(), [[0.0, 1.0, 0.0]])
    maxout = activations.Maxout(3, 2, k=2, rng=rng)
    maxout.forward(np.ones((1, 3)))
    assert maxout.piece().shape == (1, 2, 2)
    for smooth in (nb.Tanh(), nb.Sigmoid(), nb.Linear(3, 2, rng=rng)):
        smooth.forward(np.ones((1, 3)))
        assert smooth.piece() is None


def test_a_kink_exactly_at_theta_gives_autograds_piece():
    rng = np.random.default_rng(0)
    model = nb.mlp([2, 4, 2], "relu", rng=rng)
    model.layers[0].b.data[...] = 0.0
    X = np.vstack([np.zeros((1, 2)), rng.standard_normal((7, 2))])   # z = 0 for sample 0
    y = rng.integers(0, 2, 8)
    ce = nb.CrossEntropyLoss()
    H = hessian.autograd_hessian(model, ce, X, y)
    np.testing.assert_allclose(hessian.hessian(model, ce, X, y), H, atol=1e-8)
    v = rng.standard_normal(H.shape[0])
    np.testing.assert_allclose(hessian.hvp(model, ce, X, y, v), H @ v, atol=1e-8)


def test_a_frozen_piece_is_used_whatever_the_input():
    relu = nb.ReLU()
    relu.frozen_piece = np.array([[True, False]])
    np.testing.assert_array_equal(relu.forward(np.array([[-2.0, 3.0]])), [[-2.0, 0.0]])
    leaky = activations.LeakyReLU(0.1)
    leaky.frozen_piece = np.array([[1.0, 0.1]])
    np.testing.assert_allclose(leaky.forward(np.array([[-2.0, 3.0]])), [[-2.0, 0.3]])
    prelu = activations.PReLU(init=0.5)
    prelu.frozen_piece = np.array([[1.0, 0.0]])
    np.testing.assert_allclose(prelu.forward(np.array([[-2.0, 3.0]])), [[-2.0, 1.5]])
    maxout = activations.Maxout(1, 1, k=2, rng=np.random.default_rng(0))
    maxout.linear.W.data[...] = [[1.0], [-1.0]]
    maxout.linear.b.data[...] = 0.0
    maxout.frozen_piece = np.array([[[0.0, 1.0]]])                 # the smaller piece
    np.testing.assert_allclose(maxout.forward(np.array([[2.0]])), [[-2.0]])


def test_hvp_leaves_nothing_frozen(relu_problem):
    model, ce, X, y = relu_problem
    hessian.hvp(model, ce, X, y, np.ones(hessian.num_parameters(model)))
    assert all(m.frozen_piece is None for m in model._modules())
