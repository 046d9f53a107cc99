"""Signing in and out through the browser, in French and in English, with axe on every page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import Web, check_a11y, login
from tests.support import make_mail, wait_for

SUBJECT = "Demande d'acte de naissance"


def _cells_after_reload(page: Page, text: str) -> int:
    page.reload()
    return page.get_by_role("cell", name=text).count()


def test_sign_in_page_passes_axe(page: Page) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    check_a11y(page)


def test_wrong_password_shows_the_error_and_stays_on_login(page: Page, web: Web) -> None:
    login(page, web.agent, password="pas le bon mot de passe")
    expect(page.get_by_role("alert")).to_have_text(
        "Adresse électronique ou mot de passe incorrect."
    )
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page).to_have_title(re.compile(r"^Se connecter — Guichet"))
    check_a11y(page)


def test_agent_signs_in_to_the_queue_and_signs_out(page: Page, web: Web) -> None:
    web.gateway.send(make_mail(subject=SUBJECT))
    login(page, web.agent)
    expect(page).to_have_url(web.url + "/")
    expect(page.get_by_text(web.agent.name)).to_be_visible()
    # The pipeline runs in the background: the ticket shows up within a few reloads.
    wait_for(lambda: _cells_after_reload(page, SUBJECT), what="the citizen's ticket in the queue")
    expect(page.get_by_role("heading", name="File d'attente (1)")).to_be_visible()
    check_a11y(page)

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(web.url + "/login")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_label("Adresse électronique")).to_be_visible()


def test_english_sign_in_page(page: Page) -> None:
    page.goto("/login?lang=en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_a11y(page)
