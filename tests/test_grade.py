"""The grader: every kind of submission gets its verdict, none blocks the others, none survives.

The submissions are built from the fixture chapter (tests/fixtures/90_fixture.md)
through the student edition, then answered in six ways: correctly, partly wrong,
with a crash, with endless loops, by killing the kernel, and by tampering with the
checks. One grading run (short time limits) serves every test of the folder.
"""

import copy
import csv
import os
import re
import shutil
import uuid
from pathlib import Path

import jupytext
import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from nnbook import grade as grader
from nnbook.student import STUB, student_notebook

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "90_fixture.md"
STUB_TEXT = "\n".join(STUB)
# Short limits, yet long enough for the fixture on a busy 2-core machine.
CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 15, 45
MARK = f"nnbook-test-{uuid.uuid4().hex}"  # every process the grading starts inherits it


def answer(nb, experiment="print('done')", **bodies):
    """Put ``bodies[name]`` in place of the stub of function ``name``, ``experiment`` in the others."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source == STUB_TEXT:
            cell.source = experiment
        for name, body in bodies.items():
            if cell.cell_type == "code" and f"def {name}(" in cell.source:
                indented = "\n".join("    " + s for s in body.strip("\n").split("\n"))
                cell.source = cell.source.replace("    " + STUB_TEXT.replace("\n", "\n    "), indented)
    return nb


def insert_before_exercises(nb, source, tags=()):
    """A student's code cell just after the chapter's figure cells, before the exercises."""
    k = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Summary" in c.source)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    nb.cells.insert(k, cell)
    return nb


def check_cell(nb, label_fragment):
    return next(c for c in nb.cells if "check" in c.metadata.get("tags", [])
                and label_fragment in c.source)


RIGHT = {"double": "return 2 * x", "mean_rows": "return X.mean(axis=0)"}
SLEEP_CHILD = ("import subprocess, sys\n"
               "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
               " start_new_session=True)\n")


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    """The fixture chapter executed, as the repository stores a chapter."""
    folder = tmp_path_factory.mktemp("chapters")
    nb = jupytext.read(FIXTURE)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, folder / "90_fixture.ipynb")
    return folder


@pytest.fixture(scope="module")
def student(instructor):
    return student_notebook(nbformat.read(instructor / "90_fixture.ipynb", as_version=4), "90_fixture")


@pytest.fixture(scope="module")
def graded(instructor, student, tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    (subs / "alice").mkdir()
    nbformat.write(answer(student, **RIGHT), subs / "alice" / "90_fixture.ipynb")
    nbformat.write(answer(student, double="return x * 2", mean_rows="return X.sum(axis=0)"),
                   subs / "bob_partly_wrong.ipynb")
    crash = insert_before_exercises(answer(student, **RIGHT), "result = 1 / 0")
    nbformat.write(crash, subs / "carol_crash.ipynb")
    # Endless loops: one in a function (its check's cell is interrupted at the cell's
    # limit), then one that swallows every interrupt (the notebook is killed at its limit).
    loop = answer(student, double="while True:\n    pass", mean_rows=RIGHT["mean_rows"])
    loop.cells.append(nbformat.v4.new_code_cell(
        SLEEP_CHILD + "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
        "    except KeyboardInterrupt:\n        pass"))
    nbformat.write(loop, subs / "dan_loop.ipynb")
    killer = insert_before_exercises(answer(student, **RIGHT), SLEEP_CHILD + "import os\nos._exit(1)")
    nbformat.write(killer, subs / "frank_kill.ipynb")
    # Tampering: a wrong answer, its check cell edited to print a pass, and a cell
    # that writes a fake verdict straight into the grader's log.
    tamper = answer(student, experiment=STUB_TEXT, double="return x", mean_rows="return X.sum(axis=0)")
    check_cell(tamper, "double").source = 'print("✓ ex-fixture-double: all 3 cases pass.")'
    check_cell(tamper, "mean").source = "True"
    insert_before_exercises(tamper, (
        "import json, os\n"
        "for label in ('ex-fixture-double', 'ex-fixture-mean'):\n"
        "    with open(os.environ['NNBOOK_CHECK_LOG'], 'a') as f:\n"
        "        f.write(json.dumps({'exercise': label, 'passed': True, 'message': 'fake'}) + '\\n')"))
    nbformat.write(tamper, subs / "gina_tamper.ipynb")
    (subs / "notes.ipynb").write_text("not a notebook")
    (subs / ".ipynb_checkpoints").mkdir()
    shutil.copy(subs / "alice" / "90_fixture.ipynb", subs / ".ipynb_checkpoints" / "x-checkpoint.ipynb")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    os.environ["NNBOOK_TEST_MARK"] = MARK
    out = tmp_path_factory.mktemp("results") / "results.csv"
    try:
        code = grader.main([str(subs), "--out", str(out), "--chapters", str(instructor),
                            "--chapter", "90_fixture", "--cell-timeout", str(CELL_TIMEOUT),
                            "--timeout", str(NOTEBOOK_TIMEOUT), "--jobs", "3"])
    finally:
        del os.environ["NNBOOK_TEST_MARK"]
    assert code == 0
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    rows = {r["submission"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    return rows, out, before, after


def test_no_process_is_left_behind(graded):
    _, _, before, after = graded
    assert after <= before
    left = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("NNBOOK_TEST_MARK") == MARK and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    assert not left


def test_every_notebook_has_a_row_and_checkpoints_are_skipped(graded):
    rows, *_ = graded
    assert sorted(rows) == ["alice/90_fixture.ipynb", "bob_partly_wrong.ipynb", "carol_crash.ipynb",
                            "dan_loop.ipynb", "frank_kill.ipynb",
                            "gina_tamper.ipynb", "notes.ipynb"]


def test_correct_submission_passes(graded):
    r = graded[0]["alice/90_fixture.ipynb"]
    assert (r["status"], r["passed"], r["exercises"]) == ("ok", "2", "2"), r["notes"]
    assert r["ex-fixture-double"] == r["ex-fixture-mean"] == "pass"
    assert r["ex-fixture-mean message"] == "✓ ex-fixture-mean: all 2 cases pass."
    assert r["notes"] == ""
    assert 0 < float(r["seconds"]) < NOTEBOOK_TIMEOUT


def test_partly_wrong_submission_gets_the_checks_message(graded):
    r = graded[0]["bob_partly_wrong.ipynb"]
    assert (r["status"], r["passed"]) == ("ok", "1")
    assert r["ex-fixture-double"] == "pass"
    assert r["ex-fixture-mean"] == "fail"
    assert r["ex-fixture-mean message"].startswith(
        "✗ ex-fixture-mean, case 1 of 2 (a 2 x 3 matrix): the result has wrong values.")
    assert "2 times the expected one" in r["ex-fixture-mean message"]


def test_crash_is_reported_and_the_rest_still_runs(graded):
    r = graded[0]["carol_crash.ipynb"]
    assert (r["status"], r["passed"]) == ("errors", "2")
    assert re.search(r"cell \d+ \('result = 1 / 0'\) raised ZeroDivisionError: division by zero",
                     r["notes"]), r["notes"]


def test_loops_time_out_the_check_then_the_notebook(graded):
    r = graded[0]["dan_loop.ipynb"]
    assert r["ex-fixture-double"] == "timeout"
    assert r["ex-fixture-double message"] == (
        f"the check ran over its limit of {CELL_TIMEOUT} s and was interrupted (an endless loop?)")
    assert r["ex-fixture-mean"] == "pass"
    assert r["status"] == "timeout"
    assert NOTEBOOK_TIMEOUT <= float(r["seconds"]) < NOTEBOOK_TIMEOUT + 30
    assert re.search(rf"stopped at the notebook's limit of {NOTEBOOK_TIMEOUT} s while cell \d+ "
                     r"\('import subprocess, sys'\) ran", r["notes"]), r["notes"]


def test_timeout_before_a_check_leaves_it_not_run(student, instructor, tmp_path):
    nb = insert_before_exercises(answer(student, **RIGHT), "while True:\n    pass")
    nbformat.write(nb, tmp_path / "x.ipynb")
    chapters = {"90_fixture": instructor / "90_fixture.ipynb"}
    # a short limit: whether the loop or a slow start reaches it, no check has run
    r = grader.grade_one(tmp_path / "x.ipynb", tmp_path, chapters, cell_timeout=1000,
                         notebook_timeout=6)
    assert r.status == "timeout"
    assert [(e.verdict, e.message) for e in r.exercises] == [
        ("not run", "the notebook reached its limit of 6 s before it")] * 2


def test_kernel_that_dies_is_reported(graded):
    r = graded[0]["frank_kill.ipynb"]
    assert r["status"] == "kernel died"
    assert "the kernel died in cell" in r["notes"] and "os._exit(1)" not in r["ex-fixture-double"]
    assert r["ex-fixture-double"] == r["ex-fixture-mean"] == "not run"
    assert r["ex-fixture-double message"] == "the kernel died before it"


def test_tampering_does_not_help(graded):
    r = graded[0]["gina_tamper.ipynb"]
    assert r["passed"] == "0"
    assert r["ex-fixture-double"] == r["ex-fixture-mean"] == "fail"
    assert r["ex-fixture-double message"].startswith("✗ ex-fixture-double, case 1 of 3 (a scalar)")
    assert "check cells changed or deleted by the student" in r["notes"]
    assert "ex-fixture-double, ex-fixture-mean" in r["notes"]
    # The experiment left as handed out is unanswered, not an error.
    assert r["status"] == "ok" and "not answered: cell" in r["notes"]


def test_unreadable_file_is_reported(graded):
    r = graded[0]["notes.ipynb"]
    assert r["status"] == "unreadable" and r["exercises"] == "0"


def test_summary_lists_every_submission(graded):
    _, out, *_ = graded
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert ("| submission | chapter | status | passed | seconds | ex-fixture-double | ex-fixture-mean |"
            in text)
    assert "| bob_partly_wrong.ipynb | 90_fixture | ok | 1/2 |" in text
    assert "### frank_kill.ipynb: kernel died" in text


def test_submission_is_matched_to_its_chapter_by_metadata_then_name(student):
    chapters = {"01_perceptron": Path("a"), "90_fixture": Path("b"), "90_fixture_extra": Path("c")}
    assert grader.match_chapter(student, Path("whatever.ipynb"), chapters) == "90_fixture"
    bare = nbformat.v4.new_notebook()
    assert grader.match_chapter(bare, Path("ann/01_perceptron (1).ipynb"), chapters) == "01_perceptron"
    assert grader.match_chapter(bare, Path("01_perceptron/ann.ipynb"), chapters) == "01_perceptron"
    assert grader.match_chapter(bare, Path("ann_90_fixture_extra.ipynb"), chapters) == "90_fixture_extra"
    assert grader.match_chapter(bare, Path("ann.ipynb"), chapters) is None


def test_assemble_puts_the_instructors_checks_where_the_students_were(instructor, student):
    chapter = nbformat.read(instructor / "90_fixture.ipynb", as_version=4)
    checks = grader.instructor_checks(chapter)
    assert list(checks) == ["ex-fixture-double", "ex-fixture-mean"]
    sub = answer(student, **RIGHT)
    del sub.cells[sub.cells.index(check_cell(sub, "mean"))]
    nb, check_cells, origin, edited = grader.assemble(sub, checks)
    assert edited == ["ex-fixture-mean"]
    assert sorted(check_cells.values()) == ["ex-fixture-double", "ex-fixture-mean"]
    i_double = next(i for i, label in check_cells.items() if label == "ex-fixture-double")
    assert "def double(" in nb.cells[i_double - 1].source
    i_mean = next(i for i, label in check_cells.items() if label == "ex-fixture-mean")
    assert "def mean_rows(" in nb.cells[i_mean - 1].source  # the end of its exercise
    assert len(nb.cells) == len(sub.cells) + 1 and len(origin) == len(sub.cells) - 1


def test_real_chapter_submission_is_graded(tmp_path):
    """The student edition of a real chapter, answered with the chapter's own solutions, passes."""
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    with_checks = [p for p in chapters
                   if grader.instructor_checks(nbformat.read(p, as_version=4))]
    if not with_checks:
        pytest.skip("no chapter has checked code exercises yet")
    path = with_checks[0]
    chapter = nbformat.read(path, as_version=4)
    sub = tmp_path / "subs"
    sub.mkdir()
    nbformat.write(chapter, sub / f"ann_{path.stem}.ipynb")  # the instructor's own solutions
    nbformat.write(student_notebook(chapter, path.stem), sub / f"ben_{path.stem}.ipynb")
    results = {r.submission: r for r in grader.grade(sub, ROOT / "chapters", cell_timeout=300,
                                                     notebook_timeout=600)}
    ann, ben = results[f"ann_{path.stem}.ipynb"], results[f"ben_{path.stem}.ipynb"]
    labels = list(grader.instructor_checks(chapter))
    assert ann.status == "ok" and ann.passed == len(labels), ann
    assert [e.label for e in ben.exercises] == labels
    assert all(e.verdict == "fail" and "not answered yet" in e.message for e in ben.exercises), ben
