"""The pieces every importer shares: a source row, a dropped row, the options, the
importer description, and the content-hash ids that make imports reproducible.

An importer is data plus one function: :class:`Importer` names the columns a source
must have and its default mapping table, and ``convert`` turns one :class:`Row` into a
:class:`~policybench.service.datasets.Sample` or a :class:`Dropped` with its reason.
Rows are streamed; nothing here holds a whole source in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datasets import Sample
from ..errors import DatasetError
from .mapping import LabelMapping


@dataclass(frozen=True, slots=True)
class Row:
    """One record of a source file: its line (CSV/JSONL) or row number (parquet)."""

    line: int | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Dropped:
    """A row left out on purpose; ``reason`` is short and repeats across rows (it is counted)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the user asked for, validated at the CLI edge."""

    mapping: Path | None = None
    sample: int | None = None
    stratify: bool = False
    seed: int = 0
    binary: bool = False
    text_field: str = "text"
    label_field: str = "label"
    safe_values: tuple[str, ...] = ()
    unsafe_values: tuple[str, ...] = ()
    id_field: str | None = None
    response_field: str | None = None
    source: str | None = None
    force: bool = False


@dataclass(slots=True)
class Context:
    """Everything ``convert`` may read: the source path, the options and the mapping."""

    src: Path
    options: ImportOptions
    mapping: LabelMapping | None
    prefix: str
    extra: dict[str, Any] = field(default_factory=dict)

    def fail(self, row: Row, field_name: str | None, problem: str) -> DatasetError:
        return DatasetError(self.src, row.line, field_name, problem)

    def need_mapping(self) -> LabelMapping:
        assert self.mapping is not None, "importer declared a mapping"
        return self.mapping

    def sample(
        self,
        row: Row,
        text: Any,
        *,
        labels: frozenset[str] | None,
        unsafe: bool | None,
        unknown: frozenset[str] = frozenset(),
        response: Any = None,
        source: str | None = None,
        meta: Mapping[str, Any] | None = None,
        sample_id: str | None = None,
    ) -> Sample | Dropped:
        """A sample with a content-hash id, or ``Dropped`` when the text is empty."""
        if not isinstance(text, str) or not text.strip():
            return Dropped("empty or missing text")
        if response is not None and not isinstance(response, str):
            response = None
        if labels is not None and unsafe is None:
            unsafe = True if labels else (None if unknown else False)
        clean_meta = {k: v for k, v in (meta or {}).items() if v is not None and v != ""}
        return Sample(
            id=sample_id or content_id(self.prefix, text, response),
            text=text,
            labels=labels,
            unsafe=unsafe,
            unknown=unknown,
            response=response,
            source=self.options.source or source or self.prefix,
            meta=clean_meta or None,
            line=row.line or 0,
        )


def content_id(prefix: str, text: str, response: str | None = None) -> str:
    """Id from the content alone: the same sample gets the same id from any file it is in."""
    h = hashlib.blake2b(digest_size=8)
    h.update(text.encode())
    if response is not None:
        h.update(b"\x1f" + response.encode())
    return f"{prefix}-{h.hexdigest()}"


def text_of(value: Any) -> str | None:
    """A cell as text: ``None`` for missing/NaN, strings as they are, numbers as digits."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a parquet/pandas export
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip() if not isinstance(value, str) else value.strip()


Convert = Callable[[Row, Context], Sample | Dropped]
Rows = Callable[[Path, Context], Iterator[Row]]


@dataclass(frozen=True, slots=True)
class Importer:
    """One source format."""

    name: str
    description: str
    convert: Convert
    columns: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    mapping: str | None = None
    prefix: str = ""
    rows: Rows | None = None
    #: columns named by the user's options (the generic importer)
    columns_from: Callable[[Context], tuple[str, ...]] | None = None
    #: keep a row whose content repeats an earlier one (its id gets ``.2``, ``.3``...):
    #: a published protocol counts every row of its file, repeats included
    keep_duplicates: bool = False
