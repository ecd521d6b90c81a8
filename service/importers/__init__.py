"""Importers: public safety datasets (and anything else) into policybench's JSONL format.

One module per source format, each an :class:`~.base.Importer` (columns it needs, its
default mapping table, a ``convert`` for one row); :func:`get` finds one by name and
:func:`~.pipeline.run_import` runs it: validate every row, report what was dropped and
why, sample reproducibly, write atomically.  Mapping tables are data, shipped in
``datasets/mappings/``.
"""

from __future__ import annotations

from . import (
    advbench,
    aegis,
    beavertails,
    generic,
    guardreasoner,
    harmbench,
    openai_moderation,
    seed,
    simplesafetytests,
    toxicchat,
    wildguardmix,
    xstest,
)
from .base import Dropped, Importer, ImportOptions, Row
from .pipeline import ImportReport, run_import

IMPORTERS: dict[str, Importer] = {
    m.IMPORTER.name: m.IMPORTER
    for m in (
        wildguardmix,
        openai_moderation,
        xstest,
        harmbench,
        advbench,
        simplesafetytests,
        beavertails,
        toxicchat,
        aegis,
        guardreasoner,
        seed,
    )
}
#: The generic importer under the names users look for.
IMPORTERS["jsonl"] = generic.IMPORTER
IMPORTERS["csv"] = generic.IMPORTER


def get(name: str) -> Importer:
    """The importer called ``name``; ``KeyError`` names the known ones."""
    try:
        return IMPORTERS[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r} (known: {', '.join(IMPORTERS)})") from None


__all__ = [
    "IMPORTERS",
    "Dropped",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "Row",
    "get",
    "run_import",
]
