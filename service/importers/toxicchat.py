"""lmsys/toxic-chat (CSV/JSONL/parquet: ``conv_id``, ``user_input``, ``model_output``,
``toxicity`` 0/1, ``jailbreaking`` 0/1, ...).

Binary only: ``toxicity`` is the human label of the *user input*, which becomes the text.
``jailbreaking`` and ``conv_id`` are kept in ``meta``.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    toxicity = text_of(data.get("toxicity"))
    if toxicity not in ("0", "1"):
        raise ctx.fail(row, "toxicity", f"{toxicity!r} is not 0 or 1")
    jailbreaking = text_of(data.get("jailbreaking"))
    return ctx.sample(
        row,
        data.get("user_input"),
        labels=None,
        unsafe=toxicity == "1",
        source="toxicchat",
        meta={"conv_id": text_of(data.get("conv_id")), "jailbreaking": jailbreaking == "1"},
    )


IMPORTER = Importer(
    name="toxicchat",
    description="ToxicChat (user_input, toxicity 0/1): binary",
    convert=convert,
    columns=("user_input", "toxicity"),
    prefix="toxicchat",
)
