"""SimpleSafetyTests (CSV/JSONL/parquet: ``id``, ``harm_area``, ``category``, ``prompt``;
the original CSV calls the text ``prompts_final``).

All 100 prompts are unsafe; ``harm_area`` is mapped through
``datasets/mappings/simplesafetytests.toml``.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    area = text_of(data.get("harm_area"))
    if not area:
        raise ctx.fail(row, "harm_area", "missing")
    resolved = ctx.need_mapping().resolve([area], ctx.src, row.line, "harm_area")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    text = data.get("prompt", data.get("prompts_final"))
    return ctx.sample(
        row,
        text,
        labels=resolved.labels,
        unsafe=True if resolved.unsafe is None else resolved.unsafe,
        source="simplesafetytests",
        meta={
            "sst_id": text_of(data.get("id")),
            "harm_area": area,
            "category": text_of(data.get("category")),
        },
    )


IMPORTER = Importer(
    name="simplesafetytests",
    description="SimpleSafetyTests: 100 unsafe prompts; harm_area -> category",
    convert=convert,
    columns=("harm_area",),
    any_of=(("prompt", "prompts_final"),),
    mapping="simplesafetytests.toml",
    prefix="sst",
)
