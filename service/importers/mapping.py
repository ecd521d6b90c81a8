"""Label mapping tables: how a source's labels become the taxonomy's categories.

Tables are data (``datasets/mappings/<format>.toml``, or a user's ``--mapping FILE``)::

    categories = ["hate_speech", "violence", ...]   # the target taxonomy (default: shipped six)

    [map]                  # source label -> categories it means ([] = safe)
    toxic_language_hate_speech = ["hate_speech"]
    benign = []
    harmful = "unsafe"     # unsafe, category unknown: a binary-only sample

    [drop]                 # source label -> why a sample carrying it is left out
    sexual_content = "adult sexual content: no category in the six-category taxonomy"

A label in neither table is an error naming the file, line and field: a mapping that
silently lets unknown labels through would score them as safe.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from ..policies import SHIPPED_ORDER
from ..resources import shipped

UNSAFE, SAFE = "unsafe", "safe"


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a set of source labels means: categories, binary-only, or a drop."""

    labels: frozenset[str] | None
    unsafe: bool | None
    dropped: str | None = None


@dataclass(frozen=True, slots=True)
class LabelMapping:
    path: Path
    digest: str
    categories: frozenset[str]
    table: dict[str, tuple[str, ...] | str]
    drops: dict[str, str]

    def knows(self, label: str) -> bool:
        return label in self.table or label in self.drops

    def check(self, label: str, src: Path, line: int | None, field_name: str) -> None:
        if not self.knows(label):
            raise DatasetError(
                src,
                line,
                field_name,
                f"label {label!r} is not in the mapping {self.path} (add it under [map] or [drop])",
            )

    def resolve(
        self, positives: Iterable[str], src: Path, line: int | None, field_name: str
    ) -> Resolved:
        """The meaning of the labels a sample carries (all checked against the table)."""
        categories: set[str] = set()
        binary_unsafe = False
        any_label = False
        for label in positives:
            self.check(label, src, line, field_name)
            any_label = True
            if label in self.drops:
                return Resolved(None, None, dropped=f"{field_name} {label}: {self.drops[label]}")
            value = self.table[label]
            if value == UNSAFE:
                binary_unsafe = True
            elif value == SAFE:
                continue
            else:
                categories.update(value)
        if binary_unsafe and not categories:
            return Resolved(None, True)
        if not any_label:
            return Resolved(frozenset(), False)
        return Resolved(frozenset(categories), bool(categories) or binary_unsafe)

    def covers(self, label: str) -> frozenset[str]:
        """Categories a label speaks about (what a known 0 for it rules out)."""
        value = self.table.get(label)
        return frozenset(value) if isinstance(value, tuple) else frozenset()

    def as_record(self) -> dict[str, Any]:
        return {"file": self.path.name, "sha256": self.digest}


def default_mapping_path(name: str) -> Path:
    return shipped("datasets") / "mappings" / name


def load_mapping(path: str | Path) -> LabelMapping:
    """Read and check a mapping table; :class:`DatasetError` names the problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(path, None, None, exc.strerror or str(exc)) from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatasetError(path, None, None, f"not a valid TOML mapping: {exc}") from exc
    cats = doc.get("categories", list(SHIPPED_ORDER))
    if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
        raise DatasetError(path, None, "categories", "must be a non-empty list of names")
    categories = frozenset(cats)
    table: dict[str, tuple[str, ...] | str] = {}
    for label, value in (doc.get("map") or {}).items():
        if value in (UNSAFE, SAFE):
            table[label] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            unknown = sorted(set(value) - categories)
            if unknown:
                raise DatasetError(
                    path, None, f"map.{label}", f"{unknown[0]!r} is not one of the categories"
                )
            table[label] = tuple(sorted(value))
        else:
            raise DatasetError(
                path, None, f"map.{label}", 'must be a list of categories, "safe" or "unsafe"'
            )
    drops: dict[str, str] = {}
    for label, reason in (doc.get("drop") or {}).items():
        if not isinstance(reason, str) or not reason.strip():
            raise DatasetError(path, None, f"drop.{label}", "must be a reason (a string)")
        if label in table:
            raise DatasetError(path, None, f"drop.{label}", "also listed under [map]")
        drops[label] = reason
    if not table and not drops:
        raise DatasetError(path, None, "map", "the mapping has no labels")
    return LabelMapping(
        path=path,
        digest=hashlib.sha256(raw).hexdigest()[:16],
        categories=categories,
        table=table,
        drops=drops,
    )
