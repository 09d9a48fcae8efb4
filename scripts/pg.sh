#!/usr/bin/env bash
# PostgreSQL for Odoo: `pg.sh ensure` or `pg.sh stop`.
#
# ensure: use the server that odoo.conf (db_host/db_port/db_user/db_password) or the
#   environment (PGHOST, PGPORT, PGUSER, PGPASSWORD) points to, when one is reachable and
#   lets us create databases. Otherwise initialise and start a private cluster in
#   .local/pg, listening only on a unix socket in the project folder. Either way it
#   writes .local/db.env with the Odoo command-line options to reach it.
# stop: stop the private cluster, if this project started one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
PG_DIR="$LOCAL/pg"
DB_ENV="$LOCAL/db.env"
PRIVATE_ROLE=odoo

LOG_TAG=pg
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

conf_value() {  # value of a key in odoo.conf, empty if unset or False
    local v
    v="$(awk -F '=' -v k="$1" '{gsub(/[ \t]/, "", $1)} $1==k {sub(/^[^=]*=[ \t]*/, ""); print; exit}' \
         "$ROOT/odoo.conf" 2>/dev/null || true)"
    case "$v" in False|false|"") echo "" ;; *) echo "$v" ;; esac
}


# Run a command as the cluster owner: initdb and postgres refuse to run as root.
as_owner() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The socket path must stay under the 107-byte limit of unix sockets.
socket_dir() {
    local dir="$PG_DIR/run"
    if [ ${#dir} -gt 80 ]; then
        dir="/tmp/sqs-pg-$(echo -n "$ROOT" | sha256sum | cut -c1-12)"
    fi
    echo "$dir"
}

configured_server_reachable() {
    # Only when something points to a server: odoo.conf or the PG* environment.
    local host port user password
    host="$(conf_value db_host)"; port="$(conf_value db_port)"
    user="$(conf_value db_user)"; password="$(conf_value db_password)"
    [ -n "$host$port$user${PGHOST:-}${PGPORT:-}${PGUSER:-}" ] || return 1
    host="${host:-${PGHOST:-}}"; port="${port:-${PGPORT:-}}"
    user="${user:-${PGUSER:-}}"; password="${password:-${PGPASSWORD:-}}"
    command -v psql >/dev/null 2>&1 || { log "psql missing: cannot check the configured server"; return 1; }
    if ! PGHOST="$host" PGPORT="$port" PGUSER="$user" PGPASSWORD="$password" PGCONNECT_TIMEOUT=3 \
         psql -d postgres -tAc "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user" \
         2>/dev/null | grep -q t; then
        log "configured server (host=${host:-default} port=${port:-default} user=${user:-default}) is not reachable or cannot create databases"
        return 1
    fi
    log "using the configured server (host=${host:-default} port=${port:-default} user=${user:-default})"
    {
        echo "# written by scripts/pg.sh: the configured server"

        echo "export PGHOST=\"$host\" PGPORT=\"$port\" PGUSER=\"$user\" PGPASSWORD=\"$password\""
        echo "PRIVATE_CLUSTER=0"
    } > "$DB_ENV"
    return 0
}

ensure_private_cluster() {
    local bindir sock
    bindir="$(pg_bindir)" || die "no PostgreSQL binaries: install Debian's postgresql (setup does this as root) or point odoo.conf/PGHOST to a server"
    sock="$(socket_dir)"
    mkdir -p "$PG_DIR" "$sock"
    if is_root; then
        chown postgres: "$PG_DIR" "$sock"
        runuser -u postgres -- test -w "$PG_DIR" \
            || die "user postgres cannot reach $PG_DIR (a parent folder is closed to it); point odoo.conf to a server instead"
    fi
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
        log "initialising a private cluster in $PG_DIR/data"
        as_owner "$bindir/initdb" -D "$PG_DIR/data" -U "$PRIVATE_ROLE" -A trust -E UTF8 \
            --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
            || as_owner "$bindir/initdb" -D "$PG_DIR/data" -U "$PRIVATE_ROLE" -A trust -E UTF8 \
                --no-locale >"$PG_DIR/initdb.log" 2>&1 \
            || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
        cat >> "$PG_DIR/data/postgresql.conf" <<EOF
# Added by scripts/pg.sh: a private, socket-only cluster.
listen_addresses = ''
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
EOF
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
        log "starting the private cluster (socket in $sock)"
        as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null \
            || { tail -n 20 "$PG_DIR/server.log" >&2; die "the private cluster did not start"; }
    fi
    {
        echo "# written by scripts/pg.sh: the private cluster in $PG_DIR"

        echo "export PGHOST=\"$sock\" PGPORT=5432 PGUSER=$PRIVATE_ROLE PGPASSWORD="
        echo "PRIVATE_CLUSTER=1"
    } > "$DB_ENV"
}

stop_private_cluster() {
    local bindir
    [ -f "$PG_DIR/data/PG_VERSION" ] || return 0
    bindir="$(pg_bindir)" || return 0
    if as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
        log "stopping the private cluster"
        as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
    fi
}

# .local/odoo.conf: the project's odoo.conf with the database settings chosen above, so
# that every Odoo command (server, shell, i18n) reads them from one file.
write_runtime_config() {
    # shellcheck source=/dev/null
    source "$DB_ENV"
    {
        echo "; generated by scripts/pg.sh from odoo.conf: edit odoo.conf instead"
        grep -vE '^[[:space:]]*(db_host|db_port|db_user|db_password)[[:space:]]*=' "$ROOT/odoo.conf"
        echo "db_host = ${PGHOST:-False}"
        echo "db_port = ${PGPORT:-False}"
        echo "db_user = ${PGUSER:-False}"
        [ -z "${PGPASSWORD:-}" ] || echo "db_password = $PGPASSWORD"
    } > "$LOCAL/odoo.conf"
}

mkdir -p "$LOCAL"
case "${1:-ensure}" in
    ensure) { configured_server_reachable || ensure_private_cluster; } && write_runtime_config ;;
    stop) stop_private_cluster ;;
    *) die "usage: pg.sh ensure|stop" ;;
esac
