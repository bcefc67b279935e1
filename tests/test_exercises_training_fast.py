"""The checks of the training-fast chapter's exercises: right answers pass, wrong ones are explained."""

import numpy as np
import pytest
import torch
from checks import placeholder as _placeholder
from checks import verdict as _verdict
from conftest import case_inputs as _inputs
from conftest import probe_messages
from conftest import raised_message as _raised

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


# ---- every case's message, whole ---------------------------------------------------------------
# For each case k: the message when an answer raises on case k (its description and hint, read
# against chapter 10's exercises), and, for every entry of case k's expected result, the message
# when only that entry is off by 1 (the expected entry computed here: the gradient of the whole
# batch's mean loss, by its own formula, never by nnbook's reference).


def _batch():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(12, 3)), rng.normal(size=12), rng.normal(size=3)
    return X, y, w, rng.normal(size=(2, 4, 3))


def _shard_grads(sizes):
    """Each shard's gradient of its own mean squared error (x.w - y)^2, sample by sample."""
    X, y, w, _ = _batch()
    out, start = [], 0
    for m in sizes:
        rows = range(start, start + m)
        out.append(sum(2 * (X[n] @ w - y[n]) * X[n] for n in rows) / m)
        start += m
    return out


def _combine_inputs():
    G = _batch()[3]
    return [(_shard_grads([6, 4, 2]), [6, 4, 2]), (_shard_grads([1, 11]), [1, 11]),
            (_shard_grads([4, 4, 4]), [4, 4, 4]), ([G[0], G[1]], [5, 3])]


def _whole_batch_gradient():
    X, y, w, _ = _batch()
    return 2 * X.T @ (X @ w - y) / 12


COMBINE_LABEL = "ex-training-fast-weighted-mean"
COMBINE_RAISED = {
    1: _raised(COMBINE_LABEL, 1, 4, "3 shards of 6, 4 and 2 samples (a least-squares gradient)",
               "the result must be the gradient of the mean loss over all 12 samples."),
    2: _raised(COMBINE_LABEL, 2, 4, "2 shards of 1 and 11 samples"),
    3: _raised(COMBINE_LABEL, 3, 4, "equal shards: the plain mean is right here"),
    4: _raised(COMBINE_LABEL, 4, 4, "matrix gradients (4, 3), shards of 5 and 3 samples"),
}


def _combine_expected():
    G = _batch()[3]
    whole = _whole_batch_gradient()
    return {1: whole, 2: whole, 3: whole, 4: (5 * G[0] + 3 * G[1]) / 8}


def _entry_messages(raised, where, expected):
    head, _, hints = raised.partition(": your function raised _Stop: probe")
    return [f"{head}: {where} has wrong values.\n  First wrong entry at index "
            f"{tuple(int(i) for i in idx)}: expected {expected[idx]:.6g}, received "
            f"{expected[idx] + 1:.6g}.{hints}" for idx in np.ndindex(*expected.shape)]


def test_every_combine_case_explains_itself(capsys):
    raised, entries = probe_messages(ex.check_weighted_gradient_mean, ex._ref_combine)
    capsys.readouterr()
    assert raised == COMBINE_RAISED
    expected = _combine_expected()
    assert entries == {k: _entry_messages(COMBINE_RAISED[k], "the combined gradient",
                                          expected[k]) for k in COMBINE_RAISED}


UNSCALE_LABEL = "ex-training-fast-unscale"
UNSCALE_RAISED = {
    1: _raised(UNSCALE_LABEL, 1, 4, "two finite float16 gradients scaled by 2^16",
               "dividing in float16 flushes the small values to 0 again: convert first."),
    2: _raised(UNSCALE_LABEL, 2, 4, "scale 1: only the conversion"),
    3: _raised(UNSCALE_LABEL, 3, 4, "an inf in the second gradient",
               "found_inf must be True when any entry of any gradient is inf."),
    4: _raised(UNSCALE_LABEL, 4, 4, "a NaN in the first gradient",
               "NaN counts too (inf - inf in the backward pass gives NaN)."),
}


def _unscale_inputs():
    rng = np.random.default_rng(1)
    small = (rng.normal(size=(3, 4)) * 1e-6).astype(np.float32)
    g16 = (small * 65536.0).astype(np.float16)
    other = (rng.normal(size=5) * 1e-3 * 65536.0).astype(np.float16)
    with_inf, with_nan = other.copy(), g16.copy()
    with_inf[2], with_nan[1, 1] = np.inf, np.nan
    return [([g16, other], 65536.0), ([other], 1.0), ([g16, with_inf], 65536.0),
            ([with_nan, other], 65536.0)]


def test_every_unscale_case_explains_itself(capsys):
    # A probe bumps an entry in float64, so a bumped gradient is refused for its dtype; a bumped
    # found_inf (True + 1 = 2, False + 1 = 1) is refused as not a bool.
    raised, entries = probe_messages(ex.check_unscale, ex._ref_unscale)
    capsys.readouterr()
    assert raised == UNSCALE_RAISED
    for k, (grads16, _) in enumerate(_unscale_inputs(), 1):
        head, _, hints = UNSCALE_RAISED[k].partition(": your function raised _Stop: probe")
        found = any(not np.all(np.isfinite(g)) for g in grads16)
        want = [f"{head}: grads[{j}] should be float32 (the master copy's precision), received "
                f"float64.{hints}" for j, g in enumerate(grads16) for _ in range(g.size)]
        want.append(f"{head}: found_inf should be True or False, received {int(found) + 1}."
                    f"{hints}")
        assert entries[k] == want


# ---- the cases are the ones the descriptions describe ------------------------------------------

def test_the_combine_cases_are_the_ones_described(capsys):
    seen = _inputs(ex.check_weighted_gradient_mean, ex._ref_combine)
    wanted = _combine_inputs()
    assert len(seen) == len(wanted)
    for ((grads, counts), kwargs), (want_grads, want_counts) in zip(seen, wanted, strict=True):
        assert kwargs == {} and counts == want_counts and type(grads) is list
        assert len(grads) == len(counts)
        for g, w in zip(grads, want_grads, strict=True):
            assert type(g) is np.ndarray and g.dtype == np.float64 and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)
    assert [len(c) for (_, c), _ in seen] == [3, 2, 3, 2]
    assert [sum(c) for (_, c), _ in seen[:3]] == [12, 12, 12]     # all 12 samples
    assert seen[3][0][0][0].shape == (4, 3)
    capsys.readouterr()


def test_the_whole_batch_gradient_is_the_weighted_mean_in_every_least_squares_case():
    whole = _whole_batch_gradient()
    for grads, counts in _combine_inputs()[:3]:
        combined = sum(m * g for m, g in zip(counts, grads, strict=True)) / sum(counts)
        np.testing.assert_allclose(combined, whole, rtol=1e-12)
    grads, counts = _combine_inputs()[2]                      # equal shards: the plain mean
    np.testing.assert_allclose(sum(grads) / 3, whole, rtol=1e-12)


def test_the_unscale_cases_are_the_ones_described(capsys):
    seen = _inputs(ex.check_unscale, ex._ref_unscale)
    wanted = _unscale_inputs()
    assert len(seen) == len(wanted)
    for ((grads16, scale), kwargs), (want_grads, want_scale) in zip(seen, wanted, strict=True):
        assert kwargs == {} and scale == want_scale and type(grads16) is list
        assert len(grads16) == len(want_grads)
        for g, w in zip(grads16, want_grads, strict=True):
            assert type(g) is np.ndarray and g.dtype == np.float16
            np.testing.assert_array_equal(g, w)
    g16, other = seen[0][0][0]
    assert seen[0][0][1] == 2.0**16 and seen[1][0][1] == 1.0
    assert np.all(np.isfinite(g16)) and np.all(np.isfinite(other)) and g16.shape == (3, 4)
    # The unscaled values lie below float16's smallest normal number: in float16 they lose
    # digits or flush to 0, the trap the first hint names; in float32 none is 0.
    exact = g16.astype(np.float32) / np.float32(2.0**16)
    assert np.all(np.abs(exact) < np.finfo(np.float16).tiny) and np.all(exact != 0)
    assert np.any(exact.astype(np.float16) == 0)
    g16b, with_inf = seen[2][0][0]
    assert np.all(np.isfinite(g16b)) and np.isinf(with_inf).tolist() == [0, 0, 1, 0, 0]
    with_nan, other = seen[3][0][0]
    assert np.argwhere(np.isnan(with_nan)).tolist() == [[1, 1]]
    assert not np.isinf(with_nan).any() and np.all(np.isfinite(other))
    capsys.readouterr()


# ---- weighted mean: tolerances and diagnoses ---------------------------------------------------

def _combine_right(grads, counts):
    return sum(m * g for m, g in zip(counts, grads, strict=True)) / sum(counts)


def _off_in_case1(offset):
    def answer(grads, counts):
        g = _combine_right(grads, counts)
        if counts == [6, 4, 2]:
            g = g + offset
        return g
    return answer


C1 = ("✗ ex-training-fast-weighted-mean, case 1 of 4 (3 shards of 6, 4 and 2 samples (a "
      "least-squares gradient)): ")
C1_HINT = "\n  Hint: the result must be the gradient of the mean loss over all 12 samples."


@pytest.mark.parametrize("offset, passes", [
    (0.5e-9 * 4.69, True),                   # within rtol |g| + atol = 1e-9 * 4.69 + 1e-12
    (1e-9 * 4.7 + 5e-10, False),             # beyond it (an atol of 1e-9 would let it pass)
    (1e-8 * 4.7, False),                     # beyond it (an rtol of 1e-6 would let it pass)
])
def test_combine_tolerance_is_rtol_1e9_and_atol_1e12(offset, passes, capsys):
    whole = _whole_batch_gradient()
    assert whole[0] == pytest.approx(4.69120542, rel=1e-8)
    result = ex.check_weighted_gradient_mean(_off_in_case1(np.array([offset, 0.0, 0.0])))
    assert bool(result) is passes
    if not passes:
        assert result.message == (
            C1 + f"the combined gradient has wrong values.\n  First wrong entry at index (0,): "
            f"expected {whole[0]:.12g}, received {whole[0] + offset:.12g}." + C1_HINT)
    capsys.readouterr()


def _plain_mean(grads, counts):
    return sum(grads) / len(grads)


def _inverse_weights(grads, counts):
    return sum(g / m for m, g in zip(counts, grads, strict=True)) / sum(1 / m for m in counts)


def test_combine_names_the_inverse_weights(capsys):
    whole = _whole_batch_gradient()
    got = _inverse_weights(*_combine_inputs()[0])
    result = ex.check_weighted_gradient_mean(_inverse_weights)
    assert result.message == (
        C1 + f"the combined gradient has wrong values.\n  First wrong entry at index (0,): "
        f"expected {whole[0]:.6g}, received {got[0]:.6g}. (3 of 3 entries differ.)\n"
        "  It looks as if you weighted each gradient by 1/m_k: a shard with more samples must "
        "count more." + C1_HINT)
    capsys.readouterr()


_PLAIN = ("\n  It looks as if you took the plain mean of the workers' gradients: with unequal "
          "shards, weight each by its number of samples.")


@pytest.mark.parametrize("change, diagnosed", [
    (lambda g: g * (1 + 1e-10), True),       # within rtol 1e-9 of the plain mean
    (lambda g: g * (1 + 1e-7), False),       # beyond it (NumPy's default rtol 1e-5 would match)
    (lambda g: g + 9e-9, False),             # beyond 1e-9 |g| + 1e-12 where |g| < 9
    (lambda g: g + 0.5, False),              # far from it
])
def test_the_plain_mean_is_named_only_when_it_is_what_came_back(change, diagnosed, capsys):
    g = _plain_mean(*_combine_inputs()[0])
    assert np.abs(g).min() < 1 and np.abs(g).max() < 5
    result = ex.check_weighted_gradient_mean(lambda grads, counts: change(_plain_mean(grads,
                                                                                      counts)))
    assert result.message.startswith(C1 + "the combined gradient has wrong values.\n")
    assert result.message.endswith((_PLAIN if diagnosed else "") + C1_HINT)
    assert ("It looks as if" in result.message) is diagnosed
    capsys.readouterr()


def test_a_right_value_of_the_wrong_type_is_not_taken_for_a_slip(capsys):
    # Right arrays on unequal shards, the right values as a list on equal shards (where they
    # are also the plain mean): refused for the type alone.
    def answer(grads, counts):
        g = _combine_right(grads, counts)
        return g.tolist() if len(set(counts)) == 1 else g

    result = ex.check_weighted_gradient_mean(answer)
    assert result.message == (
        "✗ ex-training-fast-weighted-mean, case 3 of 4 (equal shards: the plain mean is right "
        "here): the combined gradient should be an array of shape (3,), received list.")
    capsys.readouterr()


def test_a_result_of_text_is_refused_for_its_dtype(capsys):
    result = ex.check_weighted_gradient_mean(lambda grads, counts: np.array(["a", "b", "c"]))
    assert result.message == (C1 + "the combined gradient should hold numbers, received dtype "
                              "<U1." + C1_HINT)
    capsys.readouterr()


def test_a_correct_answer_may_use_up_its_inputs(capsys):
    def consuming(grads, counts):                 # empties the list it is given
        total = 0.0
        while grads:
            total = total + counts[len(grads) - 1] * grads.pop()
        return total / sum(counts)

    def scaling_in_place(grads, counts):          # right, but scales the arrays it is given
        for g, m in zip(grads, counts, strict=True):
            g *= m
        return sum(grads) / sum(counts)

    for fn in (consuming, scaling_in_place):
        result, message = _verdict(ex.check_weighted_gradient_mean, fn, capsys)
        assert result and message == "✓ ex-training-fast-weighted-mean: all 4 cases pass."


def test_the_diagnosis_sees_the_inputs_as_they_were(capsys):
    # Weighted in place, then divided by the number of workers: the diagnosis names that slip,
    # not the plain mean of the arrays the answer left behind.
    def per_worker_in_place(grads, counts):
        for g, m in zip(grads, counts, strict=True):
            g *= m
        return sum(grads) / len(grads)

    result = ex.check_weighted_gradient_mean(per_worker_in_place)
    assert result.message.endswith(
        "\n  It looks as if you divided the weighted sum by the number of workers, not of "
        "samples." + C1_HINT)
    capsys.readouterr()


@pytest.mark.parametrize("fn", [np.zeros(3), None], ids=["ndarray", "None"])
def test_combine_explains_a_called_function(fn, capsys):
    result = ex.check_weighted_gradient_mean(fn)
    assert not result and result.message == (
        "✗ ex-training-fast-weighted-mean: pass your function itself (without calling it), "
        f"received {type(fn).__name__}.")
    capsys.readouterr()


# ---- unscale: what the comparison says ----------------------------------------------------------

U1 = "✗ ex-training-fast-unscale, case 1 of 4 (two finite float16 gradients scaled by 2^16): "
U1_HINT = "\n  Hint: dividing in float16 flushes the small values to 0 again: convert first."


def _unscaled(grads16, scale):
    """float32(g) / scale, each value exact: g is float16 and scale a power of 2."""
    return [(g.astype(np.float64) / scale).astype(np.float32) for g in grads16]


def _unscale_off(change):
    """Right, except grads[0]'s first entry on case 1, which becomes change(entry)."""
    def answer(grads16, scale):
        out = _unscaled(grads16, scale)
        if scale == 2.0**16 and np.all(np.isfinite(grads16[1])) and grads16[0].shape == (3, 4) \
                and np.all(np.isfinite(grads16[0])):
            out[0] = out[0].copy()
            out[0][0, 0] = np.float32(change(float(out[0][0, 0])))
        return out, any(not np.all(np.isfinite(g)) for g in grads16)
    return answer


def test_unscale_passes_exact_values(capsys):
    assert ex.check_unscale(lambda g16, s: (_unscaled(g16, s), any(not np.all(np.isfinite(g))
                                                                   for g in g16)))
    capsys.readouterr()


@pytest.mark.parametrize("relative, passes", [
    (0.5e-6, True),        # within rtol = 1e-6 (and atol = 0)
    (3e-6, False),
    (1e-2, False),
])
def test_unscale_tolerance_is_rtol_1e6(relative, passes, capsys):
    result = ex.check_unscale(_unscale_off(lambda v: v * (1 + relative)))
    assert bool(result) is passes
    capsys.readouterr()


def test_unscale_has_no_absolute_tolerance(capsys):
    # The values are about 1e-6: an absolute error of 1e-10 is 1e-4 relative, and refused.
    e = float(_unscaled(*_unscale_inputs()[0])[0][0, 0])
    assert 1e-8 < abs(e) < 1e-5
    got = float(np.float32(e + 1e-10))
    result = ex.check_unscale(_unscale_off(lambda v: v + 1e-10))
    assert result.message == (
        U1 + f"grads[0] (finite entries) has wrong values.\n  First wrong entry at index (0,): "
        f"expected {e:.6g}, received {got:.6g}." + U1_HINT)
    capsys.readouterr()


def test_unscale_names_the_wrong_value(capsys):
    e = float(_unscaled(*_unscale_inputs()[0])[0][0, 0])
    result = ex.check_unscale(_unscale_off(lambda v: 0.5 * v + 0.25))
    assert result.message == (
        U1 + f"grads[0] (finite entries) has wrong values.\n  First wrong entry at index (0,): "
        f"expected {e:.6g}, received {float(np.float32(0.5 * e + 0.25)):.6g}." + U1_HINT)
    capsys.readouterr()


@pytest.mark.parametrize("answer, message", [
    (lambda g16, s: (_unscaled(g16, s), 1),
     "found_inf should be True or False, received 1."),
    (lambda g16, s: (_unscaled(g16, s), None),
     "found_inf should be True or False, received None."),
    (lambda g16, s: (_unscaled(g16, s), True),
     "found_inf should be False, received True."),
    (lambda g16, s: (_unscaled(g16, s)[:1], False),
     "grads should hold 2 arrays, received 1."),
    (lambda g16, s: ([np.zeros((3, 4), np.float32), *_unscaled(g16, s)], False),
     "grads should hold 2 arrays, received 3."),
    (lambda g16, s: ([np.full((3, 4), np.inf, np.float32), _unscaled(g16, s)[1]], False),
     "grads[0] should have its inf/NaN entries where the input has them."),
    (lambda g16, s: ([g.astype(np.float16) for g in _unscaled(g16, s)], False),
     "grads[0] should be float32 (the master copy's precision), received float16."),
    (lambda g16, s: [_unscaled(g16, s), False],
     "the result should be a pair (grads, found_inf), received list."),
], ids=["int", "None", "True", "one", "three", "inf", "float16", "list"])
def test_unscale_refusals_are_named(answer, message, capsys):
    result = ex.check_unscale(answer)
    assert result.message == U1 + message + U1_HINT
    capsys.readouterr()


def test_unscale_names_a_nan_in_the_wrong_place(capsys):
    def answer(grads16, scale):
        out = _unscaled(grads16, scale)
        out[0] = np.nan_to_num(out[0], nan=0.0)       # the NaN replaced by 0
        return out, any(not np.all(np.isfinite(g)) for g in grads16)

    result = ex.check_unscale(answer)
    assert result.message == (
        "✗ ex-training-fast-unscale, case 4 of 4 (a NaN in the first gradient): grads[0] should "
        "have its inf/NaN entries where the input has them.\n  Hint: NaN counts too (inf - inf "
        "in the backward pass gives NaN).")
    capsys.readouterr()
