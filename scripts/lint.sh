#!/usr/bin/env bash
# `make lint`: ruff (lint + format check) on all Python, pylint-odoo on the addons.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rc=0
echo "[lint] ruff check"; .venv/bin/ruff check . || rc=1
echo "[lint] ruff format --check"; .venv/bin/ruff format --check . || rc=1
echo "[lint] pylint-odoo (19.0 rules)"
# README.rst is generated from the readme/ fragments (OCA's oca-gen-addon-readme).
.venv/bin/pylint --rcfile=.pylintrc --disable=missing-readme addons/* || rc=1
[ $rc -eq 0 ] && echo "[lint] clean"
exit $rc
