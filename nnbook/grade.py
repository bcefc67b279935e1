"""Grade a folder of submitted notebooks against the book's own checks.

``python -m nnbook.grade SUBMISSIONS_DIR --out results.csv`` (or
``make grade SUBMISSIONS=dir``) finds every notebook under ``SUBMISSIONS_DIR``,
matches it to the chapter of the same name (the student edition records it in the
notebook's metadata; otherwise the file name must contain the chapter's name, such
as ``alice_01_perceptron.ipynb`` or ``alice/01_perceptron.ipynb``), and for each
submission:

1. removes the student's check cells (tagged ``check``) and puts the instructor's
   check cells from the repository's chapter in their place (or at the end of the
   exercise, if the student deleted them): an edited check cannot pass;
2. runs the notebook in a process and a kernel of its own (nbclient, errors
   allowed, every cell under a time limit after which the kernel is interrupted),
   under a wall-clock limit for the whole notebook after which the process, its
   kernel and every process they started are killed (psutil);
3. reads the verdicts that :mod:`nnbook.exercises.feedback` logs (``NNBOOK_CHECK_LOG``),
   counting only those written while one of the instructor's check cells ran.

It writes a CSV (one row per submission: status, seconds, and for each exercise
``pass``, ``fail``, ``timeout`` or ``not run`` with the check's message) and a
Markdown summary next to it (``results.md``). A notebook that raises, loops or
kills its kernel is reported as such and never stops the others.

Statuses: ``ok`` (ran to the end), ``errors`` (ran to the end; some of the
student's cells raised), ``timeout`` (killed at the notebook's limit), ``kernel
died``, ``unreadable`` (not a notebook), ``no chapter`` (no chapter of that name),
``grader error``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from .exercises.feedback import LOG_ENV

__all__ = ["ExerciseResult", "SubmissionResult", "assemble", "grade", "instructor_checks", "main"]

ROOT = Path(__file__).resolve().parents[1]
# Every process a grading run starts inherits this variable: the sweep after each
# submission finds and kills the ones that escaped the process tree.
TOKEN_ENV = "NNBOOK_GRADE_TOKEN"
EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise\}", re.MULTILINE)
LABEL = re.compile(r"^:label:\s*(\S+)", re.MULTILINE)
PASS, FAIL, TIMEOUT, NOT_RUN = "pass", "fail", "timeout", "not run"
SYMBOL = {PASS: "✓", FAIL: "✗", TIMEOUT: "⏱", NOT_RUN: "○"}


@dataclass
class ExerciseResult:
    label: str
    verdict: str
    message: str = ""


@dataclass
class SubmissionResult:
    submission: str
    chapter: str = ""
    status: str = ""
    seconds: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(e.verdict == PASS for e in self.exercises)


# --- the notebooks -------------------------------------------------------------------------


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def exercise_label(cell) -> str | None:
    """The label of the exercise a markdown cell states, or None."""
    if cell.cell_type != "markdown" or not EXERCISE.search(cell.source):
        return None
    m = LABEL.search(cell.source)
    return m.group(1) if m else None


def instructor_checks(nb) -> dict[str, list]:
    """``{exercise label: [its check cells]}`` of an instructor's chapter, in order."""
    checks, label = {}, None
    for cell in nb.cells:
        label = exercise_label(cell) or label
        if cell.cell_type == "code" and "check" in _tags(cell):
            checks.setdefault(label or "(before the exercises)", []).append(cell)
    return checks


def assemble(submission, checks: dict[str, list]):
    """The notebook to run: the submission with the instructor's check cells in place of its own.

    Returns ``(notebook, check_cells, origin, edited)``: ``check_cells`` maps the
    index of each inserted check cell to its exercise label, ``origin`` maps every
    other index to the cell's index in the submission, and ``edited`` lists the
    exercises whose check cells the student changed or deleted.
    """
    blocks: list[tuple[str | None, list]] = [(None, [])]  # (label, [(kind, payload)])
    student_checks: dict[str | None, list[str]] = defaultdict(list)
    for i, cell in enumerate(submission.cells):
        label = exercise_label(cell)
        if label:
            blocks.append((label, []))
        current_label, items = blocks[-1]
        if cell.cell_type == "code" and "check" in _tags(cell):
            if not student_checks[current_label]:
                items.append(("checks", current_label))
            student_checks[current_label].append(cell.source.strip())
            continue
        items.append(("cell", i))
    placed = set()
    cells, check_cells, origin = [], {}, {}

    def put_checks(label):
        if label in checks and label not in placed:
            placed.add(label)
            for c in checks[label]:
                check_cells[len(cells)] = label
                cells.append(nbformat.from_dict(json.loads(json.dumps(c))))

    for label, items in blocks:
        for kind, payload in items:
            if kind == "checks":
                put_checks(payload)
            else:
                origin[len(cells)] = payload
                cells.append(submission.cells[payload])
        put_checks(label)
    for label in checks:
        put_checks(label)
    edited = [label for label, cs in checks.items()
              if student_checks.get(label) != [c.source.strip() for c in cs]]
    nb = nbformat.v4.new_notebook(metadata=submission.metadata)
    nb.cells = cells
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, check_cells, origin, edited


def _load_chapters(folder: Path) -> dict[str, Path]:
    chapters = {p.stem: p for p in sorted(folder.glob("*.md"))}
    chapters.update({p.stem: p for p in sorted(folder.glob("*.ipynb"))})
    return chapters


def _read_chapter(path: Path):
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    import jupytext

    return jupytext.read(path)


def match_chapter(nb, relpath: Path, chapters: dict[str, Path]) -> str | None:
    """The chapter a submission answers: its metadata first, then its file name, then its path."""
    stated = nb.metadata.get("nnbook", {}).get("chapter")
    if stated in chapters:
        return stated
    for text in (relpath.name, str(relpath)):
        found = [s for s in chapters if s in text]
        if found:
            return max(found, key=len)
    return None


# --- running one notebook ------------------------------------------------------------------


def _worker(argv) -> int:
    """Run one assembled notebook; log an event per cell (runs in its own process)."""
    import asyncio

    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook, events_path, save, cell_timeout, kernel = argv
    nb = nbformat.read(notebook, as_version=4)
    log = os.environ.get(LOG_ENV, "")
    events = open(events_path, "a", encoding="utf-8")  # noqa: SIM115 (open while the kernel runs)

    def emit(**event):
        events.write(json.dumps(event) + "\n")
        events.flush()

    def offset():
        return os.path.getsize(log) if log and os.path.exists(log) else 0

    state = {"cell": None}

    def on_execute(cell, cell_index, **_):
        state["cell"] = cell_index
        emit(event="start", cell=cell_index, offset=offset(), t=time.monotonic())

    def on_executed(cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        emit(event="done", cell=cell_index, offset=offset(), t=time.monotonic(),
             status=content.get("status", "ok"), ename=content.get("ename", ""),
             evalue=str(content.get("evalue", ""))[:500])

    class Client(NotebookClient):
        async def _async_handle_timeout(self, timeout, cell=None):
            emit(event="timeout", cell=state["cell"], seconds=timeout)
            return await super()._async_handle_timeout(timeout, cell)

    client = Client(nb, timeout=max(1, round(float(cell_timeout))), interrupt_on_timeout=True,
                    allow_errors=True, kernel_name=kernel, startup_timeout=120, record_timing=False,
                    resources={"metadata": {"path": os.getcwd()}},
                    on_cell_execute=on_execute, on_cell_executed=on_executed)
    try:
        client.execute()
        emit(event="finished")
    except DeadKernelError:
        emit(event="dead", cell=state["cell"])
    except asyncio.CancelledError:
        emit(event="dead", cell=state["cell"])
    if save:
        nbformat.write(nb, save)
    return 0


def _kill_tree(pid: int):
    """Kill a process and all its descendants; wait for them."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    _kill(procs)


def _kill(procs):
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(procs, timeout=10)


def _kill_marked(token: str):
    """Kill every process that inherited ``token`` (those that left the process tree)."""
    marked = []
    for p in psutil.process_iter():
        try:
            if p.pid != os.getpid() and p.environ().get(TOKEN_ENV) == token:
                marked.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    _kill(marked)


def _read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _verdicts(log: bytes, start: int, end: int) -> list[dict]:
    found = []
    for line in log[start:end].decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "passed" in entry:
            found.append(entry)
    return found


def _describe(nb, origin: dict, index: int) -> str:
    if index in origin:
        first = next((s for s in nb.cells[index].source.splitlines() if s.strip()), "")
        return f"cell {origin[index] + 1} ({first.strip()[:50]!r})"
    return f"cell {index + 1}"


def grade_one(path: Path, root: Path, chapters: dict[str, Path], *, cell_timeout: float = 120,
              notebook_timeout: float = 600, kernel: str = "python3", chapter: str | None = None,
              save_dir: Path | None = None) -> SubmissionResult:
    """Grade one submitted notebook (see the module's description)."""
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    result = SubmissionResult(str(rel))
    t0 = time.monotonic()
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as err:  # any unreadable file is a result, not a crash
        result.status, result.notes = "unreadable", [f"{type(err).__name__}: {str(err)[:200]}"]
        return result
    name = chapter or match_chapter(submission, rel, chapters)
    if name not in chapters:
        result.status = "no chapter"
        result.notes = [f"no chapter matches {rel}; chapters: {', '.join(chapters)}"]
        return result
    result.chapter = name
    checks = instructor_checks(_read_chapter(chapters[name]))
    nb, check_cells, origin, edited = assemble(submission, checks)
    if edited:
        result.notes.append("check cells changed or deleted by the student (the instructor's ran): "
                            + ", ".join(edited))
    work = Path(tempfile.mkdtemp(prefix="nnbook-grade-"))
    token = uuid.uuid4().hex
    try:
        notebook, events_path, log = work / "graded.ipynb", work / "events.jsonl", work / "checks.jsonl"
        nbformat.write(nb, notebook)
        run_dir = work / "run"
        run_dir.mkdir()
        save = save_dir / rel if save_dir else None
        if save:
            save.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, LOG_ENV: str(log), TOKEN_ENV: token, "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        with open(work / "worker.log", "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "nnbook.grade", "--worker", str(notebook), str(events_path),
                 str(save or ""), str(cell_timeout), kernel],
                cwd=run_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            killed = False
            try:
                proc.wait(timeout=notebook_timeout)
            except subprocess.TimeoutExpired:
                killed = True
            finally:
                _kill_tree(proc.pid)
                proc.wait()
                _kill_marked(token)
        result.seconds = round(time.monotonic() - t0, 1)
        _interpret(result, nb, check_cells, origin, _read_events(events_path),
                   log.read_bytes() if log.exists() else b"", killed, notebook_timeout,
                   (work / "worker.log").read_text(errors="replace"))
    finally:
        _kill_marked(token)
        shutil.rmtree(work, ignore_errors=True)
    return result


def _interpret(result, nb, check_cells, origin, events, log, killed, notebook_timeout, worker_log):
    start, done, timeouts = {}, {}, {}
    finished = dead = False
    dead_cell = None
    for e in events:
        kind = e.get("event")
        if kind == "start":
            start[e["cell"]] = e
        elif kind == "done":
            done[e["cell"]] = e
        elif kind == "timeout":
            timeouts[e["cell"]] = e.get("seconds")
        elif kind == "finished":
            finished = True
        elif kind == "dead":
            dead, dead_cell = True, e.get("cell")
    running = max(start, default=None)
    if running in done:
        running = None
    where = _describe(nb, origin, running) if running is not None else ""
    if killed:
        result.status = "timeout"
        result.notes.append(f"stopped at the notebook's limit of {notebook_timeout:g} s"
                            + (f" while {where} ran" if where else ""))
    elif dead:
        result.status = "kernel died"
        result.notes.append("the kernel died" + (
            f" in {_describe(nb, origin, dead_cell)}" if dead_cell is not None else ""))
    elif not finished:
        result.status = "grader error"
        result.notes.append("the notebook could not be run: " + worker_log.strip()[-300:])
    raised = [i for i, e in sorted(done.items()) if e.get("status") == "error" and i not in check_cells]
    # A stub left as it was raises NotImplementedError: unanswered, not broken.
    unanswered = [i for i in raised if done[i].get("ename") == "NotImplementedError"]
    errors = [i for i in raised if i not in unanswered]
    if finished:
        result.status = "errors" if errors else "ok"
    if unanswered:
        result.notes.append("not answered: " + ", ".join(_describe(nb, origin, i) for i in unanswered))
    for i in errors[:5]:
        e = done[i]
        what = (f"timed out after {timeouts[i]:g} s and was interrupted" if i in timeouts
                else f"raised {e.get('ename')}: {e.get('evalue', '')[:150]}")
        result.notes.append(f"{_describe(nb, origin, i)} {what}")
    if len(errors) > 5:
        result.notes.append(f"{len(errors) - 5} more cells raised")
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in check_cells.items():
        by_label[label].append(i)
    for label, cells in by_label.items():
        result.exercises.append(_exercise(label, cells, start, done, timeouts, log, killed, dead,
                                          dead_cell, notebook_timeout))


def _exercise(label, cells, start, done, timeouts, log, killed, dead, dead_cell, notebook_timeout):
    messages, verdict = [], PASS
    for i in cells:
        if i in done:
            entries = _verdicts(log, start[i]["offset"], done[i]["offset"])
            failed = [e for e in entries if not e.get("passed")]
            if failed:
                return ExerciseResult(label, FAIL, str(failed[0].get("message", "")))
            if entries:
                messages += [str(e.get("message", "")) for e in entries]
                continue
            if i in timeouts:
                return ExerciseResult(label, TIMEOUT, f"the check ran over its limit of {timeouts[i]:g} s "
                                      "and was interrupted (an endless loop?)")
            if done[i].get("status") == "error":
                return ExerciseResult(label, FAIL, f"the check could not run: {done[i].get('ename')}: "
                                      f"{done[i].get('evalue', '')[:200]}")
            return ExerciseResult(label, FAIL, "the check gave no verdict")
        if i in start:  # started, never finished
            if killed:
                return ExerciseResult(label, TIMEOUT, f"the notebook reached its limit of "
                                      f"{notebook_timeout:g} s during this check")
            return ExerciseResult(label, FAIL, "the kernel died during this check")
        why = ("the kernel died before it" if dead else
               f"the notebook reached its limit of {notebook_timeout:g} s before it" if killed else
               "the notebook stopped before it")
        return ExerciseResult(label, NOT_RUN, why)
    return ExerciseResult(label, verdict, "\n".join(messages))


# --- a folder ------------------------------------------------------------------------------


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, hidden folders and checkpoints left out."""
    return sorted(p for p in folder.rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def grade(folder: Path, chapters_dir: Path = ROOT / "chapters", *, jobs: int = 1,
          progress=None, **kwargs) -> list[SubmissionResult]:
    """Grade every notebook under ``folder``; ``kwargs`` go to :func:`grade_one`."""
    folder = Path(folder).resolve()
    chapters = _load_chapters(Path(chapters_dir))
    paths = find_submissions(folder)

    def one(path):
        result = grade_one(path, folder, chapters, **kwargs)
        if progress:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, paths))


def _labels(results) -> list[str]:
    labels = []
    for r in results:
        labels += [e.label for e in r.exercises if e.label not in labels]
    return labels


def write_csv(results, path: Path):
    """One row per submission: status, seconds, and verdict and message per exercise."""
    labels = _labels(results)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", "chapter", "status", "seconds", "passed", "exercises", "notes",
                    *[c for label in labels for c in (label, f"{label} message")]])
        for r in results:
            ex = {e.label: e for e in r.exercises}
            row = [r.submission, r.chapter, r.status, f"{r.seconds:.1f}", r.passed, len(r.exercises),
                   "; ".join(r.notes)]
            for label in labels:
                e = ex.get(label)
                row += [e.verdict, e.message] if e else ["", ""]
            w.writerow(row)


def write_summary(results, path: Path, settings: str = ""):
    """A Markdown summary: a table of every submission, then what went wrong in each."""
    labels = _labels(results)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"# Grades ({when})", "",
             f"{len(results)} submission{'' if len(results) == 1 else 's'}. {settings}".strip(), "",
             "✓ pass · ✗ fail · ⏱ timeout · ○ not run", "",
             "| submission | chapter | status | passed | seconds | " + " | ".join(labels) + " |",
             "|" + " --- |" * (5 + len(labels))]
    for r in results:
        ex = {e.label: e for e in r.exercises}
        marks = [SYMBOL[ex[label].verdict] if label in ex else "" for label in labels]
        lines.append(f"| {r.submission} | {r.chapter} | {r.status} | {r.passed}/{len(r.exercises)} "
                     f"| {r.seconds:.1f} | " + " | ".join(marks) + " |")
    lines += ["", "## Details", ""]
    for r in results:
        bad = [e for e in r.exercises if e.verdict != PASS]
        if not bad and not r.notes:
            continue
        lines += [f"### {r.submission}: {r.status}", ""]
        lines += [f"- {note}" for note in r.notes]
        for e in bad:
            lines.append(f"- `{e.label}` **{e.verdict}**:")
            lines += ["", "  ```", *[f"  {s}" for s in e.message.splitlines()], "  ```", ""]
        lines.append("")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m nnbook.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("results.csv"),
                        help="the CSV to write (default: results.csv); the summary goes next to it (.md)")
    parser.add_argument("--chapters", type=Path, default=ROOT / "chapters",
                        help="the instructor's chapters (default: this repository's chapters/)")
    parser.add_argument("--chapter", help="grade every submission against this chapter (e.g. 01_perceptron)")
    parser.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default: 120)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds per notebook, after which it is killed (default: 600)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default: 1)")
    parser.add_argument("--notebooks", type=Path,
                        help="also save each executed notebook here (feedback for the students)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel (default: python3)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"SUBMISSIONS must be a folder, received {args.submissions}")
    if not find_submissions(args.submissions):
        parser.error(f"no notebooks under {args.submissions}")

    def progress(r):
        print(f"{r.submission}: {r.status}, {r.passed}/{len(r.exercises)} passed, {r.seconds:.1f} s",
              flush=True)

    results = grade(args.submissions, args.chapters, jobs=args.jobs, progress=progress,
                    cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                    kernel=args.kernel, chapter=args.chapter, save_dir=args.notebooks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(results, args.out)
    summary = args.out.with_suffix(".md")
    write_summary(results, summary, f"Limits: {args.cell_timeout:g} s per cell, {args.timeout:g} s "
                  "per notebook.")
    print(f"wrote {args.out} and {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
