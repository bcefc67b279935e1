r"""Adaptive optimisers: a step size per coordinate, learned from the gradients.

Plain SGD moves every weight by :math:`\eta g_i`. The methods here divide each
coordinate's step by a running measure of that coordinate's gradient size, so a
weight with consistently large gradients takes smaller steps and a rarely
updated one larger steps:

* :class:`Adagrad` (Duchi et al., 2011): the sum of all squared gradients so far;
* :class:`RMSprop` (Tieleman & Hinton, 2012): an exponential average of them;
* :class:`Adam` (Kingma & Ba, 2015): RMSprop's scaling applied to a momentum
  (an exponential average of the gradients), both corrected for their start at 0;
* :class:`AdamW` (Loshchilov & Hutter, 2019): Adam with the weight decay taken out
  of the gradient and applied to the weights directly ("decoupled").

Each follows ``torch.optim`` exactly: the same defaults, the same state (in the
visible per-parameter ``state`` dict, under PyTorch's names), and :math:`\epsilon`
in the same place, so the tests can use ``torch.optim`` as the oracle.
"""

from __future__ import annotations

from .backend import check_real, namespace
from .optim import Optimizer

__all__ = ["Adagrad", "Adam", "AdamW", "RMSprop"]


def _check_betas(betas):
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_real(b1, "betas[0]", 0, 1, high_open=True),
            check_real(b2, "betas[1]", 0, 1, high_open=True))


class Adagrad(Optimizer):
    r"""AdaGrad: divide each coordinate's step by the root of its summed squared gradients.

    With :math:`t` the step count (from 1) and :math:`g` the gradient (plus
    :math:`\lambda\theta` with ``weight_decay``),

    .. math::
        s \leftarrow s + g^2, \qquad
        \theta \leftarrow \theta - \frac{\eta}{1 + (t-1)\,\eta_{\text{decay}}}
        \,\frac{g}{\sqrt{s} + \epsilon},

    elementwise, with :math:`s` starting at ``initial_accumulator_value``
    (PyTorch's form; Duchi et al., 2011, write :math:`\theta_{t+1} = \theta_t -
    \eta\, G_t^{-1/2} g_t` with :math:`G_t` the diagonal of :math:`\sum_\tau
    g_\tau g_\tau^\top`). The effective step only shrinks: good for sparse,
    convex problems, often too cautious for networks.

    State: ``step`` (int), ``sum`` (:math:`s`).

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0, default 0.01
    lr_decay : float >= 0, default 0
    weight_decay : float >= 0, default 0
    initial_accumulator_value : float >= 0, default 0
    eps : float >= 0, default 1e-10
    """

    def __init__(self, params, lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        super().__init__(params, lr)
        self.lr_decay = check_real(lr_decay, "lr_decay", 0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0)
        self.initial_accumulator_value = check_real(
            initial_accumulator_value, "initial_accumulator_value", 0)
        self.eps = check_real(eps, "eps", 0)

    def update(self, theta, grad, state):
        xp = namespace(theta)
        if not state:
            state["step"] = 0
            state["sum"] = xp.zeros_like(theta) + self.initial_accumulator_value
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * theta
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        s = state["sum"]
        s += grad * grad                                    # s <- s + g^2
        theta -= clr * (grad / (xp.sqrt(s) + self.eps))     # theta <- theta - eta g / (sqrt(s) + eps)


class RMSprop(Optimizer):
    r"""RMSProp: divide each coordinate's step by a running root-mean-square of its gradients.

    .. math::
        s \leftarrow \alpha s + (1-\alpha) g^2, \qquad
        \theta \leftarrow \theta - \eta \frac{g}{\sqrt{s} + \epsilon}

    (Tieleman & Hinton, 2012, lecture 6e; :math:`\epsilon` outside the root, as
    in PyTorch). ``centered=True`` subtracts the square of the running mean
    :math:`\bar g \leftarrow \alpha\bar g + (1-\alpha) g`, dividing by an estimate
    of the standard deviation: :math:`\sqrt{s - \bar g^2} + \epsilon`. With
    ``momentum`` :math:`\mu > 0`: :math:`b \leftarrow \mu b + g/(\sqrt s +
    \epsilon)`, :math:`\theta \leftarrow \theta - \eta b`. ``weight_decay`` adds
    :math:`\lambda\theta` to :math:`g` first.

    State: ``step``, ``square_avg`` (:math:`s`), ``grad_avg`` (centered),
    ``momentum_buffer`` (momentum > 0).

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0, default 0.01
    alpha : float in [0, 1), default 0.99
    eps : float >= 0, default 1e-8
    weight_decay : float >= 0, default 0
    momentum : float in [0, 1), default 0
    centered : bool, default False
    """

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr)
        self.alpha = check_real(alpha, "alpha", 0, 1, high_open=True)
        self.eps = check_real(eps, "eps", 0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0)
        self.momentum = check_real(momentum, "momentum", 0, 1, high_open=True)
        self.centered = bool(centered)

    def update(self, theta, grad, state):
        xp = namespace(theta)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(theta)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(theta)
            if self.momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(theta)
        state["step"] += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * theta
        a = self.alpha
        s = state["square_avg"]
        s *= a
        s += (1 - a) * (grad * grad)                        # s <- alpha s + (1 - alpha) g^2
        if self.centered:
            gbar = state["grad_avg"]
            gbar *= a
            gbar += (1 - a) * grad
            denom = xp.sqrt(s - gbar * gbar) + self.eps
        else:
            denom = xp.sqrt(s) + self.eps
        if self.momentum > 0:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += grad / denom
            theta -= self.lr * b
        else:
            theta -= self.lr * (grad / denom)


class Adam(Optimizer):
    r"""Adam: momentum, divided per coordinate by a running RMS of the gradients.

    With :math:`t` the step count (from 1) and :math:`g` the gradient (plus
    :math:`\lambda\theta` with ``weight_decay``: coupled L2, as in PyTorch's Adam),

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \\
        \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
        \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}.

    This is PyTorch's arrangement. Kingma & Ba (2015, Algorithm 1) write
    :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`,
    :math:`\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)`: the
    same update, :math:`\epsilon` added to the bias-corrected root. The factors
    :math:`1-\beta^t` undo the bias of averages that start at 0. Adam is momentum
    (:math:`m` is :math:`(1-\beta_1)` times SGD's velocity :math:`v \leftarrow
    \beta_1 v + g`) with each coordinate's step divided by :math:`\sqrt{\hat v}`,
    the scale of that coordinate's gradients.

    State: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0, default 1e-3
    betas : (float, float) in [0, 1), default (0.9, 0.999)
    eps : float >= 0, default 1e-8
    weight_decay : float >= 0, default 0
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.betas = _check_betas(betas)
        self.eps = check_real(eps, "eps", 0)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0)

    def update(self, theta, grad, state):
        xp = namespace(theta)
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(theta)
            state["exp_avg_sq"] = xp.zeros_like(theta)
        state["step"] += 1
        t = state["step"]
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                theta *= 1 - self.lr * self.weight_decay     # theta <- (1 - eta lambda) theta
            else:
                grad = grad + self.weight_decay * theta      # g <- g + lambda theta
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad                                 # m <- beta1 m + (1 - beta1) g
        v *= b2
        v += (1 - b2) * (grad * grad)                        # v <- beta2 v + (1 - beta2) g^2
        step_size = self.lr / (1 - b1 ** t)
        denom = xp.sqrt(v) / (1 - b2 ** t) ** 0.5 + self.eps
        theta -= step_size * (m / denom)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before the Adam step the weights shrink by a factor :math:`1 - \eta\lambda`,

    .. math::
        \theta \leftarrow (1 - \eta\lambda)\,\theta, \qquad
        \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
        \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon},

    with :math:`m, v` built from the loss gradient alone. In Adam with an L2
    penalty the decay :math:`\lambda\theta` is part of :math:`g` and so is divided
    by :math:`\sqrt{\hat v}` too: weights with large gradients are barely decayed.
    Decoupling decays every weight at the same relative rate. (The paper writes
    the decay as :math:`\eta_t \lambda \theta` with a schedule multiplier
    :math:`\eta_t`; PyTorch multiplies by the learning rate, as here.)

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0, default 1e-3
    betas : (float, float) in [0, 1), default (0.9, 0.999)
    eps : float >= 0, default 1e-8
    weight_decay : float >= 0, default 0.01 (PyTorch's default)
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay)
