"""``bench datasets list|show|validate|import``: what is in a dataset, and getting public
sets into policybench's JSONL format.

Bad input (a malformed line, a label outside the mapping, a truncated gzip...) exits 2
with ``file:line: field: problem``; an import never leaves a partial output file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .common import EXIT_USAGE, BenchError
from .options import json_option, option


def _usage_error(message: str) -> click.ClickException:
    return BenchError(message, EXIT_USAGE)


def _echo_json(obj: Any) -> None:
    import orjson

    click.echo(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode())


def _usage_errors() -> tuple[type[Exception], ...]:
    from policybench.service.errors import InputError

    return (InputError,)


def _categories(policies: str, any_category: bool) -> frozenset[str] | None:
    if any_category:
        return None
    from policybench.service.policies import load_policy_set

    try:
        return frozenset(load_policy_set(policies).categories)
    except _usage_errors() as exc:
        raise _usage_error(str(exc)) from exc


def _policies_options(f: Any) -> Any:
    f = option(
        "--any-category",
        is_flag=True,
        help="Accept any category name (default: only the policy set's categories).",
    )(f)
    return option(
        "--policies",
        default="minimal",
        show_default=True,
        help="Policy set whose categories labels must name (minimal|medium|verbose|DIR).",
    )(f)


@click.group("datasets")
def datasets() -> None:
    """Datasets: the catalog, what is in a file, validating and importing."""


@datasets.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Shipped datasets and known public ones (size, labels, licence, where to get it)."""
    from policybench.service.catalog import load_catalog

    entries = load_catalog()
    if as_json:
        _echo_json([{k: getattr(e, k) for k in e.__slots__} for e in entries])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("name", "kind", "samples", "labels", "licence"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(e.name, e.kind, e.samples, e.labels, e.licence)
    console = Console()
    console.print(table)
    console.print("[bold]where to get them[/bold] (bench datasets show NAME for more):")
    for e in entries:
        how = "use by name" if e.kind == "shipped" else f"import as `{e.importer}`"
        where = e.url + (f" ({e.files})" if e.files else "")
        console.print(f"  {e.name}: {where}; {how}", soft_wrap=True)


@datasets.command("show")
@click.argument("name_or_file")
@_policies_options
@json_option
def show_cmd(name_or_file: str, policies: str, any_category: bool, as_json: bool) -> None:
    """Counts per category, safe/unsafe, per source, text lengths and the fingerprint."""
    from policybench.service.catalog import find
    from policybench.service.datasets import resolve

    entry = find(name_or_file) if "/" not in name_or_file else None
    if entry is not None and entry.kind == "public" and not Path(name_or_file).exists():
        if as_json:
            _echo_json({k: getattr(entry, k) for k in entry.__slots__})
        else:
            click.echo(
                f"{entry.name}: public dataset, not shipped ({entry.samples} samples; "
                f"{entry.labels}; licence {entry.licence}).\n"
                f"Download {entry.files or 'it'} from {entry.url}, then:\n"
                f"  bench datasets import {entry.importer} FILE -o {entry.name}.jsonl"
            )
        return
    info = _scan(lambda: resolve(name_or_file), _categories(policies, any_category))
    if as_json:
        _echo_json(info_dict(info))
    else:
        from rich.console import Console

        render_info(info, Console())


def info_dict(info: Any) -> dict[str, Any]:
    """``bench datasets show --json``: what a scan learnt, as plain data."""
    return {
        "path": info.path,
        "samples": info.count,
        "fingerprint": info.fingerprint,
        "safe": info.safe,
        "unsafe": info.unsafe,
        "binary_unknown": info.count - info.safe - info.unsafe,
        "binary_only": info.binary_only,
        "partial": info.partial,
        "categories": dict(info.label_counts.most_common()),
        "label_sets": dict(info.label_sets.most_common()),
        "sources": dict(info.sources.most_common()),
        "text_length": info.lengths.as_dict(),
        "header": info.header,
        "tasks": {str(t): n for t, n in info.task_gold.items()},
        "with_response": info.with_response,
        "multi_turn": info.multi_turn,
    }


def render_info(info: Any, console: Any) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{info.path}[/bold]: {info.count:,} samples, fingerprint {info.fingerprint}"
    )
    unknown = info.count - info.safe - info.unsafe
    line = f"safe {info.safe:,}, unsafe {info.unsafe:,}"
    if unknown:
        line += f", binary label unknown {unknown:,}"
    console.print(line)
    tasks = ", ".join(f"{t} {n:,}" for t, n in info.task_gold.items())
    console.print(
        f"gold per task: {tasks}; {info.with_response:,} with a response, "
        f"{info.multi_turn:,} multi-turn"
    )
    if info.unknown_labels:
        console.print(
            f"{info.unknown_labels:,} samples have unknown category labels "
            f"({info.binary_only:,} binary-only, {info.partial:,} partial): "
            "they get no multi-policy accuracy"
        )
    sets = Table(title="label sets", title_justify="left", header_style="bold")
    sets.add_column("labels")
    sets.add_column("samples", justify="right")
    sets.add_column("share", justify="right")
    for name, n in info.label_sets.most_common():
        sets.add_row(name, f"{n:,}", f"{n / info.count:.1%}")
    console.print(sets)
    if info.label_counts:
        cats = Table(
            title="per category (a sample may count in several)",
            title_justify="left",
            header_style="bold",
        )
        cats.add_column("category")
        cats.add_column("samples", justify="right")
        for name, n in info.label_counts.most_common():
            cats.add_row(name, f"{n:,}")
        console.print(cats)
    sources = Table(title="per source", title_justify="left", header_style="bold")
    sources.add_column("source")
    sources.add_column("samples", justify="right")
    for name, n in info.sources.most_common(20):
        sources.add_row(name or "(none)", f"{n:,}")
    if len(info.sources) > 20:
        sources.add_row(f"... {len(info.sources) - 20} more", "")
    console.print(sources)
    lengths = info.lengths.as_dict()
    console.print(
        "text length (characters): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in lengths.items() if v is not None)
    )


def _scan(path_of: Any, categories: frozenset[str] | None) -> Any:
    from policybench.service.datasets import scan

    try:
        return scan(path_of(), categories)
    except _usage_errors() as exc:
        raise _usage_error(str(exc)) from exc


@datasets.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@_policies_options
@json_option
def validate_cmd(file: str, policies: str, any_category: bool, as_json: bool) -> None:
    """Check every line of FILE (streamed); errors name file, line and field (exit 2)."""
    info = _scan(lambda: Path(file), _categories(policies, any_category))
    if as_json:
        _echo_json(
            {
                "file": file,
                "valid": True,
                "samples": info.count,
                "fingerprint": info.fingerprint,
                "binary_only": info.binary_only,
                "partial": info.partial,
                "tasks": {str(t): n for t, n in info.task_gold.items()},
                "with_response": info.with_response,
                "multi_turn": info.multi_turn,
            }
        )
    else:
        extra = ""
        if info.unknown_labels:
            extra = f", {info.unknown_labels} with unknown labels"
        if info.with_response or info.multi_turn:
            gold = ", ".join(f"{t} {n}" for t, n in info.task_gold.items())
            extra += (
                f"; gold per task: {gold}; {info.with_response} with a response, "
                f"{info.multi_turn} multi-turn"
            )
        click.echo(f"ok: {file}: {info.count} samples{extra}, fingerprint {info.fingerprint}")


@datasets.command("import")
@click.argument("fmt", metavar="[FORMAT]", required=False)
@click.argument("src", metavar="SRC", required=False, type=click.Path(dir_okay=False))
@option(
    "--protocol",
    default=None,
    help="A published protocol's recipe (subset and label rule; `bench datasets protocols`) "
    "instead of FORMAT.",
)
@option(
    "--output",
    "-o",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output JSONL (.jsonl or .jsonl.gz), written atomically.",
)
@option(
    "--mapping",
    type=click.Path(dir_okay=False),
    default=None,
    help="Label mapping table (TOML) instead of the format's default.",
)
@option("--sample", type=int, default=None, help="Keep N samples, chosen reproducibly by --seed.")
@option("--stratify", is_flag=True, help="With --sample: keep each label set's share.")
@option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@option(
    "--binary", is_flag=True, help="Keep only the binary harm label (e.g. WildGuardMix test split)."
)
@option("--text-field", default="text", show_default=True, help="Generic importer: text column.")
@option("--label-field", default="label", show_default=True, help="Generic importer: label column.")
@option(
    "--safe-value", multiple=True, help="Generic importer: label value meaning safe (repeatable)."
)
@option(
    "--unsafe-value",
    multiple=True,
    help="Generic importer: label value meaning unsafe (repeatable).",
)
@option(
    "--id-field", default=None, help="Generic importer: id column (default: a hash of the text)."
)
@option("--response-field", default=None, help="Generic importer: response column.")
@option("--source", default=None, help="Set every sample's `source` to this.")
@option("--force", is_flag=True, help="Replace OUT if it exists.")
@json_option
def import_cmd(
    fmt: str | None, src: str | None, out: str, protocol: str | None, as_json: bool, **opts: Any
) -> None:
    """Convert SRC (a local download in FORMAT) into a policybench JSONL dataset.

    FORMAT: wildguardmix, openai-moderation, xstest, harmbench, advbench,
    simplesafetytests, beavertails, toxicchat, aegis, guardreasoner, seed, jsonl, csv.
    Or `--protocol NAME SRC`: a published protocol's subset and label rule, its counts
    checked against the published ones.
    """
    from policybench.service.importers import ImportOptions, get, run_import
    from policybench.service.importers.recipes import get_recipe, run_recipe

    recipe = None
    if protocol is not None:
        if fmt is not None and src is not None:
            raise _usage_error("--protocol takes SRC only, not FORMAT SRC")
        src = src or fmt
        try:
            recipe = get_recipe(protocol)
        except KeyError as exc:
            raise _usage_error(str(exc.args[0])) from exc
        importer = recipe.importer
    else:
        if fmt is None or src is None:
            raise _usage_error("give FORMAT SRC, or --protocol NAME SRC")
        try:
            importer = get(fmt)
        except KeyError as exc:
            raise _usage_error(str(exc.args[0])) from exc
    if src is None:
        raise _usage_error("missing SRC")
    if opts["stratify"] and opts["sample"] is None:
        raise _usage_error("--stratify needs --sample N")
    options = ImportOptions(
        mapping=Path(opts["mapping"]) if opts["mapping"] else None,
        sample=opts["sample"],
        stratify=opts["stratify"],
        seed=opts["seed"],
        binary=opts["binary"],
        text_field=opts["text_field"],
        label_field=opts["label_field"],
        safe_values=tuple(opts["safe_value"]),
        unsafe_values=tuple(opts["unsafe_value"]),
        id_field=opts["id_field"],
        response_field=opts["response_field"],
        source=opts["source"],
        force=opts["force"],
    )
    check = None
    try:
        if recipe is not None:
            report, check = run_recipe(recipe, Path(src), Path(out), options)
        else:
            report = run_import(importer, Path(src), Path(out), options)
    except _usage_errors() as exc:
        raise _usage_error(str(exc)) from exc
    if as_json:
        doc = report.as_dict()
        if recipe is not None and check is not None:
            doc["protocol"] = {**recipe.record(), "counts": check.as_dict()}
        _echo_json(doc)
        return
    click.echo(
        f"wrote {report.written} samples to {out} ({report.rows} rows read, {report.kept} kept)",
        err=True,
    )
    for reason, n in report.dropped.most_common():
        click.echo(f"  dropped {n}: {reason}", err=True)
    labels = ", ".join(f"{k} {v}" for k, v in report.written_strata.most_common())
    click.echo(f"  labels: {labels}", err=True)
    if recipe is not None and check is not None:
        click.echo(
            f"  protocol {recipe.name} ({recipe.task.value} task): {check.describe()}", err=True
        )
    sys.stderr.flush()


@datasets.command("protocols")
@json_option
def protocols_cmd(as_json: bool) -> None:
    """Published-protocol recipes for `bench datasets import --protocol NAME`."""
    from policybench.service.importers.recipes import RECIPES

    if as_json:
        _echo_json([{**r.record(), "reads": r.reads} for r in RECIPES.values()])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for col in ("protocol", "task", "samples", "positive", "reads", "rule"):
        table.add_column(col, overflow="fold")
    for r in RECIPES.values():
        n = f"{r.expected.samples:,}" if r.expected else "-"
        pos = f"{r.expected.positive:,}" if r.expected and r.expected.positive is not None else "-"
        table.add_row(r.name, r.task.value, n, pos, r.reads, r.rule)
    Console().print(table)
