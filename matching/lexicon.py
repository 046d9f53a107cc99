"""Small hand-written tables about French first names: nicknames and grammatical gender.

Kept short on purpose: a missing entry only makes the matcher less sure (a review instead of a
link), while a wrong entry could make it sure of the wrong person.
"""

from __future__ import annotations

__all__ = ["ALIAS", "COMMON_FIRST", "NICKNAMES", "first_name_gender", "words"]


def words(text: str) -> frozenset[str]:
    """The set of the whitespace-separated words of ``text`` (for readable word lists)."""
    return frozenset(text.split())


# Groups of spellings and short forms of one first name (compact keys, no spaces). A name may
# sit in several groups ("chris", "alex"); two names are aliases when they share a group.
# Initials of compound names (JP, J-P, MC) are handled by a general rule, not listed here.
NICKNAMES = (
    "jeanpierre jeanpi",
    "jean jeannot",
    "pierre pierrot",
    "christophe chris kris christo",
    "christian chris kris",
    "christine chris",
    "frederic fred frederick fredo",
    "frederique fred",
    "alexandre alex",
    "alexandra alex",
    "alexis alex",
    "nathalie nath nat natalie",
    "catherine cathy cath kathy katherine",
    "guillaume will guigui",
    "william will bill",
    "mohamed mohammed mohammad mohamad muhammad muhammed mouhamed mehmet",
    "stephane steph",
    "stephanie steph",
    "sebastien seb",
    "veronique vero",
    "dominique dom domi",
    "isabelle isa isabel",
    "patricia patty pat",
    "patrick pat",
    "philippe phil philip filip",
    "nicolas nico nick",
    "benjamin ben benji",
    "benoit ben",
    "thomas tom tommy",
    "elisabeth elizabeth babeth lisbeth",
    "margaux margot margaud",
    "jacques jacky jack",
    "jacqueline jacky",
    "emmanuel manu",
    "emmanuelle manu",
    "maxime max",
    "maximilien max",
    "valentin val",
    "valerie val",
    "anthony antony tony",
    "matthieu mathieu matt",
    "robert bob bobby",
    "raphael rafael raph",
    "gabriel gaby",
    "gabrielle gaby",
    "caroline caro",
    "charles charly charlie",
    "charlotte charlie",
    "samuel sam",
    "samantha sam",
    "daniel dany danny dan",
    "danielle dany",
    "joseph jo jojo",
    "josephine jo josie",
    "michael mickael mikael mika",
    "jeremy jeremie",
    "timothee tim",
    "theodore theo",
    "mathilde matilde",
    "johanna joanna",
    "eric erik",
    "vincent vince",
    "kevin kev",
    "florian flo",
    "florence flo",
    "christelle christel",
    "aurelien aurel",
    "laurence lolo",
    "fatima fatma fatimah",
    "yasmine yasmina jasmine",
)
ALIAS: dict[str, frozenset[int]] = {}
for _i, _group in enumerate(NICKNAMES):
    for _name in _group.split():
        ALIAS[_name] = ALIAS.get(_name, frozenset()) | {_i}

# Frequent French first names by gender (INSEE birth lists). Used to see that "Mme Dupont" is
# not Roger Dupont, and to guess which word of "dupont marie" is the first name. Names given
# to both sexes (Camille, Dominique, Claude, Sacha…) are in neither list.
_FEMALE = words(
    """
    adele agathe agnes alice alicia aline amandine amelie anais andree angelique anne annick
    annie audrey aurelie beatrice benedicte bernadette brigitte capucine carole cecile
    celine chantal chloe clara claire claudine clemence colette corinne delphine denise
    diane edith eliane elise elodie eloise emilie emma estelle eugenie evelyne fabienne
    fanny francoise gaelle genevieve ghislaine ginette gisele helene ines irene jacqueline
    jade jeanne jeannine josiane julia julie juliette justine karine laetitia laura laure
    lea lina louise lucie lucienne lydie madeleine manon marguerite marie marine marion
    martine melanie micheline michele monique morgane muriel myriam nadine noemie oceane
    odette odile pascale paulette pauline renee rose romane sabine sandrine sarah severine
    simone solange sophie suzanne sylvie victoria virginie yvette yvonne zoe nathalie
    catherine isabelle veronique patricia stephanie valerie caroline charlotte samantha
    danielle josephine mathilde johanna florence christelle laurence fatima yasmine
    christine frederique alexandra emmanuelle elisabeth margaux gabrielle nadia samira leila
    amina khadija malika nora souad marianne marthe
    """
)
_MALE = words(
    """
    adam adrien alain albert andre antoine armand arnaud arthur augustin axel baptiste
    bastien benoit bernard bertrand bruno clement cyril damien david denis didier dylan
    edouard emile enzo ethan etienne fabien fabrice felix fernand florent francis franck
    francois gaetan georges gerard gilbert gilles guy henri herve hugo hugues jean jerome
    joel johan jules julien karim killian laurent leo leon loic louis lucas lucien ludovic
    luc marc marcel mathis maurice mickael michel noah noel olivier pascal paul pierre
    quentin rachid regis remi richard romain roger roland serge sylvain tristan ugo victor
    vincent vivien xavier yann yannick yves frederic alexandre christophe guillaume mohamed
    stephane sebastien patrick philippe nicolas benjamin thomas emmanuel maxime maximilien
    valentin anthony matthieu robert raphael gabriel charles samuel daniel joseph michael
    jeremy timothee theodore eric kevin florian aurelien christian jacques william mehdi
    sofiane youssef bilal nabil hamid said
    """
)
COMMON_FIRST = _FEMALE | _MALE | frozenset(ALIAS) | {"camille", "dominique", "claude", "sacha"}


def first_name_gender(first: str) -> str:
    """ "F", "M" or "" (unknown) for a folded first name; a compound takes its first part's
    (Jean-Marie is a man, Marie-Pierre a woman)."""
    head = first.split(" ", 1)[0]
    if head in _FEMALE:
        return "F"
    if head in _MALE:
        return "M"
    return ""
