"""An agent's day with one e-mail: claim it, reply by e-mail through the relay, resolve it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import (
    LIVE,
    SENDER,
    SUBJECT,
    Web,
    assert_reply_left,
    check_a11y,
    incoming_mail,
    login,
)

REPLY = "Bonjour Madame, la mairie vous accueille le samedi de 9 h à 12 h."


def test_claim_reply_by_email_and_resolve(page: Page, web: Web) -> None:
    web.gateway.send(incoming_mail(), mail_from=SENDER)
    login(page, web.agent)
    # Already there, or brought in by the live update if the pipeline is slower than the login.
    expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_be_visible(timeout=LIVE)
    check_a11y(page)

    page.get_by_role("button", name="Prendre le suivant").click()
    expect(page).to_have_url(re.compile(r"/tickets/[^/]+$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{reference} {SUBJECT}")
    expect(page.locator("#meta")).to_contain_text(web.agent.name)
    expect(page.get_by_text("La mairie est-elle ouverte le samedi matin ?")).to_be_visible()
    check_a11y(page)

    target = page.get_by_label("Envoyer par")
    expect(target).to_contain_text(SENDER)
    target.select_option(label=f"Courriel — {SENDER}")
    page.get_by_label("Réponse", exact=True).fill(REPLY)
    expect(page.get_by_label("Ensuite")).to_have_value("waiting_citizen")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text="Réponse mise en file d'envoi.")
    ).to_be_visible()
    expect(page.locator("#thread")).to_contain_text(REPLY)
    assert_reply_left(web, reference, REPLY)

    page.get_by_role("group", name="Changer le statut").get_by_role(
        "button", name="Résolue"
    ).click()
    expect(page.get_by_role("status").filter(has_text="Statut modifié.")).to_be_visible()
    expect(page.locator("#meta")).to_contain_text("Résolue")
    check_a11y(page)

    page.get_by_role("link", name="File d'attente", exact=True).click()
    expect(page.get_by_role("heading", name="File d'attente (0)")).to_be_visible()
    expect(page.get_by_text("Aucune demande en attente.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_have_count(0)
