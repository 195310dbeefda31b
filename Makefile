# Quickstart: `make run` (set up and run the mock), `make test` (set up and run every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINT_STAMP := tools/lint/node_modules/.installed
PYTEST_ARGS ?=
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: install run test lint lint-spec check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(BIN)/ecm-mock serve $(ARGS)

$(LINT_STAMP): tools/lint/package-lock.json
	cd tools/lint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-spec: $(LINT_STAMP)
	tools/lint/node_modules/.bin/redocly lint openapi/ecm.yaml --format=stylish

lint: $(STAMP)
	$(BIN)/ruff check .

check: $(STAMP)
	$(BIN)/ecm-mock check

test: lint lint-spec check
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) tools/lint/node_modules dist build reports .pytest_cache .ruff_cache
