# Two commands set up a fresh machine (Python 3.11 needed):
#   make demo   - create .venv, install ppltopics with the pinned environment, fit LDA on the
#                 embedded State of the Union corpus and print its topics
#   make test   - same install plus test tools, then run the test suite (slow studies excluded)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export HF_HUB_OFFLINE := 1

.PHONY: demo test test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e ".[test,bench,plm,viz]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/ppltopics fit lda --corpus sotu --topics 20 --chains 2 --samples 100 --warmup 300 --out runs/lda-sotu
	$(BIN)/ppltopics diagnose runs/lda-sotu

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n 2 --durations=15

test-all: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n 2 -m "" --durations=15

lint: $(VENV)/.installed
	$(BIN)/ruff check .

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_lda.py

clean:
	rm -rf $(VENV) runs .pytest_cache
