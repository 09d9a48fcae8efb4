#!/usr/bin/env bash
# `make keypads` (or `make run KEYPADS=1`): the demo's six counter keypads, simulated on
# pseudo-terminals, pressing keys at random, through a real hardware_proxy into the
# demo database served by `make run`. Status page: http://127.0.0.1:8079
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB="${SQS_DEMO_DB:-service_demo}"
PORT="${SQS_HTTP_PORT:-8069}"
RATE="${KEYPAD_RATE:-6}"   # customers per minute per keypad
WORK="$ROOT/.local/proxy"
SERIALS="EV-XKZ-01,EV-XKZ-02,EV-XKZ-03,EV-CGZ-01,EV-CGZ-02,EV-CGZ-03"
mkdir -p "$WORK" "$ROOT/.local/run"

for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/web/health" >/dev/null && break
    sleep 1
done
curl -sf "http://127.0.0.1:$PORT/web/health" >/dev/null \
    || { echo "[keypads] Odoo is not answering on port $PORT: start it with make run" >&2; exit 1; }

if [ ! -s "$WORK/api_key" ]; then
    echo "[keypads] creating a device key for the demo device user keypad.proxy"
    "$ROOT/scripts/odoo.sh" shell -d "$DB" --no-http --log-level=warn <<'PY' | sed -n 's/^APIKEY=//p' > "$WORK/api_key"
from datetime import timedelta
from odoo import fields
user = env.ref("service_evaluation.user_keypad_proxy_demo")
key = user._service_device_key_generate("make keypads", fields.Datetime.now() + timedelta(days=365))
env.cr.commit()
print("APIKEY=" + key)
PY
    chmod 600 "$WORK/api_key"
fi

# Simulator first: it prints "SERIAL PATH" per keypad once the pseudo-terminals exist.
"$ROOT/.venv/bin/python" -m keypad_simulator --serials "$SERIALS" --pty \
    --link-dir "$WORK/tty" --random "$RATE" -q > "$WORK/simulator.out" 2> "$WORK/simulator.log" &
echo $! > "$ROOT/.local/run/simulator.pid"
for _ in $(seq 50); do [ "$(wc -l < "$WORK/simulator.out")" -ge 6 ] && break; sleep 0.2; done
ports="$(awk '{printf "%s\"%s\"", (NR > 1 ? ", " : ""), $2}' "$WORK/simulator.out")"

cat > "$WORK/proxy.toml" <<TOML
[odoo]
url = "http://127.0.0.1:$PORT"
database = "$DB"
api_key_file = "api_key"
[outbox]
path = "outbox.sqlite3"
[ports]
urls = [$ports]
[status]
port = 8079
[log]
format = "text"
TOML
"$ROOT/.venv/bin/python" -m hardware_proxy --config "$WORK/proxy.toml" >> "$WORK/proxy.log" 2>&1 &
echo $! > "$ROOT/.local/run/proxy.pid"
echo "[keypads] 6 simulated keypads → hardware_proxy → $DB; status http://127.0.0.1:8079 (logs in $WORK)"
