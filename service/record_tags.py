"""The facets a stored record is found by: short tags, one indexed row each.

The viewer filters a run's records by outcome, gold and predicted category, per-category
confusion, source and meta fields.  Reading every record's JSON to do that would scan a
whole run; instead the store keeps ``(run_id, tag, seq)`` rows beside each record
(``record_tags``, written in the record's own transaction), so a filter is an index range
in dataset order and its count is an index count.

Tags (``X`` is a category):

* ``o:<outcome>`` the stored outcome; ``o:miss`` any scored outcome but ``correct``
  (wrong, parse failure, error: all count as wrong);
* ``b:tp|fp|fn|tn`` the binary confusion (unsafe = positive), for samples with a verdict
  and a known binary gold, as :mod:`.scoring` counts them;
* ``g:X`` gold category, ``g:`` a sample gold says is safe; ``p:X`` predicted category,
  ``p:`` nothing predicted; failed samples have no ``p:`` tag;
* ``tp:X``, ``fp:X``, ``fn:X`` per-category confusion as the scorer counts it (a failed
  sample is a miss for each of its gold categories; unknown labels are skipped);
* ``s:<source>``, ``m:<key>=<value>`` for short scalar meta values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .scoring import CORRECT, UNSCORED

#: Meta values longer than this are not tags (they are free text, found by text search).
MAX_META_VALUE = 80
MAX_META_KEYS = 16
MAX_TAG = 200


def tags_of(record: Mapping[str, Any]) -> Iterator[str]:
    """Every tag of one stored record (see the module docstring)."""
    outcome = record.get("outcome", "")
    yield f"o:{outcome}"
    if outcome not in (CORRECT, UNSCORED):
        yield "o:miss"
    gold = record.get("gold") or {}
    labels = gold.get("labels")
    unknown = set(gold.get("unknown") or ())
    unsafe = gold.get("unsafe")
    predicted = record.get("predicted")
    if labels is not None:
        if not labels:
            yield "g:"
        for cat in labels:
            yield f"g:{cat}"
    if predicted is not None:
        if not predicted:
            yield "p:"
        for cat in predicted:
            yield f"p:{cat}"
        if unsafe is not None:
            flagged = bool(predicted)
            yield (
                "b:" + ("tp" if flagged else "fn") if unsafe else "b:" + ("fp" if flagged else "tn")
            )
    if labels is not None:
        gold_set, pred_set = set(labels), set(predicted or ())
        for cat in gold_set - unknown:
            yield f"tp:{cat}" if predicted is not None and cat in pred_set else f"fn:{cat}"
        if predicted is not None:
            for cat in pred_set - gold_set - unknown:
                yield f"fp:{cat}"
    source = record.get("source")
    if source:
        yield f"s:{source}"[:MAX_TAG]
    meta = record.get("meta")
    if isinstance(meta, Mapping):
        for key, value in list(meta.items())[:MAX_META_KEYS]:
            if isinstance(value, bool):
                value = str(value).lower()
            if isinstance(value, str | int | float) and len(str(value)) <= MAX_META_VALUE:
                yield f"m:{key}={value}"[:MAX_TAG]
