"""Configuration layering: defaults file, deployment TOML, environment, secrets from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.core.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("GUICHET_"):
            monkeypatch.delenv(key)


def test_defaults_come_from_config_dir() -> None:
    s = Settings()
    assert s.smtp.max_message_size == 25 * 1024 * 1024
    assert s.ack.answer_delay_days == 5 and s.language == "fr"
    assert s.database_url == "sqlite:///var/guichet.sqlite"


def test_toml_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "mairie.toml"
    conf.write_text(
        'authority_name = "Mairie de Blois"\n[smtp]\ndomains = ["Blois.fr"]\nport = 25\n'
        "[ack]\nanswer_delay_days = 10\n"
    )
    monkeypatch.setenv("GUICHET_CONFIG", str(conf))
    monkeypatch.setenv("GUICHET_SMTP__PORT", "2600")
    s = Settings()
    assert s.authority_name == "Mairie de Blois" and s.ack.answer_delay_days == 10
    assert s.smtp.domains == ["blois.fr"] and s.smtp.port == 2600
    assert (
        s.smtp.from_address == "contact@mairie.example"
    )  # untouched defaults survive the layering


def test_secrets_refused_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text('[relay]\npassword = "hunter2"\n')
    monkeypatch.setenv("GUICHET_CONFIG", str(conf))
    with pytest.raises(ValueError, match="GUICHET_RELAY__PASSWORD"):
        Settings()


def test_secret_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "key").write_text("a-real-secret-from-a-file\n")
    (tmp_path / "pw").write_text("relay-pass")
    monkeypatch.setenv("GUICHET_SECRET_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("GUICHET_RELAY__PASSWORD_FILE", str(tmp_path / "pw"))
    s = Settings()
    assert s.secret_key.get_secret_value() == "a-real-secret-from-a-file"
    assert s.relay.password.get_secret_value() == "relay-pass"
    assert "relay-pass" not in repr(s)


def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUICHET_MODE", "production")
    with pytest.raises(ValidationError, match="real GUICHET_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("GUICHET_SECRET_KEY", "k" * 40)
    assert Settings().mode == "production"
