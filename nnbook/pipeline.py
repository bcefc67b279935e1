r"""The input pipeline: a dataset whose loading costs time, and the loop that consumes it.

A training step waits for its batch. If reading and preparing a batch takes
:math:`t_\text{load}` and the step itself :math:`t_\text{step}`, a loop that does
one after the other takes :math:`t_\text{load} + t_\text{step}` per batch; with
:math:`W` loader processes working ahead (``torch.utils.data.DataLoader(...,
num_workers=W)``) it takes about :math:`\max(t_\text{load}/W, t_\text{step})`.

:class:`SlowBatches` simulates the loading cost by sleeping (as a disk or a
network read waits without using the CPU, so the simulation behaves the same on
a loaded machine); :func:`consume` runs a training step on every batch of a
loader and returns the wall time.
"""

from __future__ import annotations

import time

import numpy as np

from .backend import check_real

__all__ = ["SlowBatches", "consume"]


class SlowBatches:
    """A map-style dataset of whole minibatches, each costing ``load_seconds`` to "read".

    Use it with ``DataLoader(SlowBatches(...), batch_size=None, num_workers=W)``
    (``batch_size=None``: the items already are batches). It defines no torch
    base class, so it is picklable and works with any start method.

    Parameters
    ----------
    X : (N, D) ndarray
    y : (N,) int ndarray
    batch_size : int
    load_seconds : float >= 0
        Sleep per batch: the simulated cost of reading and decoding it.

    Items
    -----
    ``data[i]`` is ``(X_b, y_b)`` as torch tensors (float32, int64): rows
    ``i*batch_size`` to ``(i+1)*batch_size - 1``.
    """

    def __init__(self, X, y, batch_size: int, load_seconds: float):
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"y must have {X.shape[0]} rows like X, got {y.shape[0]}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.X = np.asarray(X, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.load_seconds = check_real(load_seconds, "load_seconds", 0)

    def __len__(self):
        return -(-self.X.shape[0] // self.batch_size)

    def __getitem__(self, i):
        import torch

        if not 0 <= i < len(self):
            raise IndexError(f"batch index must be in [0, {len(self)}), got {i}")
        time.sleep(self.load_seconds)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return torch.from_numpy(self.X[s]), torch.from_numpy(self.y[s])


def consume(loader, step, *, device="cpu") -> float:
    """Wall-clock seconds to run ``step(xb, yb)`` on every batch that ``loader`` yields.

    The clock includes starting the loader's workers (a real epoch pays for it
    too) and moving each batch to ``device``.
    """
    from .throughput import synchronize

    start = time.perf_counter()
    for xb, yb in loader:
        step(xb.to(device, non_blocking=True), yb.to(device, non_blocking=True))
    synchronize(device)
    return time.perf_counter() - start
