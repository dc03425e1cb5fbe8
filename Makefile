# Patchbay developer entry points. Everything runs from the project's own virtualenv (.venv).
#   make run    - set up and start web + worker + beat in the foreground (demo mode, http://127.0.0.1:8000/)
#   make test   - set up, then ruff, mypy, import-linter and pytest; stops at the first failing stage
#   make assets - vendor the UI's front-end libraries (bpmn-js, htmx, Chart.js) from npm into apps/ui/static/ui/vendor/
#   make bench  - the benchmark (PostgreSQL + Redis, its own database patchbay_bench; docs/performance.md)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MANAGE := $(PY) manage.py
PORT ?= 8000
FMT_PATHS ?= .
export PORT
RUNTIME_STAMP := $(VENV)/.patchbay-runtime.stamp
DEV_STAMP := $(VENV)/.patchbay-dev.stamp
# mypy's Django plugin imports the settings, which demand a SECRET_KEY outside demo/DEBUG/pytest runs.
TYPECHECK_ENV := SECRET_KEY=typecheck-only-not-a-secret

.PHONY: help dirs run prepare test lint typecheck importlint pytest fmt venv install install-dev clean-venv \
	conformance conformance-docs assets clean-assets screenshots bench

# Front-end libraries come from the npm registry (package-lock.json) and are copied into the static
# files; the pages never load anything from a CDN. The stamp skips all of it while nothing changed.
VENDOR := apps/ui/static/ui/vendor
ASSETS_STAMP := $(VENDOR)/.assets.stamp

help:
	@echo "make run        start Patchbay (web, worker, beat) on http://127.0.0.1:$(PORT)/ in demo mode"
	@echo "make test       ruff, mypy, import-linter, pytest (stops at the first failure)"
	@echo "make assets     vendor bpmn-js, htmx and Chart.js from npm into $(VENDOR)/"
	@echo "make screenshots  re-take docs/screenshots/*.png with the browser tests"
	@echo "make lint | typecheck | importlint | pytest | fmt"
	@echo "make bench      benchmark B1-B6 on PostgreSQL + Redis (BENCH_ARGS='--short', '--workloads B1,B3 --profile')"
	@echo "make conformance       run betsy + MIWG through the engine, print per-test results and totals"
	@echo "make conformance-docs  also rewrite tests/conformance/summary.json and docs/bpmn-support.md"

# --- environment --------------------------------------------------------------------------------
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patchbay needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file changed since the last successful install.
$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP) install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

venv: $(PY)
install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

dirs:
	@d="$${PATCHBAY_VAR_DIR:-var}"; mkdir -p "$$d/broker/out" "$$d/broker/processed" "$$d/broker/control"

# --- front-end assets ---------------------------------------------------------------------------
$(ASSETS_STAMP): package.json $(wildcard package-lock.json) Makefile
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is needed for the UI assets (apt-get install nodejs npm)" >&2; exit 1; }
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	 else npm install --no-audit --no-fund --loglevel=error; fi
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/bpmn-js
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/assets
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/bpmn-js/LICENSE $(VENDOR)/bpmn-js/LICENSE
	@touch $@

assets: $(ASSETS_STAMP)

clean-assets:
	rm -rf $(VENDOR)

# --- running ------------------------------------------------------------------------------------
run prepare: export PATCHBAY_DEMO := true

prepare: $(RUNTIME_STAMP) dirs assets
	$(MANAGE) migrate --noinput
	$(MANAGE) ensure_groups
	@if $(MANAGE) help deploy_processes >/dev/null 2>&1; then \
		$(MANAGE) deploy_processes; \
	else \
		echo "note: manage.py deploy_processes is not available yet; no shipped processes deployed"; \
	fi
	$(MANAGE) seed_demo_users
	$(MANAGE) collectstatic --noinput -v 0

run: prepare
	exec $(PY) scripts/run_stack.py

# --- quality ------------------------------------------------------------------------------------
test: $(DEV_STAMP) assets
	@echo "==> ruff" && $(VENV)/bin/ruff check .
	@echo "==> mypy" && $(TYPECHECK_ENV) $(VENV)/bin/mypy bpmn apps
	@echo "==> import-linter" && $(VENV)/bin/lint-imports
	@echo "==> pytest" && $(VENV)/bin/pytest

# Re-take docs/screenshots/*.png (referenced from README.md) by running the browser tests.
screenshots: $(DEV_STAMP) assets
	PATCHBAY_SCREENSHOTS=1 $(VENV)/bin/pytest tests/browser

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(DEV_STAMP)
	$(TYPECHECK_ENV) $(VENV)/bin/mypy bpmn apps

importlint: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP) assets
	$(VENV)/bin/pytest $(PYTEST_ARGS)

fmt: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix --select I $(FMT_PATHS)
	$(VENV)/bin/ruff format $(FMT_PATHS)

# --- benchmark (docs/performance.md): its own database and Redis database number, real workers ----
BENCH_ARGS ?=
bench: $(DEV_STAMP)
	SECRET_KEY="$${SECRET_KEY:-bench-only-not-a-secret}" $(MANAGE) bench $(BENCH_ARGS)

# --- conformance (corpus: ../shared/conformance or $$PATCHBAY_CONFORMANCE_DIR) ----------------------
conformance: $(DEV_STAMP)
	$(TYPECHECK_ENV) $(MANAGE) conformance --write --check-floors

conformance-docs: $(DEV_STAMP)
	$(TYPECHECK_ENV) $(MANAGE) conformance --write-docs --quiet

clean-venv:
	rm -rf $(VENV)
