#!/usr/bin/env bash
# Run Odoo with the project's venv, odoo.conf and database options: scripts/odoo.sh [odoo args]
# Expects scripts/setup.sh and scripts/pg.sh to have run (the Makefile does that).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$ROOT/.local/odoo.conf" ] || { echo "run scripts/pg.sh ensure first" >&2; exit 1; }
cd "$ROOT"
# Subcommands (shell, i18n export, ...) must come before the options.
command=()
while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do command+=("$1"); shift; done
# .local/odoo.conf is odoo.conf plus the database settings chosen by scripts/pg.sh.
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/odoo-bin" "${command[@]}" -c "$ROOT/.local/odoo.conf" "$@"
