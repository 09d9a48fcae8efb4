#!/usr/bin/env python3
"""Refresh an addon's translation files from a database that has it installed.

    .venv/bin/python scripts/i18n_update.py ADDON [--db sqs_test]

Exports i18n/ADDON.pot with Odoo's own exporter, then merges it into i18n/zh_CN.po:
existing translations are kept, new terms arrive with an empty msgstr, and terms
that left the code are dropped. Prints how many terms are still untranslated.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
LANG = "zh_CN"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("addon")
    parser.add_argument("--db", default="sqs_test")
    args = parser.parse_args()
    i18n = ROOT / "addons" / args.addon / "i18n"
    i18n.mkdir(exist_ok=True)
    pot_path = i18n / f"{args.addon}.pot"
    subprocess.run(
        [ROOT / "scripts" / "odoo.sh", "i18n", "export", "-d", args.db, "-l", "pot",
         "-o", str(pot_path), args.addon],
        check=True,
        capture_output=True,
    )  # fmt: skip
    pot = polib.pofile(str(pot_path))
    po_path = i18n / f"{LANG}.po"
    po = polib.pofile(str(po_path)) if po_path.exists() else polib.POFile()
    po.metadata = {
        **pot.metadata,
        "Language": LANG,
        "Plural-Forms": "nplurals=1; plural=0;",
        "Content-Transfer-Encoding": "8bit",
    }
    po.merge(pot)
    # polib keeps dropped terms as obsolete (#~) entries: remove them.
    for entry in [entry for entry in po if entry.obsolete]:
        po.remove(entry)
    po.save(str(po_path))
    missing = [entry.msgid for entry in po if not entry.msgstr]
    print(f"{po_path.relative_to(ROOT)}: {len(po)} terms, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
