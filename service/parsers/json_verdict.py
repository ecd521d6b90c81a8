"""JSON verdicts, as gpt-oss-safeguard and most prompted models give them.

Accepted shapes: ``{"violations": [...]}`` (or ``categories``/``violated_categories``),
per-category flags ``{"hate_speech": 1, ...}``, and the one-policy
``{"violation": 0|1, "policy_category": "..."}`` (OpenAI's guidance for gpt-oss-safeguard).
The object may sit in a code fence or in surrounding text.  The last object holding a
verdict decides, even when that verdict is a failure (``{"violations": ["weapons"]}`` with
no such category fails; it never falls back to an earlier ``{"violations": []}``); an
object introduced as an example (``The format is {...}``, ``e.g. {...}``) is skipped, and
objects holding no verdict key at all (``{"rationale": ...}``) are passed over.  An empty
string where the list belongs (``{"violations": ""}``) is a failure.  Without a JSON
verdict, a gpt-oss-safeguard multi-policy report (``**Violated Policies:** [...]``) is
read (:mod:`.policy_report`).  Only the answer's tail (:mod:`.window`) is scanned, in one
pass.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from . import policy_report
from .base import EMPTY, ParseContext, Verdict, single
from .window import tail

_LIST_KEYS = ("violations", "violated_categories", "categories", "violated", "labels")
_FLAG_KEYS = ("violation", "violates", "violating", "flagged", "unsafe", "is_violation")
_TRUE = {"1", "true", "yes", "violation", "violates", "unsafe", "y"}
_FALSE = {"0", "false", "no", "safe", "none", "n", "valid"}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
#: Objects decoded per answer, from its end: the verdict is among the last.
_MAX_DECODES = 16
_SPECIAL = re.compile(r"[{}\"'\\]")
#: Words that introduce an object as an example of the format rather than the answer.
_EXAMPLE_CUES = (
    "format",
    "e.g",
    "example",
    "such as",
    "schema",
    "template",
    "for instance",
    "like this",
    "looks like",
)


def parse(content: str, ctx: ParseContext) -> Verdict:
    text = tail(content)
    objects = _json_objects(text)
    answers = [
        obj
        for i, (begin, _, obj) in enumerate(objects)
        if not _is_example(text, objects[i - 1][1] if i else 0, begin)
    ]
    for obj in reversed(answers):
        verdict = _from_object(obj, ctx)
        if verdict is not None:
            return verdict
    report = policy_report.read(text, ctx)
    if report is not None:
        return report
    if len(answers) < len(objects):
        return Verdict.fail("no verdict: only a quoted example of the JSON format")
    if answers:
        return Verdict.fail("no verdict: a JSON object without a recognisable verdict")
    return Verdict.fail("no verdict: no JSON object in the answer")


def _is_example(text: str, after: int, begin: int) -> bool:
    """An object introduced as an example (``The format is {...}``): a cue on its line
    before it (after the previous object, ``after``), or on the line before when only a
    code fence stands between (``The format is:\n```json\n{...}``)."""
    start = max(after, begin - 160)
    rows = text[start:begin].lower().split("\n")
    while len(rows) > 1 and rows[-1].strip().strip("`").strip() in ("", "json"):
        rows.pop()
    return any(cue in rows[-1][-80:] for cue in _EXAMPLE_CUES)


def _json_objects(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """The last objects in ``text`` that decode (leniently), as ``(start, end, object)``
    in text order.  One pass that jumps between braces, quotes and backslashes pairs
    every ``}`` with its ``{``; then the balanced spans are decoded from the end, outer
    before inner, an inner one only when its outer one is not JSON (so a stray ``{`` in
    prose never hides the answer), at most :data:`_MAX_DECODES` of them."""
    spans: list[tuple[int, int]] = []
    opens: list[int] = []
    in_string: str | None = None
    skip_to = -1
    for match in _SPECIAL.finditer(text):
        i = match.start()
        if i < skip_to:
            continue
        ch = text[i]
        if in_string:
            if ch == "\\":
                skip_to = i + 2
            elif ch == in_string:
                in_string = None
            continue
        if opens and (ch == '"' or (ch == "'" and _quote_opens(text, i))):
            in_string = ch
        elif ch == "{":
            opens.append(i)
        elif ch == "}" and opens:
            spans.append((opens.pop(), i + 1))
    spans.sort(key=lambda span: (-span[1], span[0]))
    found: list[tuple[int, int, dict[str, Any]]] = []
    decoded_from = len(text) + 1
    for begin, end in spans[: _MAX_DECODES * 4]:
        if end > decoded_from:  # inside an object already decoded
            continue
        obj = _loads(text[begin:end])
        if isinstance(obj, dict):
            found.append((begin, end, obj))
            decoded_from = begin
            if len(found) == _MAX_DECODES:
                break
    found.reverse()
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


def _from_object(obj: dict[str, Any], ctx: ParseContext) -> Verdict | None:
    """The object's verdict (or why it fails); ``None`` when it holds no verdict at all."""
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
    return None


def _from_list(value: Any, ctx: ParseContext, key: str) -> Verdict:
    if isinstance(value, str):
        if not value.strip():
            return Verdict.fail(f"no verdict: {key}: an empty string, not a list")
        value = [] if value.strip().lower() in ("none", "[]") else [value]
    if not isinstance(value, list):
        return Verdict.fail(f"{key}: expected a list of categories")
    out: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            return Verdict.fail(f"{key}: {item!r} is not a category name")
        if not item.strip():
            return Verdict.fail(f"no verdict: {key}: an empty category name")
        if item.strip().lower() in ("none", "safe"):
            continue
        category = ctx.normalise(item)
        if category is None:
            return Verdict.fail(f"{key}: unknown category {item!r}")
        out.add(category)
    if ctx.target is not None:
        return single(ctx, ctx.target in out)
    return Verdict(frozenset(out))
