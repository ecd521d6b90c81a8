"""``Yes`` / ``No`` guard models: ShieldGemma ("Does the content violate the principle?
Yes/No") and IBM Granite Guardian (``Yes``/``No``, since 3.2 inside ``<score> yes </score>``,
since 3.3 after a ``<think>`` block).  Yes = violates.
"""

from __future__ import annotations

import re

from .base import ParseContext, Verdict, flagged
from .labels import LabelSet

LABELS = LabelSet(positive=("Yes",), negative=("No",), capitals_anywhere=False)
_SCORE = re.compile(r"<score>\s*(yes|no)\s*</score>", re.IGNORECASE)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.IGNORECASE | re.DOTALL)


def parse(content: str, ctx: ParseContext) -> Verdict:
    scores = _SCORE.findall(content)
    if scores:
        return flagged(ctx, scores[-1].lower() == "yes")
    if "<score>" in content.lower():
        return Verdict.fail("a <score> tag without yes or no in it")
    answer = _THINK.sub("", content)
    if not answer.strip():
        return Verdict.fail("only a <think> block, no answer after it")
    return LABELS.parse(answer, ctx)
