"""``VIOLATION`` / ``SAFE``: the seed's gauntlet prompts asked for this, one policy at a time."""

from __future__ import annotations

from .base import ParseContext, Verdict
from .labels import LabelSet

LABELS = LabelSet(positive=("VIOLATION", "VIOLATES", "VIOLATING"), negative=("SAFE",))


def parse(content: str, ctx: ParseContext) -> Verdict:
    return LABELS.parse(content, ctx)
