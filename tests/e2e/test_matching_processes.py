"""A citizen created by any process is visible to matching in every process within a second."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import Gateway, Relay, make_mail, wait_for

REGISTER = (
    "external_id;first_name;last_name;birth_date;email;phone\r\n"
    "R1;Gwenaëlle;Le Goff;12/05/1979;gwen.legoff@wanadoo.fr;06 98 76 54 32\r\n"
)


def test_import_in_another_process_is_matched_within_a_second(
    gateway: Gateway, tmp_path: Path
) -> None:
    api = gateway.client(gateway.agent_token("karim@mairie.example"))
    assert api.get("/api/v1/citizens", params={"q": "06 98 76 54 32"}).json() == []
    path = tmp_path / "registre.csv"
    path.write_bytes(REGISTER.encode("utf-8"))
    gateway.cli("citizens", "import", str(path))
    imported = time.monotonic()
    found = wait_for(
        lambda: api.get("/api/v1/citizens", params={"q": "+33 6 98 76 54 32"}).json(),
        5,
        "the imported citizen in the running gateway's index",
    )
    assert time.monotonic() - imported < 1.5
    assert found[0]["last_name"] == "Le Goff"
    gateway.send(
        make_mail(sender="LE GOFF Gwenaelle <Gwen.LeGoff@wanadoo.fr>", subject="Concession")
    )
    ticket = wait_for(lambda: api.get("/api/v1/tickets").json()["items"], what="a ticket")[0]
    assert ticket["citizen_id"] == found[0]["id"] and not ticket["needs_review"]


def test_two_gateways_on_one_database_share_new_citizens(
    tmp_path: Path, db_url: str, relay: Relay
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Gateway(db_url, tmp_path / "a", relay.port).start()
    b = Gateway(db_url, tmp_path / "b", relay.port).start()
    try:
        api_a = a.client(a.agent_token("karim@mairie.example"))
        a.send(
            make_mail(sender="Yasmina Benali <y.benali@gmail.com>", subject="Inscription cantine")
        )
        wait_for(lambda: api_a.get("/api/v1/tickets").json()["items"], what="a ticket on A")
        b.send(make_mail(sender="Yasmina Benali <y.benali@gmail.com>", subject="Suite cantine"))
        both = wait_for(
            lambda: (t := api_a.get("/api/v1/tickets").json()["items"]) and len(t) == 2 and t,
            what="two tickets",
        )
        assert both
        assert both[0]["citizen_id"] == both[1]["citizen_id"]
        assert len(api_a.get("/api/v1/citizens", params={"q": "y.benali@gmail.com"}).json()) == 1
    finally:
        a.stop()
        b.stop()
