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

from .backend import check_array, check_int, check_real, check_rng, check_same_backend, namespace
from .layers import Module, Parameter, check_input
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, _check_labels

__all__ = ["SGD", "History", "Optimizer", "accuracy", "fit", "predict", "train_epoch"]


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
        try:
            items = list(params)
        except TypeError:
            items = None
        bad = [p for p in items or () if not isinstance(p, Parameter)]
        if not items or bad:
            given = (f"a {type(params).__name__}" if items is None else "an empty list" if not items
                     else f"an item of type {type(bad[0]).__name__}")
            raise TypeError("params must be a non-empty list of nnbook Parameters "
                            f"(use model.parameters()), got {given}")
        params = items
        self.params = params
        self.lr = check_real(lr, "lr", 0, low_open=True)
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

    With ``weight_decay`` :math:`\lambda > 0` the gradient is first replaced by
    :math:`g + \lambda \theta` (PyTorch's coupled L2 penalty: the gradient of
    :math:`L + \tfrac{\lambda}{2}\lVert\theta\rVert^2`), before momentum.

    Parameters
    ----------
    params : list of Parameter
    lr : float
    momentum : float in [0, 1)
    nesterov : bool
    weight_decay : float >= 0
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = check_real(momentum, "momentum", 0, 1, high_open=True)
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0)

    def update(self, theta, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * theta      # g <- g + lambda theta (coupled L2)
        mu = self.momentum
        if mu == 0.0:
            theta -= self.lr * grad                      # theta <- theta - eta g
            return
        v = state.get("velocity")
        if v is None:                                    # v <- g (a copy) on the first step,
            xp = namespace(theta)                        # in theta's dtype (a bfloat16 gradient
            v = state["velocity"] = xp.astype(grad, theta.dtype, copy=True)  # under autocast)
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

    Attributes
    ----------
    loss : list of float
        Mean training loss over the epoch's minibatches, weighted by batch size.
        Each minibatch's loss is measured in training mode with the weights as they
        were *before* the step it causes, so one entry mixes the weights of a whole
        epoch. With full-batch training (``batch_size >= N``) ``loss[0]`` is the
        loss at initialisation and ``loss[e]`` the loss after ``e`` steps; the loss
        of the final weights is in no entry (evaluate it, or pass the training set
        as the validation set).
    val_loss : list of float
        Loss on the validation set at the end of each epoch, in eval mode (empty
        without a validation set).
    val_acc : list of float
        :func:`accuracy` on the validation set at the end of each epoch: recorded
        for :class:`~nnbook.losses.CrossEntropyLoss`, for
        :class:`~nnbook.losses.BCEWithLogitsLoss` with 0/1 targets of one column,
        and whenever ``fit`` is given ``metric=accuracy``; empty otherwise (for
        regression it would mean nothing).
    val_metric : list of float
        The caller's ``metric`` (any other than accuracy) on the validation set at
        the end of each epoch; empty without one.
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)

    @property
    def epochs(self):
        return list(range(1, len(self.loss) + 1))


def _check_model(model):
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnbook Module (e.g. nb.mlp(...)), got {type(model).__name__}")


def _forward_eval(model: Module, X, name: str):
    """``model.forward(X)`` in eval mode (the previous mode is restored), errors prefixed with ``name``."""
    was_training = model.training
    model.eval()
    try:
        return model.forward(X)
    except (TypeError, ValueError) as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(f"{name} does not fit the model: {e}") from e
    finally:
        model.train(was_training)


def predict(model: Module, X):
    """The model's output on ``X`` in eval mode (the previous mode is restored).

    Parameters
    ----------
    model : Module
    X : (N, D) float array of the model's library, dtype and device

    Returns
    -------
    (N, D_out) array on the model's backend

    Raises
    ------
    TypeError, ValueError
        If ``X`` is not an (N, D) array of the model's backend and dtype, or has
        the wrong number of columns.
    """
    _check_model(model)
    check_input(X, model, "X")
    return _forward_eval(model, X, "X")


def _check_accuracy_args(output, target):
    """Refuse the pairs that :func:`accuracy` would compare by silent broadcasting."""
    check_array(output, "output")
    if output.ndim not in (1, 2) or output.shape[0] == 0:
        raise ValueError(
            f"output must have shape (N, C) or (N,) with N >= 1, got {tuple(output.shape)}"
        )
    if output.ndim == 2 and output.shape[1] > 1:
        _check_labels(output, target, "output", "target")
        return
    xp = check_same_backend(target, "target", output, "output")
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(
            f"target must have the shape of output {tuple(output.shape)} "
            f"(0/1 labels for binary logits), got {tuple(target.shape)}"
        )
    if not bool(xp.all((target == 0) | (target == 1))):
        raise ValueError(
            "target must hold 0/1 labels for binary logits, got values in "
            f"[{float(xp.min(target)):g}, {float(xp.max(target)):g}]"
        )


def _accuracy(output, target) -> float:
    xp = namespace(output)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = xp.argmax(output, axis=1)
    else:
        pred = xp.astype(output > 0, output.dtype)
    return float(xp.mean(xp.astype(pred == target, output.dtype)))


def accuracy(output, target) -> float:
    r"""Fraction of correct predictions.

    Two cases, told apart by the shape of ``output``:

    * ``output`` (N, C) logits, C >= 2, and ``target`` (N,) integer labels in
      [0, C): the prediction is :math:`\arg\max_k z_{nk}`;
    * ``output`` (N, 1) (or (N,)) logits and ``target`` of the same shape holding
      0/1: the prediction is :math:`[z_n > 0]`, i.e. :math:`\sigma(z_n) > 1/2`.

    Parameters
    ----------
    output : (N, C) or (N, 1) or (N,) float array
    target : array of the same library and device, shaped as above

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    TypeError
        If ``target`` is not an array of the library of ``output``, or labels are
        not integers.
    ValueError
        If the shapes do not pair up as above (an (N, 1) ``output`` with an (N,)
        ``target`` would broadcast to an (N, N) comparison), labels are out of
        range, or binary targets are not 0/1.

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))
    0.5
    >>> accuracy(np.array([[2.0], [-1.0]]), np.array([[1.0], [1.0]]))
    0.5
    """
    _check_accuracy_args(output, target)
    return _accuracy(output, target)


def _check_set(model: Module, X, y, X_name: str, y_name: str):
    """A data set for ``model``: ``X`` (N, D) on its backend with N >= 1, ``y`` with N rows beside it."""
    xp = check_input(X, model, X_name)
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"{X_name} must have at least one row, got shape {tuple(X.shape)}")
    check_same_backend(y, y_name, X, X_name)
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{y_name} must have {n} rows like {X_name}, got shape {tuple(y.shape)}")
    return xp


def _check_targets(model: Module, loss_fn, X, y, X_name: str, y_name: str):
    """Run ``loss_fn``'s checks once on the whole set; return the model's output on ``X``."""
    out = _forward_eval(model, X, X_name)
    try:
        loss_fn.forward(out, y)
    except (TypeError, ValueError) as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(f"{y_name} does not suit {type(loss_fn).__name__}: {e}") from e
    return out


def _default_metric(loss_fn, y_val):
    """Accuracy where it means something: class labels, or 0/1 targets of one logit."""
    if isinstance(loss_fn, CrossEntropyLoss):
        return accuracy
    if isinstance(loss_fn, BCEWithLogitsLoss) and (y_val.ndim == 1 or y_val.shape[1] == 1):
        xp = namespace(y_val)
        if bool(xp.all((y_val == 0) | (y_val == 1))):
            return accuracy
    return None


def train_epoch(model, loss_fn, optimizer, X, y, batch_size, scheduler=None, step_losses=None):
    r"""One pass over ``(X, y)`` in order, in minibatches: the loop inside :func:`fit`.

    Unvalidated (``fit`` checks its arguments once). Nothing in it reads a value
    back to the host, so on a GPU the steps queue up without waiting.

    Parameters
    ----------
    X : array, shape (N, ...)
        Already shuffled by the caller.
    y : array, shape (N,) or (N, K)
    batch_size : int
    step_losses : list, optional
        If given, each minibatch's loss (a 0-d array, still on the device) is
        appended to it.

    Returns
    -------
    total : 0-d array on the model's device
        :math:`\sum_b |B_b| \, L_b`, the summed training loss of the epoch.
    """
    total = 0.0
    for s in range(0, X.shape[0], batch_size):
        xb, yb = X[s:s + batch_size], y[s:s + batch_size]
        loss = loss_fn.forward(model.forward(xb), yb, validate=False)
        model.backward(loss_fn.backward(), input_grad=False)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if step_losses is not None:
            step_losses.append(loss)
        total = total + loss * xb.shape[0]
    return total


def fit(model: Module, loss_fn, optimizer: Optimizer, X, y, *, epochs: int,
        batch_size: int, rng, X_val=None, y_val=None, metric="auto", callback=None,
        scheduler=None) -> History:
    """Train ``model`` by minibatch gradient descent and record the curves.

    Each epoch draws a fresh permutation, gathers the shuffled data once and
    then walks through contiguous batches::

        for each batch (xb, yb):
            loss = loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step()

    Every argument is checked before the first step; the loop itself checks
    nothing.

    Parameters
    ----------
    model : Module
    loss_fn : MSELoss, BCEWithLogitsLoss or CrossEntropyLoss
    optimizer : Optimizer
        Over (some of) the model's parameters.
    X : (N, D) float array of the model's library, dtype and device, N >= 1
    y : targets for ``loss_fn`` on the same backend: (N,) int labels, or (N, K)
        floats of the model's dtype
    epochs : int >= 0
    batch_size : int >= 1
        The last batch of an epoch is smaller when it does not divide N.
    rng : numpy.random.Generator
        Draws the permutations (so a run is reproducible and equal on every backend).
    X_val, y_val : arrays like ``X`` and ``y``, optional
        A validation set (both or neither), evaluated at the end of every epoch.
    metric : "auto", callable or None
        What to measure on the validation set besides the loss. ``"auto"``:
        :func:`accuracy` for classification (see :attr:`History.val_acc`),
        nothing for regression; ``None``: nothing; a callable
        ``metric(output, y_val) -> float`` is recorded in ``History.val_acc`` if
        it is :func:`accuracy`, in ``History.val_metric`` otherwise.
    callback : callable, optional
        ``callback(epoch, model)`` after every epoch.
    scheduler : object with a ``step()`` method, optional
        A learning-rate schedule (e.g. from :mod:`nnbook.schedules`) stepped after
        every optimiser step, so its ``t`` counts minibatch steps. (For a schedule
        in epochs, call its ``step()`` from ``callback`` instead.)

    Returns
    -------
    History

    Raises
    ------
    TypeError, ValueError
        For any argument of the wrong type, shape, dtype, backend or range,
        naming it, before any training.
    """
    _check_model(model)
    if not (callable(getattr(loss_fn, "forward", None)) and callable(getattr(loss_fn, "backward", None))):
        raise TypeError(
            f"loss_fn must be an nnbook loss (e.g. nb.CrossEntropyLoss()), got {type(loss_fn).__name__}"
        )
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an nnbook Optimizer (e.g. nb.SGD(model.parameters(), lr=0.1)), "
            f"got {type(optimizer).__name__}"
        )
    own = {id(p) for p in model.parameters()}
    if not all(id(p) in own for p in optimizer.params):
        raise ValueError("optimizer must update this model's parameters (build it from "
                         "model.parameters()), got parameters of another model")
    xp = _check_set(model, X, y, "X", "y")
    epochs = check_int(epochs, "epochs", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_rng(rng)
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ValueError(f"{missing} must be given with {given} (a validation set needs both), "
                         f"got {missing}=None")
    if X_val is not None:
        _check_set(model, X_val, y_val, "X_val", "y_val")
    if isinstance(metric, str):
        if metric != "auto":
            raise ValueError(f"metric must be 'auto', None or a callable, got {metric!r}")
    elif metric is not None and not callable(metric):
        raise TypeError(f"metric must be 'auto', None or a callable, got {type(metric).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError("scheduler must have a step() method (e.g. nnbook.schedules.StepLR) "
                        f"or be None, got {type(scheduler).__name__}")
    _check_targets(model, loss_fn, X, y, "X", "y")
    measure = None
    if X_val is not None:
        out = _check_targets(model, loss_fn, X_val, y_val, "X_val", "y_val")
        if metric == "auto":
            metric = _default_metric(loss_fn, y_val)
        if metric is not None:
            value = metric(out, y_val)              # refuses a bad pairing before training
            try:
                float(value)
            except (TypeError, ValueError):
                raise TypeError(f"metric must return a number, got {type(value).__name__}") from None
            measure = _accuracy if metric is accuracy else metric
    n = X.shape[0]
    history = History()
    curve = history.val_acc if metric is accuracy else history.val_metric
    bk = model.backend
    model.train()
    for epoch in range(epochs):
        perm = bk.asarray(rng.permutation(n))
        Xs, ys = xp.take(X, perm, axis=0), xp.take(y, perm, axis=0)
        total = train_epoch(model, loss_fn, optimizer, Xs, ys, batch_size, scheduler)
        history.loss.append(float(total) / n)      # the epoch's one host synchronisation
        if X_val is not None:
            out = _forward_eval(model, X_val, "X_val")
            history.val_loss.append(float(loss_fn.forward(out, y_val, validate=False)))
            if measure is not None:
                curve.append(float(measure(out, y_val)))
        if callback is not None:
            callback(epoch + 1, model)
    return history
