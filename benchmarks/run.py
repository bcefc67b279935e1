"""``make bench``: every benchmark in turn, then the report.

1. digits (``bench_mlp.py``), with one thread for every library and with their default threads;
2. the large MLP and the width/batch sweep on the CPU with one thread per library,
   then the large MLP with the libraries' default threads (``bench_scale.py``);
3. cProfile's top lines of the benchmarked loops (``bench_profile.py``);
4. every chapter from a fresh kernel (``bench_book.py``);
5. ``report.py`` writes benchmarks/RESULTS.md and its plots.

The raw numbers go to benchmarks/raw/; ``--quick`` (a smoke test of a minute or
two: fewer repeats and sweep points, one chapter) writes them and its report to
build/bench-quick/ instead, leaving the committed results alone.

Usage: python benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import _common


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    here = _common.ROOT / "benchmarks"
    raw = _common.ROOT / "build" / "bench-quick" if args.quick else here / "raw"
    quick = ["--quick"] if args.quick else []
    steps = [
        ["bench_mlp.py", "--threads", "1", *quick],
        ["bench_mlp.py", *quick],
        ["bench_scale.py", "--threads", "1", *quick],
        ["bench_scale.py", "--large-only", *quick],
        ["bench_profile.py"],
        ["bench_book.py", *(["--chapters", "01_perceptron"] if args.quick else [])],
    ]
    t0 = time.perf_counter()
    for step in steps:
        print(f"== {' '.join(step)}", flush=True)
        subprocess.run([sys.executable, str(here / step[0]), *step[1:], "--out", str(raw)], check=True)
    report = ["--raw", str(raw)] + (["--out", str(raw / "RESULTS.md")] if args.quick else [])
    subprocess.run([sys.executable, str(here / "report.py"), *report], check=True)
    print(f"make bench: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
