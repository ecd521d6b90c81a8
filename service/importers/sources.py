"""Reading a source file row by row, whatever its container: CSV, JSONL, a JSON list or
parquet, each optionally gzip-compressed (parquet compresses itself).

Problems become :class:`DatasetError` naming the file, the line (the row number for
parquet) and the column: invalid UTF-8, a truncated gzip, a missing column, an empty
file.  CSV and JSONL are streamed; a JSON list is read whole (that format cannot be
streamed without a parser of its own), parquet one batch at a time.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from ..errors import DatasetError
from .base import Row

_READ_ERRORS = (OSError, EOFError, zlib.error)


def container(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for suffix, kind in (
        (".parquet", "parquet"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
    ):
        if name.endswith(suffix):
            return kind
    raise DatasetError(
        path, None, None, "unknown file type (expected .csv, .tsv, .jsonl, .json or .parquet)"
    )


def read_rows(
    path: Path, columns: Sequence[str] = (), any_of: Sequence[Sequence[str]] = ()
) -> Iterator[Row]:
    """Rows of ``path`` as dicts; the first row (or the CSV header) is checked for the
    required ``columns`` and for one column of each ``any_of`` group."""
    kind = container(path)
    if kind == "parquet":
        rows = _parquet_rows(path)
    elif kind in ("csv", "tsv"):
        rows = _csv_rows(path, "\t" if kind == "tsv" else ",")
    elif kind == "jsonl":
        rows = _jsonl_rows(path)
    else:
        rows = _json_list_rows(path)
    first = True
    for row in rows:
        if first:
            _check_columns(path, row, columns, any_of)
            first = False
        yield row
    if first:
        raise DatasetError(path, None, None, "empty file: no rows")


def _check_columns(
    path: Path, row: Row, columns: Sequence[str], any_of: Sequence[Sequence[str]]
) -> None:
    have = list(row.data)
    for column in columns:
        if column not in row.data:
            raise DatasetError(
                path, row.line, column, f"missing column (the file has: {', '.join(have)})"
            )
    for group in any_of:
        if not any(c in row.data for c in group):
            raise DatasetError(
                path,
                row.line,
                group[0],
                f"missing column: need one of {', '.join(group)} (the file has: {', '.join(have)})",
            )


def _raw_lines(path: Path) -> Iterator[bytes]:
    try:
        opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
        handle: Any = opener(path, "rb")
    except OSError as exc:
        raise DatasetError(path, None, None, exc.strerror or str(exc)) from exc
    lineno = 0
    try:
        for lineno, line in enumerate(handle, start=1):  # noqa: B007 - used after the loop
            yield line
    except gzip.BadGzipFile as exc:
        raise DatasetError(path, None, None, f"not a valid gzip file: {exc}") from exc
    except EOFError as exc:
        raise DatasetError(
            path, lineno + 1, None, "truncated gzip: the compressed stream ends early"
        ) from exc
    except _READ_ERRORS as exc:
        raise DatasetError(path, lineno + 1, None, f"cannot read: {exc}") from exc
    finally:
        handle.close()


def _decoded(path: Path) -> Iterator[tuple[int, str]]:
    for lineno, raw in enumerate(_raw_lines(path), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(
                path, lineno, None, f"invalid UTF-8 at byte {exc.start} of the line"
            ) from exc
        if lineno == 1:
            text = text.removeprefix("\ufeff")
        yield lineno, text


def _jsonl_rows(path: Path) -> Iterator[Row]:
    for lineno, text in _decoded(path):
        if not text.strip():
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DatasetError(path, lineno, None, f"invalid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise DatasetError(path, lineno, None, "expected a JSON object on each line")
        yield Row(lineno, obj)


def _csv_rows(path: Path, delimiter: str) -> Iterator[Row]:
    current = [0]

    def lines() -> Iterator[str]:
        for lineno, text in _decoded(path):
            current[0] = lineno
            yield text

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise DatasetError(path, None, None, "empty file: no header line")
        header = [h.strip() for h in header]
        for record in reader:
            if not record or all(not cell.strip() for cell in record):
                continue
            line = reader.line_num
            if len(record) > len(header):
                raise DatasetError(
                    path, line, None, f"{len(record)} fields, the header has {len(header)}"
                )
            yield Row(line, dict(zip(header, record, strict=False)))
    except csv.Error as exc:
        raise DatasetError(path, current[0], None, f"bad CSV: {exc}") from exc


def _json_list_rows(path: Path) -> Iterator[Row]:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except (*_READ_ERRORS, gzip.BadGzipFile) as exc:
        raise DatasetError(path, None, None, f"cannot read: {exc}") from exc
    if not raw.strip():
        raise DatasetError(path, None, None, "empty file: no rows")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DatasetError(path, line, None, "invalid UTF-8") from exc
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DatasetError(path, None, None, f"invalid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise DatasetError(path, 1, None, "expected a JSON list of objects")
    for index, obj in enumerate(items, start=1):
        if not isinstance(obj, dict):
            raise DatasetError(path, None, f"[{index - 1}]", "expected a JSON object")
        yield Row(index, obj)


def _parquet_rows(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DatasetError(
            path, None, None, "reading parquet needs pyarrow: pip install 'policybench[parquet]'"
        ) from exc
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError family
        raise DatasetError(path, None, None, f"not a readable parquet file: {exc}") from exc
    index = 0
    try:
        for batch in parquet.iter_batches(batch_size=2048):
            for obj in batch.to_pylist():
                index += 1
                yield Row(index, obj)
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(path, index + 1, None, f"cannot read parquet: {exc}") from exc
