import numpy as np
import pytest

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
