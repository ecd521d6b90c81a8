"""Charts as PNG bytes (matplotlib, Agg, no pyplot state): the matrix heatmap, accuracy
against samples/hour, per-category F1, the latency distribution and, for runs with
scores, precision-recall and ROC curves."""

from __future__ import annotations

import io
import math
from typing import Any

from .data import Grid, ReportData


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def heatmap(grid: Grid) -> bytes:
    tables = grid.tables()
    fig = _figure(
        2.2 + 2.0 * len(grid.policies), 0.6 + (1.0 + 0.7 * len(grid.models)) * len(tables)
    )
    axes = fig.subplots(len(tables), 1, squeeze=False)[:, 0]
    for ax, (strategy, dataset) in zip(axes, tables, strict=True):
        values = [
            [
                (a["value"] if (a := grid.accuracy((m, p, strategy, dataset))) else math.nan)
                for p in grid.policies
            ]
            for m in grid.models
        ]
        image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(grid.policies)), grid.policies)
        ax.set_yticks(range(len(grid.models)), grid.models)
        ax.set_title(f"multi-policy accuracy: {strategy}, {dataset.rsplit('/', 1)[-1]}")
        for i, model in enumerate(grid.models):
            for j, pol in enumerate(grid.policies):
                a = grid.accuracy((model, pol, strategy, dataset))
                text = (
                    "not run"
                    if a is None
                    else f"{a['value']:.1%}\n[{a['ci_low']:.1%}, {a['ci_high']:.1%}]"
                )
                ax.text(j, i, text, ha="center", va="center", color="white", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return _png(fig)


def accuracy_vs_throughput(data: ReportData) -> bytes:
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    for run in data.runs:
        s = run.summary.to_json()
        a, sph = s.get("multi_policy_accuracy"), s.get("samples_per_hour")
        if not a or not sph:
            continue
        ax.errorbar(
            [sph],
            [a["value"]],
            yerr=[[a["value"] - a["ci_low"]], [a["ci_high"] - a["value"]]],
            fmt="o",
            capsize=4,
            label=run.label + (" (sim)" if run.simulated else ""),
        )
    ax.set_xscale("log")
    ax.set_xlabel("samples/hour (log)")
    ax.set_ylabel("multi-policy accuracy (95% CI)")
    ax.set_ylim(0, 1)
    ax.set_title("accuracy against throughput")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return _png(fig)


def per_category_f1(data: ReportData) -> bytes:
    cats: list[str] = []
    for run in data.runs:
        for c in run.summary.to_json().get("per_category") or {}:
            if c not in cats:
                cats.append(c)
    fig = _figure(max(6.0, 1.2 * len(cats) + 2), 4.5)
    ax = fig.subplots()
    n = max(1, len(data.runs))
    width = 0.8 / n
    for k, run in enumerate(data.runs):
        per = run.summary.to_json().get("per_category") or {}
        ys = [(per.get(c) or {}).get("f1") or 0.0 for c in cats]
        ax.bar(
            [i + k * width - 0.4 + width / 2 for i in range(len(cats))],
            ys,
            width=width,
            label=run.label + (" (sim)" if run.simulated else ""),
        )
    ax.set_xticks(range(len(cats)), cats, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title("per-category F1")
    if data.runs:
        ax.legend(fontsize=7, loc="best")
    return _png(fig)


def latency_distribution(data: ReportData) -> bytes:
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    series = [(r.label, data.latencies.get(r.row.run_id) or []) for r in data.runs]
    series = [(label, xs) for label, xs in series if xs]
    if series:
        lo = max(1e-4, min(min(xs) for _, xs in series))
        hi = max(max(xs) for _, xs in series)
        hi = max(hi, lo * 1.01)
        bins = [lo * (hi / lo) ** (i / 40) for i in range(41)]
        for label, xs in series:
            ax.hist(xs, bins=bins, histtype="step", linewidth=1.5, label=label)
        ax.set_xscale("log")
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("latency per sample, seconds (log)")
    ax.set_ylabel("samples")
    ax.set_title("latency distribution")
    return _png(fig)


def score_curves(data: ReportData) -> bytes:
    """Precision-recall and ROC curves of the runs with scores, AUPRC / ROC-AUC in the legend."""
    fig = _figure(11, 4.5)
    pr, roc = fig.subplots(1, 2)
    for run in data.runs:
        points = data.curves.get(run.row.run_id)
        if points is None:
            continue
        s = run.summary.to_json().get("scores") or {}
        label = run.label + (" (sim)" if run.simulated else "")
        auprc, auc = s.get("auprc"), s.get("roc_auc")
        pr.step(  # the precision of a threshold holds up to its recall: "pre" steps
            points["recall"],
            points["precision"],
            where="pre",
            label=f"{label}: AUPRC {auprc:.3f}" if auprc is not None else label,
        )
        roc.plot(
            points["fpr"],
            points["tpr"],
            label=f"{label}: ROC-AUC {auc:.3f}" if auc is not None else label,
        )
    roc.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    pr.set_xlabel("recall")
    pr.set_ylabel("precision")
    pr.set_title("precision-recall (unsafe = positive)")
    roc.set_xlabel("false-positive rate")
    roc.set_ylabel("true-positive rate")
    roc.set_title("ROC")
    for ax in (pr, roc):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower left" if ax is pr else "lower right")
    return _png(fig)


def all_charts(data: ReportData) -> dict[str, bytes]:
    """Chart name -> PNG bytes, in display order."""
    out: dict[str, bytes] = {}
    if data.grid is not None:
        out["matrix-heatmap"] = heatmap(data.grid)
    out["accuracy-vs-throughput"] = accuracy_vs_throughput(data)
    out["per-category-f1"] = per_category_f1(data)
    out["latency-distribution"] = latency_distribution(data)
    if data.curves:
        out["score-curves"] = score_curves(data)
    return out
