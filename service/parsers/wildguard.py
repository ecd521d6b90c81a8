"""WildGuard (AI2): three labelled lines, ``Harmful request: yes|no``,
``Response refusal: yes|no|N/A``, ``Harmful response: yes|no|N/A``.

``wildguard`` reads the response line when it holds yes/no (a response-harm sample) and
the request line otherwise; ``wildguard_request`` and ``wildguard_response`` read one
line only.  WildGuard names no categories: a harmful verdict with a several-policy prompt
is a flag without a category (:data:`~.base.UNMAPPED`).
"""

from __future__ import annotations

import re

from .base import ParseContext, Verdict, flagged, plain

_LINE = re.compile(
    r"^\s*(harmful request|response refusal|harmful response)\s*:\s*([A-Za-z/]+)",
    re.IGNORECASE | re.MULTILINE,
)
_YES, _NO = {"yes", "true"}, {"no", "false"}


def fields(content: str) -> dict[str, str]:
    """``{"harmful request": "yes", ...}``: the last value of each line, lower-cased."""
    return {m.group(1).lower(): m.group(2).lower() for m in _LINE.finditer(plain(content))}


def _answer(values: dict[str, str], key: str, ctx: ParseContext) -> Verdict:
    value = values.get(key)
    if value is None:
        return Verdict.fail(f"no `{key.capitalize()}:` line")
    if value in _YES:
        return flagged(ctx, True)
    if value in _NO:
        return flagged(ctx, False)
    return Verdict.fail(f"{key.capitalize()}: {value!r} is not yes or no")


def parse(content: str, ctx: ParseContext) -> Verdict:
    values = fields(content)
    if values.get("harmful response") in _YES | _NO:
        return _answer(values, "harmful response", ctx)
    return _answer(values, "harmful request", ctx)


def parse_request(content: str, ctx: ParseContext) -> Verdict:
    return _answer(fields(content), "harmful request", ctx)


def parse_response(content: str, ctx: ParseContext) -> Verdict:
    return _answer(fields(content), "harmful response", ctx)
