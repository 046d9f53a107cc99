"""Canned answers an agent starts a reply from, kept in ``config/canned_answers.toml``.

Each has a key, a title and a body per language; bodies may use ``$citizen_name``,
``$reference``, ``$authority`` and ``$agent_name``. A town hall rewords them without touching code.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from string import Template

from pydantic import BaseModel, ValidationError


class Canned(BaseModel):
    key: str
    title: dict[str, str]
    body: dict[str, str]

    def text(self, lang: str, **values: str) -> str:
        body = self.body.get(lang) or self.body.get("fr") or ""
        return Template(body).safe_substitute(values)

    def label(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("fr") or self.key


class _File(BaseModel):
    answer: list[Canned] = []


_cache: dict[Path, tuple[float, list[Canned]]] = {}


def load(path: Path) -> list[Canned]:
    """The answers in ``path`` (re-read when the file changes); none if there is no file."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return []
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        try:
            answers = _File.model_validate(tomllib.loads(path.read_text("utf-8"))).answer
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
        cached = (mtime, answers)
        _cache[path] = cached
    return cached[1]
