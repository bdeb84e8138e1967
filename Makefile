# Two commands set up a fresh machine (Python 3.11 needed):
#   make demo   - create .venv, install ppltopics with the pinned environment, fit LDA on the
#                 embedded State of the Union corpus and print its topics
#   make test   - same install plus test tools, then run the test suite (slow studies excluded)
#   make docs   - the documentation site (Sphinx, tutorials executed in small mode) into
#                 docs/_build/html, warnings as errors, internal links checked (offline)
#   make notebooks - executed .ipynb of every tutorial into notebooks/ (SMALL=0: full settings)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export HF_HUB_OFFLINE := 1

.PHONY: demo test test-all lint bench docs notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e ".[test,bench,plm,distributed,docs,viz,pos]"
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

SMALL ?= 1

docs: $(VENV)/.installed
	PPLTOPICS_TUTORIAL_SMALL=$(SMALL) $(BIN)/python -m sphinx -b html -W --keep-going -j 1 \
		docs docs/_build/html
	$(BIN)/python docs/_tools/check_links.py docs/_build/html

notebooks: $(VENV)/.installed
	mkdir -p notebooks
	for f in tutorials/[0-9]*.py; do \
		PPLTOPICS_TUTORIAL_SMALL=$(SMALL) PPLTOPICS_TUTORIAL_OUT=$(CURDIR)/notebooks/outputs \
		$(BIN)/jupytext --to ipynb --execute --run-path notebooks \
			--output notebooks/$$(basename $$f .py).ipynb $$f || exit 1; \
	done

clean:
	rm -rf $(VENV) runs .pytest_cache docs/_build docs/tutorials docs/_static_mathjax \
		docs/api/generated notebooks tutorial_outputs
