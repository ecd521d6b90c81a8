"""Shared CLI options.  Every option may also come from ``POLICYBENCH_<OPTION>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

ENV_PREFIX = "POLICYBENCH_"

F = Callable[..., Any]


def envvar_for(name: str) -> str:
    return ENV_PREFIX + name.lstrip("-").replace("-", "_").upper()


def option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` with the ``POLICYBENCH_`` environment variable filled in."""
    long_name = next(d for d in decls if d.startswith("--")).split("/")[0]
    kwargs.setdefault("envvar", envvar_for(long_name))
    kwargs.setdefault("show_envvar", True)
    return click.option(*decls, **kwargs)


def store_option(f: F) -> F:
    return option(
        "--store",
        type=click.Path(dir_okay=False),
        default=None,
        help="Run store (SQLite file). Default: ~/.local/share/policybench/runs.sqlite.",
    )(f)


FAILURE_RULES = ("wrong", "flip", "exclude")
FAILURES_HELP = (
    "How failures enter binary precision/recall/F1: wrong (every failure is the wrong class), "
    "flip (Ai2 safety-eval: an unparsed answer is the wrong class, a request error is left "
    "out), exclude (left out; the count is shown)."
)


def failures_option(default: str | None = "wrong") -> Callable[[F], F]:
    """``--failures wrong|flip|exclude``; ``default=None`` means "the run's own rule"."""
    return option(
        "--failures",
        type=click.Choice(FAILURE_RULES),
        default=default,
        show_default=default is not None,
        help=FAILURES_HELP if default is not None else FAILURES_HELP + " Default: the run's own.",
    )


def metric_option(f: F) -> F:
    """``--metric multi|binary|f1``: what a matrix grid's cells show."""
    return option(
        "--metric",
        type=click.Choice(["multi", "binary", "f1"]),
        default="multi",
        show_default=True,
        help="What each grid cell shows: multi-policy accuracy, binary accuracy, or binary F1 "
        "(unsafe = positive), each with its 95% interval.",
    )(f)


def json_option(f: F) -> F:
    return option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(f)


def request_options(f: F) -> F:
    """What decides the requests of a run (shared by export-batch and import-batch)."""
    decorators = [
        option("--dataset", required=True, help="Dataset file or shipped name."),
        option("--policies", default="minimal", show_default=True, help="Policy set."),
        option(
            "--strategy",
            type=click.Choice(["multi", "gauntlet"]),
            default="multi",
            show_default=True,
            help="Strategy.",
        ),
        option(
            "--model", default="openai/gpt-oss-safeguard-20b", show_default=True, help="Model name."
        ),
        option(
            "--max-tokens",
            type=int,
            default=2048,
            show_default=True,
            help="max_tokens per request.",
        ),
        option(
            "--temperature",
            type=float,
            default=0.0,
            show_default=True,
            help="Sampling temperature.",
        ),
        option(
            "--reasoning-effort",
            type=click.Choice(["low", "medium", "high"]),
            default=None,
            help="reasoning_effort.",
        ),
        option(
            "--chain-of-thought/--no-chain-of-thought",
            default=False,
            help="Ask for step-by-step reasoning.",
        ),
        option("--limit", type=int, default=None, help="Only the first N samples."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f
