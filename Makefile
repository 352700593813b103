# The exchange platform. `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
# The app refuses to start without a private SECRET_KEY (outside debug mode). Unless one is set, the targets
# below use a key made once for this copy in instance/secret_key (never committed). Production sets its own:
# see README.md, Production.
DEV_SECRET_KEY_FILE := instance/secret_key
export SECRET_KEY ?= $(shell cat $(DEV_SECRET_KEY_FILE) 2>/dev/null)

.PHONY: run test test-postgres test-browser install install-dev translations translations-update worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(DEV_SECRET_KEY_FILE):
	@mkdir -p $(@D)
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

# Compiled catalogues are built, not committed.
translations: | $(BIN)/python $(DEV_SECRET_KEY_FILE)
	$(BIN)/flask translate compile

translations-update: install-dev | $(DEV_SECRET_KEY_FILE)
	$(BIN)/flask translate update

## Serve the app with demo data on http://127.0.0.1:5000
run: install translations | $(DEV_SECRET_KEY_FILE)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo ""
	@echo "Serving on http://127.0.0.1:5000  (Ctrl+C to stop)"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## Run the whole test suite (SQLite; set TEST_DATABASE_URL for PostgreSQL)
test: install-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install-dev translations
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest --ignore=tests/browser $(PYTEST_ARGS)

test-browser: install-dev translations
	$(BIN)/python -m pytest tests/browser --require-browser $(PYTEST_ARGS)

worker: install translations | $(DEV_SECRET_KEY_FILE)
	$(BIN)/flask worker

clean:
	rm -rf $(VENV) .pytest_cache test-results
	find . -name __pycache__ -prune -exec rm -rf {} +
