"""``VALID`` / ``INVALID`` (INVALID = violates), as policy prompts in the
"Answer (VALID or INVALID): INVALID" and "Classification: **INVALID** (DE3)" styles ask."""

from __future__ import annotations

from .base import ParseContext, Verdict
from .labels import LabelSet

LABELS = LabelSet(positive=("INVALID",), negative=("VALID",))


def parse(content: str, ctx: ParseContext) -> Verdict:
    return LABELS.parse(content, ctx)
