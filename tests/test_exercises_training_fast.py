"""The checks of the training-fast chapter's exercises: right answers pass, wrong ones are explained."""

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict

from nnbook.exercises import training_fast as ex

PLACEHOLDER = "NotImplementedError()` with your code, then run this cell again."


# ---------------------------------------------------------------- weighted mean of gradients

def combine_right(grads, counts):
    return sum(m * g for m, g in zip(counts, grads, strict=True)) / sum(counts)


def combine_torch(grads, counts):
    """The same with torch tensors: what a torch.distributed all-reduce of m_k g_k gives."""
    g = torch.stack([torch.as_tensor(x) for x in grads])
    m = torch.as_tensor(counts, dtype=g.dtype).reshape(-1, *([1] * (g.ndim - 1)))
    return (m * g).sum(0) / m.sum()


@pytest.mark.parametrize("fn", [combine_right, combine_torch])
def test_combine_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_weighted_gradient_mean, fn, capsys)
    assert result and message == "✓ ex-training-fast-weighted-mean: all 4 cases pass."


def test_combine_reference_is_the_gradient_of_the_whole_batch():
    """The reference of case 1 equals the gradient of the mean loss over all 12 samples."""
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(12, 3)), rng.normal(size=12), rng.normal(size=3)
    grads, counts = ex._combine_cases()[0].args
    whole = 2 * X.T @ (X @ w - y) / 12
    np.testing.assert_allclose(ex._ref_combine(grads, counts), whole, rtol=1e-12)


def test_combine_placeholder(capsys):
    result, message = _verdict(ex.check_weighted_gradient_mean, _placeholder, capsys)
    assert not result
    assert message == "✗ ex-training-fast-weighted-mean: not answered yet. Replace `raise " + PLACEHOLDER


@pytest.mark.parametrize("wrong, hint", [
    (lambda g, m: sum(g) / len(g),
     "you took the plain mean of the workers' gradients: with unequal shards, weight each by "
     "its number of samples."),
    (lambda g, m: sum(mm * gg for mm, gg in zip(m, g, strict=True)),
     "you summed the weighted gradients but did not divide by the total number of samples."),
    (lambda g, m: sum(mm * gg for mm, gg in zip(m, g, strict=True)) / len(g),
     "you divided the weighted sum by the number of workers, not of samples."),
    (lambda g, m: sum(g), "you summed the gradients: a sum, not a mean, and unweighted."),
])
def test_combine_wrong_answers_are_diagnosed(wrong, hint, capsys):
    result, message = _verdict(ex.check_weighted_gradient_mean, wrong, capsys)
    assert not result
    assert message.startswith("✗ ex-training-fast-weighted-mean, case 1 of 4 (3 shards of 6, 4 "
                              "and 2 samples (a least-squares gradient)): the combined gradient "
                              "has wrong values.\n  First wrong entry at index ")
    assert message.endswith("\n  It looks as if " + hint + "\n  Hint: the result must be the "
                            "gradient of the mean loss over all 12 samples.")


# ---------------------------------------------------------------- unscale

def unscale_right(grads16, scale):
    grads = [g.astype(np.float32) / np.float32(scale) for g in grads16]
    return grads, not all(np.all(np.isfinite(g)) for g in grads16)


def unscale_torch(grads16, scale):
    """As torch.amp.GradScaler does it: float32 copies, multiplied by 1/scale, inf check."""
    ts = [torch.from_numpy(g).float() for g in grads16]
    found = any(not torch.isfinite(t).all() for t in ts)
    return [(t / scale).numpy() for t in ts], found


@pytest.mark.parametrize("fn", [unscale_right, unscale_torch])
def test_unscale_passes_right_answers(fn, capsys):
    result, message = _verdict(ex.check_unscale, fn, capsys)
    assert result and message == "✓ ex-training-fast-unscale: all 4 cases pass."


def test_unscale_placeholder(capsys):
    result, message = _verdict(ex.check_unscale, _placeholder, capsys)
    assert not result
    assert message == "✗ ex-training-fast-unscale: not answered yet. Replace `raise " + PLACEHOLDER


def test_unscale_dividing_in_float16_is_diagnosed(capsys):
    def wrong(grads16, scale):
        with np.errstate(over="ignore"):
            out = [(g / np.float16(scale)).astype(np.float32) for g in grads16]
        return out, not all(np.all(np.isfinite(g)) for g in grads16)

    result, message = _verdict(ex.check_unscale, wrong, capsys)
    assert not result
    assert message == (
        "✗ ex-training-fast-unscale, case 1 of 4 (two finite float16 gradients scaled by 2^16): "
        "grads[0] has entries flushed to 0 that are not 0 in float32: it looks as if you divided "
        "in float16. Convert to float32 first.\n  Hint: dividing in float16 flushes the small "
        "values to 0 again: convert first.")


def test_unscale_missing_inf_check_is_diagnosed(capsys):
    result, message = _verdict(ex.check_unscale, lambda g16, s: (unscale_right(g16, s)[0], False),
                               capsys)
    assert not result
    assert message == ("✗ ex-training-fast-unscale, case 3 of 4 (an inf in the second gradient): "
                       "found_inf should be True, received False.\n  Hint: found_inf must be True "
                       "when any entry of any gradient is inf.")


def test_unscale_nan_not_counted_is_diagnosed(capsys):
    def only_inf(grads16, scale):
        return unscale_right(grads16, scale)[0], any(np.isinf(g).any() for g in grads16)

    result, message = _verdict(ex.check_unscale, only_inf, capsys)
    assert not result
    assert message.startswith("✗ ex-training-fast-unscale, case 4 of 4 (a NaN in the first "
                              "gradient): found_inf should be True, received False.")


def test_unscale_float64_result_is_refused(capsys):
    result, message = _verdict(
        ex.check_unscale, lambda g16, s: ([g.astype(np.float64) / s for g in g16], False), capsys)
    assert not result
    assert message.startswith("✗ ex-training-fast-unscale, case 1 of 4 (two finite float16 "
                              "gradients scaled by 2^16): grads[0] should be float32")


def test_unscale_not_a_pair_is_refused(capsys):
    result, message = _verdict(ex.check_unscale, lambda g16, s: [g.astype(np.float32) / s
                                                                 for g in g16], capsys)
    assert not result
    assert "the result should be a pair (grads, found_inf), received list." in message
