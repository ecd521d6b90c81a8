"""The Compare page: two runs on the same samples, their paired test and discordant samples.

The figures are :func:`..compare.compare_runs`'s (the same as ``bench compare``); the
discordant samples come from an indexed join (a page at a time), each shown with both
runs' answers side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..compare import Comparison
from ..store import RunRow
from .html import esc, interval, kv, labels, layout, pre, run_url, url


def _answer(rec: Mapping[str, Any]) -> str:
    parts = rec.get("parts") or []
    content = "\n---\n".join(str(p.get("content") or p.get("error") or "") for p in parts)
    return (
        f'<span class="outcome outcome-{esc(rec["outcome"])}">{esc(rec["outcome"])}</span> '
        f"{labels(rec.get('predicted'), 'nothing')}{pre(content[:2000])}"
    )


def _pairs(
    title: str,
    run_a: str,
    run_b: str,
    pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    section: str,
    more: str = "",
) -> str:
    rows = "".join(
        "<tr>"
        f'<td><a href="{run_url(run_a, "/samples/" + str(a["seq"]))}">{esc(a["sample_id"])}</a>'
        f"<br>gold {labels((a.get('gold') or {}).get('labels'))}"
        f'<div class="excerpt">{esc(str(a.get("input") or "")[:300])}</div></td>'
        f"<td>{_answer(a)}</td><td>{_answer(b)}</td></tr>"
        for a, b in pairs
    )
    return (
        f'<section id="{esc(section)}"><h2>{esc(title)}</h2>'
        f'<table class="discordant"><thead><tr><th scope="col">sample</th>'
        f'<th scope="col">A: {esc(run_a)}</th><th scope="col">B: {esc(run_b)}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{more}</section>"
    )


def _more(a: str, b: str, key: str, after: int | None) -> str:
    if after is None:
        return ""
    link = url("/compare", a=a, b=b, **{key: after})
    return f'<p class="pager"><a rel="next" href="{link}">next 50</a></p>'


def compare_page(
    runs: Sequence[RunRow],
    picked: tuple[str, str] | None,
    comparison: Comparison | None,
    only_a: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    only_b: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    problem: str | None,
    next_after: tuple[int | None, int | None] = (None, None),
) -> str:
    def select(name: str, chosen: str | None) -> str:
        opts = "".join(
            f'<option value="{esc(r.run_id)}"{" selected" if r.run_id == chosen else ""}>'
            f"{esc(r.run_id)}: {esc(r.model)} / {esc(r.policy_set)} / {esc(r.strategy)}</option>"
            for r in runs
        )
        return f'<label>{name.upper()} <select name="{name}">{opts}</select></label>'

    a, b = picked or (None, None)
    form = (
        f'<form method="get" action="{url("/compare")}" class="filters">'
        f"{select('a', a)} {select('b', b)}<button type="
        '"submit">Compare</button></form>'
    )
    body = "<h1>Compare two runs</h1>" + form
    if problem:
        body += f'<p class="warning" role="alert">{esc(problem)}</p>'
    if comparison is not None and a is not None and b is not None:
        c = comparison
        body += (
            f'<p class="sentence">{esc(c.sentence())}</p>'
            + kv(
                [
                    ("paired samples", f"{c.pairs:,}"),
                    ("A accuracy", interval(c.accuracy_a)),
                    ("B accuracy", interval(c.accuracy_b)),
                    ("both right / neither", f"{c.both:,} / {c.neither:,}"),
                    ("only A right", f'<a href="#only-a">{c.only_a:,}</a>'),
                    ("only B right", f'<a href="#only-b">{c.only_b:,}</a>'),
                    ("exact McNemar p", f"{c.p_value:.3g}"),
                    ("unpaired A / B", f"{c.unpaired_a:,} / {c.unpaired_b:,}"),
                ]
            )
            + _pairs("Only A right", a, b, only_a, "only-a", _more(a, b, "after_a", next_after[0]))
            + _pairs("Only B right", a, b, only_b, "only-b", _more(a, b, "after_b", next_after[1]))
        )
    return layout("Compare", body)
