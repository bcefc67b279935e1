r"""Timing on real hardware: a clock that waits for the device, and throughputs.

A GPU runs asynchronously: a PyTorch call on CUDA returns as soon as the work is
queued, so ``time.perf_counter()`` around it measures the queueing, not the work.
:func:`synchronize` waits until the device is idle; :func:`time_call` does so
before starting and before stopping the clock, warms up first (the first calls
pay for memory allocation, kernel selection and caches) and returns every
repeat's time, so the caller can take the median and see the spread.

Throughputs derived from it:

* :func:`matmul_tflops`: :math:`2n^3` floating-point operations of one
  :math:`n\times n` product per second, in float32, TF32 or bfloat16;
* :func:`train_throughput`: training samples per second of a ``torch.nn`` model,
  optionally under bfloat16 autocast.

This module imports only the standard library and NumPy at import time
(PyTorch when a function needs it), so a benchmark script can load it alone.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["matmul_tflops", "stored_measurement", "synchronize", "time_call", "train_throughput"]

_MATMUL_MODES = ("float32", "tf32", "bfloat16")


def synchronize(device="cpu"):
    """Wait until every queued operation on ``device`` has finished.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"`` (nothing to wait for), ``"cuda"``/``"cuda:k"`` or ``"mps"``.
    """
    kind = str(device).split(":")[0]
    if kind == "cuda":
        import torch

        torch.cuda.synchronize(device)
    elif kind == "mps":
        import torch

        torch.mps.synchronize()
    elif kind != "cpu":
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:k' or 'mps', got {device!r}")


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def time_call(fn, *, device="cpu", repeats: int = 5, warmup: int = 1, number: int = 1,
              clock: str = "wall"):
    """Seconds of ``fn()``, the device synchronised around each timing.

    Parameters
    ----------
    fn : callable with no arguments
    device : str
        Where ``fn`` queues its work (see :func:`synchronize`).
    repeats : int >= 1
        How many timings to return.
    warmup : int >= 0
        Untimed calls first.
    number : int >= 1
        Calls per timing (for calls too short to time one by one); the time
        returned is per call.
    clock : {"wall", "cpu"}
        ``"wall"``: :func:`time.perf_counter` (what a user waits; the only
        meaningful clock for a GPU). ``"cpu"``: :func:`time.process_time`, the
        CPU seconds of this process (all its threads), which other programs on
        a loaded machine inflate far less; for single-threaded CPU work it is the
        time the work would take alone.

    Returns
    -------
    times : (repeats,) float64 ndarray
        Seconds per call of each repeat. Report the median (a loaded machine adds
        only positive noise: the minimum is the most optimistic).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    repeats = _check_count(repeats, "repeats", 1)
    warmup = _check_count(warmup, "warmup", 0)
    number = _check_count(number, "number", 1)
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    now = time.perf_counter if clock == "wall" else time.process_time
    synchronize(device)
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = np.empty(repeats)
    for r in range(repeats):
        synchronize(device)
        start = now()
        for _ in range(number):
            fn()
        synchronize(device)
        times[r] = (now() - start) / number
    return times


def matmul_tflops(n: int, mode: str = "float32", *, device="cpu", repeats: int = 5,
                  number: int = 1, seed: int = 0, clock: str = "wall") -> float:
    r"""Throughput of one :math:`n\times n` by :math:`n\times n` product, in TFLOP/s.

    It counts :math:`2n^3` operations (a multiply and an add per term) and
    divides by the median time of ``repeats`` timings.

    Parameters
    ----------
    n : int >= 1
    mode : {"float32", "tf32", "bfloat16"}
        ``"tf32"`` is float32 storage with TensorFloat-32 products allowed
        (``torch.backends.cuda.matmul.allow_tf32``: only NVIDIA GPUs since
        Ampere use it; elsewhere it is plain float32).
    device : str
    repeats, number : int >= 1
        As in :func:`time_call`.
    seed : int
        Seeds the random matrices (a ``torch.Generator`` on the CPU).
    clock : {"wall", "cpu"}
        As in :func:`time_call`: ``"cpu"`` (the process's CPU seconds) on a
        shared CPU, ``"wall"`` on a GPU.
    """
    import torch

    n = _check_count(n, "n", 1)
    if mode not in _MATMUL_MODES:
        raise ValueError(f"mode must be one of {_MATMUL_MODES}, got {mode!r}")
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.bfloat16 if mode == "bfloat16" else torch.float32
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    try:
        times = time_call(lambda: a @ b, device=device, repeats=repeats, warmup=1,
                          number=number, clock=clock)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    return 2.0 * n**3 / float(np.median(times)) / 1e12


def train_throughput(model, X, y, batch_size: int, *, steps: int = 10, lr: float = 0.01,
                     autocast=None, device="cpu", repeats: int = 3, clock: str = "wall") -> float:
    r"""Training samples per second of a ``torch.nn`` classifier at one batch size.

    One step is forward, cross-entropy, backward and a plain SGD update, on the
    first ``batch_size`` rows of ``X`` (the data are already on ``device``, so
    loading is not timed). The result is
    :math:`\text{batch\_size}\times\text{steps}` divided by the median time of
    ``steps`` steps. The model's parameters change (it trains).

    Parameters
    ----------
    model : torch.nn.Module on ``device``
    X : (N, D) float32 tensor on ``device``, N >= batch_size
    y : (N,) int64 tensor on ``device``
    batch_size : int >= 1
    steps : int >= 1
    lr : float
    autocast : None or torch.dtype
        ``torch.bfloat16`` runs forward and loss under ``torch.autocast``.
    device : str
    repeats : int >= 1
    clock : {"wall", "cpu"}
        See :func:`time_call`.

    Returns
    -------
    float
        Samples per second.
    """
    import torch

    batch_size = _check_count(batch_size, "batch_size", 1)
    steps = _check_count(steps, "steps", 1)
    if X.shape[0] < batch_size:
        raise ValueError(f"X must have at least batch_size={batch_size} rows, got {X.shape[0]}")
    xb, yb = X[:batch_size], y[:batch_size]
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    device_type = str(device).split(":")[0]

    def run():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device_type, dtype=autocast or torch.float32,
                                enabled=autocast is not None):
                loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    times = time_call(run, device=device, repeats=repeats, warmup=1, clock=clock)
    return batch_size * steps / float(np.median(times))


def stored_measurement(device: str = "cuda"):
    """The JSON that ``benchmarks/gpu_training_fast.py`` stored for ``device``, or ``None``.

    It is read from ``benchmarks/gpu/training_fast_<device>.json`` in the
    repository that holds this copy of nnbook (absent from an installed package,
    and before anyone has run the benchmark on such a device).
    """
    import json
    from pathlib import Path

    if not isinstance(device, str) or not device.isidentifier():
        raise ValueError(f"device must be a name like 'cuda', got {device!r}")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu" / f"training_fast_{device}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())
