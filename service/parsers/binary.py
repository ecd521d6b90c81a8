"""Bare ``0``/``1`` (gpt-oss-safeguard's shortest output: 1 = violates the policy)."""

from __future__ import annotations

from .base import ParseContext, Verdict
from .labels import LabelSet

LABELS = LabelSet(positive=("1",), negative=("0",), capitals_anywhere=False, first_word=False)


def parse(content: str, ctx: ParseContext) -> Verdict:
    return LABELS.parse(content, ctx)
