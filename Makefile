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
# Where `make run` keeps the embedded store's data; `make run EMBEDDED_DATA_DIR=`: memory only.
EMBEDDED_DATA_DIR ?= .data

.PHONY: run test lint schema cloudformation bench lock playground clean reset-data

# The pip wheel this Python ships for ensurepip (in ensurepip/_bundled, or where a distribution
# keeps it: Debian's python3-venv, /usr/share/python-wheels). Run as it is, it puts that pip
# and uv into a venv made without pip, compiling nothing: `python -m venv` would have
# ensurepip install pip and setuptools and compile them, a third of the CPU of a first
# `make run` (see "What the first run costs"). Without the wheel, pip comes the usual way.
WHEEL_DIR = $(shell $(PYTHON) -c 'import ensurepip, os; print(getattr(ensurepip, "_WHEEL_PKG_DIR", None) or os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"))' 2>/dev/null)
BUNDLED_PIP = $(firstword $(wildcard $(WHEEL_DIR)/pip-*.whl))
PIP_INSTALL := install --quiet --disable-pip-version-check --no-compile
UV_REQUIREMENT := 'uv$(if $(UV_VERSION),==$(UV_VERSION))'

$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(if $(BUNDLED_PIP),$(BIN)/python $(BUNDLED_PIP)/pip $(PIP_INSTALL) \
		--find-links $(dir $(BUNDLED_PIP)) pip==$(word 2,$(subst -, ,$(notdir $(BUNDLED_PIP)))) $(UV_REQUIREMENT),\
		$(BIN)/python -m ensurepip --default-pip && $(BIN)/python -m pip $(PIP_INSTALL) $(UV_REQUIREMENT))

$(RUN_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra embedded
	touch $@

$(DEV_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra embedded --extra dev
	touch $@

run: $(RUN_STAMP)
	EMBEDDED_DATA_DIR='$(EMBEDDED_DATA_DIR)' $(BIN)/python -m server serve --host $(HOST) --port $(PORT)

# Forget what `make run` kept (stop the server first).
reset-data:
	rm -rf .data

# The playground's browser test drives Debian's chromium (never a browser of Playwright's own):
# installed here when missing and this machine lets us (root, apt-get); elsewhere that test
# fails saying what to install, or use PLAYWRIGHT_CHROMIUM=/path/to/chromium.
define ENSURE_CHROMIUM
if [ -z "$${PLAYWRIGHT_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 \
	&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	echo "installing Debian's chromium for the playground's browser test"; \
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
fi
endef

test: $(DEV_STAMP)
	@$(ENSURE_CHROMIUM)
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
	$(BIN)/python bench/subscriptions.py --write BENCHMARKS.md
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

# The playground's GraphiQL, React and ReactDOM builds, downloaded from the npm registry as
# playground/package-lock.json pins them, checked against its integrity, written with a
# manifest into server/playground/assets/ (stdlib only: no venv needed).
playground:
	$(PYTHON) -m server.playground.vendor

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
