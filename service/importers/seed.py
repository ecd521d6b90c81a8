"""The seed's JSON list (``[{"content", "labels", "source"}]``) or a policybench JSONL.

Samples pass through unchanged, with the ids the dataset reader gives them (a hash of
position and text for the seed's id-less files), so a run on the imported file has the
same dataset fingerprint as a run on the original.  Useful to convert the seed's files,
and to cut a reproducible ``--sample N --stratify --seed S`` subset of any dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..datasets import Sample, iter_samples
from .base import Context, Dropped, Importer, Row


def rows(src: Path, ctx: Context) -> Iterator[Row]:
    for sample in iter_samples(src):
        yield Row(sample.line or None, {"sample": sample})


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    sample: Sample = row.data["sample"]
    return sample


IMPORTER = Importer(
    name="seed",
    description="the seed's JSON list, or a policybench JSONL (to convert or re-sample it)",
    convert=convert,
    rows=rows,
    prefix="seed",
)
