"""Parsers: a model's raw answer in, a :class:`Verdict` out.

Public API::

    from policybench.service.parsers import parse, ParseContext, FORMATS
    parse('{"violations": ["violence"]}', "json", ParseContext(categories=("violence",)))

Each output family lives in its own module and registers here by name.  ``parse`` never
raises: anything that is not a clear verdict comes back as a failure with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

from . import json_verdict
from .base import EMPTY, ParseContext, Verdict, precheck

Parser = Callable[[str, ParseContext], Verdict]

FORMATS: dict[str, Parser] = {
    "json": json_verdict.parse,
}

__all__ = ["EMPTY", "FORMATS", "ParseContext", "Parser", "Verdict", "parse"]


def parse(
    content: str | None, fmt: str, ctx: ParseContext, finish_reason: str | None = None
) -> Verdict:
    """Parse ``content`` (the final answer, never the reasoning) in format ``fmt``."""
    early = precheck(content, finish_reason)
    if early is not None:
        return early
    assert content is not None
    try:
        parser = FORMATS[fmt]
    except KeyError:
        return Verdict.fail(f"unknown output format {fmt!r}")
    try:
        return parser(content, ctx)
    except Exception as exc:  # a parser bug must not lose a sample
        return Verdict.fail(f"parser error: {type(exc).__name__}: {exc}")
