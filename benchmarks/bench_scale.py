"""A large MLP and how its cost grows: nnbook (NumPy, PyTorch) against torch.nn, per training step.

One training step = forward, softmax cross-entropy, backward, SGD with momentum 0.9.
The large MLP is 784-1024-1024-10 with ReLU, batch 512; the sweep grows the two
hidden widths (64 to 4096, batch 512) and the batch (16 to 4096, width 1024).
Every contender starts from the same weights and walks through the same batches.

The rate counts the GEMMs a step actually does, 2 N D_in D_out FLOPs each: the
forward product and the weight gradient of every layer, and the input gradient of
every layer but the first. It is compared with this machine's matrix-multiply
peak, measured in the same run (a large square product, the best of NumPy's
and torch's on the CPU).

* ``--device cpu``: nnbook NumPy, nnbook PyTorch and torch.nn, float32.
* ``--device cuda``: nnbook PyTorch and torch.nn on the GPU, float32 (TF32 off,
  PyTorch's default) and with bfloat16 autocast (``torch.autocast``) around the
  training steps; GPU timing with a warm-up, ``torch.cuda.synchronize()`` around
  each timed run of many steps and none inside it.

Writes ``DIR/bench_<device>.json`` (default DIR: benchmarks/raw). Needs NumPy,
nnbook and array_api_compat; torch for everything but the NumPy path.

Usage: python benchmarks/bench_scale.py [--device cpu|cuda] [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import _common
import numpy as np

import nnbook as nb
from nnbook.optim import train_epoch

SIZES, BATCH, LR, MU = (784, 1024, 1024, 10), 512, 1e-3, 0.9
WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
BATCHES = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def gemm_flops(sizes, batch: int) -> int:
    """FLOPs of the GEMMs of one training step (no input gradient for the first layer)."""
    pairs = list(itertools.pairwise(sizes))
    return sum(3 * 2 * batch * a * b for a, b in pairs) - 2 * batch * sizes[0] * sizes[1]


# --------------------------------------------------------------------------
# The contenders: each returns a function that runs `steps` training steps
# --------------------------------------------------------------------------

def _autocast(device, precision):
    import torch

    if precision == "bf16-autocast":
        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()


def nnbook_runner(model_np, X, y, batch, backend, precision="float32"):
    """nnbook's own inner loop (:func:`nnbook.optim.train_epoch`) over the prepared batches."""
    model = copy.deepcopy(model_np).to(backend)
    Xb, yb = backend.asarray(X), backend.asarray(y)
    loss_fn = nb.CrossEntropyLoss()
    opt = nb.SGD(model.parameters(), lr=LR, momentum=MU)
    device = backend.device

    def run():
        with _autocast(device, precision) if backend.library == "torch" else contextlib.nullcontext():
            return train_epoch(model, loss_fn, opt, Xb, yb, batch)

    def forget():  # what a step leaves behind: gradients, caches
        opt.zero_grad()
        for m in model._modules():
            if hasattr(m, "_cache"):
                m._cache = None
        loss_fn._cache = None

    return run, forget


def torch_runner(model_np, X, y, batch, device, precision="float32"):
    """An idiomatic torch.nn / torch.optim loop (autograd), the loss summed on the device."""
    import torch

    layers = []
    for m in model_np.layers:
        if isinstance(m, nb.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.W.data))
                lin.bias.copy_(torch.from_numpy(m.b.data))
            layers.append(lin)
        else:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device=device, dtype=torch.float32)
    Xt = torch.as_tensor(X, device=device, dtype=torch.float32)
    yt = torch.as_tensor(y, device=device)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MU)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = Xt.shape[0]

    def run():
        total = torch.zeros((), device=device)
        for s in range(0, n, batch):
            xb, yb = Xt[s:s + batch], yt[s:s + batch]
            opt.zero_grad(set_to_none=True)
            with _autocast(device, precision):
                loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
        return total

    def forget():
        opt.zero_grad(set_to_none=True)

    return run, forget


def gemm_runner(model_np, X, batch, lib, device, precision="float32"):
    """The GEMMs of the training steps alone, same shapes, nothing else: the ceiling of any
    implementation on that library (its BLAS's speed on these shapes, not on a square)."""
    steps = X.shape[0] // batch
    Ws = [m.W.data for m in model_np.layers if isinstance(m, nb.Linear)]
    rng = np.random.default_rng(1)
    hs = [X[:batch]] + [rng.standard_normal((batch, W.shape[0]), dtype=np.float32) for W in Ws[:-1]]
    ds = [rng.standard_normal((batch, W.shape[0]), dtype=np.float32) for W in Ws]
    Ws = [W.astype(np.float32) for W in Ws]
    if lib == "torch":
        import torch

        dt = torch.bfloat16 if precision == "bf16-autocast" else torch.float32
        Ws, hs, ds = ([torch.as_tensor(a, device=device).to(dt) for a in arrs] for arrs in (Ws, hs, ds))
    layers = list(zip(Ws, hs, ds, strict=True))

    def run():
        for _ in range(steps):
            for i, (W, h, d) in enumerate(layers):
                h @ W.T                                  # forward
                d.T @ h                                  # weight gradient
                if i:
                    d @ W                                # input gradient (not for the first layer)

    return run, lambda: None


# --------------------------------------------------------------------------
# Peak of the machine's matrix multiply
# --------------------------------------------------------------------------

def peak_rows(device: str, quick: bool):
    """Large square products to time beside the training steps: ``(rows, flops per call, n)``.

    On the CPU NumPy's and torch's float32 (their BLAS differ); on a GPU torch's
    float32 and bfloat16, each call a burst of products so that launch costs vanish.
    """
    rng = np.random.default_rng(0)
    rows = {}
    if device == "cpu":
        n, inner = (1024, 1) if quick else (2048, 1)
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        rows["numpy float32"] = lambda: a @ b
        try:
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            rows["torch float32"] = lambda: ta @ tb
        except ImportError:
            pass
    else:
        import torch

        n, inner = (4096, 5) if quick else (8192, 10)
        a, b = (torch.randn(n, n, device=device) for _ in range(2))
        a16, b16 = a.bfloat16(), b.bfloat16()

        def many(x, z):
            def f():
                for _ in range(inner):
                    x @ z
            return f
        rows["torch float32"] = many(a, b)
        rows["torch bfloat16"] = many(a16, b16)
    return rows, 2 * n**3 * inner, n


def matmul_peak(device: str, quick: bool) -> dict:
    """GFLOP/s of a large square product, median of interleaved runs, per library and dtype."""
    rows, flops, n = peak_rows(device, quick)
    sync = None
    if device.startswith("cuda"):
        import torch

        sync = torch.cuda.synchronize
    stats, _ = _common.interleaved(rows, 3 if quick else 5, sync)
    out = {name: flops / s["median"] / 1e9 for name, s in stats.items()}
    out["n"] = n
    return out


# --------------------------------------------------------------------------
# One configuration: every contender, interleaved
# --------------------------------------------------------------------------

def contenders(device):
    if device == "cpu":
        names = ["nnbook numpy", "nnbook torch", "torch.nn"]
        precisions = ["float32"]
    else:
        names = ["nnbook torch", "torch.nn"]
        precisions = ["float32", "bf16-autocast"]
    return names, precisions


def steps_for(flops, device, peak_gflops, quick, batch):
    """Steps per timed run: about a target time, at least 3, bounded by the data's size."""
    target = (0.04 if quick else 0.15) if device == "cpu" else (0.02 if quick else 0.03)
    overhead = 4e-4 if device == "cpu" else 6e-4
    est = flops / (0.6 * peak_gflops * 1e9) + overhead
    most = max(3, int(2**28 // (batch * SIZES[0] * 4)))      # at most 256 MiB of data
    return int(min(max(3, math.ceil(target / est)), 400, most))


def build(sizes, batch, steps, device, precision, names):
    """The contenders' runners for one configuration, all from the same weights and data."""
    rng = np.random.default_rng(0)
    model_np = nb.mlp(list(sizes), "relu", rng=rng)
    distinct = min(steps, 8)                        # a few batches, repeated: cheap to draw
    X = np.tile(rng.standard_normal((distinct * batch, sizes[0]), dtype=np.float32),
                (math.ceil(steps / distinct), 1))[:steps * batch]
    y = np.tile(rng.integers(0, sizes[-1], size=distinct * batch),
                math.ceil(steps / distinct))[:steps * batch]
    runners = {}
    for name in names:
        if name == "nnbook numpy":
            runners[name] = nnbook_runner(model_np, X, y, batch, nb.Backend("numpy", dtype="float32"))
        elif name == "nnbook torch":
            runners[name] = nnbook_runner(model_np, X, y, batch,
                                          nb.Backend("torch", device, "float32"), precision)
        elif name == "torch.nn":
            runners[name] = torch_runner(model_np, X, y, batch, device, precision)
        else:                                            # "GEMMs only, numpy" / "GEMMs only, torch"
            runners[name] = gemm_runner(model_np, X, batch, name.rpartition(" ")[2], device, precision)
    return runners, X.shape[0]


def measure(sizes, batch, device, precision, names, peak_gflops, repeats, quick, peaks=None):
    """Time every contender on one configuration, interleaved; ``peaks`` (from
    :func:`peak_rows`) adds the matmul peak to the same rounds and measures against it."""
    import_torch = any("torch" in n for n in names)
    if import_torch:
        import torch
    flops = gemm_flops(sizes, batch)
    steps = steps_for(flops, device, peak_gflops, quick, batch)
    runners, n = build(sizes, batch, steps, device, precision, names)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    rows = {k: r[0] for k, r in runners.items()}
    if peaks:
        prow, pflops, pn = peaks
        rows.update({f"peak {k}": f for k, f in prow.items()})
    stats, first = _common.interleaved(rows, repeats, sync)
    peak_here = {}
    want = "bfloat16" if precision == "bf16-autocast" else "float32"
    if peaks:
        peak_here = {k.removeprefix("peak "): pflops / stats.pop(k)["median"] / 1e9
                     for k in list(stats) if k.startswith("peak ")}
        peak_gflops = max(v for k, v in peak_here.items() if k.endswith(want))
        peak_here["n"] = pn
    out = {"sizes": list(sizes), "batch": batch, "precision": precision, "gflop_per_step": flops / 1e9,
           "steps_per_run": steps, "peak_gflops": peak_gflops, "contenders": {}}
    if peak_here:
        out["matmul_peak_gflops"] = peak_here
    for name, s in stats.items():
        step = s["median"] / steps
        row = {"step_s": step, "step_min_s": s["min"] / steps, "step_max_s": s["max"] / steps,
               "gflops": flops / step / 1e9, "frac_peak": flops / step / 1e9 / peak_gflops,
               "first_loss": None if first[name] is None else float(first[name]) / n}
        own = peak_here.get(("numpy " if "numpy" in name else "torch ") + want) if peaks else None
        if own:
            row["frac_own_peak"] = flops / step / 1e9 / own          # its own library's GEMM peak
        if device.startswith("cuda") and not name.startswith("GEMMs"):
            row["peak_mem_bytes"] = peak_memory(runners[name], device)
        out["contenders"][name] = row
    return out


def memory_pass(configs, device, names):
    """Peak memory of a step for each configuration, in this process (see :func:`cpu_memory`)."""
    out = []
    for sizes, batch, prec in configs:
        runners, _ = build(sizes, batch, 2, device, prec, names)
        row = {}
        for name, runner in runners.items():
            runner[0]()                                       # warm-up
            row[name] = peak_memory(runner, device)
        out.append(row)
    return out


def cpu_memory(configs, names):
    """The CPU's peak memory per step, measured in a child process.

    The child allocates every large array with mmap (a fixed ``MALLOC_MMAP_THRESHOLD_``),
    so that what a step takes shows in the resident size; the timings are taken
    here with the allocator's default (that setting slows every temporary down).
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="262144")
    cmd = [sys.executable, __file__, "--memory-child", json.dumps([configs, names])]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def peak_memory(runner, device):
    """Peak memory one run adds above the parameters, velocities and data (bytes)."""
    run, forget = runner
    forget()
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return _common.peak_rss_above(run)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda (cuda:0...)")
    ap.add_argument("--out", type=Path, default=_common.ROOT / "benchmarks" / "raw")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sweep points (a smoke test)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds after which the remaining sweep points are skipped "
                         "(default: 85 on a GPU, none on the CPU)")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU: BLAS/OpenMP/torch threads for every path (default: the libraries' own)")
    ap.add_argument("--large-only", action="store_true", help="the large MLP, no sweep")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    _common.limit_threads(args.threads)
    if args.memory_child:
        configs, names = json.loads(args.memory_child)
        print(json.dumps(memory_pass([tuple(c) for c in configs], "cpu", names)))
        return
    t0 = time.perf_counter()
    device = args.device
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device here")
    info = _common.machine(device)
    names, precisions = contenders(device)
    if device.startswith("cuda"):
        import torch

        info["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    elif names[1:]:
        try:
            import torch
        except ImportError:
            names = names[:1]
    print(f"{info['cpu']}, {info.get('gpu', 'no GPU')}, load {info['load_average_start']}", flush=True)
    peak = matmul_peak(device, args.quick)
    peaks = {"float32": max(v for k, v in peak.items() if k.endswith("float32")),
             "bf16-autocast": peak.get("torch bfloat16")}
    print("matmul peak (GFLOP/s):", {k: round(v, 1) for k, v in peak.items()}, flush=True)
    reps = 3 if args.quick else 9
    large = {}
    for prec in precisions:
        prows, pflops, pn = peak_rows(device, args.quick)
        want = "bfloat16" if prec == "bf16-autocast" else "float32"
        prows = {k: f for k, f in prows.items() if k.endswith(want)}
        gemms = [f"GEMMs only, {lib}" for lib in ("numpy", "torch")
                 if any(lib in n for n in names) and (lib == "torch" or prec == "float32")]
        large[prec] = measure(SIZES, BATCH, device, prec, names + gemms, peaks[prec], reps, args.quick,
                              peaks=(prows, pflops, pn))
        peaks[prec] = large[prec]["peak_gflops"]      # the peak measured beside the steps
        print(f"  peak {prec}: {large[prec]['matmul_peak_gflops']}", flush=True)
        for name, r in large[prec]["contenders"].items():
            print(f"  large {prec:14s} {name:14s} {r['step_s'] * 1e3:8.2f} ms/step "
                  f"{r['gflops']:9.1f} GFLOP/s {100 * r['frac_peak']:5.1f} % of peak", flush=True)
    widths = () if args.large_only else (64, 512, 2048) if args.quick else WIDTHS
    batches = () if args.large_only else (16, 256, 2048) if args.quick else BATCHES
    sweep_reps = 3 if args.quick else 5
    sweep_precs = precisions[:1] if args.quick else precisions
    budget = args.budget if args.budget is not None else (85.0 if device.startswith("cuda") else None)
    sweep, skipped = {"width": [], "batch": []}, []
    points = [(prec, "width", w) for prec in sweep_precs for w in widths]
    points += [(prec, "batch", b) for prec in sweep_precs for b in batches]
    points.sort(key=lambda p: sweep_precs.index(p[0]))         # float32 first
    for prec, axis, v in points:
        if budget is not None and time.perf_counter() - t0 > budget:
            skipped.append([prec, axis, v])
            continue
        sizes, b = ((SIZES[0], v, v, SIZES[-1]), BATCH) if axis == "width" else (SIZES, v)
        point_peaks = None
        if device == "cpu":          # a shared CPU's speed drifts: its peak beside every point
            prows, pflops, pn = peak_rows(device, args.quick)
            point_peaks = ({k: f for k, f in prows.items() if k.endswith("float32")}, pflops, pn)
        r = measure(sizes, b, device, prec, names, peaks[prec], sweep_reps, args.quick, peaks=point_peaks)
        sweep[axis].append(r)
        print(f"  {axis} {v:5d} {prec}: " + ", ".join(
            f"{k} {c['step_s'] * 1e3:.2f} ms" for k, c in r["contenders"].items()), flush=True)
    if skipped:
        print(f"  out of time budget ({budget} s): skipped {skipped}", flush=True)
    if not device.startswith("cuda"):
        runs = [large[p] for p in large] + sweep["width"] + sweep["batch"]
        mem = cpu_memory([(r["sizes"], r["batch"], r["precision"]) for r in runs], names)
        for r, m in zip(runs, mem, strict=True):
            for name, v in m.items():
                r["contenders"][name]["peak_mem_bytes"] = v
    for r in large.values():
        for name in list(r["contenders"]):
            if name.startswith("GEMMs"):                # a reference, not a path: last in the table
                r["contenders"][name] = r["contenders"].pop(name)
    result = {"device": device, "quick": args.quick, "threads": args.threads, "machine": info,
              "matmul_peak_gflops": peak,
              "peak_used_gflops": peaks, "large": large, "sweep": sweep,
              "skipped": skipped}
    _common.finish(info, t0)
    suffix = f"_{args.threads}thread" if args.threads else ""
    _common.write_json(args.out / f"bench_{device.split(':')[0]}{suffix}.json", result)
    print(f"done in {info['wall_s']} s", flush=True)


if __name__ == "__main__":
    main()
