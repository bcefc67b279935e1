"""Speed of nnbook against hand-written NumPy, idiomatic torch.nn and scikit-learn.

The task: scikit-learn's digits (1,437 training images), MLP 64-128-10 with ReLU,
softmax cross-entropy, minibatches of 64, SGD with momentum 0.9, 30 epochs.
Every contender does the same math with the same permutations; the script
prints the median wall time of repeated runs and the ratios nnbook / baseline.

Usage: python benchmarks/bench_mlp.py [--repeats 7] [--dtype float64|float32] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time

import numpy as np

import nnbook as nb

EPOCHS, BATCH, LR, MU, HIDDEN = 30, 64, 0.05, 0.9, 128


def numpy_by_hand(X, y, W1, b1, W2, b2, seed, dtype):
    """The same training written out in plain NumPy: the baseline to match."""
    W1, b1, W2, b2 = (a.astype(dtype) for a in (W1, b1, W2, b2))
    X = X.astype(dtype)
    vel = [np.zeros_like(a) for a in (W1, b1, W2, b2)]
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(EPOCHS):
        perm = rng.permutation(n)
        Xs, ys = X[perm], y[perm]
        total = 0.0
        for s in range(0, n, BATCH):
            xb, yb = Xs[s:s + BATCH], ys[s:s + BATCH]
            m = xb.shape[0]
            z1 = xb @ W1.T + b1
            h = np.maximum(z1, 0)
            z2 = h @ W2.T + b2
            z2 = z2 - z2.max(axis=1, keepdims=True)
            p = np.exp(z2)
            sum_p = p.sum(axis=1, keepdims=True)
            rows = np.arange(m)
            total += np.log(sum_p).sum() - z2[rows, yb].sum()   # the recorded loss curve
            p /= sum_p
            p[rows, yb] -= 1
            d2 = p / m
            gW2, gb2 = d2.T @ h, d2.sum(axis=0)
            dh = (d2 @ W2) * (z1 > 0)
            gW1, gb1 = dh.T @ xb, dh.sum(axis=0)
            for a, g, v in zip((W1, b1, W2, b2), (gW1, gb1, gW2, gb2), vel, strict=True):
                v *= MU
                v += g
                a -= LR * v
        losses.append(total / n)
    return losses


def nnbook_run(X, y, model_np, seed, backend):
    model = copy.deepcopy(model_np).to(backend)
    Xb, yb = backend.asarray(X), backend.asarray(y)
    rng = np.random.default_rng(seed)
    opt = nb.SGD(model.parameters(), lr=LR, momentum=MU)
    return nb.fit(model, nb.CrossEntropyLoss(), opt, Xb, yb, epochs=EPOCHS,
                  batch_size=BATCH, rng=rng).loss


def torch_nn(X, y, model_np, seed, device, dtype):
    """An idiomatic torch.nn / torch.optim loop, autograd included."""
    import torch

    tdtype = getattr(torch, dtype)
    net = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for mine, theirs in zip([model_np[0], model_np[2]], [net[0], net[2]], strict=True):
            theirs.weight.copy_(torch.from_numpy(mine.W.data))
            theirs.bias.copy_(torch.from_numpy(mine.b.data))
    net = net.to(device=device, dtype=tdtype)
    Xt = torch.as_tensor(X, device=device, dtype=tdtype)
    yt = torch.as_tensor(y, device=device)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MU)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = Xt.shape[0]
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(EPOCHS):
        p = torch.as_tensor(rng.permutation(n), device=device)
        Xs, ys = Xt[p], yt[p]
        total = 0.0
        for s in range(0, n, BATCH):
            xb = Xs[s:s + BATCH]
            opt.zero_grad()
            loss = loss_fn(net(xb), ys[s:s + BATCH])
            loss.backward()
            opt.step()
            total = total + loss.detach() * xb.shape[0]   # the recorded loss curve
        losses.append(float(total) / n)
    return losses


def sklearn_mlp(X, y):
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="sgd", learning_rate_init=LR,
                        momentum=MU, nesterovs_momentum=False, batch_size=BATCH,
                        max_iter=EPOCHS, alpha=0.0, random_state=0, tol=0, n_iter_no_change=EPOCHS + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return clf


def median_times(rows, repeats):
    """Median wall time of each contender; the runs are interleaved (one of each per
    round) so that a slow phase of the machine hits every contender alike."""
    curves = {name: fn() for name, fn in rows.items()}  # warm-up, and the results to compare
    times = {name: [] for name in rows}
    for _ in range(repeats):
        for name, fn in rows.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}, curves


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    d = nb.data.digits(rng=rng)
    X, y = d.X_train, d.y_train
    model = nb.mlp([64, HIDDEN, 10], "relu", rng=rng)
    seed = 1
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    import torch

    rows = {
        "numpy by hand": lambda: numpy_by_hand(X, y, W1, b1, W2, b2, seed, args.dtype),
        "nnbook, numpy": lambda: nnbook_run(X, y, model, seed, nb.Backend("numpy", dtype=args.dtype)),
        "torch.nn": lambda: torch_nn(X, y, model, seed, args.device, args.dtype),
        "nnbook, torch": lambda: nnbook_run(X, y, model, seed, nb.Backend("torch", args.device, args.dtype)),
    }
    if args.device == "cpu" and args.dtype == "float64":
        rows["sklearn MLPClassifier"] = lambda: sklearn_mlp(X, y)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"numpy {np.__version__}, device={args.device}, dtype={args.dtype}, "
          f"median of {args.repeats}", flush=True)
    t, curves = median_times(rows, args.repeats)
    for name, sec in t.items():
        print(f"  {name:24s} {sec * 1e3:8.1f} ms")
    print(f"  ratio nnbook/numpy-by-hand  {t['nnbook, numpy'] / t['numpy by hand']:.2f}  (target <= 1.3)")
    print(f"  ratio nnbook-torch/torch.nn {t['nnbook, torch'] / t['torch.nn']:.2f}  (target <= 1.1)")
    ref = np.asarray(curves["numpy by hand"])
    gap = max(float(np.max(np.abs(np.asarray(c) - ref))) for name, c in curves.items()
              if not name.startswith("sklearn"))
    print(f"  same training: largest gap between the loss curves {gap:.1e}")


if __name__ == "__main__":
    main()
