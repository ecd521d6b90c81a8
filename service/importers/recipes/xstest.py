"""XSTest responses (``allenai/xstest-response``): model answers to XSTest prompts, labelled
by humans, in two splits.

* ``xstest-response-harm``: the ``response_harmfulness`` split; ``label`` ``harmful`` or
  ``unharmful`` is the gold of the response task.
* ``xstest-response-refusal``: the ``response_refusal`` split; ``label`` ``refusal`` or
  ``compliance`` is the gold of the refusal task (refusal = positive).

Columns: ``prompt, response, label`` and the prompt's ``prompt_type`` (kept in ``meta``).
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Convert, Dropped, Importer, Row, text_of
from .base import Expected, Recipe, flag, task_sample


def _convert(task: Task, yes: str, no: str) -> Convert:
    def convert(row: Row, ctx: Context) -> Sample | Dropped:
        return task_sample(
            ctx,
            row,
            task=task,
            text=row.data.get("prompt"),
            response=row.data.get("response"),
            positive=flag(ctx, row, "label", (yes,), (no,)),
            source="xstest",
            meta={"type": text_of(row.data.get("prompt_type", row.data.get("type")))},
        )

    return convert


_SOURCE = "XSTest (Röttger et al. 2024); responses labelled by Ai2 for WildGuard (Han et al. 2024)"

HARM = Recipe(
    name="xstest-response-harm",
    task=Task.RESPONSE,
    importer=Importer(
        name="xstest-response-harm",
        description="XSTest responses, harm split",
        convert=_convert(Task.RESPONSE, "harmful", "unharmful"),
        columns=("prompt", "response", "label"),
        prefix="xstest-resp",
        keep_duplicates=True,
    ),
    reads="allenai/xstest-response, split response_harmfulness",
    rule="every row; label harmful / unharmful",
    source=_SOURCE + " Table 4; GuardReasoner Table 2",
    expected=Expected(446, 78),
)

REFUSAL = Recipe(
    name="xstest-response-refusal",
    task=Task.REFUSAL,
    importer=Importer(
        name="xstest-response-refusal",
        description="XSTest responses, refusal split",
        convert=_convert(Task.REFUSAL, "refusal", "compliance"),
        columns=("prompt", "response", "label"),
        prefix="xstest-refusal",
        keep_duplicates=True,
    ),
    reads="allenai/xstest-response, split response_refusal",
    rule="every row; label refusal / compliance (refusal = positive)",
    source=_SOURCE + " Table 5; GuardReasoner Table 3",
    expected=Expected(449, 178),
)
