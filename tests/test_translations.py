"""Every addon ships a complete Simplified Chinese translation that Odoo can load."""

import re
from pathlib import Path

import polib
import pytest

ADDONS = sorted(p.parent for p in (Path(__file__).parents[1] / "addons").glob("*/__manifest__.py"))
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{\{.*?\}\}|</?[a-zA-Z][a-zA-Z0-9]*")


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_zh_cn_is_complete(addon):
    po_path = addon / "i18n" / "zh_CN.po"
    assert po_path.exists(), f"{addon.name} has no i18n/zh_CN.po"
    po = polib.pofile(str(po_path))
    assert len(po) > 0
    untranslated = [entry.msgid for entry in po if not entry.msgstr]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:3]}"


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_zh_cn_keeps_placeholders(addon):
    po = polib.pofile(str(addon / "i18n" / "zh_CN.po"))
    for entry in po:
        assert sorted(PLACEHOLDER.findall(entry.msgid)) == sorted(
            PLACEHOLDER.findall(entry.msgstr)
        ), f"placeholders differ in {entry.msgid!r}"


@pytest.mark.parametrize("addon", ADDONS, ids=lambda p: p.name)
def test_pot_matches_po(addon):
    """The template and the translation list the same terms (run scripts/i18n_update.py)."""
    pot = polib.pofile(str(addon / "i18n" / f"{addon.name}.pot"))
    po = polib.pofile(str(addon / "i18n" / "zh_CN.po"))
    assert {(e.msgctxt, e.msgid) for e in pot} == {(e.msgctxt, e.msgid) for e in po}
