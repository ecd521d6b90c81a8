"""Qwen3Guard: ``Safety: Safe|Unsafe|Controversial``, ``Categories: Violent, PII`` (or
``None``) and, for responses, ``Refusal: Yes|No``.

``qwen3guard`` is strict (Controversial counts as unsafe, as Qwen's "strict" mode);
``qwen3guard_loose`` counts it as safe.  Category names are read through
``policies/formats/qwen3guard.toml``; an unknown name is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import ParseContext, Verdict, flagged, plain
from .tables import load_table

_SAFETY = re.compile(r"^\s*safety\s*:\s*([A-Za-z]+)", re.IGNORECASE | re.MULTILINE)
_CATEGORIES = re.compile(r"^\s*categories\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)


def _parser(controversial_unsafe: bool) -> Callable[[str, ParseContext], Verdict]:
    def parse(content: str, ctx: ParseContext) -> Verdict:
        text = plain(content)
        safety = _SAFETY.findall(text)
        if not safety:
            return Verdict.fail("no `Safety:` line")
        value = safety[-1].lower()
        if value == "safe" or (value == "controversial" and not controversial_unsafe):
            return flagged(ctx, False)
        if value not in ("unsafe", "controversial"):
            return Verdict.fail(f"Safety: {safety[-1]!r} is not Safe, Unsafe or Controversial")
        if ctx.target is not None:
            return flagged(ctx, True)
        table = load_table("qwen3guard")
        named: set[str] = set()
        lines = _CATEGORIES.findall(text)
        for name in (n.strip() for n in (lines[-1] if lines else "").split(",")):
            if not name or name.lower() == "none":
                continue
            mapped = table.resolve(name, ctx)
            if mapped is None:
                return Verdict.fail(f"{name!r} is not a {table.model} category")
            named |= mapped
        return flagged(ctx, True, frozenset(named))

    return parse


parse = _parser(controversial_unsafe=True)
parse_loose = _parser(controversial_unsafe=False)
