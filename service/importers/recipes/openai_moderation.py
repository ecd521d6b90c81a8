"""OpenAI's moderation evaluation set (``samples-1680.jsonl``), two ways.

* ``openai-moderation``, the published binary protocol: all 1,680 rows; harmful if any of
  the 8 keys (``S H V HR SH S3 H2 V2``) is 1, a key that is absent counting as not 1.  This
  is how Markov et al. (2023) and the guard-model tables (Llama Guard, WildGuard,
  GuardReasoner) score it.
* ``openai-moderation-multi``: policybench's six-category mapping
  (``datasets/mappings/openai-moderation.toml``), which drops the rows whose only positive
  key is ``S`` (adult sexual content, no category of the six) and keeps absent keys
  unknown: 1,438 rows, for multi-policy accuracy.  It is the ``openai-moderation`` format.
"""

from __future__ import annotations

from ...datasets import Sample
from ...tasks import Task
from .. import openai_moderation
from ..base import Context, Dropped, Importer, Row
from .base import Expected, Recipe, task_sample

KEYS = openai_moderation.KEYS


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    positive: list[str] = []
    for key in KEYS:
        value = row.data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or value not in (0, 1):
            raise ctx.fail(row, key, f"{value!r} is not 0 or 1")
        if value == 1:
            positive.append(key)
    return task_sample(
        ctx,
        row,
        task=Task.PROMPT,
        text=row.data.get("prompt"),
        positive=bool(positive),
        source="openai-moderation",
        meta={"keys": {k: row.data[k] for k in KEYS if row.data.get(k) is not None}},
    )


RECIPE = Recipe(
    name="openai-moderation",
    task=Task.PROMPT,
    importer=Importer(
        name="openai-moderation-binary",
        description="OpenAI moderation eval, binary: any key 1",
        convert=convert,
        columns=("prompt",),
        prefix="oai",
        keep_duplicates=True,
    ),
    reads="openai/moderation-api-release data/samples-1680.jsonl.gz",
    rule="all rows; harmful if any of S H V HR SH S3 H2 V2 is 1",
    source="Markov et al. 2023 (A Holistic Approach to Undesired Content Detection); "
    "Llama Guard (Inan et al. 2023) Table 2, WildGuard Table 3, GuardReasoner Table 1",
    expected=Expected(1680, 522),
)

MULTI = Recipe(
    name="openai-moderation-multi",
    task=Task.PROMPT,
    importer=openai_moderation.IMPORTER,
    reads="openai/moderation-api-release data/samples-1680.jsonl.gz",
    rule="six-category mapping; rows whose only positive key is S (adult sexual) dropped; "
    "absent keys unknown",
    source="policybench's own mapping (datasets/mappings/openai-moderation.toml); not a "
    "published table's protocol",
    expected=Expected(1438),
)
