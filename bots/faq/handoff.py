"""Detect what hands a conversation from the bot to a person: an explicit request for one (`wants_human`:
"agent", "I want to talk to a human") and a reply saying the bot's answer did not help (`not_helped`:
"that didn't help", "no, that's not what I asked", a bare "no"; see its docstring).

`wants_human` rules, applied to lowercased NFKC text with apostrophes dropped and other punctuation made
spaces:

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


# ---- "that did not help": the customer's verdict on the bot's reply ------------------------------------

_THAT = (
    r"(?:that|this|it|thats|its|the\s+answer|your\s+answer|the\s+reply|those\s+steps|these\s+steps"
    r"|the\s+steps)"
)
_NOT = r"(?:didnt|doesnt|did\s+not|does\s+not|dont|do\s+not|wasnt|isnt|was\s+not|is\s+not|wont|will\s+not)"
_STILL_BAD = (
    r"still\s+(?:not|no|doesnt|does\s+not|dont|do\s+not|didnt|did\s+not|cant|cannot|can\s+not|isnt|is\s+not"
    r"|wont|will\s+not|havent|have\s+not|hasnt|broken|stuck|failing|fails|failed|nothing|no\s+luck"
    r"|the\s+same|same\s+(?:problem|issue|error|thing)"
    r"|(?:getting|having|seeing|get|have|see)\s+(?:the|this|that|an|a|same|the\s+same)\s+(?:\w+\s+)?"
    r"(?:error|problem|issue|message|trouble))\b"
)
_WHAT_I = (
    r"(?:asked|asking|ask|meant|mean|wanted|want|needed|need|said|looking\s+for|after|was\s+asking"
    r"|am\s+asking|m\s+asking|was\s+looking\s+for|am\s+looking\s+for|m\s+looking\s+for|was\s+after|asked\s+for)"
)
_NOT_HELPED = re.compile(
    r"\b(?:"
    # that didn't help / it doesn't help at all / this did not help me
    rf"{_THAT}\s+{_NOT}\s+(?:really\s+|actually\s+|even\s+|much\s+)?help"
    rf"|{_THAT}\s+{_NOT}\s+(?:really\s+|actually\s+|even\s+)?(?:work|solve|fix)(?=\s*$|\s+(?:either|at|for|still|again"
    r"|though|unfortunately|sadly|but|and|so|i|im|ive|anyway|sorry|please|thanks|the|my|it|that|this|same)\b)"
    r"|(?:was|is|been|not|no|wasnt|isnt)\s+(?:very\s+|really\s+|much\s+|that\s+|particularly\s+|at\s+all\s+|of\s+)?"
    r"(?:helpful|useful|any\s+help|much\s+help|help\s+at\s+all)"
    r"|not\s+(?:helpful|useful|helping)|unhelpful|useless|no\s+help|isnt\s+helping|not\s+helping|doesnt\s+help"
    # that's not what I asked / not what I meant / not the answer I wanted
    rf"|not\s+what\s+(?:i|we|im|i\s+am|i\s+was|we\s+were|were)\s+(?:really\s+)?{_WHAT_I}"
    rf"|not\s+the\s+(?:right\s+|correct\s+)?(?:answer|question|thing)(?:\s+(?:i|we)\s+{_WHAT_I})?"
    r"|(?:i|we)\s+(?:didnt|did\s+not)\s+ask(?:\s+(?:for|about))?\s+(?:that|this|it)"
    r"|(?:that|this|it)\s+(?:has|had)\s+nothing\s+to\s+do\s+with"
    # wrong answer / that's wrong / that is not right
    r"|wrong\s+(?:answer|reply|info|information|question)|(?:answer|reply)\s+(?:is|was)\s+(?:wrong|incorrect)"
    r"|(?:thats|that\s+is|that\s+was|this\s+is|its|it\s+is|you\s+are|youre|you\s+re)\s+"
    r"(?:wrong|incorrect|not\s+(?:right|correct|it|true|relevant|my\s+question))"
    r"|you\s+(?:got\s+it|have\s+it|ve\s+got\s+it)\s+wrong|irrelevant"
    # that doesn't answer my question / you didn't answer
    r"|(?:doesnt|does\s+not|didnt|did\s+not|havent|have\s+not|dont|do\s+not|wasnt|isnt)\s+(?:really\s+|actually\s+)?"
    r"answer(?:ed)?(?:\s+(?:my|the|your)\s+(?:question|query|problem)|\s+(?:it|that|this|anything|what|me)\b|\s*$)"
    r"|(?:you|bot)\s+(?:misunderstood|misunderstand|(?:dont|didnt|do\s+not|did\s+not)\s+(?:understand|get\s+(?:it|me)))"
    # still doesn't work / still broken / I already tried that
    rf"|{_STILL_BAD}"
    r"|(?:already\s+(?:tried|did|done|do|checked)\s+(?:that|this|it|those|these|everything|all\s+(?:that|of\s+that))"
    r"|(?:tried|did|done|checked)\s+(?:that|this|it|those|these)\s+already)"
    r")\b"
)
# a message that is only a "no": "no", "nope :(", "no it didn't", "not really", "sadly not"
_BARE_NO = re.compile(
    r"(?:no|nope|nah|nay|noo+|no\s+no)(?:\s+(?:it|that|this)\s+(?:didnt|doesnt|did\s+not|does\s+not|wasnt|isnt))?"
    r"|not\s+really|not\s+quite|not\s+exactly|sadly\s+not|unfortunately\s+not|(?:i\s*m\s+|im\s+)?afraid\s+not"
    r"|(?:it|that|this)\s+(?:didnt|doesnt|did\s+not|does\s+not)|no\s+luck|no\s+dice|wrong|incorrect|nonsense"
    r"|i\s+(?:dont|do\s+not|still\s+dont)\s+(?:understand|get\s+it)"
)
_BARE_FILLER = re.compile(r"\b(?:sorry|unfortunately|sadly|um+|uh+|hmm+|well|but|still|oh|ah|ugh|honestly)\b")
_SCAN_CHARS = 2000  # a long message is searched at its start and its end: bounds the time of one check
_IF_WORDS = frozenset({"if", "unless", "when", "whenever", "whether", "case", "suppose", "supposing"})


def not_helped(text: str) -> bool:
    """True when a reply to the bot says its answer did not help: "that didn't help", "not helpful",
    "no, that's not what I asked", "wrong answer", "that doesn't answer my question", "still doesn't work",
    or a bare "no"/"nope". Only meaningful right after a bot reply (a bare "no" anywhere else is no verdict).

    Not: "no problem", "no thanks, that helped", "nope, all good", questions that merely contain a "not"
    ("why is my card not working?", "what if the link does not arrive?") or a hypothetical ("if that
    doesn't help, what then?")."""
    cleaned = clean(text)
    if not cleaned:
        return False
    if len(cleaned) <= 60 and _BARE_NO.fullmatch(" ".join(_BARE_FILLER.sub(" ", cleaned).split())):
        return True
    parts = [cleaned] if len(cleaned) <= _SCAN_CHARS else [cleaned[:_SCAN_CHARS], cleaned[-_SCAN_CHARS:]]
    return any(not _hypothetical(part[: m.start()]) for part in parts for m in _NOT_HELPED.finditer(part))


def _hypothetical(before: str) -> bool:
    """ "if that doesn't help", "what do I do when it still doesn't work": a question, not a verdict."""
    return any(word in _IF_WORDS for word in before[-40:].split()[-3:])
