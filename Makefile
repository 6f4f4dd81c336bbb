# Two commands matter: `make run` (install and run the app) and `make test` (install and test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install install-dev chromium postgresql lint fetch bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when a requirements file changed.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Install and run the app on http://localhost:$(PORT)
run: install
	$(BIN)/streamlit run streamlit_app.py --server.port $(PORT)

## Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Debian's PostgreSQL for the store tests (the suite starts a throwaway server of its own;
## nothing else needs it: `make run` keeps the SQLite file).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql >/dev/null; }

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Install everything and run lint and the whole test suite (browser and PostgreSQL tests included).
test: install-dev chromium postgresql lint
	$(BIN)/python -m pytest -q

## The benchmark suite (about sixteen minutes on 2 cores): prints one table, writes BENCHMARKS.md.
bench: install-dev chromium
	$(BIN)/python -m bench

## One round of the refresher over every topic (for cron, with NEWS_REFRESH=external).
fetch: install
	$(BIN)/python -m lib refresh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
