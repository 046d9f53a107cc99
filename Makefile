# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   starts Guichet with demo data on SQLite
#   make test   runs the whole test suite (lint, types, tests)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test serve bench

$(BIN)/guichet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/guichet
	$(BIN)/guichet demo

serve: $(BIN)/guichet
	$(BIN)/guichet serve

test: $(BIN)/guichet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(BIN)/guichet
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/matching.py
