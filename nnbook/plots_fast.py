"""Figures of the chapter on training fast (batch size, number formats, pipelines, data parallelism)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["batch_size_tradeoff", "ddp_curves", "float16_histogram", "linear_scaling",
           "matmul_bars", "pipeline_bars", "throughput_curves"]


def batch_size_tradeoff(batch_sizes, samples_per_s, epochs, seconds, target):
    """Three panels against the batch size: samples/s, epochs to ``target``, seconds to it."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.3))
    b = np.asarray(batch_sizes)
    panels = [(samples_per_s, "samples per CPU second", "(a) throughput"),
              (epochs, f"epochs to {target:.0%} validation accuracy", "(b) epochs needed"),
              (seconds, f"CPU seconds to {target:.0%}", "(c) time to the target")]
    for ax, (v, label, title) in zip(axes, panels, strict=True):
        ax.plot(b, v, "o-", color="C0")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size B")
        ax.set_ylabel(label)
        ax.set_title(title)
    best = int(np.argmin(seconds))
    axes[2].plot(b[best], seconds[best], "o", ms=11, mfc="none", color="C3", label="fastest")
    axes[2].legend()
    axes[1].set_ylim(0, None)
    axes[2].set_ylim(0, None)
    return fig


def linear_scaling(curves, spikes, target):
    """(a) validation accuracy per epoch of several runs; (b) per-step losses of full-batch runs."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for i, (label, acc) in enumerate(curves.items()):
        axes[0].plot(np.arange(1, len(acc) + 1), acc, "o-", ms=3, color=f"C{i}", label=label)
    axes[0].axhline(target, color="0.5", lw=0.8, ls="--")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("validation accuracy")
    axes[0].set_ylim(0, 1)
    axes[0].set_title("(a) linear scaling, B = 32 to 256")
    axes[0].legend(loc="lower right")
    for i, (label, loss) in enumerate(spikes.items()):
        axes[1].plot(np.arange(1, len(loss) + 1), loss, color=f"C{i + 4}", label=label)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step (= epoch: one batch holds the whole training set)")
    axes[1].set_ylabel("training loss")
    axes[1].set_title("(b) the whole set as one batch, 45 x the rate")
    axes[1].legend()
    return fig


def throughput_curves(panels):
    """Samples/s against the batch size, one panel per device: ``{title: {label: (B, values)}}``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.4), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items(), strict=True):
        for i, (label, (b, v)) in enumerate(series.items()):
            ax.plot(b, v, "o-", color=f"C{i}", label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size B")
        ax.set_ylabel("training samples per second")
        ax.set_title(title)
        ax.legend()
    return fig


def matmul_bars(panels):
    """TFLOP/s of n x n products: ``{title: {"sizes": [n1, n2], mode: [v1, v2], ...}}``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.4), squeeze=False)
    for ax, (title, d) in zip(axes[0], panels.items(), strict=True):
        modes = [k for k in d if k != "sizes"]
        x = np.arange(len(modes))
        for j, n in enumerate(d["sizes"]):
            vals = [d[m][j] for m in modes]
            bars = ax.bar(x + (j - 0.5) * 0.38, vals, 0.38, color=f"C{j}", label=f"n = {n}")
            ax.bar_label(bars, fmt="%.3g", fontsize=7)
        ax.set_xticks(x, modes)
        ax.set_ylabel("TFLOP/s")
        ax.set_title(title)
        ax.legend()
    return fig


def float16_histogram(log2_abs, scales, tiny, smallest_normal, largest):
    """Histogram of log2 |g| of gradients, shifted by each loss scale, with float16's limits.

    ``tiny`` is where values start to round to 0 (for float16 half the smallest
    subnormal, :math:`2^{-25}`), ``smallest_normal`` and ``largest`` the other two
    boundaries shaded.
    """
    fig, ax = plt.subplots(figsize=(8, 3.4))
    lo = min(float(np.min(log2_abs)), np.log2(tiny)) - 2
    hi = max(float(np.max(log2_abs)) + np.log2(max(scales)), np.log2(largest)) + 2
    bins = np.arange(np.floor(lo), np.ceil(hi) + 1)
    for i, s in enumerate(scales):
        ax.hist(log2_abs + np.log2(s), bins=bins, histtype="step", lw=1.5, color=f"C{i}",
                label=f"scale $2^{{{int(np.log2(s))}}}$")
    ax.axvspan(bins[0], np.log2(tiny), color="C3", alpha=0.12)
    ax.axvspan(np.log2(tiny), np.log2(smallest_normal), color="C1", alpha=0.10)
    ax.axvspan(np.log2(largest), bins[-1], color="C3", alpha=0.12)
    top = ax.get_ylim()[1]
    ax.text((bins[0] + np.log2(tiny)) / 2, top * 0.55, "flushed to 0", ha="center", fontsize=9,
            color="C3")
    ax.text((np.log2(tiny) + np.log2(smallest_normal)) / 2, top * 0.55, "subnormal",
            ha="center", rotation=90, fontsize=9, color="C1")
    ax.text(np.log2(largest) + 0.5, top * 0.55, "inf", ha="left", fontsize=9, color="C3")
    ax.set_xlabel(r"$\log_2 |g|$ (times the scale)")
    ax.set_ylabel("gradient entries")
    ax.legend(loc="upper left")
    return fig


def pipeline_bars(labels, seconds, floor=None):
    """Wall seconds of one epoch with each loader (horizontal bars)."""
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(labels)))
    y = np.arange(len(labels))[::-1]
    bars = ax.barh(y, seconds, color=[f"C{i}" for i in range(len(labels))])
    ax.bar_label(bars, fmt="%.2f s", fontsize=8)
    if floor is not None:
        ax.axvline(floor, color="0.3", ls="--", lw=1, label="loading alone, one process")
        ax.legend(loc="lower right")
    ax.set_yticks(y, labels)
    ax.set_xlabel("wall seconds for one epoch")
    ax.set_xlim(0, max(seconds) * 1.25)
    return fig


def ddp_curves(curves, diffs):
    """(a) loss per step of the runs; (b) |difference| from the one-process run (log scale)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    styles = ["-", "--", ":"]
    for i, (label, loss) in enumerate(curves.items()):
        axes[0].plot(np.arange(1, len(loss) + 1), loss, styles[i % 3], lw=2 - 0.4 * i,
                     color=f"C{i}", label=label)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss of the global batch")
    axes[0].set_title("(a) loss curves")
    axes[0].legend()
    for i, (label, d) in enumerate(diffs.items(), start=1):
        axes[1].plot(np.arange(1, len(d) + 1), np.maximum(d, 1e-18), "o", ms=3, color=f"C{i}",
                     label=label)
    axes[1].set_yscale("log")
    axes[1].set_ylim(1e-18, 1e-10)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("|loss - one-process loss|")
    axes[1].set_title("(b) difference (0 drawn at $10^{-18}$)")
    axes[1].legend()
    return fig
