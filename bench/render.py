"""Terminal rendering of a run summary (rich tables)."""

from __future__ import annotations

from typing import Any

from policybench.service.summary import RunSummary
from rich.console import Console
from rich.table import Table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _interval(acc: dict[str, Any] | None) -> tuple[str, str]:
    if not acc:
        return "n/a", ""
    return (
        f"{acc['value']:.1%} ({acc['successes']}/{acc['n']})",
        f"{acc['ci_low']:.1%} - {acc['ci_high']:.1%}",
    )


def _figure(fig: dict[str, Any] | None) -> tuple[str, str]:
    if not fig:
        return "n/a", ""
    return f"{fig['value']:.1%}", f"{fig['ci_low']:.1%} - {fig['ci_high']:.1%}"


def failure_note(counts: dict[str, Any] | None) -> tuple[str, str]:
    """``("wrong", "3 counted as wrong")`` / ``("exclude", "2 left out")``: the rule binary
    P/R/F1 used for the run's failures and what it did with them, shown beside the figure."""
    if not counts:
        return "", ""
    parts = []
    if counts.get("failures_counted"):
        parts.append(f"{counts['failures_counted']} counted as wrong")
    left = (counts.get("excluded_parse_failures") or 0) + (counts.get("excluded_errors") or 0)
    if left:
        parts.append(f"{left} left out")
    return str(counts.get("failure_rule", "wrong")), ", ".join(parts) or "no failures"


def render_slices(summary: dict[str, Any], console: Console) -> None:
    """The ``--by`` table: the headline metrics per group, each value over its interval
    (narrow enough for 80 columns; ``--json`` and the reports also carry precision, recall
    and the error rates per group)."""
    slices = summary.get("slices")
    if not isinstance(slices, dict):
        return
    from .report.fmt import slice_table

    found = slice_table(summary)
    assert found is not None
    by, title, _ = found
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(by, overflow="fold")
    for col in ("n", "multi acc", "binary acc", "binary F1", "fail/err"):
        table.add_column(col, justify="right")
    for name, g in slices["groups"].items():
        table.add_row(
            name or "(empty)",
            str(g["samples"]),
            *(
                _stacked(g.get(k))
                for k in ("multi_policy_accuracy", "binary_accuracy", "binary_f1")
            ),
            f"{g.get('parse_failures', 0)}/{g.get('errors', 0)}",
        )
    console.print(table)


def _stacked(fig: dict[str, Any] | None) -> str:
    if not fig:
        return "n/a"
    return f"{fig['value']:.1%}\n[{fig['ci_low'] * 100:.1f}-{fig['ci_high'] * 100:.1f}]"


def _secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _server_table(summary: dict[str, Any], server: dict[str, Any], console: Console) -> None:
    """The server's own figures (its /metrics over the run) beside the client's."""
    table = Table(
        title="the server's own figures (its /metrics over the run)",
        title_justify="left",
        header_style="bold",
    )
    for col in ("figure", "server", "client"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    tokens = summary.get("tokens") or {}
    lat = summary.get("request_latency_seconds") or {}
    table.add_row("prefix-cache hit rate", _pct(server.get("prefix_cache_hit_rate")), "")
    table.add_row(
        "mean queue time",
        _secs(server.get("mean_queue_seconds")),
        f"request p50 {_secs(lat.get('p50'))}",
    )
    table.add_row("KV-cache usage peak", _pct(server.get("kv_cache_usage_peak")), "")
    table.add_row("preemptions", _count(server.get("preemptions")), "")
    table.add_row(
        "requests counted", _count(server.get("requests")), _count(summary.get("requests"))
    )
    table.add_row(
        "prompt / generation tokens",
        f"{_count(server.get('prompt_tokens'))} / {_count(server.get('generation_tokens'))}",
        f"{_count(tokens.get('prompt'))} / {_count(tokens.get('completion'))}",
    )
    console.print(table)


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def render_summary(summary: RunSummary, console: Console) -> None:
    """The run's summary tables (from its JSON view: the tables are keyed like --json)."""
    _render(summary.to_json(), console)


def _render(summary: dict[str, Any], console: Console) -> None:
    backend = summary.get("backend", "")
    title = (
        f"run {summary['run_id']}  [{summary['status']}]  "
        f"{summary.get('model', '')} / {summary.get('strategy', '')} / {summary.get('policies', '')}"
    )
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    multi, multi_ci = _interval(summary.get("multi_policy_accuracy"))
    binary, binary_ci = _interval(summary.get("binary_accuracy"))
    table.add_row("multi-policy accuracy", multi, multi_ci)
    table.add_row("binary accuracy", binary, binary_ci)
    rule, detail = failure_note(summary.get("binary_counts"))
    for key, label in (
        ("binary_f1", "binary F1 (unsafe = positive)"),
        ("binary_precision", "binary precision"),
        ("binary_recall", "binary recall"),
    ):
        value, ci = _figure(summary.get(key))
        table.add_row(label, value, ci)
    if rule:
        table.add_row("failures (binary P/R/F1)", rule, detail)
    table.add_row("macro-F1", _pct(summary.get("macro_f1")), "")
    table.add_row("false-positive rate", _pct(summary.get("false_positive_rate")), "")
    table.add_row("false-negative rate", _pct(summary.get("false_negative_rate")), "")
    table.add_row("samples", f"{summary.get('completed', 0)} of {summary.get('samples', 0)}", "")
    table.add_row("parse failures", str(summary.get("parse_failures", 0)), "")
    table.add_row("errors", str(summary.get("errors", 0)), "")
    unknown = summary.get("unknown_labels") or 0
    if unknown:
        table.add_row(
            "samples with unknown labels",
            str(unknown),
            "not in multi-policy accuracy" if summary.get("multi_policy_accuracy") else "",
        )
    sph = summary.get("samples_per_hour")
    failed = (summary.get("errors") or 0) + (summary.get("parse_failures") or 0)
    table.add_row(
        "samples/hour (scored)",
        "n/a" if sph is None else f"{sph:,.0f}",
        f"not counting {summary.get('errors', 0)} errors, "
        f"{summary.get('parse_failures', 0)} parse failures"
        if failed
        else "",
    )
    lat = summary.get("latency_seconds") or {}
    table.add_row(
        "latency per sample p50/p90/p99",
        " / ".join(_secs(lat.get(k)) for k in ("p50", "p90", "p99")),
        "",
    )
    rlat = summary.get("request_latency_seconds") or {}
    timeouts = summary.get("request_timeouts") or 0
    table.add_row(
        "latency per request p50/p90/p99",
        " / ".join(_secs(rlat.get(k)) for k in ("p50", "p90", "p99")),
        "timed-out attempts included" if timeouts else "",
    )
    if timeouts:
        table.add_row("request attempts timed out", f"{timeouts:,}", "")
    ttft = summary.get("ttft_seconds")
    if ttft:
        table.add_row(
            "time to first token p50/p90/p99",
            " / ".join(_secs(ttft.get(k)) for k in ("p50", "p90", "p99")),
            "",
        )
    tps = summary.get("tokens_per_second") or {}
    tokens = summary.get("tokens") or {}
    table.add_row(
        "tokens prompt / completion",
        " / ".join(_count(tokens.get(k)) for k in ("prompt", "completion")),
        "" if tokens.get("prompt") is not None else "the server sent no usage",
    )
    ptr = summary.get("prompt_tokens_per_request")
    if ptr:
        table.add_row("prompt tokens per request", f"{ptr:,.0f}", "")
    if tps.get("prompt") is not None:
        table.add_row(
            "tokens/s prompt / completion",
            f"{tps['prompt']:,.0f} / {tps.get('completion') or 0:,.0f}",
            "",
        )
    table.add_row("backend", "simulated server" if backend == "simulated" else str(backend), "")
    if summary.get("route"):
        table.add_row("route", str(summary["route"]), "")
    console.print(table)

    server = summary.get("server")
    if server:
        _server_table(summary, server, console)

    per_cat = summary.get("per_category") or {}
    if per_cat:
        cats = Table(
            show_header=True, header_style="bold", title="per category", title_justify="left"
        )
        for col in ("category", "precision", "recall", "F1", "support", "TP", "FP", "FN", "TN"):
            cats.add_column(col, justify="left" if col == "category" else "right")
        for name, m in per_cat.items():
            cats.add_row(
                name,
                _pct(m["precision"]),
                _pct(m["recall"]),
                _pct(m["f1"]),
                str(m["support"]),
                str(m["tp"]),
                str(m["fp"]),
                str(m["fn"]),
                str(m["tn"]),
            )
        console.print(cats)
    render_slices(summary, console)
    if unknown:
        console.print(
            f"{unknown} of {summary.get('completed', 0)} samples had unknown category labels "
            "(binary-only or partial): they are excluded from multi-policy accuracy and from "
            "the per-category counts of the unknown categories."
            + (
                ""
                if summary.get("multi_policy_accuracy")
                else " No sample supports multi-policy accuracy."
            )
        )
    if backend == "simulated":
        console.print("[dim]Figures come from the simulated server, not a model.[/dim]")
