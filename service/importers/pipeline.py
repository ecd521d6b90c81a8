"""Running an import: convert every row, then write the kept (or sampled) samples to a
new JSONL dataset atomically.

Two passes over the source: the first converts and validates every row and counts what
is kept and dropped (bad input stops here, before any file exists); the second writes
the selected samples to a temporary file beside the output, which is renamed into place
only when complete.  Sampling is reproducible: ``--sample N`` picks positions with a
``random.Random`` seeded by ``--seed`` (and, with ``--stratify``, by the label set), so
the same source, mapping and seed give byte-identical output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from .. import __version__
from ..atomic import atomic_path
from ..datasets import FORMAT_VERSION, HEADER_KEY, Sample, label_set_name, sample_record
from ..errors import DatasetError
from .base import Context, Dropped, Importer, ImportOptions, Row
from .mapping import LabelMapping, default_mapping_path, load_mapping
from .sources import read_rows


@dataclass(slots=True)
class ImportReport:
    """What an import read, kept, dropped (with reasons) and wrote."""

    format: str
    src: str
    out: str
    rows: int = 0
    kept: int = 0
    written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    strata: Counter[str] = field(default_factory=Counter)
    written_strata: Counter[str] = field(default_factory=Counter)
    mapping: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "src": self.src,
            "out": self.out,
            "rows": self.rows,
            "kept": self.kept,
            "written": self.written,
            "dropped": dict(self.dropped.most_common()),
            "labels": dict(self.written_strata.most_common()),
            "mapping": self.mapping,
        }


def build_context(importer: Importer, src: Path, options: ImportOptions) -> Context:
    mapping: LabelMapping | None = None
    if options.mapping is not None:
        mapping = load_mapping(options.mapping)
    elif importer.mapping is not None:
        mapping = load_mapping(default_mapping_path(importer.mapping))
    return Context(
        src=src, options=options, mapping=mapping, prefix=importer.prefix or importer.name
    )


def _converted(importer: Importer, ctx: Context) -> Iterator[tuple[Row, Sample | Dropped]]:
    columns = importer.columns_from(ctx) if importer.columns_from else importer.columns
    rows = (
        importer.rows(ctx.src, ctx)
        if importer.rows
        else read_rows(ctx.src, columns, importer.any_of)
    )
    seen: set[str] = set()
    repeats: Counter[str] = Counter()
    for row in rows:
        result = importer.convert(row, ctx)
        if isinstance(result, Sample):
            if result.id in seen and importer.keep_duplicates:
                repeats[result.id] += 1
                result = dataclasses.replace(result, id=f"{result.id}.{repeats[result.id] + 1}")
            if result.id in seen:
                result = Dropped("duplicate (same text as an earlier row)")
            else:
                seen.add(result.id)
        yield row, result


def run_import(
    importer: Importer,
    src: Path,
    out: Path,
    options: ImportOptions,
    protocol: dict[str, Any] | None = None,
) -> ImportReport:
    """Import ``src`` into ``out``.  Raises :class:`DatasetError` (nothing written) on bad input.

    ``protocol`` (a published recipe's name, task, source and expected counts) goes into
    the output's header, so a run on the file can say which published table it matches."""
    if not src.is_file():
        raise DatasetError(src, None, None, "no such file")
    if out.exists() and not options.force:
        raise DatasetError(out, None, None, "already exists (use --force to replace it)")
    if options.sample is not None and options.sample < 1:
        raise DatasetError(src, None, "--sample", "must be at least 1")
    ctx = build_context(importer, src, options)
    report = ImportReport(format=importer.name, src=str(src), out=str(out))
    if ctx.mapping is not None:
        report.mapping = ctx.mapping.as_record()

    # pass 1: validate and count
    for _row, result in _converted(importer, ctx):
        report.rows += 1
        if isinstance(result, Dropped):
            report.dropped[result.reason] += 1
        else:
            report.kept += 1
            report.strata[_stratum(result, options)] += 1
    if report.kept == 0:
        why = "; ".join(f"{r} ({n})" for r, n in report.dropped.most_common(3))
        raise DatasetError(src, None, None, f"no samples left to write (dropped: {why or 'none'})")
    chosen = _choose(report, options)

    # pass 2: write the selection
    imported: dict[str, Any] = {
        "format": importer.name,
        "file": src.name,
        "sha256": _file_digest(src),
        "mapping": report.mapping,
        "options": _options_record(options),
        "rows": report.rows,
        "kept": report.kept,
        "dropped": dict(sorted(report.dropped.items())),
        "written": report.kept if chosen is None else options.sample,
        "policybench": __version__,
    }
    if protocol is not None:
        imported["protocol"] = protocol
    header = {HEADER_KEY: FORMAT_VERSION, "imported": imported}
    positions: Counter[str] = Counter()
    with _atomic_output(out) as handle:
        handle.write(orjson.dumps(header) + b"\n")
        for _row, result in _converted(importer, ctx):
            if isinstance(result, Dropped):
                continue
            key = _stratum(result, options)
            index = positions[key]
            positions[key] += 1
            if chosen is not None and index not in chosen.get(key, ()):
                continue
            handle.write(orjson.dumps(sample_record(result)) + b"\n")
            report.written += 1
            report.written_strata[label_set_name(result)] += 1
    return report


def _stratum(sample: Sample, options: ImportOptions) -> str:
    return label_set_name(sample) if options.stratify else "all"


def _choose(report: ImportReport, options: ImportOptions) -> dict[str, set[int]] | None:
    """Positions (within each stratum) to keep, or ``None`` for all of them."""
    n = options.sample
    if n is None or n >= report.kept:
        return None
    quotas = _largest_remainder(report.strata, n)
    return {
        key: set(random.Random(f"{options.seed}/{key}").sample(range(report.strata[key]), quota))
        for key, quota in quotas.items()
    }


def _largest_remainder(strata: Counter[str], n: int) -> dict[str, int]:
    """Split ``n`` across strata in proportion to their sizes (Hamilton's method), in exact
    integer arithmetic; ties go to the alphabetically first stratum."""
    total = sum(strata.values())
    quotas = {k: n * v // total for k, v in strata.items()}
    left = n - sum(quotas.values())
    for key in sorted(strata, key=lambda k: (-(n * strata[k] % total), k))[:left]:
        quotas[key] += 1
    return quotas


def _options_record(options: ImportOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.sample is not None:
        out.update(sample=options.sample, stratify=options.stratify, seed=options.seed)
    if options.binary:
        out["binary"] = True
    return out


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _atomic_output(out: Path) -> Iterator[IO[bytes]]:
    """A file that appears at ``out`` complete, or not at all."""
    with atomic_path(out) as tmp:
        raw = open(tmp, "wb")  # noqa: SIM115 - closed below, on every path
        handle: IO[bytes] = (
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # type: ignore[assignment]
            if out.name.endswith(".gz")
            else raw
        )
        try:
            yield handle
            if handle is not raw:
                handle.close()
            raw.flush()
            os.fsync(raw.fileno())
        finally:
            with contextlib.suppress(Exception):
                handle.close()
            raw.close()
