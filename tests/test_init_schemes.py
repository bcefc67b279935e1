"""Initialisation schemes against PyTorch's torch.nn.init, statistically.

A weight matrix of n entries drawn i.i.d. with variance s2 has a sample variance
whose standard error is s2 * sqrt((kurtosis - 1) / n): kurtosis 3 for a Gaussian,
9/5 for a uniform. Every tolerance below is Z such standard errors, so a test
fails only on a real difference in the variance, never by chance at these seeds.
"""

import math
from functools import partial

import numpy as np
import pytest
import torch

from nnbook import Backend, Linear, init, mlp, to_numpy

Z = 6.0                                                 # standard errors of slack
SHAPE = (300, 500)                                      # fan_out 300, fan_in 500: they differ
FAN_OUT, FAN_IN = SHAPE
KURTOSIS = {"normal": 3.0, "uniform": 9 / 5}


def _torch_draw(fn, shape=SHAPE, seed=0, **kwargs):
    w = torch.empty(shape, dtype=torch.float64)
    fn(w, generator=torch.Generator().manual_seed(seed), **kwargs)
    return w.numpy()


def _tolerance(var, kind, n):
    return Z * var * math.sqrt((KURTOSIS[kind] - 1) / n)


# (nnbook initialiser, PyTorch initialiser, theoretical variance, distribution)
SCHEMES = {
    "lecun_normal": (init.lecun_normal, partial(torch.nn.init.kaiming_normal_,
                                                nonlinearity="linear"), 1 / FAN_IN, "normal"),
    "lecun_uniform": (init.lecun_uniform, partial(torch.nn.init.kaiming_uniform_,
                                                  nonlinearity="linear"), 1 / FAN_IN, "uniform"),
    "xavier_normal": (init.xavier_normal, torch.nn.init.xavier_normal_,
                      2 / (FAN_IN + FAN_OUT), "normal"),
    "xavier_uniform": (init.xavier_uniform, torch.nn.init.xavier_uniform_,
                       2 / (FAN_IN + FAN_OUT), "uniform"),
    # He is 2 / fan_in, not Xavier's 2 / (fan_in + fan_out)
    "he_normal": (init.he_normal, partial(torch.nn.init.kaiming_normal_, nonlinearity="relu"),
                  2 / FAN_IN, "normal"),
    "he_uniform": (init.he_uniform, partial(torch.nn.init.kaiming_uniform_, nonlinearity="relu"),
                   2 / FAN_IN, "uniform"),
    "he_normal_fan_out": (partial(init.he_normal, mode="fan_out"),
                          partial(torch.nn.init.kaiming_normal_, mode="fan_out",
                                  nonlinearity="relu"), 2 / FAN_OUT, "normal"),
    "he_uniform_fan_out": (partial(init.he_uniform, mode="fan_out"),
                           partial(torch.nn.init.kaiming_uniform_, mode="fan_out",
                                   nonlinearity="relu"), 2 / FAN_OUT, "uniform"),
    "he_leaky": (partial(init.he_normal, nonlinearity="leaky_relu", a=0.2),
                 partial(torch.nn.init.kaiming_normal_, nonlinearity="leaky_relu", a=0.2),
                 2 / (1 + 0.04) / FAN_IN, "normal"),
    "xavier_tanh_gain": (partial(init.xavier_normal, gain=5 / 3),
                         partial(torch.nn.init.xavier_normal_, gain=5 / 3),
                         (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT), "normal"),
    "pytorch_linear_default": (init.uniform_fan_in,
                               partial(torch.nn.init.kaiming_uniform_, a=math.sqrt(5)),
                               1 / (3 * FAN_IN), "uniform"),
}


@pytest.mark.parametrize("name", SCHEMES)
def test_variance_matches_theory_and_pytorch(name, rng):
    ours_fn, torch_fn, var, kind = SCHEMES[name]
    ours = ours_fn(SHAPE, FAN_IN, FAN_OUT, rng)
    theirs = _torch_draw(torch_fn)
    n = ours.size
    tol = _tolerance(var, kind, n)
    assert ours.shape == SHAPE and ours.dtype == np.float64
    assert abs(ours.var() - var) < tol
    assert abs(theirs.var() - var) < tol                # the oracle agrees with the formula
    assert abs(ours.var() - theirs.var()) < math.sqrt(2) * tol
    assert abs(ours.mean()) < Z * math.sqrt(var / n)


@pytest.mark.parametrize("name", [k for k, v in SCHEMES.items() if v[3] == "uniform"])
def test_uniform_bound_is_sqrt_3_var(name, rng):
    ours_fn, torch_fn, var, _ = SCHEMES[name]
    bound = math.sqrt(3 * var)
    ours, theirs = ours_fn(SHAPE, FAN_IN, FAN_OUT, rng), _torch_draw(torch_fn)
    for w in (ours, theirs):
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > bound * (1 - 1e-3)     # 150 000 draws reach the edge


def test_he_is_not_xavier():
    # the known trap: with fan_in != fan_out the two differ
    assert init.scheme_variance("he", 500, 300) == pytest.approx(2 / 500)
    assert init.scheme_variance("xavier", 500, 300) == pytest.approx(2 / 800)
    assert init.scheme_variance("he", 500, 300, mode="fan_out") == pytest.approx(2 / 300)
    assert init.scheme_variance("lecun", 500, 300, gain=2.0) == pytest.approx(4 / 500)
    assert init.scheme_variance("orthogonal", 500, 300) == pytest.approx(1 / 500)


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("identity", None), ("conv2d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 1), ("selu", None),
])
def test_calculate_gain_matches_pytorch(nonlinearity, param):
    ours = init.calculate_gain(nonlinearity, param)
    oracle = torch.nn.init.calculate_gain("linear" if nonlinearity == "identity"
                                          else nonlinearity, param)
    assert ours == pytest.approx(oracle, rel=1e-15)


@pytest.mark.parametrize("shape", [(64, 64), (40, 100), (100, 40), (6, 4, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_orthogonal_like_pytorch(shape, gain, rng):
    ours = init.orthogonal(shape, 1, 1, rng, gain=gain)
    theirs = _torch_draw(partial(torch.nn.init.orthogonal_, gain=gain), shape)
    for w in (ours, theirs):
        assert w.shape == shape
        m = w.reshape(shape[0], -1)
        small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(small, gain ** 2 * np.eye(len(small)), atol=1e-12)
        np.testing.assert_allclose(np.linalg.svd(m, compute_uv=False), gain, rtol=1e-12)


def test_orthogonal_is_haar_distributed(rng):
    # Without the sign fix of Q by diag(R), Q[0, 0] is biased (LAPACK makes R's diagonal
    # mostly negative); from the Haar measure its mean is 0 with variance 1/n.
    n, draws = 4, 4000
    ours = np.array([init.orthogonal((n, n), n, n, rng)[0, 0] for _ in range(draws)])
    theirs = np.array([_torch_draw(torch.nn.init.orthogonal_, (n, n), seed=s)[0, 0]
                       for s in range(draws)])
    for sample in (ours, theirs):
        assert abs(sample.mean()) < Z * math.sqrt(1 / n / draws)
        assert sample.var() == pytest.approx(1 / n, abs=Z * (1 / n) * math.sqrt(2 / draws))
    raw = np.array([np.linalg.qr(rng.standard_normal((n, n)))[0][0, 0] for _ in range(draws)])
    assert abs(raw.mean()) > Z * math.sqrt(1 / n / draws)   # the fix is needed


def test_normal_and_constant(rng):
    w = init.normal(0.01)(SHAPE, FAN_IN, FAN_OUT, rng)
    assert abs(w.var() - 1e-4) < _tolerance(1e-4, "normal", w.size)
    np.testing.assert_array_equal(init.constant(-0.5)((3, 2), 2, 3, rng), -0.5)
    assert init.normal(0.01).__name__ == "normal(0.01)"


@pytest.mark.parametrize("fn", [init.he_normal, init.xavier_uniform, init.orthogonal,
                                init.lecun_normal])
def test_same_weights_on_every_backend(fn, backend):
    # drawn in NumPy, then moved: one seed, one network
    ref = Linear(7, 5, rng=np.random.default_rng(3), init=fn)
    other = Linear(7, 5, rng=np.random.default_rng(3), init=fn, backend=backend)
    np.testing.assert_array_equal(to_numpy(other.W.data), ref.W.data)


def test_mlp_uses_the_initialiser(rng):
    model = mlp([400, 300, 200], "relu", rng=rng,
                init=partial(init.he_normal, mode="fan_out"))
    for layer, fan_out in ((model[0], 300), (model[2], 200)):
        w = layer.W.data
        assert abs(w.var() - 2 / fan_out) < _tolerance(2 / fan_out, "normal", w.size)
    torch_model = mlp([4, 3], "relu", rng=np.random.default_rng(0), init=init.orthogonal,
                      backend=Backend("torch", "cpu"))
    assert isinstance(torch_model[0].W.data, torch.Tensor)


# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call, exc, message", [
    (lambda r: init.he_normal((2, 0), 2, 2, r), ValueError,
     r"^shape must be a tuple of positive ints, got \(2, 0\)$"),
    (lambda r: init.xavier_normal("3x3", 3, 3, r), ValueError,
     r"^shape must be a tuple of positive ints, got '3x3'$"),
    (lambda r: init.lecun_uniform((2, 2), 0, 2, r), ValueError,
     r"^fan_in must be a positive int, got 0$"),
    (lambda r: init.xavier_uniform((2, 2), 2, 2.5, r), ValueError,
     r"^fan_out must be a positive int, got 2\.5$"),
    (lambda r: init.he_uniform((2, 2), 2, 2, r, mode="fan_avg"), ValueError,
     r"^mode must be 'fan_in' or 'fan_out', got 'fan_avg'$"),
    (lambda r: init.he_normal((2, 2), 2, 2, r, nonlinearity="swish"), ValueError,
     r"^nonlinearity must be one of \['linear', .*'selu'\], got 'swish'$"),
    (lambda r: init.lecun_normal((2, 2), 2, 2, r, gain=-1.0), ValueError,
     r"^gain must be a positive finite number, got -1\.0$"),
    (lambda r: init.orthogonal((5,), 5, 5, r), ValueError,
     r"^shape must have at least 2 dimensions, got \(5,\)$"),
    (lambda r: init.orthogonal((2, 2), 2, 2, "seed"), TypeError,
     r"^rng must be a numpy\.random\.Generator \(e\.g\. numpy\.random\.default_rng\(0\)\), "
     r"got str$"),
    (lambda r: init.calculate_gain("leaky_relu", "0.1"), ValueError,
     r"^param must be a number \(the negative slope\), got '0\.1'$"),
    (lambda r: init.scheme_variance("kaiming", 2, 2), ValueError,
     r"^scheme must be one of \['lecun', 'xavier', 'he', 'orthogonal'\], got 'kaiming'$"),
    (lambda r: init.normal(-1.0), ValueError, r"^std must be a finite number >= 0, got -1\.0$"),
    (lambda r: init.normal("0.1"), ValueError, r"^std must be a finite number >= 0, got '0\.1'$"),
    (lambda r: init.constant(float("nan")), ValueError,
     r"^value must be a finite number, got nan$"),
])
def test_bad_inputs_are_refused(call, exc, message, rng):
    with pytest.raises(exc, match=message):
        call(rng)
