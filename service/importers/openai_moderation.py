"""OpenAI's moderation evaluation set (``samples-1680.jsonl`` or ``.jsonl.gz``).

Each line has ``prompt`` and 0/1 keys among ``S H V HR SH S3 H2 V2``; a missing key means
the label is *unknown*, not negative.  Through ``datasets/mappings/openai-moderation.toml``
a positive key puts its categories in ``labels``; a category is known-negative only when
every key that speaks about it is present and 0; otherwise it goes to ``unknown`` (and
``illegal``, which no key covers, is always unknown).  The sample is unsafe if any key is
1, safe only if every key is present and 0, else its binary label is unknown too.  So
unknown labels are never scored as safe.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row

KEYS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    mapping = ctx.need_mapping()
    positives: list[str] = []
    known_zero: list[str] = []
    for key, value in row.data.items():
        if key == "prompt":
            continue
        mapping.check(key, ctx.src, row.line, key)
        if value is None:
            continue
        if isinstance(value, str) or value not in (0, 1):
            raise ctx.fail(row, key, f"{value!r} is not 0 or 1")
        (positives if value else known_zero).append(key)
    resolved = mapping.resolve(positives, ctx.src, row.line, "label")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    labels = resolved.labels or frozenset()
    ruled_out: set[str] = set()
    for key in known_zero:
        ruled_out |= mapping.covers(key)
    # a category is known-negative only if *every* key about it is a known 0
    for key in mapping.table:
        if key not in known_zero:
            ruled_out -= mapping.covers(key)
    unknown = frozenset(mapping.categories - labels - ruled_out)
    all_known = all(key in known_zero or key in positives for key in mapping.table) and all(
        key in known_zero or key in positives for key in mapping.drops
    )
    unsafe = True if positives else (False if all_known else None)
    return ctx.sample(
        row,
        row.data.get("prompt"),
        labels=labels,
        unsafe=unsafe,
        unknown=unknown,
        source="openai-moderation",
        meta={"keys": {k: row.data[k] for k in KEYS if row.data.get(k) is not None}},
    )


IMPORTER = Importer(
    name="openai-moderation",
    description="OpenAI moderation eval (samples-1680.jsonl[.gz]): 8 keys, missing = unknown",
    convert=convert,
    columns=("prompt",),
    mapping="openai-moderation.toml",
    prefix="oai",
)
