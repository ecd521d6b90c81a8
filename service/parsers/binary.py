"""Bare ``0``/``1`` (gpt-oss-safeguard's shortest output: 1 = violates the policy).

A decimal where the label belongs (``Answer: 0.93``, ``Rating: 0.9 (very likely
violating)``) is a failure: the prompt asked for a label, and a verbalised probability
has no threshold here (scores are read from logprobs, see docs/parsers.md).
"""

from __future__ import annotations

from .base import ParseContext, Verdict
from .labels import LabelSet

LABELS = LabelSet(
    positive=("1",), negative=("0",), capitals_anywhere=False, first_word=False, numeric=True
)


def parse(content: str, ctx: ParseContext) -> Verdict:
    return LABELS.parse(content, ctx)
