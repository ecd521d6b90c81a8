"""Llama Guard over the user's own policies: ``unsafe\\nS2,S5`` where ``S<i>`` is the i-th
policy of the request, as the native Llama Guard prompt lists them
(``policies/formats/native/llama_guard3.toml``), not Meta's hazard table.

A code outside the listed range is a failure; ``unsafe`` without codes is a flag with no
category (:data:`~.base.UNMAPPED`).  With a one-policy prompt ``unsafe`` flags the
policy asked about.  Only the answer's first two lines are read: the verdict is the
first token, the codes the second line.
"""

from __future__ import annotations

import re

from .base import ParseContext, Verdict, flagged, plain

_HEAD = re.compile(r"\A\s*(safe|unsafe)[ \t]*(?:\n[ \t]*([^\n]*))?", re.IGNORECASE)
_CODE = re.compile(r"\b[Ss](\d{1,3})\b")


def parse(content: str, ctx: ParseContext) -> Verdict:
    head = _HEAD.match(plain(content[:4096]))
    if head is None:
        return Verdict.fail("no safe/unsafe at the start of the answer")
    if head.group(1).lower() == "safe":
        return flagged(ctx, False)
    if ctx.target is not None:
        return flagged(ctx, True)
    named: set[str] = set()
    for number in _CODE.findall(head.group(2) or ""):
        index = int(number) - 1
        if not 0 <= index < len(ctx.categories):
            return Verdict.fail(
                f"S{number} is not one of the {len(ctx.categories)} listed policies"
            )
        named.add(ctx.categories[index])
    return flagged(ctx, True, frozenset(named))
