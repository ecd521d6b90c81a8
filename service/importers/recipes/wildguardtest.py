"""WildGuardTest (``allenai/wildguardmix``, config ``wildguardtest``), one recipe per task.

Reads the test parquet (``prompt, adversarial, response, prompt_harm_label,
response_refusal_label, response_harm_label, subcategory, ...``).  Each task keeps the rows
whose label for it is given (the response labels are missing where there is no response,
and a few prompt labels where the annotators disagreed):

* ``wildguardtest-prompt``: ``prompt_harm_label`` harmful / unharmful;
* ``wildguardtest-response``: ``response_harm_label`` harmful / unharmful;
* ``wildguardtest-refusal``: ``response_refusal_label`` refusal / compliance.

``adversarial`` is kept in ``meta`` (for ``--by adversarial``).
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Convert, Dropped, Importer, Row, text_of
from .base import Recipe, flag, task_sample

_SOURCE = "WildGuard (Han et al. 2024) Tables 3-5; GuardReasoner Tables 1-3"
_COLUMN = {
    Task.PROMPT: ("prompt_harm_label", "harmful", "unharmful"),
    Task.RESPONSE: ("response_harm_label", "harmful", "unharmful"),
    Task.REFUSAL: ("response_refusal_label", "refusal", "compliance"),
}


def _convert(task: Task) -> Convert:
    column, yes, no = _COLUMN[task]

    def convert(row: Row, ctx: Context) -> Sample | Dropped:
        if text_of(row.data.get(column)) is None:
            return Dropped(f"no {column}")
        return task_sample(
            ctx,
            row,
            task=task,
            text=row.data.get("prompt"),
            response=row.data.get("response"),
            positive=flag(ctx, row, column, (yes,), (no,)),
            source="wildguardtest",
            meta={
                "adversarial": text_of(row.data.get("adversarial")) == "true",
                "subcategory": text_of(row.data.get("subcategory")),
            },
        )

    return convert


def _recipe(task: Task) -> Recipe:
    column, yes, no = _COLUMN[task]
    return Recipe(
        name=f"wildguardtest-{task.value}",
        task=task,
        importer=Importer(
            name=f"wildguardtest-{task.value}",
            description=f"WildGuardTest, {column}",
            convert=_convert(task),
            columns=("prompt", column),
            prefix="wgtest",
            keep_duplicates=True,
        ),
        reads="allenai/wildguardmix, config wildguardtest (test parquet)",
        rule=f"rows with {column}; {yes} = positive, {no} = negative",
        source=_SOURCE,
    )


PROMPT, RESPONSE, REFUSAL = (_recipe(t) for t in (Task.PROMPT, Task.RESPONSE, Task.REFUSAL))
