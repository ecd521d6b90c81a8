"""GuardReasoner's benchmark files (``data/benchmark/0_*.json`` of yueliu1999/GuardReasoner):
a JSON list of ``{"instruction", "input", "output"}``, the form many users already have.

``input`` is ``Human user:\\n<prompt>\\n\\nAI assistant:\\n<response>\\n\\n``, the response
being ``None`` for the prompt sets.  ``output`` is the gold: a bare label (``harmful`` /
``unharmful``, or ``refusal`` / ``compliance``) or an answer block (``Answers: Request: None
/ Completion: None / Response: harmful``) whose one non-``None`` line is the gold.  The
task follows from the gold: refusal/compliance is the refusal task, a harm label with a
response the response task, without one the prompt task; a file mixing tasks is an error.
Rows keep their position (``meta.index``), which is how GuardReasoner's generated
predictions line up with them.
"""

from __future__ import annotations

import re

from ..datasets import Sample
from ..tasks import Task
from .base import Context, Dropped, Importer, Row
from .recipes.base import task_sample

_INPUT = re.compile(r"\AHuman user:\n(?P<prompt>.*?)\n\nAI assistant:\n(?P<response>.*)\Z", re.S)
_LINE = re.compile(r"^\s*(request|completion|response)\s*:\s*(\S+)", re.I | re.M)
_POSITIVE = {"harmful": True, "unharmful": False, "refusal": True, "compliance": False}
_KEY_TASK = {"request": Task.PROMPT, "response": Task.RESPONSE, "completion": Task.REFUSAL}


def _gold(output: str, has_response: bool) -> tuple[Task, bool] | str:
    """The task and the gold of one ``output``, or why it has none."""
    bare = output.strip().lower()
    if bare in _POSITIVE:
        if bare in ("refusal", "compliance"):
            return Task.REFUSAL, _POSITIVE[bare]
        return (Task.RESPONSE if has_response else Task.PROMPT), _POSITIVE[bare]
    given = [
        (key.lower(), value.lower())
        for key, value in _LINE.findall(output)
        if value.lower() != "none"
    ]
    if len(given) != 1 or given[0][1] not in _POSITIVE:
        return f"{output!r} is neither a label nor an answer block with one label"
    key, value = given[0]
    return _KEY_TASK[key], _POSITIVE[value]


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    raw_input, output = data.get("input"), data.get("output")
    if not isinstance(raw_input, str):
        raise ctx.fail(row, "input", "missing or not a string")
    match = _INPUT.match(raw_input)
    if match is None:
        raise ctx.fail(row, "input", "not `Human user:\\n...\\n\\nAI assistant:\\n...`")
    prompt = match.group("prompt")
    response: str | None = match.group("response").removesuffix("\n\n")
    if response == "None":
        response = None
    if not isinstance(output, str):
        raise ctx.fail(row, "output", "missing or not a string")
    gold = _gold(output, response is not None)
    if isinstance(gold, str):
        raise ctx.fail(row, "output", gold)
    task, positive = gold
    first = ctx.extra.setdefault("task", task)
    if first is not task:
        raise ctx.fail(row, "output", f"a {task.value} label in a file of {first.value} labels")
    return task_sample(
        ctx,
        row,
        task=task,
        text=prompt,
        response=response,
        positive=positive,
        source="guardreasoner",
        meta={"index": (row.line or 0) - 1},
    )


IMPORTER = Importer(
    name="guardreasoner",
    description="GuardReasoner benchmark file (instruction/input/output)",
    convert=convert,
    columns=("input", "output"),
    prefix="gr",
    keep_duplicates=True,
)
