"""``bench parse``: raw model answers in (JSON lines on stdin), verdicts out (stdout).

A tool for checking a parser against real outputs without a run: each input line is a
JSON object with the answer text in ``--field`` (and optionally ``id`` and
``finish_reason``); each output line is ``{"id", "ok", "categories"}`` or
``{"id", "ok": false, "reason"}``.  The whole input is read and checked first, so a
malformed line (exit 2, naming the line and field) leaves stdout empty.  Counts per
outcome (``safe``, ``violation``, ``failure``) go to stderr.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import IO, Any

import click
import orjson
from policybench.service.parsers import FORMATS, ParseContext, Verdict, parse
from policybench.service.tasks import Task

from .common import EXIT_OK, EXIT_USAGE, BenchError
from .options import option


def _context(categories: str, target: str | None, task: str = "prompt") -> ParseContext:
    cats = tuple(c.strip() for c in categories.split(",") if c.strip())
    if not cats:
        raise BenchError("--categories: no category given", EXIT_USAGE)
    if target is not None and target not in cats:
        raise BenchError(f"--target: {target!r} is not one of --categories", EXIT_USAGE)
    return ParseContext(categories=cats, target=target, task=Task(task))


def read_answers(stream: IO[bytes], field: str) -> list[tuple[Any, str | None, str | None]]:
    """``(id, text, finish_reason)`` per line; :class:`BenchError` (exit 2) on a bad line."""
    out: list[tuple[Any, str | None, str | None]] = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        where = f"stdin:{number}"
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BenchError(f"{where}: not a JSON object: {exc}", EXIT_USAGE) from exc
        if not isinstance(obj, dict):
            raise BenchError(f"{where}: not a JSON object", EXIT_USAGE)
        if field not in obj:
            raise BenchError(f"{where}: {field}: missing", EXIT_USAGE)
        text = obj[field]
        if text is not None and not isinstance(text, str):
            raise BenchError(f"{where}: {field}: not a string", EXIT_USAGE)
        finish = obj.get("finish_reason")
        out.append((obj.get("id"), text, finish if isinstance(finish, str) else None))
    return out


def verdict_json(ident: Any, verdict: Verdict) -> dict[str, Any]:
    if verdict.categories is None:
        return {"id": ident, "ok": False, "reason": verdict.reason}
    return {"id": ident, "ok": True, "categories": sorted(verdict.categories)}


def parse_command(opts: dict[str, Any]) -> int:
    fmt = opts["fmt"]
    if fmt not in FORMATS:
        raise BenchError(
            f"--format: unknown format {fmt!r} (known: {', '.join(FORMATS)})", EXIT_USAGE
        )
    ctx = _context(opts["categories"], opts["target"], opts.get("task") or "prompt")
    answers = read_answers(sys.stdin.buffer, opts["field"])
    counts: Counter[str] = Counter()
    out = sys.stdout.buffer
    for ident, text, finish in answers:
        verdict = parse(text, fmt, ctx, finish)
        if verdict.categories is None:
            counts["failure"] += 1
        else:
            counts["violation" if verdict.categories else "safe"] += 1
        out.write(orjson.dumps(verdict_json(ident, verdict)) + b"\n")
    out.flush()
    total = sum(counts.values())
    parts = ", ".join(f"{k} {counts[k]}" for k in ("safe", "violation", "failure"))
    sys.stderr.write(f"{total} answers: {parts}\n")
    return EXIT_OK


class _ParseCommand(click.Command):
    """Lists the parse formats in its help, importing them only when help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from policybench.service.parsers import DESCRIPTIONS

        with formatter.section("Formats"):
            formatter.write_dl(list(DESCRIPTIONS.items()))


@click.command("parse", cls=_ParseCommand)
@option(
    "--format",
    "fmt",
    required=True,
    metavar="FORMAT",
    help="Output format of the raw answers (listed below).",
)
@option(
    "--field",
    default="content",
    show_default=True,
    help="Field of each input object that holds the answer text.",
)
@option(
    "--categories",
    default="hate_speech,violence,self_harm,sexual_minors,harassment,illegal",
    show_default=True,
    help="Comma-separated category ids the answers may name.",
)
@option(
    "--target",
    default=None,
    metavar="CATEGORY",
    help="Answers are to a one-policy prompt about this category (as in gauntlet).",
)
@option(
    "--task",
    type=click.Choice(["prompt", "response", "refusal"]),
    default="prompt",
    show_default=True,
    help="What the answers judge: which line of a multi-part answer is read (GuardReasoner's "
    "Request/Response/Completion, WildGuard's three lines, Qwen3Guard's Refusal).",
)
def parse_cmd(**opts: Any) -> None:
    """Parse raw model answers: JSON lines on stdin, one JSON verdict per line on stdout.

    Each input line is a JSON object with the answer in --field (and optionally `id` and
    `finish_reason`); each output line has that `id`, `ok`, and the violated
    `categories` or the failure `reason`.  Counts per outcome go to stderr.
    """

    sys.exit(parse_command(opts))
