#!/usr/bin/env bash
# `make test`: every Odoo test of our addons on a fresh database, then pytest tests/.
#
# Ends with one line "N passed, N failed" and exits non-zero when
#   - any test fails or errors,
#   - the Odoo run ends without its odoo.tests.result line,
#   - no test ran at all (Odoo exits 0 when --test-tags matches nothing).
#
# Then scripts/test-core.sh runs Odoo's own suites of the modules we extend on the same
# database (skipped when TEST_TAGS narrows the run, or with SKIP_CORE=1).
#
# TEST_TAGS narrows the Odoo run (default: all our addons), PYTEST_ARGS is passed to
# pytest, SKIP_PYTEST=1 / SKIP_ODOO=1 skip a half.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
source "$ROOT/.local/db.env"
DB="${SQS_TEST_DB:-sqs_test}"
LOG_DIR="$ROOT/.local/log"
ODOO_LOG="$LOG_DIR/odoo-tests.log"
JUNIT="$LOG_DIR/pytest.xml"
ADDONS="$("$ROOT/scripts/addons.sh")"
DEFAULT_TAGS="$(echo "$ADDONS" | sed 's/^/\//; s/,/,\//g')"
TEST_TAGS="${TEST_TAGS:-$DEFAULT_TAGS}"
mkdir -p "$LOG_DIR"

free_port() {
    "$ROOT/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

odoo_passed=0; odoo_failed=0; problems=()

if [ "${SKIP_ODOO:-0}" != 1 ]; then
    echo "[test] fresh database $DB; Odoo tests: $TEST_TAGS"
    dropdb --if-exists "$DB" >/dev/null
    port="$(free_port)"
    "$ROOT/scripts/odoo.sh" -d "$DB" -i "$ADDONS" --with-demo --test-tags "$TEST_TAGS" \
        --http-port="$port" --stop-after-init --log-level=info --workers=0 --max-cron-threads=0 \
        >"$ODOO_LOG" 2>&1 &
    odoo_pid=$!
    # Show progress without drowning the terminal: test results, failures and errors.
    tail -n +1 -f "$ODOO_LOG" --pid="$odoo_pid" 2>/dev/null \
        | grep --line-buffered -E ' (ERROR|CRITICAL) |odoo\.tests\.(result|stats)|^(FAIL|ERROR):|Ran [0-9]+ tests|Starting Test|: test_' \
        | grep --line-buffered -vE 'odoo\.addons\.[a-z_]+\.tests\.[a-z_]+: test_[a-z0-9_]+ \(' || true
    wait "$odoo_pid"; odoo_rc=$?
    result="$(grep -E 'odoo\.tests\.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$ODOO_LOG" | tail -n1)"
    if [ -z "$result" ]; then
        problems+=("the Odoo run ended without its odoo.tests.result line (exit $odoo_rc); see $ODOO_LOG")
        tail -n 30 "$ODOO_LOG"
        odoo_failed=$((odoo_failed + 1))
    else
        read -r failed errors total < <(echo "$result" \
            | sed -E 's/.*result: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')
        odoo_failed=$((failed + errors))
        odoo_passed=$((total - odoo_failed))
        echo "[test] Odoo: $odoo_passed passed, $odoo_failed failed or errored, of $total (exit $odoo_rc)"
        [ "$total" -gt 0 ] || problems+=("Odoo ran 0 tests for --test-tags '$TEST_TAGS'")
        [ "$odoo_rc" -eq 0 ] || [ "$odoo_failed" -gt 0 ] || {
            problems+=("Odoo exited $odoo_rc; see $ODOO_LOG"); odoo_failed=$((odoo_failed + 1)); }
    fi
fi

py_passed=0; py_failed=0
if [ "${SKIP_PYTEST:-0}" != 1 ]; then
    echo "[test] pytest tests/ (Odoo database $DB)"
    rm -f "$JUNIT"
    # shellcheck disable=SC2086
    SQS_TEST_DB="$DB" "$ROOT/.venv/bin/python" -m pytest "$ROOT/tests" -p no:cacheprovider \
        --junitxml="$JUNIT" -q ${PYTEST_ARGS:-}
    py_rc=$?
    if [ -f "$JUNIT" ]; then
        read -r py_passed py_failed < <("$ROOT/.venv/bin/python" - "$JUNIT" <<'EOF'
import sys
import xml.etree.ElementTree as ET
tests = failed = skipped = 0
for suite in ET.parse(sys.argv[1]).getroot().iter("testsuite"):
    tests += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
print(tests - failed - skipped, failed)
EOF
)
    fi
    if [ "$py_rc" -ne 0 ] && [ "$py_rc" -ne 5 ] && [ "$py_failed" -eq 0 ]; then
        problems+=("pytest exited $py_rc"); py_failed=1
    fi
fi

core_passed=0; core_failed=0
if [ "${SKIP_CORE:-0}" != 1 ] && [ "$TEST_TAGS" = "$DEFAULT_TAGS" ]; then
    SQS_TEST_DB="$DB" "$ROOT/scripts/test-core.sh" | tee "$LOG_DIR/test-core.out"
    core_rc=${PIPESTATUS[0]}
    core="$(grep -E '^\[test-core\] [0-9]+ passed, [0-9]+ failed$' "$LOG_DIR/test-core.out" | tail -n1)"
    read -r core_passed core_failed < <(echo "$core" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed$/\1 \2/')
    [ -n "$core" ] || { core_passed=0; core_failed=1; problems+=("test-core gave no summary"); }
    [ "$core_rc" -eq 0 ] || [ "$core_failed" -gt 0 ] || {
        problems+=("test-core exited $core_rc"); core_failed=1; }
fi

passed=$((odoo_passed + py_passed + core_passed)); failed=$((odoo_failed + py_failed + core_failed))
echo "[test] ours (Odoo) $odoo_passed passed, $odoo_failed failed; pytest $py_passed passed, $py_failed failed;" \
    "Odoo's own suites $core_passed passed, $core_failed failed"
[ "$passed" -gt 0 ] || problems+=("no test ran")
for problem in "${problems[@]}"; do echo "[test] FAILED: $problem"; done
# A run with problems never reports "0 failed".
[ ${#problems[@]} -eq 0 ] || [ "$failed" -gt 0 ] || failed=${#problems[@]}
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#problems[@]} -eq 0 ]
