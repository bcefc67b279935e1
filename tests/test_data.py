import numpy as np
import pytest

import nnbook as nb


def test_xor_truth_table():
    X, y = nb.data.xor()
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    np.testing.assert_array_equal(X.astype(int).sum(axis=1) % 2, y)
    _, ypm = nb.data.xor(labels="pm1")
    np.testing.assert_array_equal(ypm, [-1, 1, 1, -1])


def test_separable_respects_the_margin(rng):
    X, y, w = nb.data.separable(300, 0.2, rng=rng, dim=3)
    assert X.shape == (300, 3) and set(np.unique(y)) == {-1.0, 1.0}
    assert np.isclose(np.linalg.norm(w), 1.0)
    assert np.min(y * (X @ w)) >= 0.2
    assert np.max(np.linalg.norm(X, axis=1)) <= 1.0


@pytest.mark.parametrize("make", [
    lambda rng: nb.data.moons(101, rng=rng),
    lambda rng: nb.data.spirals(101, 3, rng=rng),
    lambda rng: nb.data.blobs(101, rng=rng),
])
def test_generators_are_seeded_and_shaped(make):
    a, b = make(np.random.default_rng(0)), make(np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (101, 2) and a[1].shape == (101,) and a[1].dtype == np.int64


def test_digits_split(rng):
    d = nb.data.digits(rng=rng)
    assert d.X_train.shape == (1438, 64) and d.X_test.shape == (359, 64)
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert set(np.unique(d.y_test)) == set(range(10))


def test_data_refusals(rng):
    with pytest.raises(ValueError, match=r"margin must lie in \[0, radius=1.0\), got 1.5"):
        nb.data.separable(10, 1.5, rng=rng)
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        nb.data.moons(0, rng=rng)
    with pytest.raises(ValueError, match="labels must be '01' or 'pm1', got 'bool'"):
        nb.data.xor(labels="bool")
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        nb.data.spirals(10, rng=None)
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 1\), got 1.0"):
        nb.data.split(np.ones((4, 1)), np.ones(4), 1.0, rng=rng)


def test_more_data_refusals(rng):
    with pytest.raises(ValueError, match="labels='pm1' needs exactly two centers"):
        nb.data.blobs(9, rng=rng, centers=((0, 0), (1, 1), (2, 2)), labels="pm1")
    with pytest.raises(ValueError, match="X and y must have the same length, got 4 and 3"):
        nb.data.split(np.ones((4, 1)), np.ones(3), rng=rng)
