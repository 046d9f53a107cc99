"""Browser tests: Debian's Chromium driven by Playwright against a real `guichet serve`.

One browser for the whole session, a fresh context (cookies, storage) per test. Every page still
open when a test ends, passed or failed, is saved as a full-page PNG under
``test-artifacts/screenshots/``. ``check_a11y`` runs axe-core (shipped by axe-playwright-python)
on the current page. What several browser tests share (sign-in, the citizen's e-mail, a register
import) is defined here too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests import support
from tests.support import PASSWORD, make_mail, wait_for

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls home, and a closed network refuses it.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = support.ROOT / "test-artifacts" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")
_axe = Axe()


@dataclass(frozen=True)
class Persona:
    email: str
    name: str
    role: str
    team: str
    password: str = PASSWORD


AGENT = Persona("agent@mairie.example", "Alice Accueil", "agent", "Accueil")
SUPERVISOR = Persona("superviseur@mairie.example", "Sophie Superviseure", "supervisor", "Accueil")
OUTSIDER = Persona("outsider@mairie.example", "Oscar Urbanisme", "agent", "Urbanisme")


@dataclass(frozen=True)
class Web:
    """A running gateway and the people who can sign in to it."""

    gateway: support.Gateway
    relay: support.Relay  # the town hall's outgoing SMTP relay: what Guichet sends lands here
    agent: Persona = AGENT
    supervisor: Persona = SUPERVISOR
    outsider: Persona = OUTSIDER
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.gateway.url


# Package, not session: between its sync calls Playwright marks its event loop as running in
# this thread, so every later asyncio.run() (the Telegram channel's tests) would fail while it
# lives. All browser tests live in this package: still one browser per test session.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    support.need(os.path.exists(CHROMIUM), "Chromium (Debian package chromium) is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def web(gateway: support.Gateway, relay: support.Relay) -> Web:
    """The `gateway` of tests/conftest.py (`guichet serve` on the test's database) with people.

    Each `guichet` command takes seconds to import, so the two teams' first members are added
    side by side (`serve` has migrated the database already), then the supervisor joins.
    """
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(partial(_add_agent, gateway), (AGENT, OUTSIDER)))
    _add_agent(gateway, SUPERVISOR)
    return Web(gateway, relay)


def _add_agent(gateway: support.Gateway, persona: Persona) -> None:
    gateway.cli(
        *("agents", "add", persona.email, "--name", persona.name, "--role", persona.role),
        *("--team", persona.team, "--password-stdin"),
        stdin=persona.password + "\n",
    )


@pytest.fixture
def context(browser: Browser, gateway: support.Gateway) -> BrowserContext:
    # French first, whatever the machine's locale: Accept-Language picks the UI language.
    # Closed by _screenshots, after the pages are saved.
    return browser.new_context(
        base_url=gateway.url, locale="fr-FR", viewport={"width": 1280, "height": 800}
    )


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(autouse=True)
def _screenshots(request: pytest.FixtureRequest, browser: Browser) -> Iterator[None]:
    """Save every open page of the test, whatever its outcome, then close its contexts.

    Autouse fixtures are set up first and torn down last, after `context` and `web`; so this
    one, not `context`, closes the contexts: the pages must still be open to be photographed.
    """
    yield
    stem = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    pages = [p for ctx in browser.contexts for p in ctx.pages if not p.is_closed()]
    if pages:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for n, open_page in enumerate(pages):
        suffix = f"-{n + 1}" if len(pages) > 1 else ""
        try:
            open_page.screenshot(path=SCREENSHOTS / f"{stem}{suffix}.png", full_page=True)
        except Exception as exc:  # a broken page must not hide the test's own failure
            print(f"screenshot of {open_page.url} failed: {exc}")
    for ctx in browser.contexts:
        ctx.close()


def login(page: Page, persona: Persona, password: str | None = None) -> None:
    """Sign in through the form, as a person would: by the fields' labels, not their ids."""
    page.goto("/login")
    page.get_by_label("Adresse électronique").fill(persona.email)
    page.get_by_label("Mot de passe").fill(persona.password if password is None else password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def check_a11y(page: Page) -> None:
    """Fail on any serious or critical axe-core violation on the current page."""
    results = _axe.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"])
            for v in blocking
        ]
        pytest.fail(f"accessibility violations on {page.url}:\n" + "\n".join(lines))


# --- what several browser tests do -------------------------------------------------------------

LIVE = 15_000  # ms: the pipeline, then the once-a-second change feed, then htmx

# The citizen's e-mail of test_agent_flow and test_keyboard.
SENDER = "marie.dupont@orange.fr"
# No routing rule knows these words: the ticket stays without a team, in the agent's reach.
SUBJECT = "Question sur les horaires de la mairie"
BODY = "Bonjour,\nLa mairie est-elle ouverte le samedi matin ?\nMerci,\nMarie Dupont"


def incoming_mail() -> bytes:
    return make_mail(
        sender=f"Marie Dupont <{SENDER}>", subject=SUBJECT, body=BODY, to="contact@mairie.example"
    )


def relayed_reply(web: Web, text: str) -> EmailMessage:
    """The one message that left through the relay with ``text`` in its body (the automatic
    acknowledgement of the citizen's mail goes out there too)."""

    def found() -> list[EmailMessage]:
        return [m for m in web.relay.messages if text in _plain(m)]

    [mail] = wait_for(found, what="the reply at the SMTP relay")
    return mail


def _plain(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


def assert_reply_left(web: Web, reference: str, text: str) -> None:
    mail = relayed_reply(web, text)
    assert SENDER in str(mail["To"])
    assert reference in str(mail["Subject"]) and SUBJECT in str(mail["Subject"])


COLUMNS = "external_id;first_name;last_name;birth_name;birth_date;email;phone;address;postcode;city"


def import_register(web: Web, tmp_path: Path, rows: str) -> None:
    """`guichet citizens import` of a register export: these rows under the usual columns."""
    path = tmp_path / "registre.csv"
    path.write_text(COLUMNS + "\n" + rows, encoding="utf-8")
    web.gateway.cli("citizens", "import", str(path))
