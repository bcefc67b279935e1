r"""Regularization: the L2 penalty, early stopping, and honest data splits.

* :func:`l2_penalty` and :func:`add_l2_grad`: the penalty
  :math:`\frac{\lambda}{2}\sum_\ell \lVert W_\ell \rVert_F^2` as a term of the loss,
  and its gradient :math:`\lambda W_\ell` added to each weight's gradient (Krogh &
  Hertz, 1992). For plain SGD this is the same update as ``SGD(weight_decay=λ)``;
  for Adam it is not, and :class:`nnbook.adaptive.AdamW` applies *decoupled* weight
  decay instead (Loshchilov & Hutter, 2019).
* :class:`SGDW`: momentum SGD with decoupled weight decay (Loshchilov & Hutter's
  SGDW): the weights shrink by :math:`1 - \eta\lambda` outside the velocity.
* :class:`EarlyStopping` (a ``callback`` for :func:`nnbook.optim.fit`) and
  :func:`fit_early_stopping`: stop when the validation loss has not improved for
  ``patience`` epochs, and restore the weights of the best epoch (Prechelt, 1998).
* :func:`train_val_test_split`: a stratified, seeded three-way split, so that
  choices are made on the validation set and the test set is touched once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import check_int, check_real, check_rng, namespace
from .layers import Module, Parameter
from .optim import SGD, History, _check_model, _forward_eval, fit

__all__ = [
    "SGDW",
    "EarlyStopping",
    "ErrorCurves",
    "ThreeWaySplit",
    "add_l2_grad",
    "fit_early_stopping",
    "l2_penalty",
    "stratified_indices",
    "train_val_test_split",
    "weights",
]


# --------------------------------------------------------------------------
# The L2 penalty
# --------------------------------------------------------------------------

def weights(model: Module) -> list[Parameter]:
    """The parameters an L2 penalty usually covers: the weight matrices, not the biases.

    A parameter counts as a weight when its name is ``"W"`` (every
    :class:`~nnbook.layers.Linear`) or it has two or more dimensions.
    """
    _check_model(model)
    return [p for p in model.parameters() if p.name == "W" or len(p.shape) >= 2]


def _check_params(params, name="params") -> list[Parameter]:
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{name} must be a list of Parameters, got {type(params).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"{name}[{i}] must be a Parameter, got {type(p).__name__}")
    return params


def l2_penalty(params, lam: float) -> float:
    r"""The L2 penalty :math:`\frac{\lambda}{2} \sum_j \lVert \theta_j \rVert^2` over ``params``.

    Parameters
    ----------
    params : list of Parameter
        Usually :func:`weights` (model) — the biases are left out by convention.
    lam : float >= 0
        The strength :math:`\lambda`.

    Returns
    -------
    float
        Add it to the data loss to get the regularised objective.
    """
    params = _check_params(params)
    lam = check_real(lam, "lam", 0)
    total = 0.0
    for p in params:
        xp = namespace(p.data)
        total += float(xp.sum(p.data * p.data))
    return 0.5 * lam * total


def add_l2_grad(params, lam: float):
    r"""Add the penalty's gradient :math:`\lambda\,\theta_j` to each ``p.grad``, in place.

    Call it after ``model.backward`` and before ``optimizer.step()``. A parameter
    whose ``grad`` is ``None`` gets :math:`\lambda\theta_j`.
    """
    params = _check_params(params)
    lam = check_real(lam, "lam", 0)
    for p in params:
        p.grad = lam * p.data if p.grad is None else p.grad + lam * p.data


class SGDW(SGD):
    r"""Momentum SGD with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the weights, then takes the SGD step on the loss
    gradient alone:

    .. math::
        \theta \leftarrow (1 - \eta\lambda)\,\theta, \qquad
        v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta v .

    ``SGD(weight_decay=λ)`` instead adds :math:`\lambda\theta` to :math:`g`
    (coupled L2), so the decay passes through the velocity and, once the velocity
    has built up, acts about :math:`1/(1-\mu)` times as strongly: SGDW with
    :math:`\lambda/(1-\mu)` shrinks the weights at the same steady rate. Without
    momentum the two are the same update. As in PyTorch's ``AdamW`` the decay is
    multiplied by the learning rate (the paper uses a schedule multiplier).

    Parameters
    ----------
    params : list of Parameter
    lr : float > 0
    momentum : float in [0, 1)
    nesterov : bool
    weight_decay : float >= 0
        The decoupled decay :math:`\lambda`.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, momentum, nesterov)
        self.decay = check_real(weight_decay, "weight_decay", 0)

    def update(self, theta, grad, state):
        if self.decay:
            theta *= 1 - self.lr * self.decay                # theta <- (1 - eta lambda) theta
        super().update(theta, grad, state)


# --------------------------------------------------------------------------
# Early stopping
# --------------------------------------------------------------------------

def _snapshot(model: Module) -> list:
    out = []
    for p in model.parameters():
        xp = namespace(p.data)
        out.append(xp.asarray(p.data, copy=True))
    return out


class EarlyStopping:
    r"""Watch the validation loss after every epoch; remember the best weights.

    Pass it as ``callback`` to :func:`nnbook.optim.fit`. After each epoch it
    evaluates ``loss_fn`` on ``(X_val, y_val)`` in eval mode; an epoch whose loss
    is lower than the best so far by more than ``min_delta`` becomes the best, and
    its weights are copied. ``should_stop`` turns true once ``patience`` epochs
    in a row brought no improvement. :meth:`restore` puts the best weights back.

    ``fit`` itself cannot stop early; :func:`fit_early_stopping` runs it epoch by
    epoch with this callback and stops.

    Parameters
    ----------
    X_val, y_val : arrays on the model's backend
    loss_fn : an nnbook loss, e.g. ``CrossEntropyLoss()``
    patience : int >= 1
    min_delta : float >= 0

    Attributes
    ----------
    best_epoch : int (0 before any epoch has been seen; the initial weights are not evaluated)
    best_loss : float
    losses : list of float, the validation loss of every epoch seen
    should_stop : bool
    """

    def __init__(self, X_val, y_val, loss_fn, *, patience: int = 10, min_delta: float = 0.0):
        if not (callable(getattr(loss_fn, "forward", None))):
            raise TypeError(f"loss_fn must be an nnbook loss (e.g. nb.CrossEntropyLoss()), "
                            f"got {type(loss_fn).__name__}")
        self.X_val, self.y_val, self.loss_fn = X_val, y_val, loss_fn
        self.patience = check_int(patience, "patience", minimum=1)
        self.min_delta = check_real(min_delta, "min_delta", 0)
        self.best_epoch = 0
        self.best_loss = float("inf")
        self.losses: list[float] = []
        self.should_stop = False
        self._best = None

    def __call__(self, epoch: int, model: Module):
        out = _forward_eval(model, self.X_val, "X_val")
        loss = float(self.loss_fn.forward(out, self.y_val))
        self.losses.append(loss)
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = loss, epoch
            self._best = _snapshot(model)
        elif epoch - self.best_epoch >= self.patience:
            self.should_stop = True

    def restore(self, model: Module):
        """Copy the best weights back into ``model`` (in place); returns ``model``."""
        if self._best is None:
            raise RuntimeError("EarlyStopping.restore called before any epoch was seen")
        for p, best in zip(model.parameters(), self._best, strict=True):
            p.data[...] = best
        return model


def fit_early_stopping(model: Module, loss_fn, optimizer, X, y, X_val, y_val, *,
                       max_epochs: int, batch_size: int, rng, patience: int = 10,
                       min_delta: float = 0.0, **fit_kwargs):
    """:func:`~nnbook.optim.fit` that stops on the validation loss and restores the best weights.

    Trains one epoch at a time (each epoch draws its permutation from ``rng`` as
    ``fit`` does, so the run is the one ``fit`` would make) until ``patience``
    epochs pass without improvement or ``max_epochs`` is reached, then restores
    the weights of the best epoch.

    Returns
    -------
    history : History
        The curves of every epoch trained (including those after the best one).
    stopper : EarlyStopping
        ``stopper.best_epoch`` is the epoch whose weights the model now holds.
    """
    stopper = EarlyStopping(X_val, y_val, loss_fn, patience=patience, min_delta=min_delta)
    max_epochs = check_int(max_epochs, "max_epochs", minimum=1)
    history = History()
    for epoch in range(1, max_epochs + 1):
        h = fit(model, loss_fn, optimizer, X, y, epochs=1, batch_size=batch_size, rng=rng,
                X_val=X_val, y_val=y_val, **fit_kwargs)
        for key in ("loss", "val_loss", "val_acc", "val_metric"):
            getattr(history, key).extend(getattr(h, key))
        stopper(epoch, model)
        if stopper.should_stop:
            break
    stopper.restore(model)
    return history, stopper


class ErrorCurves:
    """A ``fit`` callback that records the training and validation error of every epoch.

    Both are measured in eval mode (dropout off) on the whole set after the
    epoch, so the training error is that of the final weights of the epoch,
    not the running average over minibatches that ``History.loss`` holds.

    Attributes
    ----------
    train_error, val_error : list of float, one per epoch (1 - accuracy)
    val_loss : list of float, one per epoch (empty without ``loss_fn``)
    """

    def __init__(self, X_train, y_train, X_val, y_val, loss_fn=None):
        self.sets = ((X_train, y_train), (X_val, y_val))
        self.loss_fn = loss_fn
        self.train_error: list[float] = []
        self.val_error: list[float] = []
        self.val_loss: list[float] = []

    def __call__(self, epoch: int, model: Module):
        from .optim import _accuracy

        for (X, y), curve in zip(self.sets, (self.train_error, self.val_error), strict=True):
            out = _forward_eval(model, X, "X")
            curve.append(1.0 - _accuracy(out, y))
        if self.loss_fn is not None:
            self.val_loss.append(float(self.loss_fn.forward(out, y)))


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------

@dataclass
class ThreeWaySplit:
    """Train, validation and test arrays."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def stratified_indices(y, fractions, *, rng) -> list[np.ndarray]:
    r"""Split the indices of ``y`` into parts of the given fractions, class by class.

    Each class is shuffled and cut in the proportions ``fractions`` (which must
    sum to 1), so every part holds about the same share of every class. The
    sizes are rounded per class with the largest-remainder rule, so the parts
    always cover every index exactly once.

    Parameters
    ----------
    y : (N,) integer labels (NumPy)
    fractions : sequence of float > 0 summing to 1
    rng : numpy.random.Generator

    Returns
    -------
    list of sorted index arrays, one per fraction
    """
    check_rng(rng)
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-D array of integer labels, got shape {y.shape} "
                         f"and dtype {y.dtype}")
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or len(fr) < 2 or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        shown = list(fractions) if np.ndim(fractions) else fractions     # a lone number too
        raise ValueError(f"fractions must be at least 2 positive numbers summing to 1, "
                         f"got {shown}")
    parts: list[list[np.ndarray]] = [[] for _ in fr]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        exact = fr * len(idx)
        counts = np.floor(exact).astype(int)
        short = len(idx) - counts.sum()
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
        for k, piece in enumerate(np.split(idx, np.cumsum(counts)[:-1])):
            parts[k].append(piece)
    return [np.sort(np.concatenate(p)) for p in parts]


def train_val_test_split(X, y, *, val_fraction: float, test_fraction: float,
                         rng, stratify: bool = True) -> ThreeWaySplit:
    """A seeded train/validation/test split, stratified by class by default.

    Parameters
    ----------
    X : (N, D) array
    y : (N,) integer labels
    val_fraction, test_fraction : float in (0, 1), summing to less than 1
    rng : numpy.random.Generator
    stratify : bool
        Keep the class proportions in each part (else a plain random split).

    Returns
    -------
    ThreeWaySplit
    """
    check_rng(rng)
    val_fraction = check_real(val_fraction, "val_fraction", 0, 1, low_open=True, high_open=True)
    test_fraction = check_real(test_fraction, "test_fraction", 0, 1, low_open=True,
                               high_open=True)
    if val_fraction + test_fraction >= 1:
        raise ValueError("val_fraction + test_fraction must be below 1 (something must be "
                         f"left to train on), got {val_fraction + test_fraction:g}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    fractions = [1 - val_fraction - test_fraction, val_fraction, test_fraction]
    if stratify:
        tr, va, te = stratified_indices(y, fractions, rng=rng)
    else:
        perm = rng.permutation(len(X))
        n_va, n_te = round(val_fraction * len(X)), round(test_fraction * len(X))
        va, te, tr = perm[:n_va], perm[n_va:n_va + n_te], perm[n_va + n_te:]
    return ThreeWaySplit(X[tr], y[tr], X[va], y[va], X[te], y[te])
