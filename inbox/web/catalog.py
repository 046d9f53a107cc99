"""The gettext catalogs of the pages: English message ids, translated in ``inbox/locale``.

Babel ``.po`` files are read at start: nothing to compile.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent.parent / "locale"


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalog for ``lang`` (English, the message ids' language, needs none)."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(lang: str, message: str, **values: Any) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text
