"""Webhook benchmark: requests per second and p95 latency for SMS and Telegram into Guichet.

C keep-alive connections post N signed webhooks (Twilio SMS: form body + X-Twilio-Signature
over the public URL; Telegram: an Update JSON + the secret-token header), each a different
citizen message, as fast as the answers come back. Guichet checks each signature, commits the
raw payload to the journal (SQLite WAL + synchronous=FULL, group commit) and only then answers;
its pipeline workers turn the messages into tickets and queue acknowledgements meanwhile,
which its outbox sends to local Twilio and Telegram simulators.

The baseline is a bare FastAPI app on the same uvicorn that answers 200 to the same paths
without reading anything but the body: ``ratio`` = Guichet req/s / bare req/s (target >= 0.5).
Bare and Guichet runs alternate, ``--rounds`` times each; the ratio reported is the median
of each round's ratio (bare and Guichet measured back to back), which a shared, noisy machine
disturbs far less than a ratio of medians would. The client is a small asyncio HTTP/1.1
client so that it costs less CPU than the servers it measures.

    python bench/channels.py [--requests 2000] [--connections 16] [--rounds 5] [--db sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from channels.simulators.telegram import TelegramSimulator
from channels.simulators.twilio import TwilioSimulator
from tests import support

PUBLIC_URL = "https://guichet.mairie.example"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "b" * 32
BOT_TOKEN = "123456:bench-bot-token"
SECRET = "bench-secret-token"
BARE = """import sys, uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/webhooks/twilio/sms")
async def sms(request: Request) -> Response:
    await request.body()
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
                    media_type="text/xml")
@app.post("/webhooks/telegram")
async def telegram(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
TEXTS = (
    "Bonjour, le lampadaire devant le 12 rue des Écoles ne s'allume plus depuis lundi.",
    "Est-ce que la mairie est ouverte samedi matin ? Je dois déposer un dossier.",
    "Dépôt sauvage de gravats au coin de l'avenue Jean-Jaurès, ça déborde sur le trottoir.",
    "Je voudrais inscrire ma fille à la cantine à partir de janvier, comment faire ?",
    "Merci pour votre réponse rapide, bonne journée à toute l'équipe !",
    "Où en est ma demande d'acte de naissance ? Ma référence est dans votre message.",
)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def wire(self) -> bytes:
        head = [f"POST {self.path} HTTP/1.1", "Host: 127.0.0.1"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


def sms_requests(count: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    validator = RequestValidator(AUTH_TOKEN)
    url = PUBLIC_URL + "/webhooks/twilio/sms"
    out = []
    for n in range(count):
        params = {
            "MessageSid": f"SM{seed:04d}{n:028x}",
            "AccountSid": ACCOUNT_SID,
            "From": f"+3361{rng.randrange(10**7):07d}",
            "To": "+33700000000",
            "Body": rng.choice(TEXTS),
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        out.append(Request("/webhooks/twilio/sms", headers, urlencode(params).encode()))
    return out


def telegram_requests(count: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        user = 10_000 + rng.randrange(5000)
        update = {
            "update_id": seed * 1_000_000 + n,
            "message": {
                "message_id": n + 1,
                "date": int(time.time()),
                "chat": {"id": user, "type": "private", "first_name": "Camille"},
                "from": {"id": user, "is_bot": False, "first_name": "Camille"},
                "text": rng.choice(TEXTS),
            },
        }
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        out.append(Request("/webhooks/telegram", headers, json.dumps(update).encode()))
    return out


async def _connection(
    port: int, queue: list[Request], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request.wire())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()


@dataclass
class Result:
    rate: float
    p50_ms: float
    p95_ms: float
    errors: int


def blast(port: int, requests: list[Request], connections: int) -> Result:
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: list[int] = []

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, queue, latencies, statuses) for _ in range(connections))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    ordered = sorted(latencies)
    return Result(
        rate=len(requests) / elapsed,
        p50_ms=1000 * ordered[len(ordered) // 2],
        p95_ms=1000 * ordered[int(len(ordered) * 0.95)],
        errors=sum(1 for s in statuses if s != 200),
    )


def start_bare() -> tuple[subprocess.Popen[bytes], int]:
    port = support.free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    support.wait_for(lambda: _answers(port), 30, "the bare FastAPI app")
    return proc, port


def _answers(port: int) -> bool:
    try:
        httpx.post(f"http://127.0.0.1:{port}/webhooks/telegram", content=b"{}", timeout=1)
        return True
    except httpx.HTTPError:
        return False


def start_guichet(
    db_url: str, data: Path, twilio: str, telegram: str, extra: dict[str, str]
) -> support.Gateway:
    gw = support.Gateway(db_url, data, support.free_port())
    gw.env_extra = extra | {
        "GUICHET_PUBLIC_URL": PUBLIC_URL,
        "GUICHET_TWILIO__ENABLED": "true",
        "GUICHET_TWILIO__ACCOUNT_SID": ACCOUNT_SID,
        "GUICHET_TWILIO__AUTH_TOKEN": AUTH_TOKEN,
        "GUICHET_TWILIO__FROM_NUMBER": "+33700000000",
        "GUICHET_TWILIO__API_BASE": twilio,
        "GUICHET_TELEGRAM__ENABLED": "true",
        "GUICHET_TELEGRAM__BOT_TOKEN": BOT_TOKEN,
        "GUICHET_TELEGRAM__SECRET_TOKEN": SECRET,
        "GUICHET_TELEGRAM__API_BASE": telegram,
    }
    return gw.start()


def processed(gw: support.Gateway) -> int:
    """Journal items the pipeline has finished (tickets, duplicates, quarantined…)."""
    text = httpx.get(gw.url + "/metrics", timeout=10).text
    done = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("guichet_messages_processed_total{")
    )
    return int(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--intake-only",
        action="store_true",
        help="no pipeline workers in guichet (journal only): do not wait for tickets",
    )
    parser.add_argument(
        "--env", action="append", default=[], help="extra KEY=VALUE for guichet (experiments)"
    )
    args = parser.parse_args()
    kinds: dict[str, Callable[[int, int], list[Request]]] = {
        "sms": sms_requests,
        "telegram": telegram_requests,
    }
    results: dict[tuple[str, str], list[Result]] = {}
    seed = 1
    with (
        TwilioSimulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio,
        TelegramSimulator(token=BOT_TOKEN) as telegram,
        tempfile.TemporaryDirectory() as tmp,
        support.database_url(Path(tmp), args.db) as db_url,
    ):
        extra = dict(e.split("=", 1) for e in args.env)
        if args.intake_only:
            extra["GUICHET_PIPELINE__WORKERS"] = "0"
        gw = start_guichet(db_url, Path(tmp), twilio.base_url, telegram.base_url, extra)
        bare, bare_port = start_bare()
        try:
            for _ in range(args.rounds):
                for kind, make in kinds.items():
                    for target, port in (("bare", bare_port), ("guichet", gw.http_port)):
                        seed += 1
                        res = blast(port, make(args.requests, seed), args.connections)
                        results.setdefault((kind, target), []).append(res)
                        print(
                            f"  {kind:8} {target:8} {res.rate:7.0f} req/s  p50 {res.p50_ms:6.1f} ms"
                            f"  p95 {res.p95_ms:6.1f} ms  non-200: {res.errors}",
                            flush=True,
                        )
            expected = args.rounds * len(kinds) * args.requests
            started = time.monotonic()
            if not args.intake_only:
                support.wait_for(lambda: processed(gw) >= expected, 600, "the pipeline to catch up")
            catch_up = time.monotonic() - started
        finally:
            bare.terminate()
            bare.wait()
            gw.stop()
    print(f"\nchannels webhook benchmark, {args.db}, {args.requests} requests x {args.rounds}")
    print(
        f"{'channel':9} {'bare req/s':>10} {'guichet req/s':>14} {'ratio':>6} {'p95 bare':>9} "
        f"{'p95 guichet':>12}"
    )
    ok = True
    for kind in kinds:
        bare_r, ours = results[(kind, "bare")], results[(kind, "guichet")]
        b = statistics.median(r.rate for r in bare_r)
        g = statistics.median(r.rate for r in ours)
        pb = statistics.median(r.p95_ms for r in bare_r)
        pg = statistics.median(r.p95_ms for r in ours)
        ratio = statistics.median(o.rate / r.rate for r, o in zip(bare_r, ours, strict=True))
        errors = sum(r.errors for r in ours)
        ok &= ratio >= 0.5 and errors == 0
        print(
            f"{kind:9} {b:10.0f} {g:14.0f} {ratio:6.2f} {pb:7.1f}ms {pg:10.1f}ms"
            + (f"  ({errors} non-200!)" if errors else "")
        )
    if not args.intake_only:
        print(f"every webhook processed by the pipeline {catch_up:.1f} s after the last answer")
    print("target ratio >= 0.5:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
