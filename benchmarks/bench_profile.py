"""Where nnbook's time goes: cProfile's top lines for the benchmarked training loops.

Profiles (by internal time) the digits training (nnbook NumPy, float64 and
float32) and a few steps of the large MLP on nnbook's NumPy and PyTorch paths;
writes ``DIR/profile.json`` (default benchmarks/raw) with the top lines of each.

Usage: python benchmarks/bench_profile.py [--out DIR] [--lines 12] [--threads 1]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import pstats
import time
from pathlib import Path

import _common
import bench_mlp
import bench_scale
import numpy as np

import nnbook as nb


def top_lines(fn, lines: int) -> dict:
    fn()                                        # warm-up
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    fn()
    prof.disable()
    wall = time.perf_counter() - t
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf).sort_stats("tottime")
    st.print_stats(lines)
    text = buf.getvalue()
    start = text.find("   ncalls")
    body = text[start:].rstrip() if start >= 0 else text
    root = str(_common.ROOT) + "/"
    return {"wall_s_profiled": round(wall, 3), "top": body.replace(root, "")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=_common.ROOT / "benchmarks" / "raw")
    ap.add_argument("--lines", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP/torch threads (default 1: a busy machine's waits stay out)")
    args = ap.parse_args()
    _common.limit_threads(args.threads)
    t0 = time.perf_counter()
    info = _common.machine()
    rng = np.random.default_rng(0)
    d = nb.data.digits(rng=rng)
    model = nb.mlp([64, bench_mlp.HIDDEN, 10], "relu", rng=rng)
    profiles = {}
    for dtype in ("float64", "float32"):
        bk = nb.Backend("numpy", dtype=dtype)
        profiles[f"digits, nnbook numpy, {dtype} (one 30-epoch fit)"] = top_lines(
            lambda bk=bk: bench_mlp.nnbook_run(d.X_train, d.y_train, model, 1, bk), args.lines)
    names = ["nnbook numpy"]
    if importlib.util.find_spec("torch") is not None:
        names.append("nnbook torch")
    runners, _ = bench_scale.build(bench_scale.SIZES, bench_scale.BATCH, 4, "cpu", "float32", names)
    for name, (run, _) in runners.items():
        profiles[f"large MLP, {name}, float32 (4 steps)"] = top_lines(run, args.lines)
    for k, v in profiles.items():
        print(f"== {k}: {v['wall_s_profiled']} s under the profiler\n{v['top']}\n", flush=True)
    _common.finish(info, t0)
    _common.write_json(args.out / "profile.json", {"machine": info, "threads": args.threads,
                                                   "profiles": profiles})


if __name__ == "__main__":
    main()
