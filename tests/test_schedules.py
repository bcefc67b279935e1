"""Learning-rate schedules against torch.optim.lr_scheduler, step by step."""

import re

import numpy as np
import pytest
import torch

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
    with pytest.raises(exc, match="^" + re.escape(msg) + "$"):
        call()
