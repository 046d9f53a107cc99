"""Two agents pressing "next" at the same moment never get the same ticket (real PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from tests.support import Gateway, Relay, make_mail, postgres_database, wait_for

AGENTS = 8
TICKETS = 60


def test_concurrent_claims_on_postgresql(tmp_path: Path, relay: Relay) -> None:
    with postgres_database() as url:
        gw = Gateway(url, tmp_path, relay.port).start()
        try:
            tokens = [gw.agent_token(f"agent{n}@mairie.example") for n in range(AGENTS)]
            for n in range(TICKETS):
                gw.send(make_mail(sender=f"u{n}@example.fr", subject=f"Demande {n}"))
            api = gw.client(tokens[0])
            wait_for(
                lambda: len(api.get("/api/v1/tickets?limit=200").json()["items"]) == TICKETS,
                60,
                "all tickets",
            )
            claims: dict[int, list[int]] = {n: [] for n in range(AGENTS)}
            barrier = threading.Barrier(AGENTS)

            def work(n: int) -> None:
                with gw.client(tokens[n]) as client:
                    barrier.wait()
                    while (r := client.post("/api/v1/queue/next")).status_code == 200:
                        claims[n].append(r.json()["id"])
                    assert r.status_code == 204

            threads = [threading.Thread(target=work, args=(n,)) for n in range(AGENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            everything = [tid for ids in claims.values() for tid in ids]
            assert len(everything) == TICKETS
            assert Counter(everything).most_common(1)[0][1] == 1, "a ticket was claimed twice"
            assert sum(1 for ids in claims.values() if ids) >= 2, "no real concurrency happened"
            me = {n: gw.client(tokens[n]).get("/api/v1/me").json()["id"] for n in range(AGENTS)}
            for n, ids in claims.items():
                for tid in ids[:3]:
                    assert (
                        gw.client(tokens[n]).get(f"/api/v1/tickets/{tid}").json()["assignee_id"]
                        == me[n]
                    )
        finally:
            gw.stop()
