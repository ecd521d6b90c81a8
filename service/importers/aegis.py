"""nvidia/Aegis-AI-Content-Safety-Dataset-2.0 (CSV/JSONL/parquet: ``id``, ``prompt``,
``response``, ``prompt_label`` safe/unsafe, ``response_label``, ``violated_categories``
comma-separated).

The prompt is classified.  A safe prompt is safe.  An unsafe prompt gets the mapped
``violated_categories`` (``datasets/mappings/aegis.toml``) only when no unsafe response
shares the row, because the annotators' categories then could be about the response;
otherwise it is a binary-only unsafe sample.  Aegis 1.0's per-annotator columns
(``labels_0``...) are not read: convert them with the generic importer and a mapping.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    label = text_of(data.get("prompt_label"))
    if label not in ("safe", "unsafe"):
        raise ctx.fail(row, "prompt_label", f"{label!r} is not safe or unsafe")
    prompt = data.get("prompt")
    if prompt == "REDACTED":
        return Dropped("prompt redacted in the source")
    meta = {"aegis_id": text_of(data.get("id"))}
    if label == "safe":
        return ctx.sample(row, prompt, labels=frozenset(), unsafe=False, source="aegis", meta=meta)
    cats = [c.strip() for c in (text_of(data.get("violated_categories")) or "").split(",")]
    cats = [c for c in cats if c]
    meta["violated_categories"] = ", ".join(cats)
    resolved = ctx.need_mapping().resolve(cats, ctx.src, row.line, "violated_categories")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    response_unsafe = text_of(data.get("response_label")) == "unsafe"
    labels = resolved.labels if resolved.labels and not response_unsafe else None
    return ctx.sample(row, prompt, labels=labels, unsafe=True, source="aegis", meta=meta)


IMPORTER = Importer(
    name="aegis",
    description="Aegis 2.0 (prompt, prompt_label, violated_categories)",
    convert=convert,
    columns=("prompt", "prompt_label"),
    mapping="aegis.toml",
    prefix="aegis",
)
