import csv
import io
import random

import pytest

from bots.faq import DEFAULT_THRESHOLD, FaqDoc, Match, Matcher
from bots.faq.matcher import calibrate, content_words, normalize

KB_CSV = """\
How do I reset my password?,Open Settings > Security and choose Reset password.
I forgot my password,Open Settings > Security and choose Reset password.
Can't log in. need a new password,Open Settings > Security and choose Reset password.
What are your opening hours?,We are open 9am to 5pm Monday to Friday.
When are you open?,We are open 9am to 5pm Monday to Friday.
How do I cancel my subscription?,Go to Billing > Plan and press Cancel plan.
"""
PASSWORD, HOURS, CANCEL = 1, 2, 3


def load_kb(text: str) -> list[FaqDoc]:
    """Rows sharing an answer are one entry, numbered from 1 in order of first appearance."""
    grouped: dict[str, list[str]] = {}
    for question, answer in csv.reader(io.StringIO(text)):
        grouped.setdefault(answer, []).append(question)
    return [FaqDoc(i, tuple(qs), answer) for i, (answer, qs) in enumerate(grouped.items(), start=1)]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_kb(KB_CSV))


def test_kb_has_three_entries(matcher: Matcher) -> None:
    assert len(matcher) == 3


def test_password_question_is_answered(matcher: Matcher) -> None:
    match = matcher.ask("hi, how can I reset my password?")
    assert match.entry_id == PASSWORD
    assert match.answer == "Open Settings > Security and choose Reset password."
    assert not match.handoff
    assert match.reason == "answered"
    assert DEFAULT_THRESHOLD <= match.confidence <= 1.0


def test_asking_for_a_human_hands_off(matcher: Matcher) -> None:
    match = matcher.ask("that did not help, I want to talk to a human")
    assert match.handoff
    assert match.reason == "asked_for_human"


def test_asking_for_an_agent_hands_off(matcher: Matcher) -> None:
    match = matcher.ask("I need to speak to an agent please")
    assert match.handoff
    assert match.reason == "asked_for_human"


def test_unrelated_question_is_low_confidence(matcher: Matcher) -> None:
    match = matcher.ask("what's the weather on mars tomorrow")
    assert match.handoff
    assert match.reason == "low_confidence"
    assert match.confidence < DEFAULT_THRESHOLD
    assert match.entry_id is not None  # the best entry is still reported


def test_opening_hours_are_answered(matcher: Matcher) -> None:
    match = matcher.ask("when do you open")
    assert match.entry_id == HOURS
    assert match.answer == "We are open 9am to 5pm Monday to Friday."
    assert not match.handoff
    assert match.reason == "answered"


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("I can't log in", PASSWORD),
        ("forgot password!!", PASSWORD),
        ("PASSWORD RESET", PASSWORD),
        ("what are your hours", HOURS),
        ("how do i cancel", CANCEL),
        ("cancel my subscription please", CANCEL),
    ],
)
def test_more_paraphrases_are_answered(matcher: Matcher, question: str, entry_id: int) -> None:
    match = matcher.ask(question)
    assert (match.entry_id, match.reason) == (entry_id, "answered")


@pytest.mark.parametrize(
    "question",
    [
        "how do i make a sourdough starter",
        "Who won the football yesterday?",
        "zxqv blorp",
        "tell me a joke",
        "can I get a refund?",
        "what time do you close",
    ],
)
def test_unrelated_questions_are_handed_off(matcher: Matcher, question: str) -> None:
    match = matcher.ask(question)
    assert (match.handoff, match.reason) == (True, "low_confidence")


def test_confidence_separates_real_from_unrelated(matcher: Matcher) -> None:
    real = matcher.ask("I forgot my password, how do I reset it?").confidence
    unrelated = matcher.ask("what's the weather on mars tomorrow").confidence
    assert real - unrelated > 0.4


def test_asked_for_human_still_reports_the_best_entry(matcher: Matcher) -> None:
    match = matcher.ask("I forgot my password, let me talk to a human")
    assert (match.entry_id, match.handoff, match.reason) == (PASSWORD, True, "asked_for_human")
    assert match.confidence > 0.0


def test_empty_knowledge_base_hands_off() -> None:
    empty = Matcher([])
    assert len(empty) == 0
    assert empty.ask("how do I reset my password?") == Match(None, None, 0.0, True, "empty_kb")
    assert empty.ask("agent please").reason == "asked_for_human"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "?!...", "\U0001f600\U0001f389", "\x00\x01\x1f\x7f"])
def test_blank_question(matcher: Matcher, text: str) -> None:
    assert matcher.ask(text) == Match(None, None, 0.0, False, "empty_question")


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "reset my password " * 6_000,
        "\U0001f600" * 30_000 + " password",
        "".join(chr(i) for i in range(32)) * 3_000,
        "?!.,;'\"" * 15_000,
        "\ud800 password \udfff",
        "a" + "\u0301" * 50_000,
        "\ufdfa" * 10_000,
        "".join(chr(random.Random(1).randrange(0x20, 0x2FFFF)) for _ in range(100_000)),
    ],
)
def test_hostile_input_does_not_raise(matcher: Matcher, text: str) -> None:
    match = matcher.ask(text)
    assert 0.0 <= match.confidence <= 1.0
    assert match.reason in {"answered", "low_confidence", "asked_for_human", "empty_question"}


def test_threshold_is_respected() -> None:
    docs = load_kb(KB_CSV)
    assert Matcher(docs, threshold=0.0).ask("what's the weather on mars tomorrow").reason == "answered"
    assert Matcher(docs, threshold=1.01).ask("how do I reset my password?").reason == "low_confidence"


def test_single_entry_and_single_phrasing() -> None:
    solo = Matcher([FaqDoc(7, ("How do I reset my password?",), "Settings")])
    assert solo.ask("reset password").reason == "answered"
    assert solo.ask("what's the weather on mars tomorrow").reason == "low_confidence"


def test_blank_phrasings_and_entries_are_skipped() -> None:
    matcher = Matcher([FaqDoc(1, ("", "?!", "password reset"), "a"), FaqDoc(2, ("  ", "\U0001f600"), "b")])
    assert len(matcher) == 1
    assert matcher.ask("reset my password").entry_id == 1


def test_phrasings_of_only_function_words_still_match() -> None:
    matcher = Matcher([FaqDoc(1, ("Who are you?",), "A bot."), FaqDoc(2, ("How do I pay?",), "By card.")])
    assert matcher.ask("who are you").entry_id == 1


def test_duplicate_entry_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Matcher([FaqDoc(1, ("a question",), "a"), FaqDoc(1, ("another question",), "b")])


def test_accepts_any_iterable() -> None:
    assert len(Matcher(doc for doc in load_kb(KB_CSV))) == 3


def test_thousand_entries() -> None:
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(3_000)]
    docs = []
    for entry_id in range(1_000):
        topic = vocabulary[entry_id * 3 : entry_id * 3 + 3]
        phrasings = tuple(" ".join(topic + rng.sample(vocabulary, 2)) for _ in range(3))
        docs.append(FaqDoc(entry_id, phrasings, f"answer {entry_id}"))
    matcher = Matcher(docs)
    assert len(matcher) == 1_000
    for entry_id in (0, 417, 999):
        question = " ".join(vocabulary[entry_id * 3 : entry_id * 3 + 3])
        match = matcher.ask(question)
        assert (match.entry_id, match.reason) == (entry_id, "answered")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Can't log in!", "can not log in"),
        (
            "I won't, you're, it's, I'm, we've, they'll, I'd",
            "i will not you are it is i am we have they will i would",
        ),
        ("don\u2019t", "do not"),
        ("DONT   CANT", "do not can not"),
        ("\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24", "password"),
        ("reset\u200bpassword", "resetpassword"),
        ("my card's pin", "my card pin"),
        ("e-mail / top_up", "e mail top up"),
        ("\x00\x07 \U0001f600", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_content_words_keeps_something() -> None:
    assert content_words("how do i reset my password") == "reset password"
    assert content_words("who are you") == "who are you"


def test_calibrate_is_monotone_and_bounded() -> None:
    assert calibrate(0.0, 0.0, 1) == 0.0
    assert calibrate(0.8, 0.2, 10) > calibrate(0.8, 0.6, 10) > calibrate(0.5, 0.45, 10)
    assert calibrate(0.6, 0.3, 10) > calibrate(0.6, 0.3, 1)
    assert 0.0 < calibrate(1e-9, 0.0, 1) < calibrate(1.0, 0.0, 1000) <= 1.0


def test_entries_phrasings_and_scores_line_up(matcher: Matcher) -> None:
    assert [e.entry_id for e in matcher.entries] == [PASSWORD, HOURS, CANCEL]
    assert matcher.phrasings[1] == ("What are your opening hours?", "When are you open?")
    scores = matcher.scores(
        [content_words(normalize("when are you open")), content_words(normalize("cancel"))]
    )
    assert scores.shape == (2, 3)
    assert [int(row.argmax()) for row in scores] == [1, 2]
    assert Matcher([]).scores(["x"]).shape == (1, 0)


def test_phrasings_that_normalise_to_nothing_are_dropped() -> None:
    matcher = Matcher([FaqDoc(1, ("?!", "reset password"), "a"), FaqDoc(2, ("...",), "b")])
    assert [e.entry_id for e in matcher.entries] == [1]
    assert matcher.phrasings == (("reset password",),)
