# Quickstart: `make run` (set up and run the mock), `make test` (set up and run every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LINT_STAMP := tools/lint/node_modules/.installed
PYTEST_ARGS ?=
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: install run test lint lint-spec check contract soak bench clean clients-venv test-clients

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/ecm-mock serve $(ARGS)

$(LINT_STAMP): tools/lint/package-lock.json
	cd tools/lint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Redocly's recommended-strict rules and Spectral's spectral:oas, every warning a failure.
lint-spec: $(LINT_STAMP)
	tools/lint/node_modules/.bin/redocly lint openapi/ecm.yaml openapi/admin.yaml --format=stylish
	tools/lint/node_modules/.bin/spectral lint --ruleset tools/lint/.spectral.yaml \
		--fail-severity=hint openapi/ecm.yaml openapi/admin.yaml

# The client generators (openapi-python-client, openapi-generator) in their own venv, for
# tests/test_generated_clients.py (which makes it itself when missing; Java runs the latter).
CLIENTS_VENV := tools/clients/.venv
CLIENTS_REQUIREMENTS := tools/clients/requirements.txt

clients-venv: $(CLIENTS_VENV)/.installed

$(CLIENTS_VENV)/.installed: $(CLIENTS_REQUIREMENTS)
	rm -rf $(CLIENTS_VENV)
	$(PYTHON) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	$(PYTHON) -c "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest(), end='')" $< > $@

test-clients: $(STAMP) $(LINT_STAMP) clients-venv
	$(BIN)/pytest tests/test_generated_clients.py

lint: $(STAMP)
	$(BIN)/ruff check .

check: $(STAMP)
	$(BIN)/ecm-mock check

# The full contract kit against an in-process mock: JUnit and drift reports in reports/contract.
# The seed is drawn per run and printed (SEED=N replays one).
contract: $(STAMP)
	$(BIN)/ecm-mock contract --report-dir reports/contract $(if $(SEED),--seed $(SEED))

# The kit against the mock with SEEDS seeds drawn one after another; each seed's log and
# reports in reports/soak/SEED. Fails if any seed fails.
SEEDS ?= 10
soak: $(STAMP)
	@mkdir -p reports/soak; fails=0; \
	for i in $$(seq $(SEEDS)); do \
	  seed=$$($(BIN)/python -c 'import secrets; print(secrets.randbelow(2**32))'); \
	  $(BIN)/ecm-mock contract --seed $$seed --report-dir reports/soak/$$seed \
	    > reports/soak/$$seed.log 2>&1; code=$$?; \
	  echo "seed $$seed: exit code $$code"; [ $$code = 0 ] || fails=$$((fails + 1)); \
	done; \
	echo "$$fails of $(SEEDS) seeds failed (logs in reports/soak)"; [ $$fails = 0 ]

# Every test (the slow ones too: wheel, kit, servers).
test: lint lint-spec check contract
	$(BIN)/pytest $(PYTEST_ARGS)

# ecm-mock beside plain Flask (same server, granian WSGI) and Prism, in interleaved rounds (BENCH_ARGS=--quick: smoke run).
# Installs wrk (apt), and on first use Prism (benchmarks/.prism).
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tools/lint/node_modules $(CLIENTS_VENV) benchmarks/.prism dist build reports .pytest_cache .ruff_cache
