PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# Where `make run` serves: `make run PORT=8080`, `make run HOST=localhost`.
HOST ?= 127.0.0.1
PORT ?= 8000
# One stamp per set of extras; each is rebuilt when pyproject.toml or the lock changes.
RUN_STAMP := $(VENV)/.installed-embedded
DEV_STAMP := $(VENV)/.installed-embedded-dev
# The uv the lock pins (it is in the dev extra), so `make` bootstraps the same one it syncs.
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
# Install from the lock as it is (--locked: fail if pyproject.toml has changed without
# `make lock`); --inexact: add and update, never remove what someone installed by hand.
SYNC := $(UV) sync --locked --inexact --no-python-downloads

.PHONY: run test lint schema cloudformation bench lock clean

$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv$(if $(UV_VERSION),==$(UV_VERSION))'

$(RUN_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra embedded
	touch $@

$(DEV_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra embedded --extra dev
	touch $@

run: $(RUN_STAMP)
	$(BIN)/python -m server serve --host $(HOST) --port $(PORT)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy server tests

bench: $(DEV_STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/dashboard.py --ops 20 --write BENCHMARKS.md
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/cost.py --write BENCHMARKS.md
	$(BIN)/python bench/reads.py --write BENCHMARKS.md
	$(BIN)/python bench/peers.py --write BENCHMARKS.md
	$(BIN)/python bench/install_size.py --write BENCHMARKS.md
	$(BIN)/python bench/first_run.py --write BENCHMARKS.md

schema: $(DEV_STAMP)
	$(BIN)/python -m server export-schema > schema.graphql

cloudformation: $(DEV_STAMP)
	$(BIN)/python -m server export-cloudformation > deploy/tables.yaml

# Re-resolve after a change to the dependencies in pyproject.toml (pins that still satisfy it
# stay; `$(UV) lock --upgrade` moves them all), then write the runtime requirements that
# pip-only builds (Lambda, container) install from.
lock: | $(UV)
	$(UV) lock
	$(UV) export --frozen --no-emit-project --format requirements-txt --quiet \
		--output-file requirements/runtime.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
