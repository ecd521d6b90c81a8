"""The viewer's pages: runs, one run, its samples, one sample.  (Compare: ``compare_page``.)

Each function takes what the queries returned and gives a whole HTML document; none
touches the store, so every page is a pure function of its data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from ..store import RunRow
from .filters import OUTCOMES, Query
from .html import (
    esc,
    folded,
    interval,
    kv,
    labels,
    layout,
    line_chart,
    number,
    pct,
    pre,
    run_url,
    seconds,
    table,
)
from .queries import SEARCH_WINDOW, Page
from .requests import RunPrompts

HEADLINES = ("multi_policy_accuracy", "binary_accuracy")


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _model(row: RunRow) -> str:
    sim = (
        ' <span class="sim" title="simulated server">sim</span>'
        if row.backend == "simulated"
        else ""
    )
    return esc(row.model) + sim


def _status(status: str) -> str:
    return f'<span class="status status-{esc(status)}">{esc(status)}</span>'


# -- runs ----------------------------------------------------------------------------------
def runs_page(rows: Sequence[RunRow]) -> str:
    body_rows = []
    for r in rows:
        s: dict[str, Any] = r.summary.to_json() if r.summary else {}
        multi, binary = s.get("multi_policy_accuracy"), s.get("binary_accuracy")
        sph = s.get("samples_per_hour")
        body_rows.append(
            f'<tr data-simulated="{str(r.backend == "simulated").lower()}">'
            f'<td><a href="{run_url(r.run_id)}">{esc(r.run_id)}</a></td>'
            f"<td>{_model(r)}</td><td>{esc(r.policy_set)}</td><td>{esc(r.strategy)}</td>"
            f'<td title="{esc(r.dataset)}">{esc(Path(r.dataset).name)}</td>'
            f"<td>{_status(r.status)}</td>"
            f'<td data-sort="{r.completed}">{r.completed:,}/{r.samples_total:,}</td>'
            f'<td data-sort="{multi["value"] if multi else -1}">{interval(multi)}</td>'
            f'<td data-sort="{binary["value"] if binary else -1}">{interval(binary)}</td>'
            f'<td data-sort="{sph or 0}">{number(sph)}</td>'
            f'<td data-sort="{r.created_at}">{_date(r.created_at)}</td></tr>'
        )
    head = "".join(
        f'<th scope="col"><button type="button" class="sort">{esc(h)}</button></th>'
        for h in (
            "run",
            "model",
            "policies",
            "strategy",
            "dataset",
            "status",
            "done",
            "multi-policy acc. [95% CI]",
            "binary acc. [95% CI]",
            "samples/h",
            "date",
        )
    )
    body = (
        "<h1>Runs</h1>"
        '<p><label>Filter <input type="search" id="runs-filter" placeholder="model, dataset, status..."></label> '
        '<label><input type="checkbox" id="hide-sim"> hide simulated</label></p>'
        f'<table id="runs" class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody></table>"
        + (_grids(rows) if rows else '<p class="muted">No runs in this store yet.</p>')
    )
    return layout("Runs", body)


def _grids(rows: Sequence[RunRow]) -> str:
    """Runs on one dataset as a grid: models down, policies x strategy across (newest run
    per cell).  The store keeps no matrix grouping, so a matrix shows as its dataset's grid."""
    out = []
    by_dataset: dict[str, list[RunRow]] = {}
    for r in rows:
        by_dataset.setdefault(r.dataset_fingerprint, []).append(r)
    for group in by_dataset.values():
        models = sorted({r.model for r in group})
        cols = sorted({(r.policy_set, r.strategy) for r in group})
        if len(models) * len(cols) < 2:
            continue
        cell: dict[tuple[str, str, str], RunRow] = {}
        for r in sorted(group, key=lambda r: r.created_at):
            cell[(r.model, r.policy_set, r.strategy)] = r
        body = []
        for m in models:
            tds = []
            for p, st in cols:
                found = cell.get((m, p, st))
                if found is None:
                    tds.append('<td class="muted">-</td>')
                    continue
                s: dict[str, Any] = found.summary.to_json() if found.summary else {}
                fig = s.get("multi_policy_accuracy") or s.get("binary_accuracy")
                tds.append(f'<td><a href="{run_url(found.run_id)}">{interval(fig)}</a></td>')
            body.append(f'<tr><th scope="row">{esc(m)}</th>{"".join(tds)}</tr>')
        head = "".join(f'<th scope="col">{esc(p)} / {esc(st)}</th>' for p, st in cols)
        name = Path(group[0].dataset).name
        out.append(
            f'<h3>{esc(name)}</h3><table class="grid"><thead><tr><th>model</th>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>"
        )
    return ("<h2>Grids</h2>" + "".join(out)) if out else ""


# -- one run -------------------------------------------------------------------------------
def headline(summary: Mapping[str, Any], row: RunRow) -> str:
    """The figures a live poll replaces (``id="headline"``)."""
    figures = [(k.replace("_", " "), interval(summary.get(k))) for k in HEADLINES]
    for key, value in summary.items():  # any other interval figure (binary F1, ...)
        if key not in HEADLINES and isinstance(value, Mapping) and "ci_low" in value:
            figures.append((key.replace("_", " "), interval(value)))
    lat = summary.get("latency_seconds") or {}
    tokens = summary.get("tokens") or {}
    figures += [
        (
            "completed",
            f'<span data-field="completed">{summary.get("completed", row.completed):,}</span> of {row.samples_total:,}',
        ),
        ("false positive rate", pct(summary.get("false_positive_rate"))),
        ("false negative rate", pct(summary.get("false_negative_rate"))),
        ("macro F1", number(summary.get("macro_f1"), 3)),
        ("parse failures", number(summary.get("parse_failures"))),
        ("errors", number(summary.get("errors"))),
        ("samples/hour", number(summary.get("samples_per_hour"))),
        ("latency p50 / p90 / p99", " / ".join(seconds(lat.get(p)) for p in ("p50", "p90", "p99"))),
        (
            "tokens prompt / completion",
            f"{number(tokens.get('prompt'))} / {number(tokens.get('completion'))}",
        ),
    ]
    return kv(figures)


def binary_matrix(run_id: str, counts: Mapping[str, int]) -> str:
    def cell(tag: str, outcome: str) -> str:
        return f'<td><a href="{run_url(run_id, "/samples", outcome=outcome)}">{counts.get(tag, 0):,}</a></td>'

    return (
        '<table class="confusion"><caption>Binary confusion (unsafe = positive; failed samples '
        'are not here)</caption><thead><tr><th></th><th scope="col">predicted unsafe</th>'
        '<th scope="col">predicted safe</th></tr></thead><tbody>'
        f'<tr><th scope="row">gold unsafe</th>{cell("b:tp", "tp")}{cell("b:fn", "fn")}</tr>'
        f'<tr><th scope="row">gold safe</th>{cell("b:fp", "fp")}{cell("b:tn", "tn")}</tr>'
        "</tbody></table>"
    )


def per_category(run_id: str, summary: Mapping[str, Any]) -> str:
    rows = []
    for cat, f in (summary.get("per_category") or {}).items():

        def link(outcome: str, n: int, cat: str = cat) -> str:
            return (
                f'<a href="{run_url(run_id, "/samples", outcome=outcome, category=cat)}">{n:,}</a>'
            )

        rows.append(
            [
                f'<a href="{run_url(run_id, "/samples", gold=cat)}">{esc(cat)}</a>',
                number(f.get("precision"), 3),
                number(f.get("recall"), 3),
                number(f.get("f1"), 3),
                number(f.get("support")),
                link("tp", f.get("tp", 0)),
                link("fp", f.get("fp", 0)),
                link("fn", f.get("fn", 0)),
                number(f.get("tn")),
            ]
        )
    return table(
        ["category", "precision", "recall", "F1", "support", "TP", "FP", "FN", "TN"],
        rows,
        cls="per-category",
        caption="Per category: each count opens its samples",
    )


def outcomes_table(run_id: str, summary: Mapping[str, Any]) -> str:
    links = {
        "correct": "right",
        "wrong": "wrong",
        "parse_failure": "parse_failure",
        "error": "error",
    }
    rows = []
    for name, n in (summary.get("outcomes") or {}).items():
        target = links.get(name)
        cell = (
            f'<a href="{run_url(run_id, "/samples", outcome=target)}">{n:,}</a>'
            if target
            else f"{n:,}"
        )
        rows.append([esc(name.replace("_", " ")), cell])
    return table(["outcome", "samples"], rows, caption="Outcomes")


def sample_rows(run_id: str, records: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for rec in records:
        text = rec.get("input")
        excerpt = text if isinstance(text, str) else orjson.dumps(text).decode() if text else ""
        rows.append(
            [
                f'<a href="{run_url(run_id, "/samples/" + str(rec["seq"]))}">{esc(rec["sample_id"])}</a>',
                f'<span class="outcome outcome-{esc(rec["outcome"])}">{esc(rec["outcome"])}</span>',
                labels((rec.get("gold") or {}).get("labels")),
                labels(rec.get("predicted"), "nothing"),
                esc(rec.get("source", "")),
                seconds(rec.get("latency")),
                f'<span class="excerpt">{esc(excerpt[:160])}</span>',
            ]
        )
    return table(
        ["sample", "outcome", "gold", "predicted", "source", "latency", "input"],
        rows,
        cls="samples",
    )


def run_page(
    row: RunRow,
    summary: Mapping[str, Any],
    binary: Mapping[str, int],
    timeline: Sequence[tuple[float, float | None, int]],
    newest_wrong: Sequence[Mapping[str, Any]],
) -> str:
    rid = row.run_id
    live = row.status == "started"
    server = {k: v for k, v in summary.items() if "server" in k and v}
    by_source = summary.get("by_source") or {}
    source_rows = [
        [
            f'<a href="{run_url(rid, "/samples", source=src)}">{esc(src or "(none)")}</a>',
            number(h.get("samples")),
            interval(h.get("multi_policy_accuracy")),
            interval(h.get("binary_accuracy")),
            pct(h.get("false_negative_rate")),
        ]
        for src, h in by_source.items()
    ]
    lat_points = [(t, lat) for t, lat, _ in timeline if lat is not None]
    thr_points = _throughput(timeline)
    provenance = kv(
        [
            ("run id", esc(rid)),
            ("status", _status(row.status) + (f" {esc(row.error)}" if row.error else "")),
            ("model", _model(row)),
            ("policies", f"{esc(row.policy_set)} (hash {esc(row.policy_hash)})"),
            ("strategy", esc(row.strategy)),
            ("dataset", f"{esc(row.dataset)} (fingerprint {esc(row.dataset_fingerprint)})"),
            ("backend", esc(row.backend)),
            ("policybench", f"{esc(row.version)} (git {esc(row.git_rev or 'n/a')})"),
            ("created / updated", f"{_date(row.created_at)} / {_date(row.updated_at)}"),
            ("dispatch time", seconds(row.dispatch_seconds)),
        ]
    )
    body = (
        f"<h1>Run {esc(rid)} {_status(row.status)}</h1>"
        f"<p>{_model(row)} &middot; {esc(row.policy_set)} &middot; {esc(row.strategy)} &middot; "
        f"{esc(Path(row.dataset).name)} &middot; "
        f'<a href="{run_url(rid, "/samples")}">all samples</a> &middot; '
        f'<a href="{run_url(rid, "/samples", outcome="wrong")}">wrong samples</a></p>'
        + (
            f'<p class="live" role="status">live: <progress id="progress" max="{row.samples_total}" '
            f'value="{summary.get("completed", 0)}"></progress> updating as records arrive</p>'
            if live
            else ""
        )
        + f'<section><h2>Headline</h2><div id="headline">{headline(summary, row)}</div></section>'
        + '<section class="cols"><div>'
        + binary_matrix(rid, binary)
        + "</div><div>"
        + outcomes_table(rid, summary)
        + "</div></section>"
        + f"<section><h2>Per category</h2>{per_category(rid, summary)}</section>"
        + '<section><h2>Newest wrong samples</h2><div id="newest-wrong">'
        + sample_rows(rid, newest_wrong)
        + "</div></section>"
        + (
            f"<section><h2>By source</h2>{table(['source', 'samples', 'multi-policy acc.', 'binary acc.', 'FNR'], source_rows)}</section>"
            if source_rows
            else ""
        )
        + '<section><h2>Over the run</h2><div class="cols">'
        + line_chart(lat_points, title="Sample latency over the run", y_label="seconds")
        + line_chart(thr_points, title="Throughput over the run", y_label="samples/hour")
        + "</div></section>"
        + (
            f"<section><h2>The server's side</h2>{pre(orjson.dumps(server, option=orjson.OPT_INDENT_2).decode())}</section>"
            if server
            else '<section><h2>The server\'s side</h2><p class="muted">Not recorded for this run.</p></section>'
        )
        + f"<section><h2>Provenance</h2>{provenance}"
        + folded("Full config", pre(orjson.dumps(row.config, option=orjson.OPT_INDENT_2).decode()))
        + "</section>"
    )
    live_url = run_url(rid, "/live") if live else None
    return layout(f"Run {rid}", body, live_url=live_url)


def _throughput(timeline: Sequence[tuple[float, float | None, int]]) -> list[tuple[float, float]]:
    """Samples/hour between consecutive sampled records (each stands for ``weight``)."""
    out = []
    window = max(1, len(timeline) // 40)
    for i in range(window, len(timeline), window):
        t0, t1 = timeline[i - window][0], timeline[i][0]
        if t1 > t0:
            n = sum(w for _, _, w in timeline[i - window + 1 : i + 1])
            out.append((t1, n * 3600.0 / (t1 - t0)))
    return out


# -- samples -------------------------------------------------------------------------------
def samples_page(
    row: RunRow,
    query: Query,
    page: Page,
    choices: Mapping[str, Sequence[str]],
) -> str:
    rid = row.run_id
    p = query.params

    def select(name: str, options: Sequence[tuple[str, str]]) -> str:
        opts = '<option value="">any</option>' + "".join(
            f'<option value="{esc(v)}"{" selected" if p.get(name) == v else ""}>{esc(label)}</option>'
            for v, label in options
        )
        return f'<label>{esc(name)} <select name="{esc(name)}">{opts}</select></label>'

    cats = [(c, c) for c in choices.get("categories", ())]
    form = (
        f'<form method="get" action="{run_url(rid, "/samples")}" class="filters">'
        + select("outcome", [(k, v[0]) for k, v in OUTCOMES.items()])
        + select("category", cats)
        + select("gold", [("safe", "safe"), *cats])
        + select("pred", [("safe", "nothing"), *cats])
        + select("source", [(s, s) for s in choices.get("sources", ())])
        + select("meta", [(m, m) for m in choices.get("meta", ())])
        + f'<label>text <input type="search" name="q" value="{esc(p.get("q", ""))}"></label>'
        + '<button type="submit">Filter</button></form>'
    )
    if page.deferred:
        count_url = run_url(rid, "/count", **{k: v for k, v in p.items() if k != "after"})
        count = f'<span data-count-url="{count_url}">counting the matches…</span>'
    elif page.total is not None:
        count = f"{page.total:,} matching"
    elif page.searched_to is not None:
        count = (
            f"text search: read the records up to #{page.searched_to:,} (a search reads at most "
            f"{SEARCH_WINDOW:,} records a page); the next page searches on"
        )
    else:
        count = "text search: matches in dataset order (not counted)"
    nav = []
    if page.after >= 0:
        nav.append(
            f'<a href="{run_url(rid, "/samples", **{k: v for k, v in p.items() if k != "after"})}">first page</a>'
        )
    if page.next_after is not None:
        nav.append(
            f'<a rel="next" href="{run_url(rid, "/samples", **{**p, "after": page.next_after})}">next page</a>'
        )
    body = (
        f'<h1>Samples of <a href="{run_url(rid)}">{esc(rid)}</a></h1>'
        f"<p>{_model(row)} &middot; {esc(row.policy_set)} &middot; {esc(row.strategy)}</p>"
        + form
        + f'<p id="match-count">{count}</p>'
        + sample_rows(rid, page.rows)
        + f'<nav class="pager">{" ".join(nav)}</nav>'
    )
    return layout(f"Samples of {rid}", body)


# -- one sample ----------------------------------------------------------------------------
def sample_page(row: RunRow, rec: Mapping[str, Any], prompts: RunPrompts) -> str:
    rid = row.run_id
    gold = rec.get("gold") or {}
    user = rec.get("input")
    parts_html = []
    for part in rec.get("parts", ()):
        key = part.get("key", "")
        body = prompts.request(key, user) if user is not None else None
        if body is None and prompts.native(key):
            request_html = (
                '<p class="muted">This request went out in the model\'s native prompt format, '
                "rendered from the sample by that format (not stored); the sample's content was:</p>"
                + pre(user if isinstance(user, str) else orjson.dumps(user).decode())
            )
        elif body is None:
            request_html = (
                '<p class="muted">This record does not carry its user turn (stored before '
                "policybench recorded it), or its request key is not in the run's plan.</p>"
            )
        else:
            system, user_msg = body["messages"]
            fields = {k: v for k, v in body.items() if k != "messages"}
            request_html = (
                f"<h4>Request <code>{esc(orjson.dumps(fields).decode())}</code></h4>"
                + folded(
                    "system turn (" + str(len(system["content"])) + " characters)",
                    pre(system["content"]),
                )
                + "<h4>user turn</h4>"
                + pre(
                    user_msg["content"]
                    if isinstance(user_msg["content"], str)
                    else orjson.dumps(user_msg["content"], option=orjson.OPT_INDENT_2).decode()
                )
            )
        facts = kv(
            [
                ("parsed verdict", labels(part.get("verdict"), "nothing")),
                (
                    "failure reason",
                    esc(part.get("reason") or "") or '<span class="muted">none</span>',
                ),
                ("finish reason", esc(part.get("finish_reason"))),
                ("latency", seconds(part.get("latency"))),
                (
                    "tokens prompt / completion",
                    f"{number(part.get('prompt_tokens'))} / {number(part.get('completion_tokens'))}",
                ),
                ("attempts", number(part.get("attempts"))),
                (
                    "error",
                    esc(f"{part.get('error_kind')}: {part.get('error')}")
                    if part.get("error")
                    else '<span class="muted">none</span>',
                ),
            ]
        )
        reasoning = part.get("reasoning")
        parts_html.append(
            f'<section class="part"><h3>Part {esc(key)}</h3>{request_html}'
            "<h4>raw answer</h4>"
            + (
                pre(part.get("content"))
                if part.get("content") is not None
                else '<p class="muted">no content</p>'
            )
            + (
                folded("reasoning (" + str(len(reasoning)) + " characters)", pre(reasoning))
                if reasoning
                else ""
            )
            + facts
            + "</section>"
        )
    policies = "".join(
        folded(f"{esc(p.category)}: {esc(p.title)}", pre(p.body)) for p in prompts.policies
    )
    members = rec.get("members") or []
    member_rows = [
        [esc(m.get("member")), labels(m.get("predicted"), "nothing"), esc(m.get("reason") or "")]
        for m in members
    ]
    meta = rec.get("meta") or {}
    page = (
        f"<h1>Sample {esc(rec['sample_id'])}</h1>"
        f'<p>of run <a href="{run_url(rid)}">{esc(rid)}</a> &middot; #{rec["seq"]}</p>'
        + kv(
            [
                (
                    "outcome",
                    f'<span class="outcome outcome-{esc(rec["outcome"])}">{esc(rec["outcome"])}</span>',
                ),
                (
                    "gold labels",
                    labels(gold.get("labels"))
                    + (
                        " (unknown: " + esc(", ".join(gold["unknown"])) + ")"
                        if gold.get("unknown")
                        else ""
                    ),
                ),
                ("gold unsafe", esc(gold.get("unsafe"))),
                ("predicted", labels(rec.get("predicted"), "nothing")),
                (
                    "failure reason",
                    esc(rec.get("reason") or "") or '<span class="muted">none</span>',
                ),
                ("latency", seconds(rec.get("latency"))),
                (
                    "tokens prompt / completion",
                    f"{number(rec.get('prompt_tokens'))} / {number(rec.get('completion_tokens'))}",
                ),
                ("source", esc(rec.get("source"))),
                *[(f"meta: {k}", esc(v)) for k, v in meta.items()],
            ]
        )
        + (f'<p class="warning" role="note">{esc(prompts.problem)}</p>' if prompts.problem else "")
        + (
            table(["member", "predicted", "reason"], member_rows, caption="Ensemble members")
            if member_rows
            else ""
        )
        + "".join(parts_html)
        + (f"<section><h2>Policy texts</h2>{policies}</section>" if policies else "")
        + '<p class="muted">System turns are rebuilt from the run\'s stored config and policy files '
        "(checked against the stored policy hash); the user turn is stored with the record.</p>"
    )
    return layout(f"Sample {rec['sample_id']}", page)


def error_page(status: int, message: str) -> str:
    return layout(f"{status}", f"<h1>{status}</h1><p>{esc(message)}</p>")
