#!/usr/bin/env bash
# Run Odoo with the project's venv, odoo.conf and database options: scripts/odoo.sh [odoo args]
# Expects scripts/setup.sh and scripts/pg.sh to have run (the Makefile does that).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$ROOT/.local/db.env" ] || { echo "run scripts/pg.sh ensure first" >&2; exit 1; }
# shellcheck source=/dev/null
source "$ROOT/.local/db.env"
cd "$ROOT"
# ODOO_DB_ARGS is a list of options: split on purpose.
# shellcheck disable=SC2086
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/odoo-bin" -c "$ROOT/odoo.conf" $ODOO_DB_ARGS "$@"
