"""A private, real Dovecot IMAP server for tests (Debian package ``dovecot-imapd``).

Everything it writes (configuration, sockets, state, log) lives in a directory of the test; it
listens on 127.0.0.1 only, on a free port, without TLS, with plain-text logins from a passwd
file. It never touches a system instance. Dovecot refuses to access mail as root, so when the
tests run as root the mail lives in a private temporary directory owned by ``nobody`` (the
test's own directory is not reachable for that user); otherwise everything runs as the user.

    with Dovecot(tmp_path / "dovecot", {"mairie": "secret"}) as server:
        server.append("mairie", raw)
        server.stop(kill=True); server.start()
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from imapclient import IMAPClient

from tests.support import free_port, need

DOVECOT = "/usr/sbin/dovecot"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{process_users}
mail_location = maildir:~/Maildir
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail_root}/%u
}}
# Wrong passwords are tested: their penalty would slow down every later login from 127.0.0.1.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  {login_chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{auth_service}
"""


def available() -> bool:
    return Path(DOVECOT).exists()


class Dovecot:
    """Start, stop (cleanly or with SIGKILL) and restart one Dovecot; deliver mail with APPEND.

    ``capabilities`` replaces the advertised CAPABILITY list (to test a server without IDLE or
    MOVE): Dovecot still accepts the commands, the client simply must not use them.
    """

    def __init__(self, root: Path, users: dict[str, str], capabilities: str | None = None) -> None:
        need(available(), "Dovecot (Debian package dovecot-imapd) is not installed")
        self.root = root
        self.users = users
        self.capabilities = capabilities
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
            self.mail_root = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
            os.chmod(self.mail_root, 0o700)
            os.chown(self.mail_root, self.mail_uid, self.mail_gid)
            # The master runs as root; login and internal processes as Debian's own users
            # (dovenull, dovecot), chrooted; auth as root to read the passwd file in our dir.
            process_users, login_chroot = "", ""
            auth_service = "service auth {\n  user = root\n}"
            self._own_mail_root = True
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            self.mail_root = self.root / "mail"
            self.mail_root.mkdir(exist_ok=True)
            # Unprivileged: every process runs as us, and chroot is not possible.
            me = pwd.getpwuid(self.mail_uid).pw_name
            group = grp.getgrgid(self.mail_gid).gr_name
            process_users = (
                f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                f"default_login_user = {me}"
            )
            login_chroot, auth_service = "chroot =", ""
            self._own_mail_root = False
        self.config = self.root / "dovecot.conf"
        (self.root / "users").write_text(
            "".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in users.items())
        )
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                mail_root=self.mail_root,
                mail_uid=self.mail_uid,
                mail_gid=self.mail_gid,
                process_users=process_users,
                login_chroot=login_chroot,
                auth_service=auth_service,
                capability=f"imap_capability = {capabilities}" if capabilities else "",
            )
        )

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = 15.0) -> Dovecot:
        out = (self.root / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)], stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        deadline = time.monotonic() + timeout
        while not self._greets():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(kill=True)
                early = (self.root / "stdout.log").read_text(errors="replace")
                raise AssertionError(f"Dovecot did not start: {early[-1000:]}{self.log[-2000:]}")
            time.sleep(0.05)
        return self

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self, kill: bool = False, timeout: float = 15.0) -> None:
        """Stop Dovecot (SIGKILL with ``kill``: a crash) and wait until the port is closed."""
        if self.proc is None:
            return
        children: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            children = psutil.Process(self.proc.pid).children(recursive=True)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        if kill:  # the whole server dies at once, as in a crash of its host
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        self.proc.wait(timeout)
        self.proc = None
        if not kill:
            # Its log process lingers for seconds after the master; nothing is left to log.
            _, alive = psutil.wait_procs(children, timeout=0.5)
            for child in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        deadline = time.monotonic() + timeout
        while self._greets() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> Dovecot:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop(kill=True)  # nothing to keep: faster than Dovecot's orderly shutdown
        if self._own_mail_root:
            shutil.rmtree(self.mail_root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def client(self, user: str) -> IMAPClient:
        """A logged-in client (the caller logs out)."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        return client

    def append(
        self, user: str, raw: bytes, folder: str = "INBOX", flags: Iterable[bytes] = ()
    ) -> int:
        """Deliver one message; return its UID."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            answer = client.append(folder, raw, flags=tuple(flags))
        finally:
            client.logout()
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(answer.split(b"]")[0].split()[-1])

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, dict[bytes, Any]]:
        """UID → FLAGS and the body, as the server holds them (nothing marked as seen)."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return dict(client.fetch(uids, ["FLAGS", "BODY.PEEK[]"])) if uids else {}
        finally:
            client.logout()

    def recreate(self, user: str, folder: str) -> None:
        """Delete and create ``folder`` again: a new UIDVALIDITY, every message gone."""
        client = self.client(user)
        try:
            if client.folder_exists(folder):
                client.delete_folder(folder)
            client.create_folder(folder)
        finally:
            client.logout()

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        client = self.client(user)
        try:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        finally:
            client.logout()
