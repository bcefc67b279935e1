"""The book itself: every chapter from a fresh kernel (time, CPU time, peak memory).

Each chapter notebook is executed by nbclient in a child process, one at a time,
nothing written back; the child's resource usage (``wait4``) gives its wall
time, the CPU time (user + sys) of it and its kernel, and the peak resident
memory of the largest of them (the kernel). ``--suite`` also times ``make test``
and ``make book`` in a fresh clone of the repository (minutes: not part of
``make bench``), into ``DIR/bench_suite.json``.

Usage: python benchmarks/bench_book.py [--out DIR] [--chapters 01_perceptron ...] [--suite]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


def run_measured(cmd, cwd, env=None) -> dict:
    """Run ``cmd``; its wall time, CPU time and peak RSS (with its reaped descendants)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.decode(errors="replace")
    return {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
            "peak_rss_mib": round(ru.ru_maxrss / 1024, 1), "returncode": proc.returncode,
            "tail": text[-800:] if proc.returncode else "", "_output": text}


def pytest_summary(text: str) -> dict:
    """pytest's own wall time (its last line) and its slowest tests (``--durations``) in ``text``."""
    found = re.findall(r"=+ .*?(\d+) passed.*? in ([\d.]+)s", text)
    slowest = [{"seconds": float(sec), "when": when, "test": test}
               for sec, when, test in re.findall(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)", text, re.M)]
    return {"pytest_s": float(found[-1][1]) if found else None,
            "passed": int(found[-1][0]) if found else None, "slowest": slowest}


def chapters(names, python) -> dict:
    chap_dir = _common.ROOT / "chapters"
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    out = {}
    for name in names:
        nb_path = chap_dir / f"{name}.ipynb"
        r = run_measured([python, "-c", EXECUTE, str(nb_path), str(chap_dir)], chap_dir, env)
        r.pop("_output")
        out[name] = r
        print(f"  {name:28s} {r['wall_s']:6.1f} s wall {r['cpu_s']:6.1f} s CPU "
              f"{r['peak_rss_mib']:7.1f} MiB{'  FAILED' if r['returncode'] else ''}", flush=True)
    return out


def suite(python) -> dict:
    """``make test`` and ``make book`` in a fresh clone (its own venv, set-up included)."""
    res = {}
    with tempfile.TemporaryDirectory(prefix="nnbook-clone-") as tmp:
        clone = Path(tmp) / "nnbook"
        subprocess.run(["git", "clone", "--quiet", str(_common.ROOT), str(clone)], check=True)
        for target in ("test", "book"):
            r = run_measured(["make", target], clone)
            output = r.pop("_output")
            if target == "test":
                r |= pytest_summary(output)
            res[f"make {target}"] = r
            print(f"  make {target}: {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU, "
                  f"exit {r['returncode']}", flush=True)
        shutil.rmtree(clone / "_build", ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=_common.ROOT / "benchmarks" / "raw")
    ap.add_argument("--chapters", nargs="*", default=None, help="default: every chapter")
    ap.add_argument("--suite", action="store_true", help="only: time make test, make book in a fresh clone")
    args = ap.parse_args()
    t0 = time.perf_counter()
    info = _common.machine()
    if args.suite:
        result = {"machine": info, "suite": suite(sys.executable)}
        _common.finish(info, t0)
        _common.write_json(args.out / "bench_suite.json", result)
        return
    names = args.chapters or sorted(p.stem for p in (_common.ROOT / "chapters").glob("[0-9]*.ipynb"))
    print(f"chapters from a fresh kernel, load {info['load_average_start']}:", flush=True)
    result = {"machine": info, "chapters": chapters(names, sys.executable)}
    _common.finish(info, t0)
    _common.write_json(args.out / "bench_book.json", result)


if __name__ == "__main__":
    main()
