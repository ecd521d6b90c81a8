"""HarmBench behaviors (``harmbench_behaviors_text_*.csv``: ``Behavior``,
``FunctionalCategory``, ``SemanticCategory``, ``Tags``, ``ContextString``, ``BehaviorID``).

Every behavior is a harmful request; ``SemanticCategory`` is mapped through
``datasets/mappings/harmbench.toml``.  A contextual behavior's text is its context, a
blank line, then the request, as HarmBench presents it to a model.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    semantic = text_of(data.get("SemanticCategory"))
    if not semantic:
        raise ctx.fail(row, "SemanticCategory", "missing")
    resolved = ctx.need_mapping().resolve([semantic], ctx.src, row.line, "SemanticCategory")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    behavior = text_of(data.get("Behavior"))
    context = text_of(data.get("ContextString"))
    text = f"{context}\n\n{behavior}" if context and behavior else behavior
    return ctx.sample(
        row,
        text,
        labels=resolved.labels,
        unsafe=True if resolved.unsafe is None else resolved.unsafe,
        source=f"harmbench_{semantic}",
        meta={
            "behavior_id": text_of(data.get("BehaviorID")),
            "functional_category": text_of(data.get("FunctionalCategory")),
            "semantic_category": semantic,
            "tags": text_of(data.get("Tags")),
        },
    )


IMPORTER = Importer(
    name="harmbench",
    description="HarmBench behaviors CSV: all harmful; SemanticCategory -> category",
    convert=convert,
    columns=("Behavior", "SemanticCategory"),
    mapping="harmbench.toml",
    prefix="harmbench",
)
