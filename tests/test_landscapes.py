"""Landscapes: test functions (gradient and Hessian checks, torch autograd oracle, parity), the
Hessian test, random symmetric matrices, loss views of a model, refusals."""


import numpy as np
import pytest
import torch
from conftest import raises_whole as _raises

import nnbook as nb
from nnbook import landscapes as ls
from nnbook import to_numpy
from nnbook.gradcheck import numerical_gradient, relative_error
from nnbook.hessian import flat_parameters, loss_value, set_flat_parameters

FUNCTIONS = {
    "bowl": ls.Quadratic.with_condition_number(10.0, angle=0.4),
    "bowl-5d": ls.Quadratic.with_condition_number(100.0, dim=5),
    "shifted": ls.Quadratic([[2.0, 1.0], [1.0, -3.0]], center=[0.5, -1.0]),
    "saddle": ls.Quadratic.saddle(),
    "monkey": ls.MonkeySaddle(),
    "rosenbrock": ls.Rosenbrock(),
    "double-well": ls.DoubleWell(tilt=0.5),
    "flat-3": ls.FlatDirection(3),
    "flat-4": ls.FlatDirection(4),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradient_and_hessian_match_finite_differences(name, backend, rng):
    f = FUNCTIONS[name]
    x = backend.asarray(rng.uniform(-1.5, 1.5, f.dim))
    g = f.gradient(x)
    assert relative_error(g, numerical_gradient(lambda: f.value(x), x)) < 1e-7
    H = f.hessian(x)
    rows = [numerical_gradient(lambda i=i: f.gradient(x)[i], x) for i in range(f.dim)]
    assert relative_error(H, np.stack(rows)) < 1e-7
    np.testing.assert_allclose(to_numpy(H), to_numpy(H).T, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_torch_autograd_is_the_oracle(name, rng):
    f = FUNCTIONS[name]
    x = rng.uniform(-1.5, 1.5, f.dim)
    xt = torch.tensor(x, requires_grad=True)
    f.value(xt).backward()
    np.testing.assert_allclose(to_numpy(f.gradient(x)), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    H = torch.autograd.functional.hessian(lambda t: f.value(t), torch.tensor(x))
    np.testing.assert_allclose(to_numpy(f.hessian(x)), H.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_batches_of_points_and_parity(name, rng):
    f = FUNCTIONS[name]
    x = rng.uniform(-1.5, 1.5, (4, 3, f.dim))
    v, g, H = f.value(x), f.gradient(x), f.hessian(x)
    assert (v.shape, g.shape, H.shape) == ((4, 3), (4, 3, f.dim), (4, 3, f.dim, f.dim))
    np.testing.assert_allclose(v[2, 1], f.value(x[2, 1]))
    np.testing.assert_allclose(H[3, 0], f.hessian(x[3, 0]))
    xt = torch.tensor(x)
    for ours, theirs in ((v, f.value(xt)), (g, f.gradient(xt)), (H, f.hessian(xt))):
        assert isinstance(theirs, torch.Tensor)
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_known_critical_points_are_classified(name):
    f = FUNCTIONS[name]
    for x, kind in f.critical_points():
        assert ls.classify_critical_point(f.gradient(x), f.hessian(x), grad_tol=1e-9) == kind


def test_critical_points_of_the_test_functions():
    assert [k for _, k in ls.DoubleWell().critical_points()] == ["minimum", "saddle", "minimum"]
    assert [k for _, k in ls.DoubleWell(tilt=0.5).critical_points()] == ["minimum", "saddle", "minimum"]
    assert [k for _, k in ls.DoubleWell(tilt=2.0).critical_points()] == ["minimum"]
    assert ls.Quadratic.saddle().critical_points()[0][1] == "saddle"
    assert ls.Quadratic(-np.eye(3)).critical_points()[0][1] == "maximum"
    assert ls.Quadratic(np.diag([1.0, 0.0])).critical_points() == []
    H = ls.Rosenbrock().hessian(np.array([1.0, 1.0]))
    np.testing.assert_allclose(H, [[802.0, -400.0], [-400.0, 200.0]])
    assert np.linalg.cond(H) == pytest.approx(2508, rel=1e-3)
    lam = np.linalg.eigvalsh(ls.Quadratic.with_condition_number(50.0, angle=1.0).A)
    np.testing.assert_allclose(lam, [1.0, 50.0])
    np.testing.assert_allclose(np.linalg.eigvalsh(FUNCTIONS["bowl-5d"].A), np.geomspace(1, 100, 5))


def test_classification_rules():
    z = np.zeros(3)
    assert ls.classify_critical_point(z, np.diag([1.0, 2.0, 3.0])) == "minimum"
    assert ls.classify_critical_point(z, np.diag([-1.0, -2.0, -3.0])) == "maximum"
    assert ls.classify_critical_point(z, np.diag([1.0, -2.0, 3.0])) == "saddle"
    assert ls.classify_critical_point(z, np.diag([1.0, 0.0, -3.0])) == "saddle"      # mixed signs decide
    assert ls.classify_critical_point(z, np.diag([1.0, 0.0, 3.0])) == "undecided"
    assert ls.classify_critical_point(z, np.diag([-1.0, 1e-12, -3.0])) == "undecided"
    assert ls.classify_critical_point(z, np.zeros((3, 3))) == "undecided"
    assert ls.classify_critical_point(torch.zeros(2), torch.eye(2)) == "minimum"
    assert ls.classify_critical_point(np.array([1e-7, 0.0]), np.eye(2)) == "minimum"




def test_the_hessian_test_refuses_a_point_that_is_not_critical():
    f = ls.Rosenbrock()
    x = np.array([0.0, 0.0])
    _raises(ValueError, "gradient must vanish at a critical point: |gradient| = 2 > grad_tol = 1e-06; "
            "the Hessian test classifies critical points only",
            ls.classify_critical_point, f.gradient(x), f.hessian(x))
    _raises(ValueError, "hessian must have shape (2, 2), got (3, 3)", ls.classify_critical_point,
            np.zeros(2), np.eye(3))
    _raises(ValueError, "hessian must be symmetric, got a matrix with hessian != hessian.T",
            ls.classify_critical_point, np.zeros(2), np.array([[1.0, 2.0], [0.0, 1.0]]))
    _raises(ValueError, "gradient must have 1 dimension(s), got shape (2, 1)",
            ls.classify_critical_point, np.zeros((2, 1)), np.eye(2))


def test_test_functions_refuse_bad_inputs():
    _raises(ValueError, "x must have shape (..., 2), got (3,)", ls.Rosenbrock().value, np.zeros(3))
    _raises(TypeError, "x must have a float dtype, got int64", ls.MonkeySaddle().gradient,
            np.zeros(2, dtype=np.int64))
    _raises(TypeError, "x must be a NumPy array or torch.Tensor, got list", ls.DoubleWell().hessian,
            [0.0, 0.0])
    _raises(ValueError, "A must be a square (d, d) matrix, got shape (2, 3)", ls.Quadratic, np.zeros((2, 3)))
    _raises(ValueError, "A must be symmetric, got a matrix with A != A.T", ls.Quadratic, [[1, 2], [0, 1]])
    _raises(ValueError, "center must have shape (2,), got (3,)", ls.Quadratic, np.eye(2), np.zeros(3))
    _raises(ValueError, "kappa must be a number >= 1, got 0.5", ls.Quadratic.with_condition_number, 0.5)
    _raises(ValueError, "dim must be a positive int, got 0", ls.Quadratic.with_condition_number, 2.0, 0)
    _raises(ValueError, "p must be an int >= 3, got 2", ls.FlatDirection, 2)
    _raises(ValueError, "b must be positive, got 0", ls.Rosenbrock, 1.0, 0)


def test_goe(rng):
    A = ls.goe(300, rng=rng)
    np.testing.assert_array_equal(A, A.T)
    lam = np.linalg.eigvalsh(A)
    assert -2.15 < lam.min() < -1.85 and 1.85 < lam.max() < 2.15          # the semicircle's edges
    assert abs(np.mean(lam < 0) - 0.5) < 0.05
    off = A[np.triu_indices(300, 1)]
    assert np.var(off) * 300 == pytest.approx(1.0, rel=0.02)
    batch = ls.goe(3, rng=rng, size=20000)
    assert batch.shape == (20000, 3, 3)
    p_pos = np.mean(np.all(np.linalg.eigvalsh(batch) > 0, axis=1))
    assert 0.02 < p_pos < 0.035                    # far below 1/8, the chance of 3 independent signs
    _raises(ValueError, "n must be a positive int, got 0", ls.goe, 0, rng=rng)
    _raises(TypeError, "rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), got int",
            ls.goe, 2, rng=3)


class _RecordingRng(np.random.Generator):
    """A Generator that records the shapes it draws, returns `fixed` if given, and refuses to
    draw more than `limit` times (an endless loop would draw forever)."""

    def __init__(self, seed=0, *, fixed=None, limit=10):
        super().__init__(np.random.PCG64(seed))
        self.shapes, self.fixed, self.limit = [], fixed, limit

    def standard_normal(self, size=None, *args, **kwargs):
        self.shapes.append(size)
        if len(self.shapes) > self.limit:
            raise RuntimeError(f"more than {self.limit} draws")
        if self.fixed is not None:
            return np.broadcast_to(self.fixed, size).copy()
        return super().standard_normal(size, *args, **kwargs)


def test_goe_positive_definite_fraction_draws_in_batches():
    rng = _RecordingRng(limit=3)
    frac = ls.goe_positive_definite_fraction(2, 25, rng=rng, batch=10)
    assert rng.shapes == [(10, 2, 2), (10, 2, 2), (5, 2, 2)]
    # the same draws, all at once: the elimination agrees with the eigenvalues
    same = np.random.default_rng(0)
    draws = np.concatenate([ls.goe(2, rng=same, size=m) for m in (10, 10, 5)])
    assert frac == np.mean(np.all(np.linalg.eigvalsh(draws) > 0, axis=1))
    rng = _RecordingRng(limit=2)
    ls.goe_positive_definite_fraction(1, 150_000, rng=rng)           # default batch 100 000
    assert rng.shapes == [(100_000, 1, 1), (50_000, 1, 1)]


def test_goe_positive_definite_fraction_matches_eigenvalues():
    # The elimination test and the eigenvalues see the same draws (same seed, same batches).
    for n in (1, 3, 5):
        frac = ls.goe_positive_definite_fraction(n, 30_000, rng=np.random.default_rng(n),
                                                 batch=7_000)
        rng = np.random.default_rng(n)
        draws = np.concatenate([ls.goe(n, rng=rng, size=m) for m in (7_000,) * 4 + (2_000,)])
        assert frac == np.mean(np.all(np.linalg.eigvalsh(draws) > 0, axis=1))
    assert ls.goe_positive_definite_fraction(1, 10_000, rng=np.random.default_rng(0)) == \
        pytest.approx(0.5, abs=0.02)
    assert ls.goe_positive_definite_fraction(4, 200_000, rng=np.random.default_rng(0)) == \
        pytest.approx(2.4e-3, rel=0.2)
    rng = np.random.default_rng(0)
    _raises(ValueError, "n must be a positive int, got 0", ls.goe_positive_definite_fraction,
            0, 10, rng=rng)
    _raises(ValueError, "samples must be a positive int, got 0",
            ls.goe_positive_definite_fraction, 2, 0, rng=rng)
    _raises(ValueError, "batch must be a positive int, got 1.5",
            ls.goe_positive_definite_fraction, 2, 10, rng=rng, batch=1.5)
    _raises(TypeError, "rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), got int",
            ls.goe_positive_definite_fraction, 2, 10, rng=3)


def _trained(backend, seed=0):
    rng = np.random.default_rng(seed)
    X, y = nb.data.moons(60, rng=rng)
    model = nb.mlp([2, 6, 2], "tanh", rng=rng, backend=backend)
    X, y = backend.asarray(X), backend.asarray(y)
    nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.5), X, y, epochs=20,
           batch_size=20, rng=rng)
    return model, nb.CrossEntropyLoss(), X, y


def test_interpolate(backend):
    model, loss_fn, X, y = _trained(backend)
    b = flat_parameters(model)
    a = flat_parameters(nb.mlp([2, 6, 2], "tanh", rng=np.random.default_rng(9), backend=backend))
    losses, accs = ls.interpolate(model, loss_fn, X, y, a, b, [0.0, 0.5, 1.0], metric=nb.accuracy)
    assert losses.shape == accs.shape == (3,)
    np.testing.assert_array_equal(to_numpy(flat_parameters(model)), to_numpy(b))     # restored
    assert losses[2] == pytest.approx(loss_value(model, loss_fn, X, y), rel=1e-12)
    assert accs[2] == nb.accuracy(nb.predict(model, X), y)
    set_flat_parameters(model, a)
    assert losses[0] == pytest.approx(loss_value(model, loss_fn, X, y), rel=1e-12)
    set_flat_parameters(model, 0.5 * a + 0.5 * b)
    assert losses[1] == pytest.approx(loss_value(model, loss_fn, X, y), rel=1e-12)
    assert ls.interpolate(model, loss_fn, X, y, a, b, np.array([1.0])).shape == (1,)


def test_random_direction_is_filter_normalised(backend):
    model, *_ = _trained(backend)
    d = to_numpy(ls.random_direction(model, rng=np.random.default_rng(1)))
    set_flat_parameters(model, d)
    for layer, original in zip((model[0], model[2]), _trained(backend)[0].layers[::2], strict=True):
        np.testing.assert_allclose(np.linalg.norm(to_numpy(layer.W.data), axis=1),
                                   np.linalg.norm(to_numpy(original.W.data), axis=1), rtol=1e-12)
        np.testing.assert_array_equal(to_numpy(layer.b.data), 0.0)
    model2, *_ = _trained(backend)
    d2 = to_numpy(ls.random_direction(model2, rng=np.random.default_rng(1), ignore_bias=False))
    set_flat_parameters(model, d2)
    np.testing.assert_allclose(np.linalg.norm(to_numpy(model[0].b.data)),
                               np.linalg.norm(to_numpy(model2[0].b.data)), rtol=1e-12)
    d3 = ls.random_direction(model2, rng=np.random.default_rng(1), normalization="none")
    assert float(np.linalg.norm(to_numpy(d3))) == pytest.approx(1.0)


def test_slice_2d(backend):
    model, loss_fn, X, y = _trained(backend)
    theta = flat_parameters(model)
    d1 = ls.random_direction(model, rng=np.random.default_rng(1))
    d2 = ls.random_direction(model, rng=np.random.default_rng(2))
    grid = ls.slice_2d(model, loss_fn, X, y, theta, d1, d2, [-1.0, 0.0, 1.0], [0.0, 0.5])
    assert grid.shape == (2, 3)
    assert grid[0, 1] == pytest.approx(loss_value(model, loss_fn, X, y), rel=1e-12)
    set_flat_parameters(model, theta + 1.0 * d1 + 0.5 * d2)
    assert grid[1, 2] == pytest.approx(loss_value(model, loss_fn, X, y), rel=1e-12)
    set_flat_parameters(model, theta)
    centre, accs = ls.slice_2d(model, loss_fn, X, y, theta, d1, d2, [0.0], [0.0], metric=nb.accuracy)
    assert centre[0, 0] == grid[0, 1]
    assert accs[0, 0] == nb.accuracy(nb.predict(model, X), y)


def test_landscape_views_refuse_bad_inputs():
    model, loss_fn, X, y = _trained(nb.Backend())
    theta = flat_parameters(model)
    _raises(ValueError, "theta_b must have shape (32,), got (31,)", ls.interpolate, model, loss_fn, X, y,
            theta, theta[:31], [0.0])
    _raises(ValueError, "alphas must be a 1-D sequence, got shape (1, 2)", ls.interpolate, model,
            loss_fn, X, y, theta, theta, [[0.0, 1.0]])
    _raises(ValueError, "d2 must have shape (32,), got (2,)", ls.slice_2d, model, loss_fn, X, y,
            theta, theta, np.zeros(2), [0.0], [0.0])
    _raises(ValueError, "betas must be a 1-D sequence, got shape ()", ls.slice_2d, model, loss_fn, X, y,
            theta, theta, theta, [0.0], 0.0)
    _raises(ValueError, "normalization must be 'filter' or 'none', got 'layer'", ls.random_direction,
            model, rng=np.random.default_rng(0), normalization="layer")
    _raises(TypeError, "model must be an nnbook Module, got str", ls.random_direction, "net",
            rng=np.random.default_rng(0))


def test_landscape_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbook import plots_landscape as pl

    ax = pl.objective_contour(ls.DoubleWell(), levels=10, n=40)
    assert ax.get_title() == "double well" and ax.get_xlabel() == "$x$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["minimum", "saddle"]
    _raises(ValueError, "f must be a function of 2 variables, got dim = 5", pl.objective_contour,
            FUNCTIONS["bowl-5d"])
    fig = pl.hessian_panels(ls.DoubleWell(), (0.0, 0.0), n=31)
    assert [a.get_title() for a in fig.axes] == ["double well", "quadratic model"]
    assert fig._suptitle.get_text() == "at (0.00, 0.00): eigenvalues -4, 2; critical point: saddle"
    fig = pl.hessian_panels(ls.Rosenbrock(), (0.0, 0.0), n=31)
    assert fig._suptitle.get_text().endswith("not critical: |∇f| = 2.00")
    anim = pl.hessian_animation(ls.Quadratic.saddle(), [[0.0, 0.0], [0.5, 0.5]])
    assert anim.to_jshtml().count("data:image/png") == 2            # one frame per point
    ax = pl.spectrum({"a": np.array([-1.0, 0.0, 2.0])})
    assert ax.get_yscale() == "symlog" and len(ax.get_lines()) == 2
    ax = pl.interpolation(np.linspace(0, 1, 5), {"A": np.arange(5.0)}, log=True)
    assert ax.get_yscale() == "log"
    ax = pl.slice_contour(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4),
                          np.exp(np.random.default_rng(0).standard_normal((4, 5))))
    assert ax.get_xlabel().startswith(r"$\alpha$")
    ax = pl.semicircle(np.linalg.eigvalsh(ls.goe(50, rng=np.random.default_rng(0))))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["50 eigenvalues", "semicircle law"]
    plt.close("all")


def test_hessian_explorer_builds():
    pytest.importorskip("ipywidgets")
    from nnbook import plots_landscape as pl

    explorer = pl.hessian_explorer()
    w = explorer.widget
    assert [c.description for c in w.children[:4]] == ["function", "x", "y", "window"]
    html = explorer._repr_mimebundle_()["text/html"]
    assert html.count("iVBOR") == len(w.children[0].options) + 1    # a frame per function


# --------------------------------------------------------------------------
# Test functions: calling, names, defaults, critical points
# --------------------------------------------------------------------------

def test_calling_an_objective_is_its_value():
    f = ls.Rosenbrock()
    x = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    np.testing.assert_array_equal(f(x), [1.0, 0.0, 4.0 + 100.0 * 1.0])   # (1-u)^2 + 100 (v-u^2)^2
    np.testing.assert_array_equal(ls.MonkeySaddle()(np.array([2.0, 1.0])), 8.0 - 6.0)


def test_reprs_and_names():
    assert repr(ls.MonkeySaddle()) == "MonkeySaddle()"
    assert repr(ls.Quadratic(np.diag([2.0, 1.0 / 3.0]))) == "Quadratic(eigenvalues=[0.333333, 2.0])"
    assert ls.FlatDirection(3).name == "x^3 + y^2"
    assert repr(ls.FlatDirection()) == "FlatDirection(p=4)"


def test_flat_direction_defaults_to_x4():
    f = ls.FlatDirection()
    assert f.p == 4 and f.name == "x^4 + y^2"
    np.testing.assert_array_equal(f.value(np.array([2.0, 1.0])), 16.0 + 1.0)
    np.testing.assert_array_equal(f.hessian(np.array([2.0, 1.0])), [[48.0, 0.0], [0.0, 2.0]])


def test_rosenbrock_minimum_is_at_a_a_squared():
    f = ls.Rosenbrock(a=2.0, b=3.0)
    [(x, kind)] = f.critical_points()
    np.testing.assert_array_equal(x, [2.0, 4.0])
    assert kind == "minimum"
    np.testing.assert_array_equal(f.gradient(x), [0.0, 0.0])
    # H = [[2 + 8 b a^2, -4 b a], [-4 b a, 2 b]] at the minimum
    np.testing.assert_allclose(f.hessian(x), [[2.0 + 96.0, -24.0], [-24.0, 6.0]], rtol=1e-14)


@pytest.mark.parametrize(("eigenvalues", "expected"), [
    ([1e-8, 1.0], []),                       # |lambda| = 1e-8 * max(1, 1): counts as zero
    ([1.5e-8, 1.0], "minimum"),              # above 1e-8 * max(1, |lambda|)
    ([1e-6, 1e3], []),                       # the tolerance scales with the largest |lambda|
    ([1e-6, -1e3], []),
    ([-1.0, 0.5], "saddle"),
    ([-1.0, -0.5], "maximum"),
    ([0.5, 2.0], "minimum"),
])
def test_quadratic_critical_point_tolerance(eigenvalues, expected):
    q = ls.Quadratic(np.diag(eigenvalues), center=[1.0, -1.0])
    points = q.critical_points()
    if expected == []:
        assert points == []
    else:
        [(x, kind)] = points
        np.testing.assert_array_equal(x, [1.0, -1.0])
        assert kind == expected


# --------------------------------------------------------------------------
# The Hessian test at its tolerances
# --------------------------------------------------------------------------

def test_classification_accepts_a_gradient_exactly_at_the_tolerance():
    g = np.array([3.0, 4.0])                          # norm exactly 5
    assert ls.classify_critical_point(g, np.eye(2), grad_tol=5.0) == "minimum"
    _raises(ValueError, "gradient must vanish at a critical point: |gradient| = 5 > "
            "grad_tol = 4.99; the Hessian test classifies critical points only",
            ls.classify_critical_point, g, np.eye(2), grad_tol=4.99)


def test_classification_symmetry_tolerance_is_relative_1e_8():
    z = np.zeros(2)
    H = np.array([[1.0, 1.0], [1.0 + 1e-6, 1.0]])    # asymmetric by 1e-6: refused
    _raises(ValueError, "hessian must be symmetric, got a matrix with hessian != hessian.T",
            ls.classify_critical_point, z, H)
    H = np.array([[3.0, 1.0], [1.0 + 1e-9, 3.0]])    # by 1e-9: within rtol 1e-8, accepted
    assert ls.classify_critical_point(z, H) == "minimum"


# --------------------------------------------------------------------------
# Random symmetric matrices: arguments and batching
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [True, 2.5, 0, -1])
def test_goe_refuses_bad_n(n):
    _raises(ValueError, f"n must be a positive int, got {n!r}", ls.goe, n,
            rng=np.random.default_rng(0))
    _raises(ValueError, f"n must be a positive int, got {n!r}",
            ls.goe_positive_definite_fraction, n, 10, rng=np.random.default_rng(0))


def test_goe_positive_definite_fraction_with_one_sample_per_batch():
    rng = np.random.default_rng(3)
    signs = rng.standard_normal(7) > 0           # a 1 x 1 GOE draw is sqrt(2) g: positive iff g > 0
    frac = ls.goe_positive_definite_fraction(1, 7, rng=np.random.default_rng(3), batch=1)
    assert frac == np.mean(signs)
    frac = ls.goe_positive_definite_fraction(1, 1, rng=np.random.default_rng(3))
    assert frac == float(signs[0])


@pytest.mark.parametrize(("G", "expected"), [
    (np.zeros((1, 1)), 0.0),                        # the zero matrix: pivot 0, not definite
    (np.ones((2, 2)), 0.0),                         # [[1, 1], [1, 1]]: second pivot 0
    (np.array([[0.0, 1.0], [0.0, 1.0]]), 0.0),      # first pivot 0, off-diagonal not
    (np.eye(2), 1.0),
])
def test_a_zero_pivot_is_not_positive_definite(G, expected):
    """Semi-definite draws are not positive definite; the elimination never divides by zero."""
    n = G.shape[0]
    rng = _RecordingRng(fixed=G, limit=1)
    with np.errstate(all="raise"):
        assert ls.goe_positive_definite_fraction(n, 3, rng=rng) == expected


# --------------------------------------------------------------------------
# Loss views: argument names, targets validated once, float64 coordinates
# --------------------------------------------------------------------------

def test_landscape_views_name_the_bad_argument():
    model, loss_fn, X, y = _trained(nb.Backend())
    theta = flat_parameters(model)
    short = theta[:31]
    _raises(ValueError, "theta_a must have shape (32,), got (31,)", ls.interpolate, model, loss_fn,
            X, y, short, theta, [0.0])
    _raises(ValueError, "theta must have shape (32,), got (31,)", ls.slice_2d, model, loss_fn, X, y,
            short, theta, theta, [0.0], [0.0])
    _raises(ValueError, "d1 must have shape (32,), got (31,)", ls.slice_2d, model, loss_fn, X, y,
            theta, short, theta, [0.0], [0.0])
    _raises(ValueError, "alphas must be a 1-D sequence, got shape (1, 1)", ls.slice_2d, model,
            loss_fn, X, y, theta, theta, theta, [[0.0]], [0.0])


class _CountingCE(nb.CrossEntropyLoss):
    """Cross-entropy that counts how often it validates its targets."""

    checks = 0

    @staticmethod
    def _check(output, target):
        _CountingCE.checks += 1
        nb.CrossEntropyLoss._check(output, target)


def test_loss_views_validate_the_targets_once():
    model, _, X, y = _trained(nb.Backend())
    theta = flat_parameters(model)
    _CountingCE.checks = 0
    ls.interpolate(model, _CountingCE(), X, y, theta, 0.5 * theta, np.linspace(0, 1, 5))
    assert _CountingCE.checks == 1
    _CountingCE.checks = 0
    ls.slice_2d(model, _CountingCE(), X, y, theta, theta, theta, [0.0, 1.0], [0.0, 1.0, 2.0])
    assert _CountingCE.checks == 1


def test_interpolation_coordinates_are_float64():
    """float32 alphas are widened first: (1 - alpha) is computed in float64, not float32."""
    model, loss_fn, X, y = _trained(nb.Backend())
    a = to_numpy(flat_parameters(model)).copy()
    b = 1.7 * a
    alphas32 = np.array([0.1, 0.3, 0.7], dtype=np.float32)
    losses = ls.interpolate(model, loss_fn, X, y, a, b, alphas32)
    for t, loss in zip(alphas32.astype(float), losses, strict=True):
        set_flat_parameters(model, (1.0 - t) * a + t * b)
        assert loss == loss_value(model, loss_fn, X, y)
    set_flat_parameters(model, a)


def test_slice_coordinates_are_float64():
    """float32 grid coordinates are widened first: theta + a d1 + b d2 is computed in float64
    and rounded once into a float32 model (near a perfect fit the loss sees every rounding)."""
    bk = nb.Backend("numpy", "cpu", "float32")
    rng = np.random.default_rng(5)
    model = nb.Linear(2, 1, rng=rng, backend=bk)
    X = rng.standard_normal((4, 2))
    theta = to_numpy(flat_parameters(model))
    d1, d2 = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    alphas = np.array([0.1, 0.3], dtype=np.float32)
    betas = np.array([0.2, 0.7], dtype=np.float32)
    fit = theta + 0.3 * d1.astype(float) + 0.7 * d2.astype(float)     # float64
    X, y = bk.asarray(X), bk.asarray(X @ fit[:2, None] + fit[2])
    loss_fn = nb.MSELoss()
    grid = ls.slice_2d(model, loss_fn, X, y, theta, d1, d2, alphas, betas)
    np.testing.assert_array_equal(to_numpy(flat_parameters(model)), theta)      # restored
    for i, b in enumerate(betas.astype(float)):
        for j, a in enumerate(alphas.astype(float)):
            set_flat_parameters(model, theta.astype(float) + a * d1.astype(float) + b * d2.astype(float))
            assert grid[i, j] == loss_value(model, loss_fn, X, y)
    assert grid[1, 1] < 1e-12                                                   # the fit


# --------------------------------------------------------------------------
# Quadratics: dtype and device of the constants, their construction, their names
# --------------------------------------------------------------------------

@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_a_quadratic_keeps_float32_points_in_float32(library):
    bk = nb.Backend(library, "cpu", "float32")
    q = ls.Quadratic([[2.0, 1.0], [1.0, 3.0]], center=[0.5, -1.0])
    x = bk.asarray(np.array([[1.0, 2.0], [0.0, 0.0]]))
    d = np.array([[0.5, 3.0], [-0.5, 1.0]])
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    for out, expected in [(q.value(x), 0.5 * np.sum(d @ A * d, axis=-1)),
                          (q.gradient(x), d @ A), (q.hessian(x), np.stack([A, A]))]:
        assert isinstance(out, type(x)) and nb.backend.dtype_name(out) == "float32"
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6)


def test_a_quadratic_stays_on_the_points_device_whatever_torch_default_device():
    q = ls.Quadratic([[2.0, 1.0], [1.0, 3.0]], center=[0.5, -1.0])
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    with torch.device("meta"):
        out = [q.value(x), q.gradient(x), q.hessian(x)]
    assert all(o.device == torch.device("cpu") for o in out)
    np.testing.assert_allclose(out[1].numpy(), [[4.0, 9.5]])


def test_a_quadratic_converts_its_matrix_and_center_to_float():
    """A boolean identity is the float identity (not True + True = True, halved), and an
    integer center comes back as a float point."""
    q = ls.Quadratic(np.eye(2, dtype=bool), center=np.array([1, 2]))
    np.testing.assert_array_equal(q.A, np.eye(2))
    assert q.A.dtype == np.float64
    point, kind = q.critical_points()[0]
    assert point.dtype == np.float64 and kind == "minimum"
    np.testing.assert_array_equal(point, [1.0, 2.0])
    assert q.center.dtype == np.float64


def test_a_one_dimensional_quadratic():
    q = ls.Quadratic([[3.0]], center=[1.0])
    assert q.dim == 1
    np.testing.assert_allclose(q.value(np.array([3.0])), 6.0)
    np.testing.assert_allclose(q.gradient(np.array([3.0])), [6.0])
    assert q.critical_points()[0][1] == "minimum"


@pytest.mark.parametrize("A", [
    [[1.0, 1e3], [1e3 + 1e-3, 1.0]],     # relative asymmetry 1e-6: above rtol = 1e-12
    [[1.0, 1e-10], [0.0, 1.0]],          # absolute asymmetry 1e-10: above atol = 1e-12
])
def test_a_quadratic_refuses_a_slightly_asymmetric_matrix(A):
    _raises(ValueError, "A must be symmetric, got a matrix with A != A.T", ls.Quadratic, A)


def test_quadratic_names():
    assert ls.Quadratic(np.eye(2)).name == "quadratic"
    assert ls.Quadratic.saddle().name == "saddle"
    assert ls.Quadratic.with_condition_number(10.0).name == "bowl, κ = 10"
    assert ls.Quadratic.with_condition_number(2.5, dim=3).name == "bowl, κ = 2.5"


def test_the_saddle_is_half_x2_minus_y2():
    q = ls.Quadratic.saddle()
    np.testing.assert_array_equal(q.A, np.diag([1.0, -1.0]))
    np.testing.assert_allclose(q.value(np.array([3.0, 2.0])), 0.5 * (9.0 - 4.0))


def test_with_condition_number_is_diagonal_by_default_and_rotated_by_angle():
    np.testing.assert_array_equal(ls.Quadratic.with_condition_number(4.0).A, np.diag([1.0, 4.0]))
    c, s = np.cos(0.3), np.sin(0.3)
    R = np.array([[c, -s], [s, c]])
    np.testing.assert_allclose(ls.Quadratic.with_condition_number(4.0, angle=0.3).A,
                               R @ np.diag([1.0, 4.0]) @ R.T, rtol=1e-14, atol=1e-15)
    # in more dimensions the angle is ignored: diagonal, eigenvalues 1, 2, 4
    np.testing.assert_allclose(ls.Quadratic.with_condition_number(4.0, dim=3, angle=0.3).A,
                               np.diag([1.0, 2.0, 4.0]), rtol=1e-14)


@pytest.mark.parametrize(("kappa", "dim", "eigenvalues"), [
    (1, 2, [1.0, 1.0]), (1.0, 3, [1.0, 1.0, 1.0]), (1.5, 2, [1.0, 1.5]), (9.0, 1, [1.0]),
])
def test_with_condition_number_accepts_kappa_one_and_dim_one(kappa, dim, eigenvalues):
    q = ls.Quadratic.with_condition_number(kappa, dim)
    assert q.dim == dim
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), eigenvalues, rtol=1e-14)


def test_the_hessian_of_a_quadratic_turns_negative_zeros_into_zeros():
    """The broadcast Hessian is copied with + 0.0: -0.0 entries of A come out +0.0."""
    q = ls.Quadratic([[1.0, -0.0], [-0.0, 2.0]])
    assert np.signbit(q.A[0, 1])
    H = q.hessian(np.zeros((3, 2)))
    assert H.shape == (3, 2, 2)
    np.testing.assert_array_equal(H, np.broadcast_to(np.diag([1.0, 2.0]), (3, 2, 2)))
    assert not np.any(np.signbit(H))


def test_rosenbrock_accepts_any_positive_b():
    f = ls.Rosenbrock(a=1.0, b=0.5)
    np.testing.assert_allclose(f.value(np.array([0.0, 1.0])), 1.0 + 0.5)
    np.testing.assert_allclose(f.gradient(np.array([0.0, 1.0])), [-2.0, 1.0])


def test_double_well_near_the_merging_tilt():
    """Tilt 1.5387 < 8/sqrt(27): roots u1 < 0 < u2 < 1/sqrt(3) < u3 of 4u^3 - 4u + t.

    u2 (12 u2^2 - 4 < 0) is the saddle, u3 (12 u3^2 - 4 > 0 but < 1) a shallow minimum."""
    t = 1.5387
    f = ls.DoubleWell(tilt=t)
    roots = np.sort(np.roots([4.0, 0.0, -4.0, t]).real)
    points = f.critical_points()
    assert [k for _, k in points] == ["minimum", "saddle", "minimum"]
    np.testing.assert_allclose([p[0] for p, _ in points], roots, rtol=1e-12)
    curv = 12 * roots ** 2 - 4
    assert -0.3 < curv[1] < 0 < curv[2] < 1          # close to the merge on both sides
    assert 12 * roots[1] ** 2 > 3.6 and 12 * roots[2] ** 2 < 4.8


# --------------------------------------------------------------------------
# The Hessian test: symmetry check and eigenvalue tolerances
# --------------------------------------------------------------------------

@pytest.mark.parametrize("H", [[[1.0, 1e-10], [0.0, 1.0]], [[1.0, 1.0], [1.5, 1.0]]])
def test_the_hessian_test_refuses_an_asymmetric_hessian(H):
    _raises(ValueError, "hessian must be symmetric, got a matrix with hessian != hessian.T",
            ls.classify_critical_point, np.zeros(2), np.array(H))


@pytest.mark.parametrize(("diag", "expected"), [
    ([0.5, 6e-9], "undecided"),          # 6e-9 <= 1e-8 * max(1, 0.5)
    ([0.5, 1.2e-8], "minimum"),          # 1.2e-8 > 1e-8 (the eigenvalues of H, unscaled)
    ([1.0, 1.5e-8], "minimum"),          # the scale is max(1, |lambda|max) = 1
    ([100.0, 5e-7], "undecided"),        # tol = 1e-8 * 100 = 1e-6
    ([-0.5, 1e-8], "undecided"),         # an eigenvalue exactly at +tol counts as zero
    ([0.5, -1e-8], "undecided"),         # ... and one exactly at -tol
    ([0.5, 1e-8], "undecided"),
    ([-0.5, -1e-8], "undecided"),
])
def test_the_hessian_test_eigenvalue_tolerance_is_relative(diag, expected):
    H = np.diag(diag)
    assert np.array_equal(np.linalg.eigvalsh(H), np.sort(diag))      # exact eigenvalues
    assert ls.classify_critical_point(np.zeros(2), H) == expected
