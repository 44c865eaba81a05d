"""The console's French catalogue: complete, compiled, and in step with the texts of the code and templates."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "hotline" / "translations"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
ROOT = TRANSLATIONS.parent.parent


def _catalogue(path: Path, reader):
    with path.open("rb") as handle:
        return reader(handle) if reader is read_mo else reader(handle, locale="fr")


def test_every_msgid_has_a_french_translation():
    """Every message of the French catalogue is translated and none is fuzzy."""
    catalogue = _catalogue(PO, read_po)
    untranslated = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
    assert len(catalogue) > 100


def test_compiled_catalogue_matches_the_po_file():
    """The committed .mo holds exactly the translations of the .po (run `pybabel compile` after editing)."""
    po = {m.id: m.string for m in _catalogue(PO, read_po) if m.id}
    mo = {m.id: m.string for m in _catalogue(MO, read_mo) if m.id}
    assert mo == po


def test_every_console_text_is_in_the_catalogue():
    """Each text marked for translation in the console's code and templates has an entry in the catalogue."""
    method_map = [("hotline/console/**.py", "python"), ("hotline/templates/console/**.html", "jinja2")]
    found = {message for _file, _line, message, _comments, _context in
             extract_from_dir(str(ROOT), method_map, keywords={"_": None, "_l": None, "gettext": None})
             if isinstance(message, str)}
    catalogue = {m.id for m in _catalogue(PO, read_po) if m.id}
    assert found, "no text found: is the extraction looking in the right place?"
    assert sorted(found - catalogue) == []
