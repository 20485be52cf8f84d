"""The bot's handoff policy (`bots.faq.responder.decide`), pure: a conversation's state and the matcher's
verdict in, the bot's step out. The same rules on every channel as far as the channel allows."""

from __future__ import annotations

import pytest

from app.actions.tickets import BotState
from bots.faq.matcher import Match
from bots.faq.responder import CLARIFY_TEXT, decide

ANSWERED = Match(7, "We are open 9 to 5.", 0.93, False, "answered")
UNSURE = Match(7, "We are open 9 to 5.", 0.21, True, "low_confidence")
PERSON = Match(7, "We are open 9 to 5.", 0.40, True, "asked_for_human")
EMPTY = Match(None, None, 0.0, False, "empty_question")
NO_KB = Match(None, None, 0.0, True, "empty_kb")
CONVERSATIONS = ["chat", "sms", "voice"]
EVERY_CHANNEL = [*CONVERSATIONS, "email"]


def fresh(channel: str) -> BotState:
    return BotState(channel, last_bot=None, answered=False)


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_a_confident_match_is_answered_with_its_entry_and_confidence(channel: str) -> None:
    step = decide(fresh(channel), ANSWERED, "when are you open?")
    assert (step.kind, step.body, step.entry_id, step.confidence) == ("answer", ANSWERED.answer, 7, 0.93)


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
@pytest.mark.parametrize("last_bot", [None, "answer", "clarify"])
def test_asking_for_a_person_always_hands_off(channel: str, last_bot: str | None) -> None:
    step = decide(BotState(channel, last_bot, last_bot == "answer"), PERSON, "agent please")
    assert (step.kind, step.reason) == ("handoff", "asked_for_human")


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
@pytest.mark.parametrize("text", ["that didn't help", "no", "No, that's not what I asked"])
def test_not_helped_right_after_a_bot_reply_hands_off(channel: str, text: str) -> None:
    for last_bot in ("answer", "clarify"):
        for match in (UNSURE, ANSWERED, EMPTY):
            step = decide(BotState(channel, last_bot, last_bot == "answer"), match, text)
            assert (step.kind, step.reason) == ("handoff", "not_helped"), (last_bot, match)


@pytest.mark.parametrize("channel", CONVERSATIONS)
def test_not_helped_words_without_a_bot_reply_before_are_just_a_question(channel: str) -> None:
    step = decide(fresh(channel), UNSURE, "that didn't help")
    assert step.kind == "clarify"
    # an agent or the system spoke last (last_bot None): a bare "no" is no verdict on the bot
    assert decide(BotState(channel, None, True), EMPTY, "no").kind == "none"


@pytest.mark.parametrize("channel", CONVERSATIONS)
def test_first_low_confidence_question_is_clarified_the_second_in_a_row_hands_off(channel: str) -> None:
    first = decide(fresh(channel), UNSURE, "do you sell garden furniture")
    assert (first.kind, first.body, first.entry_id, first.confidence) == ("clarify", CLARIFY_TEXT, 7, 0.21)
    second = decide(BotState(channel, "clarify", False), UNSURE, "my parcel is stuck in customs")
    assert (second.kind, second.reason, second.confidence) == ("handoff", "low_confidence_twice", 0.21)


def test_a_confident_answer_in_between_starts_the_count_again() -> None:
    # chat answers as often as it can: after an answer, a low-confidence question is a first one again
    assert decide(BotState("chat", "answer", True), UNSURE, "garden furniture?").kind == "clarify"
    # SMS and voice: clarify, answer, then unsure again is a first one too (SMS: before its one answer)
    assert decide(BotState("voice", "answer", False), UNSURE, "garden furniture?").kind == "clarify"
    assert decide(BotState("sms", "clarify", False), ANSWERED, "when are you open?").kind == "answer"


def test_email_hands_a_low_confidence_question_off_at_once() -> None:
    step = decide(fresh("email"), UNSURE, "do you sell garden furniture")
    assert (step.kind, step.reason, step.entry_id, step.confidence) == ("handoff", "low_confidence", 7, 0.21)


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_outside_chat_the_bot_answers_a_ticket_once(channel: str) -> None:
    for match in (ANSWERED, UNSURE):
        step = decide(BotState(channel, "answer", True), match, "and how do I cancel?")
        assert (step.kind, step.reason) == ("handoff", "already_answered")
    # a clarification is not an answer: the rephrased question is still answered
    assert decide(BotState(channel, "clarify", False), ANSWERED, "opening hours?").kind == "answer"


def test_chat_answers_again_after_an_answer() -> None:
    assert decide(BotState("chat", "answer", True), ANSWERED, "and opening hours?").kind == "answer"


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_nothing_to_answer_changes_nothing(channel: str) -> None:
    assert decide(fresh(channel), EMPTY, "ok").kind == "none"
    assert decide(BotState(channel, "clarify", False), EMPTY, "?").kind == "none"


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_an_empty_knowledge_base_hands_off_at_once(channel: str) -> None:
    step = decide(fresh(channel), NO_KB, "where is my parcel")
    assert (step.kind, step.reason) == ("handoff", "empty_kb")
