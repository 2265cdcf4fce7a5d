# The README's first commands: `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: dev test install deps lint typecheck bench clean

$(BIN)/telesniff: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/telesniff

## Run the whole data path on this machine (embedded Valkey, SQLite, demo source).
dev: install
	$(BIN)/telesniff dev $(ARGS)

## Install what the tests need (system packages, Go-built tools, the image), then run them all.
test: install deps
	$(BIN)/python -m pytest $(ARGS)

deps:
	bash scripts/test-deps.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

bench: install
	$(BIN)/telesniff bench $(ARGS)

clean:
	rm -rf $(VENV) .telesniff .pytest_cache .mypy_cache .ruff_cache
