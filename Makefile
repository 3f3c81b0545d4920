# Two commands matter: `make run` and `make test`. Both set themselves up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Two stamps, so that `make run` installs only what runs (requirements.lock) and the tests,
# checkers and benches add their tools (requirements-dev.lock) on top when first asked for.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp

.PHONY: run test lint typecheck pytest screenshots catalogs bench bench-broadcast bench-cadre bench-cases bench-sentiment bench-appraisal bench-dashboard bench-fairness bench-units migrate clean install install-runtime lock

# A development setup; `make install-runtime` for what `make run` needs alone.
install: $(DEV_STAMP)

install-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) --no-deps --no-build-isolation -e .
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(PIP) -r requirements-dev.lock
	@touch $(DEV_STAMP)

# Re-resolve both lock files from pyproject.toml's ranges (scripts/lock.py says how).
lock: $(RUNTIME_STAMP)
	$(BIN)/python scripts/lock.py

migrate: $(RUNTIME_STAMP)
	$(BIN)/civicpulse db upgrade

# Without TELEGRAM_BOT_TOKEN this starts the local sandbox with demo data.
run: $(RUNTIME_STAMP)
	$(BIN)/civicpulse run

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Redraw the README's pictures (docs/*.png): the browser tests (tests/browser) write them when
# CIVICPULSE_SCREENSHOTS=1, on SQLite alone. They drive Debian's chromium, which .ci/run
# installs with its fonts: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji.
screenshots: $(DEV_STAMP)
	TEST_DATABASE_URL= CIVICPULSE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

# The bot's texts live in gettext catalogs, handlers/locale/<lang>/LC_MESSAGES/civicpulse.po,
# English the source (msgids are the keys the code asks for). After adding, renaming or
# removing keys in the English catalog, `make catalogs` brings every other catalog in line
# (a new key empty, so said in English until translated; a removed one dropped);
# `make catalogs LOCALE=fr` also starts a catalog for a new language. Nothing is compiled:
# handlers.texts reads the .po files.
POT := build/locale/civicpulse.pot
catalogs: $(DEV_STAMP)
	$(BIN)/python scripts/catalog_template.py $(POT)
	$(if $(LOCALE),$(BIN)/pybabel init -i $(POT) -d handlers/locale -D civicpulse -l $(LOCALE))
	$(BIN)/pybabel update -i $(POT) -d handlers/locale -D civicpulse --no-fuzzy-matching \
		--ignore-obsolete

# All benchmarks; the broadcast one alone (about 8 minutes): `make bench-broadcast`,
# quicker with e.g. `make bench-broadcast BENCH_ARGS="--users 300"`. The case bench runs last:
# it fails when a journey misses its target, and must not stop the others.
bench: $(DEV_STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cadre_effort.py
	$(BIN)/python bench/sentiment.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/appraisal.py
	$(BIN)/python bench/broadcast.py $(BENCH_ARGS)
	$(BIN)/python bench/case_effort.py

# Sentiment against ../shared/data/sentiment (about 3 minutes, mostly the SnowNLP baseline).
bench-sentiment: $(DEV_STAMP)
	$(BIN)/python bench/sentiment.py $(BENCH_ARGS)

# A full appraisal run over 1,000,000 responses on SQLite and PostgreSQL (about 10 minutes).
bench-appraisal: $(DEV_STAMP)
	$(BIN)/python bench/appraisal.py $(BENCH_ARGS)

# The dashboard's pages on the 1,000,000-response database on PostgreSQL, served by the real bot
# process, 20 readers at once (about 10 minutes; `BENCH_ARGS=--reuse` keeps the seeded database).
bench-dashboard: $(DEV_STAMP)
	$(BIN)/python bench/dashboard.py $(BENCH_ARGS)

# `units import` of a province (100,000 units) on PostgreSQL and SQLite; choosing a unit in it.
bench-units: $(DEV_STAMP)
	$(BIN)/python bench/units_import.py $(BENCH_ARGS)
	$(BIN)/python bench/unit_tree.py

# Raw means against the project's method on a population with a known truth; ballot stuffing.
bench-fairness: $(DEV_STAMP)
	$(BIN)/python bench/fairness.py $(BENCH_ARGS)

bench-cadre: $(DEV_STAMP)
	$(BIN)/python bench/cadre_effort.py

# A resident's report and a cadre's resolution, each with one photo (about 40 seconds); fails
# (exit status 1) when one misses its target.
bench-cases: $(DEV_STAMP)
	$(BIN)/python bench/case_effort.py $(BENCH_ARGS)

bench-broadcast: $(DEV_STAMP)
	$(BIN)/python bench/broadcast.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .mypy_cache .ruff_cache .pytest_cache
