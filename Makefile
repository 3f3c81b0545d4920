# Two commands matter: `make run` and `make test`. Both set themselves up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest bench bench-broadcast bench-cadre bench-sentiment bench-appraisal bench-fairness migrate demo clean install

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/civicpulse db upgrade

# Without TELEGRAM_BOT_TOKEN this starts the local sandbox with demo data.
run: $(STAMP)
	$(BIN)/civicpulse run

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

# All benchmarks; the broadcast one alone (about 8 minutes): `make bench-broadcast`,
# quicker with e.g. `make bench-broadcast BENCH_ARGS="--users 300"`.
bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cadre_effort.py
	$(BIN)/python bench/sentiment.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/appraisal.py
	$(BIN)/python bench/broadcast.py $(BENCH_ARGS)

# Sentiment against ../shared/data/sentiment (about 3 minutes, mostly the SnowNLP baseline).
bench-sentiment: $(STAMP)
	$(BIN)/python bench/sentiment.py $(BENCH_ARGS)

# A full appraisal run over 1,000,000 responses on SQLite and PostgreSQL (about 10 minutes).
bench-appraisal: $(STAMP)
	$(BIN)/python bench/appraisal.py $(BENCH_ARGS)

# Raw means against the project's method on a population with a known truth; ballot stuffing.
bench-fairness: $(STAMP)
	$(BIN)/python bench/fairness.py $(BENCH_ARGS)

bench-cadre: $(STAMP)
	$(BIN)/python bench/cadre_effort.py

bench-broadcast: $(STAMP)
	$(BIN)/python bench/broadcast.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .mypy_cache .ruff_cache .pytest_cache
