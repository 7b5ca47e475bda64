"""The French catalogue is complete, compiled, and covers every string of the code."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}


@pytest.fixture(scope="module")
def catalog():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="fr")


def messages(catalog):
    return [m for m in catalog if m.id]


def label(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def extracted_msgids() -> dict[str, str]:
    """What `pybabel extract -F babel.cfg -k _l -k lazy_gettext app` would find: msgid -> where."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "app"), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"app/{filename}:{lineno}")
    return found


def test_no_empty_translation(catalog):
    empty = [
        label(m)
        for m in messages(catalog)
        if not m.string or (isinstance(m.string, tuple) and not all(m.string))
    ]
    assert empty == [], f"{len(empty)} msgids without a French translation"


def test_no_fuzzy_translation(catalog):
    fuzzy = [label(m) for m in messages(catalog) if m.fuzzy]
    assert fuzzy == [], "fuzzy entries are not used by the site: check and un-fuzzy them"


def test_placeholders_match(catalog):
    """A `%(name)s` missing or misspelled in French breaks the page at run time."""
    wrong = []
    for message in messages(catalog):
        if not message.string or message.fuzzy:
            continue
        try:
            python_format(catalog, message)
        except Exception as exc:  # noqa: BLE001 - babel raises TranslationError subclasses
            wrong.append(f"{label(message)!r}: {exc}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)", ids[-1]))
        for string in strings:
            got = set(re.findall(r"%\((\w+)\)", string))
            # A French singular may spell the number out ("un article"), never invent a name.
            if not got <= wanted or (len(strings) == 1 and got != wanted):
                wrong.append(
                    f"{label(message)!r}: placeholders {sorted(got)} instead of {sorted(wanted)}"
                )
    assert wrong == [], "\n".join(wrong)


def test_french_typography(catalog):
    """A no-break space (U+00A0 or U+202F) before : ; ! ? and typographic apostrophes."""
    wrong = []
    for message in messages(catalog):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if re.search(r" [:;!?](\s|$)", string):
                wrong.append(f"{string!r}: ordinary space before : ; ! ?")
            elif re.search(r"[^\s\u00a0\u202f(«\d/][;!?](\s|$)|[A-Za-zÀ-ÿ»)][:](\s|$)", string):
                wrong.append(f"{string!r}: no space before : ; ! ?")
            if re.search(r"[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]", string):
                wrong.append(f"{string!r}: straight apostrophe (use ’)")
    assert wrong == [], "\n".join(wrong)


def test_mo_is_compiled_and_up_to_date(catalog):
    assert MO.exists(), "translations are not compiled: run `make translations`"
    assert MO.stat().st_mtime >= PO.stat().st_mtime, (
        "the .mo is older than the .po: run `make translations`"
    )
    with open(MO, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for message in messages(catalog):
        if message.fuzzy or not message.string:
            continue
        if isinstance(message.id, tuple):
            if compiled.ngettext(message.id[0], message.id[1], 1) != message.string[0]:
                stale.append(message.id[0])
        elif compiled.gettext(message.id) != message.string:
            stale.append(message.id)
    assert stale == [], "the .mo does not match the .po: run `make translations`"


def test_every_string_of_the_code_is_in_the_catalogue(catalog):
    in_catalog = {label(m) for m in messages(catalog)}
    missing = {
        msgid: where for msgid, where in extracted_msgids().items() if msgid not in in_catalog
    }
    assert missing == {}, (
        "strings not in the catalogue (run `make i18n-update`, then translate):\n"
        + "\n".join(
            f"  {where}: {msgid!r}"
            for msgid, where in sorted(missing.items(), key=lambda kv: kv[1])
        )
    )


def test_extraction_sees_python_templates_and_mails():
    found = extracted_msgids()
    wheres = {where.split(":")[0] for where in found.values()}
    assert any(w.endswith(".py") for w in wheres)
    assert any(w.endswith(".html") for w in wheres)
    assert "Skip to content" in found  # base.html
    assert "Enter an amount." in found  # app/core/i18n.py, a lazy string


def test_the_catalogue_has_no_obsolete_entries(catalog):
    """Translations nobody uses any more only cost translators time."""
    assert list(catalog.obsolete) == []
