"""The layering of .importlinter covers the whole process: a new module in gateway/ is listed."""

from __future__ import annotations

import configparser
import pkgutil
from pathlib import Path

import gateway

ROOT = Path(__file__).resolve().parents[2]


def test_every_process_module_is_forbidden_to_the_floors_below() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    listed = set(config["importlinter:contract:process-on-top"]["forbidden_modules"].split())
    process = {
        f"gateway.{m.name}"
        for m in pkgutil.iter_modules(gateway.__path__)
        if m.name not in ("core", "migrations")  # the foundation; Alembic's scripts
    }
    assert process == listed, "list each module of gateway/ (but core) in .importlinter"
