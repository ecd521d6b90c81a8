"""JSON verdicts, as gpt-oss-safeguard and most prompted models give them.

Accepted shapes: ``{"violations": [...]}`` (or ``categories``/``violated_categories``),
per-category flags ``{"hate_speech": 1, ...}``, and the one-policy
``{"violation": 0|1, "policy_category": "..."}`` (OpenAI's guidance for gpt-oss-safeguard).
The object may sit in a code fence or in surrounding text; the last complete object wins,
since reasoning-style answers often quote the format before giving the answer.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .base import EMPTY, ParseContext, Verdict, single

_LIST_KEYS = ("violations", "violated_categories", "categories", "violated", "labels")
_FLAG_KEYS = ("violation", "violates", "violating", "flagged", "unsafe", "is_violation")
_TRUE = {"1", "true", "yes", "violation", "violates", "unsafe", "y"}
_FALSE = {"0", "false", "no", "safe", "none", "n", "valid"}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse(content: str, ctx: ParseContext) -> Verdict:
    objects = list(_json_objects(content))
    if not objects:
        return Verdict.fail("no JSON object in the answer")
    last_failure: Verdict | None = None
    for obj in reversed(objects):
        verdict = _from_object(obj, ctx)
        if verdict.ok:
            return verdict
        last_failure = last_failure or verdict
    assert last_failure is not None
    return last_failure


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level ``{...}`` in ``text`` that decodes (leniently) to an object."""
    found: list[dict[str, Any]] = []
    depth = 0
    start = -1
    in_string: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == in_string:
                in_string = None
            continue
        if ch == '"' or (ch == "'" and depth > 0 and _quote_opens(text, i)):
            in_string = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                obj = _loads(text[start : i + 1])
                if isinstance(obj, dict):
                    found.append(obj)
    return found


def _quote_opens(text: str, i: int) -> bool:
    """A single quote opens a string only where JSON would expect a key or value."""
    j = i - 1
    while j >= 0 and text[j] in " \t\r\n":
        j -= 1
    return j >= 0 and text[j] in "{[,:"


def _loads(chunk: str) -> Any:
    try:
        return orjson.loads(chunk)
    except orjson.JSONDecodeError:
        pass
    repaired = _TRAILING_COMMA.sub(r"\1", chunk)
    if "'" in repaired and '"' not in repaired:
        repaired = repaired.replace("'", '"')
    try:
        return orjson.loads(repaired)
    except orjson.JSONDecodeError:
        return None


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    return None


def _from_object(obj: dict[str, Any], ctx: ParseContext) -> Verdict:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for key in _LIST_KEYS:
        if key in lowered:
            return _from_list(lowered[key], ctx, key)
    for key in _FLAG_KEYS:
        if key in lowered:
            flag = _truthy(lowered[key])
            if flag is None:
                return Verdict.fail(f"{key}: not a 0/1 value: {lowered[key]!r}")
            if ctx.target is not None:
                return single(ctx, flag)
            if not flag:
                return Verdict(EMPTY)
            named = lowered.get("policy_category") or lowered.get("category")
            if isinstance(named, str):
                return _from_list([named], ctx, "policy_category")
            if isinstance(named, list):
                return _from_list(named, ctx, "policy_category")
            return Verdict.fail("a violation without the category it violates")
    flags: dict[str, bool] = {}
    for key, value in obj.items():
        category = ctx.normalise(str(key))
        if category is None:
            continue
        flag = _truthy(value)
        if flag is None:
            return Verdict.fail(f"{key}: not a 0/1 value: {value!r}")
        flags[category] = flag
    if flags:
        if ctx.target is not None:
            if ctx.target not in flags:
                return Verdict.fail(f"no flag for {ctx.target!r}")
            return single(ctx, flags[ctx.target])
        return Verdict(frozenset(c for c, f in flags.items() if f))
    return Verdict.fail("a JSON object without a recognisable verdict")


def _from_list(value: Any, ctx: ParseContext, key: str) -> Verdict:
    if isinstance(value, str):
        value = [] if value.strip().lower() in ("", "none", "[]") else [value]
    if not isinstance(value, list):
        return Verdict.fail(f"{key}: expected a list of categories")
    out: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            return Verdict.fail(f"{key}: {item!r} is not a category name")
        if item.strip().lower() in ("none", "safe", ""):
            continue
        category = ctx.normalise(item)
        if category is None:
            return Verdict.fail(f"{key}: unknown category {item!r}")
        out.add(category)
    if ctx.target is not None:
        return single(ctx, ctx.target in out)
    return Verdict(frozenset(out))
