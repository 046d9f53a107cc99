"""Two records of one person merged from the citizen pages, then the merge undone from the flash."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import Web, check_a11y, import_register, login

REGISTER = """\
R-201;Marie;Dupont;;1985-04-12;marie.dupont@orange.fr;;3 rue des Lilas;69001;Lyon
R-202;Marie;Dupond;Martin;1985-04-12;m.dupond@laposte.net;06 12 34 56 78;3 rue des Lilas;69001;Lyon
"""
RECORD = re.compile(r"/citizens/(\d+)$")


def record_id(page: Page) -> str:
    found = RECORD.search(page.url)
    assert found, page.url
    return found[1]


def contacts(page: Page) -> str:
    return page.get_by_role("region", name="Coordonnées", exact=True).inner_text()


def test_merge_two_records_then_undo_from_the_flash(page: Page, web: Web, tmp_path: Path) -> None:
    import_register(web, tmp_path, REGISTER)
    login(page, web.agent)
    page.get_by_role("link", name="Usagers").click()
    page.get_by_label("Nom, adresse électronique ou téléphone").fill("Dupon")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)  # head and two
    check_a11y(page)

    page.get_by_role("link", name="Marie Dupont", exact=True).click()
    expect(page).to_have_url(RECORD)
    kept = record_id(page)
    expect(page.get_by_role("heading", name="Marie Dupont", level=1)).to_be_visible()
    check_a11y(page)

    page.get_by_role("link", name="Fusionner avec une autre fiche").click()
    expect(page.get_by_role("heading", name="Fusionner deux fiches")).to_be_visible()
    check_a11y(page)
    page.get_by_label("Nom, adresse électronique ou téléphone").fill("Dupond")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Comparer et fusionner : Marie Dupond").click()

    side_by_side = page.get_by_role("table", name="Les deux fiches côte à côte")
    expect(side_by_side).to_contain_text("marie.dupont@orange.fr")
    expect(side_by_side).to_contain_text("m.dupond@laposte.net")
    expect(side_by_side.get_by_role("row", name=re.compile("^Nom de naissance"))).to_contain_text(
        "Martin"
    )
    check_a11y(page)
    merged = re.search(r"other=(\d+)", page.url)
    assert merged
    page.get_by_role("button", name="Fusionner ces deux fiches").click()

    expect(page).to_have_url(web.url + f"/citizens/{kept}")
    flash = page.locator("main > .flash")
    expect(flash.get_by_role("status")).to_have_text("Fiches fusionnées.")
    assert "m.dupond@laposte.net" in contacts(page) and "+33612345678" in contacts(page)
    check_a11y(page)
    other = page.context.new_page()  # the merged record, in a second tab
    other.goto(f"/citizens/{merged[1]}")
    expect(other.get_by_text("Cette fiche a été fusionnée dans une autre")).to_be_visible()
    other.close()

    page.locator("main > .flash").get_by_role("button", name="Annuler la fusion").click()
    expect(page.get_by_role("status")).to_have_text(
        "Fusion annulée : les deux fiches sont de nouveau distinctes."
    )
    assert "laposte" not in contacts(page) and "marie.dupont@orange.fr" in contacts(page)
    expect(page.get_by_role("region", name="Fusions")).to_contain_text("Annulée le")
    page.goto(f"/citizens/{merged[1]}")
    expect(page.get_by_role("heading", name="Marie Dupond", level=1)).to_be_visible()
    expect(page.get_by_text("Cette fiche a été fusionnée dans une autre")).to_have_count(0)
    assert "m.dupond@laposte.net" in contacts(page) and "+33612345678" in contacts(page)
