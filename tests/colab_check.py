"""Every chapter runs where Colab runs it: nnbook from a wheel, Colab's packages only.

``make colab-test`` (run by ``.ci/run`` after ``make test``) builds a wheel of
nnbook, installs it with its ``[torch,widgets]`` extras into a fresh virtual
environment that holds only what Colab ships (torch, numpy, matplotlib,
scikit-learn, ipywidgets and the Jupyter kernel; versions constrained to
``requirements.txt``), copies the chapter notebooks to a folder outside the
repository and executes each of them there. It catches chapters that read
repository files, data or modules missing from the package, and extras that
``pip install "nnbook[...]"`` forgets.

Usage: ``python tests/colab_check.py [--keep DIR] [chapters/NN_slug.ipynb ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a Colab runtime has before the first cell runs (besides much else).
COLAB_PACKAGES = ["torch", "numpy", "matplotlib", "scikit-learn", "scipy", "ipywidgets", "ipykernel"]


def _run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def build_environment(work: Path) -> Path:
    """A fresh venv with Colab's packages and the nnbook wheel; returns its python."""
    wheels = work / "wheel"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, ROOT])
    wheel = next(wheels.glob("nnbook-*.whl"))
    venv = work / "colab-venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "-c", ROOT / "requirements.txt"]
    _run(pip + COLAB_PACKAGES)
    _run([*pip, f"nnbook[torch,widgets] @ {wheel.as_uri()}"])
    return python


def kernel_spec(work: Path, python: Path) -> str:
    """A Jupyter kernel that runs in the Colab-like venv; returns its name."""
    spec = work / "jupyter" / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python",
    }))
    os.environ["JUPYTER_PATH"] = str(work / "jupyter")
    return "colab-like"


def execute(notebook: Path, kernel: str, cwd: Path, timeout: int = 300) -> tuple[bool, str]:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=timeout,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as err:
        return False, str(err)[-3000:]
    return True, ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted((ROOT / "chapters").glob("*.ipynb"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="nnbook-colab-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        python = build_environment(work)
        kernel = kernel_spec(work, python)
        reader = work / "reader"          # a folder outside the repository
        reader.mkdir()
        failures = []
        for chapter in chapters:
            copy = reader / chapter.name
            shutil.copy(chapter, copy)
            start = time.perf_counter()
            ok, log = execute(copy, kernel, reader)
            print(f"{'ok  ' if ok else 'FAIL'} {chapter.name} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
            if not ok:
                failures.append(f"{chapter.name}:\n{log}")
        if failures:
            print("\n\n".join(failures))
            return 1
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
