"""Losses: gradient checks, parity, torch.nn.functional as the oracle, refusals."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import as_torch

import nnbook as nb
from nnbook import losses, to_numpy
from nnbook.gradcheck import check_loss


def _cases(rng):
    logits = 3 * rng.standard_normal((7, 4))
    return {
        "mse": (nb.MSELoss, logits, rng.standard_normal((7, 4)),
                lambda z, t: F.mse_loss(z, t)),
        "bce": (nb.BCEWithLogitsLoss, logits, rng.uniform(size=(7, 4)),
                lambda z, t: F.binary_cross_entropy_with_logits(z, t)),
        "ce": (nb.CrossEntropyLoss, logits, rng.integers(0, 4, size=7),
               lambda z, t: F.cross_entropy(z, t)),
    }


@pytest.mark.parametrize("name", ["mse", "bce", "ce"])
def test_loss_gradcheck(name, backend, rng):
    cls, out, target, _ = _cases(rng)[name]
    assert check_loss(cls(), backend.asarray(out), backend.asarray(target)) < 1e-7


@pytest.mark.parametrize("name", ["mse", "bce", "ce"])
def test_loss_matches_torch(name, backend, rng):
    cls, out, target, ref = _cases(rng)[name]
    fn = cls()
    value = fn.forward(backend.asarray(out), backend.asarray(target))
    grad = fn.backward()
    zt = as_torch(out, requires_grad=True)
    tt = torch.tensor(target) if target.dtype.kind == "i" else as_torch(target)
    ref_value = ref(zt, tt)
    ref_value.backward()
    assert abs(float(value) - ref_value.item()) < 1e-12
    np.testing.assert_allclose(to_numpy(grad), zt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    fn = nb.CrossEntropyLoss()
    assert float(fn.forward(z, np.array([0, 1]))) == 0.0
    assert float(fn.forward(z, np.array([2, 0]))) == pytest.approx(2000.0)
    assert np.all(np.isfinite(fn.backward()))


def test_bce_is_stable_for_huge_logits():
    fn = nb.BCEWithLogitsLoss()
    z = np.array([[800.0], [-800.0]])
    assert float(fn.forward(z, np.array([[0.0], [1.0]]))) == pytest.approx(800.0)
    assert np.all(np.isfinite(fn.backward()))


def test_uniform_logits_give_log_c():
    """The initial-loss check of the troubleshooting list: ln C for C balanced classes."""
    fn = nb.CrossEntropyLoss()
    assert float(fn.forward(np.zeros((10, 10)), np.arange(10))) == pytest.approx(math.log(10))


def test_softmax_and_logsumexp(rng):
    z = rng.standard_normal((3, 5))
    np.testing.assert_allclose(losses.softmax(z).sum(axis=1), 1.0)
    np.testing.assert_allclose(losses.softmax(z), torch.softmax(as_torch(z), 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(losses.logsumexp(z), torch.logsumexp(as_torch(z), 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(losses.log_softmax(z), np.log(losses.softmax(z)), rtol=1e-12)


def test_one_hot():
    np.testing.assert_array_equal(losses.one_hot(np.array([2, 0]), 3, np.float64),
                                  [[0, 0, 1], [1, 0, 0]])


def test_loss_refusals():
    ce, mse = nb.CrossEntropyLoss(), nb.MSELoss()
    z = np.zeros((4, 3))
    with pytest.raises(ValueError,
                       match=r"labels must lie in \[0, 2\] for 3 classes, got values in \[0, 3\]"):
        ce.forward(z, np.array([0, 1, 2, 3]))
    with pytest.raises(TypeError, match="labels must be integer class indices, got dtype float64"):
        ce.forward(z, np.array([0.0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\), got \(4, 1\)"):
        ce.forward(z, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"target must have the shape of output \(4, 3\), got \(4,\)"):
        mse.forward(z, np.zeros(4))
    with pytest.raises(TypeError, match="target must have a float dtype"):
        mse.forward(z, np.zeros((4, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"MSELoss\.backward called before forward"):
        nb.MSELoss().backward()


def test_stable_across_rows_of_very_different_scale(backend):
    """Each row is shifted by its own maximum: a global shift would underflow the second row."""
    z = backend.asarray(np.array([[0.0, 0.0], [-2000.0, -2000.0], [1000.0, 998.0]]))
    log2 = math.log(2.0)
    np.testing.assert_allclose(to_numpy(losses.logsumexp(z)),
                               [log2, -2000 + log2, 1000 + math.log1p(math.exp(-2))], rtol=1e-15)
    expected = np.array([[0.5, 0.5], [0.5, 0.5], [1, math.exp(-2)]])
    expected[2] /= 1 + math.exp(-2)
    np.testing.assert_allclose(to_numpy(losses.softmax(z)), expected, rtol=1e-14)
    np.testing.assert_allclose(to_numpy(losses.log_softmax(z)), np.log(expected), rtol=1e-12)
    fn = nb.CrossEntropyLoss()
    value = fn.forward(z, backend.asarray(np.array([0, 1, 1])))
    assert float(value) == pytest.approx((2 * log2 + 2 + math.log1p(math.exp(-2))) / 3, rel=1e-14)
    np.testing.assert_allclose(to_numpy(fn.backward()),
                               (expected - np.array([[1, 0], [0, 1], [0, 1]])) / 3, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family_along_any_axis(axis, rng):
    z = 3 * rng.standard_normal((2, 3, 4))
    zt = as_torch(z)
    np.testing.assert_allclose(losses.logsumexp(z, axis=axis), torch.logsumexp(zt, axis).numpy(), rtol=1e-13)
    np.testing.assert_allclose(losses.softmax(z, axis=axis), torch.softmax(zt, axis).numpy(), rtol=1e-13)
    np.testing.assert_allclose(losses.log_softmax(z, axis=axis), torch.log_softmax(zt, axis).numpy(),
                               rtol=1e-13, atol=1e-15)


def test_cross_entropy_backward_repeats_and_follows_the_batch_size(backend, rng):
    """The gradient is (softmax - one_hot) / N for each batch size in turn, on each library,
    and a second backward gives it again: the first left the cached softmax as it was."""
    fn = nb.CrossEntropyLoss()
    for n in (5, 3, 5, 1):
        z, y = rng.standard_normal((n, 4)), rng.integers(0, 4, size=n)
        fn.forward(backend.asarray(z), backend.asarray(y))
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        expected = (p - np.eye(4)[y]) / n
        first, second = to_numpy(fn.backward()), to_numpy(fn.backward())
        np.testing.assert_allclose(first, expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(second, first)


def test_one_hot_on_every_backend_and_dtype(backend):
    """A class count used nowhere else, so the first call builds its range."""
    labels = backend.asarray(np.array([6, 0, 3]))
    Y = losses.one_hot(labels, 7, backend.float_dtype)
    assert Y.dtype == backend.float_dtype and tuple(Y.shape) == (3, 7)
    expected = np.zeros((3, 7))
    expected[[0, 1, 2], [6, 0, 3]] = 1.0
    np.testing.assert_array_equal(to_numpy(Y), expected)
    np.testing.assert_array_equal(to_numpy(losses.one_hot(labels, 7, backend.float_dtype)), expected)
    Y32 = losses.one_hot(np.array([1, 1]), 2, np.float32)
    assert Y32.dtype == np.float32
    np.testing.assert_array_equal(Y32, [[0, 1], [0, 1]])


def test_output_refusals_and_repr():
    with pytest.raises(TypeError, match=r"^output must have a float dtype, got int64$"):
        nb.MSELoss().forward(np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^logits must have 2 dimension\(s\), got shape \(3,\)$"):
        nb.CrossEntropyLoss().forward(np.zeros(3), np.zeros(3, dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"^CrossEntropyLoss\.backward called before forward$"):
        nb.CrossEntropyLoss().backward()
    assert [repr(cls()) for cls in (nb.MSELoss, nb.BCEWithLogitsLoss, nb.CrossEntropyLoss)] == [
        "MSELoss()", "BCEWithLogitsLoss()", "CrossEntropyLoss()"]


def test_call_is_forward_and_validate_false_skips_the_checks(rng):
    out, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    fn = nb.MSELoss()
    assert float(fn(out, target)) == pytest.approx(np.mean((out - target) ** 2), rel=1e-15)
    np.testing.assert_allclose(fn.backward(), 2 * (out - target) / 12, rtol=1e-15)
    column = target[:, :1]                       # (4, 1): refused when checked, broadcast when not
    with pytest.raises(ValueError, match=r"^target must have the shape of output \(4, 3\), got \(4, 1\)$"):
        fn.forward(out, column)
    assert float(fn.forward(out, column, validate=False)) == pytest.approx(np.mean((out - column) ** 2))
