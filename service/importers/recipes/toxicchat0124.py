"""ToxicChat ``toxicchat0124`` test split, human-annotated rows only (the prompt task).

Reads ``data/0124/toxic-chat_annotation_test.csv`` of ``lmsys/toxic-chat`` (or its
parquet/JSONL export): ``conv_id, user_input, model_output, human_annotation, toxicity,
jailbreaking, openai_moderation``.  Keeps the rows with ``human_annotation`` true; the user
input is harmful when ``toxicity`` is 1.  Every kept row counts, repeats included.
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row, text_of
from .base import FALSE, TRUE, Expected, Recipe, flag, task_sample


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    if not flag(ctx, row, "human_annotation", TRUE, FALSE):
        return Dropped("not human-annotated (human_annotation false)")
    toxic = flag(ctx, row, "toxicity", ("1",), ("0",))
    return task_sample(
        ctx,
        row,
        task=Task.PROMPT,
        text=row.data.get("user_input"),
        positive=toxic,
        source="toxicchat",
        meta={
            "conv_id": text_of(row.data.get("conv_id")),
            "jailbreaking": text_of(row.data.get("jailbreaking")) == "1",
        },
    )


RECIPE = Recipe(
    name="toxicchat0124",
    task=Task.PROMPT,
    importer=Importer(
        name="toxicchat0124",
        description="ToxicChat 0124 test, human-annotated rows",
        convert=convert,
        columns=("user_input", "toxicity", "human_annotation"),
        prefix="toxicchat",
        keep_duplicates=True,
    ),
    reads="lmsys/toxic-chat data/0124/toxic-chat_annotation_test.csv",
    rule="human_annotation true; harmful if toxicity = 1",
    source="ToxicChat (Lin et al. 2023); the test set of Ai2 safety-eval, WildGuard (Han et al. "
    "2024) Table 3 and GuardReasoner (Liu et al. 2025) Table 1",
    expected=Expected(2853, 362),
)
