"""Llama Guard over the user's own policies: ``unsafe\\nS2,S5`` where ``S<i>`` is the i-th
policy of the request, as the native Llama Guard prompt lists them
(``policies/formats/native/llama_guard3.toml``), not Meta's hazard table.

A code outside the listed range is a failure; ``unsafe`` without codes is a flag with no
category (:data:`~.base.UNMAPPED`).  With a one-policy prompt ``unsafe`` flags the
policy asked about.  The answer's head is read as for Meta's table
(:func:`.llama_guard.read_head`): the first line must be exactly ``safe`` or ``unsafe``
(``Safe? No: unsafe`` is no verdict), the codes follow on it or on the next line.
"""

from __future__ import annotations

from .base import ParseContext, Verdict, flagged
from .llama_guard import read_head


def parse(content: str, ctx: ParseContext) -> Verdict:
    read = read_head(content)
    if isinstance(read, Verdict):
        return read
    unsafe, codes = read
    if not unsafe or ctx.target is not None:
        return flagged(ctx, unsafe)
    named: set[str] = set()
    for code in codes:
        index = int(code[1:]) - 1 if code[0] == "S" else -1
        if not 0 <= index < len(ctx.categories):
            return Verdict.fail(f"{code} is not one of the {len(ctx.categories)} listed policies")
        named.add(ctx.categories[index])
    return flagged(ctx, True, frozenset(named))
