# Service Quality Suite: the two commands are `make run` and `make test`.
# Everything generated goes to .local/ and .venv/ (ignored by git).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Restrict Odoo tests, e.g. `make test TEST_TAGS=/service_base`; see README.
TEST_TAGS ?=
PYTEST_ARGS ?=
KEYPADS ?=

.PHONY: help setup run keypads stop test test-core check-python lint format clean

help:
	@echo "make run    set everything up, start Odoo 19 with demo data on http://127.0.0.1:8069"
	@echo "make test   set everything up, run every test (Odoo tests, tours, pytest)"
	@echo "           (make run KEYPADS=1 also starts 6 simulated keypads and the proxy)"
	@echo "make keypads  simulated keypads + hardware_proxy into the running demo"
	@echo "make stop   stop what make run started (Odoo, keypads, proxy, the private PostgreSQL)"
	@echo "make lint   ruff (lint + format check) and pylint-odoo"
	@echo "make test-core  Odoo's own tests of hr, sms, phone_validation, mail, product, portal, resource, web_hierarchy with our addons (part of make test)"
	@echo "make check-python  requirements.txt resolves/installs on Python 3.10-3.13 (part of make test)"
	@echo "make clean  stop, then remove .local/ and .venv/"

setup:
	@scripts/setup.sh
	@scripts/pg.sh ensure

run: setup
	@KEYPADS="$(KEYPADS)" scripts/run.sh

keypads:
	@scripts/keypads.sh

stop:
	@scripts/stop.sh

test: setup check-python
	@TEST_TAGS="$(TEST_TAGS)" PYTEST_ARGS="$(PYTEST_ARGS)" scripts/test.sh

# Odoo's own suites of the modules we extend, on sqs_test (installs our addons if needed).
test-core: setup
	@scripts/test-core.sh

# Every Python the README promises: pip resolves requirements.txt with each interpreter found
# (and installs it once into a throwaway venv), the others are checked by their markers.
check-python:
	@$(if $(wildcard .venv/bin/python),.venv/bin/python,python3) scripts/check_python.py

lint:
	@scripts/setup.sh
	@scripts/lint.sh

format:
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean: stop
	rm -rf .local .venv
