"""The viewer as an aiohttp sub-application, mounted at ``/ui`` by ``bench view`` and
``bench serve`` alike.

The parent application owns security (``service/api/security.py``: loopback by default,
a bearer token or the login cookie when one is required); this app only reads.  Store
work runs in worker threads (``asyncio.to_thread``) so a slow query never blocks the
loop.  Static files are a fixed set read from the package, so no request names a file.
"""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from ..compare import UnpairableRuns, compare_runs
from ..errors import PolicybenchError
from ..runsummary import run_categories
from ..store import RunRow, Store
from .compare_page import compare_page
from .filters import BadFilter, parse_query
from .html import PREFIX, layout
from .live import LiveScores
from .pages import (
    binary_matrix,
    error_page,
    headline,
    run_page,
    runs_page,
    sample_page,
    sample_rows,
    samples_page,
)
from .queries import PAGE, Queries
from .requests import run_prompts

QUERIES = web.AppKey("queries", Queries)
STORE = web.AppKey("viewer_store", Store)
LIVE = web.AppKey("live", LiveScores)
BINARY: web.AppKey[dict[tuple[str, float], dict[str, int]]] = web.AppKey("binary", dict)

STATIC = Path(__file__).with_name("static")
_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
#: the only files served, read once: a request can name nothing else
FILES = {
    p.name: (p.read_bytes(), _TYPES[p.suffix])
    for p in sorted(STATIC.iterdir())
    if p.suffix in _TYPES
}
COOKIE = "policybench_token"
BINARY_TAGS = ("b:tp", "b:fn", "b:fp", "b:tn")


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _not_found(message: str) -> web.Response:
    return _html(error_page(404, message), 404)


async def _row(request: web.Request) -> RunRow | web.Response:
    run_id = request.match_info["run_id"]
    row = await asyncio.to_thread(request.app[QUERIES].run, run_id)
    return _not_found(f"no run {run_id!r} in this store") if row is None else row


async def _summary(request: web.Request, row: RunRow) -> dict[str, Any]:
    if row.summary is not None and row.status != "started":
        return row.summary.to_json()
    return await asyncio.to_thread(request.app[LIVE].summary, row)


def _only(request: web.Request, allowed: frozenset[str]) -> None:
    unknown = [k for k in request.query if k not in allowed]
    if unknown:
        raise BadFilter(unknown[0], "unknown parameter")


# -- handlers ------------------------------------------------------------------------------
async def runs(request: web.Request) -> web.Response:
    _only(request, frozenset())
    rows = await asyncio.to_thread(request.app[QUERIES].runs)
    return _html(runs_page(rows))


async def run(request: web.Request) -> web.Response:
    _only(request, frozenset())
    row = await _row(request)
    if isinstance(row, web.Response):
        return row
    q = request.app[QUERIES]
    summary = await _summary(request, row)
    binary = await _binary(request, row)
    timeline = await asyncio.to_thread(q.timeline, row.run_id)
    newest = await asyncio.to_thread(q.newest, row.run_id, "o:miss", 10)
    return _html(run_page(row, summary, binary, timeline, newest))


async def live(request: web.Request) -> web.Response:
    """What a running run's page refreshes: status, progress, figures, newest wrong."""
    _only(request, frozenset())
    row = await _row(request)
    if isinstance(row, web.Response):
        return row
    q = request.app[QUERIES]
    summary = await _summary(request, row)
    binary = await _binary(request, row)
    newest = await asyncio.to_thread(q.newest, row.run_id, "o:miss", 10)
    body = {
        "status": row.status,
        "completed": row.completed,
        "total": row.samples_total,
        "headline_html": headline(summary, row),
        "binary_html": binary_matrix(row.run_id, binary),
        "newest_wrong_html": sample_rows(row.run_id, newest),
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def samples(request: web.Request) -> web.Response:
    row = await _row(request)
    if isinstance(row, web.Response):
        return row
    query = parse_query(request.query)
    q = request.app[QUERIES]
    page = await asyncio.to_thread(
        q.page, row.run_id, query.filter, query.after, PAGE, row.completed
    )
    choices = {
        "categories": run_categories(row),
        "sources": [t[2:] for t in await asyncio.to_thread(q.tag_values, row.run_id, "s:")],
        "meta": [t[2:] for t in await asyncio.to_thread(q.tag_values, row.run_id, "m:")],
    }
    return _html(samples_page(row, query, page, choices))


async def count(request: web.Request) -> web.Response:
    """The match count a samples page left for later (a large multi-tag filter)."""
    row = await _row(request)
    if isinstance(row, web.Response):
        return row
    query = parse_query(request.query)
    n = await asyncio.to_thread(request.app[QUERIES].count, row.run_id, query.filter)
    return web.Response(body=orjson.dumps({"total": n}), content_type="application/json")


async def _binary(request: web.Request, row: RunRow) -> dict[str, int]:
    """The binary confusion counts; a finished run's are kept (its records do not change)."""
    cache = request.app[BINARY]
    key = (row.run_id, row.updated_at)
    if key in cache:
        return cache[key]
    counts = await asyncio.to_thread(request.app[QUERIES].tag_counts, row.run_id, BINARY_TAGS)
    if row.status != "started":
        if len(cache) > 64:
            cache.clear()
        cache[key] = counts
    return counts


async def sample(request: web.Request) -> web.Response:
    _only(request, frozenset())
    row = await _row(request)
    if isinstance(row, web.Response):
        return row
    seq = int(request.match_info["seq"])
    rec = await asyncio.to_thread(request.app[QUERIES].record, row.run_id, seq)
    if rec is None:
        return _not_found(f"run {row.run_id} has no record #{seq}")
    prompts = await asyncio.to_thread(run_prompts, row)
    return _html(sample_page(row, rec, prompts))


async def compare(request: web.Request) -> web.Response:
    _only(request, frozenset({"a", "b", "after_a", "after_b"}))
    try:
        after_a = int(request.query.get("after_a", "-1"))
        after_b = int(request.query.get("after_b", "-1"))
    except ValueError as exc:
        raise BadFilter("after_a/after_b", "not an integer") from exc
    q = request.app[QUERIES]
    rows = await asyncio.to_thread(q.runs)
    a, b = request.query.get("a"), request.query.get("b")
    if not a or not b:
        return _html(compare_page(rows, None, None, (), (), None))
    try:
        comparison = await asyncio.to_thread(compare_runs, request.app[STORE], a, b)
    except UnpairableRuns as exc:
        return _html(compare_page(rows, (a, b), None, (), (), str(exc)), 409)
    except PolicybenchError as exc:
        return _html(compare_page(rows, (a, b), None, (), (), str(exc)), 404)
    ra, rb = comparison.run_a.run_id, comparison.run_b.run_id
    only_a, next_a = await asyncio.to_thread(q.discordant, ra, rb, True, after_a)
    only_b, next_b = await asyncio.to_thread(q.discordant, ra, rb, False, after_b)
    return _html(compare_page(rows, (ra, rb), comparison, only_a, only_b, None, (next_a, next_b)))


async def static(request: web.Request) -> web.Response:
    found = FILES.get(request.match_info["name"])
    if found is None:
        return _not_found("no such file")
    body, ctype = found
    return web.Response(body=body, content_type=ctype, headers={"Cache-Control": "max-age=300"})


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except BadFilter as exc:
        return _html(error_page(400, str(exc)), 400)


def build_viewer(store: Store) -> web.Application:
    """The viewer over ``store`` (opened, and migrated, by the caller; closed by it too)."""
    app = web.Application(middlewares=[_errors])
    app[STORE] = store
    queries = Queries(store.path)
    app[QUERIES] = queries
    app[LIVE] = LiveScores(queries)
    app[BINARY] = {}

    async def close(app: web.Application) -> None:
        queries.close()

    app.on_cleanup.append(close)
    rid = r"{run_id:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}}"
    r = app.router
    r.add_get("/", runs)
    r.add_get(f"/runs/{rid}", run)
    r.add_get(f"/runs/{rid}/live", live)
    r.add_get(f"/runs/{rid}/samples", samples)
    r.add_get(f"/runs/{rid}/count", count)
    r.add_get(f"/runs/{rid}/samples/{{seq:[0-9]{{1,12}}}}", sample)
    r.add_get("/compare", compare)
    r.add_get("/static/{name}", static)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    return app


# -- login (a browser cannot send a bearer header; it gets a cookie instead) ---------------
TOKEN = web.AppKey("viewer_token", str)


def login_html(next_url: str, failed: bool = False) -> str:
    from .html import esc

    return layout(
        "Sign in",
        "<h1>Sign in</h1><p>This viewer needs the service's token.</p>"
        + ('<p class="warning" role="alert">Wrong token.</p>' if failed else "")
        + f'<form method="post" action="{PREFIX}/login"><input type="hidden" name="next" value="{esc(next_url)}">'
        '<label>Token <input type="password" name="token" autocomplete="current-password" required></label>'
        ' <button type="submit">Sign in</button></form>',
    )


def _safe_next(value: str) -> str:
    return value if value.startswith(PREFIX + "/") and "//" not in value else PREFIX + "/"


async def login_form(request: web.Request) -> web.Response:
    return _html(login_html(_safe_next(request.query.get("next", PREFIX + "/"))))


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    token = request.app.get(TOKEN)
    given = str(form.get("token", ""))
    next_url = _safe_next(str(form.get("next", PREFIX + "/")))
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return _html(login_html(next_url, failed=True), 401)
    resp = web.HTTPSeeOther(next_url)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path=PREFIX)
    raise resp
