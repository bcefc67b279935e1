r"""Optimisers and the training loop.

An optimiser holds the model's :class:`~nnbook.layers.Parameter` list and a
visible ``state`` dict per parameter; ``step()`` reads each ``p.grad`` left by
the last backward pass and updates ``p.data``. New methods (Nesterov, Adam,
Newton, Quickprop...) subclass :class:`Optimizer` and write only ``update``.

:func:`fit` is the minibatch loop: a fresh random permutation of the training
set every epoch (sampling *without* replacement), forward, loss, backward, step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .backend import check_rng, namespace
from .layers import Module, Parameter, check_input

__all__ = ["SGD", "History", "Optimizer", "accuracy", "fit", "predict"]


class Optimizer:
    """Base class: ``step()`` applies :meth:`update` to every parameter with a gradient.

    Parameters
    ----------
    params : list of Parameter
        Usually ``model.parameters()``.
    lr : float
        Learning rate :math:`\\eta > 0`.
    """

    def __init__(self, params, lr: float):
        params = list(params)
        if not params or not all(isinstance(p, Parameter) for p in params):
            raise TypeError("params must be a non-empty list of nnbook Parameters "
                            "(use model.parameters())")
        if not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        self.params = params
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in params]

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self.update(p.data, p.grad, state)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def update(self, theta, grad, state):  # pragma: no cover - abstract
        """Update one parameter array ``theta`` in place, given its gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    With momentum :math:`\mu` the update is PyTorch's form

    .. math::
        v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta v,

    which equals the papers' :math:`v \leftarrow \mu v - \eta g,\ \theta \leftarrow
    \theta + v` up to the scaling of :math:`v` by :math:`-\eta` (for a constant
    :math:`\eta`). The first step sets :math:`v = g`. With ``nesterov=True`` the
    step uses :math:`g + \mu v` (the look-ahead gradient).

    Parameters
    ----------
    params : list of Parameter
    lr : float
    momentum : float in [0, 1)
    nesterov : bool
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr)
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0.0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def update(self, theta, grad, state):
        mu = self.momentum
        if mu == 0.0:
            theta -= self.lr * grad                      # theta <- theta - eta g
            return
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = grad + 0.0           # v <- g (a copy) on the first step
        else:
            v *= mu
            v += grad                                    # v <- mu v + g
        if self.nesterov:
            theta -= self.lr * (grad + mu * v)           # theta <- theta - eta (g + mu v)
        else:
            theta -= self.lr * v                         # theta <- theta - eta v


@dataclass
class History:
    """Training curves, one entry per epoch.

    ``loss`` is the mean training loss over the epoch's minibatches (weighted by
    batch size); ``val_loss`` and ``val_acc`` are measured on the validation set
    at the end of each epoch, in eval mode.
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)

    @property
    def epochs(self):
        return list(range(1, len(self.loss) + 1))


def predict(model: Module, X):
    """The model's output on ``X`` in eval mode (the previous mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return model.forward(X)
    finally:
        model.train(was_training)


def accuracy(output, target) -> float:
    """Fraction of correct predictions.

    ``output`` (N, C) logits with integer labels ``target`` (N,): argmax rule.
    ``output`` (N, 1) logits with 0/1 ``target`` (N, 1): threshold at 0.
    """
    xp = namespace(output)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = xp.argmax(output, axis=1)
    else:
        pred = xp.astype(output > 0, output.dtype)
    return float(xp.mean(xp.astype(pred == target, output.dtype)))


def fit(model: Module, loss_fn, optimizer: Optimizer, X, y, *, epochs: int,
        batch_size: int, rng, X_val=None, y_val=None, callback=None) -> History:
    """Train ``model`` by minibatch gradient descent and record the curves.

    Each epoch draws a fresh permutation, gathers the shuffled data once and
    then walks through contiguous batches::

        for each batch (xb, yb):
            loss = loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step()

    Parameters
    ----------
    model : Module
    loss_fn : MSELoss, BCEWithLogitsLoss or CrossEntropyLoss
    optimizer : Optimizer
    X : (N, D) float array on the model's backend
    y : targets for ``loss_fn``: (N,) int labels or (N, K) floats
    epochs, batch_size : int
    rng : numpy.random.Generator
        Draws the permutations (so a run is reproducible and equal on every backend).
    X_val, y_val : optional validation set, evaluated after every epoch.
    callback : callable, optional
        ``callback(epoch, model)`` after every epoch.

    Returns
    -------
    History
    """
    xp = check_input(X, model, "X")
    check_rng(rng)
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y must have {n} rows like X, got shape {tuple(y.shape)}")
    loss_fn.forward(predict(model, X), y)  # validates the targets once
    if X_val is not None:
        check_input(X_val, model, "X_val")
    history = History()
    bk = model.backend
    model.train()
    for epoch in range(epochs):
        perm = bk.asarray(rng.permutation(n))
        Xs, ys = xp.take(X, perm, axis=0), xp.take(y, perm, axis=0)
        total = 0.0
        for s in range(0, n, batch_size):
            xb, yb = Xs[s:s + batch_size], ys[s:s + batch_size]
            loss = loss_fn.forward(model.forward(xb), yb, validate=False)
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step()
            total = total + loss * xb.shape[0]
        history.loss.append(float(total) / n)
        if X_val is not None:
            out = predict(model, X_val)
            history.val_loss.append(float(loss_fn.forward(out, y_val)))
            history.val_acc.append(accuracy(out, y_val))
        if callback is not None:
            callback(epoch + 1, model)
    return history
