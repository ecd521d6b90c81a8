"""Llama Guard: ``safe``, or ``unsafe`` and a line of category codes (``unsafe\\nS1,S10``).

The answer's first line must be exactly ``safe`` or ``unsafe`` (codes may follow on the
same line: ``unsafe S1``); anything else there (``Safe? No: unsafe``) is no verdict.
The codes are read from the rest of that line or from the next line when it holds codes
only, through the model version's table in ``policies/formats/`` (Llama Guard 1:
``O1``-``O6``; 2: ``S1``-``S11``; 3 and 4: ``S1``-``S14``); a code the table does not
know is a failure (usually the wrong version chosen), ``unsafe`` without codes is a
flag with no category (:data:`~.base.UNMAPPED`).  ``safe`` followed by a line saying
``unsafe`` is ambiguous.  With a one-policy prompt (``gauntlet``) ``unsafe`` flags the
policy asked about, whatever the code.  Only the answer's first
:data:`~.window.HEAD_CHARS` characters are read: the verdict comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import ParseContext, Verdict, flagged, plain
from .tables import load_table
from .window import head, lines

_FIRST = re.compile(r"(safe|unsafe)[ \t.:]*((?:[A-Za-z]\d{1,3}[ \t,;.]*)*)", re.IGNORECASE)
_CODES = re.compile(r"(?:[A-Za-z]\d{1,3}[ \t,;.]*)+")
_CODE = re.compile(r"[A-Za-z]\d{1,3}")
_UNSAFE_WORD = re.compile(r"\bunsafe\b", re.IGNORECASE)


def read_head(content: str) -> tuple[bool, list[str]] | Verdict:
    """``(unsafe, codes)`` from the answer's first lines, or the failure saying why not."""
    rows = lines(plain(head(content)))
    first = _FIRST.fullmatch(rows[0]) if rows else None
    if first is None:
        return Verdict.fail("no verdict: the first line is not safe/unsafe")
    if first.group(1).lower() == "safe":
        if first.group(2) or any(_UNSAFE_WORD.search(r) for r in rows[1:]):
            return Verdict.fail("ambiguous: safe, then unsafe or category codes")
        return False, []
    codes = _CODE.findall(first.group(2))
    if not codes and len(rows) > 1 and _CODES.fullmatch(rows[1]):
        codes = _CODE.findall(rows[1])
    return True, list(dict.fromkeys(c.upper() for c in codes))


def for_version(table: str) -> Callable[[str, ParseContext], Verdict]:
    """A parser reading codes through ``policies/formats/<table>.toml``."""

    def parse(content: str, ctx: ParseContext) -> Verdict:
        read = read_head(content)
        if isinstance(read, Verdict):
            return read
        unsafe, codes = read
        if not unsafe or ctx.target is not None:
            return flagged(ctx, unsafe)
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
