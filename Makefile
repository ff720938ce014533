# Chợ Quê — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

.PHONY: run serve setup test test-sqlite test-postgres bench bench-tools lint format translations compile-translations demo clean

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

# wrk (load) and nginx (two-host benchmark) come from Debian; installed when possible
# (root + apt-get, BENCH_INSTALL=0 to never install), otherwise the benchmarks say what they
# skipped: a Python load generator stands in for wrk, the two-host benchmark needs nginx.
bench-tools:
	@for tool in wrk nginx; do \
	  if PATH="$$PATH:/usr/sbin" command -v $$tool >/dev/null; then echo "bench: $$tool found"; \
	  elif [ "$(BENCH_INSTALL)" != "0" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "bench: installing $$tool (Debian package)"; \
	    apt-get install -y -qq --no-install-recommends $$tool >/dev/null 2>&1 \
	    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends $$tool >/dev/null 2>&1; } \
	    || echo "bench: could not install $$tool: going on without it"; \
	  else echo "bench: $$tool missing (apt-get install $$tool as root): going on without it"; fi; \
	done

bench: $(VENV)/.dev compile-translations bench-tools
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m bench.run

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache
