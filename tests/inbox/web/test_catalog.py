"""Every string of the agents' pages has its French translation (French is the default)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from inbox.web.catalog import gettext
from tests import support

ROOT = support.ROOT
METHODS = [("inbox/**.py", "python"), ("inbox/templates/**.html", "jinja2")]
OPTIONS = {"inbox/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
# Conflict("…") and Invalid("…") reach agents through gettext(lang, str(exc)); a page's
# on_refusal(request, back, "…") says what they read then.
KEYWORDS = {
    "_": None,
    "gettext": (2,),
    "ngettext": (1, 2),
    "Conflict": None,
    "Invalid": None,
    "on_refusal": (3,),
}


def used_messages() -> set[str]:
    found = extract_from_dir(
        ROOT,
        METHODS,
        keywords=KEYWORDS,
        options_map=OPTIONS,
    )
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def test_every_page_string_is_translated_to_french() -> None:
    with (ROOT / "inbox/locale/fr/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    used = used_messages()
    assert len(used) > 50  # the extraction found the pages' strings
    assert sorted(used - translated) == []


def test_catalog_is_what_pages_use() -> None:
    assert gettext("fr", "Take the next one") == "Prendre le suivant"
    assert gettext("en", "Take the next one") == "Take the next one"


def test_catalog_has_each_message_once() -> None:
    """Two entries for one message: gettext would silently use the last one."""
    lines = (ROOT / "inbox/locale/fr/LC_MESSAGES/messages.po").read_text("utf-8").splitlines()
    ids = [line for line in lines if line.startswith("msgid ") and line != 'msgid ""']
    assert len(ids) == len(set(ids))
