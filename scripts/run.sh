#!/usr/bin/env bash
# `make run`: create (or upgrade) the demo database, then serve it on 127.0.0.1:8069.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB="${SQS_DEMO_DB:-service_demo}"
PORT="${SQS_HTTP_PORT:-8069}"
# shellcheck source=/dev/null
source "$ROOT/.local/db.env"
ADDONS="$("$ROOT/scripts/addons.sh")"
mkdir -p "$ROOT/.local/run" "$ROOT/.local/log"

if psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    # -i installs addons the database does not have yet, -u updates the others.
    echo "[run] updating $ADDONS in $DB"
    "$ROOT/scripts/odoo.sh" -d "$DB" -i "$ADDONS" -u "$ADDONS" --with-demo --stop-after-init \
        --http-port="$PORT" --log-level=warn
else
    echo "[run] creating $DB with $ADDONS and demo data"
    "$ROOT/scripts/odoo.sh" -d "$DB" -i "$ADDONS" --with-demo --load-language=zh_CN \
        --stop-after-init --http-port="$PORT" --log-level=warn
fi

cat <<MSG

  Service Quality Suite is starting on http://127.0.0.1:$PORT  (database $DB)

  Logins (password = login):
    admin                 Administrator (all rights)
    service.admin         Service Administrator
    west.manager          Service Manager, 西区分公司 (sees its outlets only)
    east.manager          Service Manager, 东区分公司
    service.user          Service User, supervisor of 西客站
    teller.demo           Service User, teller 刘洋 at 西客站 (own sessions only)

  Keypads: make keypads (or make run KEYPADS=1) simulates the 6 demo counters'
  keypads through hardware_proxy; its status page is http://127.0.0.1:8079

  Stop with Ctrl-C or, from another terminal, make stop.

MSG
if [ -n "${KEYPADS:-}" ]; then
    # Waits for Odoo to answer, then runs in the background; make stop ends it.
    "$ROOT/scripts/keypads.sh" &
fi
exec "$ROOT/scripts/odoo.sh" -d "$DB" --db-filter="^$DB\$" --http-port="$PORT" \
    --pidfile="$ROOT/.local/run/odoo.pid"
