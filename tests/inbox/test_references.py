"""Ticket references: readable over the phone, self-checking, not guessable."""

from __future__ import annotations

from inbox.references import ALPHABET, find_in_text, is_valid, new_reference


def test_format_and_alphabet() -> None:
    refs = {new_reference() for _ in range(20_000)}
    # 31^7 bodies: 20k draws collide once in about 140 runs (birthday bound), twice almost
    # never; a generator with too little entropy collides by the hundred. Uniqueness itself is
    # the job of the unique index (the pipeline retries the item with a new draw).
    assert len(refs) >= 19_998
    for ref in list(refs)[:1000]:
        assert len(ref) == 9 and ref[4] == "-" and is_valid(ref)
        assert not set(ref.replace("-", "")) & set("01OIL")
    assert not set(ALPHABET) & set("01OIL")


def test_check_symbol_catches_typos() -> None:
    for _ in range(300):
        ref = new_reference().replace("-", "")
        for i in range(8):
            for c in ALPHABET:
                if c != ref[i]:
                    typo = ref[:i] + c + ref[i + 1 :]
                    assert not is_valid(typo), (ref, typo)
        for i in range(7):
            if ref[i] != ref[i + 1]:
                swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
                assert not is_valid(swapped), (ref, swapped)


def test_found_in_subjects_as_people_type_them() -> None:
    ref = new_reference()
    assert find_in_text(f"Re: [Réf. {ref}] Accusé de réception") == [ref]
    assert find_in_text(f"dossier {ref.lower()} suite") == [ref]
    body = ref.replace("-", "")
    bad = body[:7] + ALPHABET[(ALPHABET.index(body[7]) + 1) % len(ALPHABET)]
    assert find_in_text(f"réf {bad[:4]}-{bad[4:]}") == []
