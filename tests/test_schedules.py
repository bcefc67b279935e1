"""Learning-rate schedules against torch.optim.lr_scheduler, step by step."""


import numpy as np
import pytest
import torch
from conftest import whole

import nnbook as nb
from nnbook import schedules

STEPS = 300

CASES = [
    ("StepLR", {"step_size": 30}, {"step_size": 30}),
    ("StepLR", {"step_size": 7, "gamma": 0.5}, {"step_size": 7, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.99}, {"gamma": 0.99}),
    ("CosineAnnealingWarmRestarts", {"T_0": 50}, {"T_0": 50}),
    ("CosineAnnealingWarmRestarts", {"T_0": 10, "T_mult": 2, "eta_min": 0.01},
     {"T_0": 10, "T_mult": 2, "eta_min": 0.01}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 3}, {"T_0": 3, "T_mult": 3}),
    ("LinearLR", {}, {}),
    ("LinearLR", {"start_factor": 0.01, "total_iters": 100},
     {"start_factor": 0.01, "total_iters": 100}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 250},
     {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 250}),
    ("OneCycleLR", {"max_lr": 0.4, "total_steps": STEPS},
     {"max_lr": 0.4, "total_steps": STEPS, "cycle_momentum": False}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": STEPS + 1, "pct_start": 0.25,
                    "anneal_strategy": "linear", "div_factor": 10, "final_div_factor": 100},
     {"max_lr": 1.0, "total_steps": STEPS + 1, "pct_start": 0.25, "anneal_strategy": "linear",
      "div_factor": 10, "final_div_factor": 100, "cycle_momentum": False}),
]


@pytest.mark.parametrize("name, ours, theirs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_lr_scheduler(name, ours, theirs):
    opt = nb.SGD([nb.layers.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    sched = getattr(schedules, name)(opt, **ours)
    t = torch.zeros(2, requires_grad=True)
    ref_opt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **theirs)
    got, expected = [opt.lr], [ref_opt.param_groups[0]["lr"]]
    for _ in range(STEPS):
        t.grad = torch.zeros(2)
        ref_opt.step()
        ref.step()
        sched.step()
        got.append(opt.lr)
        expected.append(ref_opt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(sched.rates(STEPS + 1), expected, rtol=1e-10, atol=1e-15)
    assert sched.t == STEPS


def test_restart_cycles_are_exact_at_the_boundaries():
    opt = nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=1.0)
    s = schedules.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    assert [s.cycle(t) for t in (0, 9, 10, 29, 30, 69, 70)] == [
        (0, 10), (9, 10), (0, 20), (19, 20), (0, 40), (39, 40), (0, 80)]
    assert s.lr_at(10) == 1.0 and s.lr_at(30) == 1.0


def test_onecycle_shape():
    opt = nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=123.0)
    s = schedules.OneCycleLR(opt, max_lr=0.5, total_steps=101, pct_start=0.3)
    r = s.rates(101)
    assert opt.lr == pytest.approx(0.02) and r[0] == pytest.approx(0.5 / 25)
    assert max(r) == pytest.approx(0.5, rel=1e-3) and int(np.argmax(r)) in (29, 30)
    assert r[-1] == pytest.approx(0.5 / 25 / 1e4)


def test_schedule_in_epochs_through_fit_callback(rng):
    X, y = nb.data.blobs(40, std=0.5, rng=rng)
    model = nb.mlp([2, 4, 2], "tanh", rng=rng)
    opt = nb.SGD(model.parameters(), lr=0.1)
    s = schedules.ExponentialLR(opt, gamma=0.5)
    nb.fit(model, nb.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=10,
           rng=np.random.default_rng(0), callback=lambda e, m: s.step())
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 3)


def _opt():
    return nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=0.1)


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: schedules.StepLR(0.1, step_size=3), TypeError,
     "optimizer must be an nnbook Optimizer (e.g. nb.SGD(model.parameters(), lr=0.1)), got float"),
    (lambda: schedules.StepLR(_opt(), step_size=0), ValueError, "step_size must be a positive int, got 0"),
    (lambda: schedules.StepLR(_opt(), step_size=2, gamma=1.5), ValueError,
     "gamma must lie in (0, 1], got 1.5"),
    (lambda: schedules.ExponentialLR(_opt(), gamma=0.0), ValueError,
     "gamma must lie in (0, 1], got 0.0"),
    (lambda: schedules.CosineAnnealingWarmRestarts(_opt(), T_0=10, T_mult=0), ValueError,
     "T_mult must be a positive int, got 0"),
    (lambda: schedules.CosineAnnealingWarmRestarts(_opt(), T_0=10, eta_min=-1.0), ValueError,
     "eta_min must be a non-negative number, got -1.0"),
    (lambda: schedules.LinearLR(_opt(), start_factor=0.0), ValueError,
     "start_factor must lie in (0, 1], got 0.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, anneal_strategy="cosine"),
     ValueError, "anneal_strategy must be 'cos' or 'linear', got 'cosine'"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=3), ValueError,
     "pct_start * total_steps must be > 1 (the rise needs a step), got 0.3 * 3 = 0.9"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10).rates(12), ValueError,
     "OneCycleLR was stepped 11 times, more than total_steps = 10"),
])
def test_bad_arguments_refused(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call()


def _cycle_by_counting(t, T_0, T_mult):
    """(T_cur, T_i) by walking the cycles one by one, in exact integers."""
    start, length = 0, T_0
    while t >= start + length:
        start, length = start + length, length * T_mult
    return t - start, length


@pytest.mark.parametrize("T_0, T_mult, t", [
    (1, 3, 121),                    # log(243, 3) rounds down to 4.999...: corrected upwards
    (3, 3, 363),                    # the same boundary, T_0 = 3
    (4, 8, 160842843834659),        # the log rounds up past a boundary: corrected downwards
    (2, 4, 187649984473769),
    (5, 2, 11258999068426235),      # a start beyond 2**53: integer arithmetic stays exact
    (5, 7, 9499079321144284),
])
def test_restart_cycle_is_exact_where_the_float_log_is_not(T_0, T_mult, t):
    s = schedules.CosineAnnealingWarmRestarts(_opt(), T_0=T_0, T_mult=T_mult)
    got = s.cycle(t)
    assert got == _cycle_by_counting(t, T_0, T_mult)
    assert all(type(v) is int for v in got)


def test_restart_cycle_matches_counting_on_every_early_step():
    for T_0, T_mult in [(1, 2), (1, 3), (2, 3), (3, 5)]:
        s = schedules.CosineAnnealingWarmRestarts(_opt(), T_0=T_0, T_mult=T_mult)
        for t in range(400):
            got = s.cycle(t)
            assert got == _cycle_by_counting(t, T_0, T_mult), (T_0, T_mult, t)
            assert all(type(v) is int for v in got)


def test_restart_cycles_of_one_step_stay_at_the_base_rate():
    opt = nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=0.3)
    s = schedules.CosineAnnealingWarmRestarts(opt, T_0=1)
    assert s.rates(4) == [0.3, 0.3, 0.3, 0.3]
    s2 = schedules.CosineAnnealingWarmRestarts(_opt(), T_0=1, T_mult=2)
    assert [s2.cycle(t) for t in range(4)] == [(0, 1), (0, 2), (1, 2), (0, 4)]


def test_linear_warmup_over_one_step():
    opt = nb.SGD([nb.layers.Parameter(np.zeros(1))], lr=0.2)
    s = schedules.LinearLR(opt, start_factor=0.5, end_factor=0.0, total_iters=1)
    assert s.rates(3) == [0.1, 0.0, 0.0]


def test_onecycle_with_two_steps():
    """pct_start * total_steps = 1.5 > 1: the rise is step 0, the fall step 1."""
    s = schedules.OneCycleLR(_opt(), max_lr=1.0, total_steps=2, pct_start=0.75)
    assert s.rates(2) == pytest.approx([1.0 / 25, 1.0 / 25 / 1e4], rel=1e-12)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_onecycle_peak_step_is_the_end_of_the_rise(strategy):
    """At t = pct_start * total_steps - 1 the rise ends exactly at max_lr (as in PyTorch)."""
    kw = {"max_lr": 0.3, "total_steps": 40, "pct_start": 0.25, "anneal_strategy": strategy,
          "div_factor": 5.0 if strategy == "cos" else 10.0, "final_div_factor": 2.0}
    s = schedules.OneCycleLR(_opt(), **kw)
    t = torch.zeros(1, requires_grad=True)
    ref_opt = torch.optim.SGD([t], lr=0.1)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, cycle_momentum=False, **kw)
    for _ in range(9):
        t.grad = torch.zeros(1)
        ref_opt.step()
        ref.step()
    peak = ref_opt.param_groups[0]["lr"]
    assert s.lr_at(9) == peak
    if strategy == "cos":
        assert s.lr_at(9) == 0.3          # cos(pi) = -1 exactly: no rounding left


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: schedules.CosineAnnealingWarmRestarts(_opt(), T_0=0), ValueError,
     "T_0 must be a positive int, got 0"),
    (lambda: schedules.CosineAnnealingWarmRestarts(_opt(), T_0=2.0), TypeError,
     "T_0 must be a positive int, got 2.0 of type float"),
    (lambda: schedules.LinearLR(_opt(), end_factor=1.5), ValueError,
     "end_factor must lie in [0, 1], got 1.5"),
    (lambda: schedules.LinearLR(_opt(), end_factor=-0.5), ValueError,
     "end_factor must lie in [0, 1], got -0.5"),
    (lambda: schedules.LinearLR(_opt(), total_iters=0), ValueError,
     "total_iters must be a positive int, got 0"),
    (lambda: schedules.LinearLR(_opt(), total_iters=2.0), TypeError,
     "total_iters must be a positive int, got 2.0 of type float"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.0, total_steps=10), ValueError,
     "max_lr must be a positive number, got 0.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=-1.0, total_steps=10), ValueError,
     "max_lr must be a positive number, got -1.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=1), ValueError,
     "total_steps must be an int >= 2, got 1"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10.0), TypeError,
     "total_steps must be an int >= 2, got 10.0 of type float"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=0.0), ValueError,
     "pct_start must lie in (0, 1), got 0.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.0), ValueError,
     "pct_start must lie in (0, 1), got 1.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "pct_start must lie in (0, 1), got 1.5"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=-0.5), ValueError,
     "pct_start must lie in (0, 1), got -0.5"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=0.0), ValueError,
     "div_factor must be a positive number, got 0.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=-2.0), ValueError,
     "div_factor must be a positive number, got -2.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, final_div_factor=0.0),
     ValueError, "final_div_factor must be a positive number, got 0.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, final_div_factor=-2.0),
     ValueError, "final_div_factor must be a positive number, got -2.0"),
    (lambda: schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=2, pct_start=0.5), ValueError,
     "pct_start * total_steps must be > 1 (the rise needs a step), got 0.5 * 2 = 1"),
])
def test_more_bad_arguments_refused(call, exc, msg):
    with pytest.raises(exc, match=whole(msg)):
        call()


def test_small_positive_factors_accepted():
    """Any positive div_factor and final_div_factor, even below 1, is a valid schedule."""
    s = schedules.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=0.5,
                             final_div_factor=0.5)
    assert s.initial_lr == pytest.approx(0.2) and s.min_lr == pytest.approx(0.4)


def test_rates_of_no_steps_is_empty_and_negative_counts_are_refused():
    s = schedules.StepLR(_opt(), step_size=2)
    assert s.rates(0) == []
    with pytest.raises(ValueError, match=r"^steps must be a non-negative int, got -1$"):
        s.rates(-1)
    with pytest.raises(TypeError, match=r"^steps must be a non-negative int, got 2\.0 of type float$"):
        s.rates(2.0)
