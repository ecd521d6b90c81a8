"""Number formatting shared by every report format (one place, so all agree)."""

from __future__ import annotations

from typing import Any

from policybench.service.summary import Interval


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def acc(a: Interval | None) -> str:
    """``23.0% [18.6-28.1]``: a Wilson interval in points."""
    if not a:
        return "n/a"
    return f"{a.value:.1%} [{a.ci_low * 100:.1f}-{a.ci_high * 100:.1f}]"


def acc_long(a: Interval | None) -> str:
    if not a:
        return "n/a"
    return f"{a.value:.1%} (95% CI {a.ci_low:.1%} - {a.ci_high:.1%}, {a.successes}/{a.n})"


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
    "macro-F1",
    "samples/h",
    "p50 / p99 latency",
    "parse fail",
    "errors",
)


def run_cells(run: Any) -> tuple[str, ...]:
    """One row of the runs table for a report's ``RunData``."""
    s = run.summary
    lat = s.latency_seconds
    return (
        run.row.run_id,
        run.row.status,
        run.label + (" (sim)" if run.simulated else ""),
        f"{s.completed}/{s.samples}",
        acc(s.multi_policy_accuracy),
        acc(s.binary_accuracy),
        pct(s.macro_f1),
        rate(s.samples_per_hour),
        f"{secs(lat.p50)} / {secs(lat.p99)}",
        str(s.parse_failures),
        str(s.errors),
    )
