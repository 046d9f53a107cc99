"""An uncertain match: the agent compares the candidates with the message and confirms one."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import LIVE, Web, check_a11y, import_register, login
from tests.support import make_mail

# Two records close to the coming sender: her name, and a typo of it. Neither holds her address,
# and a name alone never links: the ticket goes to review with both as candidates.
REGISTER = """\
R-101;Marie;Dupont;;1985-04-12;marie.dupont@orange.fr;;3 rue des Lilas;69001;Lyon
R-102;Marie;Dupond;;1962-09-30;dupond.marie@free.fr;;18 avenue Foch;69006;Lyon
"""
SENDER = "m.dupont85@gmail.com"
SUBJECT = "Question sur les horaires de la mairie"
BODY = "Bonjour,\nLa mairie est-elle ouverte le samedi matin ?\nMerci,\nMarie Dupont"


def test_uncertain_sender_is_reviewed_and_confirmed(page: Page, web: Web, tmp_path: Path) -> None:
    import_register(web, tmp_path, REGISTER)
    login(page, web.agent)
    page.get_by_role("link", name="Usagers").click()
    page.get_by_label("Nom, adresse électronique ou téléphone").fill("Marie Dupont")
    page.get_by_role("button", name="Rechercher").click()
    results = page.get_by_role("table")
    # Scored results come from the matcher's index: `serve` has picked the register up.
    expect(results.get_by_role("row").filter(has_text="probable à")).to_have_count(2)
    check_a11y(page)

    web.gateway.send(
        make_mail(
            sender=f"Marie Dupont <{SENDER}>",
            subject=SUBJECT,
            body=BODY,
            to="contact@mairie.example",
        ),
        mail_from=SENDER,
    )
    page.get_by_role("link", name="File d'attente", exact=True).click()
    row = page.get_by_role("row").filter(has_text=SUBJECT)
    expect(row).to_contain_text("à vérifier", timeout=LIVE)
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/tickets/[^/]+$"))

    citizen = page.get_by_role("region", name="Usager", exact=True)
    expect(citizen.get_by_text("À vérifier", exact=True)).to_be_visible()
    expect(citizen.get_by_role("heading", level=3)).to_have_count(2)
    dupont = citizen.locator(".candidate").filter(
        has=page.get_by_role("heading", name=re.compile(r"^Marie Dupont "))
    )
    dupond = citizen.locator(".candidate").filter(
        has=page.get_by_role("heading", name=re.compile(r"^Marie Dupond "))
    )
    # What agrees and what differs from the message, field by field.
    expect(dupont.get_by_role("row", name=re.compile(r"^Nom "))).to_contain_text("concorde")
    expect(dupont.get_by_role("row", name=re.compile(r"^Courriel "))).to_contain_text(
        "marie.dupont@orange.fr"
    )
    expect(dupont.get_by_role("row", name=re.compile(r"^Courriel "))).to_contain_text("diffère")
    expect(dupond.get_by_role("row", name=re.compile(r"^Nom "))).not_to_contain_text("concorde")
    check_a11y(page)

    dupont.get_by_role("button", name="Confirmer Marie Dupont").click()
    expect(page.get_by_role("status").filter(has_text="Usager confirmé.")).to_be_visible()
    expect(citizen.get_by_role("link", name="Marie Dupont")).to_be_visible()
    expect(citizen).to_contain_text(SENDER)  # her new address, now on her record
    expect(citizen.get_by_text("À vérifier", exact=True)).to_have_count(0)
    expect(citizen.locator(".candidate")).to_have_count(0)
    check_a11y(page)

    citizen.get_by_role("link", name="Marie Dupont").click()
    expect(page.get_by_role("heading", name="Marie Dupont", level=1)).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("^Demandes"))).to_contain_text(SUBJECT)
