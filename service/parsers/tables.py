"""Code-to-category tables of guard models with their own taxonomies, read from data files.

Llama Guard answers ``unsafe\\nS1,S10``, Qwen3Guard ``Categories: Violent``: codes of
the model's own taxonomy.  ``policies/formats/<name>.toml`` maps each code onto the
run's categories (``[codes.S1] categories = ["violence"]``); a code mapped to nothing,
or to categories the run does not have, becomes :data:`~.base.UNMAPPED`.  The tables
are data, shipped with the package, so a mapping is changed without touching code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from ..resources import shipped
from .base import UNMAPPED, ParseContext


@dataclass(frozen=True, slots=True)
class CodeTable:
    """One model's codes: ``code -> (name, categories)``, looked up case-insensitively."""

    model: str
    codes: dict[str, tuple[str, tuple[str, ...]]]

    def lookup(self, code: str) -> tuple[str, ...] | None:
        entry = self.codes.get(code.strip().lower())
        return None if entry is None else entry[1]

    def resolve(self, code: str, ctx: ParseContext) -> frozenset[str] | None:
        """The run's categories for ``code`` (``{UNMAPPED}`` if none apply); ``None`` if unknown."""
        mapped = self.lookup(code)
        if mapped is None:
            return None
        hits = {c for c in (ctx.normalise(m) for m in mapped) if c is not None}
        return frozenset(hits or (UNMAPPED,))


@cache
def load_table(name: str) -> CodeTable:
    """The shipped table ``policies/formats/<name>.toml``."""
    path = shipped("policies") / "formats" / f"{name}.toml"
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    codes: dict[str, tuple[str, tuple[str, ...]]] = {}
    for code, entry in data.get("codes", {}).items():
        codes[str(code).strip().lower()] = (
            str(entry.get("name", code)),
            tuple(str(c) for c in entry.get("categories", ())),
        )
    return CodeTable(model=str(data.get("model", name)), codes=codes)
