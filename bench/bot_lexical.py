"""Benchmark the FAQ bot's lexical matcher on Banking77 (training file). Prints figures, no verdict.

Protocol: each of the 77 intents is one FAQ entry whose answer is the intent name; ``k`` questions per
intent, drawn with ``random.Random(77)``, are its phrasings; every other question of the file is asked.
Top-1 counts the best entry whether or not the bot would answer; coverage is the share of questions
answered (not handed off, a ``wants_human`` hit included); precision is the share of answered
questions whose answer is the right intent. Then the time of one ``ask`` against 1,000 entries: the
77 real ones plus 923 synthetic entries of 10 other questions each.

Run from the repository root: ``.venv/bin/python bench/bot_lexical.py [path/to/train.csv]``.
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.faq import DEFAULT_THRESHOLD, FaqDoc, Matcher

DATA = Path("/work/shared/data/banking77/train.csv")
SEED = 77
BIG_KB = 1000
TIMED_ASKS = 500
TINY_KB = [
    (
        ("How do I reset my password?", "I forgot my password", "Can't log in. need a new password"),
        "password",
    ),
    (("What are your opening hours?", "When are you open?"), "hours"),
    (("How do I cancel my subscription?",), "cancel"),
]


def load(path: Path) -> dict[str, list[str]]:
    """Questions per intent, in file order (columns ``text`` and ``category``)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"])
    return dict(sorted(by_intent.items()))


def split(
    by_intent: dict[str, list[str]], k: int, seed: int = SEED
) -> tuple[list[FaqDoc], list[tuple[str, int]]]:
    """Entries with ``k`` seeded phrasings each, and the remaining (question, entry_id) pairs."""
    rng = random.Random(seed)
    docs: list[FaqDoc] = []
    queries: list[tuple[str, int]] = []
    for entry_id, (intent, questions) in enumerate(by_intent.items()):
        chosen = set(rng.sample(range(len(questions)), k))
        docs.append(FaqDoc(entry_id, tuple(questions[i] for i in sorted(chosen)), intent))
        queries.extend((q, entry_id) for i, q in enumerate(questions) if i not in chosen)
    return docs, queries


def evaluate(by_intent: dict[str, list[str]], k: int) -> None:
    docs, queries = split(by_intent, k)
    matcher = Matcher(docs)
    right = answered = answered_right = 0
    for question, truth in queries:
        match = matcher.ask(question)
        right += match.entry_id == truth
        if not match.handoff:
            answered += 1
            answered_right += match.entry_id == truth
    precision = answered_right / answered if answered else float("nan")
    print(
        f"{k:>2} phrasings/entry  queries {len(queries):>5}  top-1 {right / len(queries):6.1%}  "
        f"coverage {answered / len(queries):6.1%}  precision {precision:6.1%}"
    )


def big_kb(by_intent: dict[str, list[str]]) -> tuple[list[FaqDoc], list[str]]:
    """1,000 entries: the 77 real ones (10 phrasings) and synthetic ones from the other questions."""
    docs, queries = split(by_intent, 10)
    rest = [q for q, _ in queries]
    random.Random(SEED).shuffle(rest)
    for entry_id in range(len(docs), BIG_KB):
        start = (entry_id - len(by_intent)) * 10
        phrasings = tuple(rest[start : start + 10]) or (f"synthetic question {entry_id}",)
        docs.append(FaqDoc(entry_id, phrasings, f"synthetic answer {entry_id}"))
    return docs, [q for q, _ in queries]


def timing(by_intent: dict[str, list[str]]) -> None:
    docs, questions = big_kb(by_intent)
    builds = []
    for _ in range(3):
        started = time.perf_counter()
        matcher = Matcher(docs)
        builds.append(time.perf_counter() - started)
    asks = []
    for question in random.Random(SEED).sample(questions, TIMED_ASKS):
        started = time.perf_counter()
        matcher.ask(question)
        asks.append(time.perf_counter() - started)
    asks.sort()
    phrasings = sum(len(d.phrasings) for d in docs)
    build = statistics.median(builds)
    print(f"{len(matcher)} entries / {phrasings} phrasings: build {build:.2f} s (median of 3)")
    print(
        f"{len(matcher)} entries: ask median {statistics.median(asks) * 1000:.2f} ms, "
        f"p95 {asks[int(0.95 * len(asks))] * 1000:.2f} ms ({TIMED_ASKS} asks)"
    )


def unrelated(by_intent: dict[str, list[str]]) -> None:
    """Every Banking77 question against a 3-entry KB about passwords, opening hours and subscriptions."""
    matcher = Matcher(
        [FaqDoc(entry_id, phrasings, answer) for entry_id, (phrasings, answer) in enumerate(TINY_KB)]
    )
    questions = [q for qs in by_intent.values() for q in qs]
    answered = sum(not matcher.ask(q).handoff for q in questions)
    share = answered / len(questions)
    print(f"3-entry unrelated KB: answered {share:.1%} of {len(questions)} banking questions")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    by_intent = load(path)
    total = sum(len(v) for v in by_intent.values())
    print(f"Banking77 train: {total} questions, {len(by_intent)} intents; threshold {DEFAULT_THRESHOLD}")
    for k in (10, 3, 1):
        evaluate(by_intent, k)
    timing(by_intent)
    unrelated(by_intent)


if __name__ == "__main__":
    main()
