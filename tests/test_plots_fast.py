"""The figure helpers of the training-fast chapter draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from nnbook import plots_fast


def test_batch_size_tradeoff_marks_the_fastest():
    fig = plots_fast.batch_size_tradeoff([16, 64, 256], [1e5, 3e5, 4e5], [3, 3, 9], [0.03, 0.01, 0.02], 0.95)
    axes = fig.axes
    assert len(axes) == 3
    x, y = axes[2].lines[-1].get_data()
    assert (x[0], y[0]) == (64, 0.01)
    plt.close(fig)


def test_matmul_bars_one_bar_per_size_and_mode():
    fig = plots_fast.matmul_bars({"cpu": {"sizes": [1023, 1024], "float32": [0.05, 0.06],
                                          "bfloat16": [0.02, 0.03]},
                                  "gpu": {"sizes": [4095, 4096], "float32": [47, 50], "tf32": [130, 370],
                                          "bfloat16": [150, 700]}})
    assert [len(ax.patches) for ax in fig.axes] == [4, 6]
    plt.close(fig)


def test_other_figures_draw():
    figs = [
        plots_fast.linear_scaling({"a": np.linspace(0.1, 0.9, 5)}, {"b": np.array([2.3, 40.0, 2.0])}, 0.95),
        plots_fast.throughput_curves({"cpu": {"float32": ([1, 2], [10.0, 20.0])}}),
        plots_fast.float16_histogram(np.log2(np.abs(np.random.default_rng(0).normal(size=100)) * 1e-6),
                                     [1, 2**8], 2.0**-24, 2.0**-14, 65504.0),
        plots_fast.pipeline_bars(["loop", "2 workers"], [0.7, 0.3], 0.6),
        plots_fast.ddp_curves({"1": np.ones(4), "2": np.ones(4)}, {"2": np.zeros(4)}),
    ]
    assert [len(f.axes) for f in figs] == [2, 1, 1, 1, 2]
    for f in figs:
        plt.close(f)
