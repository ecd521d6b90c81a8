"""Reading datasets: samples streamed from a file, validated before the first request.

Two on-disk formats are read as they are:

* **JSONL** (``.jsonl``, ``.jsonl.gz``): one object per line with ``id``, ``text``,
  ``labels`` (the violated categories; ``[]`` is safe) and optionally ``unsafe`` (for
  binary-only data), ``unknown`` (categories whose label is not known), ``response``,
  ``source`` and ``meta``.  See ``docs/datasets.md``.
* **the seed's JSON list** (``.json``): ``[{"content", "labels", "source"}, ...]`` with no
  ids.

Samples without an ``id`` get a stable one, a hash of their position and text, so runs on
the same file can be paired and resumed.  A bad line raises :class:`DatasetError` naming
``file:line: field: problem``; callers run :func:`scan` over the whole file before sending
anything, then stream it again with :func:`iter_samples`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .errors import DatasetError
from .resources import shipped

_KNOWN_KEYS = frozenset({"id", "text", "labels", "unsafe", "unknown", "response", "source", "meta"})


@dataclass(frozen=True, slots=True)
class Sample:
    """One item to classify, with its gold labels.

    ``labels`` is the set of violated categories (empty = safe), or ``None`` when the
    dataset only says safe/unsafe.  ``unsafe`` is the binary gold (``None`` if unknown),
    ``unknown`` the categories whose label is not known for this sample.
    """

    id: str
    text: str
    labels: frozenset[str] | None
    unsafe: bool | None
    unknown: frozenset[str] = frozenset()
    response: str | None = None
    source: str = ""
    meta: Mapping[str, Any] | None = None
    line: int = 0

    def digest(self) -> bytes:
        """Hash of the sample's canonical content (what scoring depends on)."""
        canon = {
            "id": self.id,
            "text": self.text,
            "labels": None if self.labels is None else sorted(self.labels),
            "unsafe": self.unsafe,
            "unknown": sorted(self.unknown),
            "response": self.response,
        }
        return hashlib.sha256(orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)).digest()


@dataclass(slots=True)
class DatasetInfo:
    """What a full scan learnt about a dataset."""

    path: str
    count: int = 0
    fingerprint: str = ""
    label_counts: Counter[str] = field(default_factory=Counter)
    safe: int = 0
    unsafe: int = 0
    binary_only: int = 0
    partial: int = 0
    sources: Counter[str] = field(default_factory=Counter)


def resolve(name_or_path: str | Path) -> Path:
    """A dataset path: an existing file, or the name of a shipped set (``balanced``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if isinstance(name_or_path, str) and "/" not in name_or_path:
        for candidate in (f"{name_or_path}.jsonl", name_or_path):
            shipped_path = shipped("datasets") / candidate
            if shipped_path.is_file():
                return shipped_path
    if path.exists():
        raise DatasetError(path, None, None, "not a regular file")
    raise DatasetError(path, None, None, "no such file, and not the name of a shipped dataset")


def stable_id(position: int, text: str) -> str:
    """Id for a sample that has none: stable for the same text at the same position."""
    return "s" + hashlib.blake2b(f"{position}\x1f{text}".encode(), digest_size=8).hexdigest()


def iter_samples(path: str | Path, categories: frozenset[str] | None = None) -> Iterator[Sample]:
    """Stream the samples of ``path``, validating each (labels against ``categories``)."""
    path = Path(path)
    if path.name.endswith(".json"):
        yield from _iter_json_list(path, categories)
    else:
        yield from _iter_jsonl(path, categories)


def scan(path: str | Path, categories: frozenset[str] | None = None) -> DatasetInfo:
    """Validate the whole file (duplicate ids included) and summarise it.

    Memory stays flat: ids are checked for duplicates through 8-byte hashes.
    """
    info = DatasetInfo(path=str(path))
    total = 0
    id_hashes = array("Q")
    for sample in iter_samples(path, categories):
        info.count += 1
        total = (total + int.from_bytes(sample.digest(), "big")) % (1 << 256)
        id_hashes.append(_id_hash(sample.id))
        if sample.labels is None:
            info.binary_only += 1
        else:
            info.label_counts.update(sample.labels)
        if sample.unknown:
            info.partial += 1
        if sample.unsafe is True:
            info.unsafe += 1
        elif sample.unsafe is False:
            info.safe += 1
        info.sources[sample.source] += 1
    if info.count == 0:
        raise DatasetError(path, None, None, "the dataset has no samples")
    _check_unique_ids(path, id_hashes, categories)
    digest = hashlib.sha256(info.count.to_bytes(8, "big") + total.to_bytes(32, "big"))
    info.fingerprint = digest.hexdigest()[:32]
    return info


def _id_hash(sample_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(sample_id.encode(), digest_size=8).digest(), "big")


def _check_unique_ids(
    path: str | Path, id_hashes: array[int], categories: frozenset[str] | None
) -> None:
    ordered = sorted(id_hashes)
    dupes = {a for a, b in itertools.pairwise(ordered) if a == b}
    if not dupes:
        return
    first: dict[str, int] = {}
    for sample in iter_samples(path, categories):
        if _id_hash(sample.id) in dupes:
            if sample.id in first:
                raise DatasetError(
                    path,
                    sample.line,
                    "id",
                    f"duplicate id {sample.id!r} (first on line {first[sample.id]})",
                )
            first[sample.id] = sample.line


def _open_lines(path: Path) -> Iterator[bytes]:
    try:
        raw: io.BufferedIOBase
        if path.name.endswith(".gz"):
            raw = gzip.open(path, "rb")  # type: ignore[assignment]
        else:
            raw = open(path, "rb")  # noqa: SIM115 - closed in finally below
    except OSError as exc:
        raise DatasetError(path, None, None, exc.strerror or str(exc)) from exc
    try:
        yield from raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(path, None, None, f"cannot read: {exc}") from exc
    finally:
        raw.close()


def _iter_jsonl(path: Path, categories: frozenset[str] | None) -> Iterator[Sample]:
    position = 0
    for lineno, line in enumerate(_open_lines(path), start=1):
        if not line.strip():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(path, lineno, None, f"invalid UTF-8 at byte {exc.start}") from exc
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DatasetError(path, lineno, None, f"invalid JSON: {exc}") from exc
        yield _sample_from(obj, path, lineno, position, categories, text_key="text")
        position += 1


def _iter_json_list(path: Path, categories: frozenset[str] | None) -> Iterator[Sample]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(path, None, None, exc.strerror or str(exc)) from exc
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DatasetError(
            path, getattr(exc, "lineno", None), None, f"invalid JSON: {exc.msg}"
        ) from exc
    if not isinstance(items, list):
        raise DatasetError(path, 1, None, "expected a JSON list of samples")
    lines = _element_lines(data.decode("utf-8", errors="replace"))
    for index, obj in enumerate(items):
        lineno = lines[index] if index < len(lines) else None
        # the seed's format names the text `content`; accept `text` too
        text_key = "text" if isinstance(obj, dict) and "text" in obj and "content" not in obj else "content"
        yield _sample_from(obj, path, lineno, index, categories, text_key=text_key)


def _element_lines(text: str) -> list[int]:
    """Line number where each element of a top-level JSON list starts."""
    decoder = json.JSONDecoder()
    out: list[int] = []
    pos = text.index("[") + 1
    length = len(text)
    while pos < length:
        while pos < length and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= length or text[pos] == "]":
            break
        out.append(text.count("\n", 0, pos) + 1)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
    return out


def _sample_from(
    obj: Any,
    path: Path,
    lineno: int | None,
    position: int,
    categories: frozenset[str] | None,
    *,
    text_key: str,
) -> Sample:
    def fail(field_name: str | None, problem: str) -> DatasetError:
        return DatasetError(path, lineno, field_name, problem)

    if not isinstance(obj, dict):
        raise fail(None, f"expected a JSON object, got {type(obj).__name__}")
    text = obj.get(text_key)
    if not isinstance(text, str) or not text.strip():
        raise fail(
            text_key,
            "missing or empty" if text is None or text == "" else "must be a non-empty string",
        )

    sample_id = obj.get("id")
    if sample_id is None:
        sample_id = stable_id(position, text)
    elif isinstance(sample_id, int) and not isinstance(sample_id, bool):
        sample_id = str(sample_id)
    elif not isinstance(sample_id, str) or not sample_id:
        raise fail("id", "must be a non-empty string")

    labels = _category_list(obj.get("labels"), "labels", categories, fail, allow_none=True)
    unknown = _category_list(obj.get("unknown"), "unknown", categories, fail, allow_none=True)
    unsafe = obj.get("unsafe")
    if unsafe is not None and not isinstance(unsafe, bool):
        raise fail("unsafe", "must be true or false")
    if labels is None and unsafe is None:
        raise fail("labels", "missing (give `labels`, or `unsafe` for a binary-only sample)")
    if labels is not None:
        if unknown and labels & unknown:
            raise fail("unknown", f"{sorted(labels & unknown)} also listed in labels")
        implied: bool | None = True if labels else (None if unknown else False)
        if unsafe is not None and implied is not None and unsafe != implied:
            raise fail("unsafe", f"{unsafe} contradicts labels {sorted(labels)}")
        if unsafe is None:
            unsafe = implied
    response = obj.get("response")
    if response is not None and not isinstance(response, str):
        raise fail("response", "must be a string")
    source = obj.get("source", "")
    if source is None:
        source = ""
    if not isinstance(source, str):
        raise fail("source", "must be a string")
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise fail("meta", "must be an object")
    return Sample(
        id=sample_id,
        text=text,
        labels=labels,
        unsafe=unsafe,
        unknown=unknown or frozenset(),
        response=response,
        source=source,
        meta=meta,
        line=lineno or 0,
    )


def _category_list(
    value: Any,
    name: str,
    categories: frozenset[str] | None,
    fail: Any,
    *,
    allow_none: bool,
) -> frozenset[str] | None:
    if value is None:
        if allow_none:
            return None
        raise fail(name, "missing")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(name, "must be a list of category names")
    result = frozenset(value)
    if categories is not None:
        unknown = sorted(result - categories)
        if unknown:
            raise fail(
                name,
                f"unknown category {unknown[0]!r} (the policy set has: {', '.join(sorted(categories))})",
            )
    return result
