"""``Yes`` / ``No`` guard models: ShieldGemma ("Does the content violate the principle?
Yes/No") and IBM Granite Guardian (``Yes``/``No``, since 3.2 inside ``<score> yes </score>``,
since 3.3 after a ``<think>`` block).  Yes = violates.
"""

from __future__ import annotations

import re

from .base import ParseContext, Verdict, flagged
from .labels import LabelSet
from .window import tail

LABELS = LabelSet(positive=("Yes",), negative=("No",), capitals_anywhere=False)
_SCORE = re.compile(r"<score>\s*(yes|no)\s*</score>", re.IGNORECASE)


def parse(content: str, ctx: ParseContext) -> Verdict:
    text = tail(content)
    lowered = text.lower()
    # The answer is what follows the last </think> (the reasoning may quote a tag); an
    # unclosed <think> holds no answer.
    close = lowered.rfind("</think>")
    answer = text[close + len("</think>") :] if close >= 0 else text
    if "<think>" in answer.lower() or not answer.strip():
        return Verdict.fail("no verdict: only a <think> block, no answer after it")
    scores = _SCORE.findall(answer)
    if scores:
        if len({s.lower() for s in scores}) > 1:
            return Verdict.fail("ambiguous: <score> tags say both yes and no")
        return flagged(ctx, scores[-1].lower() == "yes")
    if "<score>" in answer.lower():
        return Verdict.fail("no verdict: a <score> tag without yes or no in it")
    return LABELS.parse(answer, ctx)
