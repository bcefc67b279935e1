"""Each chapter is a pair: the MyST Markdown text people edit, the notebook the book shows.

A change made on one side only must not land: the cells of ``chapters/NN_slug.md``
and ``chapters/NN_slug.ipynb`` must agree in type, source, tags and metadata.
"""

from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
TEXTS = sorted(CHAPTERS.glob("*.md"))
# Cell metadata that only the executed notebook carries.
RUNTIME_KEYS = {"execution", "lines_to_next_cell", "scrolled", "collapsed"}
FIX = ("edit the .md file and run `make execute CHAPTER={stem}` "
       "(or, after editing the notebook in Jupyter, `make md CHAPTER={stem}`)")


def _essence(cell):
    meta = {k: v for k, v in cell.metadata.items() if k not in RUNTIME_KEYS}
    return cell.cell_type, cell.source.rstrip("\n"), meta


def test_every_notebook_has_its_markdown_and_back():
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in TEXTS], (
        "every chapters/NN_slug.ipynb needs its chapters/NN_slug.md and vice versa")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(notebook):
    fix = FIX.format(stem=notebook.stem)
    text = notebook.with_suffix(".md")
    stored = nbformat.read(notebook, as_version=4)
    source = jupytext.read(text)
    assert stored.metadata.get("jupytext", {}).get("formats") == "ipynb,md:myst", (
        f"{notebook.name} is not paired with its Markdown: {fix}")
    assert len(stored.cells) == len(source.cells), (
        f"{notebook.name} has {len(stored.cells)} cells, {text.name} has "
        f"{len(source.cells)}: {fix}")
    for i, (a, b) in enumerate(zip(stored.cells, source.cells, strict=True)):
        assert _essence(a) == _essence(b), (
            f"cell {i} differs between {notebook.name} and {text.name} "
            f"(starts {b.source[:60]!r}): {fix}")
