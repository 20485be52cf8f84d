"""FAQ bot: matching customer questions against a knowledge base (lexical, and semantic with the
all-MiniLM-L6-v2 model when its package is installed), and handoff to people."""

from bots.faq.handoff import wants_human
from bots.faq.matcher import DEFAULT_THRESHOLD, FaqDoc, Match, Matcher
from bots.faq.semantic import SEMANTIC_THRESHOLD, EmbeddingCache, Encoder, Indexer, SemanticMatcher, model_dir

__all__ = [
    "DEFAULT_THRESHOLD",
    "SEMANTIC_THRESHOLD",
    "EmbeddingCache",
    "Encoder",
    "FaqDoc",
    "Indexer",
    "Match",
    "Matcher",
    "SemanticMatcher",
    "model_dir",
    "wants_human",
]
