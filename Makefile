# Patchbay developer entry points. Everything runs from the project's own virtualenv (.venv).
#   make run    - set up and start web + worker + beat in the foreground (demo mode, http://127.0.0.1:8000/)
#   make test   - set up, then ruff, mypy, import-linter and pytest; stops at the first failing stage
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

.PHONY: help dirs run prepare test lint typecheck importlint pytest fmt venv install install-dev clean-venv

help:
	@echo "make run        start Patchbay (web, worker, beat) on http://127.0.0.1:$(PORT)/ in demo mode"
	@echo "make test       ruff, mypy, import-linter, pytest (stops at the first failure)"
	@echo "make lint | typecheck | importlint | pytest | fmt"

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

# --- running ------------------------------------------------------------------------------------
run prepare: export PATCHBAY_DEMO := true

prepare: $(RUNTIME_STAMP) dirs
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
test: $(DEV_STAMP)
	@echo "==> ruff" && $(VENV)/bin/ruff check .
	@echo "==> mypy" && $(TYPECHECK_ENV) $(VENV)/bin/mypy bpmn apps
	@echo "==> import-linter" && $(VENV)/bin/lint-imports
	@echo "==> pytest" && $(VENV)/bin/pytest

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(DEV_STAMP)
	$(TYPECHECK_ENV) $(VENV)/bin/mypy bpmn apps

importlint: $(DEV_STAMP)
	$(VENV)/bin/lint-imports

pytest: $(DEV_STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

fmt: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix --select I $(FMT_PATHS)
	$(VENV)/bin/ruff format $(FMT_PATHS)

clean-venv:
	rm -rf $(VENV)
