"""Write benchmarks/RESULTS.md and its plots from the raw numbers.

Reads ``benchmarks/raw/*.json`` (this machine: bench_digits*.json, bench_cpu.json,
bench_book.json, bench_suite.json, profile.json) and, where it exists,
``benchmarks/gpu/bench_cuda.json`` (the GPU run of ``bench_scale.py --device cuda``).
Every figure in the report comes from these files.

Usage: python benchmarks/report.py [--raw DIR] [--gpu FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import _common

HERE = _common.ROOT / "benchmarks"
PATHS = ("nnbook numpy", "nnbook torch", "torch.nn")
STYLE = {"nnbook numpy": ("C0", "o"), "nnbook torch": ("C1", "s"), "torch.nn": ("C2", "^"),
         "numpy by hand": ("C3", "v"), "sklearn MLPClassifier": ("C4", "d")}


def load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def ms(s):
    return f"{s * 1e3:.1f}" if s >= 0.01 else f"{s * 1e3:.2f}"


def pct(f):
    return f"{100 * f:.1f}" if f < 0.1 else f"{100 * f:.0f}"


def mib(b):
    return "n/a" if b is None else f"{b / 2**20:.1f}"


def machine_lines(m: dict) -> list[str]:
    pools = "; ".join(f"{p['internal_api']} {p.get('version') or ''} ({p.get('architecture') or '-'}, "
                      f"{p['num_threads']} threads, {p.get('filepath')})" for p in m.get("threadpools", []))
    out = [f"- CPU: {m['cpu']}, {m['cores']} cores",
           f"- BLAS and threading (threadpoolctl): {pools or 'threadpoolctl not installed'}",
           f"- NumPy {m['numpy']}, torch {m.get('torch', 'not installed')} "
           f"({m.get('torch_threads', '?')} threads, its own BLAS: {m.get('torch_blas', '?')}), "
           f"Python {m['python']}"]
    if m.get("gpu"):
        out.append(f"- GPU: {m['gpu']} ({m['gpu_memory_gib']} GiB), CUDA {m.get('cuda')}")
    return out


def load_note(m: dict) -> str:
    return (f"measured {m['date']} at commit {m.get('commit', '?')}, load average (1, 5, 15 min) "
            f"{m['load_average_start']} at the start and {m.get('load_average_end')} at the end, "
            f"{m.get('wall_s')} s")


# --------------------------------------------------------------------------
# 1. Digits
# --------------------------------------------------------------------------

def digits_section(runs: list[tuple[str, dict]]) -> list[str]:
    out = ["## 1. Digits: MLP 64-128-10, 30 epochs, batch 64, momentum 0.9", "",
           "Every contender but scikit-learn trains from the same initial weights with the same "
           "permutations (scikit-learn draws its own); time of the whole 30-epoch training, median "
           "of interleaved runs; ratios to the hand-written NumPy loop and to `torch.nn` of the "
           "same run. Target: nnbook NumPy ≤ 1.15× the hand loop in both dtypes.", ""]
    verdicts = []
    for label, d in runs:
        out += [f"**{label[0].upper() + label[1:]}** — {d['repeats']} rounds, {load_note(d['machine'])}.", "",
                "| dtype | contender | median (ms) | × hand loop | × torch.nn | test accuracy "
                "| largest gap of the loss curve to the hand loop |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for dtype, r in d["dtypes"].items():
            hand = r["numpy by hand"]["median"]
            tnn = r.get("torch.nn", {}).get("median")
            for name, s in r.items():
                gap = s.get("max_loss_gap_to_hand")
                out.append(f"| {dtype} | {name} | {ms(s['median'])} | {s['median'] / hand:.2f} | "
                           f"{s['median'] / tnn:.2f} | {s['test_accuracy']:.3f} | "
                           f"{'—' if gap is None else f'{gap:.1e}'} |" if tnn else
                           f"| {dtype} | {name} | {ms(s['median'])} | {s['median'] / hand:.2f} | — | "
                           f"{s['test_accuracy']:.3f} | {'—' if gap is None else f'{gap:.1e}'} |")
            ratio = r["nnbook numpy"]["median"] / hand
            verdicts.append((label, dtype, ratio))
        out.append("")
    if len(runs) > 1:
        out += ["With the libraries' default threads every small product (64 x 128) is split over "
                "both cores; on a machine whose cores are busy with other work each product waits "
                "for a core to free up, and those waits, not the code, set the times (compare the "
                "hand loop's time in the two tables). The one-thread table is the measurement of the "
                "code; the other shows what a reader gets by default on a busy machine.", ""]
        spread = []
        for label, d in runs:
            for dtype, r in d["dtypes"].items():
                h = r["numpy by hand"]
                spread.append(f"{label}, {dtype}: {ms(h['min'])} to {ms(h['max'])} ms")
        out += ["The hand loop's own runs, fastest to slowest, which shows how much of a ratio is "
                "noise: " + "; ".join(spread) + ".", ""]
    out += ["Target nnbook NumPy ≤ 1.15× the hand loop: " + "; ".join(
        f"{label}, {dt}: {ratio:.2f}× ({'met' if ratio <= 1.15 else 'missed'})"
        for label, dt, ratio in verdicts) + ".", ""]
    return out


# --------------------------------------------------------------------------
# 2. The large MLP and 3. how cost grows
# --------------------------------------------------------------------------

def large_table(d: dict, peer_cpu: list | None = None) -> list[str]:
    gpu = d["device"].startswith("cuda")
    unit, scale = ("TFLOP/s", 1e-3) if gpu else ("GFLOP/s", 1.0)
    fmt = ",.1f" if gpu else ",.0f"
    out = []
    for prec, r in d["large"].items():
        peak = r.get("matmul_peak_gflops", d["matmul_peak_gflops"])
        out.append(f"Matrix-multiply peak ({prec}), timed in the same interleaved rounds as the steps "
                   f"(square product of size {peak['n']}): "
                   + ", ".join(f"{k} {v * scale:{fmt}} {unit}" for k, v in peak.items() if k != "n")
                   + "; the machine's peak is the best of them.")
    out += ["", f"| precision | path | ms / step | {unit} | % of the machine's peak "
            "| % of its library's peak | × torch.nn | peak memory of a step (MiB) |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for prec, r in d["large"].items():
        tnn = r["contenders"].get("torch.nn", {}).get("step_s")
        for name, c in r["contenders"].items():
            own = c.get("frac_own_peak")
            out.append(f"| {prec} | {name} | {ms(c['step_s'])} | {c['gflops'] * scale:{fmt}} | "
                       f"{pct(c['frac_peak'])} % | {'—' if own is None else f'{pct(own)} %'} | "
                       f"{c['step_s'] / tnn:.2f} | {mib(c.get('peak_mem_bytes'))} |")
    over = [f"{name} ({prec})" for prec, r in d["large"].items() for name, c in r["contenders"].items()
            if (c.get("frac_own_peak") or 0) > 1.0]
    if over:
        out += ["", "**Caution**: " + ", ".join(over) + " ran faster than its own library's square "
                "product timed in the same rounds: either the machine's speed changed during the run "
                "(other work came and went), or that product is not the library's fastest GEMM path "
                "here (PyTorch can reach a GEMM through MKL or oneDNN). Read this table's percentages "
                "with that caution."]
    r0 = next(iter(d["large"].values()))
    out += ["", f"One step does {r0['gflop_per_step']:.2f} GFLOP of GEMMs (forward, weight gradients, "
            "and input gradients of every layer but the first); memory is what a step adds above the "
            "parameters, velocities and data (gradients and activations included)."]
    cpus = [c for c in peer_cpu or [] if c]
    steps = [c["large"]["float32"]["contenders"]["nnbook numpy"]["step_s"] for c in cpus
             if "nnbook numpy" in c["large"]["float32"]["contenders"]]
    if steps:
        best = min(steps)
        out += ["", "Against the NumPy path on this repository's CPU (float32, the faster of its two "
                f"runs in part 2: {ms(best)} ms / step on {cpus[0]['machine']['cpu']}, "
                f"{cpus[0]['machine']['cores']} cores): " + ", ".join(
                    f"{prec} {name} {best / c['step_s']:,.0f}× faster"
                    for prec, r in d["large"].items() for name, c in r["contenders"].items()
                    if name in PATHS) + "."]
    return [*out, ""]


def large_section(d: dict, one: dict | None = None) -> list[str]:
    out = ["## 2. A large MLP: 784-1024-1024-10, float32, batch 512", "",
           "Time per training step (forward, cross-entropy, backward, SGD with momentum), median of "
           f"interleaved runs of {d['large']['float32']['steps_per_run']} steps each, with the "
           "libraries' default threads; "
           f"{load_note(d['machine'])}. The rows *GEMMs only* time the same matrix products alone, "
           "same shapes, on each library: the ceiling of any implementation there.",
           ""]
    out += large_table(d)
    if one:
        out += [f"**With one thread for every library** (robust to a loaded machine; the peak is then "
                f"one core's): {load_note(one['machine'])}.", ""]
        out += large_table(one)
    lines = []
    for label, data in (("default threads", d), ("one thread", one)):
        if not data:
            continue
        c = data["large"]["float32"]["contenders"]
        verdicts = []
        for name in ("nnbook numpy", "nnbook torch"):
            if name in c:
                f = c[name]["frac_peak"]
                verdicts.append(f"{name} at {100 * f:.0f} % of peak ({'met' if f >= 0.8 else 'missed'})")
        if "nnbook torch" in c and "torch.nn" in c:
            r = c["nnbook torch"]["step_s"] / c["torch.nn"]["step_s"]
            verdicts.append(f"nnbook torch {r:.2f}× torch.nn ({'met' if r <= 1.05 else 'missed'})")
        lines.append(f"- {label}: " + "; ".join(verdicts) + ".")
        lines += ceiling_notes(label, c)
    out += ["Targets (≥ 80 % of peak on both nnbook paths, nnbook torch ≤ 1.05× torch.nn):", "",
            *lines, ""]
    return out


def ceiling_notes(label: str, c: dict) -> list[str]:
    """For each nnbook path under 80 % of the peak: how close its own library's products and
    (for PyTorch) torch.nn come, measured in the same rounds."""
    notes = []
    for lib in ("numpy", "torch"):
        mine, gemms = c.get(f"nnbook {lib}"), c.get(f"GEMMs only, {lib}")
        if not mine or not gemms or mine["frac_peak"] >= 0.8:
            continue
        text = (f"  - nnbook {lib} ({label}) is at {pct(mine['frac_peak'])} % of the machine's peak "
                f"and {pct(mine.get('frac_own_peak', mine['frac_peak']))} % of its own library's; "
                f"{lib}'s products of these shapes alone (*GEMMs only*) reach "
                f"{pct(gemms['frac_peak'])} %")
        tnn = c.get("torch.nn")
        if lib == "torch" and tnn:
            text += (f", and torch.nn's whole step {pct(tnn['frac_peak'])} %"
                     + (": no PyTorch training step reaches 80 % on this machine, the ceiling is the "
                        "library's GEMMs with the element-wise work of a step around them"
                        if tnn["frac_peak"] < 0.8 else ""))
        notes.append(text + ".")
    return notes


def crossover(points, key, name, peer, limit):
    """The smallest sweep value from which ``name`` stays within ``limit`` of ``peer``."""
    ok = None
    for r in sorted(points, key=lambda r: r[key]):
        c = r["contenders"]
        if name in c and peer in c:
            good = c[name]["step_s"] <= limit * c[peer]["step_s"]
            ok = (r[key] if ok is None else ok) if good else None
    return ok


def gemm_share_from(points, key, name, peak, share=0.5):
    ok = None
    for r in sorted(points, key=lambda r: r[key]):
        c = r["contenders"].get(name)
        if c is None:
            continue
        good = r["gflop_per_step"] / r.get("peak_gflops", peak) / c["step_s"] >= share
        ok = (r[key] if ok is None else ok) if good else None
    return ok


def sweep_section(d: dict, png: str, title: str) -> list[str]:
    sw = d["sweep"]
    for r in sw["width"]:
        r["width"] = r["sizes"][1]
    out = [title, "",
           f"![time and memory per training step]({png})", "",
           "Time per step (log-log) and the peak memory a step adds, as the two hidden widths grow "
           "(batch 512) and as the batch grows (width 1024). The dotted line is the GEMMs' time at "
           "the matmul peak (on the CPU timed beside each point): where a path runs along it, the "
           "GEMMs dominate; where it flattens above it, the fixed cost of a step (Python, dispatch, "
           f"small element-wise operations) does. It was {load_note(d['machine'])}.", ""]
    precs = sorted({r["precision"] for r in sw["width"] + sw["batch"]},
                   key=lambda p: p != "float32")
    for prec in precs:
        peak = d["peak_used_gflops"][prec]
        for axis, key in (("width", "width"), ("batch", "batch")):
            pts = [r for r in sw[axis] if r["precision"] == prec]
            if not pts:
                continue
            names = [n for n in PATHS if n in pts[0]["contenders"]]
            out += [f"| {key} ({prec}) | " + " | ".join(f"{n} ms / step" for n in names)
                    + " | " + " | ".join(f"{n} % of peak" for n in names)
                    + " | " + " | ".join(f"{n} MiB" for n in names) + " |",
                    "|---:|" + "---:|" * (3 * len(names))]
            for r in sorted(pts, key=lambda r: r[key]):
                c = r["contenders"]
                out.append(f"| {r[key]} | " + " | ".join(ms(c[n]["step_s"]) for n in names) + " | "
                           + " | ".join(pct(c[n]["frac_peak"]) for n in names) + " | "
                           + " | ".join(mib(c[n].get("peak_mem_bytes")) for n in names) + " |")
            out.append("")
            lines = []
            for name in names:
                g = gemm_share_from(pts, key, name, peak)
                lines.append(f"{name}: the GEMMs take over half of the step from {key} {g} on"
                             if g is not None else f"{name}: the GEMMs never take half of the step")
            if "nnbook torch" in names and "torch.nn" in names:
                x = crossover(pts, key, "nnbook torch", "torch.nn", 1.10)
                lines.append("nnbook torch at most 1.10× torch.nn's time " +
                             (f"from {key} {x} on" if x is not None else f"not at the largest {key}"))
            if "nnbook numpy" in names and "torch.nn" in names:
                x = crossover(pts, key, "nnbook numpy", "torch.nn", 1.10)
                lines.append("nnbook numpy at most 1.10× torch.nn's time " +
                             (f"from {key} {x} on" if x is not None else f"not at the largest {key}"))
            out += [f"Growing the {key} ({prec}): " + "; ".join(lines) + ".", ""]
    if d.get("skipped"):
        out += [f"Skipped for lack of time: {d['skipped']}.", ""]
    return out


def plot(d: dict, path: Path, label: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sw = d["sweep"]
    precs = sorted({r["precision"] for r in sw["width"] + sw["batch"]}, key=lambda p: p != "float32")
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    for col, axis in enumerate(("width", "batch")):
        ax_t, ax_m = axes[0, col], axes[1, col]
        for prec in precs:
            pts = sorted((r for r in sw[axis] if r["precision"] == prec),
                         key=lambda r: r["sizes"][1] if axis == "width" else r["batch"])
            if not pts:
                continue
            xs = [r["sizes"][1] if axis == "width" else r["batch"] for r in pts]
            ls = "-" if prec == "float32" else "--"
            for name in PATHS:
                if name not in pts[0]["contenders"]:
                    continue
                color, marker = STYLE[name]
                lab = f"{name} ({prec})" if len(precs) > 1 else name
                ax_t.plot(xs, [r["contenders"][name]["step_s"] * 1e3 for r in pts], ls, color=color,
                          marker=marker, label=lab)
                mem = [r["contenders"][name].get("peak_mem_bytes") for r in pts]
                if all(m is not None for m in mem):        # 0: below what the resident size resolves
                    ax_m.plot(xs, [m / 2**20 if m > 0 else float("nan") for m in mem], ls, color=color,
                              marker=marker, label=lab)
            peak = d["peak_used_gflops"][prec]
            ax_t.plot(xs, [r["gflop_per_step"] / r.get("peak_gflops", peak) * 1e3 for r in pts], ":",
                      color="k" if prec == "float32" else "0.55",
                      label=f"GEMMs at the matmul peak ({prec})")
        for ax in (ax_t, ax_m):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xlabel("hidden width (batch 512)" if axis == "width" else "batch size (width 1024)")
        ax_t.set_ylabel("time per training step (ms)")
        ax_m.set_ylabel("peak memory a step adds (MiB)")
        ax_t.legend(fontsize=7)
    fig.suptitle(f"784-W-W-10 MLP, one SGD step: {label}")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# 4. The book
# --------------------------------------------------------------------------

def book_section(book: dict | None, suite: dict | None) -> list[str]:
    out = ["## 4. The book itself", ""]
    if book:
        out += ["Each chapter executed from a fresh kernel (nbclient in a child process, one at a time); "
                f"CPU time is user + sys of the process and its kernel. It was {load_note(book['machine'])}. "
                "Targets: < 30 s and < 2 GiB per chapter (the 30 s judged on CPU time on a loaded machine).",
                "", "| chapter | wall (s) | CPU (s) | peak memory (MiB) | verdict |",
                "|---|---:|---:|---:|---|"]
        for name, r in book["chapters"].items():
            ok = r["returncode"] == 0 and r["cpu_s"] < 30 and r["peak_rss_mib"] < 2048
            verdict = "FAILED to run" if r["returncode"] else ("met" if ok else "missed")
            out.append(f"| {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mib']:.0f} "
                       f"| {verdict} |")
        cpu = sum(r["cpu_s"] for r in book["chapters"].values())
        out += ["", f"The chapters together take {cpu:.0f} s of CPU time: spread over two cores, "
                f"at least {cpu / 2:.0f} s of `make test`'s wall time (nbval runs each chapter once more, "
                "besides the unit tests and the book build)."]
        out.append("")
    else:
        out += ["No chapter timings yet (`python benchmarks/bench_book.py`).", ""]
    if suite:
        out += [f"`make test` and `make book` in a fresh clone ({load_note(suite['machine'])}):", "",
                "| target | wall (s) | CPU (s) | exit |", "|---|---:|---:|---:|"]
        for name, r in suite["suite"].items():
            out.append(f"| {name} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['returncode']} |")
        out += ["", "Target: `make test` < 6 minutes (set-up included)."]
        t = suite["suite"].get("make test", {})
        if t.get("pytest_s"):
            out += ["", f"Of `make test`'s {t['wall_s']:.0f} s, pytest took {t['pytest_s']:.0f} s "
                    f"({t['passed']} tests passed); the rest is the set-up (creating `.venv`, "
                    "installing `requirements.txt`, lint). Its slowest tests (pytest `--durations`; "
                    "a chapter under nbval is one test per cell, so a slow chapter shows as its slowest "
                    "cells):", "", "| seconds | phase | test |", "|---:|---|---|"]
            out += [f"| {d['seconds']:.1f} | {d['when']} | `{d['test']}` |" for d in t["slowest"]]
    else:
        out += ["`make test` and `make book` wall times are not part of `make bench` (they take minutes "
                "each): `python benchmarks/bench_book.py --suite` times both in a fresh clone and "
                "writes `raw/bench_suite.json`, which this report then includes. "
                "No such run is recorded yet."]
    return [*out, ""]


# --------------------------------------------------------------------------
# GPU and profiles
# --------------------------------------------------------------------------

def gpu_section(gpu: dict | None, cpu: list | None) -> list[str]:
    out = ["## The GPU path", ""]
    if not gpu:
        return [*out, "No GPU figure exists yet: no run of `python benchmarks/bench_scale.py "
                "--device cuda --out benchmarks/gpu` has been committed "
                "(`benchmarks/gpu/bench_cuda.json`).", ""]
    m = gpu["machine"]
    out += [f"On **{m.get('gpu', 'a CUDA GPU')}**, {load_note(m)}; TF32 for float32 matmuls "
            f"{'on' if gpu['machine'].get('tf32_matmul') or gpu.get('tf32_matmul') else 'off'} "
            "(PyTorch's default). bf16-autocast: `torch.autocast('cuda', torch.bfloat16)` around the "
            "training steps, parameters in float32, on both sides. In nnbook's path autocast runs its "
            "GEMMs in bfloat16 and the bias addition promotes each layer's output back to float32 "
            "(the bias is float32), so activations, the loss and the update stay float32; `torch.nn` "
            "keeps bfloat16 activations.", "", *machine_lines(m), ""]
    out += large_table(gpu, cpu)
    fp = [r for r in gpu["sweep"]["width"] + gpu["sweep"]["batch"] if r["precision"] == "float32"]
    host = [r for r in fp if all(r["gflop_per_step"] / r["peak_gflops"] / c["step_s"] < 0.5
                                 for c in r["contenders"].values())]
    if host:
        t = [c["step_s"] for r in host for c in r["contenders"].values()]
        out += [f"In float32, {len(host)} of the {len(fp)} sweep points below spend less than half of "
                f"their step in the GEMMs; their steps all take {ms(min(t))} to {ms(max(t))} ms, "
                "whatever their size: the host (Python, dispatch, kernel launches) sets the pace, not "
                "the GPU's arithmetic. "
                "There nnbook's few, plain operations cost less than autograd's bookkeeping.", ""]
    out += sweep_section(gpu, "scaling_cuda.png", "### How cost grows on the GPU")
    return out


def profile_section(prof: dict | None) -> list[str]:
    out = ["## Profiles", ""]
    if not prof:
        return [*out, "No profile recorded (`python benchmarks/bench_profile.py`).", ""]
    threads = prof.get("threads")
    how = f", {threads} thread{'s' if threads > 1 else ''} per library" if threads else ""
    out += [f"cProfile, sorted by internal time{how} ({load_note(prof['machine'])}):", ""]
    for name, p in prof["profiles"].items():
        out += [f"**{name}** ({p['wall_s_profiled']} s under the profiler)", "", "```", p["top"], "```", ""]
    return out


FIXES = """## What was changed, what was not, and why

- **One library's idle threads no longer slow the next contender** (`benchmarks/_common.py`).
  After a product, OpenBLAS's worker threads spin for about 0.1 s (2^28 cycles) before they sleep;
  on two cores, a PyTorch contender timed right after a NumPy one ran its OpenMP threads beside a
  spinning thread and lost a core. Measured on the large MLP, default threads, nnbook numpy timed
  first: nnbook torch 36.9 ms / step and torch.nn 28.8 ms when nnbook torch came second; with the
  two PyTorch contenders swapped, torch.nn was the slow one (39.4 ms against 32.9 ms). The
  interleaved rounds now sleep 0.2 s before each timed call whenever a library runs more than one
  thread: 31.1 ms against 30.3 ms. Earlier reports' default-thread figures for PyTorch (nnbook
  torch at 49 % of the peak, 1.82x torch.nn) were this artefact, not the code.
- **ReLU keeps its mask in the input's dtype** (`nnbook/layers.py`): `z * mask` and the backward's
  `dout * mask` multiplied a float array by a boolean one, which PyTorch's CPU path does in a
  converting loop: 1.98 ms for a 512 x 1024 float32 product on one thread, against 0.07 ms for two
  float arrays (NumPy: 0.12 ms against 0.06 ms). The mask is now `astype(z > 0, z.dtype)`, 1.0 and
  0.0, with the same values in both passes (-0.0 for a negative input, NaN kept; a unit test checks
  both on both libraries), at the price of a mask four (float32) or eight (float64) times larger.
- **The SGD update's velocity keeps the parameter's dtype** (`nnbook/optim.py`): the first
  momentum step copied the gradient with `grad + 0.0`, which under bfloat16 autocast made a
  bfloat16 velocity; it is now `xp.astype(grad, theta.dtype, copy=True)` (the same values in
  float32 and float64).
- **Cross-entropy with fewer temporaries and no dispatch layers** (`nnbook/losses.py`): the loss
  picks each row's true-class logit by indexing (`z[rows, y]`), and the gradient subtracts 1 at
  those entries of a copy of the softmax, as a hand-written loop does, instead of building a one-hot
  matrix every step (a comparison, a conversion, a product and a sum over all N x C entries); the
  softmax is divided in place into the exponentials' array; the gradient `(P - Y) / N` is one
  array; the reductions call `np.add.reduce` / `np.maximum.reduce` directly on NumPy arrays instead
  of `np.sum` / `np.max`, whose Python dispatch costs a microsecond or more a call. The gradient
  has the same values; the loss sums N picked logits instead of N x C products, mostly zeros, which
  can change its last bit. Every chapter's stored outputs reproduce under nbval.
- **Not changed, with the reason.** The code the chapters print with `show_source` is part of
  their stored outputs: `linear_forward`, `linear_backward`, `relu_backward`, `Sequential.backward`
  and `SGD.update` stay as they are. They are also where the remaining per-step work lies: the bias
  is added in a second pass after the product (PyTorch's `addmm` fuses it into the GEMM), the update
  makes one temporary for `lr * v` (PyTorch's `add_(v, alpha=-lr)` fuses it, and may round
  differently, being a multiply-add), `np.sum` in the Linear backward keeps its dispatch, and the
  ReLU stays out of place (an in-place ReLU would overwrite an input that a `Residual` or the caller
  still holds; `np.maximum` or `torch.relu` would give +0.0 where `z * [z > 0]` gives -0.0, and 0
  where it propagates a NaN).
- **What limits the large MLP**: the profiles show the GEMMs (`linear_forward`, `linear_backward`)
  taking nearly all of a step on both paths; the *GEMMs only* rows show how fast those same products
  can run on each library, the ceiling of any implementation there. The rest is memory-bound,
  element-wise work (bias, ReLU, the update), single-threaded in NumPy.
- **Memory**: a step of nnbook takes about twice the memory of a `torch.nn` step. Autograd frees
  each saved activation as soon as its backward has run and `torch.optim` updates in place; nnbook
  keeps every layer's cache (its input, the ReLU's mask, the softmax) until the next forward
  replaces it, so during a step the previous step's caches are still alive, and the update's
  `lr * v` temporary is as large as the largest weight matrix (4 MiB for 1024 x 1024 in float32).
  Both are the price of code that shows each cache and each update as one line.
- **Digits**: at batch 64 a step takes a fraction of a millisecond, so the gap to the hand loop is
  per-call overhead: every layer, loss and optimiser call adds a few Python frames (the model's loop
  over its layers, each module's method and its cache, the optimiser's loop over the parameters),
  where the hand loop is one flat block of NumPy calls.
- **`make test`'s wall time** (part 4; 8.1 min in a fresh clone before these changes, the figures
  in the table above are the run after them). The causes, found by timing the same suite in the
  repository's own `.venv` and in a fresh clone (4.4 min against 5.6 min for pytest alone):
  - **No byte-code cache.** The machines set `PYTHONDONTWRITEBYTECODE`, and the set-up installed
    without compiling, so every process compiled what it imported, every time: `import torch`
    took 3.0 s instead of 1.3 s, in each of the hundreds of kernels, workers and scripts the suite
    starts. The Makefile now unexports the variable, and the first import of each module writes its
    cache into `.venv` (only the modules used are compiled, which keeps the install fast).
  - **Long files started last.** Under `--dist loadfile` a test file is one unit of work, and xdist
    starts the files with the most tests first; the book's browser tests (170 s) and the grader's
    (97 s) could start late and then run alone. The longest files now start first
    (`tests/conftest.py`, `--no-loadscope-reorder`), and the short ones fill the end.
  - **Earlier steps:** the set-up installs the pinned environment without pip's resolver (about
    50 s where it took 90); the browser tests load each page once in light mode for all their checks
    (before: four light passes and a dark one over every page); the grading run stops its endless
    loop at 45 s instead of 90; the data-parallel module's own work is tested in-process, so only
    three tests start real processes; three pytest workers (`-n 3`) on two cores, so that one
    computes while another waits for a kernel, the browser or a process.
"""


def summary(digits, cpu, one, book, gpu, suite=None) -> list[str]:
    """The targets, each with its measured value and verdict."""
    out = ["## Targets at a glance", "",
           "| target | measured | verdict |", "|---|---|---|"]

    def row(target, value, ok):
        out.append(f"| {target} | {value} | {'met' if ok else 'missed'} |")

    def busy(d):        # more runnable work than cores: multi-threaded times measure the waits
        m = d["machine"]
        return not d.get("threads") and (m.get("load_average_start") or [0])[0] >= m["cores"]

    skipped = []
    for label, d in digits:
        if busy(d):
            skipped.append(f"digits with {label}")
            continue
        for dtype, r in d["dtypes"].items():
            x = r["nnbook numpy"]["median"] / r["numpy by hand"]["median"]
            row(f"digits, {dtype}, {label}: nnbook NumPy ≤ 1.15× the hand loop", f"{x:.2f}×", x <= 1.15)
    for label, d in (("one thread", one), ("default threads", cpu)):
        if not d:
            continue
        if busy(d):
            skipped.append(f"the large MLP with {label}")
            continue
        c = d["large"]["float32"]["contenders"]
        for name in ("nnbook numpy", "nnbook torch"):
            if name in c:
                f = c[name]["frac_peak"]
                row(f"large MLP, {label}: {name} ≥ 80 % of the matmul peak", f"{pct(f)} %", f >= 0.8)
        if "nnbook torch" in c and "torch.nn" in c:
            x = c["nnbook torch"]["step_s"] / c["torch.nn"]["step_s"]
            row(f"large MLP, {label}: nnbook torch ≤ 1.05× torch.nn", f"{x:.2f}×", x <= 1.05)
    if gpu:
        for prec, r in gpu["large"].items():
            c = r["contenders"]
            x = c["nnbook torch"]["step_s"] / c["torch.nn"]["step_s"]
            row(f"large MLP on {gpu['machine'].get('gpu', 'the GPU')}, {prec}: nnbook torch ≤ 1.05× "
                "torch.nn", f"{x:.2f}×", x <= 1.05)
    if book:
        ch = book["chapters"]
        worst = max(ch.values(), key=lambda r: r["cpu_s"])
        big = max(ch.values(), key=lambda r: r["peak_rss_mib"])
        row("every chapter < 30 s (CPU time, from a fresh kernel)", f"at most {worst['cpu_s']:.1f} s",
            all(r["cpu_s"] < 30 and not r["returncode"] for r in ch.values()))
        row("every chapter < 2 GiB", f"at most {big['peak_rss_mib']:.0f} MiB",
            all(r["peak_rss_mib"] < 2048 for r in ch.values()))
    test = (suite or {}).get("suite", {}).get("make test")
    if test and test["returncode"] == 0:
        row("`make test` < 6 min in a fresh clone", f"{test['wall_s'] / 60:.1f} min", test["wall_s"] < 360)
    else:
        out.append("| `make test` < 6 min in a fresh clone | not measured (see part 4) | — |")
    if skipped:
        out += ["", "Not judged here, the machine being busier than its cores (load average at the "
                "start ≥ the number of cores), where a multi-threaded time measures the waits for a "
                "free core: " + ", ".join(skipped) + " (their tables below)."]
    return [*out, "", "Every verdict comes with its load average below; the reasons for each miss are in "
            "*What was changed, what was not, and why* and in the profiles.", ""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=HERE / "raw")
    ap.add_argument("--gpu", type=Path, default=HERE / "gpu" / "bench_cuda.json")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()
    digits = [(label, d) for label, d in (
        ("one thread for every contender", load(args.raw / "bench_digits_1thread.json")),
        ("the libraries' default threads", load(args.raw / "bench_digits.json"))) if d]
    cpu = load(args.raw / "bench_cpu.json")
    gpu = load(args.gpu)
    book, suite = load(args.raw / "bench_book.json"), load(args.raw / "bench_suite.json")
    prof = load(args.raw / "profile.json")
    first = cpu or (digits[0][1] if digits else None)
    lines = ["# nnbook's speed and memory", "",
             "Written by `make bench` (`benchmarks/report.py` from the raw numbers in `benchmarks/raw/` "
             "and, for the GPU, `benchmarks/gpu/`); do not edit by hand. Each figure is a median of "
             "repeated runs, the contenders interleaved (one run of each per round) so that a slow "
             "phase of a shared machine hits them alike, and is reported as a ratio to its peer "
             "measured in the same run. The load average is given with every part: absolute times "
             "taken under load are slower and noisier than the ratios.", ""]
    if any(d.get("quick") for d in [cpu or {}, *(d for _, d in digits)]):
        lines += ["**This report comes from a `--quick` run** (fewer repeats and sweep points): a smoke "
                  "test, not a measurement.", ""]
    lines += summary(digits, cpu, load(args.raw / "bench_cpu_1thread.json"), book, gpu, suite)
    if first:
        lines += ["## The machine", "", *machine_lines(first["machine"]), ""]
    if digits:
        lines += digits_section(digits)
    if cpu:
        one = load(args.raw / "bench_cpu_1thread.json")
        lines += large_section(cpu, one)
        sw = one if one and one["sweep"]["width"] + one["sweep"]["batch"] else cpu
        if sw["sweep"]["width"] + sw["sweep"]["batch"]:
            m, threads = sw["machine"], sw.get("threads")
            how = (f"{threads} thread{'s' if threads > 1 else ''} per library" if threads
                   else "default threads")
            plot(sw, args.out.parent / "scaling_cpu.png", f"{m['cpu']}, {how}")
            lines += sweep_section(sw, "scaling_cpu.png", f"## 3. How cost grows (CPU, float32, {how})")
    if gpu:
        plot(gpu, args.out.parent / "scaling_cuda.png", gpu["machine"].get("gpu", "GPU"))
    lines += book_section(book, suite)
    lines += gpu_section(gpu, [cpu, load(args.raw / "bench_cpu_1thread.json")])
    lines += profile_section(prof)
    lines += [FIXES]
    args.out.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
