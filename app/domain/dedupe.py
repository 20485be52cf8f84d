"""Finding customers who are likely one person (pure: records in, scored pairs with their reasons out).

Evidence, each a reason an agent can read:
- `email`: the same address up to case and plus-addressing (ana+shop@x.se is ana@x.se); at Gmail also up to
  dots, which Gmail ignores;
- `phone`: the same number written another way (+46 70-123 45 67, 0046701234567, (070) 123 45 67 in Sweden);
- `name`: similar names (typos, swapped first and last names, accents: rapidfuzz) that also share a company
  or a phone; a similar name alone is not evidence (there are many Ana Lindqvists).

Pairs are found by blocking (records that share a key: an email, a phone, a company, a name token), so the
whole base is compared in near-linear time rather than all pairs.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz import fuzz

from channels.phone import to_e164

NAME_SIMILAR = 88.0  # rapidfuzz token_sort_ratio (0-100) from which two names are "similar"
GMAIL = {"gmail.com", "googlemail.com"}
# a block larger than this (a company of thousands, a very common name token) is compared within its
# similar-name neighbourhood only, not pair by pair
BIG_BLOCK = 400
WEIGHTS = {"email": 0.95, "phone": 0.9, "name": 0.7}


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


def phone_key(number: str, region: str | None = None) -> str:
    """E.164 when the number parses; otherwise its digits (so two spellings of one unparsable number meet)."""
    e164 = to_e164(number, region)
    if e164 is not None:
        return e164
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits


def name_key(name: str) -> str:
    """Lower case, accents dropped, punctuation as spaces, words in their order."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return " ".join(plain.split())


def company_key(company: str) -> str:
    words = name_key(company).split()
    legal = {"inc", "ltd", "llc", "ab", "gmbh", "sa", "oy", "as", "bv", "co", "corp", "plc", "the"}
    return " ".join(w for w in words if w not in legal)


@dataclass
class _Keys:
    record: Record
    emails: set[str]
    phones: set[str]
    name: str
    company: str


def _keys(r: Record, region: str | None) -> _Keys:
    return _Keys(
        record=r,
        emails={email_key(e) for e in r.emails if e.strip()},
        phones={k for k in (phone_key(p, region) for p in r.phones) if len(k) >= 6},
        name=name_key(r.name),
        company=company_key(r.company),
    )


def name_similarity(a: str, b: str) -> float:
    """0-100: token_sort_ratio (swapped names score 100), on the normalised names."""
    if not a or not b:
        return 0.0
    return float(fuzz.token_sort_ratio(a, b))


def _judge(x: _Keys, y: _Keys) -> Match | None:
    reasons: list[Reason] = []
    for e in sorted(x.emails & y.emails):
        reasons.append(Reason("email", f"the same email address written another way ({e})"))
    for p in sorted(x.phones & y.phones):
        reasons.append(Reason("phone", f"the same phone number written another way ({p})"))
    similar = name_similarity(x.name, y.name)
    shared_company = bool(x.company) and x.company == y.company
    if similar >= NAME_SIMILAR and (shared_company or reasons):
        why = "the same company" if shared_company else "an address"
        reasons.append(Reason("name", f"similar names ({similar:.0f}%) and {why}"))
    if not reasons:
        return None
    left = 1.0
    for kind in {r.kind for r in reasons}:
        left *= 1.0 - WEIGHTS[kind]
    a, b = sorted((x.record.id, y.record.id))
    return Match(a=a, b=b, score=round(1.0 - left, 3), reasons=tuple(reasons))


def _blocks(keys: Sequence[_Keys]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        for e in k.emails:
            blocks["e:" + e].append(i)
        for p in k.phones:
            blocks["p:" + p].append(i)
        if k.company and k.name:
            blocks["c:" + k.company].append(i)
    return blocks


def find_duplicates(records: Iterable[Record], region: str | None = None) -> list[Match]:
    """Every likely duplicate pair in `records`, best first."""
    keys = [_keys(r, region) for r in records]
    seen: set[tuple[int, int]] = set()
    found: list[Match] = []
    for block in _blocks(keys).values():
        if len(block) < 2:
            continue
        for i, j in _pairs(keys, block):
            pair = (i, j) if i < j else (j, i)
            if pair in seen:
                continue
            seen.add(pair)
            m = _judge(keys[i], keys[j])
            if m is not None:
                found.append(m)
    found.sort(key=lambda m: (-m.score, m.a, m.b))
    return found


def _pairs(keys: Sequence[_Keys], block: list[int]) -> Iterable[tuple[int, int]]:
    """The pairs of a block worth judging: all of a small one; in a big one (a large company), the pairs
    whose names sort next to each other by their first letters."""
    if len(block) <= BIG_BLOCK:
        return combinations(block, 2)
    by_name: dict[str, list[int]] = defaultdict(list)
    for i in block:
        for token in keys[i].name.split():
            by_name[token[:3]].append(i)
    out: set[tuple[int, int]] = set()
    for group in by_name.values():
        if len(group) <= BIG_BLOCK:
            out.update(combinations(group, 2))
    return out


def duplicates_of(record: Record, others: Iterable[Record], region: str | None = None) -> list[Match]:
    """The likely duplicates of one customer among `others` (candidates fetched by its keys), best first."""
    mine = _keys(record, region)
    found = [m for o in others if o.id != record.id and (m := _judge(mine, _keys(o, region))) is not None]
    found.sort(key=lambda m: (-m.score, m.a, m.b))
    return found
