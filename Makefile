# CS Portal — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_ACCOUNTS ?= 300
# The suite runs on PostgreSQL (the database that matters); override DATABASE_URL to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cs_portal

.PHONY: install demo test lint format bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@test -f .env || printf 'DEBUG=true\n' > .env
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --accounts $(DEMO_ACCOUNTS) --if-empty
	$(PY) manage.py recompute
	@echo
	@echo "  CS Portal is running on http://127.0.0.1:$(PORT)/"
	@echo "  Log in as csm, leader or admin — password: demo"
	@echo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) benchmarks/bench_import_usage.py --accounts 10000
	$(PY) benchmarks/bench_recompute.py --accounts 10000

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
