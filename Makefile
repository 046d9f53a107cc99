# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   starts Guichet with demo data on SQLite
#   make test   runs the whole test suite (lint, types, tests)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test serve bench

# htmx, from the npm registry (package-lock.json), served by Guichet itself: no CDN.
HTMX := inbox/static/vendor/htmx.min.js

$(BIN)/guichet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

demo: $(BIN)/guichet $(HTMX)
	$(BIN)/guichet demo

serve: $(BIN)/guichet $(HTMX)
	$(BIN)/guichet serve

test: $(BIN)/guichet $(HTMX)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(BIN)/guichet
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/matching.py
