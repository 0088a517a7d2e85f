# productops: two commands on a fresh machine (python3, make, git): `make run`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# The Dagster home is the checkout: its dagster.yaml is the instance config, and Dagster
# keeps the instance's state beside it (history/, schedules/, storage/; git-ignored).
export DAGSTER_HOME := $(CURDIR)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export DO_NOT_TRACK := 1
UI_PORT ?= 3000

.PHONY: help install run sample ui test test-fast torture lint format bench clean
.DEFAULT_GOAL := help

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 20

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# --compile-bytecode: every process (each run, each step process, each test's subprocess)
# would otherwise compile Dagster, GX and pandas from source wherever Python may not write
# __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only install): 2-4 s per process, measured.
$(BIN)/productops: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(BIN)/productops ## create .venv from uv.lock

run: install ## write the sample company, materialise everything, print a summary
	$(BIN)/productops sample
	$(BIN)/productops run
	$(BIN)/productops summary

sample: install ## write the sample company's landing files only (90 days to yesterday)
	$(BIN)/productops sample

ui: install ## the Dagster UI and daemon on http://127.0.0.1:3000 (another port: UI_PORT=3001)
	$(BIN)/productops ui --port $(UI_PORT)

# Two workers, one per core; tests that share a session fixture (the sample company's
# run, the PostgreSQL cluster, the browser's UI) stay on one worker (xdist_group), and
# the workers take the longest units first, in the order tests/conftest.py gives. The
# 15 slowest tests are printed at the end, so a slow newcomer is seen the day it arrives.
test: install ## every test, slow end-to-end ones included
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -q --durations=15

test-fast: install ## the inner loop: everything but the slow end-to-end tests
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -q -m "not slow" --durations=5

# make test runs the same harness with 3 trials; TORTURE_SEED picks another company.
torture: install ## SIGKILLs at random steps, concurrent runs, a BI reader, bad input, late updates
	TORTURE_TRIALS=$${TORTURE_TRIALS:-20} $(BIN)/pytest -q -s -p no:xdist tests/test_torture.py

lint: install ## ruff check and format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## ruff format and fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## speed and memory, as ratios against a baseline measured in the same run
	$(BIN)/python -m bench

clean: ## remove the virtualenv and caches (not data/)
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
