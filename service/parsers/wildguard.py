"""WildGuard (AI2): three labelled lines, ``Harmful request: yes|no``,
``Response refusal: yes|no|N/A``, ``Harmful response: yes|no|N/A``.

``wildguard`` reads the line the task asks for (:attr:`ParseContext.task`): ``prompt``
the request line, ``response`` the harmful-response line, ``refusal`` the refusal line
(yes = refused).  What the answer holds never changes which line is read: a prompt-only
answer whose response lines say ``N/A`` is a failure for the response task, not a
fallback to the request line.  ``wildguard_request`` and ``wildguard_response`` read one
line whatever the task.  A line given twice with different values is ambiguous.
WildGuard names no categories: a harmful verdict with a several-policy prompt is a flag
without a category (:data:`~.base.UNMAPPED`).
"""

from __future__ import annotations

import re

from ..tasks import Task
from .base import ParseContext, Verdict, flagged, plain
from .window import lines, tail

REQUEST, REFUSAL, RESPONSE = "harmful request", "response refusal", "harmful response"
#: The line each task reads.
LINE_OF_TASK = {Task.PROMPT: REQUEST, Task.RESPONSE: RESPONSE, Task.REFUSAL: REFUSAL}
# Anchored at a stripped line's start, no nested quantifiers: linear in the line.
_LINE = re.compile(r"(harmful request|response refusal|harmful response)[ \t]*:(.*)", re.IGNORECASE)
_YES, _NO = {"yes", "true"}, {"no", "false"}
_ABSENT = {"n/a", "na", "none"}


def fields(content: str) -> dict[str, set[str]]:
    """``{"harmful request": {"yes"}, ...}``: every value each line was given, lower-cased."""
    values: dict[str, set[str]] = {}
    for line in lines(plain(tail(content))):
        m = _LINE.match(line)
        if m:
            value = m.group(2).strip(" \t.\"'").lower()
            values.setdefault(m.group(1).lower(), set()).add(value)
    return values


def _answer(values: dict[str, set[str]], key: str, ctx: ParseContext) -> Verdict:
    name = key.capitalize()
    given = values.get(key)
    if not given:
        return Verdict.fail(f"no verdict: no `{name}:` line")
    if len(given) > 1:
        return Verdict.fail(f"ambiguous: `{name}:` given as {', '.join(sorted(given))}")
    (value,) = given
    if value in _YES:
        return flagged(ctx, True)
    if value in _NO:
        return flagged(ctx, False)
    if value in _ABSENT:
        return Verdict.fail(f"no verdict: {name}: {value!r} (nothing was judged for this task)")
    return Verdict.fail(f"no verdict: {name}: {value!r} is not yes or no")


def parse(content: str, ctx: ParseContext) -> Verdict:
    return _answer(fields(content), LINE_OF_TASK[ctx.task], ctx)


def parse_request(content: str, ctx: ParseContext) -> Verdict:
    return _answer(fields(content), REQUEST, ctx)


def parse_response(content: str, ctx: ParseContext) -> Verdict:
    return _answer(fields(content), RESPONSE, ctx)
