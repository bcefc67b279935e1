"""Digits: nnbook against hand-written NumPy, idiomatic torch.nn and scikit-learn.

The task: scikit-learn's digits (1,437 training images), MLP 64-128-10 with ReLU,
softmax cross-entropy, minibatches of 64, SGD with momentum 0.9, 30 epochs.
Every contender but scikit-learn does the same math from the same initial
weights with the same permutations (scikit-learn draws its own); each one's
time is the median of repeated runs, interleaved, in float64 and in float32,
with its test accuracy. Writes ``DIR/bench_digits.json`` (default benchmarks/raw).

Usage: python benchmarks/bench_mlp.py [--repeats 9] [--quick] [--device cpu|cuda] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import _common
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

    def acc(Xt, yt):
        z = np.maximum(Xt.astype(dtype) @ W1.T + b1, 0) @ W2.T + b2
        return float(np.mean(np.argmax(z, axis=1) == yt))
    return losses, acc


def nnbook_run(X, y, model_np, seed, backend):
    model = copy.deepcopy(model_np).to(backend)
    Xb, yb = backend.asarray(X), backend.asarray(y)
    rng = np.random.default_rng(seed)
    opt = nb.SGD(model.parameters(), lr=LR, momentum=MU)
    hist = nb.fit(model, nb.CrossEntropyLoss(), opt, Xb, yb, epochs=EPOCHS, batch_size=BATCH, rng=rng)
    return hist.loss, lambda Xt, yt: nb.accuracy(nb.predict(model, backend.asarray(Xt)),
                                                 backend.asarray(yt))


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

    def acc(Xtest, ytest):
        with torch.no_grad():
            z = net(torch.as_tensor(Xtest, device=device, dtype=tdtype))
        return float((z.argmax(1).cpu().numpy() == ytest).mean())
    return losses, acc


def sklearn_mlp(X, y, dtype):
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="sgd", learning_rate_init=LR,
                        momentum=MU, nesterovs_momentum=False, batch_size=BATCH,
                        max_iter=EPOCHS, alpha=0.0, random_state=0, tol=0, n_iter_no_change=EPOCHS + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X.astype(dtype), y)
    return clf.loss_curve_, lambda Xt, yt: float(clf.score(Xt.astype(dtype), yt))


def run_dtype(dtype, device, repeats, X, y, Xt, yt, model, seed):
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    rows = {
        "numpy by hand": lambda: numpy_by_hand(X, y, W1, b1, W2, b2, seed, dtype),
        "nnbook numpy": lambda: nnbook_run(X, y, model, seed, nb.Backend("numpy", dtype=dtype)),
    }
    try:
        import torch  # noqa: F401

        rows["torch.nn"] = lambda: torch_nn(X, y, model, seed, device, dtype)
        rows["nnbook torch"] = lambda: nnbook_run(X, y, model, seed, nb.Backend("torch", device, dtype))
    except ImportError:
        pass
    try:
        import sklearn  # noqa: F401

        if device == "cpu":
            rows["sklearn MLPClassifier"] = lambda: sklearn_mlp(X, y, dtype)
    except ImportError:
        pass
    stats, first = _common.interleaved(rows, repeats)
    ref = np.asarray(first["numpy by hand"][0])
    out = {}
    for name, s in stats.items():
        losses, acc = first[name]
        out[name] = {**s, "test_accuracy": acc(Xt, yt), "final_loss": float(losses[-1])}
        if not name.startswith("sklearn"):
            out[name]["max_loss_gap_to_hand"] = float(np.max(np.abs(np.asarray(losses) - ref)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds (default 9, --quick 3)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=_common.ROOT / "benchmarks" / "raw")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP/torch threads for every contender (default: the libraries' own)")
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 9)
    t0 = time.perf_counter()
    _common.limit_threads(args.threads)
    info = _common.machine(args.device)
    rng = np.random.default_rng(0)
    d = nb.data.digits(rng=rng)
    model = nb.mlp([64, HIDDEN, 10], "relu", rng=rng)
    result = {"device": args.device, "repeats": repeats, "threads": args.threads, "quick": args.quick,
              "machine": info, "epochs": EPOCHS,
              "batch": BATCH, "sizes": [64, HIDDEN, 10], "dtypes": {}}
    for dtype in args.dtype:
        r = run_dtype(dtype, args.device, repeats, d.X_train, d.y_train, d.X_test, d.y_test, model, 1)
        result["dtypes"][dtype] = r
        hand = r["numpy by hand"]["median"]
        print(f"digits {dtype} (median of {repeats}, load {_common.load_average()}):")
        for name, s in r.items():
            print(f"  {name:22s} {s['median'] * 1e3:8.1f} ms  {s['median'] / hand:5.2f}x hand  "
                  f"test accuracy {s['test_accuracy']:.3f}", flush=True)
    _common.finish(info, t0)
    suffix = ("" if args.device == "cpu" else "_" + args.device) + (f"_{args.threads}thread" if args.threads
                                                                     else "")
    _common.write_json(args.out / f"bench_digits{suffix}.json", result)


if __name__ == "__main__":
    main()
