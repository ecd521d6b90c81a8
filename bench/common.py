"""What every ``bench`` command shares: exit codes, :class:`BenchError`, the store, consoles.

Command modules import this module and never the CLI root (``bench/cli.py``), so the
command layer has no import circle and each command loads only what it uses.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from policybench.service.store import Store
    from rich.console import Console

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class BenchError(click.ClickException):
    """A failure reported as ``error: message`` with a chosen exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def stderr_console() -> Console:
    """The console for progress and messages (stdout stays machine-readable)."""
    from rich.console import Console

    return Console(stderr=True)


def open_store(path: str | None, *, must_exist: bool = False) -> Store:
    """The run store at ``path`` (default: the user's), or exit 1 saying why not.

    ``must_exist``: for commands that only read or resume, a missing store is a usage
    error (exit 2) and no file or folder is created.
    """
    from pathlib import Path

    from policybench.service.errors import StoreError
    from policybench.service.store import Store, default_store_path

    where = Path(path) if path else default_store_path()
    if must_exist and not where.is_file():
        raise BenchError(f"{where}: no run store here (see --store)", EXIT_USAGE)
    try:
        return Store(where)
    except StoreError as exc:
        raise BenchError(str(exc), EXIT_FAILURE) from exc
