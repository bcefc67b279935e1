"""Every ```python snippet in the prose of every chapter runs.

Snippets are the fenced ``python`` blocks in the *markdown* cells of
``chapters/*.md`` (in the text, in exercises and in their folded solutions);
code cells are executed by nbval instead. Each snippet runs on its own, in a
fresh namespace that holds only ``nb`` (nnbook) and ``np`` (NumPy), so a
snippet must import or define everything else it uses: a reader who copies it
into a new notebook gets the same result. A snippet that is not meant to run
should not be written as a ```python block.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))
_CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}")
_PYTHON = re.compile(r"^(`{3,})python\s*$")


def snippets(text: str) -> list[tuple[int, str]]:
    """(line number, source) of every ```python block outside the code cells of a MyST notebook.

    >>> md = "```{code-cell} ipython3\\nx = 1\\n```\\n\\n````{solution} a\\n```python\\ny = 2\\n```\\n````"
    >>> snippets(md)
    [(6, 'y = 2\\n')]
    """
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        cell = _CODE_CELL.match(lines[i])
        fence = _PYTHON.match(lines[i].strip())
        if cell or fence:
            ticks = (cell or fence).group(1)
            start, i = i, i + 1
            while i < len(lines) and lines[i].strip() != ticks:
                i += 1
            if i == len(lines):
                raise ValueError(f"line {start + 1}: a {ticks} block is never closed")
            if fence:
                found.append((start + 1, "\n".join(lines[start + 1:i]) + "\n"))
        i += 1
    return found


CASES = [(path, line, src) for path in CHAPTERS for line, src in snippets(path.read_text())]


def test_the_finder_sees_snippets_in_the_chapters():
    assert CHAPTERS
    assert any(path.stem.startswith("01_") for path, _, _ in CASES)


@pytest.mark.parametrize(("path", "line", "source"), CASES,
                         ids=[f"{p.stem}:{line}" for p, line, _ in CASES])
def test_snippet_runs(path, line, source, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import nnbook as nb

    monkeypatch.chdir(tmp_path)                   # whatever a snippet writes stays out of the tree
    namespace = {"__name__": "__snippet__", "nb": nb, "np": np}
    try:
        exec(compile(source, f"{path.name}:{line}", "exec"), namespace)
    finally:
        plt.close("all")
