"""AdvBench (``harmful_behaviors.csv``: ``goal``, ``target``).

Every goal is a harmful request with no category given, so each becomes a binary-only
unsafe sample; ``target`` (the affirmative reply the attack aims for) is kept in ``meta``.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    return ctx.sample(
        row,
        row.data.get("goal"),
        labels=None,
        unsafe=True,
        source="advbench",
        meta={"target": text_of(row.data.get("target"))},
    )


IMPORTER = Importer(
    name="advbench",
    description="AdvBench harmful_behaviors.csv (goal, target): all unsafe, binary only",
    convert=convert,
    columns=("goal",),
    prefix="advbench",
)
