"""Finding customers who are likely one person (pure: records in, scored pairs with their reasons out).

Evidence, each a reason an agent can read:
- `email`: the same address up to case and plus-addressing (ana+shop@x.se is ana@x.se); at Gmail also up to
  dots, which Gmail ignores, and googlemail.com;
- `phone`: the same number written another way (+46 70-123 45 67, 0046701234567, (070) 123 45 67 in Sweden);
  a number written without its country code and no region to read it in still meets the same number
  written with one (070-123 45 67 and +46 70 123 45 67), as weaker evidence;
- `name`: the same name written another way (case, accents, punctuation, first and last swapped, a middle
  name or second surname left out) or one typing error apart (rapidfuzz), together with the same company or
  a shared address. A similar name alone is not evidence (there are many Ana Lindqvists). Nor is the same
  company when it is big (over `BIG_COMPANY` people: two Anna Anderssons, or an Anna Berg and an Anna
  Borg, there are usually two people), unless the name looks misspelt (one spelling is rare next to the
  other, as a typing error's is) and neither spelling has a namesake there (else which one is it?).

A shared phone is not evidence when both records have names and they are clearly different (Anna Berg and
Erik Berg): households share a landline, colleagues a switchboard number. A shared email always is.

Pairs are found by blocking (records that share a key: an email, a phone, a company with a name written
nearly alike), so the whole base is compared in near-linear time rather than all pairs, big companies
included.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import phonenumbers
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from channels.phone import to_e164

# rapidfuzz ratio (0-100) from which the words in which two names differ are alike (Stephen/Steven 77,
# Katherine/Catherine 89; Peter/Dieter 73, Lena/Eva 57 are two people)
WORDS_SIMILAR = 75.0
GMAIL = {"gmail.com", "googlemail.com"}
# a company with more people than this is "big": the same or a nearly alike name there is no evidence alone
BIG_COMPANY = 100
RARE = 50  # at a big company a typing error counts when its spelling is this many times rarer than the other
# an email or phone shared by more records than this (a switchboard, a shared mailbox) is paired only
# between records whose names share a word or that have no name
BIG_BLOCK = 200
WEIGHTS = {
    "email": 0.95,
    "phone": 0.9,
    "phone_national": 0.8,
    "name": 0.7,
    "name_big": 0.5,
    "name_contact": 0.5,
}
# legal forms, left out of company names (Nordlogistik AB is Nordlogistik)
LEGAL = frozenset(
    {"inc", "ltd", "llc", "ab", "gmbh", "ag", "kg", "sa", "sl", "oy", "as", "bv", "co", "corp", "plc", "the"}
)


@dataclass(frozen=True)
class Record:
    id: int
    name: str = ""
    company: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    kind: str  # email, phone, name
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Match:
    a: int  # the smaller id
    b: int
    score: float  # 0..1
    reasons: tuple[Reason, ...] = field(default=())


def email_key(address: str) -> str:
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _e164(number: str, region: str | None) -> str | None:
    e164 = to_e164(number, region)
    if e164 is None:
        # "00" is the international call prefix in most of the world: 0046 70 ... is +46 70 ...
        text = number.strip()
        if text.startswith("00") and len(text) <= 40:
            e164 = to_e164("+" + text[2:], None)
    return e164


def _national_number(e164: str) -> str:
    """The digits after the country code (E.164 country codes are prefix-free)."""
    digits = e164[1:]
    for n in (1, 2, 3):
        if int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[n:]
    return digits


def phone_key(number: str, region: str | None = None) -> str:
    """E.164 when the number parses (a leading 00 read as +); otherwise its digits (so two spellings of one
    unparsable number meet)."""
    e164 = _e164(number, region)
    if e164 is not None:
        return e164
    return "".join(ch for ch in number if ch.isdigit())


@lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """Lower case, accents dropped, punctuation as spaces, words in their order."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return " ".join(plain.split())


@lru_cache(maxsize=1 << 16)
def company_key(company: str) -> str:
    words = name_key(company.replace(".", "")).split()  # S.A. is SA
    return " ".join(w for w in words if w not in LEGAL)


@dataclass
class _Keys:
    record: Record
    emails: dict[str, str]  # key -> as written
    phones: dict[str, str]  # E.164 -> as written
    # the digits (no leading zeros) of a number without country code (and no region to read it) -> as written
    national: dict[str, str]
    nsn: dict[str, str]  # national significant number (no leading zeros) of a parsed number -> E.164
    name: str
    tokens: tuple[str, ...]
    company: str


def _keys(r: Record, region: str | None) -> _Keys:
    emails = {email_key(e): e.strip() for e in r.emails if e.strip()}
    phones: dict[str, str] = {}
    national: dict[str, str] = {}
    nsn: dict[str, str] = {}
    for p in r.phones:
        e164 = _e164(p, region)
        if e164 is not None:
            phones[e164] = p.strip()
            nsn[_national_number(e164).lstrip("0")] = e164
        else:
            digits = "".join(ch for ch in p if ch.isdigit()).lstrip("0")
            if len(digits) >= 7:
                national[digits] = p.strip()
    name = name_key(r.name)
    return _Keys(r, emails, phones, national, nsn, name, tuple(name.split()), company_key(r.company))


def name_similarity(a: str, b: str) -> float:
    """0-100: token_sort_ratio (swapped names score 100), on the normalised names."""
    if not a or not b:
        return 0.0
    return float(fuzz.token_sort_ratio(a, b))


def _name_relation(a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
    """How two normalised names (as words) are alike: "same" (up to order and spaces), "typo" (one word one
    typing error away: an insertion, deletion, substitution or swap of neighbours), "part" (one name, of
    two words at least, is words of the other: a middle name or second surname left out), else None."""
    if not a or not b:
        return None
    if sorted(a) == sorted(b) or "".join(a) == "".join(b):
        return "same"
    if len(a) == len(b):
        left, right = Counter(a) - Counter(b), Counter(b) - Counter(a)
        if sum(left.values()) == 1 and sum(right.values()) == 1:
            (x,), (y,) = left, right
            if OSA.distance(x, y, score_cutoff=1) <= 1:
                return "typo"
        return None
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(short) >= 2 and not Counter(short) - Counter(long):
        return "part"
    return None


def _alike(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two normalised names (as words) may be one person's, next to a shared address: one is part
    of the other (Anna / Anna Berg), or the words they differ in are alike (Steven / Stephen Berg) or
    initials of each other (A. Berg / Anna Berg). Not so: Anna Berg and Erik Berg."""
    if not a or not b:
        return False
    left, right = Counter(a) - Counter(b), Counter(b) - Counter(a)
    if not left or not right or "".join(a) == "".join(b):
        return True
    x, y = sorted(left.elements()), sorted(right.elements())
    if all(len(w) == 1 for w in x) and sorted(w[0] for w in y) == x:
        return True
    if all(len(w) == 1 for w in y) and sorted(w[0] for w in x) == y:
        return True
    return fuzz.ratio(" ".join(x), " ".join(y)) >= WORDS_SIMILAR


@dataclass
class _Context:
    """What the judge knows of the base around a pair: people per company, records per name word."""

    company_size: Counter[str]
    word_count: Counter[str]
    namesakes: Counter[tuple[str, str]]  # (company, name with its words sorted): people


def _sorted_name(k: _Keys) -> str:
    return " ".join(sorted(k.tokens))


def _shown(k: _Keys) -> str:
    return k.record.name.strip() or "(no name)"


def _judge(x: _Keys, y: _Keys, ctx: _Context) -> Match | None:
    reasons: list[Reason] = []
    weights: list[float] = []
    for e in sorted(x.emails.keys() & y.emails.keys()):
        reasons.append(
            Reason("email", f"the same email address written another way: {x.emails[e]} and {y.emails[e]}")
        )
    if reasons:
        weights.append(WEIGHTS["email"])
    phone_reasons: list[Reason] = []
    phone_weight = 0.0
    for p in sorted(x.phones.keys() & y.phones.keys()):
        phone_reasons.append(
            Reason(
                "phone", f"the same phone number written another way: {x.phones[p]} and {y.phones[p]} ({p})"
            )
        )
        phone_weight = WEIGHTS["phone"]
    national = [(x, y, d) for d in x.national.keys() & (y.nsn.keys() | y.national.keys())]
    national += [(y, x, d) for d in y.national.keys() & x.nsn.keys()]
    for one, other, digits in sorted(national, key=lambda t: t[2]):
        them = other.phones[other.nsn[digits]] if digits in other.nsn else other.national[digits]
        phone_reasons.append(
            Reason(
                "phone",
                f"the same phone number, once without its country code: {one.national[digits]} and {them}",
            )
        )
        phone_weight = max(phone_weight, WEIGHTS["phone_national"])
    relation = _name_relation(x.tokens, y.tokens)
    similarity = name_similarity(x.name, y.name)
    alike = relation is not None or _alike(x.tokens, y.tokens)
    if phone_reasons:
        # a landline shared by a household, a switchboard number shared by colleagues: not one person
        if not reasons and x.name and y.name and not alike:
            phone_reasons = []
        else:
            reasons.extend(phone_reasons)
            weights.append(phone_weight)
    shared_company = bool(x.company) and x.company == y.company and len(x.tokens) >= 2 and len(y.tokens) >= 2
    company_says = False
    if shared_company and relation is not None:
        big = ctx.company_size[x.company] > BIG_COMPANY
        # at a big company only a misspelling counts: one spelling rare next to the other (a typing error
        # seldom makes an existing name; Berg and Borg are both common, Annna is rare next to Anna)
        misspelt = False
        if relation == "typo":
            counts = sorted(ctx.word_count[w] for w in set(x.tokens).symmetric_difference(y.tokens))
            misspelt = counts[0] <= max(1, counts[-1] // RARE)
            # and only when it can be one person there: not when several bear either spelling
            misspelt = misspelt and all(ctx.namesakes[x.company, _sorted_name(k)] == 1 for k in (x, y))
        company_says = not big or misspelt
    if company_says or (alike and reasons):
        how = {
            "same": "the same name written another way",
            "typo": "names one typing error apart",
            "part": "one name is part of the other",
            None: f"similar names ({similarity:.0f}%)",
        }[relation]
        where = (
            f"at the same company ({x.record.company.strip()})" if company_says else "with the address above"
        )
        reasons.append(Reason("name", f"{how}: {_shown(x)} and {_shown(y)}, {where}"))
        if company_says:
            weights.append(WEIGHTS["name_big" if ctx.company_size[x.company] > BIG_COMPANY else "name"])
        else:
            weights.append(WEIGHTS["name_contact"])
    if not reasons:
        return None
    left = 1.0
    for w in weights:
        left *= 1.0 - w
    a, b = sorted((x.record.id, y.record.id))
    return Match(a=a, b=b, score=round(1.0 - left, 3), reasons=tuple(reasons))


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=1 << 16)
def _name_keys(words: tuple[str, ...], big: bool) -> frozenset[str]:
    """Keys that two names of one company share when `_name_relation` finds them alike: the name without
    spaces, and each of its words (two such names have one in common at least); at a big company, where
    a word is shared by hundreds, each pair of its words (a part of a longer name shares one) and one word
    exact with another up to one deletion (two words one typing error apart share a deletion). Names
    recur: cached."""
    out = {"j:" + "".join(sorted(words)), "j:" + "".join(words)}
    if not big:
        out.update("w:" + w for w in words)
        return frozenset(out)
    out.update(f"w:{u}|{v}" for u, v in combinations(sorted(set(words)), 2))
    for i, exact in enumerate(words):
        for j, other in enumerate(words):
            if i != j:
                out.update(f"t:{exact}|{d}" for d in _deletions(other))
    return frozenset(out)


def _blocks(keys: Sequence[_Keys], ctx: _Context) -> dict[tuple[str, str], list[int]]:
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    national = {d for k in keys for d in k.national}
    for i, k in enumerate(keys):
        for e in k.emails:
            blocks["e", e].append(i)
        for p in k.phones:
            blocks["p", p].append(i)
        for d in k.national:
            blocks["n", d].append(i)
        for d in k.nsn:
            if d in national:
                blocks["n", d].append(i)
        if k.company and len(k.tokens) >= 2:
            company = "c:" + k.company
            for key in _name_keys(k.tokens, ctx.company_size[k.company] > BIG_COMPANY):
                blocks[company, key].append(i)
    return blocks


def _pairs(keys: Sequence[_Keys], block: list[int]) -> Iterable[tuple[int, int]]:
    """The pairs of a block worth judging: all of a small one; in a big one (a switchboard number), those
    whose names share a word, and those with a record without a name."""
    if len(block) <= BIG_BLOCK:
        return combinations(block, 2)
    by_word: dict[str, set[int]] = defaultdict(set)
    nameless = [i for i in block if not keys[i].tokens]
    for i in block:
        for word in keys[i].tokens:
            by_word[word].add(i)
    out: set[tuple[int, int]] = set()
    for group in by_word.values():
        out.update(combinations(sorted(group), 2))
    out.update((min(i, j), max(i, j)) for i in nameless for j in block if i != j)
    return out


def _context(keys: Iterable[_Keys]) -> _Context:
    company: Counter[str] = Counter()
    words: Counter[str] = Counter()
    namesakes: Counter[tuple[str, str]] = Counter()
    for k in keys:
        if k.company:
            company[k.company] += 1
            namesakes[k.company, _sorted_name(k)] += 1
        words.update(set(k.tokens))
    return _Context(company, words, namesakes)


def find_duplicates(records: Iterable[Record], region: str | None = None) -> list[Match]:
    """Every likely duplicate pair in `records`, best first."""
    keys = [_keys(r, region) for r in records]
    ctx = _context(keys)
    seen: set[tuple[int, int]] = set()
    found: list[Match] = []
    for block in _blocks(keys, ctx).values():
        if len(block) < 2:
            continue
        for i, j in _pairs(keys, block):
            if i == j:
                continue
            pair = (i, j) if i < j else (j, i)
            if pair in seen:
                continue
            seen.add(pair)
            m = _judge(keys[i], keys[j], ctx)
            if m is not None:
                found.append(m)
    found.sort(key=lambda m: (-m.score, m.a, m.b))
    return found


def duplicates_of(record: Record, others: Iterable[Record], region: str | None = None) -> list[Match]:
    """The likely duplicates of one customer among `others` (candidates fetched by its keys: the more of its
    company and namesakes they include, the better the big-company rule can judge), best first."""
    mine = _keys(record, region)
    theirs = [_keys(o, region) for o in others if o.id != record.id]
    ctx = _context([mine, *theirs])
    found = [m for o in theirs if (m := _judge(mine, o, ctx)) is not None]
    found.sort(key=lambda m: (-m.score, m.a, m.b))
    return found
