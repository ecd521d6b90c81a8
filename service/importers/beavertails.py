"""PKU-Alignment/BeaverTails (JSONL/JSON/parquet: ``prompt``, ``response``, ``category``
(an object of 14 harm categories -> true/false), ``is_safe``).

Its labels are about the question-answer *pair*, so both ``text`` (the prompt) and
``response`` are kept: run it as a response-harm task.  The true categories are mapped
through ``datasets/mappings/beavertails.toml``; an unsafe pair whose categories all map
to nothing becomes a binary-only unsafe sample; a pair marked safe with a true category
is dropped as contradictory.
"""

from __future__ import annotations

from typing import Any

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row


def _flag(value: Any, ctx: Context, row: Row, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ctx.fail(row, field, f"{value!r} is not true or false")


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    mapping = ctx.need_mapping()
    categories = data.get("category")
    if not isinstance(categories, dict):
        raise ctx.fail(row, "category", "must be an object of category -> true/false")
    positives = []
    for name, value in categories.items():
        mapping.check(name, ctx.src, row.line, "category")
        if _flag(value, ctx, row, f"category.{name}"):
            positives.append(name)
    is_safe = _flag(data.get("is_safe"), ctx, row, "is_safe")
    if is_safe and positives:
        return Dropped("is_safe true but a harm category is true")
    resolved = mapping.resolve(positives, ctx.src, row.line, "category")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    if is_safe:
        labels, unsafe = frozenset[str](), False
    elif resolved.labels:
        labels, unsafe = resolved.labels, True
    else:
        labels, unsafe = None, True
    return ctx.sample(
        row,
        data.get("prompt"),
        labels=labels,
        unsafe=unsafe,
        response=data.get("response"),
        source="beavertails",
        meta={"categories": sorted(positives)} if positives else None,
    )


IMPORTER = Importer(
    name="beavertails",
    description="BeaverTails QA pairs (prompt+response, 14 categories, is_safe)",
    convert=convert,
    columns=("prompt", "response", "category", "is_safe"),
    mapping="beavertails.toml",
    prefix="beavertails",
)
