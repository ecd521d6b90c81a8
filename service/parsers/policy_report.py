"""gpt-oss-safeguard's multi-policy report: given several policies, the model often writes
a markdown report instead of the JSON the prompt asked for, ending with a line such as
``**Violated Policies:** [illegal-activity, violence]`` (or ``None``), or that heading
followed by a bulleted list.

Policy names are matched to the run's categories by :meth:`ParseContext.normalise`
(case, spaces, ``-`` and ``_`` do not matter: ``illegal-activity`` is
``illegal_activity``); a parenthesised note after a name is dropped.  A name the run does
not know is a failure, as in JSON.  The last report line decides.  The ``json`` parser
falls back to this one; ``policy_report`` reads it on its own.
"""

from __future__ import annotations

import re

from .base import EMPTY, ParseContext, Verdict, plain, single
from .window import tail

_HEADING = re.compile(
    r"(?:violated[ \t]+(?:policies|policy|categories)|policies[ \t]+violated)[ \t]*:[ \t]*(.*)",
    re.IGNORECASE,
)
_BULLET = re.compile(r"(?:[-*•+]|\d{1,3}[.)])[ \t]+(.*)")
_NOTE = re.compile(r"\([^()]*\)")


def read(text: str, ctx: ParseContext) -> Verdict | None:
    """The verdict of the last report line in ``text``; ``None`` when there is none."""
    rows = [line.strip() for line in text.splitlines()]
    names: list[str] | None = None
    for i, row in enumerate(rows):
        heading = _HEADING.match(plain(row).strip())
        if heading is None:
            continue
        value = heading.group(1).strip()
        if value:
            names = _split(value)
            continue
        names = []
        for following in rows[i + 1 :]:
            bullet = _BULLET.match(following)
            if bullet is None:
                if following:
                    break
                continue
            names.extend(_split(bullet.group(1)))
        if not names:
            return Verdict.fail("no verdict: `Violated Policies:` names nothing")
    if names is None:
        return None
    return _verdict(names, ctx)


def _split(value: str) -> list[str]:
    value = _NOTE.sub("", plain(value)).strip().strip("[]{}")
    return [n.strip().strip("\"'`.") for n in value.split(",")]


def _verdict(names: list[str], ctx: ParseContext) -> Verdict:
    out: set[str] = set()
    for name in names:
        if not name:
            return Verdict.fail("no verdict: an empty policy name in `Violated Policies:`")
        if name.lower() in ("none", "n/a", "no policies", "nothing"):
            continue
        category = ctx.normalise(name)
        if category is None:
            return Verdict.fail(f"Violated Policies: unknown policy {name!r}")
        out.add(category)
    if ctx.target is not None:
        return single(ctx, ctx.target in out)
    return Verdict(frozenset(out)) if out else Verdict(EMPTY)


def parse(content: str, ctx: ParseContext) -> Verdict:
    verdict = read(tail(content), ctx)
    if verdict is None:
        return Verdict.fail("no verdict: no `Violated Policies:` line")
    return verdict
