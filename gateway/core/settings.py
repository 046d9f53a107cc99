"""One Settings object: defaults from config/defaults.toml, a deployment TOML, then the environment.

Precedence (highest first): explicit arguments, ``GUICHET_*`` environment variables,
``GUICHET_*_FILE`` variables (for secrets mounted as files), the TOML named by ``GUICHET_CONFIG``,
``config/defaults.toml``. Secrets are refused in TOML files: they belong to the environment.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG_DIR = ROOT / "config"
PLACEHOLDER = "change-me"
SECRET_KEYS = {
    ("secret_key",),
    ("relay", "password"),
    ("twilio", "auth_token"),
    ("cti", "token"),
    ("telegram", "bot_token"),
    ("telegram", "secret_token"),
    ("x", "bearer_token"),
    ("x", "consumer_secret"),
    ("x", "access_token_secret"),
}


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 2525
    domains: list[str] = ["mairie.example"]
    from_address: str = "contact@mairie.example"
    max_message_size: int = 25 * 1024 * 1024


class RelaySettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str = ""
    password: SecretStr = SecretStr("")


class AckSettings(BaseModel):
    enabled: bool = True
    answer_delay_days: int = 5
    max_per_sender_per_hour: int = 3


class MatchingSettings(BaseModel):
    link_threshold: float = 0.99
    review_threshold: float = 0.3
    default_region: str = "FR"
    refresh_seconds: float = 0.5


class PipelineSettings(BaseModel):
    workers: int = 2
    max_attempts: int = 5
    # While messages pour in, the pipeline and the outbox each take at most this share of the
    # time: senders wait for their 250 or 200, tickets and acknowledgements can lag a few seconds
    # behind the durable journal (bench/intake.py, bench/channels.py).
    burst_share: float = Field(default=0.2, gt=0, le=1)


class InboxSettings(BaseModel):
    """The agents' inbox."""

    # Teams whose tickets hold sensitive personal data (social files): visible only to that
    # team's agents and to supervisors. Names as in routing rules and `guichet agents add --team`.
    confidential_teams: list[str] = ["Action sociale"]
    canned_answers_file: Path = CONFIG_DIR / "canned_answers.toml"
    # Sign-in: this many failures for one address or from one client within the window locks
    # further attempts until the window has passed.
    login_max_failures: int = 5
    login_window_seconds: int = 900


class ImapMailbox(BaseModel):
    """One existing mailbox (``mairie@``, ``etat-civil@``) that Guichet polls over IMAP.

    The password is never in a TOML file: ``password_env`` names the environment variable that
    holds it (``password_file`` a file), so each mailbox can have its own secret.
    """

    name: str  # short, stable: the checkpoint key ("mairie", "etat-civil")
    host: str = "127.0.0.1"
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    username: str = ""
    password_env: str = ""
    password_file: str = ""
    folder: str = "INBOX"
    after: Literal["flag", "move"] = "flag"  # what to do with a message once journaled
    move_to: str = "Guichet"
    team: str = ""  # tickets from this mailbox go to this team
    address: str = ""  # the mailbox's own address (recipient recorded on the message)
    idle: bool = True  # use IDLE when the server offers it
    poll_seconds: float = 60.0  # without IDLE; also the longest IDLE wait before a re-check
    timeout_seconds: float = 30.0

    def password(self) -> str:
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        return os.environ.get(self.password_env, "") if self.password_env else ""


class TwilioSettings(BaseModel):
    """SMS and voice through Twilio. ``api_base`` is empty in production (Twilio's own hosts);
    tests and the demo point it at a local server speaking Twilio's wire format."""

    enabled: bool = False
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    from_number: str = ""  # E.164, the town hall's SMS number
    messaging_service_sid: str = ""
    api_base: str = ""
    media_hosts: list[str] = ["api.twilio.com"]  # MMS media and recordings are fetched only here
    status_callbacks: bool = True  # ask Twilio for delivery status callbacks


class CtiSettings(BaseModel):
    """Call events from the PBX, in the field names of Zammad's generic CTI API."""

    enabled: bool = False
    token: SecretStr = SecretStr("")  # the secret path segment of /webhooks/cti/{token}


class TelegramSettings(BaseModel):
    enabled: bool = False
    mode: Literal["webhook", "polling"] = "webhook"
    bot_token: SecretStr = SecretStr("")
    secret_token: SecretStr = SecretStr("")  # X-Telegram-Bot-Api-Secret-Token of the webhook
    api_base: str = ""  # empty: https://api.telegram.org
    poll_timeout_seconds: int = 25


class XSettings(BaseModel):
    enabled: bool = False
    user_id: str = ""  # the town hall's own account id (mentions of it are polled)
    bearer_token: SecretStr = SecretStr("")
    consumer_key: str = ""
    consumer_secret: SecretStr = SecretStr("")
    access_token: str = ""
    access_token_secret: SecretStr = SecretStr("")
    api_base: str = ""  # empty: https://api.twitter.com
    poll_seconds: float = 60.0


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    for key in SECRET_KEYS:
        node: Any = data
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        if node:
            raise ValueError(
                f"{path}: secret {'.'.join(key)} must come from the environment "
                f"(GUICHET_{'__'.join(key).upper()} or GUICHET_{'__'.join(key).upper()}_FILE)"
            )
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class _TomlSource(PydanticBaseSettingsSource):
    """Defaults file, then the deployment file named by GUICHET_CONFIG."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = _load_toml(CONFIG_DIR / "defaults.toml")
        extra = os.environ.get("GUICHET_CONFIG")
        if extra:
            data = _merge(data, _load_toml(Path(extra)))
        return data


class _FileSecretsSource(PydanticBaseSettingsSource):
    """``GUICHET_SECRET_KEY_FILE=/run/secrets/key`` sets ``secret_key`` from that file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in SECRET_KEYS:
            var = "GUICHET_" + "__".join(key).upper() + "_FILE"
            if var in os.environ:
                value = Path(os.environ[var]).read_text(encoding="utf-8").strip()
                node = data
                for part in key[:-1]:
                    node = node.setdefault(part, {})
                node[key[-1]] = value
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUICHET_", env_nested_delimiter="__")

    mode: Literal["local", "production"] = "local"
    authority_name: str = "Mairie"
    public_url: str = "http://127.0.0.1:8000"
    language: Literal["fr", "en"] = "fr"
    database_url: str = ""
    data_dir: Path = Path("var")
    routing_file: Path = CONFIG_DIR / "routing.toml"  # categories, rules, working calendar
    secret_key: SecretStr = SecretStr(PLACEHOLDER)
    http: HttpSettings = HttpSettings()
    smtp: SmtpSettings = SmtpSettings()
    relay: RelaySettings = RelaySettings()
    ack: AckSettings = AckSettings()
    pipeline: PipelineSettings = PipelineSettings()
    matching: MatchingSettings = MatchingSettings()
    inbox: InboxSettings = InboxSettings()
    imap: list[ImapMailbox] = []
    twilio: TwilioSettings = TwilioSettings()
    cti: CtiSettings = CtiSettings()
    telegram: TelegramSettings = TelegramSettings()
    x: XSettings = XSettings()

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'guichet.sqlite'}"
        if self.secret_key.get_secret_value() in ("", PLACEHOLDER):
            if self.mode == "production":
                raise ValueError("production mode needs a real GUICHET_SECRET_KEY")
            # Local mode: a per-process random key rather than a well-known one (sessions then
            # do not survive a restart, which is fine on a developer's machine).
            self.secret_key = SecretStr(secrets.token_urlsafe(32))
        self.smtp.domains = [d.lower().strip() for d in self.smtp.domains]
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _FileSecretsSource(settings_cls),
            _TomlSource(settings_cls),
        )

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
