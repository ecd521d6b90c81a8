"""Slices: every headline metric per group of samples, grouped by ``source`` or a ``meta`` key.

``--by FIELD`` answers "adversarial vs vanilla on WildGuardTest", "jailbreaking on
ToxicChat", "by language": the samples are grouped by the value of ``FIELD`` (``source``,
or any key of a sample's ``meta``), and each group gets the run's headline figures with
their intervals (multi-policy and binary accuracy, binary precision/recall/F1, error rates,
failures).  A sample without the key is in the group ``(missing)``.

The number of groups is bounded (:data:`MAX_GROUPS`): past it, further values share the
group ``(other)`` and the summary says ``capped: true``, so memory stays fixed whatever
the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

MAX_GROUPS = 64
MISSING = "(missing)"
OTHER = "(other)"
SOURCE = "source"


def group_of(field: str, source: str, meta: Mapping[str, Any] | None) -> str:
    """The group a sample belongs to for ``--by field``."""
    if field == SOURCE:
        return source
    if not meta or field not in meta:
        return MISSING
    value = meta[field]
    if isinstance(value, str):
        return value
    if value is None:
        return MISSING
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()  # true, 3, ["a"]


def bounded(groups: Mapping[str, Any], key: str) -> tuple[str, bool]:
    """``key``, or :data:`OTHER` when ``groups`` is full; and whether that happened."""
    if key in groups or len(groups) < MAX_GROUPS:
        return key, False
    return OTHER, True


def slices_summary(field: str, groups: Mapping[str, Any], capped: bool) -> dict[str, Any]:
    """The summary's ``slices`` object; ``groups`` maps a value to its ``headline()``."""
    return {
        "by": field,
        "groups": {name: groups[name] for name in sorted(groups)},
        "capped": capped,
        "max_groups": MAX_GROUPS,
    }
