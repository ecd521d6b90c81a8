"""``bench export RUN --format jsonl|csv|parquet -o FILE``: one row per sample, streamed.

``jsonl`` writes each stored record as it is (raw outputs, per-request latencies and
tokens included).  ``csv`` and ``parquet`` write flat columns (:data:`COLUMNS`), with the
per-request detail as a JSON string in ``parts``.  Parquet needs pyarrow (the optional
``policybench[parquet]`` extra).  The file is written next to its target and renamed into
place, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import orjson
from policybench.service.atomic import atomic_path
from policybench.service.errors import StoreError

from .common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, BenchError, open_store
from .options import option, store_option

COLUMNS = (
    "run_id",
    "sample_id",
    "seq",
    "source",
    "gold_labels",
    "gold_unsafe",
    "predicted",
    "outcome",
    "reason",
    "latency",
    "prompt_tokens",
    "completion_tokens",
    "requests",
    "raw_output",
    "parts",
)
_BATCH = 1000


def flat(run_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as one flat row; label sets are ``;``-joined, sorted."""
    gold = record.get("gold") or {}
    labels = gold.get("labels")
    predicted = record.get("predicted")
    parts = record.get("parts") or []
    if len(parts) == 1:
        raw = parts[0].get("content")
    else:
        raw = orjson.dumps({p["key"]: p.get("content") for p in parts}).decode()
    return {
        "run_id": run_id,
        "sample_id": record["sample_id"],
        "seq": record.get("seq"),
        "source": record.get("source", ""),
        "gold_labels": None if labels is None else ";".join(sorted(labels)),
        "gold_unsafe": gold.get("unsafe"),
        "predicted": None if predicted is None else ";".join(sorted(predicted)),
        "outcome": record.get("outcome"),
        "reason": record.get("reason"),
        "latency": record.get("latency"),
        "prompt_tokens": record.get("prompt_tokens"),
        "completion_tokens": record.get("completion_tokens"),
        "requests": len(parts),
        "raw_output": raw,
        "parts": orjson.dumps(parts).decode(),
    }


def _write_jsonl(records: Iterator[dict[str, Any]], tmp: Path) -> int:
    n = 0
    with tmp.open("wb") as fh:
        for record in records:
            fh.write(orjson.dumps(record) + b"\n")
            n += 1
    return n


def _write_csv(run_id: str, records: Iterator[dict[str, Any]], tmp: Path) -> int:
    n = 0
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(flat(run_id, record))
            n += 1
    return n


def _write_parquet(run_id: str, records: Iterator[dict[str, Any]], tmp: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise BenchError(
            "--format parquet needs pyarrow: pip install 'policybench[parquet]'", EXIT_USAGE
        ) from exc
    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("sample_id", pa.string()),
            ("seq", pa.int64()),
            ("source", pa.string()),
            ("gold_labels", pa.string()),
            ("gold_unsafe", pa.bool_()),
            ("predicted", pa.string()),
            ("outcome", pa.string()),
            ("reason", pa.string()),
            ("latency", pa.float64()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("requests", pa.int64()),
            ("raw_output", pa.string()),
            ("parts", pa.string()),
        ]
    )
    n = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        batch: list[dict[str, Any]] = []
        for record in records:
            batch.append(flat(run_id, record))
            if len(batch) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def export_command(run: str, fmt: str, output: str, store_path: str | None) -> int:
    store = open_store(store_path, must_exist=True)
    target = Path(output)
    try:
        try:
            row = store.get_run(run)
        except StoreError as exc:
            raise BenchError(str(exc), EXIT_USAGE) from exc
        records = store.iter_records(row.run_id)
        try:
            with atomic_path(target) as tmp:
                if fmt == "jsonl":
                    n = _write_jsonl(records, tmp)
                elif fmt == "csv":
                    n = _write_csv(row.run_id, records, tmp)
                else:
                    n = _write_parquet(row.run_id, records, tmp)
        except OSError as exc:
            raise BenchError(f"{target}: {exc.strerror or exc}", EXIT_FAILURE) from exc
    finally:
        store.close()
    import click

    click.echo(f"{n} records of run {row.run_id} written to {target} ({fmt})", err=True)
    return EXIT_OK


@click.command("export")
@click.argument("run")
@option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default="jsonl",
    show_default=True,
    help="jsonl: stored records as they are; csv/parquet: flat columns (parquet needs pyarrow).",
)
@option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@store_option
def export_cmd(run: str, fmt: str, output: str, store: str | None) -> None:
    """Export a run's per-sample records, one row per sample with its sample_id."""

    sys.exit(export_command(run, fmt, output, store))
