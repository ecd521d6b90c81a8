"""Number formatting shared by every report format (one place, so all agree)."""

from __future__ import annotations

from typing import Any


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def acc(a: dict[str, Any] | None) -> str:
    """``23.0% [18.6-28.1]``: a Wilson interval in points."""
    if not a:
        return "n/a"
    return f"{a['value']:.1%} [{a['ci_low'] * 100:.1f}-{a['ci_high'] * 100:.1f}]"


def acc_long(a: dict[str, Any] | None) -> str:
    if not a:
        return "n/a"
    return (
        f"{a['value']:.1%} (95% CI {a['ci_low']:.1%} - {a['ci_high']:.1%}, "
        f"{a['successes']}/{a['n']})"
    )


#: What a matrix cell shows, by ``--metric``: the summary key and its name.
GRID_METRICS: dict[str, tuple[str, str]] = {
    "multi": ("multi_policy_accuracy", "multi-policy accuracy [95% Wilson CI]"),
    "binary": ("binary_accuracy", "binary accuracy [95% Wilson CI]"),
    "f1": ("binary_f1", "binary F1, unsafe = positive [95% CI]"),
}


def failures(summary: dict[str, Any]) -> str:
    """``wrong`` / ``exclude, 3 left out``: the failure rule behind a binary F1."""
    counts = summary.get("binary_counts") or {}
    rule = summary.get("failure_rule") or counts.get("failure_rule") or "wrong"
    left = (counts.get("excluded_parse_failures") or 0) + (counts.get("excluded_errors") or 0)
    return f"{rule}, {left} left out" if left else str(rule)


def interval(a: dict[str, Any] | None) -> str:
    """``72.7% (95% CI 57.1% - 84.9%)``: any figure with an interval."""
    if not a:
        return "n/a"
    return f"{a['value']:.1%} (95% CI {a['ci_low']:.1%} - {a['ci_high']:.1%})"


def f1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def minutes(seconds: float | None) -> str:
    return "n/a" if not seconds else f"{seconds / 60:.1f} minutes"


def p_value(p: float) -> str:
    return f"{p:.3g}"


#: The runs table, shared by the terminal and HTML reports.
RUN_COLUMNS = (
    "run",
    "status",
    "model / policies / strategy",
    "done",
    "multi-policy acc [95% CI]",
    "binary acc [95% CI]",
    "binary F1 [95% CI] (failures)",
    "macro-F1",
    "samples/h",
    "p50 / p99 latency",
    "parse fail",
    "errors",
)


def run_cells(run: Any) -> tuple[str, ...]:
    """One row of the runs table for a report's ``RunData``."""
    s = run.summary.to_json()
    lat = s.get("latency_seconds") or {}
    return (
        run.row.run_id,
        run.row.status,
        run.label + (" (sim)" if run.simulated else ""),
        f"{s['completed']}/{s['samples']}",
        acc(s.get("multi_policy_accuracy")),
        acc(s.get("binary_accuracy")),
        f"{acc(s.get('binary_f1'))} ({failures(s)})",
        pct(s.get("macro_f1")),
        rate(s.get("samples_per_hour")),
        f"{secs(lat.get('p50'))} / {secs(lat.get('p99'))}",
        str(s.get("parse_failures", 0)),
        str(s.get("errors", 0)),
    )


#: The server's own figures (its /metrics over the run), shared by every report format.
SERVER_COLUMNS = (
    "run",
    "prefix-cache hit rate",
    "mean queue time",
    "KV-cache peak",
    "preemptions",
    "requests: server / client",
)


def count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def server_cells(run: Any) -> tuple[str, ...] | None:
    """A run's row of server figures, or ``None`` where its server exposed none."""
    s = run.summary.to_json()
    srv = s.get("server")
    if not srv:
        return None
    return (
        run.row.run_id,
        pct(srv.get("prefix_cache_hit_rate")),
        secs(srv.get("mean_queue_seconds")),
        pct(srv.get("kv_cache_usage_peak")),
        count(srv.get("preemptions")),
        f"{count(srv.get('requests'))} / {count(s.get('requests'))}",
    )


#: The ``--by`` slices table, shared by the terminal, markdown and HTML reports.
SLICE_FIGURES = (
    "multi_policy_accuracy",
    "binary_accuracy",
    "binary_f1",
    "binary_precision",
    "binary_recall",
)
SLICE_COLUMNS = (
    "samples",
    "multi-policy acc [95% CI]",
    "binary acc [95% CI]",
    "binary F1 [95% CI]",
    "precision [95% CI]",
    "recall [95% CI]",
    "FPR",
    "FNR",
    "parse fail",
    "errors",
)


def slice_table(summary: dict[str, Any]) -> tuple[str, str, list[tuple[str, ...]]] | None:
    """``(field, title, rows)`` of a summary's ``--by`` slices, or ``None`` without them."""
    slices = summary.get("slices")
    if not isinstance(slices, dict):
        return None
    by = str(slices["by"])
    title = f"by {by}" + (
        f" (capped at {slices['max_groups']} groups: later values are counted in '(other)')"
        if slices["capped"]
        else ""
    )
    rows = [
        (
            name or "(empty)",
            str(g["samples"]),
            *(acc(g.get(k)) for k in SLICE_FIGURES),
            pct(g.get("false_positive_rate")),
            pct(g.get("false_negative_rate")),
            str(g.get("parse_failures", 0)),
            str(g.get("errors", 0)),
        )
        for name, g in slices["groups"].items()
    ]
    return by, title, rows
