"""Routing rules: matching (pure), the shipped config/routing.toml, and broken files refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.core.settings import CONFIG_DIR, Settings
from inbox.routing import Routing, RoutingError, decide, load
from inbox.routing import of as routing_of
from tests.support import GOOD_CATEGORY

CATEGORIES = {
    key: {"label": {"fr": key, "en": key}, "team": key.title()}
    for key in ("etat-civil", "voirie", "action-sociale", "scolarite")
}
SHIPPED = load(CONFIG_DIR / "routing.toml")


def routing(*rules: dict[str, Any]) -> Routing:
    return Routing.model_validate({"categories": CATEGORIES, "rules": list(rules)})


def key(
    rules: Routing,
    subject: str = "",
    body: str = "",
    recipients: tuple[str, ...] = (),
    channel: str = "email",
) -> str | None:
    found = decide(subject, body, recipients, channel, rules)
    return found.key if found else None


def test_keywords_ignore_case_and_accents_both_ways() -> None:
    plain = routing({"category": "etat-civil", "keywords": ["Etat civil"]})
    accented = routing({"category": "etat-civil", "keywords": ["état civil"]})
    for rules in (plain, accented):
        assert key(rules, "Service de l'ÉTAT CIVIL") == "etat-civil"
        assert key(rules, body="question pour l'etat-civil") == "etat-civil"  # hyphen = space
        assert key(rules, body="un état\n  civil") == "etat-civil"  # any run of spaces
        assert key(rules, body="les états civils") is None  # whole words: no plural


def test_keywords_match_whole_words_only() -> None:
    rules = routing({"category": "action-sociale", "keywords": ["RSA", "aide à domicile"]})
    assert key(rules, "Château de Versailles") is None
    assert key(rules, body="transversal, rsabc") is None
    assert key(rules, body="Je touche le rsa.") == "action-sociale"
    assert key(rules, body="(RSA)") == "action-sociale"
    assert key(rules, body="une aide a domicile") == "action-sociale"
    assert key(rules, body="une aide à domiciles") is None


def test_typographic_apostrophes_are_plain_ones() -> None:
    rules = routing({"category": "etat-civil", "keywords": ["carte d'identité"]})
    assert key(rules, "Renouvellement de ma carte d’identité") == "etat-civil"


def test_patterns_are_case_insensitive_regexes_on_subject_or_body() -> None:
    rules = routing({"category": "voirie", "patterns": [r"\bnids? de poule\b"]})
    assert key(rules, "NIDS DE POULE avenue Foch") == "voirie"
    assert key(rules, "Signalement", "Un nid de poule rue Victor Hugo") == "voirie"
    assert key(rules, "Signalement", "Un nid de poussins") is None


def test_first_matching_rule_wins_in_file_order() -> None:
    canteen = {"category": "scolarite", "keywords": ["cantine"]}
    social = {"category": "action-sociale", "keywords": ["impayé"]}
    body = "Facture de cantine impayé, je n'ai plus de ressources"
    assert key(routing(social, canteen), body=body) == "action-sociale"
    assert key(routing(canteen, social), body=body) == "scolarite"
    assert key(routing(canteen, social), body="Facture impayé") == "action-sociale"


def test_every_kind_of_condition_given_must_hold() -> None:
    rules = routing(
        {
            "category": "voirie",
            "keywords": ["trottoir", "chaussée"],  # any of them …
            "patterns": [r"\brue\b"],  # … and this …
            "channels": ["sms", "telegram"],  # … and one of these
        }
    )
    assert key(rules, body="Trottoir cassé rue Pasteur", channel="sms") == "voirie"
    assert key(rules, body="Chaussée abîmée rue Pasteur", channel="telegram") == "voirie"
    assert key(rules, body="Trottoir cassé rue Pasteur", channel="email") is None
    assert key(rules, body="Trottoir cassé avenue Foch", channel="sms") is None
    assert key(rules, body="Lampadaire rue Pasteur", channel="sms") is None


def test_recipients_and_channels() -> None:
    rules = routing(
        {"category": "etat-civil", "recipients": ["Etat-Civil@Mairie.example"]},
        {"category": "voirie", "channels": ["x"]},
    )
    assert key(rules, recipients=("contact@mairie.example", "etat-civil@mairie.example")) == (
        "etat-civil"
    )
    assert key(rules, recipients=("contact@mairie.example",)) is None
    assert key(rules, "Bonjour", channel="x") == "voirie"
    assert key(rules, "Bonjour", channel="sms") is None


def test_shipped_rules_route_realistic_requests() -> None:
    cases = {
        ("Signalement", "Il y a un nid de poule rue Victor Hugo"): "voirie",
        ("", "Trou dans la chaussée devant le 12"): "voirie",
        ("Demande d'acte de naissance", ""): "etat-civil",
        ("Rendez-vous", "pour ma carte nationale d’identité"): "etat-civil",
        ("Dépôt sauvage", "Des encombrants au coin de la rue"): "proprete",
        ("", "Je voudrais inscrire ma fille en petite section"): "scolarite",
        ("Menu de la cantine", ""): "scolarite",
        ("Demande de RSA", ""): "action-sociale",
        ("", "Déclaration préalable pour construire une véranda"): "urbanisme",
        ("Visite du château de Versailles", "Horaires d'ouverture ?"): None,
    }
    found = {case: key(SHIPPED, *case) for case in cases}
    assert found == cases
    assert SHIPPED.categories["action-sociale"].team == "Action sociale"
    assert key(SHIPPED, "Bonjour", recipients=("etat-civil@mairie.example",)) == "etat-civil"


def test_shipped_default_due_date_is_48_working_hours() -> None:
    # Monday 11 January 2027, 09:00 in Paris (08:00 UTC): see test_calendar.
    monday = datetime(2027, 1, 11, 8, tzinfo=UTC)
    assert SHIPPED.due_at(monday, None) == datetime(2027, 1, 19, 11, tzinfo=UTC)
    voirie = SHIPPED.categories["voirie"]
    assert voirie.due_hours is None and SHIPPED.due_at(monday, voirie) == SHIPPED.due_at(
        monday, None
    )
    # Action sociale: 16 h. Monday 7 h, Tuesday 7.5 h, then 1.5 h: Wednesday 10:00.
    social = SHIPPED.categories["action-sociale"]
    assert SHIPPED.due_at(monday, social) == datetime(2027, 1, 13, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD_CATEGORY
            + '[[rules]]\nname = "trous"\ncategory = "voirie"\npatterns = ["(trou"]\n',
            "rule 1 (trous): patterns: pattern '(trou' is not a valid regex: missing ),",
        ),
        (
            GOOD_CATEGORY
            + '[[rules]]\ncategory = "voirie"\nkeywords = ["a"]\n'
            + '[[rules]]\nname = "r2"\ncategory = "voiree"\nkeywords = ["trottoir"]\n',
            "rule 2 (r2): unknown category 'voiree' (categories: voirie)",
        ),
        (
            GOOD_CATEGORY + '[[rules]]\ncategory = "voirie"\nkeyword = ["trottoir"]\n',
            "rule 1 (voirie): keyword: Extra inputs are not permitted",
        ),
        (
            GOOD_CATEGORY + '[[rules]]\nname = "vide"\ncategory = "voirie"\n',
            "rule 1 (vide): a rule needs keywords, patterns, recipients or channels",
        ),
        (
            '[calendar]\nperiods = ["8h30-12:00"]\n',
            "calendar: periods: period '8h30-12:00' is not HH:MM-HH:MM",
        ),
        ('[calendar]\nperiods = ["08:30-25:00"]\n', "period '08:30-25:00' is not HH:MM-HH:MM"),
        (
            '[calendar]\nperiods = ["13:30-17:30", "08:30-12:00"]\n',
            "period '08:30-12:00' must end after it starts, in order",
        ),
        ('[calendar]\ntimezone = "Europe/Pariss"\n', "calendar: timezone 'Europe/Pariss'"),
        ('[calendar]\nworking_days = ["lundi"]\n', "calendar: working_days: working days are"),
        ('[categories.voirie]\nteam = "Voirie"\n', "category 'voirie': label: Field required"),
        ("[[rules]\n", "not valid TOML"),
    ],
)
def test_a_broken_file_is_refused_naming_the_file_and_the_rule(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutingError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match="cannot be read"):
        load(tmp_path / "nowhere.toml")


def test_settings_take_the_routing_file_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().routing_file == CONFIG_DIR / "routing.toml"
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_CATEGORY, encoding="utf-8")
    monkeypatch.setenv("GUICHET_ROUTING_FILE", str(path))
    settings = Settings()
    assert settings.routing_file == path and list(routing_of(settings).categories) == ["voirie"]
    assert routing_of(settings).rules == ()
