"""The generated part of the page "Teaching with this book": every chapter's exercises in tables.

A Sphinx extension (listed in ``_config.yml``): at every build of the book it reads
the chapter notebooks listed in ``_toc.yml`` (their title, their "What you will
learn" goals, their exercise cells: label, title, ★, minutes, kind) and
``teaching_goals.yml`` (which of its chapter's goals each exercise serves), and puts
the tables between the lines ``% BEGIN generated exercise tables`` and
``% END generated exercise tables`` of ``teaching.md``. The tables are never stored,
so they cannot go stale; ``python -m nnbook.teaching`` prints them.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

__all__ = ["Chapter", "Exercise", "chapter_info", "fill", "render", "setup"]

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "% BEGIN generated exercise tables", "% END generated exercise tables"
EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise\}\s*(?P<title>.*)$", re.MULTILINE)
LABEL = re.compile(r"^:label:\s*(\S+)", re.MULTILINE)
DIFFICULTY = re.compile(
    r"^\*\*(?P<stars>★{1,3}) · (?P<minutes>\d+) min · (?P<kind>on paper|code|experiment)\*\*$", re.M)
# Reading pace assumed for the estimate: technical prose with mathematics and code.
WORDS_PER_MINUTE = 100
PAGE = "teaching"
COLAB = "https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


@dataclass
class Exercise:
    label: str
    title: str
    stars: int
    minutes: int
    kind: str


@dataclass
class Chapter:
    path: str  # e.g. chapters/01_perceptron
    title: str
    goals: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    words: int = 0

    @property
    def reading_minutes(self) -> int:
        return max(5, 5 * round(self.words / WORDS_PER_MINUTE / 5))


def _goals(markdown: str) -> list[str]:
    m = re.search(r":::\{admonition\} What you will learn\n(.*?)\n:::", markdown, re.S)
    if not m:
        return []
    goals = []
    for line in m.group(1).split("\n"):
        if line.startswith("- "):
            goals.append(line[2:].strip())
        elif line.startswith("  ") and goals:
            goals[-1] += " " + line.strip()
    return goals


def chapter_info(notebook: Path, page: str) -> Chapter:
    """Title, goals, exercises and prose length of one chapter notebook."""
    nb = nbformat.read(notebook, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    text = "\n".join(markdown)
    title = next((s[2:].strip() for s in text.split("\n") if s.startswith("# ")), page)
    chapter = Chapter(page, title, _goals(text))
    in_exercises = False
    for source in markdown:
        if re.search(r"^## Exercises\s*$", source, re.M):
            in_exercises = True
        elif re.search(r"^## ", source, re.M):
            in_exercises = False
        if not in_exercises:
            chapter.words += len(re.sub(r"\$[^$]*\$", " x ", source).split())
        m, label, diff = EXERCISE.search(source), LABEL.search(source), DIFFICULTY.search(source)
        if m and label:
            chapter.exercises.append(Exercise(
                label.group(1), m.group("title").strip(),
                len(diff.group("stars")) if diff else 0,
                int(diff.group("minutes")) if diff else 0,
                diff.group("kind") if diff else "?"))
    return chapter


def book_chapters(root: Path = ROOT) -> list[Chapter]:
    """Every chapter notebook of the table of contents, in its order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    pages += [c["file"] for c in toc.get("chapters", [])]
    return [chapter_info(root / f"{p}.ipynb", p) for p in pages if (root / f"{p}.ipynb").is_file()]


def load_goals(root: Path = ROOT) -> dict[str, list[int]]:
    path = root / "teaching_goals.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _minutes(m: int) -> str:
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h" + (f" {m % 60:02d} min" if m % 60 else "")


def render(chapters: list[Chapter], goals: dict[str, list[int]], repo: str, branch: str) -> str:
    """The Markdown of the generated tables."""
    lines = ["| chapter | reading | exercises | all exercises | on paper · code · experiment "
             "| instructor edition |",
             "| --- | --- | --- | --- | --- | --- |"]
    for ch in chapters:
        kinds = [sum(e.kind == k for e in ch.exercises) for k in ("on paper", "code", "experiment")]
        link = COLAB.format(repo=repo, branch=branch, path=f"{ch.path}.ipynb")
        lines.append(f"| {{doc}}`{ch.path}` | about {_minutes(ch.reading_minutes)} | "
                     f"{len(ch.exercises)} | {_minutes(sum(e.minutes for e in ch.exercises))} | "
                     f"{' · '.join(map(str, kinds))} | [Colab]({link}) |")
    for ch in chapters:
        lines += ["", f"### {ch.title}", "",
                  f"{{doc}}`{ch.path}`: about {_minutes(ch.reading_minutes)} of reading "
                  f"and running, and {_minutes(sum(e.minutes for e in ch.exercises))} for all "
                  f"{len(ch.exercises)} exercises. Its goals, numbered as in the table's last "
                  "column:", ""]
        lines += [f"{k}. {g}" for k, g in enumerate(ch.goals, start=1)]
        lines += ["", "| exercise | label (in the grades) | ★ | min | kind | goals |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for e in ch.exercises:
            served = ", ".join(str(g) for g in goals.get(e.label, [])) or "—"
            title = e.title.replace("|", "\\|")
            lines.append(f"| {{ref}}`{e.label}`: {title} | `{e.label}` | {'★' * e.stars} | "
                         f"{e.minutes} | {e.kind} | {served} |")
    return "\n".join(lines)


def fill(text: str, root: Path = ROOT) -> str:
    """``text`` (teaching.md's source) with the generated tables between its two marker lines."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"teaching.md must hold the lines {BEGIN!r} and {END!r}")
    config = yaml.safe_load((root / "_config.yml").read_text())
    repository = config.get("repository", {})
    repo = re.sub(r"^https://github.com/", "", repository.get("url", "nnbook/nnbook")).rstrip("/")
    body = render(book_chapters(root), load_goals(root), repo, repository.get("branch", "main"))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{body}\n\n{END}{tail}"


def _source_read(app, docname, source):
    if docname == PAGE:
        source[0] = fill(source[0], Path(app.srcdir))


def _always_outdated(app, env, added, changed, removed):
    # The tables depend on the chapters, not on teaching.md: read it again on every build.
    return [PAGE] if PAGE in env.found_docs else []


def setup(app):
    """Sphinx extension (listed in _config.yml): fills teaching.md's tables at every build."""
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnbook.teaching", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    print(fill(f"{BEGIN}\n{END}").split(BEGIN, 1)[1].split(END, 1)[0].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
