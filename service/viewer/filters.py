"""A samples page's query parameters, validated into a :class:`~.queries.Filter`.

``outcome`` is one of :data:`OUTCOMES`; with ``category`` the confusion outcomes
(``fp``/``fn``/``tp``) are that category's (``fn`` + ``violence``: gold says violence, the
verdict does not), otherwise they are the binary ones (unsafe = positive) and
``category`` means "gold has it".  ``gold``/``pred`` take a category, ``safe`` (gold:
nothing violated; pred: nothing predicted); ``source``; ``meta`` as ``key=value``; ``q``
searches the stored record's text (input, answers, reasons).  An unknown parameter or
value is an error naming it: nothing is silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .queries import Filter

#: outcome parameter -> (label, binary tag or per-category tag prefix)
OUTCOMES: dict[str, tuple[str, str]] = {
    "right": ("right", "o:correct"),
    "wrong": ("wrong (incl. failures)", "o:miss"),
    "fp": ("false positive", "fp"),
    "fn": ("false negative", "fn"),
    "tp": ("true positive", "tp"),
    "tn": ("true negative", "tn"),
    "parse_failure": ("parse failure", "o:parse_failure"),
    "error": ("error", "o:error"),
}
PARAMS = frozenset({"outcome", "category", "gold", "pred", "source", "meta", "q", "after"})


class BadFilter(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Query:
    """The parsed parameters (kept to re-fill the form and build links) and the filter."""

    params: dict[str, str]
    filter: Filter
    after: int


def parse_query(query: Mapping[str, str], allowed: frozenset[str] = PARAMS) -> Query:
    unknown = [k for k in query if k not in allowed]
    if unknown:
        raise BadFilter(unknown[0], "unknown parameter")
    params = {k: v for k, v in query.items() if v != ""}
    tags: list[str] = []
    category = params.get("category")
    outcome = params.get("outcome")
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise BadFilter("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
        tag = OUTCOMES[outcome][1]
        if ":" in tag:
            tags.append(tag)
        elif category is not None and tag != "tn":
            tags.append(f"{tag}:{category}")
            category = None  # the per-category tag already says it
        else:
            tags.append(f"b:{tag}")
    if category is not None:
        tags.append(f"g:{category}")
    for name, prefix in (("gold", "g:"), ("pred", "p:")):
        value = params.get(name)
        if value is not None:
            tags.append(prefix + ("" if value == "safe" else value))
    if "source" in params:
        tags.append(f"s:{params['source']}")
    if "meta" in params:
        if "=" not in params["meta"]:
            raise BadFilter("meta", "expected key=value")
        tags.append(f"m:{params['meta']}")
    try:
        after = int(params.get("after", "-1"))
    except ValueError as exc:
        raise BadFilter("after", "not an integer") from exc
    text = params.get("q", "")
    if len(text) > 200:
        raise BadFilter("q", "longer than 200 characters")
    return Query(params, Filter(tuple(tags), text), after)
