"""Reading datasets: samples streamed from a file, validated before the first request.

Two on-disk formats are read as they are:

* **JSONL** (``.jsonl``, ``.jsonl.gz``): one object per line with ``id``, ``text``,
  ``labels`` (the violated categories; ``[]`` is safe) and optionally ``unsafe`` (for
  binary-only data), ``unknown`` (categories whose label is not known), ``response``,
  ``source`` and ``meta``.  Gold for the other tasks (``service/tasks.py``):
  ``response_labels`` / ``response_unsafe`` (is the response harmful) and ``refusal``
  (did it refuse).  A multi-turn sample gives ``messages`` (role and content; the last turn
  is classified) instead of ``text``.  See ``docs/datasets.md``.
* **the seed's JSON list** (``.json``): ``[{"content", "labels", "source"}, ...]`` with no
  ids.

A JSONL file may start with a header line ``{"policybench_dataset": 1, ...}`` (format
version and provenance, written by the importers); it is not a sample.  A file without one
is version 1.

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
from .tasks import Task

_KNOWN_KEYS = frozenset(
    {
        "id",
        "text",
        "labels",
        "unsafe",
        "unknown",
        "response",
        "source",
        "meta",
        "messages",
        "response_labels",
        "response_unsafe",
        "refusal",
    }
)
ROLES = ("user", "assistant")
#: Version of the JSONL format this code reads and writes (``docs/datasets.md``).
FORMAT_VERSION = 1
HEADER_KEY = "policybench_dataset"
_MAX_SOURCES = 1000


@dataclass(frozen=True, slots=True)
class Sample:
    """One item to classify, with its gold labels.

    ``labels`` is the set of violated categories (empty = safe), or ``None`` when the
    dataset only says safe/unsafe.  ``unsafe`` is the binary gold (``None`` if unknown),
    ``unknown`` the categories whose label is not known for this sample.

    ``messages`` is a multi-turn conversation (``(role, content)`` pairs, roles ``user`` /
    ``assistant``), whose last turn is classified; ``text`` is then its last user turn and
    ``response`` the assistant turn after it, if any.  ``response_labels`` /
    ``response_unsafe`` are the gold of the response-harm task, ``refusal`` that of the
    refusal task.
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
    messages: tuple[tuple[str, str], ...] | None = None
    response_labels: frozenset[str] | None = None
    response_unsafe: bool | None = None
    refusal: bool | None = None

    def digest(self) -> bytes:
        """Hash of the sample's canonical content (what scoring depends on).  Fields of the
        other tasks enter only when present, so files without them keep their fingerprint."""
        canon: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "labels": None if self.labels is None else sorted(self.labels),
            "unsafe": self.unsafe,
            "unknown": sorted(self.unknown),
            "response": self.response,
        }
        if self.messages is not None:
            canon["messages"] = [list(turn) for turn in self.messages]
        if self.response_labels is not None:
            canon["response_labels"] = sorted(self.response_labels)
        if self.response_unsafe is not None:
            canon["response_unsafe"] = self.response_unsafe
        if self.refusal is not None:
            canon["refusal"] = self.refusal
        return hashlib.sha256(orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)).digest()

    def has_gold(self, task: Task) -> bool:
        """Whether the sample carries gold for ``task``."""
        if task is Task.PROMPT:
            return self.labels is not None or self.unsafe is not None
        if task is Task.RESPONSE:
            return self.response_unsafe is not None
        return self.refusal is not None

    @property
    def has_response(self) -> bool:
        """Whether there is an assistant turn to judge (response and refusal tasks)."""
        if self.messages is not None:
            return any(role == "assistant" for role, _ in self.messages)
        return self.response is not None


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
    label_sets: Counter[str] = field(default_factory=Counter)
    lengths: LengthStats = field(default_factory=lambda: LengthStats())
    header: dict[str, Any] | None = None
    #: samples carrying gold for each task (``prompt``, ``response``, ``refusal``)
    task_gold: Counter[str] = field(default_factory=Counter)
    with_response: int = 0
    multi_turn: int = 0
    #: line of the first sample without an assistant turn (``None``: every sample has one)
    first_without_response: int | None = None
    #: how many samples carry each ``meta`` key (at most ``_MAX_SOURCES`` keys)
    meta_keys: Counter[str] = field(default_factory=Counter)

    @property
    def unknown_labels(self) -> int:
        """Samples with at least one category label unknown (binary-only or partial)."""
        return self.binary_only + self.partial


class LengthStats:
    """Text lengths (characters): exact percentiles in memory bounded by the longest text,
    not by the number of samples (one counter per distinct length)."""

    __slots__ = ("_counts", "count", "total")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.total = 0

    def add(self, length: int) -> None:
        self._counts[length] = self._counts.get(length, 0) + 1
        self.count += 1
        self.total += length

    def quantile(self, q: float) -> int | None:
        if not self.count:
            return None
        rank = max(1, -(-int(q * self.count * 1000) // 1000))
        seen = 0
        for length in sorted(self._counts):
            seen += self._counts[length]
            if seen >= rank:
                return length
        return max(self._counts)  # pragma: no cover

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "min": min(self._counts) if self._counts else None,
            "p50": self.quantile(0.5),
            "p90": self.quantile(0.9),
            "p99": self.quantile(0.99),
            "max": max(self._counts) if self._counts else None,
            "mean": self.total / self.count if self.count else None,
        }


def label_set_name(sample: Sample) -> str:
    """``safe``, ``illegal+violence``, ``unsafe (binary)``, ``unknown`` ... for counting."""
    if sample.labels is None:
        if sample.unsafe is None:
            return "unknown"
        return "unsafe (binary)" if sample.unsafe else "safe (binary)"
    name = "+".join(sorted(sample.labels)) if sample.labels else "safe"
    if sample.unknown:
        name += " (partial)"
    return name


def sample_record(sample: Sample) -> dict[str, Any]:
    """The JSONL object for ``sample`` (the inverse of reading it); empty fields omitted."""
    obj: dict[str, Any] = {"id": sample.id}
    if sample.messages is not None:
        obj["messages"] = [{"role": r, "content": c} for r, c in sample.messages]
    else:
        obj["text"] = sample.text
    if sample.response is not None and sample.messages is None:
        obj["response"] = sample.response
    if sample.labels is not None:
        obj["labels"] = sorted(sample.labels)
    if sample.unsafe is not None and (sample.labels is None or sample.unknown):
        obj["unsafe"] = sample.unsafe
    if sample.unknown:
        obj["unknown"] = sorted(sample.unknown)
    if sample.response_labels is not None:
        obj["response_labels"] = sorted(sample.response_labels)
    if sample.response_unsafe is not None and sample.response_labels is None:
        obj["response_unsafe"] = sample.response_unsafe
    if sample.refusal is not None:
        obj["refusal"] = sample.refusal
    if sample.source:
        obj["source"] = sample.source
    if sample.meta:
        obj["meta"] = dict(sample.meta)
    return obj


def read_header(path: str | Path) -> dict[str, Any] | None:
    """The header line of a JSONL dataset, or ``None`` (no header, or the seed's JSON list)."""
    path = Path(path)
    if path.name.endswith(".json"):
        return None
    for lineno, line in enumerate(_open_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        return _check_header(obj, path, lineno) if _is_header(obj) else None
    return None


def _is_header(obj: Any) -> bool:
    return isinstance(obj, dict) and HEADER_KEY in obj


def _check_header(obj: dict[str, Any], path: Path, lineno: int) -> dict[str, Any]:
    version = obj[HEADER_KEY]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DatasetError(path, lineno, HEADER_KEY, "format version must be a positive integer")
    if version > FORMAT_VERSION:
        raise DatasetError(
            path,
            lineno,
            HEADER_KEY,
            f"format version {version} is newer than this policybench reads ({FORMAT_VERSION})",
        )
    return obj


def resolve(name_or_path: str | Path) -> Path:
    """A dataset path: an existing file, or the name of a shipped set (``balanced``)."""
    path = Path(name_or_path)
    try:
        return _resolve(name_or_path, path)
    except OSError as exc:  # a name too long for the file system, a path through a file
        raise DatasetError(path, None, None, f"cannot read: {exc.strerror or exc}") from exc


def _resolve(name_or_path: str | Path, path: Path) -> Path:
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

    Memory does not hold samples: ids are checked for duplicates through one 8-byte hash
    per sample (8 MB per million samples, sorted in place), and a second pass over the
    file runs only if two hashes collide.
    """
    info = DatasetInfo(path=str(path), header=read_header(path))
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
        source = sample.source
        if source not in info.sources and len(info.sources) >= _MAX_SOURCES:
            source = "(other)"
        info.sources[source] += 1
        info.label_sets[label_set_name(sample)] += 1
        for task in Task:
            info.task_gold[task] += sample.has_gold(task)
        if sample.has_response:
            info.with_response += 1
        elif info.first_without_response is None:
            info.first_without_response = sample.line
        info.multi_turn += sample.messages is not None
        for key in sample.meta or ():
            if key in info.meta_keys or len(info.meta_keys) < _MAX_SOURCES:
                info.meta_keys[key] += 1
        info.lengths.add(len(sample.text))
    if info.count == 0:
        raise DatasetError(path, None, None, "the dataset has no samples")
    _check_unique_ids(path, id_hashes, categories)
    digest = hashlib.sha256(info.count.to_bytes(8, "big") + total.to_bytes(32, "big"))
    info.fingerprint = digest.hexdigest()[:32]
    return info


def _id_hash(sample_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(sample_id.encode(), digest_size=8).digest(), "big")


def _colliding(id_hashes: array[int]) -> set[int]:
    """Hashes that occur more than once.  Sorted in place with numpy where available (no
    Python object per sample); else through a sorted list."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with scipy
        ordered = sorted(id_hashes)
        return {a for a, b in itertools.pairwise(ordered) if a == b}
    if len(id_hashes) < 2:
        return set()
    view = np.frombuffer(id_hashes, dtype=np.uint64)
    view.sort()
    same = np.flatnonzero(view[1:] == view[:-1])
    return {int(v) for v in view[same]}


def _check_unique_ids(
    path: str | Path, id_hashes: array[int], categories: frozenset[str] | None
) -> None:
    dupes = _colliding(id_hashes)
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
        opener: Any = gzip.open if path.name.endswith(".gz") else open
        raw: io.BufferedIOBase = opener(path, "rb")
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
    first = True
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
        if _is_header(obj):
            if not first:
                raise DatasetError(
                    path, lineno, HEADER_KEY, "a header is allowed on the first line only"
                )
            _check_header(obj, path, lineno)
            first = False
            continue
        first = False
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
        text_key = (
            "text"
            if isinstance(obj, dict) and "text" in obj and "content" not in obj
            else "content"
        )
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
    for key in obj:
        if key not in _KNOWN_KEYS and key != text_key:
            raise fail(key, "unknown field (extra data belongs in `meta`)")
    messages = _messages(obj.get("messages"), fail)
    response = obj.get("response")
    if response is not None and not isinstance(response, str):
        raise fail("response", "must be a string")
    if messages is not None:
        if text_key in obj:
            raise fail(text_key, "give `text` or `messages`, not both")
        if response is not None:
            raise fail("response", "with `messages`, the response is the last assistant turn")
        text, response = _classified(messages)
    else:
        text = obj.get(text_key)
    if not isinstance(text, str) or not text.strip():
        if messages is not None:
            raise fail("messages", "needs a user turn with content")
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
    response_labels = _category_list(
        obj.get("response_labels"), "response_labels", categories, fail, allow_none=True
    )
    response_unsafe = _flag(obj.get("response_unsafe"), "response_unsafe", fail)
    refusal = _flag(obj.get("refusal"), "refusal", fail)
    if response_labels is not None:
        if response_unsafe is not None and response_unsafe != bool(response_labels):
            raise fail(
                "response_unsafe",
                f"{response_unsafe} contradicts response_labels {sorted(response_labels)}",
            )
        response_unsafe = bool(response_labels)
    if (response_unsafe is not None or refusal is not None) and response is None:
        raise fail(
            "response_unsafe" if response_unsafe is not None else "refusal",
            "gold for a response, but the sample has no `response` (or assistant turn)",
        )
    other_gold = response_unsafe is not None or refusal is not None
    if labels is None and unsafe is None and not other_gold:
        raise fail("labels", "missing (give `labels`, or `unsafe` for a binary-only sample)")
    if labels is not None:
        if unknown and labels & unknown:
            raise fail("unknown", f"{sorted(labels & unknown)} also listed in labels")
        implied: bool | None = True if labels else (None if unknown else False)
        if unsafe is not None and implied is not None and unsafe != implied:
            raise fail("unsafe", f"{unsafe} contradicts labels {sorted(labels)}")
        if unsafe is None:
            unsafe = implied
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
        messages=messages,
        response_labels=response_labels,
        response_unsafe=response_unsafe,
        refusal=refusal,
    )


def _flag(value: Any, name: str, fail: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise fail(name, "must be true or false")
    return value


def _messages(value: Any, fail: Any) -> tuple[tuple[str, str], ...] | None:
    """A conversation: a non-empty list of ``{"role": "user"|"assistant", "content": str}``."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise fail("messages", "must be a non-empty list of {role, content} turns")
    turns = []
    for i, turn in enumerate(value):
        if not isinstance(turn, dict) or set(turn) - {"role", "content"}:
            raise fail(f"messages[{i}]", "must be an object with `role` and `content` only")
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            raise fail(f"messages[{i}].role", f"must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(content, str) or not content.strip():
            raise fail(f"messages[{i}].content", "must be a non-empty string")
        turns.append((role, content))
    return tuple(turns)


def _classified(messages: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None]:
    """The last user turn and the assistant turn after it (``None`` if it is the last)."""
    for index in range(len(messages) - 1, -1, -1):
        role, content = messages[index]
        if role == "user":
            after = messages[index + 1 :]
            return content, next((c for r, c in after if r == "assistant"), None)
    return None, None


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
