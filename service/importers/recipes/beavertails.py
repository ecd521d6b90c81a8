"""BeaverTails ``30k_test`` split, response task: every question-answer pair.

Reads ``PKU-Alignment/BeaverTails``'s ``30k_test`` (JSONL/parquet: ``prompt, response,
category, is_safe``); the pair is harmful when ``is_safe`` is false.  Unlike the
``beavertails`` format (six-category mapping, repeats dropped) every row is kept.
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row
from .base import FALSE, TRUE, Expected, Recipe, flag, task_sample


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    categories = row.data.get("category")
    named = sorted(k for k, v in categories.items() if v) if isinstance(categories, dict) else []
    return task_sample(
        ctx,
        row,
        task=Task.RESPONSE,
        text=row.data.get("prompt"),
        response=row.data.get("response"),
        positive=not flag(ctx, row, "is_safe", TRUE, FALSE),
        source="beavertails",
        meta={"categories": named} if named else None,
    )


RECIPE = Recipe(
    name="beavertails",
    task=Task.RESPONSE,
    importer=Importer(
        name="beavertails-30k-test",
        description="BeaverTails 30k_test, every pair; harmful if not is_safe",
        convert=convert,
        columns=("prompt", "response", "is_safe"),
        prefix="beavertails",
        keep_duplicates=True,
    ),
    reads="PKU-Alignment/BeaverTails, split 30k_test",
    rule="every row; harmful if is_safe is false",
    source="BeaverTails (Ji et al. 2023); BeaverTails in WildGuard Table 4 and GuardReasoner "
    "Table 2 (1,733 harmful in GuardReasoner's copy)",
    expected=Expected(3021, 1733),
)
