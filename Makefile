# Two commands a user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ATELIER_HOST ?= 127.0.0.1
ATELIER_PORT ?= 8000
export ATELIER_HOST ATELIER_PORT

.PHONY: run test lint venv dev-venv migrate demo schema chromium-check job-account

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .   # the `atelier` CLI
	touch $@

venv: $(VENV)/.installed

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

dev-venv: $(VENV)/.dev-installed

# The code's form (ruff: pyflakes, import order, the formatter at 120 columns) and its architecture
# (import-linter: the contracts in pyproject.toml, drawn in docs/architecture.md), and its security (bandit).
lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -c pyproject.toml -r . -q --severity-level medium

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# A root worker runs jobs as this unprivileged account (docs/jobs.md "Who a job runs as").
job-account:
	scripts/job_account.sh

# supervisord (deploy/supervisord.conf) starts again a process that exits; Ctrl-C stops them all.
run: demo job-account
	@mkdir -p var
	@echo ""
	@echo "Atelier is starting at http://$(ATELIER_HOST):$(ATELIER_PORT)/  (Ctrl-C stops every process)"
	@echo ""
	$(VENV)/bin/supervisord -c deploy/supervisord.conf

chromium-check:
	@test -x /usr/bin/chromium || { echo "make test needs Chromium at /usr/bin/chromium for the browser tests: sudo apt-get install -y chromium"; exit 1; }

# Two runs (docs/testing.md "Parallel runs"): the in-process tests on one pytest-xdist worker per core,
# then the tests of real processes (the session's stack, browsers, drills) in one serial run. Exit 5
# ("no test selected", when PYTEST_ARGS names tests of one kind only) counts as passed.
TEST_WORKERS ?= auto
test: dev-venv chromium-check
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -m "not stack and not e2e" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(VENV)/bin/pytest -m "stack or e2e" $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Generated with the embedded settings: integer bounds depend on the database backend.
schema: venv
	env -u DATABASE_URL $(PY) manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn
