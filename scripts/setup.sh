#!/usr/bin/env bash
# Idempotent setup: Odoo 19, the virtualenv and the system tools.
#
# Everything it makes lives in .local/ and .venv/ (both ignored by git). Each step
# leaves a stamp, so a second run on a ready machine only checks the stamps.
#
# Routes to Odoo 19, first match wins:
#   1. ODOO_SRC points to an Odoo 19 source tree (the folder holding odoo/release.py);
#   2. `odoo` 19 is already importable by python3;
#   3. Debian's `odoo-19` package from the `sid` suite, downloaded with a private apt
#      configuration and extracted into .local/odoo-root (no root needed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
ODOO_ROOT="$LOCAL/odoo-root"          # dpkg -x prefix
APT_DIR="$LOCAL/apt"                  # private apt config, lists and cache

LOG_TAG=setup
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

mkdir -p "$LOCAL"

# ---------------------------------------------------------------- system tools
# Only root may install; everyone else is told what is missing and what it disables.
APT_UPDATED=""
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update (system sources)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}


setup_system_tools() {
    local missing=()
    command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 \
        || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
    command -v wkhtmltopdf >/dev/null 2>&1 || missing+=(wkhtmltopdf)
    pg_bindir >/dev/null || missing+=(postgresql)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    [ ${#missing[@]} -eq 0 ] && return
    if is_root; then
        # fonts-noto-cjk: Chinese glyphs in PDF reports and browser screenshots.
        apt_install "${missing[@]}" fonts-noto-cjk
    else
        for tool in "${missing[@]}"; do
            case "$tool" in
                chromium) log "MISSING chromium: browser tests (tours) will be skipped" ;;
                wkhtmltopdf) log "MISSING wkhtmltopdf: PDF reports fall back to HTML" ;;
                postgresql|postgresql-client)
                    log "MISSING $tool: set PGHOST/db_host to a reachable server, or install it" ;;
            esac
        done
    fi
}

# ---------------------------------------------------------------- Odoo 19
# Prints the directory to put on sys.path (empty when odoo is importable as is).
odoo_version_of() {  # $1: directory holding the odoo/ package, or "" for python3's own path
    PYTHONPATH="${1:-}" "$PYTHON" - <<'EOF' 2>/dev/null
import runpy, importlib.util, sys
spec = importlib.util.find_spec("odoo.release")
if spec is None:
    sys.exit(1)
release = runpy.run_path(spec.origin)
print(release["version"])
sys.exit(0 if release["version_info"][0] == 19 else 2)
EOF
}

# Prints "<mirror URI> <suite>" from the machine's own Debian sources (deb822 first).
debian_source() {
    local uri="" suite=""
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
        read -r uri suite < <(awk '
            tolower($1)=="uris:" {uri=$2}
            tolower($1)=="suites:" {suite=$2}
            /^[ \t]*$/ {if (uri ~ /\/debian\/?$/ && suite != "") {print uri, suite; exit} uri=""; suite=""}
            END {if (uri ~ /\/debian\/?$/ && suite != "") print uri, suite}' \
            /etc/apt/sources.list.d/*.sources | head -n1) || true
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        read -r uri suite < <(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {
            if ($i ~ /\/debian\/?$/) {print $i, $(i+1); exit}}}' /etc/apt/sources.list) || true
    fi
    [ -n "$uri" ] || return 1
    echo "${uri%/} $suite"
}

private_apt() {  # $1: apt-get or apt-cache; the rest: its arguments
    local tool="$1"; shift
    "$tool" -q \
        -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
        -o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
        -o Dir::State::Lists="$APT_DIR/lists" \
        -o Dir::State::Status="$APT_DIR/status" \
        -o Dir::Cache="$APT_DIR/cache" \
        -o Debug::NoLocking=1 \
        -o APT::Sandbox::User=root \
        -o APT::Architecture="$(dpkg --print-architecture)" \
        "$@"
}

# Downloads odoo-19 from sid into $APT_DIR/debs/sid, and the packages it symlinks into
# (web assets and fonts) from sid and from the machine's own suite into .../base.
# sid's fonts-font-awesome 7 no longer ships the 4.7 files Odoo links to, and
# fonts-inconsolata renamed its font: the machine's stable suite still has both.
download_odoo_debs() {
    local mirror suite keyring
    read -r mirror suite < <(debian_source) \
        || die "no Debian mirror in /etc/apt/sources.list(.d); set ODOO_SRC to an Odoo 19 tree instead"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
    rm -rf "$APT_DIR"
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/sources.list.d" \
        "$APT_DIR/debs/sid" "$APT_DIR/debs/base"
    : > "$APT_DIR/status"
    {
        echo "deb [signed-by=$keyring] $mirror sid main"
        [ -z "$suite" ] || [ "$suite" = sid ] || echo "deb [signed-by=$keyring] $mirror $suite main"
    } > "$APT_DIR/sources.list"
    log "private apt-get update (suite sid${suite:+ and $suite}, mirror from the machine's sources)"
    private_apt apt-get update -qq >/dev/null

    local version
    version="$(private_apt apt-cache show odoo-19/sid 2>/dev/null | awk '/^Version:/ {print $2; exit}')"
    case "$version" in
        19.*) log "sid carries odoo-19 $version" ;;
        *) die "the sid suite does not carry an odoo-19 19.x package (found: '${version:-nothing}')" ;;
    esac

    local linked pkg
    linked="$(private_apt apt-cache show odoo-19/sid 2>/dev/null \
              | awk '/^Depends:/ {sub(/^Depends: /, ""); print; exit}' \
              | tr ',' '\n' | sed 's/([^)]*)//; s/|.*//; s/ //g' | grep -E '^(libjs-|fonts-)' | sort -u)"
    log "downloading odoo-19 and the packages it links into: $(echo $linked)"
    (cd "$APT_DIR/debs/sid" && private_apt apt-get download odoo-19/sid \
        $(for pkg in $linked; do echo "$pkg/sid"; done) >/dev/null)
    if [ -n "$suite" ] && [ "$suite" != sid ]; then
        for pkg in $linked; do
            (cd "$APT_DIR/debs/base" && private_apt apt-get download "$pkg/$suite" >/dev/null 2>&1) || true
        done
    fi
    echo "$version"
}

extract_odoo() {
    local version="$1" deb
    rm -rf "$ODOO_ROOT.tmp"
    mkdir -p "$ODOO_ROOT.tmp"
    # The machine suite's versions first, so that sid's overwrite any shared file.
    for deb in "$APT_DIR"/debs/base/*.deb "$APT_DIR"/debs/sid/*.deb; do
        [ -f "$deb" ] && dpkg -x "$deb" "$ODOO_ROOT.tmp"
    done
    # Every symlink of the package must resolve inside the prefix.
    local broken
    broken="$(find "$ODOO_ROOT.tmp/usr/lib/python3/dist-packages/odoo" -xtype l 2>/dev/null | head -n5)"
    [ -z "$broken" ] || die "unresolved links after extraction: $broken"
    rm -rf "$ODOO_ROOT"
    mv "$ODOO_ROOT.tmp" "$ODOO_ROOT"
    rm -rf "$APT_DIR/debs" "$APT_DIR"/cache/archives/*.deb
    echo "$version" > "$ODOO_ROOT/.complete"
}

resolve_odoo_path() {
    if [ -n "${ODOO_SRC:-}" ]; then
        [ -f "$ODOO_SRC/odoo/release.py" ] || die "ODOO_SRC=$ODOO_SRC has no odoo/release.py"
        odoo_version_of "$ODOO_SRC" >/dev/null || die "ODOO_SRC=$ODOO_SRC is not Odoo 19"
        echo "$ODOO_SRC"; return
    fi
    if odoo_version_of "" >/dev/null; then
        echo ""; return
    fi
    local pkg_path="$ODOO_ROOT/usr/lib/python3/dist-packages"
    if [ ! -f "$ODOO_ROOT/.complete" ]; then
        local version
        version="$(download_odoo_debs | tail -n1)"
        extract_odoo "$version" >&2
    fi
    echo "$pkg_path"
}

# ---------------------------------------------------------------- Python version
# Odoo 19 runs on Python 3.10 to 3.13 (odoo/release.py); requirements.txt is checked on
# exactly those (make check-python). Older: stop here, before anything is downloaded.
check_python_version() {  # $1: the interpreter that will run the virtualenv
    local version
    version="$("$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
        || die "no Python at '$1': install Python 3.10 to 3.13 (with venv), or set PYTHON=/path/to/python3.X"
    case "$version" in
        3.1[0-3].*) ;;
        3.[0-9].*|2.*)
            die "Python $version ($1) is too old: Odoo 19 needs Python 3.10 to 3.13. Install one and run again with PYTHON=/path/to/python3.X (e.g. PYTHON=python3.11 make run)" ;;
        *) log "WARNING: Python $version ($1) is newer than Odoo 19 supports (3.10 to 3.13); requirements.txt is not checked on it" ;;
    esac
}

# ---------------------------------------------------------------- virtualenv
setup_venv() {
    local odoo_path="$1" req_hash stamp="$VENV/.requirements.sha256"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    req_hash="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$req_hash" ]; then
        log "installing Python requirements"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
        echo "$req_hash" > "$stamp"
    fi
    # The proxy's and the simulator's packages and console scripts (sqs-hardware-proxy,
    # sqs-keypad-simulator), editable. Reinstalled when pyproject.toml changes: an editable
    # install knows only the packages listed when it was made.
    local project_hash project_stamp="$VENV/.pyproject.sha256"
    project_hash="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/sqs-hardware-proxy" ] || [ "$(cat "$project_stamp" 2>/dev/null)" != "$project_hash" ]; then
        log "installing hardware_proxy and keypad_simulator (editable) into the virtualenv"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
            --no-build-isolation -e "$ROOT" >/dev/null
        echo "$project_hash" > "$project_stamp"
    fi
    # Make the extracted (or ODOO_SRC) odoo package importable from the venv.
    local site pth
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    pth="$site/odoo19.pth"
    if [ -n "$odoo_path" ]; then
        [ "$(cat "$pth" 2>/dev/null)" = "$odoo_path" ] || echo "$odoo_path" > "$pth"
    else
        rm -f "$pth"
    fi
    "$VENV/bin/python" -c 'import odoo.release as r; assert r.version_info[0] == 19, r.version' \
        || die "odoo 19 is not importable from $VENV"
}

main() {
    if [ -x "$VENV/bin/python" ]; then check_python_version "$VENV/bin/python"
    else check_python_version "$PYTHON"; fi
    setup_system_tools
    local odoo_path
    odoo_path="$(resolve_odoo_path)"
    setup_venv "$odoo_path"
    local version
    version="$("$VENV/bin/python" -c 'import odoo.release as r; print(r.version)')"
    log "Odoo $version ready (${odoo_path:-importable by $PYTHON})"
}

main "$@"
