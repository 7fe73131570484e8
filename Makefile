# The two commands of the README. `make up` sets up on first use and runs the main job;
# `make test` runs every test (ruff, mypy, pytest: unit, integration with real Redis, browser).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/waybill up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Unit and integration tests run in 3 processes (pytest-xdist; a file's tests stay together, so
# module fixtures are started once): they mostly wait on servers, workers and outages, not on
# the CPU. The browser journeys share one console stack and run last, in one process.
test: lint
	$(BIN)/pytest -q -n 3 --dist loadfile --durations=30 tests/unit tests/integration
	$(BIN)/pytest -q --durations=10 tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
