"""Helpers for the chapters themselves: one look for every figure, and glued numbers.

Nothing here is needed to use nnbook outside the book.
"""

from __future__ import annotations

import numpy as np

__all__ = ["glue", "setup", "show_source"]


def setup():
    """The book's matplotlib style and NumPy print options (call once per chapter)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.dpi": 96,
        "savefig.dpi": 96,
        "figure.figsize": (5.0, 3.6),
        "figure.constrained_layout.use": True,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "image.cmap": "viridis",
        "svg.hashsalt": "nnbook",
    })
    np.set_printoptions(precision=4, suppress=True)


def glue(name: str, value, digits: int | None = None):
    """Make a computed number available to the prose as ``{glue:}`name```.

    ``value`` is rounded to ``digits`` decimals first, so the stored output is
    the same on every machine. Outside Jupyter Book (on Colab, say) it does
    nothing.
    """
    if digits is not None:
        value = round(float(value), digits)
    elif isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=False)


def show_source(obj):
    """Display the source code of an nnbook function or class, syntax-highlighted.

    The code on the page is then the code that runs and is tested.
    """
    import inspect

    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
