"""Normalizers: the same phone, e-mail or name written differently gives the same key."""

from __future__ import annotations

import pytest

from matching import fold, normalize_email, normalize_handle, normalize_phone, parse_display_name
from matching.normalize import normalize_street, parse_birth_date

MOBILE = "+33612345678"


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "0612345678",
        "+33612345678",
        "+33 6 12 34 56 78",
        "0033 6 12 34 56 78",
        "0033612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "tel:+33612345678",
        " 06\u00a012\u00a034\u00a056\u00a078 ",
    ],
)
def test_french_mobile_formats_give_one_e164(raw: str) -> None:
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0692 12 34 56", "+262692123456"),  # Réunion mobile
        ("+262 692 12 34 56", "+262692123456"),
        ("00262692123456", "+262692123456"),
        ("+33 6 92 12 34 56", "+262692123456"),  # written with the metropolitan code
        ("02 62 21 12 34", "+262262211234"),  # Réunion landline
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe
        ("0696 12 34 56", "+596696123456"),  # Martinique
        ("0694 12 34 56", "+594694123456"),  # Guyane
        ("0639 12 34 56", "+262639123456"),  # Mayotte
    ],
)
def test_overseas_numbers_get_their_own_country_code(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_default_region_reads_national_numbers() -> None:
    assert normalize_phone("0692123456", region="RE") == "+262692123456"
    assert normalize_phone("0612345678", region="RE") == MOBILE  # same numbering plan
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


def test_unicode_digits_come_out_as_ascii() -> None:
    # str.isdigit() accepts full-width and Arabic-Indic digits: they must not leak into E.164.
    assert normalize_phone("+33 6１２345678") == MOBILE
    assert normalize_phone("06１２345678") == MOBILE
    assert normalize_phone("٠٦١٢٣٤٥٦٧٨") == MOBILE


@pytest.mark.parametrize("raw", ["", "12", "abc", "06 12", "+"])
def test_not_a_phone_number(raw: str) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "marie.dupont@orange.fr",
        "  Marie.Dupont@Orange.FR ",
        "mailto:marie.dupont@orange.fr",
        "MAILTO:Marie.Dupont@orange.fr",
        "Marie Dupont <MARIE.DUPONT@ORANGE.FR>",
    ],
)
def test_email_forms_give_one_key(raw: str) -> None:
    assert normalize_email(raw) == "marie.dupont@orange.fr"


def test_email_keeps_provider_specifics() -> None:
    # No Gmail dot or +tag folding: guessing wrong would merge two people's mailboxes.
    assert normalize_email("Marie.Dupont+mairie@gmail.com") == "marie.dupont+mairie@gmail.com"
    assert normalize_email("mariedupont@gmail.com") != normalize_email("marie.dupont@gmail.com")


@pytest.mark.parametrize("raw", ["", "marie", "marie@", "@orange.fr", "marie dupont@orange.fr"])
def test_not_an_email(raw: str) -> None:
    assert normalize_email(raw) is None


def test_handles() -> None:
    assert normalize_handle("telegram:123456") == "telegram:123456"
    assert normalize_handle("x:@MDupont") == "x:mdupont"
    assert normalize_handle("Twitter: @MDupont") == "x:mdupont"
    assert normalize_handle("@mdupont") is None  # which network?
    assert normalize_handle("myspace:mdupont") is None


def test_fold() -> None:
    assert fold("  L'Hôpital-Sainte  ŒUVRE ") == "l hopital sainte oeuvre"
    assert fold("ÉLODIE") == fold("élodie") == fold("Elodie") == "elodie"
    assert fold("Hélène") == fold("He\u0301le\u0300ne")  # decomposed input too
    assert fold("Jean-Pierre") == fold("Jean Pierre") == "jean pierre"


def test_birth_date_formats() -> None:
    assert parse_birth_date("1984-03-02") == parse_birth_date("02/03/1984")
    assert parse_birth_date("2/3/1984") == parse_birth_date("02.03.1984")
    assert parse_birth_date("31/02/1984") is None
    assert parse_birth_date("hier") is None


def test_street_abbreviations() -> None:
    assert normalize_street("3, rue des Lilas") == normalize_street("3 r. des lilas")
    assert normalize_street("12 bd Victor-Hugo") == normalize_street("12 Boulevard Victor Hugo")
    assert normalize_street("3 bis av. de la Gare") == "3b avenue gare"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DUPONT Marie", ("Marie", "Dupont")),
        ("marie dupont", ("marie", "dupont")),
        ("dupont marie", ("marie", "dupont")),
        ("Dupont, Marie", ("Marie", "Dupont")),
        ("Mme Marie Dupont", ("Marie", "Dupont")),
        ("M. Dupont", ("", "Dupont")),  # "M." is Monsieur, not an initial
        ("Mlle DUPONT", ("", "Dupont")),
        ("Marie D.", ("Marie", "D.")),
        ("Jean-Pierre de La Fontaine", ("Jean-Pierre", "de La Fontaine")),
        ("LE GALL Anne-Sophie", ("Anne-Sophie", "Le Gall")),
        ("Marie Dupont née Martin", ("Marie", "Dupont")),
        ("Jean Dupont fils", ("Jean", "Dupont")),
    ],
)
def test_parse_display_name(name: str, expected: tuple[str, str]) -> None:
    assert parse_display_name(name) == expected
