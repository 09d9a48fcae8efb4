#!/usr/bin/env bash
# Prints our addons, comma-separated, in dependency-friendly order (service_base first).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
names=()
for manifest in "$ROOT"/addons/*/__manifest__.py; do
    name="$(basename "$(dirname "$manifest")")"
    [ "$name" = service_base ] && names=("$name" "${names[@]}") || names+=("$name")
done
(IFS=,; echo "${names[*]}")
