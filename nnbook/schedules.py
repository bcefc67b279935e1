r"""Learning-rate schedules: the step size as a function of the step count.

A schedule holds an optimiser. At construction it remembers the optimiser's
learning rate as the base rate :math:`\eta_0` and sets ``optimizer.lr`` to the
rate of step 0; each ``step()`` advances its counter :math:`t` by one and sets
``optimizer.lr = lr_at(t)``. This is the protocol of ``torch.optim.lr_scheduler``
(call ``step()`` after ``optimizer.step()``), and every schedule here gives the
same rates as its PyTorch namesake, computed in closed form.

Use one with :func:`nnbook.optim.fit`: ``fit(..., scheduler=s)`` steps it after
every minibatch (``t`` counts steps); ``fit(..., callback=lambda e, m: s.step())``
steps it once per epoch.

* :class:`StepLR`: :math:`\eta_0\gamma^{\lfloor t/s\rfloor}` (step decay);
* :class:`ExponentialLR`: :math:`\eta_0\gamma^t`;
* :class:`CosineAnnealingWarmRestarts`: cosine decay restarted every cycle
  (SGDR, Loshchilov & Hutter, 2017);
* :class:`LinearLR`: a linear ramp of the factor, the usual warm-up (Goyal et al., 2017);
* :class:`OneCycleLR`: up from :math:`\eta_\max/25` to :math:`\eta_\max`, then down
  to almost 0 (Smith, 2017; Smith & Topin, 2019).
"""

from __future__ import annotations

import math

from .backend import check_int, check_real
from .optim import Optimizer

__all__ = ["CosineAnnealingWarmRestarts", "ExponentialLR", "LRScheduler", "LinearLR",
           "OneCycleLR", "StepLR"]


class LRScheduler:
    """Base class: ``lr_at(t)`` is the rate of step ``t``; ``step()`` applies the next one.

    Attributes
    ----------
    optimizer : Optimizer
    base_lr : float
        ``optimizer.lr`` when the schedule was made.
    t : int
        Steps taken so far (0 after construction).
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError("optimizer must be an nnbook Optimizer (e.g. nb.SGD(model.parameters(), "
                            f"lr=0.1)), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.t = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self):
        """Advance one step and set the optimiser's learning rate."""
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)

    def rates(self, steps: int) -> list[float]:
        """The rates of steps ``0 .. steps - 1`` (for plotting; changes nothing)."""
        steps = check_int(steps, "steps", minimum=0)
        return [self.lr_at(t) for t in range(steps)]


class StepLR(LRScheduler):
    r"""Step decay: :math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}`.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int >= 1
        :math:`s`, the steps between two decays.
    gamma : float in (0, 1], default 0.1
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = check_int(step_size, "step_size", minimum=1)
        self.gamma = check_real(gamma, "gamma", 0, 1, low_open=True)
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    r"""Exponential decay: :math:`\eta_t = \eta_0\,\gamma^t`.

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float in (0, 1]
    """

    def __init__(self, optimizer, gamma: float):
        self.gamma = check_real(gamma, "gamma", 0, 1, low_open=True)
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** t


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR; Loshchilov & Hutter, 2017).

    .. math::
        \eta_t = \eta_\min + \tfrac12(\eta_0 - \eta_\min)
        \left(1 + \cos\frac{\pi T_{\text{cur}}}{T_i}\right),

    where :math:`T_{\text{cur}}` counts the steps since the last restart and the
    :math:`i`-th cycle lasts :math:`T_i = T_0 T_{\text{mult}}^i` steps. At each
    restart the rate jumps back to :math:`\eta_0`.

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int >= 1
        Length of the first cycle.
    T_mult : int >= 1, default 1
        Growth factor of the cycle length.
    eta_min : float >= 0, default 0
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        self.T_0 = check_int(T_0, "T_0", minimum=1)
        self.T_mult = check_int(T_mult, "T_mult", minimum=1)
        self.eta_min = check_real(eta_min, "eta_min", 0)
        super().__init__(optimizer)

    def cycle(self, t: int) -> tuple[int, int]:
        """``(T_cur, T_i)``: the position of step ``t`` in its cycle, and the cycle's length."""
        if self.T_mult == 1:
            return t % self.T_0, self.T_0
        n = int(math.log(t / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
        start = self.T_0 * (self.T_mult ** n - 1) // (self.T_mult - 1)
        if t < start:                                   # log rounded up across a boundary
            n -= 1
        elif t >= start + self.T_0 * self.T_mult ** n:  # or down
            n += 1
        start = self.T_0 * (self.T_mult ** n - 1) // (self.T_mult - 1)
        return t - start, self.T_0 * self.T_mult ** n

    def lr_at(self, t):
        t_cur, t_i = self.cycle(t)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


class LinearLR(LRScheduler):
    r"""A linear ramp of the rate's factor: the usual warm-up.

    .. math::
        \eta_t = \eta_0\left(f_0 + (f_1 - f_0)\frac{\min(t, T)}{T}\right),

    from ``start_factor`` :math:`f_0` to ``end_factor`` :math:`f_1` over
    ``total_iters`` :math:`T` steps, then constant. With :math:`f_1 = 1` it is
    the gradual warm-up of Goyal et al. (2017).

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float in (0, 1], default 1/3
    end_factor : float in [0, 1], default 1
    total_iters : int >= 1, default 5
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        self.start_factor = check_real(start_factor, "start_factor", 0, 1, low_open=True)
        self.end_factor = check_real(end_factor, "end_factor", 0, 1)
        self.total_iters = check_int(total_iters, "total_iters", minimum=1)
        super().__init__(optimizer)

    def lr_at(self, t):
        frac = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy (Smith, 2017; Smith & Topin, 2019), as PyTorch defines it.

    The rate rises from :math:`\eta_\max/d` to :math:`\eta_\max` over the first
    ``pct_start`` of the ``total_steps``, then falls to :math:`\eta_\max/(d\,d_f)`,
    each phase along a half cosine (``anneal_strategy="cos"``) or a line
    (``"linear"``). Within a phase from :math:`a` to :math:`b`, at fraction
    :math:`p` of it: :math:`b + (a-b)(1+\cos\pi p)/2`. The optimiser's own ``lr``
    is ignored. Unlike PyTorch's default this does not cycle the momentum
    (PyTorch: ``cycle_momentum=False``).

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float > 0
    total_steps : int >= 2
    pct_start : float in (0, 1), default 0.3
    anneal_strategy : {"cos", "linear"}, default "cos"
    div_factor : float > 0, default 25
        :math:`d`: the initial rate is ``max_lr / div_factor``.
    final_div_factor : float > 0, default 1e4
        :math:`d_f`: the final rate is the initial one divided by it.
    """

    def __init__(self, optimizer, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4):
        self.max_lr = check_real(max_lr, "max_lr", 0, low_open=True)
        self.total_steps = check_int(total_steps, "total_steps", minimum=2)
        self.pct_start = check_real(pct_start, "pct_start", 0, 1, low_open=True, high_open=True)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.div_factor = check_real(div_factor, "div_factor", 0, low_open=True)
        self.final_div_factor = check_real(final_div_factor, "final_div_factor", 0, low_open=True)
        if self.pct_start * self.total_steps <= 1:
            raise ValueError("pct_start * total_steps must be > 1 (the rise needs a step), got "
                             f"{self.pct_start:g} * {self.total_steps} = "
                             f"{self.pct_start * self.total_steps:g}")
        self.initial_lr = self.max_lr / self.div_factor
        self.min_lr = self.initial_lr / self.final_div_factor
        super().__init__(optimizer)

    def _anneal(self, a, b, p):
        if self.anneal_strategy == "cos":
            return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1)
        return (b - a) * p + a

    def lr_at(self, t):
        if t > self.total_steps:        # PyTorch allows one step past the end, for the last step()
            raise ValueError(f"OneCycleLR was stepped {t} times, more than total_steps = "
                             f"{self.total_steps}")
        end_up = float(self.pct_start * self.total_steps) - 1
        if t <= end_up:
            return self._anneal(self.initial_lr, self.max_lr, t / end_up)
        return self._anneal(self.max_lr, self.min_lr,
                            (t - end_up) / (self.total_steps - 1 - end_up))
