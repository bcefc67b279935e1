"""The student edition: every chapter without its solutions, and its own HTML book.

``python -m nnbook.student`` (or ``make student``) reads the book (``_toc.yml``,
``_config.yml`` and the executed chapter notebooks) and writes, into a folder of
its own (``_build/student`` by default):

- ``chapters/NN_slug.ipynb``: each chapter with

  * the code between lines that are exactly ``### BEGIN SOLUTION`` and
    ``### END SOLUTION`` (leading spaces allowed) replaced by a ``# your code here``
    line and ``raise NotImplementedError()`` at the marker's indentation; a cell
    tagged ``solution`` without markers is replaced whole;
  * every markdown cell holding a ``{solution}`` directive replaced by an
    "answer here" cell;
  * the outputs cleared in the cells tagged ``solution`` or ``check`` only (the
    chapter's figures and numbers stay: students read the chapter in it), and the
    ``hide-input`` tag removed from solution cells so that students see the stub;

- the other pages of the book (a note on the front page says which edition it is),
  ``references.bib``, ``_extra/``, a ``_toc.yml`` without the teachers' page and a
  ``_config.yml`` with ``hide_solutions: true``;
- the student HTML book, built from those notebooks with ``-W``, in
  ``<out>/_build/html`` (skip it with ``--no-html``).

Only lines that are just a marker count as markers: prose that mentions
``### BEGIN SOLUTION`` survives. Unbalanced markers stop the build with an error
naming the notebook and the cell, rather than leak a solution.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

__all__ = [
    "ANSWER_HERE",
    "STUB",
    "build_html",
    "strip_markers",
    "student_notebook",
    "write_edition",
]

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# your code here", "raise NotImplementedError()")
ANSWER_HERE = ("**Your answer.** *Double-click this cell and write your answer here "
               "(Markdown, with mathematics between `$` signs).*")
# A markdown cell holds a written solution when one of its lines opens the directive.
SOLUTION_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}", re.MULTILINE)
# Pages only teachers need: left out of the student book.
TEACHER_PAGES = {"teaching"}
STAMP = ".nnbook-student"
STUDENT_NOTE = """
:::{{note}}
This is the **student edition** of the book: the exercises have no solutions, and each
code exercise leaves a function for you to write (`raise NotImplementedError()` marks
the place). Run the check cell after it: it tells you which input fails and why.
Open a chapter's notebook with the download button at the top of its page{colab}.
:::
"""


class MarkerError(ValueError):
    """Solution markers that do not pair up (the cell would leak or lose code)."""


def _marker(line: str) -> str | None:
    stripped = line.strip()
    return stripped if stripped in (BEGIN, END) else None


def strip_markers(source: str, where: str = "a cell") -> tuple[str, int]:
    """Replace every marked solution region in ``source``; return the new source and the count.

    The region, markers included, becomes ``# your code here`` and
    ``raise NotImplementedError()`` at the indentation of its ``### BEGIN SOLUTION``
    line. Raises :class:`MarkerError` (naming ``where``) on a marker without its pair.
    """
    out, indent, regions = [], None, 0
    for n, line in enumerate(source.split("\n"), start=1):
        marker = _marker(line)
        if marker == BEGIN:
            if indent is not None:
                raise MarkerError(f"{where}, line {n}: {BEGIN} inside a solution region")
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + STUB[0], indent + STUB[1]]
        elif marker == END:
            if indent is None:
                raise MarkerError(f"{where}, line {n}: {END} without {BEGIN}")
            indent, regions = None, regions + 1
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out), regions


def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def student_notebook(nb: nbformat.NotebookNode, chapter: str = "") -> nbformat.NotebookNode:
    """The student version of one executed chapter notebook (a new notebook; ``nb`` is untouched)."""
    nb = copy.deepcopy(nb)
    cells = []
    for i, cell in enumerate(nb.cells):
        where = f"{chapter or 'notebook'}, cell {i}"
        tags = _tags(cell)
        if cell.cell_type == "markdown" and SOLUTION_DIRECTIVE.search(cell.source):
            answer = nbformat.v4.new_markdown_cell(ANSWER_HERE)
            answer.metadata["tags"] = ["answer"]
            cells.append(answer)
            continue
        if cell.cell_type == "code":
            source, regions = strip_markers(cell.source, where)
            if "solution" in tags and not regions:
                source = "\n".join(STUB)
            cell.source = source
            if "solution" in tags or "check" in tags:
                cell.outputs, cell.execution_count = [], None
                cell.metadata.pop("execution", None)
            if "solution" in tags and "hide-input" in tags:
                tags.remove("hide-input")
                cell.metadata["tags"] = tags
        cells.append(cell)
    nb.cells = cells
    nb.metadata["nnbook"] = {"edition": "student", "chapter": chapter}
    nb.metadata.get("jupytext", {}).pop("formats", None)
    return nb


def _toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    files += [c["file"] for c in toc.get("chapters", [])]
    return files


def _student_toc(toc: dict) -> dict:
    toc = copy.deepcopy(toc)
    keep = [p for p in toc.get("parts", [])]
    for part in keep:
        part["chapters"] = [c for c in part.get("chapters", []) if c["file"] not in TEACHER_PAGES]
    toc["parts"] = [p for p in keep if p["chapters"]]
    if "chapters" in toc:
        toc["chapters"] = [c for c in toc["chapters"] if c["file"] not in TEACHER_PAGES]
    return toc


def _student_config(config: dict, colab_repo: str | None, branch: str) -> dict:
    config = copy.deepcopy(config)
    config["title"] = f"{config.get('title', 'nnbook')} (student edition)"
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["hide_solutions"] = True
    html = config.setdefault("html", {})
    # The repository holds the instructor edition: no button of the student book may lead there.
    html["use_repository_button"] = html["use_issues_button"] = html["use_edit_page_button"] = False
    if colab_repo:
        config["repository"] = {"url": f"https://github.com/{colab_repo}", "path_to_book": "",
                                "branch": branch}
        config["launch_buttons"] = {"notebook_interface": "classic",
                                    "colab_url": "https://colab.research.google.com"}
    else:
        config.pop("launch_buttons", None)
    return config


def _front_page(text: str, colab_repo: str | None) -> str:
    colab = f", or in Colab with the rocket button (from `{colab_repo}`)" if colab_repo else ""
    note = STUDENT_NOTE.format(colab=colab)
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join([*lines[: k + 1], note, *lines[k + 1:]])
    return note + text


def write_edition(out: Path, book: Path = ROOT, colab_repo: str | None = None,
                  branch: str = "main") -> list[Path]:
    """Write the student edition of the book at ``book`` into ``out``; return the notebooks written.

    ``out`` is emptied first (except its ``_build`` folder, which keeps the HTML
    build's cache). ``colab_repo`` (``owner/name`` on GitHub) is where you publish
    ``out``'s notebooks: the student book's Colab buttons then open them there.
    """
    out, book = Path(out).resolve(), Path(book).resolve()
    stamp = out / STAMP
    if out == book or out in book.parents:
        raise ValueError(f"out must be a folder of its own, outside the book; received {out}")
    if out.is_dir() and any(out.iterdir()) and not stamp.is_file():
        raise ValueError(f"{out} is not empty and holds no student edition: "
                         "choose a new folder (it is emptied before writing)")
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name != "_build":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    stamp.write_text("written by python -m nnbook.student; emptied on each run\n")
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    config = yaml.safe_load((book / "_config.yml").read_text())
    student_toc = _student_toc(toc)
    written = []
    for page in _toc_files(student_toc):
        nbpath = book / f"{page}.ipynb"
        target = out / page
        target.parent.mkdir(parents=True, exist_ok=True)
        if nbpath.is_file():
            nb = nbformat.read(nbpath, as_version=4)
            snb = student_notebook(nb, chapter=Path(page).name)
            nbformat.write(snb, target.with_suffix(".ipynb"))
            written.append(target.with_suffix(".ipynb"))
        else:
            src = next(p for p in (book / f"{page}.md", book / f"{page}.rst") if p.is_file())
            text = src.read_text()
            if page == student_toc["root"]:
                text = _front_page(text, colab_repo)
            target.with_suffix(src.suffix).write_text(text)
    for bib in config.get("bibtex_bibfiles", []):
        shutil.copy2(book / bib, out / bib)
    for extra in config.get("sphinx", {}).get("config", {}).get("html_extra_path", []):
        shutil.copytree(book / extra, out / extra, dirs_exist_ok=True)
    (out / "_toc.yml").write_text(yaml.safe_dump(student_toc, sort_keys=False))
    (out / "_config.yml").write_text(
        "# The student edition, written by `python -m nnbook.student`: do not edit.\n"
        + yaml.safe_dump(_student_config(config, colab_repo, branch), sort_keys=False,
                         allow_unicode=True))
    return written


def build_html(out: Path) -> subprocess.CompletedProcess:
    """Build the student HTML book in ``out`` with ``-W -n`` (into ``out/_build/html``)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(jb), "build", "--warningiserror", "--nitpick", "--keep-going",
                           str(out)], cwd=out, capture_output=True, text=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnbook.student", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student",
                        help="folder of the student edition (default: _build/student)")
    parser.add_argument("--book", type=Path, default=ROOT, help="the book's root (default: this repository)")
    parser.add_argument("--colab-repo", metavar="OWNER/NAME",
                        help="GitHub repository where you publish the student notebooks "
                             "(gives the student book Colab buttons)")
    parser.add_argument("--branch", default="main", help="branch of --colab-repo (default: main)")
    parser.add_argument("--no-html", action="store_true", help="write the notebooks only")
    args = parser.parse_args(argv)
    try:
        written = write_edition(args.out, args.book, args.colab_repo, args.branch)
    except (MarkerError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} student notebooks into {args.out}")
    if args.no_html:
        return 0
    proc = build_html(args.out)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or "WARNING" in log:
        print(log[-5000:], file=sys.stderr)
        print("error: the student book did not build cleanly", file=sys.stderr)
        return 1
    print(f"Open {Path(args.out).resolve() / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
