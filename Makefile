# Papers With Code 2 — one command for each thing people do.
#   make run    the site with demo data and a worker, embedded defaults (SQLite, file broker)
#   make test   the whole test suite
#   make gpu-worker  a remote worker for a site: needs SITE_URL, CELERY_BROKER_URL and WORKER_TOKEN
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := leaderboard.settings

.PHONY: install run gpu-worker test test-fast lint schema chromium bench bench-import bench-api bench-pages bench-reads bench-evaluator bench-pipeline bench-worker clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py load_demo_benchmarks
	@echo "Serving http://127.0.0.1:$(PORT)/paper/adaptive-wing-loss-for-robust-face-alignment (Ctrl-C stops the site and the worker)"
	PORT=$(PORT) bin/run-local

# A worker that lends this machine's GPU (or CPU) to a site: the broker, the site's URL and a token from
# `manage.py create_worker_token NAME` on the site; no database, no shared disk. See the README.
gpu-worker: $(VENV)/.installed
	@test -n "$$SITE_URL" -a -n "$$CELERY_BROKER_URL" -a -n "$$WORKER_TOKEN" || { echo "Set SITE_URL, CELERY_BROKER_URL and WORKER_TOKEN (manage.py create_worker_token NAME on the site)."; exit 2; }
	env -u DJANGO_SETTINGS_MODULE -u DATABASE_URL $(PY) -m celery -A workers.remote worker -Q $${WORKER_QUEUE:-gpu} --pool solo --loglevel INFO -n gpu@%h --without-mingle --without-gossip

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install chromium
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The quick pass: everything but the browser, the multi-process and the shared-cache tests.
test-fast: install
	$(VENV)/bin/pytest -m "not browser and not slow and not shared_cache" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# Regenerate the committed OpenAPI schema after an API change (a test fails while they differ).
# Always on SQLite: integer ranges in the schema follow the database backend.
schema: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/schema.sqlite3 $(PY) manage.py spectacular --validate --fail-on-warn --file schema/openapi.yaml

bench: bench-evaluator bench-import bench-api bench-pages bench-reads bench-pipeline

bench-evaluator: install
	$(PY) benchmarks/evaluator_bench.py

bench-import: install
	$(PY) benchmarks/import_archive.py

bench-api: install
	$(PY) benchmarks/api.py

bench-pages: install
	$(PY) benchmarks/pages.py

# Every web and API read route under 8 clients (BENCH_READS_ARGS="--database-url postgres://… --seconds 2").
bench-reads: install
	$(PY) benchmarks/reads.py $(BENCH_READS_ARGS)

bench-pipeline: install
	$(PY) benchmarks/pipeline.py

bench-worker: install
	$(PY) benchmarks/worker_bench.py

clean:
	rm -rf $(VENV) node_modules var staticfiles test-artifacts
