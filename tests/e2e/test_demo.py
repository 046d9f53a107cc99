"""`guichet demo`: the product as a newcomer first sees it."""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
from pathlib import Path

import httpx

from tests import support
from tests.support import GUICHET, free_port, wait_for


def test_demo_serves_a_seeded_queue_and_cleans_up() -> None:
    http_port, smtp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    proc = subprocess.Popen(
        [GUICHET, "demo", "--http-port", str(http_port), "--smtp-port", str(smtp_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "demo exited early:\n" + "".join(lines)
            lines.append(line)
        out = "".join(lines)
        written = re.search(r"written to (\S+)/sent", out)
        supervisor = re.search(r"supervisor\s+(\S+)\s+(\S+)", out)
        assert written and supervisor, out
        folder = Path(written[1])
        email, password = supervisor.groups()
        web = httpx.Client(
            base_url=f"http://127.0.0.1:{http_port}", timeout=10, follow_redirects=True
        )
        wait_for(lambda: _up(web), 60, "the demo to answer")
        r = support.web_login(web, email, password)
        assert r.status_code == 303 and "File d'attente" in html.unescape(web.get("/").text)

        def queue_size() -> int:
            m = re.search(r"File d'attente \((\d+)\)", html.unescape(web.get("/").text))
            return int(m.group(1)) if m else 0

        def channels() -> set[str]:
            items = web.get("/api/v1/tickets?limit=100").json()["items"]
            return {t["channel"] for t in items}

        # 30 e-mails, then SMS, Telegram, X and a missed call, each through its webhook/poller.
        every = {"email", "sms", "telegram", "x", "phone"}
        wait_for(lambda: channels() == every, 60, "demo tickets on every channel")
        wait_for(lambda: queue_size() >= 37, 60, "the demo's requests in the queue")
        states = web.get("/api/v1/channels").json()["channels"]
        assert all(c["enabled"] and c["ok"] and c["last_received_at"] for c in states), states
        page = html.unescape(web.get("/").text)
        assert "Exemple-sur-Loire" in page  # the authority's name in the header
        assert re.search(r"<code>[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}</code>", page)
        assert web.get("/api/v1/tickets?limit=5").json()["items"][0]["citizen_id"]
        wait_for(lambda: len(list((folder / "sent").glob("*.eml"))) >= 20, 60, "acknowledgements")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    assert not folder.exists()


def _up(web: httpx.Client) -> bool:
    try:
        return web.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
