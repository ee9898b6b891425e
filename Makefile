PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint schema cloudformation bench clean

# (Re)install when the venv is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m server serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy server tests

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/dashboard.py --ops 20 --write BENCHMARKS.md
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/cost.py --write BENCHMARKS.md
	$(BIN)/python bench/reads.py --write BENCHMARKS.md
	$(BIN)/python bench/peers.py --write BENCHMARKS.md

schema: $(STAMP)
	$(BIN)/python -m server export-schema > schema.graphql

cloudformation: $(STAMP)
	$(BIN)/python -m server export-cloudformation > deploy/tables.yaml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
