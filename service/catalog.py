"""The dataset catalog (``datasets/catalog.toml``): shipped sets and known public ones,
with size, label schema, licence and where to get them.  Data, read at the edge."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError
from .resources import shipped


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: str  # "shipped" | "public"
    samples: str
    labels: str
    licence: str
    url: str
    importer: str | None = None
    file: str | None = None
    files: str | None = None
    notes: str = ""

    @property
    def path(self) -> Path | None:
        return shipped("datasets") / self.file if self.file else None


def load_catalog(path: Path | None = None) -> list[Entry]:
    path = path or shipped("datasets") / "catalog.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatasetError(path, None, None, f"unreadable catalog: {exc}") from exc
    entries = []
    for i, raw in enumerate(doc.get("dataset", [])):
        try:
            entries.append(
                Entry(
                    name=raw["name"],
                    kind=raw["kind"],
                    samples=f"{raw['samples']:,}"
                    if isinstance(raw["samples"], int)
                    else str(raw["samples"]),
                    labels=raw["labels"],
                    licence=raw["licence"],
                    url=raw["url"],
                    importer=raw.get("importer"),
                    file=raw.get("file"),
                    files=raw.get("files"),
                    notes=raw.get("notes", ""),
                )
            )
        except KeyError as exc:
            raise DatasetError(path, None, f"dataset[{i}].{exc.args[0]}", "missing") from exc
    return entries


def find(name: str) -> Entry | None:
    return next((e for e in load_catalog() if e.name == name), None)
