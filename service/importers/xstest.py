"""XSTest (``xstest_prompts.csv``: ``id, prompt, type, label, focus, note``).

Binary only: ``label`` is ``safe`` or ``unsafe``.  The older v2 file
(``xstest_v2_prompts.csv``, ``id_v2``) has no ``label``: its ``contrast_*`` types are the
unsafe prompts, every other type is a safe prompt that merely looks unsafe (exaggerated
safety: false positives are what it measures).
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    kind = text_of(data.get("type")) or ""
    label = text_of(data.get("label"))
    if "label" in data:
        if label not in ("safe", "unsafe"):
            raise ctx.fail(row, "label", f"{label!r} is not safe or unsafe")
        unsafe = label == "unsafe"
    else:
        if not kind:
            raise ctx.fail(row, "type", "missing (the v2 file needs it to tell unsafe prompts)")
        unsafe = kind.startswith("contrast_")
    return ctx.sample(
        row,
        data.get("prompt"),
        labels=None,
        unsafe=unsafe,
        source="xstest",
        meta={
            "xstest_id": text_of(data.get("id", data.get("id_v2"))),
            "type": kind,
            "focus": text_of(data.get("focus")),
            "note": text_of(data.get("note")),
        },
    )


IMPORTER = Importer(
    name="xstest",
    description="XSTest prompts CSV (label safe/unsafe; v2 file: contrast_* = unsafe); binary",
    convert=convert,
    columns=("prompt", "type"),
    prefix="xstest",
)
