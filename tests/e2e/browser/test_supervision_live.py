"""A supervisor hands a ticket to an agent; the agent's open queue shows it without a reload,
and the supervisor's board follows what the agent does with it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import LIVE, Web, check_a11y, login
from tests.support import make_mail

SUBJECT = "Nid de poule devant le 12 rue des Lilas"  # routed to the Voirie team
BODY = "Bonjour,\nUn trou s'est creusé dans la chaussée ce week-end.\nMarie Dupont"


def test_reassigned_ticket_appears_on_the_agents_open_page(
    page: Page, browser: Browser, web: Web
) -> None:
    login(page, web.agent)
    expect(page.get_by_text("Aucune demande en attente.")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    web.gateway.send(make_mail(subject=SUBJECT, body=BODY, to="contact@mairie.example"))
    # The ticket arrives live: the page is listening to the change feed.
    expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_be_visible(timeout=LIVE)
    page.get_by_label("Afficher").select_option(label="Les miennes")
    expect(page).to_have_url(re.compile(r"view=mine"))
    expect(page.get_by_text("Aucune demande en attente.")).to_be_visible()

    boss = browser.new_context(base_url=web.url, locale="fr-FR").new_page()
    login(boss, web.supervisor)
    boss.get_by_role("link", name="Tableau d'équipe").click()
    row = boss.get_by_role("row").filter(has_text=SUBJECT)
    expect(row).to_contain_text("Voirie")
    expect(row).to_contain_text("Non attribuée")
    check_a11y(boss)
    reference = row.get_by_role("link").inner_text()
    row.get_by_role("checkbox").check()
    boss.get_by_label("Attribuer à").select_option(label=web.agent.name)
    boss.get_by_role("button", name="Réattribuer").click()
    expect(boss.get_by_role("status").filter(has_text="Demandes réattribuées : 1.")).to_be_visible()
    expect(boss.get_by_role("row").filter(has_text=SUBJECT)).to_contain_text(web.agent.name)

    mine = page.get_by_role("row").filter(has_text=SUBJECT)
    expect(mine).to_be_visible(timeout=LIVE)
    expect(mine).to_contain_text(web.agent.name)
    expect(page.get_by_role("heading", level=1)).to_have_text("File d'attente (1)")
    expect(page.locator("#live")).to_have_text("Une demande vient de vous être attribuée.")
    assert page.evaluate("window.sameDocument === true"), "the agent's page was reloaded"

    # The board's counts follow the agent's work live, and the focus stays where it was.
    agent_row = boss.locator("tr[data-agent]").filter(
        has=boss.get_by_role("link", name=web.agent.name)
    )
    expect(agent_row.get_by_role("cell").nth(1)).to_have_text("1")  # open, assigned
    agent_row.get_by_role("link").focus()
    mine.get_by_role("link").click()
    page.get_by_role("group", name="Changer le statut").get_by_role(
        "button", name="Résolue"
    ).click()
    expect(page.get_by_role("status").filter(has_text="Statut modifié.")).to_be_visible()
    expect(agent_row.get_by_role("cell").nth(1)).to_have_text("0", timeout=LIVE)
    expect(agent_row.get_by_role("link")).to_be_focused()

    # The supervisor's own view of the ticket: its reassignment form, checked by axe too.
    boss.get_by_role("link", name=reference, exact=True).click()
    expect(boss.get_by_label("Attribuer à")).to_have_value(re.compile(r"^\d+$"))
    check_a11y(boss)

    boss.get_by_role("link", name="Tableau de bord").click()
    expect(boss.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
    check_a11y(boss)
