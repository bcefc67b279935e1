
import numpy as np
import pytest
from conftest import whole

from nnbook import init


@pytest.mark.parametrize("fn, var", [
    (init.lecun_normal, lambda fi, fo: 1 / fi),
    (init.xavier_normal, lambda fi, fo: 2 / (fi + fo)),
    (init.he_normal, lambda fi, fo: 2 / fi),             # He is 2/fan_in, not Xavier's 2/(in+out)
    (init.uniform_fan_in, lambda fi, fo: 1 / (3 * fi)),
])
def test_initialisers_have_their_variance(fn, var, rng):
    W = fn((300, 500), 500, 300, rng)
    assert W.shape == (300, 500)
    assert abs(W.mean()) < 0.01 * np.sqrt(var(500, 300))
    assert W.var() == pytest.approx(var(500, 300), rel=0.02)


def test_constant_cannot_break_symmetry(rng):
    W = init.constant(0.3)((4, 5), 5, 4, rng)
    np.testing.assert_array_equal(W, 0.3)


def test_initialisers_refuse_a_missing_generator():
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        init.he_normal((2, 2), 2, 2, 42)




@pytest.mark.parametrize("fn, bad", [
    (lambda r, g: init.lecun_normal((3, 3), 3, 3, r, gain=g), True),
    (lambda r, g: init.xavier_uniform((3, 3), 3, 3, r, gain=g), float("inf")),
    (lambda r, g: init.orthogonal((3, 3), 3, 3, r, gain=g), 0.0),
    (lambda r, g: init.scheme_variance("lecun", 3, 3, gain=g), 0),
])
def test_gain_must_be_a_positive_finite_number(fn, bad, rng):
    with pytest.raises(ValueError, match=whole(f"gain must be a positive finite number, got {bad!r}")):
        fn(rng, bad)


@pytest.mark.parametrize("value", [True, "0.5", float("inf")])
def test_constant_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(ValueError, match=whole(f"value must be a finite number, got {value!r}")):
        init.constant(value)


def test_scheme_variance_scales_with_the_square_of_the_gain():
    """gain = 3 tells g**2 from 2*g or g**3 (gain 1 would not)."""
    assert init.scheme_variance("lecun", 100, 50, gain=3.0) == pytest.approx(9 / 100)
    assert init.scheme_variance("xavier", 100, 50, gain=3.0) == pytest.approx(9 * 2 / 150)
    assert init.scheme_variance("orthogonal", 100, 50, gain=3.0) == pytest.approx(9 / 100)
    assert init.scheme_variance("orthogonal", 40, 50, gain=3.0) == pytest.approx(9 / 50)
    assert init.scheme_variance("he", 100, 50, mode="fan_out") == pytest.approx(2 / 50)
    with pytest.raises(ValueError, match=r"^fan_in must be a positive int, got 0$"):
        init.scheme_variance("he", 0, 3)
    with pytest.raises(ValueError, match=r"^fan_out must be a positive int, got -2$"):
        init.scheme_variance("he", 3, -2)


def test_he_defaults_to_a_zero_slope_for_leaky_relu(rng):
    """a = 0 as in PyTorch's kaiming_*: a leaky ReLU of slope 0 is a ReLU, gain sqrt(2)."""
    W = init.he_normal((300, 500), 500, 300, rng, nonlinearity="leaky_relu")
    assert W.var() == pytest.approx(2 / 500, rel=0.02)
    W = init.he_uniform((300, 500), 500, 300, rng, nonlinearity="leaky_relu")
    assert np.abs(W).max() == pytest.approx(np.sqrt(6 / 500), rel=1e-3)
    W = init.he_uniform((300, 500), 500, 300, rng, nonlinearity="leaky_relu", a=0.5)
    assert np.abs(W).max() == pytest.approx(np.sqrt(2 / 1.25) * np.sqrt(3 / 500), rel=1e-3)


def test_normal_takes_any_real_std(rng):
    W = init.normal(1)((200, 300), 300, 200, rng)            # an int std is fine
    assert abs(W.mean()) < 0.01 and W.var() == pytest.approx(1.0, rel=0.02)
    np.testing.assert_array_equal(init.normal(0.0)((2, 3), 3, 2, rng), 0.0)
    assert init.normal(np.float32(0.5)).__name__ == "normal(0.5)"


@pytest.mark.parametrize("shape, expected", [
    (5, (5,)), (np.int64(4), (4,)), ((1, 3), (1, 3)), ([1, 1], (1, 1)), ((3, 1), (3, 1)),
])
def test_shapes_may_be_an_int_and_have_sides_of_one(shape, expected, rng):
    assert init.he_normal(shape, 3, 1, rng).shape == expected
    W = init.constant(0.3)(shape, 3, 1, rng)
    assert W.shape == expected and np.all(W == 0.3)


@pytest.mark.parametrize("shape, shown", [
    (True, "True"), (0, "(0,)"), ((2, 0), "(2, 0)"), ((2, True), "(2, True)"),
    ((2.0, 3), "(2.0, 3)"), ("3", "'3'"), (None, "None"),
])
def test_shapes_that_are_not_positive_ints_are_refused(shape, shown, rng):
    """A bool is not a size, although Python counts it as an int; an int is a 1-d shape."""
    with pytest.raises(ValueError, match=whole(f"shape must be a tuple of positive ints, got {shown}")):
        init.he_normal(shape, 3, 1, rng)
