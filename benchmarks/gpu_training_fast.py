"""Measurements for chapter 10 ("Training fast") on one device, stored as JSON.

Usage::

    python3 benchmarks/gpu_training_fast.py --device cuda --out DIR
    python3 benchmarks/gpu_training_fast.py --device cpu --quick --out /tmp/x

It writes ``DIR/training_fast_<device>.json`` with the device's name, the torch
version, and:

* ``throughput``: training samples/s of a mid-size MLP against the batch size,
  in float32 and under bfloat16 autocast;
* ``matmul``: TFLOP/s of an n x n product for n = 4095 and 4096 (not / a
  multiple of 8), in float32, TF32 and bfloat16; ``matmul_more`` the same for
  4088, 4092 and 4104 (multiples of 8 but not powers of two, and of 4 only);
* ``mixed_precision``: time per step and final test accuracy of short training
  runs (a small and a large MLP) in float32 and under bfloat16 autocast (same
  seed, same data);
* ``dataloader``: samples/s of a training loop fed by a ``DataLoader`` whose
  dataset does per-sample work on the CPU, with 0 or more persistent workers and
  with and without pinned memory (an untimed first epoch starts the workers; the
  median of the next epochs);
* ``channels_last``: time of a convolution block's training step in the default
  (NCHW) and channels-last (NHWC) memory formats, under bfloat16 autocast.

Only torch, numpy and nnbook's ``throughput`` module are used (that module needs
nothing but NumPy, so it is loaded by path where nnbook's dependencies are
missing). The whole run takes about a minute on an NVIDIA H200; ``--quick``
shrinks every size for a CPU check in seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
try:
    from nnbook import throughput as tp
except ImportError:  # nnbook's own dependencies (array-api-compat) are absent
    spec = importlib.util.spec_from_file_location("nnbook_throughput", ROOT / "nnbook" / "throughput.py")
    tp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tp)


def sizes(quick: bool) -> dict:
    if quick:
        return dict(d_in=128, hidden=128, batches=[16, 64, 256], steps=2,
                    mm=[511, 512], mm_repeats=2, n_train=2048, n_test=512,
                    epochs=1, runs=[(128, 64), (256, 128)], loader_n=512,
                    loader_batch=128, workers=[0, 2], conv=(4, 16, 16),
                    mm_more=[504, 508, 520], loader_epochs=2)
    return dict(d_in=1024, hidden=4096, batches=[32, 128, 512, 2048, 8192, 32768],
                steps=10, mm=[4095, 4096], mm_repeats=20, n_train=262144, n_test=16384,
                epochs=4, runs=[(1024, 1024), (4096, 4096)], loader_n=32768,
                loader_batch=256, workers=[0, 4, 8], conv=(128, 128, 56),
                mm_more=[4088, 4092, 4104], loader_epochs=3)


def mlp(d_in, hidden, n_out, seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(d_in, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, n_out))


def teacher_data(n, d_in, seed, n_classes=10):
    """Inputs N(0, I) labelled by a fixed random two-layer teacher network (numpy rng)."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((d_in, 64)) / np.sqrt(d_in)
    W2 = rng.standard_normal((64, n_classes)) / 8.0
    X = rng.standard_normal((n, d_in)).astype(np.float32)
    y = np.argmax(np.tanh(X @ W1) @ W2, axis=1)
    return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))


def bench_throughput(cfg, device):
    X, y = teacher_data(max(cfg["batches"]), cfg["d_in"], 1)
    X, y = X.to(device), y.to(device)
    out = {"model": f"MLP {cfg['d_in']}-{cfg['hidden']}-{cfg['hidden']}-10",
           "batch_sizes": cfg["batches"], "float32": [], "bf16_autocast": []}
    for key, ac in (("float32", None), ("bf16_autocast", torch.bfloat16)):
        model = mlp(cfg["d_in"], cfg["hidden"], 10, 0).to(device)
        for b in cfg["batches"]:
            out[key].append(tp.train_throughput(model, X, y, b, steps=cfg["steps"], autocast=ac,
                                                device=device, repeats=3))
    return out


def bench_matmul(cfg, device):
    out = {"sizes": cfg["mm"]}
    for mode in ("float32", "tf32", "bfloat16"):
        out[mode] = [tp.matmul_tflops(n, mode, device=device, repeats=cfg["mm_repeats"])
                     for n in cfg["mm"]]
    return out


def bench_matmul_more(cfg, device):
    """Multiples of 8 that are not powers of two, and one of 4 that is not of 8.

    With ``matmul`` they separate "a multiple of 8" from "a power of two".
    """
    out = {"sizes": cfg["mm_more"]}
    for mode in ("float32", "tf32", "bfloat16"):
        out[mode] = [tp.matmul_tflops(n, mode, device=device, repeats=cfg["mm_repeats"])
                     for n in cfg["mm_more"]]
    return out


def one_run(cfg, device, batch, hidden, Xtr, ytr, Xte, yte):
    out = {"batch_size": batch, "hidden": hidden,
           "model": f"MLP {cfg['d_in']}-{hidden}-{hidden}-10"}
    dev_type = device.split(":")[0]
    for key, ac in (("float32", None), ("bf16_autocast", torch.bfloat16)):
        model = mlp(cfg["d_in"], hidden, 10, 3).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(4)
        step_times = []
        for _ in range(cfg["epochs"]):
            perm = torch.randperm(cfg["n_train"], generator=gen).to(device)
            tp.synchronize(device)
            start = time.perf_counter()
            steps = 0
            for s in range(0, cfg["n_train"], batch):
                idx = perm[s:s + batch]
                opt.zero_grad(set_to_none=True)
                with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=ac is not None):
                    loss = loss_fn(model(Xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                steps += 1
            tp.synchronize(device)
            step_times.append((time.perf_counter() - start) / steps)
        with torch.no_grad(), torch.autocast(dev_type, dtype=torch.bfloat16, enabled=ac is not None):
            acc = (model(Xte).argmax(1) == yte).float().mean().item()
        out[key] = {"step_ms": 1e3 * float(np.median(step_times[1:] or step_times)),
                    "test_accuracy": acc, "final_loss": loss.detach().float().item()}
    return out


def bench_mixed_precision(cfg, device):
    Xtr, ytr = teacher_data(cfg["n_train"] + cfg["n_test"], cfg["d_in"], 2)
    Xtr, ytr = Xtr.to(device), ytr.to(device)
    Xte, yte = Xtr[cfg["n_train"]:], ytr[cfg["n_train"]:]
    Xtr, ytr = Xtr[:cfg["n_train"]], ytr[:cfg["n_train"]]
    return {"task": f"{cfg['n_train']} training and {cfg['n_test']} test samples labelled by a random "
                    f"teacher network; SGD lr 0.05, momentum 0.9, {cfg['epochs']} epochs",
            "runs": [one_run(cfg, device, b, h, Xtr, ytr, Xte, yte) for b, h in cfg["runs"]]}


class AugmentedImages(torch.utils.data.Dataset):
    """uint8 32x32 RGB images, each read with CPU work: to float, random crop, flip, normalise."""

    def __init__(self, n, seed):
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
        self.labels = torch.randint(0, 10, (n,), generator=gen)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        x = self.images[i].float().div_(255.0)
        x = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
        dx, dy = (i * 7) % 9, (i * 5) % 9
        x = x[:, dy:dy + 32, dx:dx + 32]
        if i % 2:
            x = x.flip(2)
        x = (x - 0.5) / 0.25
        return x.contiguous(), self.labels[i]


def bench_dataloader(cfg, device):
    data = AugmentedImages(cfg["loader_n"], 5)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    on_gpu = device.startswith("cuda")
    rows = []
    for workers in cfg["workers"]:
        for pin in ((False, True) if on_gpu and workers else (False,)):
            loader = torch.utils.data.DataLoader(data, batch_size=cfg["loader_batch"], shuffle=False,
                                                 num_workers=workers, pin_memory=pin,
                                                 persistent_workers=workers > 0)
            times = []
            for epoch in range(1 + cfg["loader_epochs"]):  # epoch 0 starts the workers, untimed
                tp.synchronize(device)
                start = time.perf_counter()
                for xb, yb in loader:
                    xb, yb = xb.to(device, non_blocking=pin), yb.to(device, non_blocking=pin)
                    opt.zero_grad(set_to_none=True)
                    loss_fn(model(xb), yb).backward()
                    opt.step()
                tp.synchronize(device)
                if epoch:
                    times.append(time.perf_counter() - start)
            del loader                                  # ends the persistent workers
            seconds = float(np.median(times))
            rows.append({"num_workers": workers, "pin_memory": pin,
                         "samples_per_s": len(data) / seconds, "seconds": seconds,
                         "seconds_all": times})
    return {"dataset": f"{len(data)} 3x32x32 uint8 images, per-sample crop/flip/normalise on the CPU",
            "batch_size": cfg["loader_batch"], "runs": rows}


def bench_channels_last(cfg, device):
    n, c, hw = cfg["conv"]
    torch.manual_seed(6)
    out = {"shape": [n, c, hw, hw]}
    dev_type = device.split(":")[0]
    for key, fmt in (("contiguous_ms", torch.contiguous_format), ("channels_last_ms", torch.channels_last)):
        net = torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.BatchNorm2d(c),
                                  torch.nn.ReLU(), torch.nn.Conv2d(c, c, 3, padding=1)).to(device)
        net = net.to(memory_format=fmt)
        x = torch.randn(n, c, hw, hw, device=device).to(memory_format=fmt)

        def step(net=net, x=x):
            with torch.autocast(dev_type, dtype=torch.bfloat16):
                loss = net(x).float().square().mean()
            loss.backward()

        out[key] = 1e3 * float(np.median(tp.time_call(step, device=device, repeats=5, warmup=2)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="benchmarks/gpu")
    parser.add_argument("--quick", action="store_true", help="small sizes (a CPU check in seconds)")
    args = parser.parse_args(argv)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch.cuda.is_available() is False")
    cfg = sizes(args.quick)
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else (
        platform.processor() or platform.machine())
    result = {"device": device, "device_name": name, "torch": torch.__version__,
              "cuda": torch.version.cuda, "quick": args.quick, "cpu_count": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for key, fn in (("matmul", bench_matmul), ("matmul_more", bench_matmul_more),
                    ("throughput", bench_throughput),
                    ("mixed_precision", bench_mixed_precision), ("dataloader", bench_dataloader),
                    ("channels_last", bench_channels_last)):
        t = time.perf_counter()
        try:
            result[key] = fn(cfg, device)
        except Exception as exc:  # one failing part must not lose the others
            result[key] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"{key}: {time.perf_counter() - t:.1f} s", flush=True)
    result["seconds"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"training_fast_{device.split(':')[0]}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {path} in {result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
