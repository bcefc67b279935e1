"""The book builds with zero warnings, and every page is served from the book itself."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", "--warningiserror", "--nitpick", "--keep-going",
         "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "WARNING" not in log, "\n".join(s for s in log.splitlines() if "WARNING" in s)
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


def _toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        pages += [c["file"] for c in part["chapters"]]
    return pages


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(_toc_pages())
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.ipynb")}
    assert on_disk and on_disk <= listed


def test_every_page_is_built_with_local_assets_only(html):
    for page in _toc_pages():
        text = (html / f"{page}.html").read_text()
        srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', text)
        remote = [s for s in srcs if s.startswith(("http:", "https:", "//"))]
        assert not remote, f"{page} loads scripts from the network: {remote}"
        mathjax = [s for s in srcs if "tex-mml-chtml.js" in s]
        assert len(mathjax) == 1, f"{page} must load the book's own MathJax, got {mathjax}"
        assert (html / page).parent.joinpath(mathjax[0].split("?")[0]).resolve().is_file()


def test_chapters_have_math_figures_and_references(html):
    for page in _toc_pages()[1:]:
        text = (html / f"{page}.html").read_text()
        assert "\\(" in text or "\\[" in text or "math notranslate" in text, page
        assert text.count('<img ') >= 2, f"{page} has fewer than two figures"
        assert 'id="references"' in text, f"{page} has no References section"
        for ref in re.findall(r'href="([^"#:]+\.html)', text):
            assert ((html / page).parent / ref).resolve().is_file(), f"{page}: broken link {ref}"


def test_widget_manager_is_local_when_a_page_has_widgets(html):
    for page in _toc_pages():
        text = (html / f"{page}.html").read_text()
        if "application/vnd.jupyter.widget-state+json" in text:
            assert "requirejs/require.js" in text and "jupyter-widgets/embed-amd.js" in text
