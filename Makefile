# Chợ Quê — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
HOST ?= 127.0.0.1
# Stamps printed by the demo carry this address: it follows PORT unless given (a phone on the
# same Wi-Fi needs the machine's LAN address: see `make run`'s last lines).
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
export PUBLIC_BASE_URL
LAN_IP := $(shell (hostname -I 2>/dev/null || true) | awk '{print $$1}')
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

.PHONY: localstripe run serve setup test test-sqlite test-postgres bench bench-tools lint format translations compile-translations demo clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# localstripe (GPL, a Stripe-compatible server for development and tests) in its own virtualenv:
# the app never imports it, and its dependencies stay out of the app's.
STRIPE_VENV := .venv-stripe
$(STRIPE_VENV)/.installed: requirements-localstripe.txt
	$(PYTHON) -m venv $(STRIPE_VENV)
	$(STRIPE_VENV)/bin/pip install --quiet -r requirements-localstripe.txt
	touch $@

localstripe: $(STRIPE_VENV)/.installed

compile-translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --use-fuzzy -d translations

setup: $(VENV)/.runtime compile-translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo

run: setup localstripe
	@$(FLASK) demo-logins
	@echo "Chợ Quê: http://$(HOST):$(PORT) · stamps and QR codes point to $(PUBLIC_BASE_URL)"
	@echo "To scan the demo stamps with a phone on the same Wi-Fi:"
	@echo "  HOST=0.0.0.0 PUBLIC_BASE_URL=http://$(or $(LAN_IP),<this machine's LAN address>):$(PORT) make run"
	$(BIN)/python -m tests.localstripe http://127.0.0.1:$(PORT)/payments/stripe/webhook -- \
	  $(BIN)/gunicorn "wsgi:create_app()" --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile -

test: $(VENV)/.dev compile-translations localstripe
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

bench: $(VENV)/.dev compile-translations bench-tools localstripe
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m bench.run

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the direction rule (pyproject.toml [tool.importlinter])

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o translations/messages.pot --no-location --sort-output --width=100 .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --width=100

clean:
	rm -rf $(VENV) instance .pytest_cache
