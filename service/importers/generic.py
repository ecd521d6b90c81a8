"""Any JSONL, JSON list, CSV or parquet file: name the text and label columns.

``--text-field`` and ``--label-field`` say where to look.  Without ``--mapping`` the label
is binary: values in ``--safe-value`` are safe and values in ``--unsafe-value`` unsafe
(by default the usual spellings: safe/unsafe, unharmful/harmful, benign, 0/1, true/false,
no/yes); when only ``--safe-value`` is given, every other value is unsafe.  With
``--mapping FILE`` each label (a string, or a list of them) goes through the table, so a
source with its own categories maps onto the taxonomy.  Binary-only sets such as the
seed's 1,554-sample WildGuard test file become safe/unsafe samples.
"""

from __future__ import annotations

from typing import Any

from ..datasets import Sample
from .base import Context, Dropped, Importer, Row, text_of

DEFAULT_SAFE = ("safe", "unharmful", "benign", "0", "false", "no", "negative")
DEFAULT_UNSAFE = ("unsafe", "harmful", "1", "true", "yes", "positive", "toxic")


def _values(value: Any) -> list[str] | None:
    if isinstance(value, list):
        out = [text_of(v) for v in value]
        return [v for v in out if v]
    single = text_of(value)
    return [single] if single else None


def convert(row: Row, ctx: Context) -> Sample | Dropped:
    opts = ctx.options
    data = row.data
    raw = data.get(opts.label_field)
    values = _values(raw)
    if values is None:
        return Dropped(f"no {opts.label_field}")
    labels: frozenset[str] | None
    if ctx.mapping is not None:
        resolved = ctx.mapping.resolve(values, ctx.src, row.line, opts.label_field)
        if resolved.dropped:
            return Dropped(resolved.dropped)
        labels, unsafe = resolved.labels, resolved.unsafe
    else:
        if isinstance(raw, list):
            raise ctx.fail(row, opts.label_field, "a list of labels needs --mapping")
        labels, unsafe = None, _binary(values[0].lower(), row, ctx)
    sample_id = None
    if opts.id_field:
        sample_id = text_of(data.get(opts.id_field))
        if not sample_id:
            raise ctx.fail(row, opts.id_field, "missing id")
    response = data.get(opts.response_field) if opts.response_field else None
    return ctx.sample(
        row,
        data.get(opts.text_field),
        labels=labels,
        unsafe=unsafe,
        response=response if isinstance(response, str) and response else None,
        source=ctx.src.name.split(".")[0],
        meta={"label": raw if not isinstance(raw, list) else None},
        sample_id=sample_id,
    )


def _binary(value: str, row: Row, ctx: Context) -> bool:
    opts = ctx.options
    safe = tuple(v.lower() for v in opts.safe_values) or DEFAULT_SAFE
    unsafe = tuple(v.lower() for v in opts.unsafe_values)
    if not unsafe and not opts.safe_values:
        unsafe = DEFAULT_UNSAFE
    if value in safe:
        return False
    if not unsafe or value in unsafe:
        return True
    raise ctx.fail(
        row,
        opts.label_field,
        f"label {value!r} is neither safe ({', '.join(safe)}) nor unsafe ({', '.join(unsafe)}): "
        "pass --safe-value/--unsafe-value, or --mapping",
    )


def _columns(ctx: Context) -> tuple[str, ...]:
    return (ctx.options.text_field, ctx.options.label_field)


IMPORTER = Importer(
    name="generic",
    description="any JSONL/JSON/CSV/parquet: --text-field, --label-field, --safe-value, --mapping",
    convert=convert,
    columns_from=_columns,
    prefix="gen",
)
