"""Seed data for `guichet demo`: a small register of citizens and realistic French e-mails.

Everything here is fictional (people, addresses, phone numbers, associations) and
deterministic: `CITIZENS` is a constant and `demo_messages()` returns byte-identical
messages on every call.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Literal

__all__ = ["CITIZENS", "DEMO_DOMAIN", "DemoCitizen", "demo_messages"]

DEMO_DOMAIN = "mairie.example"


@dataclass(frozen=True)
class DemoCitizen:
    """One person of the demo register (all fields are plain strings)."""

    first_name: str
    last_name: str
    birth_name: str  # "" unless it differs from the usual (married) name
    birth_date: str  # ISO 8601, e.g. "1984-03-02"
    email: str
    phone: str  # French format, e.g. "06 12 34 56 78"
    address: str
    postcode: str
    city: str


_HOME = ("45000", "Exemple-sur-Loire")
_HAUT = ("45110", "Exemple-le-Haut")
_VAL = ("45120", "Val-d'Exemple")
_BOIS = ("45130", "Boisjoli-sur-Loire")

# fmt: off
CITIZENS: tuple[DemoCitizen, ...] = (
    DemoCitizen("Marie", "Dupont", "Lambert", "1984-03-02", "marie.dupont45@orange.fr",
                "06 12 34 56 78", "3 rue des Lilas", *_HOME),
    # Father and son: same name, same address, different e-mails.
    DemoCitizen("Jean-Pierre", "Dupont", "", "1952-07-14", "jp.dupont@wanadoo.fr",
                "02 38 41 22 17", "12 rue Victor-Hugo", *_HOME),
    DemoCitizen("Jean-Pierre", "Dupont", "", "1981-11-05", "jeanpierre.dupont81@gmail.com",
                "06 71 28 93 40", "12 rue Victor-Hugo", *_HOME),
    # Household: spouses sharing one e-mail address.
    DemoCitizen("Thierry", "Martin", "", "1975-05-21", "famille.martin@free.fr",
                "06 45 19 82 33", "8 allée des Tilleuls", *_HOME),
    DemoCitizen("Sandrine", "Martin", "Lefèvre", "1977-09-30", "famille.martin@free.fr",
                "06 62 07 54 18", "8 allée des Tilleuls", *_HOME),
    DemoCitizen("Thi Hoa", "Nguyen", "", "1963-02-11", "nguyen.thihoa@laposte.net",
                "02 38 52 67 09", "5 rue des Écoles", *_HOME),
    DemoCitizen("Karim", "Benali", "", "1990-06-18", "karim.benali90@gmail.com",
                "07 81 44 26 95", "Résidence Les Peupliers, bât. A", *_HOME),
    DemoCitizen("Fatima", "Benali", "Haddad", "1961-12-03", "fatima.benali@sfr.fr",
                "06 23 58 71 04", "15 rue de la Gare", *_HOME),
    DemoCitizen("Manuel", "Da Silva", "", "1958-04-25", "manuel.dasilva@orange.fr",
                "02 38 63 15 82", "17 rue du Moulin", *_HOME),
    DemoCitizen("Ana", "Da Silva", "", "1997-01-14", "ana.dasilva97@hotmail.fr",
                "07 68 30 11 47", "9 quai de la Loire", *_HOME),
    DemoCitizen("Yann", "Le Goff", "", "1986-08-12", "yann.legoff@free.fr",
                "06 84 72 39 16", "4 chemin des Vignes", *_HOME),
    DemoCitizen("Patrick", "Le Goff", "", "1957-10-02", "patrick.legoff@orange.fr",
                "02 38 77 40 63", "10 rue de Bretagne", *_VAL),
    DemoCitizen("Marie-Claire", "de La Tour", "Fontaine", "1946-01-27", "mc.delatour@wanadoo.fr",
                "02 38 41 90 25", "2 place de l'Église", *_HOME),
    DemoCitizen("Henri", "de La Tour", "", "1943-06-09", "henri.delatour@wanadoo.fr",
                "02 38 41 90 25", "2 place de l'Église", *_HOME),
    DemoCitizen("Monique", "Bernard", "Petit", "1938-03-16", "monique.bernard38@laposte.net",
                "02 38 55 03 71", "9 place de l'Église", *_HOME),
    DemoCitizen("Lucas", "Bernard", "", "2001-09-22", "lucas.bernard01@gmail.com",
                "07 52 19 64 83", "21 boulevard Pasteur", *_HOME),
    DemoCitizen("Chloé", "Moreau", "", "1998-05-07", "chloe.moreau@yahoo.fr",
                "06 31 85 27 60", "27 avenue de la République", *_HOME),
    DemoCitizen("Julien", "Laurent", "", "1983-02-19", "julien.laurent@sfr.fr",
                "06 09 46 73 52", "41 rue Jean-Jaurès", *_HOME),
    DemoCitizen("Aurélie", "Simon", "Garnier", "1988-11-28", "aurelie.simon88@orange.fr",
                "06 77 20 58 94", "6 impasse des Mésanges", *_HOME),
    DemoCitizen("Mamadou", "Diallo", "", "1979-04-03", "mamadou.diallo@gmail.com",
                "07 66 12 48 30", "Résidence Les Peupliers, bât. C", *_HOME),
    DemoCitizen("Aminata", "Diallo", "Sow", "1982-08-15", "aminata.sow@hotmail.fr",
                "07 69 53 02 81", "Résidence Les Peupliers, bât. C", *_HOME),
    DemoCitizen("Mehmet", "Yilmaz", "", "1972-01-30", "mehmet.yilmaz@free.fr",
                "06 58 93 14 27", "14 boulevard Pasteur", *_HOME),
    DemoCitizen("Élodie", "Roux", "", "1991-07-04", "elodie.roux@laposte.net",
                "06 40 67 85 12", "7 rue des Lilas", *_HOME),
    DemoCitizen("Nicolas", "Fournier", "", "1969-03-11", "n.fournier@orange.fr",
                "06 14 52 96 38", "33 route de Boisjoli", *_BOIS),
    DemoCitizen("Catherine", "Girard", "Mercier", "1955-12-20", "catherine.girard55@wanadoo.fr",
                "02 38 69 21 54", "18 rue des Écoles", *_HOME),
    DemoCitizen("Pierre-Antoine", "Mercier", "", "1993-10-16", "pa.mercier@gmail.com",
                "06 93 07 41 66", "5 rue du Château", *_HAUT),
    DemoCitizen("Sophie", "Lefebvre", "", "1980-06-25", "sophie.lefebvre80@yahoo.fr",
                "06 26 81 35 09", "11 allée des Tilleuls", *_HOME),
    DemoCitizen("Rachid", "Amrani", "", "1966-09-08", "rachid.amrani@sfr.fr",
                "06 50 38 72 91", "6 rue de la Fontaine", *_BOIS),
    DemoCitizen("Samira", "Amrani", "", "1999-02-14", "samira.amrani99@gmail.com",
                "07 45 26 90 13", "6 rue de la Fontaine", *_BOIS),
    DemoCitizen("Bernadette", "Morel", "Chevalier", "1941-05-19", "bernadette.morel@orange.fr",
                "02 38 47 18 36", "3 rue du Moulin", *_HOME),
    DemoCitizen("Gérard", "Fontaine", "", "1949-08-31", "gerard.fontaine@wanadoo.fr",
                "02 38 58 34 70", "1 chemin des Vignes", *_HOME),
    DemoCitizen("Anne-Sophie", "Blanchard", "", "1987-04-12", "annesophie.blanchard@free.fr",
                "06 35 74 09 21", "15 avenue de la République", *_HOME),
    DemoCitizen("Kévin", "Perrin", "", "1996-12-01", "kevin.perrin96@hotmail.fr",
                "07 82 61 37 45", "8 rue Jean-Jaurès", *_HOME),
    DemoCitizen("Wei", "Zhang", "", "1985-03-27", "wei.zhang85@gmail.com",
                "06 47 98 23 56", "20 rue des Lilas", *_HOME),
    DemoCitizen("Olivier", "Rousseau", "", "1974-11-13", "olivier.rousseau@laposte.net",
                "06 17 40 86 29", "2 impasse des Mésanges", *_HOME),
    DemoCitizen("Isabelle", "Rousseau", "Vincent", "1976-02-08", "isabelle.vincent@orange.fr",
                "06 86 25 13 74", "2 impasse des Mésanges", *_HOME),
    DemoCitizen("Maëlle", "Guérin", "", "2004-06-30", "maelle.guerin@gmail.com",
                "07 58 04 92 67", "31 rue de la Gare", *_HOME),
    DemoCitizen("Dominique", "Lemaire", "", "1960-10-24", "dominique.lemaire@sfr.fr",
                "06 72 91 50 43", "4 rue du Château", *_HAUT),
    DemoCitizen("Hélène", "Muller", "Schmitt", "1952-04-05", "helene.muller@free.fr",
                "02 38 80 46 12", "9 rue de Bretagne", *_VAL),
    DemoCitizen("François", "Boyer", "", "1971-07-17", "francois.boyer@orange.fr",
                "06 03 68 27 85", "26 quai de la Loire", *_HOME),
    DemoCitizen("Nathalie", "Gauthier", "", "1973-09-02", "nathalie.gauthier73@yahoo.fr",
                "06 55 12 79 40", "10 rue Victor-Hugo", *_HOME),
    DemoCitizen("Youssef", "El Idrissi", "", "1989-01-21", "youssef.elidrissi@gmail.com",
                "07 60 83 45 18", "5 avenue de la République", *_HOME),
    DemoCitizen("Léa", "Marchand", "", "2000-08-09", "lea.marchand@laposte.net",
                "07 71 36 58 02", "13 rue des Écoles", *_HOME),
    DemoCitizen("Christophe", "Dubois", "", "1965-05-14", "christophe.dubois@wanadoo.fr",
                "02 38 62 97 31", "30 rue du Moulin", *_HOME),
    DemoCitizen("Jeanne", "Dubois", "Renaud", "1934-12-11", "jeanne.dubois34@laposte.net",
                "02 38 62 54 08", "1 place de l'Église", *_HOME),
    DemoCitizen("Mathéo", "Colin", "", "2006-03-03", "matheo.colin06@gmail.com",
                "07 49 27 61 95", "19 allée des Tilleuls", *_HOME),
    DemoCitizen("Stéphane", "Kowalski", "", "1970-10-29", "s.kowalski@free.fr",
                "06 28 59 04 37", "12 route de Boisjoli", *_BOIS),
    DemoCitizen("Inès", "Bouchard", "", "1994-02-23", "ines.bouchard@hotmail.fr",
                "06 94 30 62 15", "25 boulevard Pasteur", *_HOME),
    DemoCitizen("Gwenaëlle", "Le Bihan", "", "1979-07-26", "gwen.lebihan@sfr.fr",
                "06 61 47 83 20", "8 rue du Château", *_HAUT),
    DemoCitizen("Sylvie", "Caron", "Lemoine", "1962-11-06", "sylvie.caron@sfr.fr",
                "06 38 16 94 57", "16 rue Victor-Hugo", *_HOME),
)
# fmt: on


# How a message is encoded, as real French mail clients do it:
#   utf-8 / windows-1252 / iso-8859-1: single text/plain part in that charset;
#   alternative: text/plain + text/html; html: text/html only;
#   pdf / jpeg: UTF-8 text/plain plus a small attachment.
_Kind = Literal["utf-8", "windows-1252", "iso-8859-1", "alternative", "html", "pdf", "jpeg"]


@dataclass(frozen=True)
class _Mail:
    sender: str  # a register e-mail (name taken from CITIZENS) or "Display Name <address>"
    to: str  # local part at DEMO_DOMAIN
    sent: str  # local time in Exemple-sur-Loire, "YYYY-MM-DD HH:MM" (UTC+1 in November)
    subject: str
    body: str  # dedented and stripped by the builder
    kind: _Kind = "utf-8"
    headers: tuple[tuple[str, str], ...] = ()


_MAILS: tuple[_Mail, ...] = (
    _Mail(
        "Les Amis du Vieil Exemple <lettre@amis-vieil-exemple.org>",
        "contact",
        "2026-11-02 07:00",
        "La Lettre des Amis du Vieil Exemple – novembre 2026",
        """
        Chers amis du patrimoine,

        Au programme ce mois-ci :
        - samedi 21 novembre : visite commentée de l'église Saint-Martin, rendez-vous à 14 h 30 ;
        - jeudi 3 décembre : conférence « La Loire et ses mariniers » à la salle des fêtes ;
        - l'appel à bénévoles pour la restauration du lavoir est toujours ouvert.

        Bonne lecture et à bientôt !
        Le bureau de l'association

        Pour ne plus recevoir cette lettre, répondez « STOP » à ce message.
        """,
        "alternative",
        (
            ("List-Id", "La Lettre des Amis du Vieil Exemple <lettre.amis-vieil-exemple.org>"),
            ("List-Unsubscribe", "<mailto:desinscription@amis-vieil-exemple.org>"),
            ("Precedence", "bulk"),
        ),
    ),
    _Mail(
        "marie.dupont45@orange.fr",
        "etat-civil",
        "2026-11-02 09:14",
        "Demande de copie intégrale d'acte de naissance",
        """
        Madame, Monsieur,

        Je vous serais reconnaissante de bien vouloir m'adresser une copie intégrale de mon
        acte de naissance, qui m'est demandée par notre notaire dans le cadre d'une succession.

        Marie Dupont, née Lambert, le 2 mars 1984 à Exemple-sur-Loire.
        Adresse : 3 rue des Lilas, 45000 Exemple-sur-Loire.

        Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations distinguées.

        Marie Dupont
        """,
    ),
    _Mail(
        "jp.dupont@wanadoo.fr",
        "voirie",
        "2026-11-03 08:02",
        "Éclairage public en panne rue Victor-Hugo",
        """
        Madame, Monsieur,

        Je me permets de vous signaler que le lampadaire situé face au 12 rue Victor-Hugo ne
        fonctionne plus depuis le 28 octobre. La rue est plongée dans le noir dès 18 heures, ce
        qui est dangereux pour les piétons, d’autant que le trottoir est en mauvais état.

        Je vous remercie par avance de l’intervention de vos services.

        Veuillez agréer, Madame, Monsieur, mes salutations respectueuses.

        Jean-Pierre Dupont
        """,
        "windows-1252",
    ),
    _Mail(
        "jeanpierre.dupont81@gmail.com",
        "contact",
        "2026-11-03 22:47",
        "RDV passeport urgent",
        """
        Bonjour,
        je pars au Canada le 12 décembre pour le boulot et mon passeport est périmé.
        Est-ce qu'il reste un créneau de rendez-vous avant fin novembre ? Je peux venir
        n'importe quel matin avant 9h.
        Merci d'avance
        JP Dupont
        06 71 28 93 40
        """,
    ),
    _Mail(
        "Sandrine Martin <famille.martin@free.fr>",
        "contact",
        "2026-11-04 13:20",
        "Inscription à la cantine pour Jade",
        """
        Bonjour,

        Je reprends une activité professionnelle le 4 janvier et souhaiterais inscrire notre
        fille Jade Martin (CP, école des Tilleuls) à la cantine les lundis, mardis et jeudis.
        Pourriez-vous m'indiquer les documents à fournir et le tarif applicable selon notre
        quotient familial ?

        Merci beaucoup,
        Sandrine Martin
        8 allée des Tilleuls
        """,
        "alternative",
    ),
    _Mail(
        "nguyen.thihoa@laposte.net",
        "etat-civil",
        "2026-11-05 10:05",
        "Demande d'extrait d'acte de mariage",
        """
        Madame, Monsieur,

        Je souhaiterais obtenir un extrait avec filiation de mon acte de mariage, célébré à la
        mairie d'Exemple-sur-Loire le 17 août 1991 (époux : M. Nguyen Van Long).
        Ce document m'est demandé par ma caisse de retraite.

        Merci de me l'envoyer à mon adresse : 5 rue des Écoles, 45000 Exemple-sur-Loire.

        Veuillez recevoir, Madame, Monsieur, mes salutations distinguées.

        Nguyen Thi Hoa
        """,
        "iso-8859-1",
    ),
    _Mail(
        "karim.benali90@gmail.com",
        "voirie",
        "2026-11-05 19:38",
        "Nid-de-poule rue de la Gare (photo jointe)",
        """
        Bonjour,

        Il y a un gros nid-de-poule en face du 40 rue de la Gare, juste avant le passage piéton.
        J'ai failli tomber en scooter hier soir : il est rempli d'eau et on ne le voit pas.
        Je vous joins une photo.

        Cordialement,
        Karim Benali
        """,
        "jpeg",
    ),
    _Mail(
        "fatima.benali@sfr.fr",
        "contact",
        "2026-11-06 15:11",
        "Demande de rendez-vous avec le CCAS",
        """
        Bonjour Madame, Monsieur,

        Depuis le décès de mon mari en septembre, j'ai du mal à payer mes factures d'électricité
        et mon loyer. Une voisine m'a dit que le CCAS pouvait peut-être m'aider.
        Est-il possible d'avoir un rendez-vous avec une assistante sociale ? Je suis disponible
        tous les après-midis.

        Merci beaucoup pour votre aide.
        Fatima Benali
        06 23 58 71 04
        """,
    ),
    _Mail(
        "manuel.dasilva@orange.fr",
        "urbanisme",
        "2026-11-07 11:26",
        "Déclaration préalable – abri de jardin",
        """
        Madame, Monsieur,

        Je souhaite installer un abri de jardin en bois d’environ 12 m² au fond de mon terrain,
        au 17 rue du Moulin. Faut-il déposer une déclaration préalable ou un permis de
        construire ? Et quel est le délai d’instruction ?

        Je vous remercie de votre réponse.

        Cordialement,
        Manuel Da Silva
        """,
        "windows-1252",
    ),
    _Mail(
        "ana.dasilva97@hotmail.fr",
        "contact",
        "2026-11-08 21:03",
        "Réservation de la salle des fêtes le samedi 16 janvier",
        """
        Bonjour,

        Je voudrais réserver la salle des fêtes pour le samedi 16 janvier 2027 (anniversaire de
        mes 30 ans, environ 60 personnes). Est-elle disponible ? Quel est le tarif pour les
        habitants de la commune, et faut-il verser une caution ?

        Merci !
        Ana Da Silva
        """,
    ),
    _Mail(
        "yann.legoff@free.fr",
        "voirie",
        "2026-11-09 07:52",
        "Dépôt sauvage chemin des Vignes",
        """
        Bonjour,
        encore un dépôt sauvage au bout du chemin des Vignes, près du bassin : des pneus, des
        plaques de placo et un vieux frigo. C'est la troisième fois depuis l'été.
        Yann Le Goff
        """,
    ),
    _Mail(
        "mc.delatour@wanadoo.fr",
        "contact",
        "2026-11-09 16:40",
        "Renouvellement de concession au cimetière",
        """
        Madame, Monsieur,

        J’ai reçu votre courrier m’informant que la concession familiale n° 214 (carré B) du
        cimetière communal arrive à échéance le 31 décembre prochain. Je souhaite la renouveler
        pour trente ans. Pourriez-vous m’indiquer le montant à régler ainsi que les modalités
        de paiement ?

        Je vous prie de croire, Madame, Monsieur, à l’assurance de ma considération distinguée.

        Marie-Claire de La Tour
        """,
        "windows-1252",
    ),
    _Mail(
        "monique.bernard38@laposte.net",
        "contact",
        "2026-11-10 06:18",
        "encombrants à enlever",
        """
        bonjour monsieur ,,
        je voudrais savoir quand passe les encombrants ... j ai une vieille armoire et un
        matelas , mon petit fils ne peut pas venir avant noel .
        est ce que vos employés peuvent venir les chercher chez moi ?? je suis au 9 place de
        l Eglise au rez de chaussé .
        merci beaucoup ,,,
        Mme BERNARD Monique
        """,
        "iso-8859-1",
    ),
    _Mail(
        "chloe.moreau@yahoo.fr",
        "contact",
        "2026-11-10 12:31",
        "Inscription sur les listes électorales après déménagement",
        """
        Bonjour,

        Je viens de déménager à l'intérieur de la commune (ancienne adresse : 4 rue Jean-Jaurès)
        et j'habite désormais au 27 avenue de la République, appartement 12.
        Dois-je refaire une inscription sur les listes électorales ou simplement signaler mon
        changement d'adresse ? Je tiens à pouvoir voter à la présidentielle de 2027.

        Bonne journée,
        Chloé Moreau
        """,
    ),
    _Mail(
        "julien.laurent@sfr.fr",
        "voirie",
        "2026-11-12 07:09",
        "STATIONNEMENT GÊNANT – ÇA SUFFIT !!!",
        """
        Bonjour,

        TROISIÈME mail en un mois et toujours rien !!! La camionnette blanche garée en
        permanence devant mon garage au 41 rue Jean-Jaurès m'empêche de sortir ma voiture.
        Ce matin, j'ai encore raté le début de mon poste à cause de ça.
        Je paie mes impôts comme tout le monde, j'attends que la police municipale fasse enfin
        son travail. Sinon j'écrirai directement au maire, et à la presse.

        Julien Laurent
        """,
    ),
    _Mail(
        "aurelie.simon88@orange.fr",
        "urbanisme",
        "2026-11-12 20:55",
        "Question sur un permis de construire pour une extension",
        """
        Bonjour,

        Nous envisageons une extension de 35 m² à l'arrière de notre maison, 6 impasse des
        Mésanges. Notre architecte parle d'un permis de construire, mais le PLU autorise-t-il ce
        type de projet dans notre zone (UB, je crois) ? Serait-il possible de rencontrer le
        service instructeur avant de déposer le dossier ?

        Merci d'avance pour votre retour,
        Aurélie Simon
        """,
    ),
    _Mail(
        "mamadou.diallo@gmail.com",
        "contact",
        "2026-11-13 09:47",
        "Nuisances sonores répétées – résidence Les Peupliers",
        """
        Madame, Monsieur,

        Je me permets de vous écrire au sujet de nuisances sonores nocturnes provenant de
        l'appartement situé au-dessus du mien (bâtiment C, 3e étage) : musique forte et cris
        presque chaque nuit entre minuit et 3 heures depuis début octobre. Le dialogue avec les
        occupants n'a rien donné et le bailleur ne répond pas.
        Quelles démarches la mairie peut-elle engager ?

        Dans l'attente de votre réponse, je vous prie d'agréer mes salutations distinguées.

        Mamadou Diallo
        """,
    ),
    _Mail(
        "mehmet.yilmaz@free.fr",
        "etat-civil",
        "2026-11-16 10:22",
        "Demande de copies d'acte de décès",
        """
        Bonjour,

        Mon père, M. Hasan Yilmaz, est décédé le 3 novembre 2026 à l’hôpital
        d’Exemple-sur-Loire. Le notaire me demande cinq copies de l’acte de décès.
        Pouvez-vous me les envoyer par courrier au 14 boulevard Pasteur ?

        Je vous remercie par avance.

        Cordialement,
        Mehmet Yilmaz
        """,
        "windows-1252",
    ),
    _Mail(
        "catherine.girard55@wanadoo.fr",
        "contact",
        "2026-11-16 14:03",
        "Réponse automatique : Votre demande a bien été enregistrée",
        """
        Bonjour,

        Je suis absente jusqu'au 24 novembre 2026 inclus, avec un accès très limité à ma
        messagerie. Je traiterai votre message à mon retour.

        Cordialement,
        Catherine Girard
        """,
        headers=(("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")),
    ),
    _Mail(
        "rachid.amrani@sfr.fr",
        "voirie",
        "2026-11-17 06:35",
        "Arbre tombé route de Boisjoli",
        """
        Bonjour,
        un gros arbre est tombé cette nuit avec le vent, en travers de la route de Boisjoli,
        juste après le pont à la sortie de la ville. Une seule voie passe, c'est dangereux dans
        le virage. J'ai prévenu les pompiers aussi.
        Rachid Amrani
        06 50 38 72 91
        """,
    ),
    _Mail(
        "bernadette.morel@orange.fr",
        "contact",
        "2026-11-17 15:58",
        "Portage de repas à domicile",
        """
        Bonjour,

        Suite à une chute cet été, j'ai du mal à faire mes courses et à cuisiner. Ma fille m'a
        parlé du portage de repas organisé par le CCAS. Pourriez-vous me dire comment m'inscrire
        et quel en est le prix ? Je ne suis pas très à l'aise avec l'ordinateur : un appel au
        02 38 47 18 36 serait plus simple pour moi.

        Avec mes remerciements,
        Bernadette Morel
        """,
    ),
    _Mail(
        "gerard.fontaine@wanadoo.fr",
        "urbanisme",
        "2026-11-18 10:44",
        "Déclaration préalable pour une clôture",
        """
        Monsieur,

        Je souhaite remplacer la haie de thuyas qui borde ma propriété, 1 chemin des Vignes,
        par une clôture grillagée de 1,80 m. Une déclaration préalable est-elle nécessaire ?
        Par ailleurs, existe-t-il une hauteur maximale imposée côté rue ?

        Recevez, Monsieur, mes salutations distinguées.

        G. Fontaine
        """,
        "iso-8859-1",
    ),
    _Mail(
        "kevin.perrin96@hotmail.fr",
        "contact",
        "2026-11-19 23:16",
        "Perte de ma carte d'identité",
        """
        Bonjour,

        J'ai perdu ma carte d'identité (sûrement dans le bus). Je dois faire une déclaration de
        perte en mairie ou directement en ligne ? Et il faut prendre rendez-vous pour la refaire ?

        Merci,
        Kévin Perrin
        """,
        "html",
    ),
    _Mail(
        "wei.zhang85@gmail.com",
        "etat-civil",
        "2026-11-20 12:09",
        "Duplicata du livret de famille",
        """
        Bonjour,

        Nous avons perdu notre livret de famille lors de notre déménagement. Nous nous sommes
        mariés à Exemple-sur-Loire le 9 juillet 2016 et nos deux enfants y sont nés. Comment
        obtenir un duplicata ? Faut-il passer en mairie avec nos pièces d'identité ?

        Merci par avance,
        Wei et Julie Zhang
        """,
    ),
    _Mail(
        "Camille Besson <camille.besson@gmail.com>",
        "contact",
        "2026-11-21 18:30",
        "Nouvelle arrivante : quelles démarches ?",
        """
        Bonjour,

        Je viens d'emménager au 19 rue des Écoles avec mon compagnon. Quelles sont les démarches
        à faire auprès de la mairie ? Nous aimerions nous inscrire sur les listes électorales et
        savoir comment obtenir des bacs de tri, ainsi que le jour de ramassage des ordures.

        Merci et à bientôt,
        Camille Besson
        """,
    ),
    _Mail(
        "Antoine Leroy <a.leroy@orange.fr>",
        "urbanisme",
        "2026-11-23 09:05",
        "Certificat d'urbanisme – terrain route de Boisjoli",
        """
        Madame, Monsieur,

        Dans le cadre de l'achat d'un terrain situé route de Boisjoli (parcelle cadastrée
        AB 152), je souhaiterais savoir si un certificat d'urbanisme opérationnel peut être
        demandé par le futur acquéreur, et dans quels délais la commune y répond habituellement.

        Je vous remercie par avance et vous prie d'agréer mes salutations distinguées.

        Antoine Leroy
        """,
    ),
    _Mail(
        "Nadia Cherif <nadia.cherif@hotmail.fr>",
        "contact",
        "2026-11-23 17:42",
        "Inscription à l'école en cours d'année",
        """
        Bonjour,

        Nous arrivons de Lyon et emménageons le 1er décembre au 3 rue de la Gare. Mes enfants,
        Inès (CE2) et Adam (moyenne section), doivent être scolarisés dès le 2 décembre.
        Quels documents dois-je fournir pour l'inscription scolaire et pour la cantine ?

        Bien cordialement,
        Nadia Cherif
        """,
    ),
    _Mail(
        "christophe.dubois@wanadoo.fr",
        "voirie",
        "2026-11-25 08:27",
        "Encombrants non collectés – rue du Moulin",
        """
        Bonjour,

        Des encombrants sont déposés sur le trottoir devant le 28 rue du Moulin, à côté de chez
        moi, depuis plus de deux semaines (canapé, sommier…). Les parents avec poussette doivent
        descendre sur la chaussée. La collecte était prévue le 10 novembre, mais le camion n’est
        jamais passé. Pouvez-vous relancer le prestataire ?

        Merci,
        Christophe Dubois
        """,
        "windows-1252",
    ),
    _Mail(
        "Thomas Petitjean <thomas.petitjean@laposte.net>",
        "contact",
        "2026-11-26 11:13",
        "Inscription sur les listes électorales – justificatif de domicile",
        """
        Bonjour,

        Suite à mon arrivée dans la commune, je souhaite m'inscrire sur les listes électorales.
        Vous trouverez ci-joint mon justificatif de domicile (facture d'électricité). Ma carte
        d'identité suivra dans un second message.

        Cordialement,
        Thomas Petitjean
        24 rue des Lilas, 45000 Exemple-sur-Loire
        """,
        "pdf",
    ),
    _Mail(
        "Lucie Garnier <lucie.garnier@free.fr>",
        "voirie",
        "2026-11-27 08:50",
        "Passage piéton effacé devant l'école des Tilleuls",
        """
        Bonjour,

        Maman d'un élève depuis la rentrée, je constate que le passage piéton devant l'école des
        Tilleuls est presque entièrement effacé, et les voitures ne ralentissent pas. Serait-il
        possible de le repeindre, voire d'installer un ralentisseur ?

        Cordialement,
        Lucie Garnier
        """,
    ),
)

_TZ = timezone(timedelta(hours=1))

_FAKE_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj\n"
    b"4 0 obj << /Length 58 >> stream\n"
    b"BT /F1 12 Tf 72 770 Td (Facture electricite - demo) Tj ET\n"
    b"endstream endobj\n"
    b"trailer << /Root 1 0 R /Size 5 >>\n"
    b"%%EOF\n"
)

_FAKE_JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
    + bytes((i * 73 + 41) % 256 for i in range(320))
    + b"\xff\xd9"
)


def _sender_address(sender: str) -> Address:
    if "<" in sender:
        name, addr = parseaddr(sender)
    else:
        citizen = next((c for c in CITIZENS if c.email == sender), None)
        if citizen is None:
            raise ValueError(f"{sender} is not in CITIZENS")
        name, addr = f"{citizen.first_name} {citizen.last_name}", sender
    return Address(display_name=name, addr_spec=addr)


def _to_html(text: str) -> str:
    paragraphs = (
        "<p>" + "<br>\n".join(html.escape(line, quote=False) for line in para.splitlines()) + "</p>"
        for para in text.split("\n\n")
    )
    return (
        '<html><head><meta charset="utf-8"></head>\n<body>\n'
        + "\n".join(paragraphs)
        + "\n</body></html>\n"
    )


def _build(number: int, mail: _Mail) -> bytes:
    sender = _sender_address(mail.sender)
    body = textwrap.dedent(mail.body).strip("\n") + "\n"

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"{mail.to}@{DEMO_DOMAIN}"
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(datetime.fromisoformat(mail.sent).replace(tzinfo=_TZ))
    msg["Message-ID"] = f"<demo-{number:02d}@{sender.domain}>"
    for name, value in mail.headers:
        msg[name] = value

    match mail.kind:
        case "windows-1252":
            msg.set_content(body, charset="windows-1252", cte="quoted-printable")
        case "iso-8859-1":
            msg.set_content(body, charset="iso-8859-1", cte="8bit")
        case "html":
            msg.set_content(_to_html(body), subtype="html", cte="quoted-printable")
        case _:
            msg.set_content(body, cte="quoted-printable")

    match mail.kind:
        case "alternative":
            msg.add_alternative(_to_html(body), subtype="html", cte="quoted-printable")
        case "pdf":
            msg.add_attachment(
                _FAKE_PDF,
                maintype="application",
                subtype="pdf",
                filename="justificatif_domicile.pdf",
            )
        case "jpeg":
            msg.add_attachment(
                _FAKE_JPEG, maintype="image", subtype="jpeg", filename="photo_nid_de_poule.jpg"
            )
        case _:
            pass

    if msg.is_multipart():
        msg.set_boundary(f"=_demo-{number:02d}_boundary")  # the default one is random
        for part in msg.iter_parts():
            del part["MIME-Version"]  # added to sub-parts by the stdlib, not by real clients
    return msg.as_bytes(policy=SMTP)


def demo_messages() -> list[bytes]:
    """The 30 demo e-mails, as raw RFC 5322 bytes with CRLF line endings, oldest first."""
    return [_build(number, mail) for number, mail in enumerate(_MAILS, start=1)]
