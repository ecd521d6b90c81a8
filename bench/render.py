"""Terminal rendering of a run summary (rich tables)."""

from __future__ import annotations

from policybench.service.summary import Interval, Percentiles, RunSummary
from rich.console import Console
from rich.table import Table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _interval(acc: Interval | None) -> tuple[str, str]:
    if acc is None:
        return "n/a", ""
    return (
        f"{acc.value:.1%} ({acc.successes}/{acc.n})",
        f"{acc.ci_low:.1%} - {acc.ci_high:.1%}",
    )


def _pcts(p: Percentiles) -> str:
    return " / ".join(_secs(v) for v in (p.p50, p.p90, p.p99))


def _secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def render_summary(summary: RunSummary, console: Console) -> None:
    s = summary
    backend = s.backend or ""
    title = (
        f"run {s.run_id}  [{s.status}]  {s.model or ''} / {s.strategy or ''} / {s.policies or ''}"
    )
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI (Wilson)", justify="right")
    multi, multi_ci = _interval(s.multi_policy_accuracy)
    binary, binary_ci = _interval(s.binary_accuracy)
    table.add_row("multi-policy accuracy", multi, multi_ci)
    table.add_row("binary accuracy", binary, binary_ci)
    table.add_row("macro-F1", _pct(s.macro_f1), "")
    table.add_row("false-positive rate", _pct(s.false_positive_rate), "")
    table.add_row("false-negative rate", _pct(s.false_negative_rate), "")
    table.add_row("samples", f"{s.completed} of {s.samples}", "")
    table.add_row("parse failures", str(s.parse_failures), "")
    table.add_row("errors", str(s.errors), "")
    unknown = s.unknown_labels
    if unknown:
        table.add_row(
            "samples with unknown labels",
            str(unknown),
            "not in multi-policy accuracy" if s.multi_policy_accuracy else "",
        )
    sph = s.samples_per_hour
    table.add_row("samples/hour", "n/a" if sph is None else f"{sph:,.0f}", "")
    table.add_row("latency per sample p50/p90/p99", _pcts(s.latency_seconds), "")
    table.add_row("latency per request p50/p90/p99", _pcts(s.request_latency_seconds), "")
    if s.ttft_seconds is not None:
        table.add_row("time to first token p50/p90/p99", _pcts(s.ttft_seconds), "")
    tps = s.tokens_per_second
    table.add_row(
        "tokens prompt / completion", f"{s.tokens.prompt:,} / {s.tokens.completion:,}", ""
    )
    ptr = s.prompt_tokens_per_request
    if ptr:
        table.add_row("prompt tokens per request", f"{ptr:,.0f}", "")
    if tps.prompt is not None:
        table.add_row(
            "tokens/s prompt / completion", f"{tps.prompt:,.0f} / {tps.completion or 0:,.0f}", ""
        )
    table.add_row("backend", "simulated server" if backend == "simulated" else str(backend), "")
    console.print(table)

    if s.per_category:
        cats = Table(
            show_header=True, header_style="bold", title="per category", title_justify="left"
        )
        for col in ("category", "precision", "recall", "F1", "support", "TP", "FP", "FN", "TN"):
            cats.add_column(col, justify="left" if col == "category" else "right")
        for name, m in s.per_category.items():
            cats.add_row(
                name,
                _pct(m.precision),
                _pct(m.recall),
                _pct(m.f1),
                str(m.support),
                str(m.tp),
                str(m.fp),
                str(m.fn),
                str(m.tn),
            )
        console.print(cats)
    if unknown:
        console.print(
            f"{unknown} of {s.completed} samples had unknown category labels "
            "(binary-only or partial): they are excluded from multi-policy accuracy and from "
            "the per-category counts of the unknown categories."
            + ("" if s.multi_policy_accuracy else " No sample supports multi-policy accuracy.")
        )
    if backend == "simulated":
        console.print("[dim]Figures come from the simulated server, not a model.[/dim]")
