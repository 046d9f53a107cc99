"""E-mail from existing mailboxes over IMAP: one poller thread per configured mailbox.

Each message is fetched without touching its flags (``BODY.PEEK[]``), journaled raw (the
pipeline parses it later, so a "MIME of death" is quarantined there and never blocks the
mailbox), then the checkpoint (UIDVALIDITY + last UID) is saved, and only then is the message
marked on the server: keyword ``$Guichet`` + ``\\Seen`` (``after="flag"``) or moved to
``move_to`` (``after="move"``). A crash between two of these steps makes the pipeline see the
message twice at worst, and its dedupe (Message-ID + sender, else identical bytes) absorbs that.

When UIDVALIDITY changes (or on the very first run) UIDs mean nothing: the folder is re-scanned
for every message not marked as processed. Server outages are reported and retried with backoff;
the poller reconnects and resumes from its checkpoint by itself.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from channels.base import Runtime
from gateway.core.channel_state import load_checkpoint, save_checkpoint
from gateway.core.settings import ImapMailbox, Settings

log = logging.getLogger(__name__)

KEYWORD = b"$Guichet"
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
MAX_BACKOFF = 60.0
IDLE_SLICE = 1.0  # seconds per IDLE wait, so that a shutdown is noticed quickly
STOP_GRACE = 1.0  # seconds a stopping poller has to finish the message in hand


def pollers(runtime: Runtime) -> list[Callable[[], None]]:
    return [_poller(runtime, mailbox) for mailbox in runtime.settings.imap]


def state_names(settings: Settings) -> list[str]:
    return [f"imap:{m.name}" for m in settings.imap]


def _poller(runtime: Runtime, mailbox: ImapMailbox) -> Callable[[], None]:
    def run() -> None:
        _MailboxPoller(runtime, mailbox).run()

    return run


def error_text(exc: BaseException, mailbox: ImapMailbox) -> str:
    """A short description of a failure for the channel state: its kind, never personal data.

    Only the server's and the network's own words are quoted (other errors, a database error
    for one, may quote the message being journaled), without the login, on one short line.
    """
    if isinstance(exc, LoginError):
        kind = "authentication failed"
    elif isinstance(exc, ConnectionRefusedError):
        kind = "connection refused"
    elif isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, IMAPClient.AbortError | ConnectionError | EOFError):
        kind = "connection lost"
    elif isinstance(exc, ssl.SSLError):
        kind = "TLS error"
    else:
        kind = "error"
    label = f"{kind} ({type(exc).__name__})"
    if not isinstance(exc, IMAPClient.Error | IMAPClient.AbortError | OSError):
        return label
    detail = str(exc)
    for login in (mailbox.username, mailbox.address):
        if login:  # as a whole word only: a login "u" must not eat the "u" of "timed out"
            detail = re.sub(rf"(?<![\w.@-]){re.escape(login)}(?![\w.@-])", "…", detail)
    detail = " ".join(detail.split())[:160]
    return f"{label}: {detail}" if detail else label


def fresh_uids(found: list[int], last_uid: int) -> list[int]:
    """UIDs above the checkpoint, in order (``UID n:*`` always returns the highest UID, even
    when it is below n)."""
    return sorted(uid for uid in set(found) if uid > last_uid)


class _MailboxPoller:
    """The loop for one mailbox: connect, catch up, wait (IDLE or sleep), catch up, …"""

    def __init__(self, runtime: Runtime, mailbox: ImapMailbox) -> None:
        self.runtime = runtime
        self.mailbox = mailbox
        self.name = f"imap:{mailbox.name}"
        self.stop = runtime.stop
        self.marker: list[bytes] = [KEYWORD, SEEN]  # narrowed to \Seen if keywords are refused
        self._client: IMAPClient | None = None
        self._done = threading.Event()

    def run(self) -> None:
        watcher = threading.Thread(target=self._interrupt_on_stop, name=self.name, daemon=True)
        watcher.start()
        try:
            self._loop()
        finally:
            self._done.set()

    def _interrupt_on_stop(self) -> None:
        """A blocking call (a login the server delays after failures, a slow fetch) would hold
        a shutdown for up to ``timeout_seconds``: after a grace period to finish the message in
        hand, its socket is shut down, which makes that call fail at once."""
        self.stop.wait()
        if self._done.wait(STOP_GRACE):
            return
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client.socket().shutdown(socket.SHUT_RDWR)

    def _loop(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            client: IMAPClient | None = None
            try:
                client = self._connect()
                while not self.stop.is_set():
                    self._round(client)
                    self.runtime.report(self.name, None)
                    backoff = 1.0
                    self._wait(client)
            except Exception as exc:  # every failure: report, back off, reconnect, resume
                if self.stop.is_set():
                    break
                log.warning("%s: %s; retrying in %.0f s", self.name, type(exc).__name__, backoff)
                self.runtime.report(self.name, error_text(exc, self.mailbox))
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if client is not None:
                    _close(client)
                self._client = None

    def _connect(self) -> IMAPClient:
        mb = self.mailbox
        context = ssl.create_default_context() if mb.ssl or mb.starttls else None
        client = IMAPClient(
            mb.host, port=mb.port, ssl=mb.ssl, ssl_context=context, timeout=mb.timeout_seconds
        )
        self._client = client
        try:
            if mb.starttls and not mb.ssl:
                client.starttls(context)
            client.login(mb.username, mb.password())
            if mb.after == "move" and not client.folder_exists(mb.move_to):
                try:
                    client.create_folder(mb.move_to)
                except IMAPClient.Error:
                    if not client.folder_exists(mb.move_to):  # not a race with another client
                        raise
        except BaseException:
            _close(client)
            raise
        log.info("%s: connected", self.name)
        return client

    def _round(self, client: IMAPClient) -> None:
        """Journal every message not yet journaled, in UID order."""
        mb = self.mailbox
        selected = client.select_folder(mb.folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        permanent = selected.get(b"PERMANENTFLAGS", ())
        if b"\\*" not in permanent and KEYWORD not in permanent:
            self.marker = [SEEN]
        checkpoint = load_checkpoint(self.runtime.db, self.name)
        rescan = checkpoint is None or checkpoint.get("uidvalidity") != uidvalidity
        if checkpoint is not None and not rescan:
            last_uid = int(checkpoint.get("last_uid", 0))
            uids = fresh_uids(client.search(["UID", f"{last_uid + 1}:*"]), last_uid)
        else:
            if checkpoint is not None:
                log.warning("%s: UIDVALIDITY changed, re-scanning the folder", self.name)
            uids = fresh_uids(client.search(self._unprocessed()), 0)
        for uid in uids:
            if self.stop.is_set():
                return
            self._take(client, uid, uidvalidity)
        uidnext = selected.get(b"UIDNEXT")
        if rescan and uidnext:
            # Everything below UIDNEXT (as of SELECT) is now processed: later rounds need not
            # scan the whole folder again. Anything newer has a UID of at least UIDNEXT.
            last = max([int(uidnext) - 1, *uids])
            save_checkpoint(
                self.runtime.db, self.name, {"uidvalidity": uidvalidity, "last_uid": last}
            )

    def _unprocessed(self) -> list[Any]:
        if self.mailbox.after == "move":
            return ["ALL"]  # whatever is still in the folder was not moved out yet
        return ["UNKEYWORD", KEYWORD.decode()] if KEYWORD in self.marker else ["UNSEEN"]

    def _take(self, client: IMAPClient, uid: int, uidvalidity: int) -> None:
        mb = self.mailbox
        size = client.fetch([uid], ["RFC822.SIZE"]).get(uid, {}).get(b"RFC822.SIZE")
        if size is None:
            return  # expunged by someone else since the search
        if int(size) > self.runtime.settings.smtp.max_message_size:
            # The mailbox already accepted it: nothing is dropped, only noted.
            log.warning("%s: uid %d is %d bytes, over the size limit", self.name, uid, size)
        data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        raw = data.get(b"BODY[]")
        if raw is None:
            return
        envelope = {
            "mail_from": "",
            "rcpt_tos": [mb.address or mb.username],
            "team": mb.team,
            "mailbox": mb.name,
            "imap_uid": uid,
            "uidvalidity": uidvalidity,
        }
        journal_id = self.runtime.ingest("email", bytes(raw), envelope)
        save_checkpoint(self.runtime.db, self.name, {"uidvalidity": uidvalidity, "last_uid": uid})
        self._mark(client, uid)
        log.info("%s: uid %d journaled as item %s", self.name, uid, journal_id)

    def _mark(self, client: IMAPClient, uid: int) -> None:
        mb = self.mailbox
        if mb.after == "flag":
            client.add_flags([uid], self.marker, silent=True)
        elif client.has_capability("MOVE"):
            client.move([uid], mb.move_to)
        else:
            client.copy([uid], mb.move_to)
            client.add_flags([uid], [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])
            else:  # also purges what a person deleted there, as any mail client's "compact"
                client.expunge()

    def _wait(self, client: IMAPClient) -> None:
        """Until the server announces something, ``poll_seconds`` pass, or we are stopped."""
        mb = self.mailbox
        if not (mb.idle and client.has_capability("IDLE")):
            self.stop.wait(mb.poll_seconds)
            return
        deadline = time.monotonic() + mb.poll_seconds
        client.idle()
        try:
            while not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(IDLE_SLICE, remaining)
                started = time.monotonic()
                responses = client.idle_check(timeout=wait)
                # imapclient returns an empty list both on timeout and when the server closed the
                # connection; an early empty answer is the latter: leave IDLE and find out.
                if responses or time.monotonic() - started < wait / 2:
                    break
        finally:
            client.idle_done()


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()
