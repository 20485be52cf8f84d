"""Benchmark the duplicate finder (`app.domain.dedupe.find_duplicates`) on a generated customer base with
known planted duplicates and planted hard negatives. Prints figures, no verdict.

The base (deterministic from `--seed`, `--size` records in all) has Swedish, US, German and Spanish people
(accents, Spanish double surnames, common names far more common than rare ones); a few big companies (8%,
4%, 2%, 1% and 0.5% of the base), many small ones, and about 45% of people with no company; emails
derived from the names at free-mail and company domains (unique, as providers make them); valid phone
numbers (`phonenumbers.is_valid_number`) in five countries, written mostly with their country code.

Planted duplicates (`--dup-rate` of the base, default 8%), each a second record of one person:
- `typo_company`: the name with one typing error (substitution, deletion, doubled letter, transposition)
  at the same company (sometimes written without its legal suffix or in other case); no shared contact;
- `swapped_email`: "Last First" (or "Last, First") with the same email in other case or with a plus tag;
- `phone_format`: the same phone written another way (national, spaces, dashes, 00-prefix, parentheses)
  with the same name, a typo'd name or no name;
- `email_variant`: the same email up to case, plus tag, Gmail dots or googlemail.com; same name or none;
- `accent_phone`: the name without its accents (Åsa Öberg -> Asa Oberg) and the same phone.
Planted hard negatives (pairs of different people, 1% of the base each), which must not be listed:
- `same_name_other_company`: the same (common) name at another company or none;
- `colleagues`: different names at one company, half of them both given the company's switchboard number;
- `household`: the same surname, a clearly different first name, one landline;
- `ambiguous_big_company`: same first name, a surname in use one letter away (Berg/Borg) at a big company,
  and `ambiguous_big_rare`: the same with a rare surname (a vowel changed: Lindqvist/Lindqvest); these are
  indistinguishable from `typo_company` by the record alone and are reported apart (and the overall
  precision is also given without them).
Anything else listed (e.g. two real Anna Anderssons at one 8,000-person company) is counted as background.

Figures: precision, recall and F1 over pairs; recall per planted kind; pairs listed per hard-negative kind;
pairs judged (calls of the pair judge); runtime of `find_duplicates(records, region=None)` (median of
`--repeat`). Not part of the test suite.

Run from the repository root:
    .venv/bin/python bench/dedupe.py [--size 20000] [--seed 1] [--repeat 3] [--dup-rate 0.08]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain import dedupe
from app.domain.dedupe import Record, find_duplicates

# ---------------------------------------------------------------------------------------------- names


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = {
    "SE": "Anna Eva Maria Karin Sara Kristina Lena Emma Kerstin Ingrid Åsa Malin Linnéa Sofia Ida Elin Maja "
    "Märta Gunnel Marie Birgitta Inger Margareta Elisabeth Ulla Johanna Susanne Camilla Hanna Frida "
    "Ebba Agnes Saga Tove Klara Erik Lars Karl Anders Johan Per Nils Mikael Jan Björn Hans Ulf Göran "
    "Olof Åke Stefan Mats Jonas Fredrik Oskar Linus Sören Håkan Peter Thomas Daniel Magnus Henrik "
    "Gustav Axel Viktor Emil Hugo Ludvig Måns Örjan Leif Bengt Sven",
    "US": "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty "
    "Anthony Margaret Mark Sandra Emily Ashley Kevin Brian Zoë Chloé Donald Steven Paul Andrew Joshua "
    "Kenneth George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan "
    "Stephen Larry Justin Scott Brandon Dorothy Kimberly Donna Michelle Carol Amanda Melissa Deborah "
    "Stephanie Rebecca Laura Sharon Cynthia Kathleen Amy Angela Shirley Brenda Pamela Nicole Anna "
    "Samantha Katherine Christine Rachel Janet",
    "DE": "Jürgen Jörg Günter Uwe Klaus Stefan Michael Andreas Thomas Peter Wolfgang Monika Ursula Sabine "
    "Petra Claudia Renate Brigitte Käthe Lukas Leon Jonas Lena Lea Hannah Sophie Marie Björn Sören "
    "Jörn Heike Tobias Jana Frank Dieter Horst Manfred Helmut Bernd Ralf Werner Gerhard Hans Karl "
    "Heinz Dirk Sven Jens Matthias Christian Florian Maximilian Felix Paul Elias Karin Gabriele "
    "Susanne Birgit Angelika Andrea Katharina Julia Laura Anna Mia Emilia Jutta Gisela Bärbel Dörte "
    "Götz",
    "ES": "José María Antonio Manuel Francisco Juan David Javier Jesús Carmen Ana Isabel Dolores Pilar "
    "Teresa Lucía Sofía Martín Álvaro Andrés Inés Raúl Sergio Pablo Ángel Begoña Iñaki Nuria Elena "
    "Rocío Miguel Rafael Pedro Alejandro Fernando Luis Carlos Jorge Alberto Daniel Adrián Diego Rubén "
    "Óscar Víctor Iván Josefa Laura Cristina Marta Paula Raquel Silvia Beatriz Patricia Montserrat "
    "Rosa Mercedes Julia Alba Irene Noelia Susana Yolanda Encarnación Concepción Agustín Joaquín "
    "Nicolás Ramón Tomás",
}
LAST = {
    "SE": "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Lindström "
    "Lindqvist Lindgren Berg Borg Axelsson Bergström Lundberg Lundgren Lund Sandberg Åberg Öberg "
    "Ström Sjöberg Forsberg Holm Nyström Löfgren Hedlund Ekström Söderberg Wallin Engström Danielsson "
    "Håkansson Mattsson Fredriksson Henriksson Sundberg Björk Isaksson Berglund Mårtensson Sundström "
    "Falk Wikström Jakobsson Lind Eklund Nordström Samuelsson Fransson Holmberg Hermansson Månsson "
    "Nyberg Strand Holmgren Åström Dahlberg Hellström Blom Nordin Ek Viklund Göransson Lundqvist "
    "Sjögren Söderström Ali Bergman Abrahamsson",
    "US": "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson "
    "Walker Young Allen King Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Perez Roberts "
    "Turner Phillips Campbell Parker Evans Edwards Collins Stewart Sanchez Morris Rogers Reed Cook "
    "Morgan Bell Murphy Bailey Rivera Cooper Richardson Cox Howard Ward Torres Peterson Gray Ramirez "
    "James Watson Brooks Kelly Sanders Price Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry "
    "Powell Long Patterson Hughes Flores Washington Butler Simmons Foster Gonzales Bryant Alexander "
    "Russell Griffin Diaz Hayes Myers Ford Hamilton Graham Sullivan Wallace Woods Cole West Jordan "
    "Owens Reynolds Fisher Ellis Harrison Gibson McDonald Cruz Marshall Ortiz Gomez Murray Freeman "
    "Wells Webb Simpson Stevens Tucker Porter Hunter Hicks Crawford Henry Boyd Mason Morales Kennedy "
    "Warren Dixon Ramos Reyes Burns Gordon Shaw Holmes Rice Robertson Hunt Black Daniels Palmer Mills "
    "Nichols Grant Knight Ferguson Rose Stone Hawkins Dunn Perkins Hudson Spencer Gardner Stephens "
    "Payne Pierce Berry Matthews Arnold Wagner Willis Ray Watkins Olson Carroll Duncan Snyder Hart "
    "Cunningham Bradley Lane Andrews Ruiz Harper Fox Riley Armstrong Carpenter",
    "DE": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Schmitz Krause Meier Lehmann Köhler Jäger Groß Weiß Böhm Vogel Keller Frank "
    "Berger Schulze Maier Huber Kaiser Fuchs Peters Lang Scholz Möller Hahn Schubert Vogt Friedrich "
    "Günther Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin "
    "Schumacher Krämer Vogel Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf "
    "Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold "
    "Wolff Pfeiffer Ernst Walter Lindner Hübner Franz Eckert Kruse Herrmann Mayer Köster Jung Hesse "
    "Thiel Wittmann Heinz Brinkmann Kramer Paul Lorenz Dietz Wendt Ritter Stahl Bauer Baier Hauser "
    "Kluge Ebert Nagel Wirth Beyer Schenk Hartung",
    "ES": "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz "
    "Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez "
    "Ramos Gil Ramírez Serrano Blanco Molina Castro Ortiz Rubio Marín Sanz Iglesias Núñez Medina "
    "Garrido Suárez Ortega Delgado Castillo Morales Santos Guerrero Cano Prieto Méndez Cruz Calvo "
    "Gallego Vidal León Márquez Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco Díez Reyes "
    "Caballero Nieto Aguilar Pascual Santana Herrero Lorenzo Montero Hidalgo Giménez Ibáñez Ferrer "
    "Durán Santiago Benítez Mora Vicente Vargas Arias Carmona Crespo Román Pastor Soto Sáez Velasco "
    "Moya Soler Parra Esteban Bravo Gallardo Rojas Pardo Merino Franco Espinosa Izquierdo Lozano "
    "Castaño Quintero Sotelo Rivas Bermúdez",
}
# more surnames the way each country makes them (Lind+qvist, Hoff+mann), rarer than the listed ones
COMPOUNDS = {
    "SE": (
        "Lind Berg Sjö Ek Holm Al Björk Gran Ny Sand Strand Lund Hed Söder Norr Wall Fors Ahl Dahl Ros Ask "
        "Kull Mal Sten Öst Väst Hag Lil Stor",
        "berg ström qvist gren lund holm dahl man blad felt stedt sten kvist näs",
    ),
    "DE": (
        "Hoff Hart Zimmer Kauf Acker Brand Eich Fried Hein Kirch Linden Mühl Neu Ober Wald Wiesen Stein "
        "Rosen Sonnen Feld",
        "mann huber meier bach berg feld hof hauser bauer müller",
    ),
    "US": ("", ""),
    "ES": ("", ""),
}
COUNTRIES = ("SE", "US", "DE", "ES")
COUNTRY_WEIGHTS = (0.35, 0.25, 0.2, 0.2)
FREE_MAIL = {
    "SE": ("gmail.com", "hotmail.com", "telia.com", "outlook.com", "yahoo.se"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"),
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"),
}
TLD = {"SE": "se", "US": "com", "DE": "de", "ES": "es"}
LEGAL = {"SE": "AB", "US": "Inc", "DE": "GmbH", "ES": "S.A."}
WORD_A = words(
    "Nord Svea Alpha Blue Green Atlas Delta Vega Iber Rhein Polar Nova Sol Granit Fjord Luna Orion Baltic "
    "Castell Sierra Prairie Summit Harbor Elbe Alster Vinter Kiruna Costa Lago Pine"
)
WORD_B = words(
    "Tech Logistik Bygg Consulting Systems Foods Media Solutions Energy Design Data Transport Finans Retail "
    "Health Labs Works Partners Motors Marine"
)
PHONE_COUNTRIES = ("SE", "US", "DE", "ES", "GB")
KINDS = ("typo_company", "swapped_email", "phone_format", "email_variant", "accent_phone")
NEGATIVES = (
    "same_name_other_company",
    "colleagues",
    "household",
    "ambiguous_big_company",
    "ambiguous_big_rare",
)
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def zipf(n: int) -> list[float]:
    """Weights by rank: common names far more common than rare ones (still denser than real life, where
    the tail runs to thousands of surnames: more same-name pairs than a real base would have)."""
    return [1.0 / (rank + 1) ** 0.7 for rank in range(n)]


def fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def ascii_slug(text: str) -> str:
    """For email addresses: ASCII letters and digits only (Weiß -> weiss, Åsa -> asa)."""
    plain = fold(text).lower().replace("ß", "ss").replace("æ", "ae").replace("ø", "o")
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum())


@dataclass
class Person:
    pid: int
    country: str
    first: str
    last: str
    company: str = ""
    company_domain: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    landline: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.first = {c: list(dict.fromkeys(FIRST[c].split())) for c in COUNTRIES}
        self.last = {}
        for c in COUNTRIES:
            listed = list(dict.fromkeys(LAST[c].split()))
            heads, tails = (part.split() for part in COMPOUNDS[c])
            more = [h + t for h in heads for t in tails if h + t not in listed]
            self.last[c] = listed + more
        self.first_w = {c: zipf(len(self.first[c])) for c in COUNTRIES}
        self.last_w = {c: zipf(len(self.last[c])) for c in COUNTRIES}
        self.emails_used: set[str] = set()
        self.phones_used: set[str] = set()
        self.company_names: set[str] = set()
        self.templates = {
            (c, t): phonenumbers.format_number(
                phonenumbers.example_number_for_type(c, t), phonenumbers.PhoneNumberFormat.E164
            )
            for c in PHONE_COUNTRIES
            for t in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        }

    # names, companies, contacts
    def first_name(self, country: str) -> str:
        return self.rng.choices(self.first[country], self.first_w[country])[0]

    def last_name(self, country: str) -> str:
        last = self.rng.choices(self.last[country], self.last_w[country])[0]
        if country == "ES" and self.rng.random() < 0.3:
            last += " " + self.rng.choices(self.last[country], self.last_w[country])[0]
        return last

    def company(self, country: str) -> tuple[str, str]:
        while True:
            if self.rng.random() < 0.4:
                core = f"{self.rng.choice(self.last[country])} {self.rng.choice(WORD_B)}"
            else:
                core = f"{self.rng.choice(WORD_A)} {self.rng.choice(WORD_B)}"
            if core not in self.company_names:
                self.company_names.add(core)
                return f"{core} {LEGAL[country]}", f"{ascii_slug(core)}.{TLD[country]}"

    def email(self, first: str, last: str, domain: str) -> str:
        f, surname = ascii_slug(first), ascii_slug(last.split()[0])
        local = self.rng.choice((f"{f}.{surname}", f"{f}{surname}", f"{f[0]}.{surname}", f"{f}_{surname}"))
        candidate, n = f"{local}@{domain}", 1
        while dedupe.email_key(candidate) in self.emails_used:
            n += 1
            candidate = f"{local}{self.rng.randrange(10, 100) if n < 5 else n}@{domain}"
        self.emails_used.add(dedupe.email_key(candidate))
        return candidate

    def phone(self, country: str, mobile: bool = True) -> str:
        kind = phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
        template = self.templates[(country, kind)]
        keep = len(template) - 6
        while True:
            candidate = template[:keep] + "".join(self.rng.choice("0123456789") for _ in range(6))
            if candidate in self.phones_used:
                continue
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                self.phones_used.add(candidate)
                return candidate

    def contacts(self, p: Person) -> None:
        emails: list[str] = []
        if p.company and self.rng.random() < 0.6:
            emails.append(self.email(p.first, p.last, p.company_domain))
        if (not emails or self.rng.random() < 0.5) and self.rng.random() < 0.9:
            emails.append(self.email(p.first, p.last, self.rng.choice(FREE_MAIL[p.country])))
        phones: list[str] = []
        phone_country = p.country if self.rng.random() < 0.95 else "GB"
        if self.rng.random() < 0.8:
            phones.append(self.phone(phone_country, mobile=True))
        if self.rng.random() < 0.15:
            p.landline = self.phone(phone_country, mobile=False)
            phones.append(p.landline)
        p.emails, p.phones = tuple(emails), tuple(phones)


# ---------------------------------------------------------------------------------------------- variants


def written(rng: random.Random, e164: str, style: str | None = None) -> str:
    """`e164` as a person or an agent might type it."""
    number = phonenumbers.parse(e164)
    intl = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    style = style or rng.choice(("national", "spaces", "dashes", "00", "parentheses"))
    if style == "national":
        return national
    if style == "spaces":
        return intl.replace("-", " ")
    if style == "dashes":
        return intl.replace(" ", "-")
    if style == "00":
        return "00" + intl[1:]
    # parentheses: "(070) 123 45 67", "+46 (0)70 123 45 67" or the US "(201) 555-0123"
    if national.startswith("(") or rng.random() < 0.5:
        head, _, tail = national.partition(" ")
        return national if head.startswith("(") else f"({head}) {tail}"
    cc = str(number.country_code)
    rest = intl.split(" ", 1)[1]
    trunk = "(0)" if national.startswith("0") else ""
    return f"+{cc} {trunk}{rest}"


def stored(rng: random.Random, e164: str) -> str:
    """How the base holds a number: mostly with its country code, a few in national format."""
    roll = rng.random()
    if roll < 0.6:
        return e164
    if roll < 0.92:
        return written(rng, e164, "spaces")
    return written(rng, e164, "national")


def typo(rng: random.Random, word: str) -> str:
    """One typing error in `word` (never its first letter, which people rarely get wrong)."""
    for _ in range(20):
        i = rng.randrange(1, len(word)) if len(word) > 1 else 0
        op = rng.choice(("sub", "del", "dup", "swap"))
        if op == "sub":
            out = word[:i] + rng.choice(KEYBOARD) + word[i + 1 :]
        elif op == "del" and len(word) > 3:
            out = word[:i] + word[i + 1 :]
        elif op == "dup":
            out = word[:i] + word[i] + word[i:]
        elif op == "swap" and i + 1 < len(word):
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            continue
        if out != word:
            return out
    return word + "e"


def typo_name(rng: random.Random, p: Person) -> str:
    if rng.random() < 0.5:
        return f"{typo(rng, p.first)} {p.last}"
    return f"{p.first} {typo(rng, p.last)}"


def email_variant(rng: random.Random, address: str) -> str:
    local, _, domain = address.partition("@")
    options = ["case", "plus"]
    if domain == "gmail.com":
        options += ["dots", "googlemail"]
    how = rng.choice(options)
    if how == "case":
        return f"{local.title()}@{domain.capitalize()}" if rng.random() < 0.5 else address.upper()
    if how == "plus":
        return f"{local}+{rng.choice(('shop', 'news', 'support', '2024', 'x'))}@{domain}"
    if how == "dots":
        bare = local.replace(".", "")
        cut = rng.randrange(1, len(bare)) if len(bare) > 1 else 1
        return f"{bare[:cut]}.{bare[cut:]}@{domain}" if bare[cut:] else f"{bare}@{domain}"
    return f"{local}@googlemail.com"


def company_written(rng: random.Random, company: str) -> str:
    roll = rng.random()
    if roll < 0.2:
        return company.rsplit(" ", 1)[0]  # without the legal suffix
    if roll < 0.3:
        return company.upper()
    return company


def near_surname(
    rng: random.Random, last: str, country: str, generator: Generator
) -> tuple[str, bool] | None:
    """A surname in use one edit away from `last` (Berg/Borg) and True, else a rare one: a vowel of it
    changed (Lindqvist/Lindqvest) and False."""
    head = last.split()[0]
    real = [s for s in generator.last[country] if s != head and Levenshtein.distance(s, head) == 1]
    if real:
        return rng.choice(real), True
    if len(head) < 4:
        return None
    i = rng.randrange(1, len(head) - 1)
    vowels = "aeiou"
    if head[i] in vowels:
        return head[:i] + rng.choice([v for v in vowels if v != head[i]]) + head[i + 1 :], False
    return None


# ---------------------------------------------------------------------------------------------- base


@dataclass
class Base:
    records: list[Record]
    planted: dict[tuple[int, int], str]  # pair -> kind (duplicates)
    negatives: dict[tuple[int, int], str]  # pair -> kind (hard negatives)
    people: int


def generate(size: int, seed: int, dup_rate: float) -> Base:
    g = Generator(seed)
    rng = g.rng
    n_dups = round(size * dup_rate)
    n_neg_each = max(1, size // 100)
    n_people = size - n_dups - (len(NEGATIVES) - 1) * n_neg_each  # the two ambiguous kinds share one

    # companies: a few big ones, then small ones; 45% of the people have none
    big_shares = (0.08, 0.04, 0.02, 0.01, 0.005)
    big = []
    for share in big_shares:
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        name, domain = g.company(country)
        big.append((name, domain, country, max(2, round(n_people * share))))
    people: list[Person] = []
    switchboard: dict[str, str] = {}

    def new_person(country: str, company: tuple[str, str] = ("", "")) -> Person:
        p = Person(len(people), country, g.first_name(country), g.last_name(country), *company)
        g.contacts(p)
        people.append(p)
        return p

    for name, domain, country, count in big:
        for _ in range(count):
            # a big employer has staff from several countries, mostly its own
            who = country if rng.random() < 0.8 else rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            new_person(who, (name, domain))
    in_small = round(n_people * 0.55) - len(people)
    while in_small > 0:
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        company = g.company(country)
        staff = min(in_small, 1 + int(rng.expovariate(1 / 4)))
        for _ in range(staff):
            new_person(country, company)
        in_small -= staff
    while len(people) < n_people:
        new_person(rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0])

    # records of the base people; each later record points at the person it belongs to
    rows: list[tuple[int, str, str, tuple[str, ...], tuple[str, ...]]] = []  # pid, name, company, ...

    def person_row(p: Person) -> None:
        rows.append((p.pid, p.name, p.company, p.emails, tuple(stored(rng, x) for x in p.phones)))

    # anchors: each base person anchors at most one planted pair (duplicate or hard negative)
    order = list(range(n_people))
    rng.shuffle(order)
    used: set[int] = set()
    negatives: list[tuple[int, int, str]] = []  # (pid a, pid b, kind)

    cursors: dict[str, Iterator[int]] = {}

    def take(kind: str, ok: Callable[[Person], bool]) -> Person | None:
        """The next unused base person (in the shuffled order) fit for `kind`."""
        for pid in cursors.setdefault(kind, iter(order)):
            if pid not in used and ok(people[pid]):
                used.add(pid)
                return people[pid]
        return None

    big_names = {b[0] for b in big}
    dup_rows: list[tuple[int, str, str, tuple[str, ...], tuple[str, ...], str]] = []
    for k in range(n_dups):
        kind = KINDS[k % len(KINDS)]
        if kind == "typo_company":
            p = take("typo_company", lambda p: bool(p.company))
            if p is None:
                continue
            emails = (
                (g.email(p.first, p.last, rng.choice(FREE_MAIL[p.country])),) if rng.random() < 0.4 else ()
            )
            row = (typo_name(rng, p), company_written(rng, p.company), emails, ())
        elif kind == "swapped_email":
            p = take("swapped_email", lambda p: bool(p.emails))
            if p is None:
                continue
            email = email_variant(rng, rng.choice(p.emails))
            sep = ", " if rng.random() < 0.3 else " "
            company = p.company if rng.random() < 0.5 else ""
            row = (f"{p.last}{sep}{p.first}", company, (email,), ())
        elif kind == "phone_format":
            p = take("phone_format", lambda p: bool(p.phones))
            if p is None:
                continue
            roll = rng.random()
            name = p.name if roll < 0.5 else typo_name(rng, p) if roll < 0.9 else ""
            emails = (
                (g.email(p.first, p.last, rng.choice(FREE_MAIL[p.country])),) if rng.random() < 0.3 else ()
            )
            row = (name, "", emails, (written(rng, rng.choice(p.phones)),))
        elif kind == "email_variant":
            p = take("email_variant", lambda p: bool(p.emails))
            if p is None:
                continue
            name = p.name if rng.random() < 0.7 else ""
            row = (name, "", (email_variant(rng, rng.choice(p.emails)),), ())
        else:  # accent_phone
            p = take("accent_phone", lambda p: bool(p.phones) and fold(p.name) != p.name)
            if p is None:
                continue
            number = rng.choice(p.phones)
            phone = number if rng.random() < 0.5 else written(rng, number)
            row = (fold(p.name), "", (), (phone,))
        dup_rows.append((p.pid, *row, kind))

    for _ in range(n_neg_each):
        # the same common name at another company (or none), nothing else shared
        p = take("same_name_other_company", lambda p: bool(p.company))
        if p is not None:
            q = Person(len(people), p.country, p.first, p.last)
            if rng.random() < 0.6:
                q.company, q.company_domain = g.company(p.country)
            g.contacts(q)
            people.append(q)
            negatives.append((p.pid, q.pid, "same_name_other_company"))
        # colleagues with other names; half share the company's switchboard number
        p = take("colleagues", lambda p: bool(p.company))
        if p is not None:
            while True:
                q = Person(len(people), p.country, g.first_name(p.country), g.last_name(p.country))
                if q.first != p.first and q.last.split()[0] != p.last.split()[0]:
                    break
            q.company, q.company_domain = p.company, p.company_domain
            g.contacts(q)
            if rng.random() < 0.5:
                main = switchboard.setdefault(p.company, g.phone(p.country, mobile=False))
                p.phones += (main,)
                q.phones += (main,)
            people.append(q)
            negatives.append((p.pid, q.pid, "colleagues"))
        # a household: one surname, different first names, one landline
        p = take("household", lambda p: True)
        if p is not None:
            while True:
                first = g.first_name(p.country)
                if first[0] != p.first[0] and first[:3] != p.first[:3]:
                    break
            q = Person(len(people), p.country, first, p.last)
            g.contacts(q)
            if not p.landline:
                p.landline = g.phone(p.country, mobile=False)
                p.phones += (p.landline,)
            q.landline = p.landline
            q.phones = (*(x for x in q.phones if x != q.landline), p.landline)
            people.append(q)
            negatives.append((p.pid, q.pid, "household"))
        # Anna Berg and Anna Borg at one big company
        for _ in range(10):
            p = take("ambiguous_big_company", lambda p: p.company in big_names)
            if p is None:
                break
            near = near_surname(rng, p.last, p.country, g)
            if near is None:
                continue
            q = Person(len(people), p.country, p.first, near[0], p.company, p.company_domain)
            g.contacts(q)
            people.append(q)
            negatives.append((p.pid, q.pid, "ambiguous_big_company" if near[1] else "ambiguous_big_rare"))
            break

    for p in people:
        person_row(p)
    for pid, name, company, emails, phones, _kind in dup_rows:
        rows.append((pid, name, company, emails, phones))

    # shuffle, then number the records
    index = list(range(len(rows)))
    rng.shuffle(index)
    rid_of_row = {row: rid for rid, row in enumerate(index, start=1)}
    records = [
        Record(rid, rows[row][1], rows[row][2], rows[row][3], rows[row][4])
        for rid, row in enumerate(index, start=1)
    ]
    rid_of_pid = {rows[i][0]: rid_of_row[i] for i in range(len(people))}
    pair_kind: dict[tuple[int, int], str] = {}
    for offset, (pid, *_rest, kind) in enumerate(dup_rows):
        a, b = rid_of_pid[pid], rid_of_row[len(people) + offset]
        pair_kind[(min(a, b), max(a, b))] = kind
    neg_kind: dict[tuple[int, int], str] = {}
    for pa, pb, kind in negatives:
        a, b = rid_of_pid[pa], rid_of_pid[pb]
        neg_kind[(min(a, b), max(a, b))] = kind
    return Base(records, pair_kind, neg_kind, len(people))


# ---------------------------------------------------------------------------------------------- run


def judged_pairs(records: list[Record]) -> int | None:
    """How many pairs `find_duplicates` judges (counted by wrapping its pair judge; an internal)."""
    judge = getattr(dedupe, "_judge", None)
    if judge is None:
        return None
    calls = 0

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return judge(*args, **kwargs)

    dedupe._judge = counting  # type: ignore[attr-defined]
    try:
        find_duplicates(records, region=None)
    finally:
        dedupe._judge = judge  # type: ignore[attr-defined]
    return calls


def ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=20_000, help="records in the base, duplicates included")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of find_duplicates")
    parser.add_argument("--dup-rate", type=float, default=0.08, help="planted duplicates per record")
    args = parser.parse_args()

    t0 = time.perf_counter()
    base = generate(args.size, args.seed, args.dup_rate)
    built = time.perf_counter() - t0
    records = base.records
    times, cpu = [], []
    found = []
    for _ in range(max(1, args.repeat)):
        t, c = time.perf_counter(), time.process_time()
        found = find_duplicates(records, region=None)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    judged = judged_pairs(records)

    listed = {(m.a, m.b): m for m in found}
    truth = base.planted
    tp = sum(1 for pair in listed if pair in truth)
    ambiguous = {pair for pair, kind in base.negatives.items() if kind.startswith("ambiguous")}
    precision = ratio(tp, len(listed))
    recall = ratio(tp, len(truth))
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    listed_clear = [pair for pair in listed if pair not in ambiguous]
    print(
        f"base: {len(records)} records, {base.people} people, {len(truth)} planted duplicate pairs, "
        f"{len(base.negatives)} hard-negative pairs (seed {args.seed}, built in {built:.1f} s)"
    )
    print(
        f"find_duplicates(region=None): median {statistics.median(times):.2f} s wall, "
        f"{statistics.median(cpu):.2f} s CPU of {len(times)} runs (wall min {min(times):.2f}, "
        f"max {max(times):.2f}); pairs judged {'n/a' if judged is None else judged}; "
        f"pairs listed {len(listed)}"
    )
    print(
        f"overall: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}   "
        f"(precision without the ambiguous pairs: {ratio(tp, len(listed_clear)):.3f})"
    )
    print(f"{'planted duplicate kind':26s} {'pairs':>6s} {'found':>6s} {'recall':>7s} {'mean score':>10s}")
    for kind in KINDS:
        pairs = [pair for pair, k in truth.items() if k == kind]
        hits = [listed[pair] for pair in pairs if pair in listed]
        mean = statistics.fmean(m.score for m in hits) if hits else float("nan")
        print(f"{kind:26s} {len(pairs):6d} {len(hits):6d} {ratio(len(hits), len(pairs)):7.3f} {mean:10.3f}")
    print(f"{'hard negative kind':26s} {'pairs':>6s} {'listed':>6s} {'rate':>7s} {'mean score':>10s}")
    for kind in NEGATIVES:
        pairs = [pair for pair, k in base.negatives.items() if k == kind]
        hits = [listed[pair] for pair in pairs if pair in listed]
        mean = statistics.fmean(m.score for m in hits) if hits else float("nan")
        print(f"{kind:26s} {len(pairs):6d} {len(hits):6d} {ratio(len(hits), len(pairs)):7.3f} {mean:10.3f}")
    background = [m for pair, m in listed.items() if pair not in truth and pair not in base.negatives]
    by_reason = Counter("+".join(sorted({r.kind for r in m.reasons})) for m in background)
    print(
        f"background (unplanted pairs listed): {len(background)}"
        + (" by reasons: " + ", ".join(f"{k} {n}" for k, n in by_reason.most_common()) if background else "")
    )


if __name__ == "__main__":
    main()
