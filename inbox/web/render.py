"""Rendering pages: the language, the gettext catalogs, the templates, CSRF and flash messages.

Interface strings are English message ids translated by gettext catalogs (Babel ``.po`` files in
``inbox/locale``, read at start: nothing to compile). French is the default language; an agent
switches with ``?lang=en`` (remembered in the session), otherwise the browser's Accept-Language
decides.
"""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta
from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.core.clock import aware
from inbox.auth import CSRF_HEADER, SAFE_METHODS, csrf_matches
from inbox.models import Agent
from inbox.web import labels
from inbox.web.catalog import translations

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
LANGUAGES = ("fr", "en")
PARIS = ZoneInfo("Europe/Paris")
# Pages hold personal data: never cached, never framed, no third-party anything.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
CSRF_FIELD = "csrf_token"


@functools.cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value: when(value, lang)
    env.filters["ago"] = lambda value: ago(value, lang)
    env.filters["action"] = lambda code: labels.action(lang, code)
    env.filters["delivery"] = lambda state: labels.delivery(lang, state)
    env.globals["channel_icons"] = labels.CHANNEL_ICONS
    return env


# strftime rather than Babel's format_datetime: a queue page shows a hundred moments, and
# Babel took 38 µs for each (5 ms a page).
MOMENT = {"fr": "%d/%m/%Y %H:%M", "en": "%d %b %Y, %H:%M"}


def when(value: datetime | None, lang: str) -> str:
    """A moment as an agent in France reads it: Paris time, the language's own format."""
    if value is None:
        return ""
    return aware(value).astimezone(PARIS).strftime(MOMENT.get(lang, MOMENT["fr"]))


def ago(value: datetime | None, lang: str) -> str:
    if value is None:
        return ""
    delta = aware(value) - datetime.now(UTC)
    return format_timedelta(delta, add_direction=True, threshold=1.1, locale=lang)


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        request.session["lang"] = asked
        return asked
    remembered = request.session.get("lang")
    if remembered in LANGUAGES:
        return str(remembered)
    header = request.headers.get("accept-language", "fr")[:2].lower()
    return header if header in LANGUAGES else "fr"


def csrf_token(request: Request) -> str:
    """The session's anti-forgery token, put in every form and in htmx requests' headers."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse any state-changing page request without the session's token (403)."""
    if request.method in SAFE_METHODS:
        return
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await request.form()).get(CSRF_FIELD)
    if not csrf_matches(request, sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Missing or wrong CSRF token")
    request.state.csrf_checked = True  # current_agent need not look again


def flash(
    request: Request, message: str, kind: str = "info", action: tuple[str, str] | None = None
) -> None:
    """A message shown once, on the next page (after a redirect); ``action`` adds a button, a
    POST target and its label (the "Undo" after a merge)."""
    request.session.setdefault("flash", []).append([kind, message, *(action or ())])


def page(
    request: Request,
    name: str,
    agent: Agent | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    messages = request.session.pop("flash", []) if "session" in request.scope else []
    html = (
        environment(lang)
        .get_template(name)
        .render(
            request=request,
            lang=lang,
            agent=agent,
            authority=request.app.state.settings.authority_name,
            csrf=csrf_token(request),
            flashes=messages,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
