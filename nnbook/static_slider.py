"""A slider that works without a kernel: precomputed figures, switched in the browser.

In Jupyter and Colab, ``ipywidgets`` recompute a figure when a slider moves; the
HTML book has no kernel, so its sliders would be dead. :func:`static_slider`
draws the figure once for every position of the slider and embeds all of them,
as PNG images, in one small piece of HTML with a range input and a few lines of
JavaScript that show the image of the current position. It loads nothing from the
network, and it works in Jupyter and Colab too.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> def draw(a):
...     fig, ax = plt.subplots(figsize=(2, 2))
...     ax.plot([0, 1], [0, a])
...     return fig
>>> html = static_slider(draw, [0.5, 1.0, 2.0], label="slope", name="demo")
>>> html.data.count("data:image/png;base64,") >= 1, 'type="range"' in html.data
(True, True)
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Sequence

__all__ = ["static_slider"]


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def static_slider(draw: Callable, values: Sequence, *, label: str, name: str,
                  start: int | None = None, fmt: str = "{}", alt: str = ""):
    """HTML for a slider over ``values`` that shows ``draw(value)`` without a kernel.

    Parameters
    ----------
    draw : callable
        ``draw(value)`` returns a matplotlib Figure (it is closed after saving).
    values : sequence
        The slider's positions, in order (at least two).
    label : str
        Shown before the slider, e.g. ``"margin"``.
    name : str
        A name unique on the page (letters, digits, ``-``); the element's id.
    start : int, optional
        Index of the initial position (the middle by default).
    fmt : str
        Format of the value shown next to the slider, e.g. ``"{:.2f}"``.
    alt : str
        Alternative text of the image, for readers who cannot see it.

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    values = list(values)
    if len(values) < 2:
        raise ValueError(f"values must hold at least 2 positions, got {len(values)}")
    if not name or not all(c.isalnum() or c == "-" for c in name):
        raise ValueError(f"name must be letters, digits and '-', got {name!r}")
    if start is None:
        start = len(values) // 2
    if not 0 <= start < len(values):
        raise ValueError(f"start must lie in [0, {len(values) - 1}], got {start}")
    frames = [_png(draw(v)) for v in values]
    texts = [fmt.format(v) for v in values]
    ident = f"nnbook-slider-{name}"
    html = f"""<div class="nnbook-slider" id="{ident}">
<label style="display:flex;align-items:center;gap:0.6em;font-family:sans-serif">{label}
<input type="range" min="0" max="{len(values) - 1}" step="1" value="{start}" style="flex:0 1 20em">
<output>{texts[start]}</output></label>
<img src="data:image/png;base64,{frames[start]}" alt="{alt}" style="max-width:100%">
</div>
<script>
(function () {{
  var root = document.getElementById({json.dumps(ident)});
  var frames = {json.dumps(frames)}, texts = {json.dumps(texts)};
  var input = root.querySelector("input"), out = root.querySelector("output"),
      img = root.querySelector("img");
  input.addEventListener("input", function () {{
    img.src = "data:image/png;base64," + frames[input.value];
    out.textContent = texts[input.value];
  }});
}})();
</script>"""
    return HTML(html)
