"""What every benchmark shares: the machine's description, interleaved timing, peak memory.

Only the standard library and NumPy at import time (torch, threadpoolctl and
scikit-learn are optional), so that the GPU part runs where nothing else is installed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:          # run as `python benchmarks/x.py` without installing nnbook
    sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def limit_threads(n: int | None):
    """Run every library on ``n`` threads: BLAS and OpenMP (threadpoolctl) and torch's own pool.

    ``None`` or 0 leaves the libraries' defaults.
    """
    if not n:
        return
    import threadpoolctl

    threadpoolctl.threadpool_limits(n)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(n)


def threads_in_use() -> int:
    """The most threads any BLAS/OpenMP pool (threadpoolctl) or torch's own pool runs."""
    import threadpoolctl

    n = max((p["num_threads"] for p in threadpoolctl.threadpool_info()), default=1)
    if "torch" in sys.modules:
        n = max(n, sys.modules["torch"].get_num_threads())
    return n


def machine(device: str = "cpu") -> dict:
    """CPU, cores, BLAS (as threadpoolctl reports it), versions, GPU, load, commit."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_start": load_average(),
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True, timeout=10).stdout.strip()
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        config = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=(\w+)", config)
        info["torch_blas"] = (blas.group(1) if blas else "?") + (
            ", oneDNN" if torch.backends.mkldnn.is_available() else "")
        if device.startswith("cuda") and torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_memory_gib"] = round(p.total_memory / 2**30, 1)
            info["cuda"] = torch.version.cuda
    except ImportError:
        pass
    try:
        import threadpoolctl

        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                   "threading_layer", "filepath")}
            for p in threadpoolctl.threadpool_info()]
        for p in info["threadpools"]:
            p["filepath"] = Path(p["filepath"] or "").name
    except ImportError:
        info["threadpools"] = []
    return info


def finish(info: dict, t0: float) -> dict:
    info["load_average_end"] = load_average()
    info["wall_s"] = round(time.perf_counter() - t0, 1)
    return info


def interleaved(rows: dict, repeats: int, sync=None, settle: float | None = None) -> dict:
    """Median and spread of each contender's wall time, the runs interleaved.

    ``rows`` maps a name to a zero-argument function (one timed unit). One warm-up
    call each, then ``repeats`` rounds of one call of every contender in turn, so
    that a slow phase of a shared machine hits every contender alike. ``sync``
    (e.g. ``torch.cuda.synchronize``) is called before and after each timed call.
    ``settle`` seconds of sleep before each timed call let the worker threads of the
    library that ran last go idle: OpenBLAS's threads spin for about 0.1 s after a
    product (2**28 cycles) and, on a machine with few cores, take a core from the next
    contender if it uses another library's threads (PyTorch's OpenMP pool). By default
    (``None``) 0.2 s on the CPU when a library runs more than one thread, else none.
    Returns ``({name: {"median": s, "min": s, "max": s, "times": [...]}}, first)``
    with ``first[name]`` what the warm-up call returned.
    """
    if settle is None:
        settle = 0.2 if sync is None and threads_in_use() > 1 else 0.0
    first = {name: fn() for name, fn in rows.items()}
    times = {name: [] for name in rows}
    for _ in range(repeats):
        for name, fn in rows.items():
            if settle:
                time.sleep(settle)
            if sync:
                sync()
            t = time.perf_counter()
            fn()
            if sync:
                sync()
            times[name].append(time.perf_counter() - t)
    return {name: {"median": statistics.median(ts), "min": min(ts), "max": max(ts),
                   "times": [round(x, 6) for x in ts]} for name, ts in times.items()}, first


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_rss_above(fn) -> int | None:
    """Peak resident memory (bytes) that ``fn()`` adds to the process, on Linux.

    Resets the kernel's high-water mark (``/proc/self/clear_refs``), runs ``fn``
    and reads ``VmHWM`` minus the resident size before. Large arrays are
    allocated by mmap (``MALLOC_MMAP_THRESHOLD_``, set by :func:`reexec_for_memory`),
    so memory freed by earlier runs does not hide what this one takes.
    Returns None where /proc is not available.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        base = _status("VmRSS")
    except (OSError, KeyError):
        return None
    fn()
    return max(_status("VmHWM") - base, 0)


def write_json(path: Path, data: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}", flush=True)
