import numpy as np
import pytest

import nnbook as nb


def test_xor_truth_table():
    X, y = nb.data.xor()
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    np.testing.assert_array_equal(X.astype(int).sum(axis=1) % 2, y)
    _, ypm = nb.data.xor(labels="pm1")
    np.testing.assert_array_equal(ypm, [-1, 1, 1, -1])


class _CountingGenerator(np.random.Generator):
    """A Generator that counts its uniform draws and refuses more than ``limit``."""

    def __init__(self, seed, limit):
        super().__init__(np.random.PCG64(seed))
        self.calls, self.limit = 0, limit

    def uniform(self, *args, **kwargs):
        self.calls += 1
        if self.calls > self.limit:
            raise RuntimeError(f"more than {self.limit} rounds of sampling")
        return super().uniform(*args, **kwargs)


def test_separable_keeps_what_every_round_of_sampling_kept():
    # At margin 0.9 a round keeps about 4 % of its candidates, some 8 of 216 here: the 50
    # points are gathered over several rounds (one round alone never keeps 50), a few dozen
    # at most
    rng = _CountingGenerator(3, limit=60)
    X, y, w = nb.data.separable(50, 0.9, rng=rng)
    assert 3 <= rng.calls <= 60
    assert X.shape == (50, 2) and y.shape == (50,)
    assert np.all(np.abs(X @ w) >= 0.9) and np.all(np.linalg.norm(X, axis=1) <= 1.0)
    np.testing.assert_array_equal(y, np.where(X @ w > 0, 1.0, -1.0))


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


def test_blobs_spread_and_labels_for_any_number_of_centers(rng):
    centers = ((0.0, 0.0), (4.0, 0.0), (0.0, 4.0))
    X, y = nb.data.blobs(3000, rng=rng, centers=centers)
    np.testing.assert_array_equal(y, np.arange(3000) % 3)
    assert X.dtype == np.float64 and y.dtype == np.int64
    residual = X - np.asarray(centers)[y]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(residual.std(axis=0), 0.5, rtol=0.04)      # the default std


def test_blobs_pm1_labels(rng):
    _, y = nb.data.blobs(6, rng=rng, labels="pm1")
    np.testing.assert_array_equal(y, [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    _, y01 = nb.data.blobs(6, rng=rng)
    np.testing.assert_array_equal(y01, [0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"^labels='pm1' needs exactly two centers$"):
        nb.data.blobs(9, rng=rng, centers=((0, 0), (1, 1), (2, 2)), labels="pm1")


def test_xor_noise_is_a_cloud_per_corner(rng):
    X, y = nb.data.xor(500, 0.1, rng=rng)
    corners = np.repeat([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], 500, axis=0)
    np.testing.assert_array_equal(y, np.repeat([0, 1, 1, 0], 500))
    np.testing.assert_allclose((X - corners).std(axis=0), 0.1, rtol=0.05)
    with pytest.raises(ValueError, match=r"^n_per_corner must be a positive int, got 0$"):
        nb.data.xor(0)


def test_separable_fills_the_ball_uniformly(rng):
    """Without a margin, the fraction of points within radius rho of the centre is rho^dim."""
    for dim in (2, 3):
        X, y, w = nb.data.separable(4000, 0.0, rng=rng, dim=dim, radius=2.0)
        r = np.linalg.norm(X, axis=1)
        assert r.max() <= 2.0 and r.max() > 1.98
        assert np.mean(r < 1.0) == pytest.approx(0.5 ** dim, abs=0.025)
        np.testing.assert_array_equal(y, np.where(X @ w > 0, 1.0, -1.0))


def test_separable_returns_exactly_n_points_even_when_most_are_rejected():
    for seed in range(20):
        X, y, w = nb.data.separable(7, 0.9, rng=np.random.default_rng(seed))
        assert X.shape == (7, 2) and y.shape == (7,)
        assert np.min(y * (X @ w)) >= 0.9
    X, y, _ = nb.data.separable(3, 0.1, rng=np.random.default_rng(0))      # tiny sets too
    assert X.shape == (3, 2)
    _, y01, _ = nb.data.separable(5, 0.1, rng=np.random.default_rng(0), labels="01")
    assert y01.dtype == np.int64 and set(y01.tolist()) <= {0, 1}


def test_separable_margin_bounds(rng):
    X, _, _ = nb.data.separable(10, 0.0, rng=rng)          # a zero margin is allowed
    assert X.shape == (10, 2)
    with pytest.raises(ValueError, match=r"^margin must lie in \[0, radius=1.0\), got 1.0$"):
        nb.data.separable(10, 1.0, rng=rng)
    with pytest.raises(ValueError, match=r"^margin must lie in \[0, radius=2.0\), got -0.1$"):
        nb.data.separable(10, -0.1, rng=rng, radius=2.0)


def test_spirals_geometry(rng):
    """Noise-free arm k of K: angle 2 pi (turns r + k/K) at radius r in [0.05, 1)."""
    X, y = nb.data.spirals(3000, 3, noise=0.0, rng=rng)
    np.testing.assert_array_equal(y, np.arange(3000) % 3)
    r = np.linalg.norm(X, axis=1)
    assert r.min() >= 0.05 and r.min() < 0.06 and r.max() < 1.0 and r.max() > 0.99
    theta = np.arctan2(X[:, 0], X[:, 1])
    expected = 2 * np.pi * (1.5 * r + y / 3)
    np.testing.assert_allclose(np.cos(theta - expected), 1.0, atol=1e-12)


def test_spirals_defaults_two_arms_and_angular_noise(rng):
    X, y = nb.data.spirals(4000, rng=rng)
    assert set(y.tolist()) == {0, 1}
    r = np.linalg.norm(X, axis=1)
    residual = np.angle(np.exp(1j * (np.arctan2(X[:, 0], X[:, 1]) - 2 * np.pi * (1.5 * r + y / 2))))
    assert residual.std() == pytest.approx(0.2, rel=0.05)


def test_split_keeps_rows_together(rng):
    X, y = np.arange(10.0)[:, None], np.arange(10)
    s = nb.data.split(X, y, 0.3, rng=rng)
    np.testing.assert_array_equal(s.X_train[:, 0], s.y_train)
    np.testing.assert_array_equal(s.X_test[:, 0], s.y_test)
    assert len(s.y_test) == 3
    assert sorted(s.y_train.tolist() + s.y_test.tolist()) == list(range(10))
    with pytest.raises(ValueError, match=r"^test_fraction must lie in \(0, 1\), got 0$"):
        nb.data.split(X, y, 0, rng=rng)


def test_digits_test_fraction_and_labels(rng):
    d = nb.data.digits(rng=rng, test_fraction=0.5)
    assert d.X_test.shape == (898, 64) and d.X_train.shape == (899, 64)
    assert d.y_train.dtype == np.int64 and d.y_test.dtype == np.int64


def test_moons_geometry_and_noise(rng):
    """Noise-free: class 0 on the upper unit half circle, class 1 on the lower half circle of
    centre (1, 0.5), each arc covered from end to end."""
    X, y = nb.data.moons(2000, noise=0.0, rng=rng)
    np.testing.assert_array_equal(y, np.r_[np.zeros(1000), np.ones(1000)])
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0, rtol=1e-12)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5
    assert upper[:, 0].max() > 0.99 and upper[:, 0].min() < -0.99
    assert lower[:, 0].min() < 0.01 and lower[:, 0].max() > 1.99
    Xn, yn = nb.data.moons(4000, rng=rng)                      # default noise 0.1
    r = np.where(yn == 0, np.linalg.norm(Xn, axis=1), np.linalg.norm(Xn - [1.0, 0.5], axis=1))
    assert r.mean() == pytest.approx(1.0, abs=0.01) and r.std() == pytest.approx(0.1, rel=0.1)
