# The two commands a developer needs: `make run` and `make test`. Everything else is set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS_VENV := .venv-tools
export TF_CLI_CONFIG_FILE := /dev/null
export CHECKPOINT_DISABLE := 1

.PHONY: run test test-fast bench bench-keys bench-flood instructions lint setup clean chromium

# @: nothing is printed before run_local has checked its ports (PORT, FIRESTORE_EMULATOR_PORT,
# FIREBASE_AUTH_EMULATOR_PORT).
run: $(VENV)/.runtime node_modules/.installed  ## serve /models locally on the emulators
	@$(VENV)/bin/python -m local_harness.run_local

test: $(VENV)/.dev $(TOOLS_VENV)/.installed node_modules/.installed chromium  ## every test CI runs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest

# The edit-test loop: lint, types and every test but the slow ones (load, outage, make run end to
# end) and the infra scanners. `make test` remains what CI runs.
test-fast: $(VENV)/.dev node_modules/.installed  ## quick loop: no slow tests, no infra scanners
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -m "not slow" --ignore=tests/infra $(ARGS)

bench: $(VENV)/.dev node_modules/.installed  ## throughput/latency/cold start vs. the server's limit; held bodies
	$(VENV)/bin/python bench/run_bench.py $(ARGS)
	$(VENV)/bin/python bench/key_verification.py
	$(VENV)/bin/python bench/key_flood.py
	$(VENV)/bin/python bench/slow_bodies.py

bench-keys: $(VENV)/.dev node_modules/.installed  ## API keys: reads at scale (simulation), memory, a frozen Firestore
	$(VENV)/bin/python bench/key_verification.py

bench-flood: $(VENV)/.dev node_modules/.installed  ## unknown-key flood from many addresses: valid-key p99 vs idle, reads/s vs budget
	$(VENV)/bin/python bench/key_flood.py

instructions: $(VENV)/.dev node_modules/.installed  ## per-request instruction counts (valgrind; ARGS=--parts: each part)
	$(VENV)/bin/python bench/count_instructions.py $(ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

setup: $(VENV)/.dev $(TOOLS_VENV)/.installed node_modules/.installed

$(VENV)/.runtime: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(TOOLS_VENV)/.installed: requirements-infra.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

# tests/browser drives a real headless Chromium: the OS package, installed when missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS_VENV) node_modules .run
