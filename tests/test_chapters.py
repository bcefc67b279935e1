"""Structure every chapter notebook must have (nbval checks their outputs separately)."""

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat
import pytest
import yaml

from nnbook import teaching
from nnbook.student import MarkerError, strip_markers

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


# --- the exercise pattern (the student edition and the grader rely on it) -------------------

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "90_fixture.md"
EXERCISE = re.compile(r"^(`{3,})\{exercise\}(.*)$")
DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{(exercise|solution)\}", re.MULTILINE)
DIFFICULTY = re.compile(r"^\*\*★{1,3} · [1-9]\d* min · (on paper|code|experiment)\*\*$")
CHECK_CALL = re.compile(r"\bcheck_\w+\(")
MIN_EXERCISES = 6


def _tags(cell):
    return cell.metadata.get("tags", [])


def _heading(cell):
    return cell.cell_type == "markdown" and re.search(r"^## ", cell.source, re.MULTILINE)


def _slug(cells):
    m = re.search(r"^\(ch-([a-z0-9-]+)\)=", cells[0].source, re.MULTILINE) if cells else None
    return m.group(1) if m else None


def _solution_code_problems(cell, where):
    problems = []
    if "hide-input" not in _tags(cell):
        problems.append(f"{where}: a solution code cell must be tagged hide-input (and solution)")
    try:
        _, regions = strip_markers(cell.source, where)
    except MarkerError as err:
        return [*problems, str(err)]
    if not regions:
        problems.append(f"{where}: a solution code cell needs its code between lines "
                        "'### BEGIN SOLUTION' and '### END SOLUTION'")
    return problems


def exercise_pattern_problems(cells):
    """Every way ``cells`` (a chapter's) departs from the exercise pattern, as messages."""
    problems, labels = [], []
    slug = _slug(cells)
    start = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"
                  and re.search(r"^## Exercises\s*$", c.source, re.MULTILINE)), None)
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and "solution" in _tags(cell):
            problems += _solution_code_problems(cell, f"cell {i}")
        elif cell.cell_type == "code":
            try:
                strip_markers(cell.source, f"cell {i}")
            except MarkerError as err:
                problems.append(str(err))
        if start is not None and i < start and DIRECTIVE.search(cell.source):
            problems.append(f"cell {i}: exercises and solutions belong under '## Exercises'")
    if start is None:
        return [*problems, "no '## Exercises' section"]
    end = next((i for i in range(start + 1, len(cells)) if _heading(cells[i])), len(cells))
    i = start + 1 if not DIRECTIVE.search(cells[start].source) else start
    while i < end:
        cell = cells[i]
        if cell.cell_type == "code":
            problems.append(f"cell {i}: a code cell in the exercises that follows no exercise's "
                            "solution (tag it solution or check, after a solution cell)")
            i += 1
            continue
        if not DIRECTIVE.search(cell.source):
            i += 1
            continue
        lines = cell.source.strip().split("\n")
        first = next((k for k, s in enumerate(lines) if EXERCISE.match(s)), None)
        if first is None:
            problems.append(f"cell {i}: a solution that does not follow its exercise")
            i += 1
            continue
        if first:
            problems.append(f"cell {i}: an exercise must start a markdown cell of its own "
                            "(a line '+++' before it in the .md)")
            lines = lines[first:]
        m = EXERCISE.match(lines[0])
        fence, title = m.group(1), m.group(2).strip()
        where = f"cell {i} (exercise {title!r})"
        label = next((s.split(":label:", 1)[1].strip() for s in lines if s.startswith(":label:")), "")
        labels.append(label)
        prefix = re.match(r"ex-([a-z0-9]+)-[a-z0-9-]+$", label)
        if not title:
            problems.append(f"{where}: the exercise needs a title")
        if not prefix:
            problems.append(f"{where}: label {label!r} should read ex-<chapter>-<name>")
        elif slug and not (slug.startswith(prefix.group(1)) or prefix.group(1).startswith(slug)):
            problems.append(f"{where}: label {label!r} should start with ex-{slug}-")
        if len(DIRECTIVE.findall("\n".join(lines))) != 1 or lines[-1] != fence:
            problems.append(f"{where}: the exercise must be its cell's only content")
        body = [s for s in lines[1:] if s.strip() and not s.startswith(":")]
        kind = ""
        if not body or not DIFFICULTY.match(body[0]):
            problems.append(f"{where}: the first line of the body must be like "
                            "'**★★ · 20 min · code**' (1 to 3 ★; on paper, code or experiment)")
        else:
            kind = DIFFICULTY.match(body[0]).group(1)
        nxt = cells[i + 1] if i + 1 < end else None
        sol = nxt.source.strip().split("\n") if nxt is not None and nxt.cell_type == "markdown" else []
        if not sol or not re.match(rf"^(`{{3,}}|:{{3,}})\{{solution\}}\s+{re.escape(label)}\s*$", sol[0]):
            problems.append(f"{where}: the next cell must be its solution, "
                            f"'````{{solution}} {label}'")
            i += 1
            continue
        if ":class: dropdown" not in sol[:4] or len(DIRECTIVE.findall(nxt.source)) != 1:
            problems.append(f"{where}: its solution needs ':class: dropdown' and a cell of its own")
        i += 2
        solutions = checks = 0
        while i < end and cells[i].cell_type == "code":
            tags = _tags(cells[i])
            if "solution" in tags:
                solutions += 1
            elif "check" in tags:
                if not solutions:
                    problems.append(f"cell {i}: a check cell must follow a solution code cell")
                if not CHECK_CALL.search(cells[i].source):
                    problems.append(f"cell {i}: a check cell calls nnbook.exercises.check_<name>(...)")
                checks += 1
            else:
                problems.append(f"cell {i}: a code cell after {label}'s solution must be tagged "
                                "solution (hide-input, markers) or check")
            i += 1
        if kind == "code" and not (solutions and checks):
            problems.append(f"{where}: a code exercise needs a solution code cell and then a check cell")
        if kind != "code" and checks:
            problems.append(f"{where}: only code exercises have check cells (this one is {kind})")
    if len(labels) < MIN_EXERCISES:
        problems.append(f"{len(labels)} exercises, at least {MIN_EXERCISES} wanted")
    duplicated = sorted({s for s in labels if labels.count(s) > 1})
    if duplicated:
        problems.append(f"labels used twice: {duplicated}")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_exercise_pattern(path):
    problems = exercise_pattern_problems(nbformat.read(path, as_version=4).cells)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def fixture_cells():
    return jupytext.read(FIXTURE).cells


def test_fixture_follows_the_exercise_pattern(fixture_cells):
    assert exercise_pattern_problems(fixture_cells) == []


def _find(cells, text):
    return next(i for i, c in enumerate(cells) if text in c.source)


def _drop_difficulty(cells):
    i = _find(cells, ":label: ex-fixture-linear")
    cells[i].source = cells[i].source.replace("**★ · 5 min · on paper**", "**easy**")


def _merge_solution(cells):
    i = _find(cells, ":label: ex-fixture-linear")
    cells[i].source += "\n\n" + cells.pop(i + 1).source


def _no_dropdown(cells):
    i = _find(cells, "````{solution} ex-fixture-linear")
    cells[i].source = cells[i].source.replace(":class: dropdown\n", "")


def _no_hide_input(cells):
    cells[_find(cells, "def double(")].metadata["tags"] = ["solution"]


def _no_markers(cells):
    i = _find(cells, "def double(")
    cells[i].source = "\n".join(s for s in cells[i].source.split("\n") if "###" not in s)


def _no_check(cells):
    del cells[_find(cells, "check_double(double)")]


def _untagged_code(cells):
    cells[_find(cells, "check_mean(mean_rows)")].metadata["tags"] = []


def _wrong_label(cells):
    i = _find(cells, ":label: ex-fixture-linear")
    cells[i].source = cells[i].source.replace("ex-fixture-linear", "linear")


def _too_few(cells):
    for text in ("ex-fixture-predict", "ex-fixture-derive"):
        i = _find(cells, f":label: {text}")
        del cells[i:i + 2]


@pytest.mark.parametrize(("mutate", "expected"), [
    (_drop_difficulty, "cell 7 (exercise 'Linear by hand'): the first line of the body must be like "
                       "'**★★ · 20 min · code**' (1 to 3 ★; on paper, code or experiment)"),
    (_merge_solution, "cell 7 (exercise 'Linear by hand'): the exercise must be its cell's only content"),
    (_no_dropdown, "cell 7 (exercise 'Linear by hand'): its solution needs ':class: dropdown' "
                   "and a cell of its own"),
    (_no_hide_input, "cell 11: a solution code cell must be tagged hide-input (and solution)"),
    (_no_markers, "cell 11: a solution code cell needs its code between lines "
                  "'### BEGIN SOLUTION' and '### END SOLUTION'"),
    (_no_check, "cell 9 (exercise 'Double it'): a code exercise needs a solution code cell and "
                "then a check cell"),
    (_untagged_code, "cell 16: a code cell after ex-fixture-mean's solution must be tagged "
                     "solution (hide-input, markers) or check"),
    (_wrong_label, "cell 7 (exercise 'Linear by hand'): label 'linear' should read ex-<chapter>-<name>"),
    (_too_few, "5 exercises, at least 6 wanted"),
])
def test_pattern_violations_are_named(fixture_cells, mutate, expected):
    cells = copy.deepcopy(fixture_cells)
    mutate(cells)
    assert expected in exercise_pattern_problems(cells)


# --- the teaching page ----------------------------------------------------------------------


def test_teaching_page_gets_every_exercise_of_the_book_at_build_time():
    page = (ROOT / "teaching.md").read_text()
    source = [page]
    teaching._source_read(SimpleNamespace(srcdir=str(ROOT)), "teaching", source)
    filled = source[0]
    assert filled.startswith(page.split(teaching.BEGIN)[0]) and filled.endswith(page.split(teaching.END)[1])
    chapters = teaching.book_chapters(ROOT)
    assert chapters
    for chapter in chapters:
        assert f"### {chapter.title}\n" in filled
        for e in chapter.exercises:
            row = next(s for s in filled.split("\n") if s.startswith(f"| {{ref}}`{e.label}`: "))
            assert f" | `{e.label}` | {'★' * e.stars} | {e.minutes} | {e.kind} | " in row, row
    other = ["x"]
    teaching._source_read(SimpleNamespace(srcdir=str(ROOT)), "chapters/01_perceptron", other)
    assert other == ["x"]
    env = SimpleNamespace(found_docs={"teaching", "intro"})
    assert teaching._always_outdated(None, env, set(), set(), set()) == ["teaching"]


def test_teaching_extension_is_in_the_book_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "nnbook.teaching" in config["sphinx"]["extra_extensions"]


def test_every_exercise_says_which_goals_it_serves():
    goals = teaching.load_goals()
    labels = set()
    for path in CHAPTERS:
        chapter = teaching.chapter_info(path, f"chapters/{path.stem}")
        for e in chapter.exercises:
            labels.add(e.label)
            assert e.label in goals, (
                f"{e.label} ({path.stem}) is missing from teaching_goals.yml: add the numbers of "
                "the 'What you will learn' items it practises, then run python -m nnbook.teaching")
            assert goals[e.label] and all(1 <= g <= len(chapter.goals) for g in goals[e.label]), (
                f"{e.label}: goals {goals[e.label]} must be numbers from 1 to {len(chapter.goals)}")
    assert not set(goals) - labels, f"teaching_goals.yml names no exercise: {set(goals) - labels}"
