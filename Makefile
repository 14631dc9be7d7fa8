# ACS Portal — one command surface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# scripts/run-tests reads these two: workers, and a marker expression (README, "make test").
export TEST_JOBS TEST_MARK

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "ACS Portal needs Python 3.11 (found $$($(PYTHON) --version)). Set PYTHON=/path/to/python3.11."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements/lock-dev.txt
	$(PY) -m pip install --quiet -r requirements/lock-dev.txt
	touch $@

install: $(VENV)/.installed ## Create the virtual environment and install the application

demo: install ## Install, migrate, seed and serve the demo on 127.0.0.1:$(PORT) with a worker and beat
	@scripts/ensure-system-libs
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_seed
	@scripts/run-demo $(PORT)

test: $(VENV)/.installed-dev ## Install what the tests need, lint, and run the whole suite
	@scripts/ensure-chromium
	@scripts/ensure-system-libs
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# Every finding is fixed or explained where it is (# nosec); its notes on those are noise.
	$(VENV)/bin/bandit -q -c pyproject.toml -r acs 2> >(grep -v "nosec encountered" >&2)
	$(PY) manage.py makemigrations --check --dry-run
	scripts/run-tests $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-dev ## The edit loop: every test but the browser and the server-restart ones, in parallel, stop at the first failure
	$(VENV)/bin/pytest -n auto -m "not browser and not serial" -x $(PYTEST_ARGS)

audit: $(VENV)/.installed-dev ## Check the pinned packages against known vulnerabilities (online if reachable, and the packaged database)
	$(PY) scripts/audit

lint: $(VENV)/.installed-dev ## Lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev ## Format the code and fix what ruff can
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: $(VENV)/.installed-dev ## Refresh the Spanish catalogue from the code and compile it (needs gettext)
	cd acs && ../$(PY) ../manage.py makemessages --locale es --no-obsolete --add-location file
	cd acs && ../$(PY) ../manage.py compilemessages --locale es

bench: $(VENV)/.installed-dev ## Run the benchmarks and print their figures
	@ls benchmarks/[!_]*.py >/dev/null 2>&1 && for b in benchmarks/[!_]*.py; do $(PY) $$b; done || echo "No benchmarks yet."

clean: ## Remove the virtual environment and the demo's data (var/)
	rm -rf $(VENV) var

.PHONY: help install demo test test-fast lint format messages bench clean
