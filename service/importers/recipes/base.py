"""What a published-protocol recipe is: an importer that applies one published subset and
label rule, the task its gold is for, where the protocol is published, and the counts the
published tables were computed on.

A recipe reproduces a table's *data*, not its numbers: ``bench datasets import --protocol
NAME`` keeps exactly the rows the published evaluators kept and labels them as they did;
the counts it wrote are checked against the published ones, and the header of the output
records the recipe, so a run on the file says which table it can be set beside.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...datasets import Sample
from ...tasks import Task
from ..base import Context, Dropped, Importer, Row, content_id, text_of


@dataclass(frozen=True, slots=True)
class Expected:
    """The published counts: samples, and how many are the positive class (harmful, or
    refused for the refusal task)."""

    samples: int
    positive: int | None = None


@dataclass(frozen=True, slots=True)
class Recipe:
    name: str
    task: Task
    importer: Importer
    #: the file the recipe reads, as the source publishes it
    reads: str
    #: the subset and the label rule, in one sentence
    rule: str
    #: where the protocol is published (paper table, evaluator code)
    source: str
    expected: Expected | None = None

    def record(self) -> dict[str, Any]:
        """The recipe as the output's header and ``--json`` carry it."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task.value,
            "rule": self.rule,
            "source": self.source,
        }
        if self.expected is not None:
            out["expected"] = {
                "samples": self.expected.samples,
                "positive": self.expected.positive,
            }
        return out


def task_sample(
    ctx: Context,
    row: Row,
    *,
    task: Task,
    text: Any,
    positive: bool,
    response: Any = None,
    source: str,
    meta: Mapping[str, Any] | None = None,
) -> Sample | Dropped:
    """A binary sample whose gold is for ``task``.

    The positive class is "harmful" for the prompt and response tasks and "refused" for the
    refusal task; the gold goes in the field that task scores (``unsafe``,
    ``response_unsafe`` or ``refusal``) and the task also in ``meta.task``.  A response or refusal sample keeps the assistant's ``response``;
    one without a response is dropped, since there is nothing to judge.
    """
    if task is not Task.PROMPT and not (isinstance(response, str) and response.strip()):
        return Dropped(f"no response to judge for the {task.value} task")
    all_meta = {"task": task.value, **(meta or {})}
    sample_id = None
    if isinstance(text, str):
        resp = response if task is not Task.PROMPT and isinstance(response, str) else None
        sample_id = content_id(ctx.prefix, text, resp)
    sample = ctx.sample(
        row,
        text,
        labels=None,
        unsafe=positive if task is Task.PROMPT else None,
        response=response if task is not Task.PROMPT else None,
        source=source,
        meta=all_meta,
        sample_id=sample_id,
    )
    if isinstance(sample, Dropped) or task is Task.PROMPT:
        return sample
    # the response and refusal gold go in their own fields, which `--task` scores
    if task is Task.RESPONSE:
        return dataclasses.replace(sample, response_unsafe=positive)
    return dataclasses.replace(sample, refusal=positive)


def task_gold(sample: Sample, task: Task) -> bool | None:
    """A sample's gold for ``task`` (the positive class: harmful, or refused)."""
    if task is Task.RESPONSE:
        return sample.response_unsafe
    if task is Task.REFUSAL:
        return sample.refusal
    return sample.unsafe


def flag(ctx: Context, row: Row, column: str, yes: tuple[str, ...], no: tuple[str, ...]) -> bool:
    """A label cell as ``True``/``False``; any other value stops the import naming the cell."""
    value = text_of(row.data.get(column))
    lowered = value.lower() if value is not None else None
    if lowered in yes:
        return True
    if lowered in no:
        return False
    expected = " or ".join((*yes, *no))
    raise ctx.fail(row, column, f"{value!r} is not {expected}")


TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")
