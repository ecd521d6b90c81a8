"""allenai/wildguardmix, from a local download (parquet or JSONL of either split).

Columns used: ``prompt``, ``subcategory``, ``prompt_harm_label`` (``harmful`` /
``unharmful``), ``adversarial``.  By default a prompt's subcategory is mapped onto the
categories through ``datasets/mappings/wildguardmix.toml`` (the seed's table; benign
prompts are safe); with ``--binary`` only ``prompt_harm_label`` is used, which is how
the seed scored the test split (safe/harmful).  A prompt whose subcategory and harm label
disagree is dropped, not guessed.
"""

from __future__ import annotations

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of

_HARM = {"harmful": True, "unharmful": False}


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    data = row.data
    harm_label = text_of(data.get("prompt_harm_label"))
    if harm_label is not None and harm_label not in _HARM:
        raise ctx.fail(row, "prompt_harm_label", f"{harm_label!r} is not harmful or unharmful")
    harmful = _HARM.get(harm_label) if harm_label else None
    meta = {"adversarial": data.get("adversarial"), "prompt_harm_label": harm_label}
    if ctx.options.binary or "subcategory" not in data:
        if harmful is None:
            return Dropped("no prompt_harm_label")
        return ctx.sample(row, data.get("prompt"), labels=None, unsafe=harmful, meta=meta)
    sub = text_of(data.get("subcategory"))
    if not sub:
        return Dropped("no subcategory")
    resolved = ctx.need_mapping().resolve([sub], ctx.src, row.line, "subcategory")
    if resolved.dropped:
        return Dropped(resolved.dropped)
    if harmful is not None and resolved.unsafe is not None and harmful != resolved.unsafe:
        return Dropped("subcategory and prompt_harm_label disagree")
    meta["subcategory"] = sub
    return ctx.sample(
        row,
        data.get("prompt"),
        labels=resolved.labels,
        unsafe=resolved.unsafe,
        source=f"wildguardmix_{sub}",
        meta=meta,
    )


IMPORTER = Importer(
    name="wildguardmix",
    description="allenai/wildguardmix (parquet/JSONL): subcategory -> category (seed table), or --binary",
    convert=convert,
    columns=("prompt",),
    any_of=(("subcategory", "prompt_harm_label"),),
    mapping="wildguardmix.toml",
    prefix="wgm",
)
