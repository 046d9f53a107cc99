"""CitizenIndex behaviour a town hall would notice: who gets linked, who goes to review."""

from __future__ import annotations

import random

import pytest

from matching import CitizenIndex, Identity

MARIE = Identity(
    first_name="Marie",
    last_name="Dupont",
    birth_name="Martin",
    birth_date="1984-03-02",
    email="marie.dupont@orange.fr",
    phone="06 12 34 56 78",
    address="3 rue des Lilas",
    postcode="33000",
    city="Bordeaux",
)


@pytest.fixture
def index() -> CitizenIndex:
    idx = CitizenIndex()
    idx.add("C42", MARIE)
    # Neighbours in the register, so that frequencies and homonyms are realistic.
    idx.add("C1", Identity(first_name="Paul", last_name="Durand", phone="06 98 76 54 32"))
    idx.add("C2", Identity(first_name="Marie", last_name="Martinez", birth_date="1990-07-14"))
    idx.add("C3", Identity(first_name="Jeanne", last_name="Dupont", postcode="33000"))
    return idx


def test_brief_example(index: CitizenIndex) -> None:
    m = index.match(Identity(name="DUPONT Marie", phone="+33612345678"))
    assert m.decision == "link"
    assert m.citizen_id == "C42"
    assert m.candidates[0][0] == "C42"
    assert m.score == m.candidates[0][1] >= 0.99
    explained = m.explain("C42")
    assert explained["phone"] == "agree"
    assert explained["first_name"] == explained["last_name"] == "agree"
    assert explained["birth_date"] == "missing"


@pytest.mark.parametrize(
    "name",
    [
        "DUPONT Marie",
        "marie dupont",
        "Dupont Marie",
        "M. Dupont",  # Monsieur: no first name given, the unique phone decides
        "Mme Dupont",
        "Mme Marie Dupont",
        "Marie D.",
        "Dupont, Marie",
        "MARIE DUPONT",
        "Marie Martin",  # her birth name
        "Marie Dupont née Martin",
        "Marie Dupnot",  # a typo
    ],
)
def test_channel_name_formats_link_with_her_phone(index: CitizenIndex, name: str) -> None:
    m = index.match(Identity(name=name, phone="0612345678"))
    assert (m.decision, m.citizen_id) == ("link", "C42"), m


def test_phone_or_email_alone_links_when_held_by_one_citizen(index: CitizenIndex) -> None:
    assert index.match(Identity(phone="+33 6 12 34 56 78")).citizen_id == "C42"
    assert index.match(Identity(email="MAILTO:Marie.Dupont@Orange.fr")).citizen_id == "C42"


def test_name_alone_never_links_even_exact_and_unique(index: CitizenIndex) -> None:
    m = index.match(Identity(first_name="Marie", last_name="Dupont"))
    assert m.decision == "review"
    assert m.citizen_id is None
    assert m.candidates[0][0] == "C42"
    assert m.score < index.link_threshold
    assert m.explain("C42")["rule"] == "name only"


def test_name_and_postcode_never_link(index: CitizenIndex) -> None:
    m = index.match(Identity(name="Marie Dupont", postcode="33000", city="Bordeaux"))
    assert m.decision == "review"
    assert m.candidates[0][0] == "C42"


def test_known_phone_with_a_different_name_is_review(index: CitizenIndex) -> None:
    # A recycled number, or a relative writing from her phone.
    for name in ("Paul Durand", "Paul Dupont", "Kevin Lefebvre"):
        m = index.match(Identity(name=name, phone="06 12 34 56 78"))
        assert m.decision == "review", name
        assert "C42" in dict(m.candidates)


def test_different_birth_date_vetoes_a_link(index: CitizenIndex) -> None:
    m = index.match(Identity(name="Marie Dupont", phone="0612345678", birth_date="1961-11-20"))
    assert m.decision == "review"
    assert m.explain("C42")["birth_date"] == "differ"


@pytest.mark.parametrize(
    "query",
    [
        Identity(
            name="Marie Dupont",
            birth_date="02/03/1984",
            address="3 rue des Lilas",
            postcode="33000",
        ),
        # one typo in one of them
        Identity(
            name="Marie Dupomt",
            birth_date="1984-03-02",
            address="3 rue des Lilas",
            postcode="33000",
        ),
        Identity(
            name="Marei Dupont",
            birth_date="1984-03-02",
            address="3 rue des Lilas",
            postcode="33000",
        ),
        Identity(
            name="Marie Dupont",
            birth_date="1984-03-12",
            address="3 rue des Lilas",
            postcode="33000",
        ),
        Identity(
            name="Marie Dupont",
            birth_date="03/02/1984",
            address="3 rue des Lilas",
            postcode="33000",
        ),  # day and month swapped
        Identity(
            name="Marie Dupont",
            birth_date="1984-03-02",
            address="3 rue des Lylas",
            postcode="33000",
        ),
        Identity(
            first_name="Marie",
            last_name="Martin",
            birth_date="1984-03-02",
            address="3, r. des Lilas",
            city="Bordeaux",
        ),
    ],
)
def test_name_birth_date_and_address_link_with_one_typo(
    index: CitizenIndex, query: Identity
) -> None:
    m = index.match(query)
    assert (m.decision, m.citizen_id) == ("link", "C42"), m


def test_two_typos_without_a_contact_point_do_not_link(index: CitizenIndex) -> None:
    m = index.match(
        Identity(
            name="Marie Dupomt",
            birth_date="1984-03-12",
            address="3 rue des Lilas",
            postcode="33000",
        )
    )
    assert m.decision == "review"
    assert m.candidates[0][0] == "C42"


def test_birth_date_typo_needs_the_address(index: CitizenIndex) -> None:
    m = index.match(Identity(name="Marie Dupont", birth_date="1984-03-12"))
    assert m.decision != "link"


def test_newcomer_homonym_is_not_linked() -> None:
    index = CitizenIndex()
    index.add(
        1,
        Identity(
            first_name="Marie",
            last_name="Martin",
            birth_date="1950-01-01",
            address="8 avenue Foch",
            postcode="75016",
            phone="0611111111",
        ),
    )
    newcomer = Identity(
        name="Marie MARTIN",
        birth_date="1999-09-09",
        address="2 rue Neuve",
        postcode="13001",
        phone="0622222222",
        email="mm99@free.fr",
    )
    m = index.match(newcomer)
    assert m.decision != "link"
    assert index.match(Identity(name="Marie Martin", phone="0622222222")).decision != "link"


def test_marie_martin_is_not_marie_martinez(index: CitizenIndex) -> None:
    m = index.match(Identity(name="Marie Martin", birth_date="1990-07-14"))
    assert m.citizen_id != "C2"
    assert m.decision != "link"


@pytest.fixture
def household() -> CitizenIndex:
    index = CitizenIndex()
    shared = "famille.dupont@free.fr"
    index.add(
        "marie",
        Identity(first_name="Marie", last_name="Dupont", email=shared, birth_date="1970-05-05"),
    )
    index.add(
        "paul",
        Identity(first_name="Paul", last_name="Dupont", email=[shared], birth_date="1968-01-30"),
    )
    return index


def test_household_shared_email_alone_is_review_with_both(household: CitizenIndex) -> None:
    m = household.match(Identity(email="Famille.Dupont@free.fr"))
    assert m.decision == "review"
    assert {cid for cid, _ in m.candidates} == {"marie", "paul"}
    assert all(0.45 < score < 0.55 for _, score in m.candidates)  # a coin toss, honestly
    m = household.match(Identity(name="M. Dupont", email="famille.dupont@free.fr"))
    assert m.decision == "review"


def test_household_shared_email_links_when_the_first_name_picks_one(
    household: CitizenIndex,
) -> None:
    m = household.match(Identity(name="Paul DUPONT", email="famille.dupont@free.fr"))
    assert (m.decision, m.citizen_id) == ("link", "paul")
    m = household.match(Identity(email="famille.dupont@free.fr", birth_date="05/05/1970"))
    assert (m.decision, m.citizen_id) == ("link", "marie")


@pytest.fixture
def father_and_son() -> CitizenIndex:
    index = CitizenIndex()
    home = {"address": "12 rue du Moulin", "postcode": "44000", "phone": "02 40 11 22 33"}
    index.add(10, Identity(first_name="Jean", last_name="Dupont", birth_date="1951-04-10", **home))
    index.add(11, Identity(first_name="Jean", last_name="Dupont", birth_date="1983-09-21", **home))
    return index


def test_father_and_son_need_the_birth_date(father_and_son: CitizenIndex) -> None:
    for query in (
        Identity(name="Jean Dupont", phone="0240112233"),
        Identity(name="Jean Dupont", address="12 rue du Moulin", postcode="44000"),
    ):
        m = father_and_son.match(query)
        assert m.decision == "review"
        assert {cid for cid, _ in m.candidates} == {10, 11}
    m = father_and_son.match(
        Identity(name="Jean Dupont", phone="0240112233", birth_date="21/09/1983")
    )
    assert (m.decision, m.citizen_id) == ("link", 11)
    m = father_and_son.match(
        Identity(
            name="Jean Dupont",
            birth_date="1951-04-10",
            address="12 rue du Moulin",
            postcode="44000",
        )
    )
    assert (m.decision, m.citizen_id) == ("link", 10)


def test_household_landline_needs_a_first_name() -> None:
    index = CitizenIndex()
    index.add(1, Identity(first_name="Roger", last_name="Ayllon", phone="03 35 33 71 64"))
    # His wife, not registered, calls from the home phone.
    assert index.match(Identity(name="Mme Ayllon", phone="0335337164")).decision == "review"
    assert index.match(Identity(name="Ayllon", phone="0335337164")).decision == "review"
    assert index.match(Identity(name="Roger Ayllon", phone="0335337164")).citizen_id == 1


@pytest.mark.parametrize(
    "name",
    [
        "Jean Pierre Dupont",
        "Jean-Pierre DUPONT",
        "JP Dupont",
        "J-P Dupont",
        "J.-P. Dupont",
        "Dupont Jean-Pierre",
    ],
)
def test_compound_first_names(name: str) -> None:
    index = CitizenIndex()
    index.add(1, Identity(first_name="Jean-Pierre", last_name="Dupont", phone="0611223344"))
    index.add(2, Identity(first_name="Jean", last_name="Dupont", phone="0611223355"))
    m = index.match(Identity(name=name, phone="+33 6 11 22 33 44"))
    assert (m.decision, m.citizen_id) == ("link", 1)


@pytest.mark.parametrize(
    ("register", "given"),
    [("Frédéric", "Fred"), ("Mohamed", "Mohammed"), ("Sébastien", "Seb"), ("Margaux", "Margot")],
)
def test_nicknames_do_not_block_a_link(register: str, given: str) -> None:
    index = CitizenIndex()
    index.add(1, Identity(first_name=register, last_name="Benali", email="fb@example.fr"))
    m = index.match(Identity(name=f"{given} Benali", email="fb@example.fr"))
    assert (m.decision, m.citizen_id) == ("link", 1)


def test_overseas_number_links_across_formats() -> None:
    index = CitizenIndex()
    index.add(7, Identity(first_name="Line", last_name="Payet", phone="0692 12 34 56"))
    for raw in ("+262 692 12 34 56", "00262692123456", "0692123456"):
        assert index.match(Identity(name="Line Payet", phone=raw)).citizen_id == 7
    reunion = CitizenIndex(default_region="RE")
    reunion.add(7, Identity(first_name="Line", last_name="Payet", phone="+262692123456"))
    assert reunion.match(Identity(phone="0692123456")).citizen_id == 7


def test_add_twice_merges_contact_points_and_updates_fields(index: CitizenIndex) -> None:
    index.add(
        "C42",
        Identity(
            email="m.dupont@gmail.com",
            phone=("07 11 22 33 44",),
            address="9 place du Marché",
            postcode="33000",
        ),
    )
    assert len(index) == 4
    for query in (
        Identity(email="marie.dupont@orange.fr"),
        Identity(email="m.dupont@gmail.com"),
        Identity(phone="0612345678"),
        Identity(phone="0711223344"),
    ):
        assert index.match(query).citizen_id == "C42", query
    # The name was kept, the address replaced.
    m = index.match(
        Identity(
            name="Marie Dupont",
            birth_date="1984-03-02",
            address="9 place du Marche",
            postcode="33000",
        )
    )
    assert m.citizen_id == "C42"
    old = index.match(
        Identity(
            name="Marie Dupont",
            birth_date="1984-03-02",
            address="3 rue des Lilas",
            postcode="33000",
        )
    )
    assert old.explain("C42")["address"] == "differ"


def test_remove(index: CitizenIndex) -> None:
    assert "C42" in index
    index.remove("C42")
    assert "C42" not in index
    assert len(index) == 3
    m = index.match(Identity(name="Marie Dupont", phone="0612345678"))
    assert "C42" not in dict(m.candidates)
    assert m.decision != "link"
    with pytest.raises(KeyError):
        index.remove("C42")
    index.add("C42", MARIE)  # and back again
    assert index.match(Identity(phone="0612345678")).citizen_id == "C42"


def test_candidates_are_capped_at_five_and_sorted() -> None:
    index = CitizenIndex()
    for i in range(20):
        index.add(
            i, Identity(first_name="Marie", last_name="Martin", birth_date=f"19{50 + i}-01-15")
        )
    index.add(99, Identity(first_name="Mariee", last_name="Martin"))
    m = index.match(Identity(name="Marie MARTIN"))
    assert m.decision == "review"
    assert len(m.candidates) == 5
    scores = [score for _, score in m.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert m.score == scores[0] < 0.1  # twenty equally likely Maries


def test_explain(index: CitizenIndex) -> None:
    m = index.match(
        Identity(
            name="Marie Dupond",
            phone="0612345678",
            email="autre@free.fr",
            birth_date="1984-03-02",
            postcode="33000",
        )
    )
    assert m.explain("C42") == {
        "first_name": "agree",
        "last_name": "close",
        "birth_date": "agree",
        "address": "missing",
        "postcode": "agree",
        "email": "differ",
        "phone": "agree",
        "handle": "missing",
    }
    with pytest.raises(KeyError):
        m.explain("C1")


def test_nobody_fits_is_new(index: CitizenIndex) -> None:
    m = index.match(Identity(name="Kevin Zimmermann", phone="0700000001"))
    assert (m.decision, m.citizen_id, m.candidates, m.score) == ("new", None, [], 0.0)
    assert index.match(Identity()).decision == "new"


def test_handles_and_lists(index: CitizenIndex) -> None:
    index.add(5, Identity(name="Sophie Bernard", handle=["telegram:123456", "x:@SoBernard"]))
    assert index.match(Identity(name="Sophie", handle="telegram:123456")).citizen_id == 5
    assert index.match(Identity(handle=("x:@sobernard",))).citizen_id == 5


def test_thresholds_are_configurable(index: CitizenIndex) -> None:
    strict = CitizenIndex(link_threshold=0.999999999, review_threshold=0.5)
    strict.add("C42", MARIE)
    assert strict.match(Identity(phone="0612345678")).decision == "review"
    with pytest.raises(ValueError):
        CitizenIndex(link_threshold=0.2, review_threshold=0.5)


def test_random_register_unique_phone_and_exact_name_link() -> None:
    """Seeded, hypothesis-free: a unique phone plus the exact name always finds its owner."""
    rng = random.Random(7)
    firsts = ["Marie", "Jean", "Nathalie", "Pierre", "Anne-Sophie", "Mohamed", "Léa", "Luc"]
    lasts = ["Martin", "Bernard", "Dubois", "Le Gall", "N'Diaye", "Da Silva", "Dupont-Moreau"]
    index = CitizenIndex()
    people = {}
    for cid in range(400):
        first, last = rng.choice(firsts), rng.choice(lasts)
        phone = f"06{cid:08d}"
        people[cid] = (first, last, phone)
        index.add(
            cid,
            Identity(
                first_name=first,
                last_name=last,
                phone=phone,
                birth_date=f"{rng.randint(1930, 2005)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            ),
        )
    formats = [
        lambda f, s: f"{f} {s}",
        lambda f, s: f"{s.upper()} {f}",
        lambda f, s: f"{s}, {f}",
        lambda f, s: f"{f} {s}".lower(),
    ]
    for cid in rng.sample(sorted(people), 100):
        first, last, phone = people[cid]
        shown = rng.choice(formats)(first, last)
        raw = rng.choice(
            [phone, f"+33{phone[1:]}", " ".join(phone[i : i + 2] for i in range(0, 10, 2))]
        )
        m = index.match(Identity(name=shown, phone=raw))
        assert (m.decision, m.citizen_id) == ("link", cid), (shown, raw, m)


def test_similar_real_first_names_link_only_on_a_personal_contact() -> None:
    index = CitizenIndex()
    index.add(
        1,
        Identity(
            first_name="Marine",
            last_name="Noël",
            phone=["06 15 27 03 12", "03 23 44 75 34"],
            birth_date="1976-03-19",
            address="1 rue Haute",
            postcode="02000",
        ),
    )
    # A typo on her own mobile: still her.
    assert index.match(Identity(name="Marie Noël", phone="0615270312")).citizen_id == 1
    # Her sister Marie on the home phone, or at the counter with Marine's birth date: review.
    assert index.match(Identity(name="Mme Marie Noël", phone="0323447534")).decision == "review"
    twin = Identity(
        name="Marie Noël", birth_date="19/03/1976", address="1 rue Haute", postcode="02000"
    )
    assert index.match(twin).decision == "review"


def test_civility_then_a_long_surname() -> None:
    index = CitizenIndex()
    index.add(
        1,
        Identity(first_name="Victor", last_name="de Jode Vastraeds", email="victordej@wanadoo.fr"),
    )
    m = index.match(Identity(name="Mr de Jode Vastraeds", email="Victordej@Wanadoo.fr"))
    assert (m.decision, m.citizen_id) == ("link", 1)


@pytest.mark.parametrize("given", ["uLc", "Luc", "Lucc", "luc"])
def test_short_first_name_typos(given: str) -> None:
    index = CitizenIndex()
    index.add(1, Identity(first_name="Luc", last_name="Rodrigues", phone="0616488052"))
    index.add(2, Identity(first_name="Luce", last_name="Rodrigues", phone="0616488053"))
    m = index.match(Identity(name=f"{given} Rodrigues", phone="0616488052"))
    assert (m.decision, m.citizen_id) == ("link", 1)
    # Léa and Léo are two people, not a typo.
    index.add(3, Identity(first_name="Léa", last_name="Martin", phone="0611111111"))
    assert index.match(Identity(name="Léo Martin", phone="0611111111")).decision == "review"
