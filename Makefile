# Every target sets itself up: the first run creates .venv from requirements.txt.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help book test unit nbval execute lab bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

book: $(STAMP)  ## build the HTML book into _build/html from the stored notebooks
	$(BIN)/jupyter-book build --warningiserror --nitpick --keep-going .
	@echo "Open _build/html/index.html"

test: $(STAMP)  ## the whole suite: unit tests, nbval over every chapter, book build with -W
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-cell-timeout=300 --doctest-modules nnbook tests chapters

unit: $(STAMP)  ## nnbook's unit tests only (seconds)
	$(BIN)/python -m pytest -n 2 --doctest-modules nnbook tests -k "not book"

nbval: $(STAMP)  ## re-execute every chapter and compare with its stored outputs
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-cell-timeout=300 chapters

execute: $(STAMP)  ## re-execute every chapter in place (refreshes the stored outputs)
	cd chapters && for nb in $(notdir $(CHAPTERS)); do \
	  echo "executing $$nb"; ../$(BIN)/jupyter execute --inplace --timeout=300 "$$nb" || exit 1; done

lab: $(STAMP)  ## open the chapters in JupyterLab
	$(BIN)/jupyter lab chapters

bench: $(STAMP)  ## speed of nnbook against NumPy by hand, torch.nn and scikit-learn
	$(BIN)/python benchmarks/bench_mlp.py

clean:  ## remove the built book (keeps .venv)
	rm -rf _build
