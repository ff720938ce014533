# Chợ Quê — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

.PHONY: run serve setup test test-sqlite test-postgres bench lint format translations compile-translations demo clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

compile-translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --use-fuzzy -d translations

setup: $(VENV)/.runtime compile-translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo

run: setup
	@$(FLASK) demo-logins
	@echo "Chợ Quê: http://127.0.0.1:$(PORT)"
	$(BIN)/gunicorn "wsgi:create_app()" --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --access-logfile -

test: $(VENV)/.dev compile-translations
	$(BIN)/python -m tests.run

bench: $(VENV)/.dev compile-translations
	$(BIN)/python -m bench.run

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the direction rule (pyproject.toml [tool.importlinter])

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache
