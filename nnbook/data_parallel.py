r"""Data-parallel SGD: K workers, one model each, gradients averaged by an all-reduce.

The loss of a minibatch :math:`B` of size :math:`KM`, cut into :math:`K` shards
:math:`B_k` of size :math:`M`, is the mean of the shards' mean losses,

.. math::
    L_B(\theta) = \frac{1}{KM}\sum_{i\in B}\ell_i(\theta)
    = \frac{1}{K}\sum_{k=1}^K \underbrace{\frac{1}{M}\sum_{i\in B_k}\ell_i(\theta)}_{L_{B_k}(\theta)},
    \qquad \nabla L_B = \frac{1}{K}\sum_{k=1}^K \nabla L_{B_k},

so K workers that each hold a copy of :math:`\theta`, compute the gradient of
their own shard and *average* the K gradients (an all-reduce) all take exactly
the step that one worker would take on the whole batch, and stay identical.

Two levels here:

* in one process, on any backend: :func:`shard_batch`, :func:`local_gradients`
  (each simulated worker's gradient) and :func:`allreduce_mean`; and
  :func:`ring_allreduce`, a simulation of the ring algorithm that counts what
  each worker sends;
* real processes with :mod:`torch.distributed` (gloo on the CPU, NCCL on GPUs):
  :func:`train_distributed` spawns ``world_size`` processes running
  :func:`worker`, which trains either a ``torch.nn`` model wrapped in
  ``DistributedDataParallel`` (``mode="ddp"``) or an nnbook model on the torch
  backend whose ``p.grad`` it all-reduces by hand after each backward
  (``mode="nnbook"``); :func:`train_single` is the one-process reference on the
  combined batch.

References
----------
Goyal et al. (2017), Accurate, large minibatch SGD: training ImageNet in 1 hour.
Li et al. (2020), PyTorch Distributed: experiences on accelerating data parallel
training. Proc. VLDB Endowment 13(12).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from .backend import check_int, to_numpy

__all__ = ["DPConfig", "allreduce_mean", "free_port", "local_gradients", "main", "ring_allreduce",
           "shard_batch", "train_distributed", "train_single", "worker"]


# --------------------------------------------------------------------------- one process

def shard_batch(X, y, k: int):
    """Cut a minibatch into ``k`` equal contiguous shards, one per worker.

    Parameters
    ----------
    X : (N, ...) array
    y : (N, ...) array
    k : int >= 1
        Number of workers; must divide N (equal shards make the plain mean of
        the workers' gradients the gradient of the whole batch).

    Returns
    -------
    list of k pairs (X_k, y_k), X_k : (N / k, ...)
        Worker ``k`` gets rows ``k N/k .. (k + 1) N/k - 1``.
    """
    k = check_int(k, "k", minimum=1)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y must have {n} rows like X, got {y.shape[0]}")
    if n % k:
        raise ValueError(f"k must divide the batch size N={n} (equal shards), got k={k}")
    m = n // k
    return [(X[i * m:(i + 1) * m], y[i * m:(i + 1) * m]) for i in range(k)]


def local_gradients(model, loss_fn, X, y, k: int):
    r"""The gradient each of ``k`` simulated workers computes on its own shard.

    Worker :math:`k` runs forward and backward on :math:`(X_k, y_k)` from
    :func:`shard_batch`, with the loss averaged over its own shard.

    Parameters
    ----------
    model : nnbook Module
    loss_fn : nnbook loss (mean over the batch)
    X, y : the whole minibatch, N rows
    k : int, divides N

    Returns
    -------
    list (length k) of lists of arrays
        ``grads[w][j]`` is worker ``w``'s gradient of parameter ``j`` (in
        ``model.parameters()`` order), a copy.
    """
    grads = []
    for Xk, yk in shard_batch(X, y, k):
        loss_fn.forward(model.forward(Xk), yk)
        model.backward(loss_fn.backward(), input_grad=False)
        grads.append([p.grad * 1 for p in model.parameters()])
    return grads


def allreduce_mean(grads):
    r"""All-reduce by mean: the element-wise average of the workers' gradients.

    .. math:: \bar g_j = \frac{1}{K}\sum_{w=1}^K g_{w,j}

    After a real all-reduce every worker holds :math:`\bar g`; here it is
    returned once.

    Parameters
    ----------
    grads : list (K workers) of lists (P parameters) of arrays
        Every worker's list has the same shapes.

    Returns
    -------
    list of P arrays
    """
    if not grads:
        raise ValueError("grads must hold at least one worker's gradients, got an empty list")
    p = len(grads[0])
    for w, g in enumerate(grads):
        if len(g) != p:
            raise ValueError(f"grads[{w}] must hold {p} arrays like grads[0], got {len(g)}")
        for j in range(p):
            if tuple(g[j].shape) != tuple(grads[0][j].shape):
                raise ValueError(f"grads[{w}][{j}] must have shape {tuple(grads[0][j].shape)} "
                                 f"like grads[0][{j}], got {tuple(g[j].shape)}")
    k = len(grads)
    out = []
    for j in range(p):
        total = grads[0][j] * 1
        for w in range(1, k):
            total = total + grads[w][j]
        out.append(total / k)
    return out


def ring_allreduce(vectors):
    r"""Simulate the ring all-reduce of K equal-length vectors; count what each worker sends.

    Each vector is cut into K chunks. In the *reduce-scatter* phase, at step
    :math:`s = 0..K-2`, worker :math:`w` sends its running sum of chunk
    :math:`(w - s) \bmod K` to worker :math:`w + 1`, which adds it to its own;
    after :math:`K-1` steps worker :math:`w` holds the complete sum of chunk
    :math:`(w + 1) \bmod K`. In the *all-gather* phase the complete chunks go
    round the ring in :math:`K-1` more steps. Each worker sends
    :math:`2(K-1)` chunks of :math:`n/K` numbers: :math:`2(K-1)n/K`, almost
    :math:`2n` however large K is (a central server would receive :math:`Kn`).

    Parameters
    ----------
    vectors : list of K 1-D NumPy arrays of the same length n (K divides n)

    Returns
    -------
    sums : list of K arrays
        Every worker's result (all equal to the sum).
    sent : (K,) int ndarray
        Numbers each worker sent.
    """
    k = len(vectors)
    if k < 1:
        raise ValueError("vectors must hold at least one worker's vector, got an empty list")
    n = vectors[0].shape[0]
    if any(v.ndim != 1 or v.shape[0] != n for v in vectors):
        raise ValueError(f"vectors must all be 1-D of length {n} like vectors[0], got shapes "
                         f"{[tuple(v.shape) for v in vectors]}")
    if n % k:
        raise ValueError(f"the length n={n} must be a multiple of K={k} (equal chunks)")
    c = n // k
    chunks = [[np.array(v[i * c:(i + 1) * c], dtype=np.float64) for i in range(k)] for v in vectors]
    sent = np.zeros(k, dtype=np.int64)
    for s in range(k - 1):                       # reduce-scatter
        msgs = [(w, (w - s) % k, chunks[w][(w - s) % k].copy()) for w in range(k)]
        for w, i, msg in msgs:
            chunks[(w + 1) % k][i] += msg
            sent[w] += c
    for s in range(k - 1):                       # all-gather
        msgs = [(w, (w + 1 - s) % k, chunks[w][(w + 1 - s) % k].copy()) for w in range(k)]
        for w, i, msg in msgs:
            chunks[(w + 1) % k][i] = msg
            sent[w] += c
    return [np.concatenate(ch) for ch in chunks], sent


# --------------------------------------------------------------------------- processes

@dataclass(frozen=True)
class DPConfig:
    """One data-parallel training run: the same in every process.

    Parameters
    ----------
    sizes : tuple of int
        MLP widths ``(D_in, H, ..., C)`` with ReLU between the Linear layers.
    batch_size : int
        The *global* batch: each of the ``world_size`` processes takes
        ``batch_size / world_size`` rows of it.
    steps : int
        SGD steps.
    lr, momentum : float
    seed : int
        Seeds the initial weights (a numpy Generator, so every process and the
        one-process reference start equal) and the batches.
    dtype : {"float64", "float32"}
    mode : {"ddp", "nnbook"}
        ``"ddp"``: ``torch.nn`` model in ``DistributedDataParallel``;
        ``"nnbook"``: nnbook model on torch tensors, ``p.grad`` all-reduced by hand.
    timeout : float
        Seconds for the process group's collective operations before they fail.
    """

    sizes: tuple = (64, 64, 10)
    batch_size: int = 64
    steps: int = 40
    lr: float = 0.1
    momentum: float = 0.9
    seed: int = 0
    dtype: str = "float64"
    mode: str = "ddp"
    timeout: float = 30.0

    def __post_init__(self):
        if self.mode not in ("ddp", "nnbook"):
            raise ValueError(f"mode must be 'ddp' or 'nnbook', got {self.mode!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.steps, "steps", minimum=0)


def _batches(cfg: DPConfig, n: int):
    """The global batches' row indices, the same in every process (epochs of fresh permutations)."""
    rng = np.random.default_rng(cfg.seed + 1)
    per_epoch = n // cfg.batch_size
    out, perm = [], None
    for t in range(cfg.steps):
        if t % per_epoch == 0:
            perm = rng.permutation(n)
        s = (t % per_epoch) * cfg.batch_size
        out.append(perm[s:s + cfg.batch_size])
    return out


def _nnbook_model(cfg: DPConfig, device="cpu"):
    from .backend import Backend
    from .layers import mlp

    model = mlp(list(cfg.sizes), "relu", rng=np.random.default_rng(cfg.seed))
    return model.to(Backend("torch", str(device), cfg.dtype))


def _torch_model(cfg: DPConfig):
    """A torch.nn MLP with the same initial weights as :func:`_nnbook_model`."""
    import torch

    ref = _nnbook_model(cfg)
    layers = []
    for i, (a, b) in enumerate(zip(cfg.sizes[:-1], cfg.sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(cfg.sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(getattr(torch, cfg.dtype))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    params = ref.parameters()
    with torch.no_grad():
        for lin, W, b in zip(linears, params[0::2], params[1::2], strict=True):
            lin.weight.copy_(W.data)
            lin.bias.copy_(b.data)
    return net


def _params_numpy(model):
    if hasattr(model, "state_dict"):
        return [p.detach().cpu().numpy().copy() for p in model.parameters()]
    return [to_numpy(p.data).copy() for p in model.parameters()]


def _train(cfg: DPConfig, X, y, rank: int = 0, world_size: int = 1, allreduce=None,
           device="cpu"):
    """The loop shared by every process: its shard of each global batch, then a step.

    ``allreduce(t)`` sums the tensor ``t`` in place over the ranks
    (``torch.distributed.all_reduce`` in real processes), or is None for no exchange at all
    (one process, or :func:`train_alone`). Mode ``"nnbook"`` averages each ``p.grad`` with
    it; mode ``"ddp"`` leaves the gradients to ``DistributedDataParallel``. Both average
    the loss curve with it at the end.
    """
    import torch

    Xt = torch.from_numpy(np.ascontiguousarray(X)).to(device=device, dtype=getattr(torch, cfg.dtype))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
    m = cfg.batch_size // world_size
    losses = []
    if cfg.mode == "ddp":
        net = _torch_model(cfg).to(device)
        model = net
        if world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            on_gpu = str(device).startswith("cuda")
            model = DistributedDataParallel(net, device_ids=[device] if on_gpu else None)
        params = list(net.parameters())
        velocity = [torch.zeros_like(p) for p in params]
        loss_fn = torch.nn.CrossEntropyLoss()
        for idx in _batches(cfg, X.shape[0]):
            mine = torch.from_numpy(idx[rank * m:(rank + 1) * m]).to(device)
            for p in params:
                p.grad = None
            loss = loss_fn(model(Xt[mine]), yt[mine])
            loss.backward()                     # DDP all-reduces the gradients here
            with torch.no_grad():               # torch.optim.SGD's momentum step, written out
                for p, v in zip(params, velocity, strict=True):
                    v.mul_(cfg.momentum).add_(p.grad)
                    p.sub_(cfg.lr * v)
            losses.append(loss.detach().clone())
        result_model = net
    else:
        from .losses import CrossEntropyLoss
        from .optim import SGD

        model = _nnbook_model(cfg, device)
        opt = SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        loss_fn = CrossEntropyLoss()
        for idx in _batches(cfg, X.shape[0]):
            mine = torch.from_numpy(idx[rank * m:(rank + 1) * m]).to(device)
            loss = loss_fn.forward(model.forward(Xt[mine]), yt[mine])
            model.backward(loss_fn.backward(), input_grad=False)
            if allreduce is not None:
                for p in model.parameters():   # the whole of data parallelism:
                    allreduce(p.grad)          # sum the workers' gradients ...
                    p.grad /= world_size       # ... and average them
            opt.step()
            losses.append(loss.detach().clone())
        result_model = model
    loss_curve = (torch.stack(losses) if losses
                  else torch.zeros(0, dtype=getattr(torch, cfg.dtype), device=device))
    if allreduce is not None:
        allreduce(loss_curve)                  # the global batch's loss: mean of the shards'
        loss_curve /= world_size
    return _params_numpy(result_model), loss_curve.cpu().numpy()


def train_single(cfg: DPConfig, X, y):
    """One process, the whole global batch per step: the reference for :func:`train_distributed`.

    Returns
    -------
    dict with ``params`` (list of NumPy arrays, in ``parameters()`` order) and
    ``losses`` ((steps,) ndarray, each step's batch loss).
    """
    if cfg.batch_size > X.shape[0]:
        raise ValueError(f"batch_size must be at most N={X.shape[0]}, got {cfg.batch_size}")
    params, losses = _train(cfg, X, y)
    return {"params": params, "losses": losses}


def train_alone(cfg: DPConfig, X, y, rank: int, world_size: int):
    """One rank's run *without* the all-reduce: the counter-case of :func:`train_distributed`.

    Rank ``rank`` of ``world_size`` trains on its own shard of every global batch
    (``nnbook`` mode, in this process, no process group) and never averages its
    gradient with the others'. Its weights drift away from the other ranks' and
    from :func:`train_single`: what makes the ranks agree is the all-reduce,
    not the data.

    Returns
    -------
    dict with ``params`` and ``losses`` (its own shard's loss at each step).
    """
    world_size = check_int(world_size, "world_size", minimum=1)
    rank = check_int(rank, "rank", minimum=0)
    if rank >= world_size:
        raise ValueError(f"rank must be below world_size={world_size}, got {rank}")
    if cfg.batch_size % world_size:
        raise ValueError(f"batch_size must be a multiple of world_size={world_size}, "
                         f"got {cfg.batch_size}")
    params, losses = _train(replace(cfg, mode="nnbook"), X, y, rank, world_size)
    return {"params": params, "losses": losses}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank: int, world_size: int, port: int, cfgs, X, y, outdir: str):
    """The body of one process of :func:`train_distributed` (importable, so it can be spawned).

    It joins the process group (gloo, rendezvous at 127.0.0.1:``port``), runs
    each configuration of ``cfgs`` in turn on its shard of every global batch,
    saves the final parameters and the loss curve of run ``i`` to
    ``outdir/rank<k>_<i>.npz``, and leaves the group. Its stdout and stderr go
    to ``outdir/rank<k>.log``.
    """
    log = open(os.path.join(outdir, f"rank{rank}.log"), "w")  # noqa: SIM115 - kept open to the end
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    import datetime

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=max(c.timeout for c in cfgs)))
    try:
        for i, cfg in enumerate(cfgs):
            start = time.perf_counter()
            params, losses = _train(cfg, X, y, rank, world_size, dist.all_reduce)
            np.savez(os.path.join(outdir, f"rank{rank}_{i}.npz"), losses=losses,
                     train_seconds=time.perf_counter() - start,
                     **{f"p{j}": p for j, p in enumerate(params)})
        dist.barrier()
        # every rank has saved its results and passed the barrier: a crash after this point
        # (gloo's teardown has been seen to abort a process at exit) cannot change them
        open(os.path.join(outdir, f"rank{rank}.done"), "w").close()
    finally:
        dist.destroy_process_group()
        log.close()


def train_distributed(cfg, X, y, world_size: int = 2, timeout: float = 120.0):
    """Train with ``world_size`` processes on this machine (gloo over 127.0.0.1).

    Spawns the processes with :func:`torch.multiprocessing.spawn`, waits for them
    at most ``timeout`` seconds (then terminates them and raises), and returns
    what each one saved.

    Parameters
    ----------
    cfg : DPConfig or sequence of DPConfig
        Several configurations run one after the other in the same processes
        (starting processes is the slow part). Each ``batch_size`` must be a
        multiple of ``world_size``.
    X : (N, D) ndarray, y : (N,) int ndarray
        The training set (every process gets all of it and takes its shards).
    world_size : int >= 1
    timeout : float
        Wall-clock limit for the whole run, in seconds.

    Returns
    -------
    dict, or a list of dicts for a sequence of configurations
        ``params``: for each rank, the list of its final parameters (NumPy);
        ``losses``: (steps,) global-batch losses (rank 0's copy);
        ``seconds``: wall time of the whole spawn, all configurations included;
        ``train_seconds``: wall time of this configuration's training loop (the
        slowest process), without starting the processes and the group.

    Raises
    ------
    RuntimeError
        If a process fails or the run passes ``timeout`` (with the processes' logs).
    """
    import torch.multiprocessing as mp

    world_size = check_int(world_size, "world_size", minimum=1)
    single = isinstance(cfg, DPConfig)
    cfgs = (cfg,) if single else tuple(cfg)
    if not cfgs or not all(isinstance(c, DPConfig) for c in cfgs):
        raise TypeError("cfg must be a DPConfig or a non-empty sequence of them, got "
                        f"{type(cfg).__name__}")
    for c in cfgs:
        if c.batch_size % world_size:
            raise ValueError(f"cfg.batch_size must be a multiple of world_size={world_size}, "
                             f"got {c.batch_size}")
        if c.batch_size > X.shape[0]:
            raise ValueError(f"cfg.batch_size must be at most N={X.shape[0]}, got {c.batch_size}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnbook-ddp-") as outdir:
        ctx = mp.spawn(worker, args=(world_size, free_port(), cfgs, np.asarray(X), np.asarray(y), outdir),
                       nprocs=world_size, join=False)
        deadline = start + timeout
        try:
            while not ctx.join(timeout=0.05):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"the {world_size} processes did not finish in {timeout} s")
        except Exception as exc:
            # a process that died after every rank had saved its results (see worker) cost
            # nothing: its results stand; any other failure is reported with the ranks' logs
            done = all(os.path.exists(os.path.join(outdir, f"rank{r}.done"))
                       for r in range(world_size))
            for p in ctx.processes:
                p.join(5 if done else 0)
                if p.is_alive():
                    p.terminate()
            for p in ctx.processes:
                p.join(5)
            if not done or isinstance(exc, TimeoutError):
                logs = ""
                for r in range(world_size):
                    path = os.path.join(outdir, f"rank{r}.log")
                    if os.path.exists(path):
                        with open(path) as f:
                            logs += f"\n--- rank {r} ---\n" + f.read()[-2000:]
                raise RuntimeError(f"data-parallel run failed: {exc}{logs}") from None
        seconds = time.perf_counter() - start
        out = []
        for i, c in enumerate(cfgs):
            params, losses, train_s = [], None, 0.0
            for r in range(world_size):
                with np.load(os.path.join(outdir, f"rank{r}_{i}.npz")) as z:
                    n_p = len([k for k in z.files if k.startswith("p")])
                    params.append([z[f"p{j}"] for j in range(n_p)])
                    train_s = max(train_s, float(z["train_seconds"]))
                    if r == 0:
                        losses = z["losses"]
            out.append({"params": params, "losses": losses, "seconds": seconds,
                        "train_seconds": train_s, "config": asdict(c)})
    return out[0] if single else out


# --------------------------------------------------------------------------- torchrun

def main(argv=None):
    """Entry point for ``torchrun``: one process per GPU (NCCL) or per CPU slot (gloo).

    ::

        torchrun --standalone --nproc_per_node=2 -m nnbook.data_parallel --steps 40
        torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 \\
                 --master_addr=10.0.0.1 --master_port=29500 -m nnbook.data_parallel

    ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT``; each process joins the group from them (NCCL where there is a
    GPU for every process on the node, gloo on the CPU otherwise), takes the GPU
    ``LOCAL_RANK``, trains the digits
    MLP on its shards and rank 0 prints the final loss and a checksum of the
    weights, which equal those of :func:`train_single` on the combined batch.
    """
    import argparse
    import datetime

    import torch
    import torch.distributed as dist

    from .data import digits

    parser = argparse.ArgumentParser(description="Data-parallel SGD on the digits (use torchrun).")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mode", choices=("ddp", "nnbook"), default="ddp")
    args = parser.parse_args(argv)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    # one GPU per local process, or none: two processes cannot share one GPU under NCCL
    cuda = (torch.cuda.is_available()
            and torch.cuda.device_count() >= int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
    device = f"cuda:{local_rank}" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=60))
    try:
        cfg = DPConfig(batch_size=args.batch_size, steps=args.steps, mode=args.mode)
        split = digits(rng=np.random.default_rng(0))
        params, losses = _train(cfg, split.X_train, split.y_train, dist.get_rank(),
                                dist.get_world_size(), dist.all_reduce, device)
        if dist.get_rank() == 0:
            checksum = sum(float(np.abs(p).sum()) for p in params)
            print(f"world size {dist.get_world_size()} on {device.split(':')[0]}: loss "
                  f"{losses[0]:.6f} -> {losses[-1]:.6f}, sum |w| = {checksum:.12f}", flush=True)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
