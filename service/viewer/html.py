"""Small HTML building blocks for the viewer's pages: escaping, figures, tables, charts.

Pages are rendered on the server as plain semantic HTML (tables, ``<details>``, forms
that submit with GET), so they work without JavaScript; ``static/viewer.js`` only adds
sorting, filtering and live updates on top.  Everything interpolated goes through
:func:`esc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

PREFIX = "/ui"


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def url(path: str, **query: object) -> str:
    """A viewer URL, HTML-escaped for an attribute: ``path`` under the prefix, with the
    non-empty query parameters."""
    q = {k: str(v) for k, v in query.items() if v is not None and v != ""}
    return esc(PREFIX + path + ("?" + urlencode(q) if q else ""))


def run_url(run_id: str, tail: str = "", **query: object) -> str:
    return url(f"/runs/{quote(run_id, safe='')}{tail}", **query)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def interval(figure: Mapping[str, Any] | None) -> str:
    """``43.6% [41.2, 46.0]`` for a ``{"value", "ci_low", "ci_high"}`` figure."""
    if not figure:
        return "n/a"
    return (
        f'{figure["value"]:.1%} <span class="ci">[{figure["ci_low"] * 100:.1f}, '
        f"{figure['ci_high'] * 100:.1f}]</span>"
    )


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def labels(values: Iterable[str] | None, empty: str = "safe") -> str:
    if values is None:
        return '<span class="muted">none (failed)</span>'
    items = list(values)
    if not items:
        return f'<span class="safe">{esc(empty)}</span>'
    return " ".join(f'<span class="tag">{esc(v)}</span>' for v in items)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", caption: str = ""
) -> str:
    """A table of already-escaped cells (headers are escaped here)."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="{esc(cls)}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv(items: Iterable[tuple[str, str]]) -> str:
    """A definition list of escaped-key / already-escaped-value pairs."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def pre(text: object) -> str:
    return f"<pre>{esc(text)}</pre>"


def folded(summary: str, body: str, *, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}</details>"


def line_chart(
    points: Sequence[tuple[float, float]], *, title: str, y_label: str, width: int = 560
) -> str:
    """An inline SVG line chart (no script, no external file); ``points`` are (x, y)."""
    height, pad = 160, 36
    if len(points) < 2:
        return f'<figure><figcaption>{esc(title)}</figcaption><p class="muted">not enough points</p></figure>'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) or 1.0
    sx = (width - 2 * pad) / ((x1 - x0) or 1.0)
    sy = (height - 2 * pad) / y1
    path = " ".join(f"{pad + (x - x0) * sx:.1f},{height - pad - y * sy:.1f}" for x, y in points)
    return (
        f"<figure><figcaption>{esc(title)}</figcaption>"
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{esc(title)}">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>'
        f'<polyline points="{path}" class="series"/>'
        f'<text x="{pad}" y="{pad - 8}" class="label">{esc(y_label)} (max {y1:,.3g})</text>'
        f'<text x="{width - pad}" y="{height - 8}" text-anchor="end" class="label">'
        f"{x1 - x0:,.0f} s</text></svg></figure>"
    )


def layout(title: str, body: str, *, live_url: str | None = None) -> str:
    live = f' data-live-url="{live_url}"' if live_url else ""  # already escaped
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - policybench</title>"
        f'<link rel="stylesheet" href="{PREFIX}/static/viewer.css">'
        f'<script defer src="{PREFIX}/static/viewer.js"></script></head>'
        f"<body{live}><header><nav>"
        f'<a href="{PREFIX}/" class="brand">policybench</a>'
        f'<a href="{PREFIX}/">Runs</a><a href="{PREFIX}/compare">Compare</a>'
        f"</nav></header><main>{body}</main></body></html>"
    )
