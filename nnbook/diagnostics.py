r"""The measurements of the troubleshooting checklist: numbers that say where training breaks.

Each function answers one question a practitioner asks of a network that does
not learn, with a number that has a known right value:

* :func:`neighbour_label_agreement`: do the labels belong to their inputs? (For
  real data most points share the label of their nearest neighbour; for labels
  shuffled against their inputs, about :math:`\sum_k \pi_k^2`, which is
  :math:`1/C` for :math:`C` balanced classes.)
* :func:`split_overlap`: does the validation set hold training examples?
* :func:`chance_loss` and :func:`initial_loss`: does the untrained network
  predict about the class frequencies? With logits near 0 the cross-entropy is
  :math:`\ln C` for :math:`C` balanced classes; the best constant prediction
  has loss :math:`H(\pi) = -\sum_k \pi_k \ln \pi_k`.
* :func:`overfit_batch`: can the network drive the loss on a handful of
  examples to about 0? If not, something between the data and the update is broken.
* :func:`layer_report`: per-layer activation and gradient statistics, dead ReLU
  units included (built on :func:`nnbook.signal.signal_stats` and
  :func:`nnbook.activations.dead_relu_units`).

The gradient check of one's own layers is :func:`nnbook.gradcheck.check_layer`,
and the learning-rate range test :func:`nnbook.lr_finder.lr_range_test`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import dead_relu_units
from .backend import check_array, check_int, check_real, check_same_backend, namespace, to_numpy
from .layers import Linear, Module, ReLU, Sequential
from .optim import SGD, _check_model, _check_set, _check_targets
from .signal import signal_stats

__all__ = [
    "LayerReport",
    "chance_loss",
    "initial_loss",
    "layer_report",
    "neighbour_label_agreement",
    "overfit_batch",
    "split_overlap",
]


def _check_labels_1d(y, name: str = "y"):
    xp = namespace(y)
    if y.ndim != 1 or y.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N,) with N >= 1, got {tuple(y.shape)}")
    if not xp.isdtype(y.dtype, "integral"):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if bool(xp.any(y < 0)):
        raise ValueError(f"{name} must hold labels >= 0, got {int(xp.min(y))}")
    return xp


def chance_loss(y, num_classes: int | None = None) -> float:
    r"""The cross-entropy of the best constant prediction: the entropy of the label frequencies.

    .. math::
        H(\pi) = -\sum_{k:\,\pi_k > 0} \pi_k \ln \pi_k, \qquad
        \pi_k = \frac{1}{N}\#\{n : y_n = k\},

    which is :math:`\ln C` when the :math:`C` classes are balanced. A network at
    initialisation, with small logits, predicts about :math:`1/C` for every class
    and has loss :math:`\ln C`; a loss far above it means over-confident random
    predictions (badly scaled inputs or weights), one below it means the model
    already knows something it should not.

    Parameters
    ----------
    y : (N,) integer labels in [0, num_classes)
    num_classes : int, optional
        C (default ``max(y) + 1``); classes that never occur add nothing.

    Returns
    -------
    float (nats)
    """
    xp = _check_labels_1d(y)
    top = int(xp.max(y)) + 1
    if num_classes is None:
        num_classes = top
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if top > num_classes:
        raise ValueError(f"y must hold labels < num_classes = {num_classes}, got {top - 1}")
    counts = np.bincount(to_numpy(y).astype(np.int64), minlength=num_classes)
    pi = counts[counts > 0] / counts.sum()
    return float(-np.sum(pi * np.log(pi)))


def initial_loss(model: Module, loss_fn, X, y) -> float:
    """The loss of ``model`` on ``(X, y)`` in eval mode, without changing the model."""
    _check_model(model)
    _check_set(model, X, y, "X", "y")
    return float(loss_fn.forward(_check_targets(model, loss_fn, X, y, "X", "y"), y))


def overfit_batch(model: Module, loss_fn, X, y, *, steps: int = 200, lr: float = 0.1,
                  momentum: float = 0.9) -> np.ndarray:
    r"""Train ``model`` on the one batch ``(X, y)`` by full-batch SGD; the loss of every step.

    A network with more parameters than the batch has examples can fit it
    exactly: the loss should fall to about 0 within a few hundred steps. A loss
    that stays up, or that stops at a floor, points at the code between the data
    and the update (the loss, the output layer, the backward pass), not at the
    model's capacity. The model is trained in place (use a copy or a fresh one).

    Parameters
    ----------
    model : Module
    loss_fn : an nnbook loss
    X : (B, D) array on the model's backend, a small batch; y : its targets
    steps : int >= 1
    lr : float > 0
    momentum : float in [0, 1)

    Returns
    -------
    (steps,) NumPy array: the loss before each step
    """
    _check_model(model)
    _check_set(model, X, y, "X", "y")
    _check_targets(model, loss_fn, X, y, "X", "y")
    steps = check_int(steps, "steps", minimum=1)
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    losses = []
    for _ in range(steps):
        losses.append(loss_fn.forward(model.forward(X), y))
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
    return np.array([float(v) for v in losses])


def _sq_distances(A, B):
    """(M, N) squared Euclidean distances between the rows of A (M, D) and B (N, D)."""
    xp = namespace(A)
    d2 = xp.sum(A * A, axis=1)[:, None] + xp.sum(B * B, axis=1)[None, :] - 2 * (A @ B.T)
    return xp.maximum(d2, xp.zeros_like(d2))


def neighbour_label_agreement(X, y) -> float:
    r"""The fraction of points whose nearest other point (Euclidean) has the same label.

    A one-line look at whether labels belong to their inputs: on real data most
    neighbours agree (similar inputs, same class); on labels shuffled against the
    inputs the agreement falls to :math:`\sum_k \pi_k^2` (:math:`1/C` for
    balanced classes), the chance that two random labels coincide.

    Parameters
    ----------
    X : (N, D) float array, N >= 2
    y : (N,) integer labels of the same library

    Returns
    -------
    float in [0, 1]
    """
    xp = check_array(X, "X", ndim=2)
    if X.shape[0] < 2:
        raise ValueError(f"X must have at least 2 rows, got shape {tuple(X.shape)}")
    check_same_backend(y, "y", X, "X")
    _check_labels_1d(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} entries like X, got shape {tuple(y.shape)}")
    d2 = _sq_distances(X, X)
    n = X.shape[0]
    inf = xp.full((n,), float("inf"), dtype=X.dtype, device=getattr(X, "device", None))
    d2 = xp.where(xp.eye(n, dtype=xp.bool, device=getattr(X, "device", None)), inf[None, :], d2)
    nearest = xp.argmin(d2, axis=1)
    return float(xp.mean(xp.astype(xp.take(y, nearest, axis=0) == y, X.dtype)))


def split_overlap(X_train, X_val, *, atol: float = 0.0) -> float:
    r"""The fraction of rows of ``X_val`` that also occur in ``X_train``.

    A leak between the training and the validation set makes the validation
    error an error on training data: too good to be true. A row counts as
    occurring when its Euclidean distance to some training row is at most
    ``atol`` (0: an exact copy; a small positive ``atol`` also finds
    near-duplicates, such as copies that went through a lossy save).

    Parameters
    ----------
    X_train : (N, D) float array
    X_val : (M, D) float array of the same library
    atol : float >= 0
        The largest Euclidean distance at which two rows count as the same.

    Returns
    -------
    float in [0, 1]
    """
    xp = check_array(X_train, "X_train", ndim=2)
    check_array(X_val, "X_val", ndim=2)
    check_same_backend(X_val, "X_val", X_train, "X_train")
    if X_val.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_val must have {X_train.shape[1]} columns like X_train, "
                         f"got shape {tuple(X_val.shape)}")
    if X_val.shape[0] == 0 or X_train.shape[0] == 0:
        raise ValueError("X_train and X_val must have at least one row each, got shapes "
                         f"{tuple(X_train.shape)} and {tuple(X_val.shape)}")
    atol = check_real(atol, "atol", 0)
    # exact copies: compare row by row (distances by the expansion lose exactness)
    if atol == 0.0:
        same = xp.all(X_val[:, None, :] == X_train[None, :, :], axis=2)
        return float(xp.mean(xp.astype(xp.any(same, axis=1), X_val.dtype)))
    d2 = _sq_distances(X_val, X_train)
    return float(xp.mean(xp.astype(xp.min(d2, axis=1) <= atol ** 2, X_val.dtype)))


@dataclass
class LayerReport:
    r"""Per-layer statistics of one forward and backward pass; one entry per Linear layer.

    Attributes
    ----------
    act_std : standard deviation of the layer's output after its activation
    dead_fraction : fraction of the layer's ReLU units that are 0 on every
        example (NaN for a layer without a ReLU)
    grad_std : standard deviation of :math:`\delta_l = \partial L/\partial z_l`
    update_ratio : :math:`\lVert \partial L/\partial W_l\rVert / \lVert W_l\rVert`,
        the relative size of a gradient step per unit learning rate
    """

    act_std: np.ndarray
    dead_fraction: np.ndarray
    grad_std: np.ndarray
    update_ratio: np.ndarray

    def table(self) -> str:
        """The statistics as an aligned text table, one row per layer."""
        rows = [f"{'layer':>5} {'act std':>9} {'dead':>6} {'grad std':>9} {'|dW|/|W|':>9}"]
        for i in range(len(self.act_std)):
            dead = "-" if np.isnan(self.dead_fraction[i]) else f"{self.dead_fraction[i]:.2f}"
            rows.append(f"{i + 1:>5} {self.act_std[i]:>9.3g} {dead:>6} "
                        f"{self.grad_std[i]:>9.3g} {self.update_ratio[i]:>9.3g}")
        return "\n".join(rows)


def layer_report(model: Sequential, loss_fn, X, y) -> LayerReport:
    r"""Activation and gradient statistics of every layer of ``model`` on ``(X, y)``.

    One forward pass and one backward pass of the real loss (in training mode,
    the parameters unchanged; their gradients are left in ``p.grad``). What to
    look for: activations whose spread shrinks or grows layer after layer,
    layers whose ReLUs are dead on every example (no gradient reaches their
    weights), and update ratios that differ between layers by orders of magnitude.

    Parameters
    ----------
    model : Sequential
        Linear layers, each optionally followed by an activation (as
        :func:`nnbook.layers.mlp` builds them).
    loss_fn : an nnbook loss
    X : (N, D) array on the model's backend; y : its targets

    Returns
    -------
    LayerReport
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnbook Sequential, got {type(model).__name__}")
    _check_set(model, X, y, "X", "y")
    _check_targets(model, loss_fn, X, y, "X", "y")
    xp = model.backend.xp
    model.train()
    loss_fn.forward(model.forward(X), y)
    stats = signal_stats(model, X, dout=loss_fn.backward())   # forward and backward again
    linears = [m for m in model.layers if isinstance(m, Linear)]
    ratios = np.array([float(xp.sqrt(xp.sum(m.W.grad ** 2)) / xp.sqrt(xp.sum(m.W.data ** 2)))
                       for m in linears])
    masks = iter(dead_relu_units(model, X))
    layers = list(model.layers)
    dead = []
    for i, m in enumerate(layers):
        if isinstance(m, Linear):
            relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            dead.append(float(xp.mean(xp.astype(next(masks), X.dtype))) if relu else np.nan)
    return LayerReport(act_std=stats.act_std, dead_fraction=np.array(dead),
                       grad_std=stats.grad_std, update_ratio=ratios)
