#!/usr/bin/env bash
# `make test-core`: Odoo's own test suites of the Odoo modules we extend or depend on, on a
# database with our addons installed (default: sqs_test, which `make test` has just built;
# our tests roll back). Installs our addons first if that database lacks them.
#
# The registry is fully loaded (our modules included) before any test runs: see
# scripts/core_tests.py for why `odoo --test-tags /hr` on such a database is meaningless.
#
# Ends with "[test-core] N passed, N failed" and exits non-zero when any test fails or
# errors, when the run has no odoo.tests.result line, or when no test ran.
# CORE_KNOWN=0 runs the known failures too. CORE_BARE=1 runs the same suites, known failures
# included, on sqs_core_bare: the same Odoo modules and demo data WITHOUT our addons (built
# when missing), which is how each known failure below was shown not to be ours.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
source "$ROOT/.local/db.env"
DB="${SQS_TEST_DB:-sqs_test}"
[ "${CORE_BARE:-0}" = 1 ] && { DB=sqs_core_bare; CORE_KNOWN=0; }
LOG="$ROOT/.local/log/odoo-core-tests.log"
ADDONS="$("$ROOT/scripts/addons.sh")"
mkdir -p "$(dirname "$LOG")"

# Python suites of hr, sms, phone_validation, mail (mail's own tests; the big test_mail*
# modules are not installed), product, portal and resource (service_dispatch), and web_hierarchy's JS (hoot)
# tests, which web's unit-test page runs in Chrome. base and web are not run: about 1,000
# tests and several minutes more.
# CORE_MODULES / CORE_TAGS narrow it (e.g. CORE_MODULES=hr CORE_TAGS=/hr:TestSelfAccessRights).
MODULES="${CORE_MODULES:-hr,sms,phone_validation,mail,product,portal,resource,web}"
TAGS="${CORE_TAGS:-/hr,/sms,/phone_validation,/mail,/product,/portal,/resource,/web:WebSuite.test_unit_desktop[@web_hierarchy]}"

# Known failures: they fail the same way on a database WITHOUT our addons (same modules,
# same demo data, same runner; checked with CORE_BARE=1), so they
# belong to the packaged Odoo 19, its Python libraries or its test order, not to us.
# Keep this list short; README says the same.
KNOWN=(
    # HTML comes out as <span> where Odoo 19's tests expect <p>, and QWeb keeps a stray
    # attribute (aa=""): most likely our newer lxml 6.1 / libxml2 2.14 (requirements.txt).
    -/sms:TestSMSComposerComment.test_message_post_sms_vs_notification
    -/sms:TestSMSComposerComment.test_message_sms_body_sms_vs_notification
    -/mail:TestDiscussMessageUpdateController.test_message_update_guest_as_owner
    -/mail:TestDiscussMessageUpdateController.test_message_update_public_channel
    -/mail:TestRegexRendering.test_qweb_regex_rendering
    -/mail:TestMailTemplate.test_mail_template_acl
    # An at_install test of mail written for a database without hr (Odoo runs it before hr
    # is installed): with hr, the user cannot switch to portal ("exclusive groups").
    -/mail:TestPartner.test_log_portal_group
)
if [ "${CORE_KNOWN:-1}" = 1 ] && [ ${#KNOWN[@]} -gt 0 ]; then
    TAGS="$TAGS,$(IFS=,; echo "${KNOWN[*]}")"
fi

free_port() {
    "$ROOT/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

installed="$(psql -d "$DB" -Atc "SELECT count(*) FROM ir_module_module
    WHERE state = 'installed' AND name = ANY(string_to_array('$ADDONS', ','))" 2>/dev/null || true)"
if [ "${CORE_BARE:-0}" = 1 ]; then
    if [ "$installed" != 0 ] || ! psql -d "$DB" -c '' >/dev/null 2>&1; then
        echo "[test-core] building $DB: Odoo's modules we use, with demo data, without our addons"
        dropdb --if-exists "$DB" >/dev/null
        "$ROOT/scripts/odoo.sh" -d "$DB" -i mail,web_hierarchy,hr,sms,product --with-demo --stop-after-init \
            --http-port="$(free_port)" --workers=0 --max-cron-threads=0 --log-level=warn \
            >"$LOG" 2>&1 || { tail -n 30 "$LOG"; exit 1; }
        # What service_base's manifest does (Debian's +dfsg repack strips this file; every
        # backend page and tour would fail on it): the only difference in the environment.
        psql -d "$DB" -qc "INSERT INTO ir_asset (name, bundle, directive, path, active, sequence)
            VALUES ('selfie_segmentation is not packaged', 'web.assets_backend', 'remove',
                    'mail/static/lib/selfie_segmentation/selfie_segmentation.js', true, 16)"
    fi
elif [ "$installed" != "$(tr ',' '\n' <<<"$ADDONS" | wc -l)" ]; then
    echo "[test-core] installing our addons into $DB"
    dropdb --if-exists "$DB" >/dev/null
    "$ROOT/scripts/odoo.sh" -d "$DB" -i "$ADDONS" --with-demo --stop-after-init \
        --http-port="$(free_port)" --workers=0 --max-cron-threads=0 --log-level=warn \
        >"$LOG" 2>&1 || { tail -n 30 "$LOG"; echo "[test-core] 0 passed, 1 failed"; exit 1; }
fi

echo "[test-core] Odoo's own tests on $DB: $TAGS"
t0=$SECONDS
"$ROOT/.venv/bin/python" "$ROOT/scripts/core_tests.py" "$DB" "$TAGS" "$MODULES" \
    -c "$ROOT/.local/odoo.conf" --http-port="$(free_port)" --max-cron-threads=0 --log-level=info \
    >"$LOG" 2>&1
rc=$?
grep -E 'odoo\.addons\.[a-z_.]+: (FAIL|ERROR): ' "$LOG" \
    | sed -E 's/.*odoo\.addons\.([a-z_]+)\.tests[a-z_.]*: /[test-core] \1: /' | cut -c1-200
result="$(grep -E 'odoo\.tests\.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG" | tail -n1)"
if [ -z "$result" ]; then
    tail -n 30 "$LOG"
    echo "[test-core] FAILED: no odoo.tests.result line (exit $rc); see $LOG"
    echo "[test-core] 0 passed, 1 failed"
    exit 1
fi
read -r failed errors total < <(echo "$result" \
    | sed -E 's/.*result: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')
failed=$((failed + errors)); passed=$((total - failed))
echo "[test-core] $((SECONDS - t0)) s, exit $rc, log $LOG"
if [ "$total" -eq 0 ]; then
    echo "[test-core] FAILED: no test ran"; failed=1
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "[test-core] FAILED: exit $rc"; failed=1
fi
echo "[test-core] $passed passed, $failed failed"
[ "$failed" -eq 0 ]
