"""The demo's traffic on every channel beyond SMTP, through the real webhooks and pollers.

Local simulators stand in for Twilio, Telegram and X (the same ones the tests use): Guichet's
official client libraries talk to them, and they post signed webhooks to Guichet exactly as the
providers do. The PBX is played by plain CTI events in Zammad's field names. Nothing here
writes to the database: every message takes the path a real one takes.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from typing import Any

import httpx

from channels.simulators.telegram import TelegramSimulator, make_update, post_update
from channels.simulators.twilio import TwilioSimulator
from channels.simulators.x import XSimulator
from gateway.demo_data import CITIZENS

TOWN_NUMBER = "+33700000000"
# A tiny valid PNG: the "photo of the pothole" of the MMS.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3e9d3540000000049454e44ae426082"
)


class Providers:
    """The simulators, and the settings that point Guichet at them."""

    def __init__(self, stack: ExitStack) -> None:
        self.twilio = stack.enter_context(TwilioSimulator(number=TOWN_NUMBER))
        self.telegram = stack.enter_context(TelegramSimulator())
        self.x = stack.enter_context(XSimulator())
        self.secret = secrets.token_urlsafe(16)
        self.cti_token = secrets.token_urlsafe(16)

    def settings(self, public_url: str) -> dict[str, Any]:
        return {
            "public_url": public_url,
            "twilio": {
                "enabled": True,
                "account_sid": self.twilio.account_sid,
                "auth_token": self.twilio.auth_token,
                "from_number": TOWN_NUMBER,
                "api_base": self.twilio.base_url,
                "media_hosts": [self.twilio.media_host],
            },
            "telegram": {
                "enabled": True,
                "mode": "webhook",
                "bot_token": self.telegram.token,
                "secret_token": self.secret,
                "api_base": self.telegram.base_url,
            },
            "x": {**self.x.settings(), "poll_seconds": 2.0},
            "cti": {"enabled": True, "token": self.cti_token},
        }


def _wait_up(url: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def drive(url: str, p: Providers) -> None:
    """Send the demo's SMS, Telegram messages, X posts and phone calls."""
    _wait_up(url)
    phones = [c.phone for c in CITIZENS if c.phone.startswith(("06", "07"))]
    sms = url + "/webhooks/twilio/sms"
    p.twilio.send_sms(
        sms, phones[0], "Bonjour, le lampadaire devant chez moi est éteint depuis 3 jours."
    )
    p.twilio.send_sms(
        sms, phones[1], "Nid-de-poule rue des Tilleuls, voici la photo.", media=[(PNG, "image/png")]
    )
    p.twilio.send_sms(sms, "+33698765432", "Bonjour, à quelle heure ouvre la mairie samedi ?")
    p.twilio.send_sms(sms, "+33611223344", "STOP")
    tg = url + "/webhooks/telegram"
    post_update(
        tg, make_update(1, 7001, text="/start", first_name="Léa", last_name="Girard"), p.secret
    )
    post_update(
        tg,
        make_update(
            2,
            7001,
            text="Je voudrais inscrire mon fils à la cantine en janvier.",
            first_name="Léa",
            last_name="Girard",
        ),
        p.secret,
    )
    first = CITIZENS[2]
    post_update(
        tg,
        make_update(
            3,
            7002,
            contact=(first.phone, 7002),
            first_name=first.first_name,
            last_name=first.last_name,
        ),
        p.secret,
    )
    post_update(
        tg,
        make_update(
            4,
            7002,
            text="Où en est ma demande de carte d'identité ?",
            first_name=first.first_name,
            last_name=first.last_name,
        ),
        p.secret,
    )
    citizen = p.x.add_user("Hugo Lambert", "hugo_lambert")
    p.x.add_mention(citizen, "@mairie_exemple les encombrants n'ont pas été ramassés rue Pasteur")
    p.x.add_dm(citizen, "Bonjour, je vous écris en privé pour les encombrants du 14 rue Pasteur.")
    cti = f"{url}/webhooks/cti/{p.cti_token}"
    for n, (phone, answered) in enumerate([(phones[3], False), (phones[4], True)], start=1):
        base = {"from": phone, "to": "0240000000", "direction": "in", "callId": f"demo-{n}"}
        httpx.post(cti, data={**base, "event": "newCall", "user[]": "Accueil"}, timeout=10)
        if answered:
            httpx.post(cti, data={**base, "event": "answer", "user": "Karim Agent"}, timeout=10)
        cause = "normalClearing" if answered else "noAnswer"
        httpx.post(cti, data={**base, "event": "hangup", "cause": cause}, timeout=10)
