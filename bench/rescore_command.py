"""``bench rescore RUN``: re-parse a stored run with today's parsers; never a request.

Prints the new summary (terminal tables, or one JSON object with ``--json``) and what
changed against the run's own: samples whose verdict changed, and the headline figures
before and after.  The run's own records and summary stay as they were.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from policybench.service.binary import FailureRule
from policybench.service.errors import InputError, StoreError
from policybench.service.rescoring import RescoreResult, rescore
from policybench.service.summary import Interval, RunSummary

from .common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, BenchError, open_store, stderr_console
from .options import failures_option, json_option, option, store_option

_HEADLINES = ("multi_policy_accuracy", "binary_accuracy", "binary_f1")
_SHOWN = (*_HEADLINES, "parse_failures")


def _figure(summary: RunSummary | None, key: str) -> Any:
    """The figure ``key`` of ``summary`` as JSON (an interval, a count), or None."""
    if summary is None:
        return None
    figure = {
        "multi_policy_accuracy": summary.multi_policy_accuracy,
        "binary_accuracy": summary.binary_accuracy,
        "binary_f1": summary.binary_f1,
        "parse_failures": summary.parse_failures,
    }[key]
    return figure.to_json() if isinstance(figure, Interval) else figure


def _value(summary: RunSummary | None, key: str) -> float | None:
    figure = _figure(summary, key)
    value = figure["value"] if isinstance(figure, dict) else figure
    return None if value is None else float(value)


def as_json(result: RescoreResult) -> dict[str, Any]:
    return {
        "rescore_id": result.rescore_id,
        "run_id": result.run_id,
        "output_format": result.output_format,
        "failure_rule": str(result.failures),
        "threshold": (
            result.summary.scores.operating_point.threshold
            if result.summary.scores is not None and result.summary.scores.operating_point
            else None
        ),
        "samples": result.samples,
        "changed": result.changed,
        "same_summary": result.same_summary,
        "previous": {k: _figure(result.previous, k) for k in _SHOWN},
        "summary": result.summary.to_json(),
    }


def _show(value: float | None, pct: bool) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if pct else str(value)


def _describe(result: RescoreResult) -> str:
    fmt = result.output_format or "the run's own formats"
    lines = [
        f"rescore {result.rescore_id} of run {result.run_id} ({fmt}, failures: {result.failures}): "
        f"{result.samples} samples re-parsed, {result.changed} verdicts changed, no request sent"
    ]
    for key in _SHOWN:
        old, new = _value(result.previous, key), _value(result.summary, key)
        pct = isinstance(old, float) or isinstance(new, float)
        lines.append(f"  {key}: {_show(old, pct)} -> {_show(new, pct)}")
    before = result.previous.scores if result.previous is not None else None
    old_op = before.operating_point if before is not None else None
    new_op = result.summary.scores.operating_point if result.summary.scores is not None else None
    if new_op:
        was = f"{old_op.threshold:g}" if old_op else "n/a"
        lines.append(
            f"  operating point: threshold {was} -> {new_op.threshold:g}, "
            f"precision {_show(new_op.precision, True)}, recall {_show(new_op.recall, True)}, "
            f"FPR {_show(new_op.false_positive_rate, True)}"
        )
    if result.same_summary:
        lines.append("  summary identical to the run's own")
    return "\n".join(lines)


def rescore_command(
    run: str,
    output_format: str | None,
    store: str | None,
    json_out: bool,
    failures: str | None = None,
    threshold: float | None = None,
) -> int:
    db = open_store(store)
    try:
        try:
            rule = None if failures is None else FailureRule(failures)
            result = rescore(db, run, output_format, rule, threshold)
        except InputError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
        except StoreError as exc:
            code = EXIT_USAGE if "no run" in str(exc) or "ambiguous" in str(exc) else EXIT_FAILURE
            raise BenchError(str(exc), code) from exc
    finally:
        db.close()
    console = stderr_console()
    if json_out:
        console.print(_describe(result), highlight=False, soft_wrap=True)
        sys.stdout.write(orjson.dumps(as_json(result)).decode() + "\n")
        return EXIT_OK
    from rich.console import Console

    from .render import render_summary

    render_summary(result.summary, Console())
    Console().print(_describe(result), highlight=False, soft_wrap=True)
    return EXIT_OK


@click.command("rescore")
@click.argument("run")
@option(
    "--output-format",
    default=None,
    metavar="FORMAT",
    help="Re-parse in this format instead of the run's (see `bench parse --help`).",
)
@failures_option(None)
@option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Move the scores' operating point (a score at or above it is unsafe); "
    "the stored scores are reused, no request is sent.",
)
@store_option
@json_option
def rescore_cmd(
    run: str,
    output_format: str | None,
    failures: str | None,
    threshold: float | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Re-parse a stored run's raw answers with today's parsers; no request is sent.

    The new verdicts and summary are stored beside the run's own (which stay as they
    were) and the summary is printed, with what changed.
    """

    sys.exit(rescore_command(run, output_format, store, as_json, failures, threshold))
