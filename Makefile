# CS Portal — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_ACCOUNTS ?= 300
BENCH_ACCOUNTS ?= 10000
# The suite runs on PostgreSQL (the database that matters); set DATABASE_URL to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cs_portal

.PHONY: install demo test lint format bench bench-pages clean

# Reinstalls only when requirements.txt changed since the last install (the stamp file).
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# A development .env, so plain `.venv/bin/python manage.py …` works; never overwrites one you wrote.
.env:
	printf '# Written by make install for development; see .env.example for production.\nDEBUG=true\n' > $@

install: $(VENV)/.installed .env

# The demo serves its static files as production does: collected, hashed, gzip-compressed
# by WhiteNoise (plotly.min.js: 4.8 MB → 1.4 MB of gzip), not by runserver. With DEBUG on Django links the
# unhashed names, so the demo caches them for an hour; production (DEBUG off) links the hashed names,
# which WhiteNoise serves with `max-age=315360000, public, immutable`.
DEMO_STATIC := STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage WHITENOISE_USE_FINDERS=false WHITENOISE_AUTOREFRESH=false WHITENOISE_MAX_AGE=3600

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --accounts $(DEMO_ACCOUNTS) --if-empty
	$(PY) manage.py recompute --history 365
	$(DEMO_STATIC) $(PY) manage.py collectstatic --noinput -v0
	@echo
	@echo "  CS Portal is running on http://127.0.0.1:$(PORT)/"
	@echo "  Log in as csm, leader or admin — password: demo"
	@echo "  (no Celery beat here: results are as of the recompute above; run 'manage.py recompute' for a new day)"
	@echo
	$(DEMO_STATIC) $(PY) manage.py runserver --nostatic 127.0.0.1:$(PORT)

# Needs PostgreSQL (TEST_DATABASE_URL, or DATABASE_URL) and, for the worker tests, Redis (CELERY_TEST_BROKER).
test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmarks/bench_*.py, each on its own fresh PostgreSQL database; they print their figures.
bench: install
	@set -e; for script in benchmarks/bench_*.py; do \
	  echo "== $$script --accounts $(BENCH_ACCOUNTS)"; $(PY) $$script --accounts $(BENCH_ACCOUNTS); \
	done

# The page benchmark (issue #5) at BENCH_PAGES_ACCOUNTS accounts with a year of daily health scores:
# loads its database once (~15 min at 100,000), then reuses it (migrate + backfill* commands) and
# only times the pages. FRESH=1 reloads.
BENCH_PAGES_ACCOUNTS ?= 100000
bench-pages: install
	$(PY) benchmarks/bench_pages.py --accounts $(BENCH_PAGES_ACCOUNTS) $(if $(FRESH),,--reuse)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
