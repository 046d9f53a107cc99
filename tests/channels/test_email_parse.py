"""channels.email.parse: parsing of real-world French mail (tests/corpus/email) and its helpers."""

from __future__ import annotations

import email
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from channels.base import ParseError
from channels.email.html import html_to_text, sanitize_html
from channels.email.parse import automation_reason, normalize, normalize_address, split_quote
from tests import support

CORPUS = support.CORPUS / "email"
PARIS_WINTER = timezone(timedelta(hours=1))


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


# --- the corpus, one file at a time ------------------------------------------------------


def test_corpus_is_wire_format() -> None:
    files = sorted(CORPUS.glob("*.eml"))
    assert len(files) >= 14
    for path in files:
        data = path.read_bytes()
        assert b"\n" not in data.replace(b"\r\n", b""), f"{path.name} has bare LF"


def test_utf8_quoted_printable() -> None:
    msg = normalize(load("01_utf8_qp.eml"))
    assert msg.channel == "email"
    assert msg.sender == "chloe.durand@orange.example"
    assert msg.sender_name == "Chloé Durand"
    assert msg.recipients == ("contact@mairie-saint-aubin.example",)
    assert msg.subject == "Demande de rendez-vous pour une carte d'identité"
    assert msg.message_id == "20240312094102.5f3c9a@orange.example"
    assert msg.references == ()
    assert msg.sent_at == datetime(2024, 3, 12, 9, 41, 2, tzinfo=PARIS_WINTER)
    # The soft line breaks of quoted-printable are gone: the sentence is on one line.
    assert (
        "Je souhaiterais prendre rendez-vous pour le renouvellement de ma carte nationale "
        "d'identité, qui expire le 3 avril." in msg.text
    )
    assert "Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations" in msg.text
    assert msg.text.endswith("Chloé Durand\n12 rue des Tilleuls, 35400 Saint-Aubin\n")
    assert "\r" not in msg.text
    assert msg.html is None
    assert msg.quote_start is None
    assert msg.automated is None
    assert msg.attachments == ()


def test_latin1_8bit_body_and_raw_8bit_from_header() -> None:
    msg = normalize(load("02_latin1_8bit.eml"))
    assert msg.subject == "Demande d'acte de naissance"
    # The display name was sent as raw latin-1 bytes, without RFC 2047 encoding.
    assert msg.sender_name == "Françoise Lefèvre"
    assert msg.sender == "f.lefevre@laposte.example"
    assert msg.recipients == (
        "etat-civil@mairie-saint-aubin.example",
        "contact@mairie-saint-aubin.example",
    )
    assert "Je suis née le 14 août 1961 à Saint-Aubin, de Gérard Lefèvre" in msg.text
    assert "Marthe Noël, épouse Lefèvre." in msg.text
    assert "Où\ndois-je envoyer l'enveloppe timbrée ?" in msg.text
    assert "« Les Côteaux », 7 chemin du Maïs" in msg.text


def test_envelope_recipients_override_headers() -> None:
    msg = normalize(
        load("02_latin1_8bit.eml"),
        envelope_from="bounce@laposte.example",
        recipients=[
            "<Etat-Civil@Mairie-Saint-Aubin.example>",
            "etat-civil@mairie-saint-aubin.example",
        ],
    )
    assert msg.recipients == ("etat-civil@mairie-saint-aubin.example",)
    assert msg.sender == "f.lefevre@laposte.example"  # From wins over the envelope


def test_windows_1252() -> None:
    msg = normalize(load("03_windows1252.eml"))
    assert msg.subject == "Demande de subvention pour l’œuvre du lavoir"
    assert msg.sender_name == "Association Les Amis du Patrimoine"
    assert (
        "L’association « Les Amis du Patrimoine » sollicite une subvention de 1 500 € pour la "
        "restauration du lavoir, une œuvre collective" in msg.text
    )
    assert "les bénévoles du “Chantier d’été”." in msg.text
    assert "s’élève à 4 200 €…" in msg.text
    assert msg.text.endswith("Hélène Cœur, présidente\n")


def test_windows_1252_mislabelled_as_latin1() -> None:
    msg = normalize(load("04_mislabelled_latin1.eml"))
    assert "le stationnement coûte 2 € de l’heure place de la Mairie" in msg.text
    assert "C’est trop cher pour les clients des commerçants." in msg.text
    assert "\x80" not in msg.text and "\x92" not in msg.text


def test_no_charset_declared() -> None:
    msg = normalize(load("05_no_charset.eml"))
    assert msg.sender == "jean.moreau@wanadoo.example"
    assert msg.sender_name == ""
    assert msg.subject == "Nuisances sonores rue du Moulin"
    assert "jusqu'à 2 h du matin, même en semaine." in msg.text
    assert "Ça devient invivable." in msg.text


def test_base64_utf8() -> None:
    msg = normalize(load("06_base64_utf8.eml"))
    assert msg.sender_name == "Benoît Mercier"
    assert msg.subject == "Signalement : éclairage public en panne rue de l'Église"
    assert msg.text.startswith("Bonjour,\n\nLe lampadaire situé en face du n° 8 rue de l'Église")
    assert "le passage piéton est plongé dans le noir" in msg.text
    assert msg.text.endswith("Merci de faire le nécessaire.\n\nBenoît Mercier\n")


def test_multipart_alternative_keeps_both_bodies() -> None:
    msg = normalize(load("07_alternative.eml"))
    assert msg.subject == "Inscription sur les listes électorales"
    assert msg.sender_name == "Amélie Fournier"
    # text is the text/plain alternative, not a rendering of the HTML.
    assert "J'ai trouvé cette page : https://www.service-public.example/" in msg.text
    assert msg.html is not None
    assert "<b>listes électorales</b>" in msg.html
    assert (
        '<a href="https://www.service-public.example/particuliers/vosdroits/F1367" '
        'rel="noopener noreferrer nofollow">cette page</a>'
    ) in msg.html
    assert "target" not in msg.html and "dir=" not in msg.html
    assert msg.attachments == ()


def test_html_only_is_sanitized_and_rendered_as_text() -> None:
    msg = normalize(load("08_html_only_xss.eml"))
    assert msg.subject == "Dépôt sauvage chemin des Écoliers"
    assert msg.html is not None
    for bad in ("script", "onclick", "javascript:", "tracker.example", "iframe", "<form", "input",
                "style", "<title", "document.cookie", "evil.example"):  # fmt: skip
        assert bad not in msg.html, bad
    assert (
        '<a href="https://photos.example/depot.jpg" rel="noopener noreferrer nofollow">' in msg.html
    )
    assert "<img" in msg.html and "src=" not in msg.html
    assert msg.text == (
        "Bonjour,\n\n"
        "Un dépôt sauvage de gravats bloque le chemin des Écoliers depuis lundi.\n\n"
        "Voir la photo : cliquez ici ou ici.\n\n"
        "Merci !\nNadia B."
    )
    assert msg.sent_at == datetime(2024, 3, 18, 7, 30, tzinfo=UTC)


PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00H\x00H\x00\x00"
    + bytes(range(256))
    + b"\xff\xd9"
)


def test_mixed_with_attachments() -> None:
    msg = normalize(load("09_mixed_attachments.eml"))
    assert msg.subject == "Trottoir abîmé devant l'école"
    assert msg.text == (
        "Bonjour,\n\nLe trottoir devant l'école Jules-Ferry est très abîmé, une poussette s'y est\n"
        "renversée ce matin. Vous trouverez une photo et mon attestation de domicile.\n\n"
        "Karim Benali\n"
    )
    # The text/plain attachment stays an attachment and is not appended to the body.
    assert "Précisions" not in msg.text
    names = [(a.filename, a.content_type) for a in msg.attachments]
    assert names == [
        ("attestation-domicile.pdf", "application/pdf"),
        ("photo trottoir abîmé.jpg", "image/jpeg"),
        ("précisions.txt", "text/plain"),
    ]
    pdf, jpeg, notes = msg.attachments
    assert pdf.data == PDF
    assert hashlib.sha256(jpeg.data).hexdigest() == hashlib.sha256(JPEG).hexdigest()
    assert len(jpeg.data) == 278
    assert notes.data == "Précisions : le trou fait environ 40 cm.\r\n".encode("latin-1")


def test_thunderbird_reply() -> None:
    msg = normalize(load("10_thunderbird_reply.eml"))
    assert msg.subject == "Re: [Mairie de Saint-Aubin] Votre demande n°2024-118 a bien été reçue"
    assert msg.references == ("ack-xyz@guichet.example", "20240311184512.1a2b@laposte.example")
    assert msg.recipients == ("reponse+2024-118@guichet.example",)
    assert msg.quote_start == msg.text.index(
        "Le 12/03/2024 à 10:02, Mairie de Saint-Aubin a écrit :"
    )
    assert msg.text[: msg.quote_start].endswith("Bien cordialement,\nMarc Lefort\n\n")
    assert msg.text.endswith("> Mairie de Saint-Aubin\n")  # nothing is cut off


def test_outlook_reply() -> None:
    msg = normalize(load("11_outlook_reply.eml"))
    assert msg.subject == "RE: Votre demande n°2024-131"
    assert msg.references == ("ack-131@guichet.example",)
    assert msg.quote_start is not None
    quote = msg.text[msg.quote_start :]
    assert quote.startswith(
        "________________________________\n"
        "De : Mairie de Saint-Aubin <contact@mairie-saint-aubin.example>\n"
        "Envoyé : mardi 12 mars 2024 10:02\n"
        "À : Sophie Martin <sophie.martin@outlook.example>\n"
    )
    assert msg.text[: msg.quote_start].rstrip().endswith("Bien à vous,\nSophie Martin")
    assert msg.html is not None
    assert "<b>Envoyé :</b> mardi 12 mars 2024 10:02" in msg.html
    for bad in ("style", "o:p", "class=", "<font", "<meta"):
        assert bad not in msg.html, bad


def test_out_of_office() -> None:
    msg = normalize(load("12_out_of_office.eml"))
    assert msg.automated == "auto-submitted"
    assert msg.subject == "Réponse automatique : Votre demande n°2024-140"
    assert "Je suis absente du 11 au 22 mars inclus, sans accès à ma messagerie." in msg.text
    assert msg.references == ("ack-140@guichet.example",)


def test_bounce() -> None:
    msg = normalize(load("13_bounce.eml"))
    assert msg.automated == "robot-sender"
    assert msg.sender == "mailer-daemon@mx.orange.example"
    assert msg.sender_name == "Mail Delivery System"
    assert msg.text.startswith("This is the mail system at host mx.orange.example.\n")
    status, original = msg.attachments
    assert (status.filename, status.content_type) == (
        "piece-jointe-1.txt",
        "message/delivery-status",
    )
    assert b"\r\n\r\nFinal-Recipient: rfc822; jean.inconnu@orange.example\r\n" in status.data
    assert (original.filename, original.content_type) == ("piece-jointe-2.eml", "message/rfc822")
    assert original.data.startswith(b"From: Mairie de Saint-Aubin <guichet@mairie-saint-aubin")
    returned = normalize(original.data)  # the .eml is a usable message again
    assert returned.message_id == "ack-118@guichet.example"
    assert returned.subject == "Votre demande n°2024-118 a bien été reçue"
    assert returned.text == "Bonjour,\n\nNous avons bien reçu votre demande n°2024-118.\n"


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
    b"\x90\x91h6" + bytes(range(40))
)


def test_broken_multipart_keeps_what_is_there() -> None:
    msg = normalize(load("14_broken_multipart.eml"))
    assert msg.subject == "Photo du nid-de-poule"
    assert msg.text == "Bonjour,\n\nVoici la photo du nid-de-poule avenue Jean-Jaurès.\n\nLucas\n"
    (photo,) = msg.attachments
    assert (photo.filename, photo.content_type) == ("nid-de-poule.png", "image/png")
    # 50 base64 characters survive the truncation: 37 bytes can be recovered.
    assert photo.data == PNG[:37]
    assert msg.sent_at is None  # "Date: mardi 12 mars"


def test_no_sender_raises() -> None:
    with pytest.raises(ParseError, match="no sender address"):
        normalize(load("15_no_from.eml"))
    with pytest.raises(ParseError):
        normalize(load("15_no_from.eml"), envelope_from="<>")


def test_no_from_header_falls_back_to_envelope() -> None:
    msg = normalize(load("15_no_from.eml"), envelope_from="<Anonyme@SMTP.example>")
    assert msg.sender == "anonyme@smtp.example"
    assert msg.sender_name == ""
    assert msg.subject == "Question sur la taxe foncière"


def test_folded_encoded_subject() -> None:
    msg = normalize(load("16_folded_subject.eml"))
    assert msg.subject == (
        "Inscription à la cantine scolaire pour l'année 2024-2025 (Hélène et François)"
    )
    assert msg.sender_name == "Valérie Lemaire"
    assert "Hélène (CE2) et François (CP), à la cantine" in msg.text


def test_gmail_reply_with_wrapped_attribution() -> None:
    msg = normalize(load("17_gmail_reply_wrapped.eml"))
    assert msg.quote_start == msg.text.index(
        "Le mar. 12 mars 2024 à 10:02, Mairie de Saint-Aubin <\n"
    )
    assert msg.text[: msg.quote_start] == (
        "Bonjour,\n\nParfait, je serai là mardi à 14 h.\n\nCordialement,\nYasmine Benhamou\n\n"
    )
    assert msg.references == ("ack-152@guichet.example",)
    assert msg.html is not None and "<blockquote>" in msg.html


def test_newsletter() -> None:
    msg = normalize(load("18_newsletter.eml"))
    assert msg.automated == "list"
    assert msg.sender == "ne-pas-repondre@cc-val.example"
    assert msg.subject == "La lettre de la Communauté de communes – mars 2024"
    assert msg.text == (
        "La lettre de mars\n\n"
        "- Collecte des encombrants : 4 avril\n"
        "- Fermeture de la déchèterie le 1er mai\n\n"
        "Se désinscrire"
    )


# --- inputs that are not mail ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        bytes(range(256)) * 4,
        b"Bonjour, ceci n'est pas un e-mail.\r\n",
    ],
)
def test_not_a_mail_raises(raw: bytes) -> None:
    with pytest.raises(ParseError):
        normalize(raw)


def test_nesting_bomb_raises_parse_error() -> None:
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(3000)
    )
    with pytest.raises(ParseError, match="nested"):
        normalize(b"From: a@b.example\r\n" + nested)


# --- small constructed messages ----------------------------------------------------------


def mail(*headers: str, body: bytes = b"Bonjour\r\n") -> bytes:
    return (
        "\r\n".join(("From: Jean <jean@exemple.example>", *headers)).encode() + b"\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        # Undeclared, but valid UTF-8.
        (["Content-Type: text/plain"], "Événement à l'école".encode(), "Événement à l'école"),
        # An unknown charset name: fall back to guessing.
        (["Content-Type: text/plain; charset=x-unknown"], "déjà".encode(), "déjà"),
        (["Content-Type: text/plain; charset=x-unknown"], "déjà".encode("cp1252"), "déjà"),
        # UTF-8 mislabelled as latin-1 (web forms do this).
        (["Content-Type: text/plain; charset=iso-8859-1"], "reçu".encode(), "reçu"),
        (["Content-Type: text/plain; charset=latin1"], "reçu".encode("latin-1"), "reçu"),
        (["Content-Type: text/plain; charset=iso-8859-15"], b"5 \xa4", "5 €"),
        (["Content-Type: text/plain; charset=cp1252"], b"l\x92\x9cuvre", "l’œuvre"),
        # Broken encodings decode what they can instead of failing.
        (["Content-Transfer-Encoding: base64"], b"Qm9uam91ciDDoCB0b3Vz!!\r\nIQ", "Bonjour à tous!"),
        (
            ["Content-Transfer-Encoding: quoted-printable"],
            b"caf=C3=A9 =ZZ fin=\r\n",
            "café =ZZ fin",
        ),
        # NUL cannot be stored in PostgreSQL text.
        ([], b"a\x00b", "ab"),
    ],
)
def test_body_decoding(headers: list[str], body: bytes, expected: str) -> None:
    assert normalize(mail(*headers, body=body)).text == expected


def test_attachment_names_are_sanitized() -> None:
    raw = mail(
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            b"--b\r\nContent-Type: text/plain\r\n\r\ncorps\r\n"
            b'--b\r\nContent-Type: application/octet-stream; name="..\\\\..\\\\Windows\\\\evil.exe"'
            b"\r\n\r\nMZ\r\n"
            b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            b'filename="/etc/' + b"a" * 300 + b'.pdf"\r\n\r\n%PDF\r\n'
            b"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline\r\n\r\n\xff\xd8\r\n"
            b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
            b'filename="facture\xe2\x80\xaetxt.exe"\r\n\r\nx\r\n'
            b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            b'filename=".."\r\n\r\n%PDF\r\n'
            b"--b--\r\n"
        ),
    )
    msg = normalize(raw)
    assert msg.text == "corps"
    names = [a.filename for a in msg.attachments]
    assert names[0] == "evil.exe"
    assert names[1] == "a" * 196 + ".pdf"
    assert names[2] == "piece-jointe-3.jpg"  # an inline image without a name
    assert names[3] == "facturetxt.exe"  # the right-to-left override is gone
    assert names[4] == "piece-jointe-5.pdf"
    assert [a.data for a in msg.attachments][:3] == [b"MZ", b"%PDF", b"\xff\xd8"]


def test_header_details() -> None:
    raw = mail(
        "To: undisclosed-recipients:;",
        "Cc: =?utf-8?Q?Jos=C3=A9?= <Jose@Exemple.example>, pas-une-adresse",
        "Subject: =?utf-8?B?w6l0w6k=?=   =?utf-8?Q?_ensoleill=C3=A9?=  \t et\r\n chaud",
        "Message-ID: sans-crochets@exemple.example",
        "In-Reply-To: <a@x.example> (commentaire)",
        "References: <b@x.example>\r\n <a@x.example> <c@x.example>",
        "Date: Tue, 12 Mar 2024 10:02:00 -0000",
    )
    msg = normalize(raw)
    assert msg.recipients == ("jose@exemple.example",)
    assert msg.subject == "été ensoleillé et chaud"
    assert msg.message_id == "sans-crochets@exemple.example"
    assert msg.references == ("a@x.example", "b@x.example", "c@x.example")
    assert msg.sent_at == datetime(2024, 3, 12, 10, 2, tzinfo=UTC)


def test_utf8_split_across_encoded_words() -> None:
    # "é" is C3 A9; some clients cut between the two bytes.
    raw = mail("Subject: =?utf-8?Q?caf=C3?= =?utf-8?Q?=A9_cr=C3=A8me?=")
    assert normalize(raw).subject == "café crème"


# --- automation_reason --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        (["Auto-Submitted: no"], None),
        (["Auto-Submitted: auto-generated"], "auto-submitted"),
        (["Precedence: bulk"], "precedence"),
        (["Precedence: first-class"], None),
        (["X-Loop: guichet@mairie.example"], "x-loop"),
        (["List-Id: <annonces.mairie.example>"], "list"),
        (["List-Unsubscribe: <mailto:stop@x.example>"], "list"),
        (["X-Auto-Response-Suppress: DR, OOF, AutoReply"], "x-auto-response-suppress"),
        (["X-Auto-Response-Suppress: DR, RN"], None),
        (["Sender: <noreply@impots.example>"], "robot-sender"),
        (['Content-Type: multipart/report; boundary="x"'], "report"),
    ],
)
def test_automation_reason(headers: list[str], expected: str | None) -> None:
    assert automation_reason(email.message_from_bytes(mail(*headers))) == expected


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@x.example", "postmaster@x.example", "no-reply@x.example",
     "NoReply.Facture@x.example", "ne-pas-repondre@x.example", "nepasrepondre@x.example",
     "donotreply@x.example", "do-not-reply@x.example"],
)  # fmt: skip
def test_robot_senders(sender: str) -> None:
    msg = email.message_from_bytes(f"From: {sender}\r\n\r\nx".encode())
    assert automation_reason(msg) == "robot-sender"


def test_automation_reason_on_a_stdlib_parsed_8bit_message() -> None:
    # The stock compat32 policy returns Header objects for raw 8-bit values.
    raw = "From: Françoise <noreply@x.example>\r\nSubject: café\r\n\r\nx".encode("latin-1")
    assert automation_reason(email.message_from_bytes(raw)) == "robot-sender"


def test_ordinary_sender_is_not_a_robot() -> None:
    msg = email.message_from_bytes(b"From: norbert.reply@x.example\r\n\r\nx")
    assert automation_reason(msg) is None


# --- split_quote ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("Merci.\n\nOn Tue, Mar 12, 2024 at 10:02 AM Mairie <a@b.example> wrote:\n> Bonjour\n",
         "On Tue"),
        ("Merci.\n\nLe 12 mars 2024 à 10:02, Mairie <a@b.example> a écrit :\n> Bonjour\n", "Le 12"),
        ("Merci.\nLe mar. 12 mars 2024 à 10:02, Service de l'état civil de la mairie <\n"
         "etat-civil@mairie.example> a écrit :\n\n> Bonjour\n", "Le mar."),
        ("Merci.\n\n-----Message d'origine-----\nDe : Mairie\n", "-----Message"),
        ("Merci.\n\n-----Original Message-----\nFrom: Mairie\n", "-----Original"),
        ("Merci.\n\nFrom: Mairie <a@b.example>\nSent: Tuesday, March 12, 2024 10:02 AM\n"
         "To: Jean\nSubject: Re\n\nBonjour", "From: Mairie"),
        ("Merci.\n\n*De :* Mairie\n*Envoyé :* mardi 12 mars 2024\n", "*De :*"),
        ("Merci.\n\n> Bonjour\n> Votre demande\n>\n\n", "> Bonjour"),
    ],
)  # fmt: skip
def test_split_quote_finds_the_quote(text: str, quote: str) -> None:
    start = split_quote(text)
    assert start is not None
    assert text[start:].startswith(quote)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bonjour,\n\nLe maire a écrit :\nune lettre.\n",  # no date: an ordinary sentence
        "> Vous demandiez l'horaire ?\nLe lundi à 9 h.\n",  # inline answer, not a trailing quote
        "De : mon point de vue, c'est urgent.\nMerci.\n",
        "Le " + "x" * 5000 + " 12 a écrit :\n",  # absurdly long: not an attribution
    ],
)
def test_split_quote_none(text: str) -> None:
    assert split_quote(text) is None


# --- normalize_address, sanitize_html, html_to_text ---------------------------------------


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("Jean.Dupont@Exemple.FR", "jean.dupont@exemple.fr"),
        ("  <Jean.Dupont@exemple.fr>  ", "jean.dupont@exemple.fr"),
        ("Jean Dupont <jean@exemple.fr>", "jean@exemple.fr"),
        ("'jean@exemple.fr'", "jean@exemple.fr"),
        ("jean@exemple.fr.", "jean@exemple.fr"),
        ("<>", ""),
        ("", ""),
        ("undisclosed-recipients:;", ""),
        ("jean", ""),
        ("jean@@exemple.fr", ""),
        ("jean dupont@exemple.fr", ""),
    ],
)
def test_normalize_address(addr: str, expected: str) -> None:
    assert normalize_address(addr) == expected


def test_sanitize_html() -> None:
    html = (
        '<p style="color:red" onmouseover="x()">Texte <b>gras</b></p>'
        '<a href="JaVaScRiPt:alert(1)">a</a><a href="data:text/html,x">b</a>'
        '<a href="mailto:etat-civil@mairie.example">c</a><a href="tel:+33123456789">d</a>'
        '<a href="/relatif">e</a><img src="cid:photo1"><img src="http://t.example/p.gif">'
        "<svg><script>alert(1)</script></svg><table><tr><td colspan=2>t</td></tr></table>"
    )
    assert sanitize_html(html) == (
        "<p>Texte <b>gras</b></p>"
        '<a rel="noopener noreferrer nofollow">a</a><a rel="noopener noreferrer nofollow">b</a>'
        '<a href="mailto:etat-civil@mairie.example" rel="noopener noreferrer nofollow">c</a>'
        '<a href="tel:+33123456789" rel="noopener noreferrer nofollow">d</a>'
        '<a rel="noopener noreferrer nofollow">e</a><img src="cid:photo1"><img>'
        '<table><tbody><tr><td colspan="2">t</td></tr></tbody></table>'
    )


def test_html_to_text() -> None:
    html = (
        "<html><head><title>Titre</title><style>p{}</style></head><body>"
        "<h1>Objet</h1><p>Un&nbsp;paragraphe   sur\n plusieurs   lignes &amp; des entités &eacute;"
        "&#233;.</p><div>Ligne 1<br>Ligne 2</div><ul><li>un</li><li>deux</li></ul>"
        "<script>var x = '<p>caché</p>';</script><pre>  code\n    indenté</pre>"
        "<table><tr><td>A</td><td>B</td></tr></table><![if !supportLists]>fin<![endif]><![bad"
        "</body></html>"
    )
    assert html_to_text(html) == (
        "Objet\n\n"
        "Un paragraphe sur plusieurs lignes & des entités éé.\n\n"
        "Ligne 1\nLigne 2\n\n"
        "- un\n- deux\n\n"
        "  code\n    indenté\n\n"
        "A\tB\n\n"
        "fin"
    )


def test_html_to_text_survives_an_unclosed_head() -> None:
    assert html_to_text("<head><title>x</title><body><p>Bonjour</p>") == "Bonjour"
