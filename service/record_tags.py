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

from collections.abc import Mapping
from typing import Any

from .scoring import CORRECT, UNSCORED

#: Meta values longer than this are not tags (they are free text, found by text search).
MAX_META_VALUE = 80
MAX_META_KEYS = 16
MAX_TAG = 200


def tags_of(record: Mapping[str, Any]) -> list[str]:
    """Every tag of one stored record (see the module docstring).  On the writer's path:
    plain list appends, no sets unless a label is unknown."""
    outcome = record.get("outcome", "")
    tags = [f"o:{outcome}"]
    if outcome != CORRECT and outcome != UNSCORED:
        tags.append("o:miss")
    gold = record.get("gold") or {}
    labels = gold.get("labels")
    unknown = gold.get("unknown") or ()
    unsafe = gold.get("unsafe")
    predicted = record.get("predicted")
    if labels is not None:
        tags.extend([f"g:{c}" for c in labels] if labels else ["g:"])
    if predicted is not None:
        tags.extend([f"p:{c}" for c in predicted] if predicted else ["p:"])
        if unsafe is not None:
            if unsafe:
                tags.append("b:tp" if predicted else "b:fn")
            else:
                tags.append("b:fp" if predicted else "b:tn")
    if labels is not None:
        pred = predicted or ()
        for c in labels:
            if c not in unknown:
                tags.append(f"tp:{c}" if predicted is not None and c in pred else f"fn:{c}")
        for c in pred:
            if c not in labels and c not in unknown:
                tags.append(f"fp:{c}")
    source = record.get("source")
    if source:
        tags.append(f"s:{source}"[:MAX_TAG])
    meta = record.get("meta")
    if meta and isinstance(meta, Mapping):
        for i, (key, value) in enumerate(meta.items()):
            if i == MAX_META_KEYS:
                break
            if value is True or value is False:
                value = "true" if value else "false"
            elif not isinstance(value, str | int | float):
                continue
            text = f"m:{key}={value}"
            if len(text) <= MAX_META_VALUE + len(key) + 3:
                tags.append(text[:MAX_TAG])
    return tags
