"""Mutation testing of nnbook: how many deliberate bugs do the unit tests catch?

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) copies the package and the
tests into ``mutants/``, makes many small changes to each function (a ``<`` for a
``<=``, a ``-`` for a ``+``, a dropped argument, a string wrapped in ``XX``) and runs
the unit tests that cover the function against each change. A change that no test
notices is a *survivor*: behaviour that no test checks.

mutmut runs its mutants in processes forked from one that has already imported
nnbook and run the tests, and it picks the tests of a mutant by in-process coverage.
So module-level caches are warm, and a test that runs nnbook in a subprocess is
never picked (tests that start processes are marked ``spawns``, and
``tests/conftest.py`` skips them under mutmut, where they would only cost time).
Every mutant that mutmut does not report as killed is therefore run again here in a
clean session: a copy of the package with that one change applied, in a fresh
interpreter, with the module's own test file, the files of the tests mutmut picked
(whole files, so that a test renamed since is run too) and the test files that start
a subprocess and name the module (a subprocess that runs ``nnbook.data_parallel``
is started by a test file that says ``data_parallel``). Only what survives that
counts; a test file left out can only make the score lower.

A survivor is either killed by a new test or, when no input can tell it from the
original (an equivalent mutant), listed in ``quality/equivalent.txt`` with one line
saying why. The score is (killed + timed out) / (mutants run - equivalent).

Usage (``make mutation`` and ``make mutation MODULE=losses`` call this)::

    python quality/mutation.py                     # every module
    python quality/mutation.py losses gradcheck    # some modules, the others' rows kept
    python quality/mutation.py --collect layers    # what a stopped run left in mutants/
    python quality/mutation.py --recheck layers    # its survivors again, with the tests of now
    python quality/mutation.py --recheck --keep-timeouts data   # the same, mutmut's timeouts kept

The results go to ``quality/mutation.json`` and, as a table with the survivors, to
``quality/MUTATION.md``.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mutmut depends on toml there
    import toml as tomllib

ROOT = Path(__file__).resolve().parent.parent
QUALITY = ROOT / "quality"
RESULTS = QUALITY / "mutation.json"
REPORT = QUALITY / "MUTATION.md"
EQUIVALENT = QUALITY / "equivalent.txt"
PACKAGE = "nnbook"

# One thread per process: the machines this runs on are small and shared.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
KILLED = {"killed", "caught by type check"}
# Why the files in do_not_mutate are not mutated (by their pattern there).
OUT_OF_SCOPE_WHY = {
    "nnbook/plots*.py": "figures, checked by eye in the built book",
    "nnbook/widgets.py": "interactive widgets, checked by eye in Jupyter and the built book",
    "nnbook/static_slider.py": "the kernel-free slider of the HTML book, checked by eye there",
    "nnbook/book.py": "the chapters' display helpers, checked by eye in the built book",
    "nnbook/sphinxext.py": "a Sphinx extension of the book build, tested by building the book",
    "nnbook/teaching.py": "a Sphinx extension of the book build, tested by building the book",
    "nnbook/student.py": "a tool over the chapter notebooks, tested on the chapters (outside the unit suite)",
    "nnbook/grade.py": "a tool over the chapter notebooks, tested on the chapters (outside the unit suite)",
}


def config() -> dict:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["tool"]["mutmut"]


def module_files(cfg: dict) -> tuple[dict[str, Path], list[str]]:
    """Every module of the package to mutate, ``{"losses": nnbook/losses.py, ...}``, and
    the files left out by ``do_not_mutate``."""
    skip = cfg.get("do_not_mutate", [])
    modules, left_out = {}, []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "__pycache__" in rel.parts:
            continue
        if any(fnmatch.fnmatch(str(rel), pattern) for pattern in skip):
            left_out.append(str(rel))
            continue
        parts = rel.with_suffix("").parts[1:]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts) or "__init__"] = rel
    return modules, left_out


def select(modules: dict[str, Path], names: list[str]) -> dict[str, Path]:
    """The modules named (a package name selects every module in it)."""
    if not names:
        return dict(modules)
    chosen = {}
    for name in names:
        name = name.removeprefix(f"{PACKAGE}.").removesuffix(".py").replace("/", ".")
        hits = {m: p for m, p in modules.items() if m == name or m.startswith(name + ".")}
        if not hits:
            sys.exit(f"unknown module {name!r}; the modules are: {', '.join(modules)}")
        chosen.update(hits)
    return chosen


def glob_for(module: str) -> str:
    return f"{PACKAGE}.*" if module == "__init__" else f"{PACKAGE}.{module}.*"


def env() -> dict:
    e = dict(os.environ)
    for var in THREAD_VARS:
        e.setdefault(var, "1")
    e["PYTHONDONTWRITEBYTECODE"] = "1"   # a mutant the same size as the last one must not reuse its .pyc
    e.pop("MUTANT_UNDER_TEST", None)    # tests/conftest.py skips the process-starting tests under mutmut
    return e


def git(*args) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


# --------------------------------------------------------------------------
# mutmut
# --------------------------------------------------------------------------

def run_mutmut(globs: list[str], max_children: int) -> None:
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)    # a fresh run: no stale results or stats
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *globs]
    print("$", " ".join(cmd), flush=True)
    log = QUALITY / "mutmut.log"
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, env=env(), stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-30:]
        sys.exit("mutmut failed:\n" + "\n".join(tail))


def mutmut_results(path: Path) -> dict[str, str]:
    """``{mutant name: mutmut's status}`` for one source file."""
    from mutmut.stats import status_by_exit_code

    meta = ROOT / "mutants" / (str(path) + ".meta")
    if not meta.exists():          # a module without functions has no mutants
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def readable_function(mutant: str) -> str:
    """``nnbook.layers.xǁLinearǁforward__mutmut_3`` -> ``nnbook.layers.Linear.forward``."""
    from mutmut.utils.format_utils import (
        mangled_name_from_mutant_name,
        orig_function_and_class_names_from_key,
    )

    module = mangled_name_from_mutant_name(mutant).rpartition(".")[0]
    function, cls = orig_function_and_class_names_from_key(mutant)
    return f"{module}.{cls}.{function}" if cls else f"{module}.{function}"


def functions_of(mutant: str, path: Path):
    """The original and the mutated function (libcst nodes), read from mutants/."""
    from mutmut.mutation.diff_apply import (
        read_functions_from_index,
        read_mutant_function,
        read_mutants_module,
        read_original_function,
    )

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        found = read_functions_from_index(mutant, path)
        if found is None:
            module = read_mutants_module(path)
            found = read_original_function(module, mutant), read_mutant_function(module, mutant)
        return found
    finally:
        os.chdir(cwd)


def change_of(mutant: str, path: Path) -> tuple[list[str], list[str]]:
    """The lines the mutant removes and adds (stripped), from a diff of the function."""
    import difflib

    import libcst as cst

    orig, mut = (cst.Module([f]).code.strip().splitlines() for f in functions_of(mutant, path))
    removed, added = [], []
    for line in difflib.unified_diff(orig, mut, lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line[0] == "-" else added).append(normalise(line[1:]))
    return removed, added


def normalise(line: str) -> str:
    """A line of code without its indentation and trailing comment (a comment's spacing
    must not turn a known equivalent mutant into an unknown one)."""
    return line.split("  #")[0].strip()


# --------------------------------------------------------------------------
# Clean re-runs
# --------------------------------------------------------------------------

def unit_test_files(cfg: dict) -> list[Path]:
    """The test files of the mutation suite: those under the selected folders, less the ignored."""
    selection = cfg["pytest_add_cli_args_test_selection"]
    ignored = {a.split("=", 1)[1] for a in selection if a.startswith("--ignore=")}
    folders = [a for a in selection if not a.startswith("-")]
    return sorted(p.relative_to(ROOT) for folder in folders for p in (ROOT / folder).rglob("test_*.py")
                  if str(p.relative_to(ROOT)) not in ignored)


def own_tests(path: Path) -> Path:
    """A module's own test file: tests/test_losses.py for nnbook/losses.py,
    tests/test_exercises_perceptron.py for nnbook/exercises/perceptron.py."""
    parts = Path(path).with_suffix("").parts[1:]          # without the package folder
    return Path("tests") / f"test_{'_'.join(parts)}.py"


class CleanSession:
    """A copy of the package and the tests, where one mutant at a time is applied and its tests
    run in a fresh interpreter.

    The tests of a mutant: those mutmut found to reach the mutated function, the module's own
    test file, and the test files that start a subprocess and name the module (mutmut cannot see
    what a subprocess runs; running every such file for every mutant would cost minutes a
    mutant). In a fresh interpreter no cache is warm.
    """

    def __init__(self, cfg: dict, paths: list[Path]):
        self.dir = Path(tempfile.mkdtemp(prefix="nnbook-mutation-"))
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / PACKAGE, self.dir / PACKAGE, ignore=ignore)
        shutil.copytree(ROOT / "tests", self.dir / "tests", ignore=ignore)
        for extra in cfg.get("also_copy", []):        # e.g. benchmarks/, which a test runs
            src = ROOT / extra
            if src.is_dir():
                shutil.copytree(src, self.dir / extra, ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", self.dir / "pyproject.toml")
        self.options = ["-x", "-q", "-p", "no:cacheprovider", *cfg.get("pytest_add_cli_args", [])]
        stats = json.loads((ROOT / "mutants" / "mutmut-stats.json").read_text())
        self.tests_by_function = stats["tests_by_mangled_function_name"]
        self.duration = {}                               # seconds per test file
        for test, seconds in stats["duration_by_test"].items():
            file = test.split("::")[0]
            self.duration[file] = self.duration.get(file, 0.0) + seconds
        texts = {str(p): (ROOT / p).read_text() for p in unit_test_files(cfg)}
        self.subprocess_texts = {f: text for f, text in texts.items() if "subprocess" in text}
        own = [str(t) for t in map(own_tests, paths) if (ROOT / t).exists()]
        t = time.monotonic()
        rc, out = self._pytest(list(dict.fromkeys([*own, *self._subprocess_files([p.stem for p in paths])])),
                               timeout=1800)
        self.baseline = time.monotonic() - t
        if rc != 0:
            sys.exit(f"the unit tests fail without any mutant (exit {rc}):\n{out[-3000:]}")

    def tests_for(self, mutant: str, path: Path) -> list[str]:
        from mutmut.utils.format_utils import mangled_name_from_mutant_name

        own = own_tests(path)
        tests = [str(own)] if (self.dir / own).exists() else []
        # whole files, not mutmut's test ids: a test renamed or added since mutmut ran is run
        # too, and a file runs its tests once however many of them mutmut picked
        picked = self.tests_by_function.get(mangled_name_from_mutant_name(mutant), [])
        tests += sorted({t.split("::")[0] for t in picked} - set(tests))
        return tests + [f for f in self._subprocess_files([path.stem]) if f not in tests]

    def _subprocess_files(self, stems: list[str]) -> list[str]:
        """The test files that start a subprocess and name one of the modules ``stems``."""
        return [f for f, text in self.subprocess_texts.items() if any(s in text for s in stems)]

    def _pytest(self, tests: list[str], timeout: float):
        # pytest runs a test named twice once; with -x a killed mutant stops at its first failure.
        try:
            p = subprocess.run([sys.executable, "-m", "pytest", *self.options, *tests], cwd=self.dir,
                               env=env(), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, ""
        return p.returncode, p.stdout + p.stderr

    def status(self, mutant: str, path: Path) -> str:
        """"killed", "survived", "timeout" or "stale" (the source or the tests changed since mutmut
        read them)."""
        import libcst as cst
        from mutmut.utils.format_utils import orig_function_and_class_names_from_key

        target = self.dir / path
        source = target.read_text()
        module = cst.parse_module(source)
        name, cls = orig_function_and_class_names_from_key(mutant)
        orig, mutated = functions_of(mutant, path)
        current = _find(module, name, cls)
        if current is None or _code(current) != _code(orig):
            return "stale"
        tests = self.tests_for(mutant, path)
        # The module's own tests first, alone: most mutants die there, and one small file is
        # collected in a second where all of a mutant's tests can take many.
        own_first = len(tests) > 1 and tests[0] == str(own_tests(path))
        stages = [tests[:1], tests] if own_first else [tests]
        target.write_text(module.deep_replace(current, mutated).code)
        try:
            for stage in stages:
                timeout = 60 + 10 * (self.baseline + sum(self.duration.get(t, 0.0) for t in stage))
                rc, _ = self._pytest(stage, timeout=timeout)
                if rc != 0:
                    break
        finally:
            target.write_text(source)
        if rc is None:
            return "timeout"
        if rc in (4, 5) and self._pytest(stage, timeout=timeout)[0] != 0:
            return "stale"            # a usage error without the mutant too: a test was renamed since
        return "survived" if rc == 0 else "killed"

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _find(module, name: str, cls: str | None):
    """The function ``name`` at the top level, or the method ``cls.name``."""
    import libcst as cst

    for node in module.body:
        if cls is None and isinstance(node, cst.FunctionDef) and node.name.value == name:
            return node
        if cls is not None and isinstance(node, cst.ClassDef) and node.name.value == cls:
            for item in node.body.body:
                if isinstance(item, cst.FunctionDef) and item.name.value == name:
                    return item
    return None


def _code(function) -> str:
    import libcst as cst

    return cst.Module([function.with_changes(leading_lines=[])]).code.strip()


# --------------------------------------------------------------------------
# Equivalent mutants
# --------------------------------------------------------------------------

def load_equivalent() -> list[dict]:
    """Blocks of ``quality/equivalent.txt``: the function, ``- removed`` and ``+ added``
    lines, and ``= why`` in one line; blocks are separated by blank lines."""
    entries, block = [], None
    if not EQUIVALENT.exists():
        return entries
    for raw in [*EQUIVALENT.read_text().splitlines(), ""]:
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line:
            if block:
                entries.append(block)
            block = None
            continue
        if block is None:
            block = {"function": line.strip(), "removed": [], "added": [], "why": ""}
        elif line.startswith("- "):
            block["removed"].append(normalise(line[2:]))
        elif line.startswith("+ "):
            block["added"].append(normalise(line[2:]))
        elif line.startswith("= "):
            block["why"] = line[2:].strip()
        else:
            sys.exit(f"{EQUIVALENT.name}: cannot read the line {raw!r}")
    return entries


def why_equivalent(survivor: dict, entries: list[dict]) -> str | None:
    for e in entries:
        if (e["function"], e["removed"], e["added"]) == (
                survivor["function"], survivor["removed"], survivor["added"]):
            return e["why"]
    return None


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def measure(module: str, path: Path, session: CleanSession | None) -> dict:
    statuses = mutmut_results(path)
    counts = {"killed": 0, "survived": 0, "timeout": 0, "not checked": 0}
    survivors, stale = [], 0
    entries = load_equivalent()
    for mutant, status in sorted(statuses.items(), key=lambda kv: _natural(kv[0])):
        if status in KILLED:
            counts["killed"] += 1
            continue
        if status == "not checked":          # a run stopped before this mutant (see --collect)
            counts["not checked"] += 1
            continue
        removed, added = change_of(mutant, path)
        known = {"mutant": mutant, "status": "survived", "function": readable_function(mutant),
                 "removed": removed, "added": added}
        if status == "survived" and why_equivalent(known, entries):
            counts["survived"] += 1          # explained: no test can kill it, no need to try again
            survivors.append(known)
            continue
        if session is None:
            verdict = "timeout" if status == "timeout" else "survived"
            stale += 1
        else:
            verdict = session.status(mutant, path)
            print(f"  {mutant}: mutmut says {status}, a clean session says {verdict}", flush=True)
            if verdict == "stale":
                stale += 1
        verdict = "survived" if verdict == "stale" else verdict
        counts[verdict] += 1
        if verdict != "killed":
            survivors.append(known | {"status": verdict})
    return {
        "file": str(path),
        "mutants": len(statuses),
        **counts,
        "survivors": survivors,
        "complete": stale == 0 and counts["not checked"] == 0,
        "stale": stale,
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--", str(path))),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def recheck(result: dict, path: Path, session: CleanSession, keep_timeouts: bool = False) -> dict:
    """Run a module's survivors again in a clean session (after new tests were written).

    With ``keep_timeouts``, mutants that mutmut stopped at its time limit keep that verdict
    without a re-run: a clean re-run of an endless loop spins for its whole, generous limit
    (minutes), and a new test cannot change that verdict.
    """
    survivors, new, stale = [], dict(result), 0
    entries = load_equivalent()
    for s in result["survivors"]:
        if s["status"] == "survived" and why_equivalent(s, entries):
            survivors.append(s)           # explained: no test can kill it, no need to try again
            continue
        if s["status"] == "timeout" and keep_timeouts:
            survivors.append(s)
            continue
        verdict = session.status(s["mutant"], path)
        print(f"  {s['mutant']}: was {s['status']}, a clean session says {verdict}", flush=True)
        if verdict == "stale":
            stale += 1
            survivors.append(s)
            continue
        new[s["status"]] -= 1
        new[verdict] += 1
        if verdict != "killed":
            survivors.append(s | {"status": verdict})
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    complete = stale == 0 and not result.get("not checked")
    return new | {"survivors": survivors, "complete": complete, "stale": stale, "date": date,
                  "commit": git("rev-parse", "--short", "HEAD")}       # the tests of this commit


def _natural(mutant: str):
    head, _, n = mutant.rpartition("__mutmut_")
    return head, int(n) if n.isdigit() else 0


def render(results: dict, modules: dict[str, Path], left_out: list[str]) -> str:
    entries = load_equivalent()
    rows, sections = [], []
    for module in modules:
        r = results.get(module)
        if r is None:
            state = "not measured yet" if "def " in (ROOT / modules[module]).read_text() else "no functions"
            rows.append(f"| `{module}` | | | | | | | {state} |")
            continue
        equivalent = [(s, why_equivalent(s, entries)) for s in r["survivors"]]
        n_equiv = sum(1 for s, why in equivalent if why and s["status"] == "survived")
        denominator = r["mutants"] - r.get("not checked", 0) - n_equiv
        score = (r["killed"] + r["timeout"]) / denominator if denominator else 1.0
        missing = [f"{r['stale']} survivors not re-run cleanly"] if r["stale"] else []
        missing += [f"{r['not checked']} mutants not run"] if r.get("not checked") else []
        run = "complete" if r["complete"] else f"incomplete ({', '.join(missing)})"
        run += f"; {r['note']}" if r.get("note") else ""
        where = f"{r['commit']}{' + uncommitted edits' if r['uncommitted_changes'] else ''}, {r['date']}"
        rows.append(f"| `{module}` | {r['mutants']} | {r['killed']} | {r['survived']} | {r['timeout']} "
                    f"| {n_equiv} | {100 * score:.1f} % | {run}; {where} |")
        if r["survivors"]:
            lines = [f"### `{module}`", ""]
            for s, why in equivalent:
                change = "; ".join([f"`- {x}`" for x in s["removed"]] + [f"`+ {x}`" for x in s["added"]])
                label = ("equivalent: " + why) if why and s["status"] == "survived" else (
                    "**timed out**" if s["status"] == "timeout" else "**not yet killed**")
                lines.append(f"- `{s['function']}`: {change} — {label}")
            sections.append("\n".join(lines))
    out = [
        "# Mutation testing",
        "",
        "Written by `make mutation` (`quality/mutation.py`); do not edit by hand. How it works and how to",
        "read it: the docstring of `quality/mutation.py`. Mutants that mutmut did not kill are run again",
        "in a clean session (a fresh interpreter, with the tests mutmut found, the module's own tests and",
        "those that start subprocesses) before being counted; \"not re-run cleanly\" says where not yet.",
        "Score = (killed + timed out) / (mutants run - equivalent); the target is 95 % in every module.",
        "",
        "| module | mutants | killed | survived | timed out | equivalent | score | run |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Not mutated:",
        "",
        *(f"- `{p}`: {why_left_out(p)}" for p in left_out),
        "",
        "## Survivors",
        "",
        "Each is equivalent (no input tells it from the original; the reason follows) or not yet killed.",
        "",
        *(s + "\n" for s in sections),
    ]
    return "\n".join(out).rstrip() + "\n"


def why_left_out(path: str) -> str:
    for pattern, why in OUT_OF_SCOPE_WHY.items():
        if fnmatch.fnmatch(path, pattern):
            return why
    return "listed in do_not_mutate"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of nnbook (default: all), e.g. losses")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutmut workers (default 1)")
    parser.add_argument("--no-rerun", action="store_true",
                        help="believe mutmut's survivors without the clean re-run (quicker, for iterating)")
    parser.add_argument("--collect", action="store_true",
                        help="read the results mutmut has written to mutants/ so far (a stopped run) "
                             "instead of running it; mutants it did not reach count as not run")
    parser.add_argument("--keep-timeouts", action="store_true",
                        help="with --recheck: keep mutmut's timeouts without re-running them")
    parser.add_argument("--recheck", action="store_true",
                        help="run only the survivors of the last run (still in mutants/) again in a clean "
                             "session, with the tests as they are now")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite MUTATION.md from mutation.json and equivalent.txt, run nothing")
    args = parser.parse_args(argv)
    cfg = config()
    modules, left_out = module_files(cfg)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.recheck:
        chosen = select(modules, args.modules or [m for m in results if m in modules])
        session = CleanSession(cfg, list(chosen.values()))
        try:
            for module, path in chosen.items():
                results[module] = recheck(results[module], path, session, args.keep_timeouts)
                RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        finally:
            session.close()
    elif not args.report_only:
        chosen = select(modules, args.modules)
        with_functions = {m: p for m, p in chosen.items() if "def " in (ROOT / p).read_text()}
        globs = [] if not args.modules else sorted({glob_for(m) for m in with_functions})
        if with_functions and not args.collect:
            run_mutmut(globs, args.max_children)
        session = None if args.no_rerun else CleanSession(cfg, list(chosen.values()))
        try:
            for module, path in chosen.items():
                print(f"{module}: re-running what mutmut did not kill", flush=True)
                results[module] = measure(module, path, session)
                RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        finally:
            if session is not None:
                session.close()
    results = {m: r for m, r in results.items() if m in modules}
    REPORT.write_text(render(results, modules, left_out))
    print(REPORT.read_text())


if __name__ == "__main__":
    main()
