"""Detect an explicit request to be handed to a person ("agent", "I want to talk to a human").

Rules, applied to lowercased NFKC text with apostrophes dropped and other punctuation made spaces:

* a short message that is only person words and politeness ("agent", "human please", "operator!",
  "real person", "customer service rep");
* a talk verb (talk, speak, chat, reach, contact, complain, "help from") followed, across at most
  four filler words (to, with, a, the, ...), by a person word, weak ones included (someone, person,
  anybody, support);
* a routing verb with "me"/"us" ("connect me with someone", "transfer me to a person") followed the
  same way by any person word;
* a routing or request verb (transfer, connect, want, need, get, give, "would like", "can I have", ...)
  followed the same way by a strong person word (agent, human, representative, operator, manager,
  real person, customer service, ...), so "transfer to someone" (money) does not fire;
* "is there a human", "is anyone there", "have someone call me" and the like.

The person word must end the message or be followed by a word that plausibly ends the request
(please, now, to, about, because, ...), so "we need human verification" or "is this a human-readable
format?" do not fire; only fillers may stand between verb and person word, so "I need my travel
agent's number" does not fire. A request just after a negation ("I don't want to talk to an agent")
or inside a question whether one must ("do I need to speak to a representative to change my PIN?",
"should I contact customer support") is ignored.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 20_000  # longer messages are cut: bounds the time of one check

_STRONG = (
    r"(?:agents?|humans?|human\s+(?:beings?|help|assistance|support)|representatives?|reps?|operators?"
    r"|advisors?|advisers?|managers?|supervisors?"
    r"|(?:real|live|actual|human)\s+(?:persons?|people|humans?(?:\s+beings?)?|someone|somebody|agents?|beings?)"
    r"|(?:customer|client)\s+(?:service|services|support|care)(?:\s+(?:agents?|reps?|representatives?"
    r"|team|people|persons?|staff|desk|department))?"
    r"|support\s+(?:agents?|team|staff|people|persons?)|member\s+of\s+(?:staff|the\s+team|your\s+team))"
)
_SOMEONE = r"(?:someone|somebody|anyone|anybody)"
_WEAK = rf"(?:persons?|people|{_SOMEONE}|staff|employees?|team\s+members?|support)"
_FILL = r"(?:to|with|me|us|through|on|a|an|the|some|one|of|your|ur|any|other|please|pls|now|directly)"
_GAP = rf"(?:\s+{_FILL}){{0,4}}\s+"
_TALK = r"(?:talk|talking|speak|speaking|chat|chatting|reach|contact|complain|(?:help|assistance)\s+from)"
_ROUTE = r"(?:connect|transfer|put|patch|pass|escalate|redirect|forward|call)"
_WANT = (
    r"(?:want|wanna|need|get|give|request|requesting|prefer|(?:would|id|i\s+d)\s+like"
    r"|(?:can|could|may)\s+i\s+have)"
)
_AFTER = (
    r"(?:please|pls|plz|now|asap|to|who|that|about|for|because|cause|and|or|so|instead|right|immediately"
    r"|i|im|on|in|here|rather|not|if|as|via|today|thanks|thank|urgently|already|since|regarding|by|with"
    r"|this|at|than|then|thx|ty|again|straight|quick|quickly|soon|real|the|my)"
)
_END = rf"(?=\s*$|\s+{_AFTER}\b)"

_REQUEST = re.compile(
    rf"\b(?:{_TALK}{_GAP}(?:{_STRONG}|{_WEAK})|{_ROUTE}\s+(?:me|us){_GAP}(?:{_STRONG}|{_WEAK})"
    rf"|(?:{_ROUTE}|{_WANT}){_GAP}{_STRONG}|(?:is|are)\s+there{_GAP}(?:{_STRONG}|{_SOMEONE})"
    rf"|{_SOMEONE}\s+there|(?:{_SOMEONE}|an?\s+{_STRONG})\s+(?:to\s+)?(?:call|ring|phone)\s+(?:me|us)){_END}"
)
_POLITE = (
    r"(?:please|pls|plz|now|asap|hi|hello|hey|ok|okay|yes|yeah|just|thanks|thank\s+you|again|a|an|the"
    r"|i\s+want|i\s+need|want|need|give\s+me|get\s+me|can\s+i\s+have|some|one|any)"
)
_ALONE = rf"(?:{_STRONG}|persons?|live\s+chat)"
_ALONE_RE = re.compile(rf"\b{_ALONE}\b")
# One pass of re.sub, no backtracking across words: a single ^(polite|person)*$ pattern is exponential.
_ALONE_OR_POLITE_RE = re.compile(rf"\b(?:{_ALONE}|{_POLITE})\b")
_ALONE_MAX_CHARS = 100
_NEGATIONS = frozenset({"not", "dont", "doesnt", "didnt", "never", "without", "wont", "nobody"})
# words that may stand between a negation and the request it negates ("dont want to", "do not need")
_CHAIN = frozenset(
    {"i", "we", "want", "wanna", "need", "to", "would", "like", "be", "going", "gonna", "really"}
)
# "I need a person" with the weak word: only where the request plainly ends ("a person to person transfer"
# is money, not a request)
_WANT_PERSON = re.compile(
    rf"\b{_WANT}{_GAP}(?:real\s+)?persons?(?=\s*$|\s+(?:please|pls|plz|now|asap|who|that|about|because"
    rf"|instead|right|immediately|here|thanks|thank|urgently|today)\b)"
)
# a person word closing the message with a please/now: "my card never came, agent please"
_TRAILING = re.compile(
    rf"\b(?:{_STRONG}|(?:an?\s+)?(?:real\s+)?persons?)(?:\s+(?:please|pls|plz|now|asap))+\s*$"
)
_QUESTIONS = re.compile(r"\b(?:should|do\s+i\s+(?:need|have)\s+to|must\s+i)\b|\bdid$")
_NON_WORD = re.compile(r"[\W_]+")
_INVISIBLE = re.compile(r"['\u2019\u2018`\u00b4\u02bc\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def clean(text: str) -> str:
    """Lowercase NFKC text without apostrophes and invisible format characters, other non-word runs
    turned into one space."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()[:MAX_CHARS]
    return _NON_WORD.sub(" ", _INVISIBLE.sub("", text)).strip()


def wants_human(text: str) -> bool:
    """True when the message explicitly asks for a person rather than the bot."""
    cleaned = clean(text)
    if not cleaned:
        return False
    if _only_asks_for_a_person(cleaned) or _TRAILING.search(cleaned[-200:]):
        return True
    matches = [*_REQUEST.finditer(cleaned), *_WANT_PERSON.finditer(cleaned)]
    return any(not _hedged(cleaned[: match.start()]) for match in matches)


def _only_asks_for_a_person(cleaned: str) -> bool:
    """The message is a person word and politeness, nothing else ("agent", "human please")."""
    if len(cleaned) > _ALONE_MAX_CHARS or not _ALONE_RE.search(cleaned):
        return False
    return not _ALONE_OR_POLITE_RE.sub(" ", cleaned).strip()


def _hedged(before: str) -> bool:
    """A negation of the request ("I don't want to talk to an agent") or a "do I need to" question just
    before it: not a request after all. A negation about something else ("it never arrived, I need a
    person") does not count: only request-chain words may stand between the negation and the request."""
    words = before[-60:].split()[-4:]
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _NEGATIONS:
            if all(w in _CHAIN for w in words[i + 1 :]):
                return True
            break
    return bool(_QUESTIONS.search(" ".join(words)))
