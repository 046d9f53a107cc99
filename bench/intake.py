"""Intake benchmark: how fast does Guichet say 250, and how soon is every message a ticket?

C client threads each open one SMTP connection and send their share of M generated French
e-mails over it, one after another (an MTA reusing a connection). We time from a common start
(a barrier) to the last 250 and report accepted messages per second, and the time until the
pipeline has turned every message into a ticket (polled on /metrics, then checked through the
API: exactly M tickets, or the run fails).

The same clients send the same messages to a bare aiosmtpd server in its own process that
answers 250 and stores nothing: the ceiling of aiosmtpd plus these clients on this machine.
``ratio`` = guichet msg/s / bare msg/s is therefore the share of that ceiling Guichet keeps
while committing every message durably (SQLite WAL + synchronous=FULL, or PostgreSQL) before
its 250. The target is ratio >= 0.5 on SQLite. Bare and Guichet runs alternate, each at least
twice, and medians are reported, because a shared machine is noisy.

    python bench/intake.py [--clients 8] [--messages 2000] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import support

SINK = """import asyncio, sys
from aiosmtpd.smtp import SMTP
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    make = lambda: SMTP(Sink(), decode_data=False, enable_SMTPUTF8=True)
    await loop.create_server(make, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _split(text: str) -> list[str]:
    return text.split("|") if "|" in text else text.split()


SUBJECTS = _split(
    "Demande d'acte de naissance|Inscription à la cantine scolaire|Nid-de-poule rue des Tilleuls|"
    "Rendez-vous carte d'identité|Bruit de voisinage la nuit|Dépôt sauvage près du stade|"
    "Réservation de la salle des fêtes|Permis de construire : où en est mon dossier ?|"
    "Éclairage public en panne|Ramassage des encombrants"
)
SENTENCES = _split(
    "Je me permets de vous écrire au sujet de la demande que j'ai déposée en mairie.|"
    "Pourriez-vous m'indiquer les pièces justificatives à fournir ?|"
    "Je suis disponible en semaine après 17 h et le samedi matin.|"
    "Le problème dure depuis plus de trois semaines et s'aggrave.|"
    "Je vous remercie par avance de l'attention portée à ma demande.|"
    "Mon fils est scolarisé à l'école Jules-Ferry en classe de CE2.|"
    "Vous trouverez mes coordonnées complètes en bas de ce message.|"
    "Les riverains de la rue sont également très inquiets de la situation."
)
FIRST = _split(
    "Marie Jean Sophie Pierre Camille Luc Élodie François Inès Hugo Chloé Mathieu Léa Nicolas "
    "Zoé Gaëlle Rémi Anaïs Yanis Hélène"
)
LAST = _split(
    "Dupont Martin Bernard Lefèvre Moreau Girard Rousseau Faure Mercier Blanc Guérin Muller "
    "Henry Roussel Chevalier Lambert Bonnet François Legrand Garnier Durand Lemoine Boyer Roux"
)
DOMAINS = _split("orange.fr free.fr laposte.net gmail.com wanadoo.fr sfr.fr")
Mail = tuple[str, str, bytes]  # envelope sender, recipient, raw message


def make_messages(count: int, size: int, seed: int = 42) -> list[Mail]:
    rnd = random.Random(seed)
    people = [(f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", rnd.choice(DOMAINS)) for _ in range(500)]
    mails = []
    for i in range(count):
        name, domain = people[i % len(people)]
        ascii_name = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
        local = ascii_name.replace(" ", ".") + str(i % 500)
        msg = EmailMessage()
        msg["From"] = f"{name} <{local}@{domain}>"
        msg["To"], msg["Subject"] = "contact@mairie.example", rnd.choice(SUBJECTS)
        msg["Date"] = format_datetime(datetime(2025, 3, 3, 8, tzinfo=UTC) + timedelta(minutes=i))
        msg["Message-ID"] = f"<bench.{i}.{rnd.getrandbits(48):x}@{domain}>"
        body = ["Madame, Monsieur,", ""]
        while sum(len(s) + 1 for s in body) < size - 400:
            body.append(rnd.choice(SENTENCES))
        msg.set_content("\n".join([*body, "", "Cordialement,", name]))
        raw = msg.as_bytes(policy=policy.SMTP)  # CRLF, as on the wire
        mails.append((f"{local}@{domain}", "contact@mairie.example", raw))
    return mails


@dataclass
class Send:
    seconds: float
    accepted: int
    tickets_after: float = 0.0  # Guichet only: from the first send until the last ticket

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds


def blast(port: int, mails: list[Mail], clients: int, what: str) -> Send:
    barrier = threading.Barrier(clients + 1, timeout=60)
    ends, accepted, errors = [0.0] * clients, [0] * clients, []

    def client(n: int) -> None:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
        barrier.wait()
        for sender, rcpt, raw in mails[n::clients]:
            try:
                smtp.sendmail(sender, [rcpt], raw)  # raises unless the answer is 250
                accepted[n] += 1
            except (smtplib.SMTPException, OSError) as exc:
                errors.append(repr(exc)[:200])
                smtp.close()
                try:
                    smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
                except OSError:
                    return  # the server is gone: the count check below reports it
        ends[n] = time.perf_counter()
        smtp.quit()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors or sum(accepted) != len(mails):
        sys.exit(f"{what}: {sum(accepted)}/{len(mails)} accepted, {errors[:3]}")
    return Send(max(ends) - start, sum(accepted))


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = support.free_port()
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port)])

    def up() -> bool:
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
            return True
        except OSError:
            return False

    support.wait_for(up, 20, "bare SMTP server")
    return proc, port


def processed(gw: support.Gateway) -> dict[str, float]:
    text = httpx.get(gw.url + "/metrics", timeout=10).text
    found = re.findall(r'^guichet_messages_processed_total\{outcome="(\w+)"\} (\S+)$', text, re.M)
    return {outcome: float(v) for outcome, v in found}


def guichet_run(backend: str, mails: list[Mail], clients: int, relay_port: int) -> Send:
    tmp = tempfile.TemporaryDirectory(prefix="guichet-bench-")
    db: AbstractContextManager[str] = (
        support.postgres_database()
        if backend == "postgresql"
        else nullcontext(f"sqlite:///{tmp.name}/guichet.sqlite")
    )
    with tmp, db as url:
        gw = support.Gateway(url, Path(tmp.name), relay_port).start()
        try:
            token = gw.agent_token("bench@mairie.example")
            run = blast(gw.smtp_port, mails, clients, f"guichet on {backend}")
            start, deadline = time.perf_counter() - run.seconds, time.monotonic() + 600
            while sum(processed(gw).values()) < len(mails) and time.monotonic() < deadline:
                time.sleep(0.2)  # coarse: scraping /metrics costs the gateway some CPU too
            run.tickets_after = time.perf_counter() - start
            outcomes, ids, cursor = processed(gw), set(), None
            with gw.client(token) as api:
                while True:
                    page = api.get("/api/v1/tickets", params={"limit": 200, "cursor": cursor})
                    ids |= {t["id"] for t in page.raise_for_status().json()["items"]}
                    if not (cursor := page.json()["next_cursor"]):
                        break
            if len(ids) != len(mails) or outcomes != {"done": len(mails)}:
                sys.exit(f"{backend}: {len(ids)} tickets, outcomes {outcomes}; sent {len(mails)}")
        finally:
            gw.stop()
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--size", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default=None)
    p.add_argument("--pg-url", default=support.PG_ADMIN_URL)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # run the finally blocks
    support.PG_ADMIN_URL = args.pg_url
    pg = support.postgres_available()
    if args.db is None and not pg:
        print(f"note: PostgreSQL not reachable at {args.pg_url}: SQLite only")
    elif args.db in ("postgresql", "both") and not pg:
        sys.exit(f"PostgreSQL not reachable at {args.pg_url}")
    backends = {"sqlite": ["sqlite"], "postgresql": ["postgresql"]}.get(
        args.db or ("both" if pg else "sqlite"), ["sqlite", "postgresql"]
    )
    mails = make_messages(args.messages, args.size)
    avg = statistics.mean(len(raw) for _, _, raw in mails) / 1000
    print(
        f"intake benchmark: {args.clients} clients × {args.messages} messages of ~{avg:.1f} kB,"
        f" {args.rounds} rounds, medians"
    )
    sink, sink_port = start_sink()  # the baseline, and the relay that takes Guichet's acks
    rows = []
    try:
        for backend in backends:
            bare, ours = [], []
            for r in range(args.rounds):
                bare.append(blast(sink_port, mails, args.clients, "bare"))
                ours.append(guichet_run(backend, mails, args.clients, sink_port))
                print(
                    f"  {backend} round {r + 1}: bare {bare[-1].rate:.0f} msg/s, guichet "
                    f"{ours[-1].rate:.0f} msg/s, tickets after {ours[-1].tickets_after:.2f} s",
                    flush=True,
                )
            b, g = (statistics.median(x.rate for x in runs) for runs in (bare, ours))
            t = statistics.median(x.tickets_after for x in ours)
            rows.append((backend, b, g, g / b, t, args.messages / t))
    finally:
        sink.terminate()
        sink.wait(10)
    print(
        f"{'backend':<11} {'bare msg/s':>10} {'guichet msg/s':>14} {'ratio':>6} "
        f"{'all tickets after':>18} {'pipeline msg/s':>15}"
    )
    for backend, b, g, ratio, t, pipe in rows:
        print(f"{backend:<11} {b:>10.1f} {g:>14.1f} {ratio:>6.2f} {t:>16.2f} s {pipe:>15.0f}")
    sqlite = [row[3] for row in rows if row[0] == "sqlite"]
    if sqlite:
        verdict = "PASS" if sqlite[0] >= 0.5 else "MISS"
        print(f"target: ratio >= 0.5 on sqlite: {verdict} ({sqlite[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
