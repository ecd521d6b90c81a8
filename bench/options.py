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


def json_option(f: F) -> F:
    return option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(f)
