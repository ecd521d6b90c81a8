"""Aegis 1.0 test split, user turns (the prompt task).

Reads ``nvidia/Aegis-AI-Content-Safety-Dataset-1.0``'s test file (JSON, JSONL, CSV or
parquet): ``id, num_annotations, text, text_type, labels_0 .. labels_4``.  Keeps the rows
whose ``text_type`` is ``user_message``; the first three annotators' labels vote, a label
other than ``Safe`` (a category, or ``Needs Caution``) being a vote for unsafe, and the
prompt is harmful when at least two of the three say so.
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row, text_of
from .base import Expected, Recipe, task_sample

VOTERS = ("labels_0", "labels_1", "labels_2")


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    kind = text_of(row.data.get("text_type"))
    if kind != "user_message":
        return Dropped(f"text_type {kind}: not a user turn")
    votes = []
    for column in VOTERS:
        label = text_of(row.data.get(column))
        if not label:
            raise ctx.fail(row, column, "missing (the protocol needs three annotators)")
        votes.append(label)
    unsafe_votes = sum(label != "Safe" for label in votes)
    return task_sample(
        ctx,
        row,
        task=Task.PROMPT,
        text=row.data.get("text"),
        positive=unsafe_votes >= 2,
        source="aegis",
        meta={"aegis_id": text_of(row.data.get("id")), "votes": votes},
    )


RECIPE = Recipe(
    name="aegis1",
    task=Task.PROMPT,
    importer=Importer(
        name="aegis1",
        description="Aegis 1.0 test, user turns, 2 of 3 annotators",
        convert=convert,
        columns=("text", "text_type", *VOTERS),
        prefix="aegis",
        keep_duplicates=True,
    ),
    reads="nvidia/Aegis-AI-Content-Safety-Dataset-1.0 test split",
    rule="text_type user_message; harmful if >= 2 of labels_0..labels_2 are not Safe",
    source="Aegis (Ghosh et al. 2024); AegisSafetyTest in WildGuard Table 3 and GuardReasoner "
    "Table 1",
    expected=Expected(359, 232),
)
