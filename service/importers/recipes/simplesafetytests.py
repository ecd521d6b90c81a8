"""SimpleSafetyTests: its 100 prompts, all harmful (the prompt task).

Reads ``Bertievidgen/SimpleSafetyTests`` (CSV/JSONL/parquet: ``id, harm_area, category,
prompt``, or ``prompts_final`` in the original CSV).  No category mapping: the binary gold
only, as the published tables score it.
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row, text_of
from .base import Expected, Recipe, task_sample


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    return task_sample(
        ctx,
        row,
        task=Task.PROMPT,
        text=row.data.get("prompt", row.data.get("prompts_final")),
        positive=True,
        source="simplesafetytests",
        meta={
            "sst_id": text_of(row.data.get("id")),
            "harm_area": text_of(row.data.get("harm_area")),
        },
    )


RECIPE = Recipe(
    name="simplesafetytests",
    task=Task.PROMPT,
    importer=Importer(
        name="simplesafetytests-binary",
        description="SimpleSafetyTests, 100 harmful prompts",
        convert=convert,
        any_of=(("prompt", "prompts_final"),),
        prefix="sst",
        keep_duplicates=True,
    ),
    reads="Bertievidgen/SimpleSafetyTests (sst_test_cases.csv)",
    rule="every row; all harmful",
    source="SimpleSafetyTests (Vidgen et al. 2023); WildGuard Table 3, GuardReasoner Table 1",
    expected=Expected(100, 100),
)
