"""Structure every chapter notebook must have (nbval checks their outputs separately)."""

import json
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _text(cell):
    return "".join(cell["source"])


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_structure(path):
    cells = _cells(path)
    markdown = "\n".join(_text(c) for c in cells if c["cell_type"] == "markdown")
    code = [c for c in cells if c["cell_type"] == "code"]
    first = _text(code[0])
    assert "import nnbook" in first and "%pip install" in first, "first cell must work on Colab"
    assert "What you will learn" in markdown
    assert "## Summary" in markdown
    assert markdown.count("```{exercise}") >= 4
    assert "```{bibliography}" in markdown and "{cite" in markdown


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_stored_executed_with_captioned_figures(path):
    for i, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        assert cell["execution_count"] is not None, f"code cell {i} was not executed"
        assert "\n# #" not in "\n" + _text(cell), f"code cell {i} holds a commented-out heading"
        assert not any(o["output_type"] == "error" for o in cell["outputs"]), f"code cell {i} failed"
        has_png = any("image/png" in o.get("data", {}) for o in cell["outputs"])
        if has_png:
            caption = cell["metadata"].get("mystnb", {}).get("figure", {}).get("caption")
            assert caption, f"code cell {i} draws a figure without a caption"
