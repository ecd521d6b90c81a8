"""``bench show RUN``: one stored run's summary (rebuilt from its records when it was killed)."""

from __future__ import annotations

import click

from .common import EXIT_USAGE, BenchError, open_store
from .options import json_option, store_option


@click.command("show")
@click.argument("run_id")
@store_option
@json_option
def show_cmd(run_id: str, store: str | None, as_json: bool) -> None:
    """Print a stored run's summary."""
    import orjson
    from policybench.service.errors import StoreError
    from rich.console import Console

    from .render import render_summary

    db = open_store(store)
    try:
        row = db.get_run(run_id)
    except StoreError as exc:
        raise BenchError(str(exc), EXIT_USAGE) from exc
    if row.summary is None:
        # killed before it could write one: the summary so far, from its stored records
        import dataclasses

        from policybench.service.runsummary import summarise

        row = dataclasses.replace(row, summary=summarise(db, row.run_id).summary)
    assert row.summary is not None
    if as_json:
        click.echo(orjson.dumps(row.summary.to_json()).decode())
    else:
        render_summary(row.summary, Console())
