r"""Planted bugs, and the training loop that records what they do to the loss curves.

The troubleshooting chapter breaks a working network in one realistic way at a
time and lets a step of its checklist find the bug. Most bugs are one line in a
chapter cell (labels shuffled, inputs left raw, a softmax before the loss, a
forgotten ``model.eval()``, overlapping splits); the two that live inside code
a reader writes by hand are here as layers:

* :class:`BuggyLinear`: a Linear layer whose hand-written backward has one
  classic error, a transpose too many in the input gradient (``dout @ W.T`` in
  place of ``dout @ W``, silent for a square layer) or a flipped sign in the
  weight gradient;
* :func:`biased_relu_mlp`: an MLP whose hidden biases start at a negative
  constant (a gate-style initialisation copied into a ReLU network), which kills
  its ReLU units before the first step.

:func:`train_curves` trains any model and records the training and validation
loss at every epoch, epoch 0 (the initial weights) included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .backend import check_real
from .layers import Linear as _Linear
from .layers import ReLU, Sequential, linear_backward, mlp
from .optim import SGD, _check_model, _check_set, _check_targets, _forward_eval, fit

__all__ = ["BUGS", "BuggyLinear", "Curves", "biased_relu_mlp", "train_curves"]

BUGS = ("transpose", "sign")


class BuggyLinear(_Linear):
    r"""A :class:`~nnbook.layers.Linear` layer with one planted error in its backward.

    The forward pass is right. The backward pass, for ``bug``:

    * ``"transpose"``: :math:`\partial L/\partial x = \delta W^\top` instead of
      :math:`\delta W`. Shapes agree only when ``in_features == out_features``,
      and then nothing fails: the gradients of every layer below are wrong;
    * ``"sign"``: :math:`\partial L/\partial W = -\delta^\top x`, so this layer's
      weights climb the loss while the others descend it.

    Parameters
    ----------
    in_features, out_features : int
    bug : {"transpose", "sign"}
    rng, init, bias, backend : as for Linear
    """

    def __init__(self, in_features: int, out_features: int, *, bug: str, rng, init=None,
                 bias: bool = True, backend=None):
        if bug not in BUGS:
            raise ValueError(f"bug must be one of {BUGS}, got {bug!r}")
        if bug == "transpose" and in_features != out_features:
            raise ValueError("bug='transpose' needs a square layer (in_features == out_features), "
                             f"got {in_features} and {out_features}")
        super().__init__(in_features, out_features, rng=rng, init=init, bias=bias,
                         backend=backend)
        self.bug = bug

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("Linear.backward called before forward")
        x, W = self._cache
        dx, dW, db = linear_backward(dout, (x, W), input_grad)
        if self.bug == "transpose" and input_grad:
            dx = dout @ W.T                          # the bug: W is (out, in); dx needs dout @ W
        if self.bug == "sign":
            dW = -dW                                 # the bug: a minus sign lost in a derivation
        self.W.grad = dW
        if self.b is not None:
            self.b.grad = db
        return dx

    def extra_repr(self):
        return f"{super().extra_repr()}, bug={self.bug!r}"


def biased_relu_mlp(sizes, bias: float, *, rng, backend=None) -> Sequential:
    r"""A ReLU MLP (as :func:`nnbook.layers.mlp`) whose hidden biases all start at ``bias``.

    A negative constant, a few times the spread of the pre-activations, puts
    almost every pre-activation below 0 on every input: the ReLU units are dead,
    their gradient is 0, and nothing upstream of them can learn. (Starting a
    gate closed with a negative bias makes sense for a sigmoid gate; for a ReLU
    it switches the unit off.) The output layer keeps its default bias.
    """
    bias = check_real(bias, "bias")
    model = mlp(sizes, "relu", rng=rng, backend=backend)
    layers = list(model.layers)
    for i, m in enumerate(layers[:-1]):
        if isinstance(m, _Linear) and isinstance(layers[i + 1], ReLU):
            m.b.data[...] = bias
    return model


@dataclass
class Curves:
    """Loss per epoch, epoch 0 being the initial weights.

    Attributes
    ----------
    train_loss : list of float, on the whole training set, in eval mode
    val_loss : list of float, on the validation set, by the run's ``evaluate``
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)

    @property
    def epochs(self):
        return list(range(len(self.train_loss)))


def train_curves(model, loss_fn, X, y, X_val, y_val, *, lr: float, epochs: int,
                 batch_size: int, rng, momentum: float = 0.9, evaluate=None) -> Curves:
    """Train ``model`` with :func:`nnbook.optim.fit` (SGD with momentum); record both losses.

    Parameters
    ----------
    model, loss_fn, X, y, X_val, y_val, epochs, batch_size, rng
        As for :func:`nnbook.optim.fit`.
    lr : float > 0
    momentum : float in [0, 1)
    evaluate : callable, optional
        ``evaluate(model, X_val)`` returns the outputs the validation loss is
        computed from; :func:`nnbook.optim.predict` (eval mode) by default. A
        hand-written evaluation, right or wrong, goes here.

    Returns
    -------
    Curves
        Non-finite losses (a run that diverged) are recorded as ``inf``.
    """
    _check_model(model)
    _check_set(model, X_val, y_val, "X_val", "y_val")
    _check_targets(model, loss_fn, X_val, y_val, "X_val", "y_val")
    if evaluate is not None and not callable(evaluate):
        raise TypeError(f"evaluate must be callable or None, got {type(evaluate).__name__}")
    curves = Curves()

    def finite(v):
        v = float(v)
        return v if np.isfinite(v) else float("inf")

    def record(epoch, m):
        with np.errstate(all="ignore"):
            curves.train_loss.append(finite(loss_fn.forward(_forward_eval(m, X, "X"), y)))
            out = _forward_eval(m, X_val, "X_val") if evaluate is None else evaluate(m, X_val)
            curves.val_loss.append(finite(loss_fn.forward(out, y_val)))

    record(0, model)
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    with np.errstate(all="ignore"):
        fit(model, loss_fn, opt, X, y, epochs=epochs, batch_size=batch_size, rng=rng,
            callback=record)
    return curves
