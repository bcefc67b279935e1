r"""Batch size and learning rate: the linear-scaling rule, and training to a target accuracy.

The linear-scaling rule (Krizhevsky, 2014; Goyal et al., 2017): when the batch
grows from :math:`B_0` to :math:`B = kB_0`, multiply the learning rate by
:math:`k`. One step on the big batch then moves the weights about as far as
:math:`k` small steps would, as long as the gradient changes little over those
:math:`k` steps, so accuracy per *epoch* stays about the same while each epoch
takes :math:`k` times fewer steps. The rule fails early in training (the
gradient changes fast; hence a warm-up), and the scaled rate must stay below the
largest stable one (hence a cap). A separate limit is the *critical batch size*
(McCandlish et al., 2018), set by the gradient noise, about
:math:`\operatorname{tr}\Sigma/|G|^2`: below it, doubling the batch halves the
steps needed at about the same number of epochs; above it, the steps fall less
and less and the epochs needed grow. A bigger batch never buys fewer epochs.

:func:`scaled_lr` applies the rule (with an optional cap);
:func:`accuracy_curve` trains an nnbook model epoch by epoch and records the
validation accuracy; :func:`epochs_to` reads the first epoch that reaches a target.
"""

from __future__ import annotations

import numpy as np

from .backend import check_int, check_real, check_rng

__all__ = ["accuracy_curve", "epochs_to", "scaled_lr"]


def scaled_lr(base_lr: float, base_batch: int, batch: int, max_factor: float | None = None) -> float:
    r"""The linear-scaling rule :math:`\eta = \eta_0 \min(B/B_0,\ k_\max)`.

    Parameters
    ----------
    base_lr : float > 0
        :math:`\eta_0`, tuned at batch size :math:`B_0`.
    base_batch, batch : int >= 1
        :math:`B_0` and :math:`B`.
    max_factor : float >= 1, optional
        :math:`k_\max`: no more than this multiple of :math:`\eta_0` (at most
        the largest stable rate); ``None`` for no cap.
    """
    base_lr = check_real(base_lr, "base_lr", 0, low_open=True)
    base_batch = check_int(base_batch, "base_batch", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    k = batch / base_batch
    if max_factor is not None:
        k = min(k, check_real(max_factor, "max_factor", 1))
    return base_lr * k


def accuracy_curve(model, loss_fn, optimizer, X, y, X_val, y_val, *, batch_size: int,
                   epochs: int, rng, scheduler=None, stop_at: float | None = None):
    """Train epoch by epoch; return the validation accuracy and the loss of every step.

    Each epoch draws a fresh permutation from ``rng`` and walks through it in
    minibatches (as :func:`nnbook.optim.fit` does); ``scheduler.step()`` follows
    every optimiser step.

    Parameters
    ----------
    model, loss_fn, optimizer : nnbook objects
    X, y, X_val, y_val : arrays of the model's backend
    batch_size, epochs : int >= 1
    rng : numpy.random.Generator
    scheduler : optional
    stop_at : float, optional
        Stop after the first epoch whose validation accuracy reaches it.

    Returns
    -------
    val_acc : (E,) ndarray
        Validation accuracy after each epoch run (E <= epochs).
    step_loss : (S,) ndarray
        Training loss of every minibatch step.
    """
    from .optim import _accuracy, train_epoch

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    check_rng(rng)
    n = X.shape[0]
    accs, losses = [], []
    model.train()
    for _ in range(epochs):
        perm = rng.permutation(n)
        train_epoch(model, loss_fn, optimizer, X[perm], y[perm], batch_size, scheduler,
                    step_losses=losses)
        model.eval()
        accs.append(_accuracy(model.forward(X_val), y_val))
        model.train()
        if stop_at is not None and accs[-1] >= stop_at:
            break
    return np.array(accs), np.array([float(v) for v in losses])


def epochs_to(val_acc, target: float):
    """The first epoch (counted from 1) whose accuracy reaches ``target``; ``None`` if none does."""
    hit = np.flatnonzero(np.asarray(val_acc) >= target)
    return int(hit[0]) + 1 if hit.size else None
