"""Claim, reply and resolve with the keyboard alone: Tab, Enter, arrows and typing, no clicks.

Each step tabs through the page as a keyboard user would, until the focused element has the
accessible name wanted, and checks that its focus can be seen.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import (
    LIVE,
    SENDER,
    SUBJECT,
    Web,
    assert_reply_left,
    incoming_mail,
    login,
)
from tests.support import make_mail

REPLY = "Bonjour Madame, la mairie est ouverte le samedi matin, de 9 h à 12 h."
LATER = "Question sur le marché du dimanche"
MAX_TABS = 40
# The first line of an element's ARIA snapshot: `- button "Prendre le suivant"`, `- textbox …`.
SNAPSHOT = re.compile(r'^- (\w+) "((?:[^"\\]|\\.)*)"')


def focused(page: Page) -> tuple[str, str]:
    """The role and accessible name of the focused element (empty if it is the page itself)."""
    element = page.locator(":focus")
    if element.count() != 1:
        return "", ""
    first = element.aria_snapshot(timeout=2000).splitlines()[0]
    found = SNAPSHOT.match(first)
    return (found[1], found[2]) if found else ("", "")


def tab_to(page: Page, name: str, role: str | None = None) -> None:
    """Press Tab until the element named ``name`` has the focus; fail after MAX_TABS presses."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        seen.append(now)
        if now[1] == name and role in (None, now[0]):
            assert_focus_visible(page, name)
            return
    pytest.fail(f"{name!r} not reached in {MAX_TABS} Tab presses on {page.url}; went by {seen}")


def assert_focus_visible(page: Page, name: str) -> None:
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth); }"
    )
    assert outline >= 2, f"no visible focus on {name!r} ({page.url})"


def skip_to_content(page: Page) -> None:
    """The first Tab of every page reaches the skip link; it takes the focus to the content."""
    tab_to(page, "Aller au contenu", "link")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_claim_reply_resolve_with_the_keyboard_alone(page: Page, web: Web) -> None:
    web.gateway.send(incoming_mail(), mail_from=SENDER)
    page.goto("/login")
    tab_to(page, "Adresse électronique")
    page.keyboard.type(web.agent.email)
    tab_to(page, "Mot de passe")
    page.keyboard.type(web.agent.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(web.url + "/")
    expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_be_visible(timeout=LIVE)

    skip_to_content(page)
    tab_to(page, "Prendre le suivant", "button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tickets/[^/]+$"))
    reference = page.url.rsplit("/", 1)[1]

    skip_to_content(page)
    tab_to(page, "Réponse", "textbox")
    page.keyboard.type(REPLY)
    tab_to(page, "Ensuite", "combobox")
    expect(page.locator(":focus")).to_have_value("waiting_citizen")  # the default, kept
    tab_to(page, "Envoyer", "button")
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text="Réponse mise en file d'envoi.")
    ).to_be_visible()
    assert_reply_left(web, reference, REPLY)

    skip_to_content(page)
    tab_to(page, "Résolue", "button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Statut modifié.")).to_be_visible()
    expect(page.locator("#meta")).to_contain_text("Résolue")

    tab_to(page, "File d'attente", "link")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Aucune demande en attente.")).to_be_visible()


def test_focus_stays_on_the_queue_when_it_refreshes_live(page: Page, web: Web) -> None:
    """A live update redraws the queue; the row link a keyboard user is on keeps the focus."""
    web.gateway.send(incoming_mail(), mail_from=SENDER)
    login(page, web.agent)
    row = page.get_by_role("row").filter(has_text=SUBJECT)
    expect(row).to_be_visible(timeout=LIVE)
    reference = row.get_by_role("link").inner_text()
    skip_to_content(page)
    tab_to(page, reference, "link")

    web.gateway.send(make_mail(subject=LATER, body=LATER, to="contact@mairie.example"))
    expect(page.get_by_role("row").filter(has_text=LATER)).to_be_visible(timeout=LIVE)
    expect(row.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(web.url + f"/tickets/{reference}")
