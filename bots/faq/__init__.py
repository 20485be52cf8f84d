"""FAQ bot: lexical matching of customer questions against a knowledge base, and handoff to people."""

from bots.faq.handoff import wants_human
from bots.faq.matcher import DEFAULT_THRESHOLD, FaqDoc, Match, Matcher

__all__ = ["DEFAULT_THRESHOLD", "FaqDoc", "Match", "Matcher", "wants_human"]
