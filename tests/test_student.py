"""The student edition: no solution left in it, everything else kept, and its book builds with -W.

The fixture chapter (tests/fixtures/90_fixture.md) follows the exercise pattern
whatever the state of the real chapters; the one HTML build of this module is a
copy of the book's pages and of chapters 1 and 2 with the fixture added as a
chapter, so that real chapters and the fixture are scanned. Every chapter's student
notebook is scanned too.
"""

import html
import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from nnbook import student
from nnbook.student import ANSWER_HERE, STUB, MarkerError, strip_markers, student_notebook

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "90_fixture.md"
XREF = re.compile(r"\{(?:ref|numref|prf:ref|doc)\}`([^`]*)`")
PATTERN_CHAPTERS = ("01_", "02_")
SOLUTION = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}", re.MULTILINE)
OPTION = re.compile(r"^\s*(:\w[\w-]*:.*|`{3,}|:{3,}|(`{3,}|:{3,})\{solution\}.*)$")


# --- what counts as solution text ---------------------------------------------------------


def _marked_lines(source):
    inside, lines = False, []
    for line in source.split("\n"):
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def solution_fragments(nb):
    """Lines of every written solution and of all marked code, minus lines also found elsewhere.

    Returns ``(code, prose)``: code lines and prose lines long enough to be specific.
    """
    code, prose, elsewhere = set(), set(), set()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and SOLUTION.search(cell.source):
            prose |= {s.strip() for s in cell.source.split("\n") if not OPTION.match(s)}
        elif cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            marked = _marked_lines(cell.source)
            code |= set(marked)
            elsewhere |= {s.strip() for s in cell.source.split("\n")} - set(marked)
        else:
            elsewhere |= {s.strip() for s in cell.source.split("\n")}
            # What the chapter shows anyway (nnbook's own source, say) is no solution's secret.
            for out in cell.get("outputs", []):
                shown = "".join(out.get("text", "")) + "".join(
                    "".join(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
                shown = html.unescape(re.sub(r"<[^>]+>", "", shown))
                elsewhere |= {s.strip() for s in shown.split("\n")}
    shown = "\n".join(" ".join(s.split()) for s in elsewhere)
    code = {s for s in code if len(s) >= 12 and " ".join(s.split()) not in shown}
    prose = {s for s in prose if len(s) >= 25 and " ".join(s.split()) not in shown}
    return code, prose


def _text_of_html(page):
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _plain(markdown_line):
    return " ".join(re.sub(r"[*_`]", "", markdown_line).split())


# --- markers --------------------------------------------------------------------------------


def test_marked_region_becomes_a_stub_at_its_indentation():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    y = x + 1\n"
              "    return y\n    ### END SOLUTION\n\n\nprint(f)")
    new, n = strip_markers(source)
    assert n == 1
    assert new == ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # your code here\n"
                   "    raise NotImplementedError()\n\n\nprint(f)")


def test_several_regions_and_top_level_markers():
    source = ("### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n"
              "  ### BEGIN SOLUTION  \n  c\n  ### END SOLUTION")
    new, n = strip_markers(source)
    assert n == 2
    assert new == "\n".join([*STUB, "b = 2", *("  " + s for s in STUB)])


def test_markers_inside_a_line_are_prose():
    source = ("# ### BEGIN SOLUTION marks the start\nprint('### END SOLUTION')\n"
              "x = 1  ### BEGIN SOLUTION")
    assert strip_markers(source) == (source, 0)


@pytest.mark.parametrize(("source", "message"), [
    ("a\n### BEGIN SOLUTION\nb", "ch, cell 3: ### BEGIN SOLUTION without ### END SOLUTION"),
    ("a\n    ### END SOLUTION", "ch, cell 3, line 2: ### END SOLUTION without ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "ch, cell 3, line 2: ### BEGIN SOLUTION inside a solution region"),
])
def test_unbalanced_markers_stop_the_build(source, message):
    with pytest.raises(MarkerError, match=f"^{re.escape(message)}$"):
        strip_markers(source, "ch, cell 3")


# --- the fixture chapter --------------------------------------------------------------------


@pytest.fixture(scope="module")
def instructor():
    nb = jupytext.read(FIXTURE)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


@pytest.fixture(scope="module")
def edition(instructor):
    return student_notebook(instructor, "90_fixture")


def test_fixture_has_solutions_to_look_for(instructor):
    code, prose = solution_fragments(instructor)
    assert "result = x + x" in code and "total = X.sum(axis=0)" in code
    assert any("twice a sum equals the sum" in s for s in prose)
    assert len(code) >= 4 and len(prose) >= 6


def test_no_solution_text_or_code_is_left(instructor, edition):
    code, prose = solution_fragments(instructor)
    text = "\n".join(c.source for c in edition.cells)
    assert not [s for s in code | prose if s in text]
    assert not SOLUTION.search(text)
    assert "### BEGIN SOLUTION\n" not in text.replace("# ### BEGIN", "")


def test_cells_are_replaced_one_for_one(instructor, edition):
    assert len(edition.cells) == len(instructor.cells)
    for old, new in zip(instructor.cells, edition.cells, strict=True):
        if old.cell_type == "markdown" and SOLUTION.search(old.source):
            assert new.source == ANSWER_HERE and new.metadata["tags"] == ["answer"]
        else:
            assert new.cell_type == old.cell_type


def test_stubs_keep_the_signature_and_docstring(edition):
    cell = next(c for c in edition.cells if "def double(" in c.source)
    assert cell.source == ('def double(x):\n    """Twice x."""\n    # your code here\n'
                           "    raise NotImplementedError()")
    experiment = [c for c in edition.cells if c.source == "\n".join(STUB)]
    assert len(experiment) == 1


def test_only_solution_and_check_outputs_are_cleared(instructor, edition):
    for old, new in zip(instructor.cells, edition.cells, strict=True):
        if old.cell_type != "code":
            continue
        tags = old.metadata.get("tags", [])
        if "solution" in tags or "check" in tags:
            assert new.outputs == [] and new.execution_count is None
            assert "hide-input" not in new.metadata.get("tags", [])
            assert ("solution" in tags) == ("solution" in new.metadata["tags"])
        else:
            assert new.outputs == old.outputs and new.metadata == old.metadata
    figure = next(c for c in edition.cells if "fig-fixture-line" in json.dumps(c.metadata))
    assert any("image/png" in o.get("data", {}) for o in figure.outputs)
    assert "### BEGIN SOLUTION inside a comment" in figure.source


def test_prose_that_names_the_markers_survives(instructor, edition):
    for old, new in zip(instructor.cells, edition.cells, strict=True):
        if old.cell_type == "markdown" and "### BEGIN SOLUTION" in old.source:
            assert new.source == old.source


def test_notebook_records_its_chapter(edition):
    assert edition.metadata["nnbook"] == {"edition": "student", "chapter": "90_fixture"}


def test_student_edition_runs_and_every_check_says_not_answered(edition):
    nb = nbformat.from_dict(json.loads(json.dumps(edition)))
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    first_exercise = next(i for i, c in enumerate(nb.cells) if "{exercise}" in c.source)
    for i, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if i < first_exercise:
            assert not errors, f"cell {i} raised before the first exercise"
        elif errors:  # only a stub left as handed out may raise
            assert [o["ename"] for o in errors] == ["NotImplementedError"]
            assert cell.source == "\n".join(STUB)
    verdicts = ["".join(o.get("text", "")) for c in nb.cells if "check" in c.metadata.get("tags", [])
                for o in c.outputs]
    assert verdicts == [f"✗ ex-fixture-{name}: not answered yet. Replace `raise NotImplementedError()` "
                        "with your code, then run this cell again.\n" for name in ("double", "mean")]


def test_refuses_to_empty_a_folder_that_is_not_an_edition(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not empty and holds no student edition"):
        student.write_edition(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="must be a folder of its own, outside the book"):
        student.write_edition(ROOT)


# --- the book -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(tmp_path_factory, instructor):
    """A copy of the book with the fixture as one more chapter, its student edition, and its HTML."""
    src = tmp_path_factory.mktemp("book")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    # The pages of the book, with the chapters that set the pattern only (a chapter being
    # written must not break this test; test_book.py builds them all).
    for part in toc["parts"]:
        part["chapters"] = [c for c in part["chapters"] if not c["file"].startswith("chapters/")
                            or Path(c["file"]).name.startswith(PATTERN_CHAPTERS)]
    toc["parts"] = [part for part in toc["parts"] if part["chapters"]]
    pages = student._toc_files(toc)
    for page in pages:
        for suffix in (".ipynb", ".md"):
            f = ROOT / f"{page}{suffix}"
            if f.is_file() and not (suffix == ".md" and (ROOT / f"{page}.ipynb").is_file()):
                (src / page).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, src / f"{page}{suffix}")
                if suffix == ".md" and not page.startswith("chapters/"):
                    # The glossary and the front page point into every chapter: in this
                    # copy of two chapters, those cross-references become plain text.
                    text = XREF.sub(r"`\1`", f.read_text())
                    (src / f"{page}{suffix}").write_text(text)
    for name in ("_config.yml", "references.bib"):
        shutil.copy2(ROOT / name, src / name)
    (src / "_extra").symlink_to(ROOT / "_extra")
    nbformat.write(instructor, src / "chapters" / "90_fixture.ipynb")
    toc["parts"].append({"caption": "Fixture", "chapters": [{"file": "chapters/90_fixture"}]})
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    out = tmp_path_factory.mktemp("student") / "edition"
    written = student.write_edition(out, book=src)
    proc = student.build_html(out)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "WARNING" not in log, "\n".join(s for s in log.splitlines() if "WARNING" in s)
    yield src, out, written
    shutil.rmtree(src, ignore_errors=True)


def _chapters(src):
    return sorted((src / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_solution_is_left_in_any_chapters_student_notebook(path):
    nb = nbformat.read(path, as_version=4)
    code, prose = solution_fragments(nb)
    text = "\n".join(c.source for c in student_notebook(nb, path.stem).cells)
    assert not [s for s in code | prose if s in text]
    assert not SOLUTION.search(text)


def test_every_chapter_is_in_the_edition_and_teachers_pages_are_not(book):
    src, out, written = book
    assert sorted(p.name for p in written) == [p.name for p in _chapters(src)]
    toc = yaml.safe_load((out / "_toc.yml").read_text())
    assert "teaching" not in student._toc_files(toc)
    config = yaml.safe_load((out / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert "launch_buttons" not in config and config["html"]["use_repository_button"] is False


def test_no_solution_is_left_in_the_notebooks_or_the_html(book):
    src, out, _ = book
    html_dir = out / "_build" / "html"
    for path in _chapters(src):
        code, prose = solution_fragments(nbformat.read(path, as_version=4))
        stu = nbformat.read(out / "chapters" / path.name, as_version=4)
        text = "\n".join(c.source for c in stu.cells)
        assert not [s for s in code | prose if s in text], path.name
        page = (html_dir / "chapters" / f"{path.stem}.html").read_text()
        assert 'class="solution' not in page and "solution-title" not in page, path.name
        visible = _text_of_html(page)
        leaked = [s for s in code if " ".join(s.split()) in visible]
        leaked += [s for s in prose if not re.search(r"[$\\{}]", s) and _plain(s) in visible]
        assert not leaked, f"{path.name}: {leaked[:3]}"


def test_student_page_shows_exercises_stubs_figures_and_answer_cells(book):
    _, out, _ = book
    page = (out / "_build" / "html" / "chapters" / "90_fixture.html").read_text()
    visible = _text_of_html(page)
    assert "Double it" in visible and "★ · 10 min · code" in visible
    assert visible.count("Your answer.") == 7
    assert visible.count("raise NotImplementedError()") == 3
    assert "the words ### BEGIN SOLUTION in the middle of a sentence" in visible
    assert page.count("<img ") >= 1
    root = yaml.safe_load((out / "_toc.yml").read_text())["root"]
    front = _text_of_html((out / "_build" / "html" / f"{root}.html").read_text())
    assert "This is the student edition of the book" in front
