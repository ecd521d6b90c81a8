"""Llama Guard: ``safe``, or ``unsafe`` and a line of category codes (``unsafe\\nS1,S10``).

The codes are read through the model version's table in ``policies/formats/``
(Llama Guard 1: ``O1``-``O6``; 2: ``S1``-``S11``; 3 and 4: ``S1``-``S14``); a code the
table does not know is a failure (usually the wrong version chosen), ``unsafe`` without
codes is a flag with no category (:data:`~.base.UNMAPPED`).  With a one-policy prompt
(``gauntlet``) ``unsafe`` flags the policy asked about, whatever the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import ParseContext, Verdict, flagged, plain
from .tables import load_table

_HEAD = re.compile(r"^\s*(safe|unsafe)\b(.*)", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"\b([A-Za-z]\d{1,2})\b")


def for_version(table: str) -> Callable[[str, ParseContext], Verdict]:
    """A parser reading codes through ``policies/formats/<table>.toml``."""

    def parse(content: str, ctx: ParseContext) -> Verdict:
        head = _HEAD.match(plain(content))
        if head is None:
            return Verdict.fail("no safe/unsafe at the start of the answer")
        if head.group(1).lower() == "safe":
            return flagged(ctx, False)
        codes = _CODE.findall(head.group(2))
        if ctx.target is not None:
            return flagged(ctx, True)
        codes_table = load_table(table)
        named: set[str] = set()
        for code in codes:
            mapped = codes_table.resolve(code, ctx)
            if mapped is None:
                return Verdict.fail(f"{code!r} is not a {codes_table.model} category code")
            named |= mapped
        return flagged(ctx, True, frozenset(named))

    parse.__doc__ = f"Llama Guard answer, codes read through {table}.toml."
    return parse


parse_v1 = for_version("llama_guard1")
parse_v2 = for_version("llama_guard2")
parse_v3 = for_version("llama_guard3")
parse_v4 = for_version("llama_guard4")
