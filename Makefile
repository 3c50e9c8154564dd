# Mandate — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-dev migrate demo check clean bench faults

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The Python client (clients/python) is installed editable with its MCP extra: its tests
# (tests/client) run in the suite against a live server.
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt clients/python/pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet -e "./clients/python[mcp]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, load the demo and start web + worker + beat (Ctrl-C stops all)
run: install
	HOST=$(HOST) PORT=$(PORT) bin/run-dev

## migrate: migrate as the tables' owner (MIGRATE_DATABASE_URL), then grant the app role (DATABASE_URL)
migrate: install
	PY=$(PY) bin/migrate

## test: install the test tools and run the whole suite
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: install-dev
	$(PY) manage.py makemigrations --check --dry-run --settings=governance.settings_test
	$(VENV)/bin/ruff check .
	cd clients/python && ../../$(VENV)/bin/mypy src

clean:
	rm -rf var staticfiles .pytest_cache

## bench: measure the hot paths against a bare DRF reference (QUICK=1: a few seconds a figure)
bench: install-dev
	$(PY) -m bench $(if $(QUICK),--quick)

## faults: break Redis, workers, web processes, PostgreSQL and the ticket system under load;
## check nothing is lost, doubled or a 5xx (QUICK=1: a few minutes; docs/operations.md)
faults: install-dev
	$(PY) -m faults $(if $(QUICK),--quick)
