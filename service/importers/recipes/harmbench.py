"""HarmBench, two tasks.

* ``harmbench-prompts``: the behaviors of the test split
  (``harmbench_behaviors_text_test.csv``: ``Behavior, FunctionalCategory,
  SemanticCategory, Tags, ContextString, BehaviorID``) whose ``FunctionalCategory`` is
  ``standard`` or ``copyright``; contextual behaviors (a context plus a request) are left
  out.  Every behavior is a harmful request.
* ``harmbench-responses``: HarmBench's human-labelled classifier validation set, pairs of a
  behavior and a model's generation, each with three human labels ``human_0``,
  ``human_1``, ``human_2`` (1 = the generation is an instance of the behavior); harmful by
  the majority of the three.  Rows are read from a JSON list or JSONL (``behavior`` or
  ``test_case`` or ``prompt`` for the request, ``generation`` or ``response`` for the
  answer), or from the validation file's JSON object of ``behavior_id -> [rows]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from ...datasets import Sample
from ...errors import DatasetError
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row, text_of
from ..sources import read_rows
from .base import FALSE, TRUE, Expected, Recipe, flag, task_sample

KEPT = ("standard", "copyright")
HUMANS = ("human_0", "human_1", "human_2")


def convert_prompt(row: Row, ctx: Context) -> Sample | Dropped:
    category = text_of(row.data.get("FunctionalCategory"))
    if category not in KEPT:
        return Dropped(f"FunctionalCategory {category}: not standard or copyright")
    return task_sample(
        ctx,
        row,
        task=Task.PROMPT,
        text=row.data.get("Behavior"),
        positive=True,
        source="harmbench",
        meta={
            "behavior_id": text_of(row.data.get("BehaviorID")),
            "functional_category": category,
            "semantic_category": text_of(row.data.get("SemanticCategory")),
        },
    )


PROMPTS = Recipe(
    name="harmbench-prompts",
    task=Task.PROMPT,
    importer=Importer(
        name="harmbench-prompts",
        description="HarmBench test behaviors, standard + copyright",
        convert=convert_prompt,
        columns=("Behavior", "FunctionalCategory"),
        prefix="harmbench",
        keep_duplicates=True,
    ),
    reads="centerforaisafety/HarmBench data/behavior_datasets/harmbench_behaviors_text_test.csv",
    rule="FunctionalCategory standard or copyright; all harmful",
    source="HarmBench (Mazeika et al. 2024); HarmBench prompts in WildGuard Table 3 and "
    "GuardReasoner Table 1",
    expected=Expected(239, 239),
)


def _first(row: Row, *names: str) -> object:
    for name in names:
        if row.data.get(name) is not None:
            return row.data[name]
    return None


def convert_response(row: Row, ctx: Context) -> Sample | Dropped:
    votes = [flag(ctx, row, column, TRUE, FALSE) for column in HUMANS]
    return task_sample(
        ctx,
        row,
        task=Task.RESPONSE,
        text=_first(row, "behavior", "test_case", "prompt", "Behavior"),
        response=_first(row, "generation", "response"),
        positive=sum(votes) >= 2,
        source="harmbench",
        meta={"behavior_id": text_of(_first(row, "behavior_id", "BehaviorID"))},
    )


def response_rows(path: Path, ctx: Context) -> Iterator[Row]:
    """The validation file's ``{behavior_id: [row, ...]}`` flattened, or any list/JSONL."""
    if path.name.endswith(".json"):
        try:
            doc = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise DatasetError(path, None, None, f"cannot read JSON: {exc}") from exc
        if isinstance(doc, dict):
            index = 0
            for behavior_id, items in doc.items():
                if not isinstance(items, list):
                    raise DatasetError(path, None, behavior_id, "expected a list of rows")
                for item in items:
                    index += 1
                    if not isinstance(item, dict):
                        raise DatasetError(path, index, behavior_id, "expected an object")
                    yield Row(index, {"behavior_id": behavior_id, **item})
            return
    yield from read_rows(path, HUMANS)


RESPONSES = Recipe(
    name="harmbench-responses",
    task=Task.RESPONSE,
    importer=Importer(
        name="harmbench-responses",
        description="HarmBench classifier validation set, majority of 3 human labels",
        convert=convert_response,
        columns=HUMANS,
        prefix="harmbench-resp",
        rows=response_rows,
        keep_duplicates=True,
    ),
    reads="HarmBench's human-labelled classifier validation set (behavior, generation, "
    "human_0..human_2)",
    rule="majority of human_0, human_1, human_2",
    source="HarmBench (Mazeika et al. 2024); HarmBench responses in WildGuard Table 4 and "
    "GuardReasoner Table 2",
    expected=Expected(602, 273),
)
