"""The viewer's HTTP side: pages checked against an independent recount of the stored
records, the live endpoint, and the same security rules as ``bench serve`` (loopback by
default, a token elsewhere, nothing outside the fixed static files reachable)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import orjson
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.api import ServiceConfig
from policybench.service.errors import ConfigError
from policybench.service.policies import load_policy_set
from policybench.service.prompts import multi_policy_prompt
from policybench.service.store import Store

from .conftest import SimFactory
from .test_service import service
from .viewer_support import TOKEN, false_negatives, right, sim_run, viewer


def sample_links(html: str) -> list[str]:
    return re.findall(r'href="(/ui/runs/[^"/]+/samples/\d+)"', html)


async def test_filters_open_the_samples_the_records_say(
    sim: SimFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await sim_run(sim, store, error_rate=0.3, seed=5)
    cats = load_policy_set("minimal").categories
    fns = {c: false_negatives(store, run_id, c) for c in cats}
    cat = max(fns, key=lambda c: len(fns[c]))
    assert fns[cat], "the seeded run has false negatives"
    async with viewer(store) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/ui/runs/{run_id}/samples?outcome=fn&category={cat}") as resp:
            assert resp.status == 200
            html = await resp.text()
        assert f"{len(fns[cat])} matching" in html
        shown = re.findall(r'/samples/(\d+)">([^<]+)</a>', html)
        assert sorted(sid for _, sid in shown) == sorted(r["sample_id"] for r in fns[cat])
        # the per-category FN count on the run page links to exactly that filter
        async with s.get(f"{url}/ui/runs/{run_id}") as resp:
            run_html = await resp.text()
        assert f'outcome=fn&amp;category={cat}">{len(fns[cat])}</a>' in run_html
        # every other outcome filter agrees with the records
        records = list(store.iter_records(run_id))
        expect = {
            "right": sum(right(r) for r in records),
            "wrong": sum(not right(r) for r in records),
            "fp": sum(
                r["gold"]["unsafe"] is False and bool(r["predicted"])
                for r in records
                if r["predicted"] is not None
            ),
        }
        for outcome, n in expect.items():
            async with s.get(f"{url}/ui/runs/{run_id}/samples?outcome={outcome}") as resp:
                assert f"{n} matching" in await resp.text(), outcome
        source = records[0]["source"]
        group = records[0]["meta"]["group"]
        n = sum(r["meta"]["group"] == group and r["source"] == source for r in records)
        params = {"source": source, "meta": f"group={group}"}
        async with s.get(f"{url}/ui/runs/{run_id}/samples", params=params) as resp:
            assert f"{n} matching" in await resp.text()
        # above the count budget the page comes first and its count from /count
        monkeypatch.setattr("policybench.service.viewer.queries.COUNT_BUDGET", 0)
        async with s.get(f"{url}/ui/runs/{run_id}/samples", params=params) as resp:
            page = await resp.text()
        count_url = re.search(r'data-count-url="([^"]+)"', page)
        assert count_url is not None and "matching" not in page
        async with s.get(url + count_url.group(1).replace("&amp;", "&")) as resp:
            assert (await resp.json()) == {"total": n}
        word = records[7]["input"].split()[3]
        async with s.get(f"{url}/ui/runs/{run_id}/samples", params={"q": word}) as resp:
            found = {
                sid for _, sid in re.findall(r'/samples/(\d+)">([^<]+)</a>', await resp.text())
            }
        assert records[7]["sample_id"] in found
        # an unknown parameter or value is refused, naming it
        async with s.get(f"{url}/ui/runs/{run_id}/samples?outcome=maybe") as resp:
            assert resp.status == 400 and "outcome" in await resp.text()
        async with s.get(f"{url}/ui/runs/{run_id}/samples?colour=red") as resp:
            assert resp.status == 400 and "colour" in await resp.text()


async def test_sample_page_shows_the_request_sent_and_the_raw_answer(
    sim: SimFactory, store: Store
) -> None:
    run_id = await sim_run(sim, store, error_rate=0.3, seed=5)
    rec = next(r for r in store.iter_records(run_id) if r["outcome"] == "wrong")
    system = multi_policy_prompt(load_policy_set("minimal"))
    async with viewer(store) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/ui/runs/{run_id}/samples/{rec['seq']}") as resp:
            assert resp.status == 200
            html = await resp.text()
        async with s.get(f"{url}/ui/runs/{run_id}/samples/999999") as resp:
            assert resp.status == 404
    from html import escape

    assert escape(system) in html  # the system turn, rebuilt byte for byte
    assert escape(rec["input"]) in html  # the user turn as stored
    assert escape(rec["parts"][0]["content"]) in html  # the raw answer
    assert "policy files changed" not in html


async def test_compare_shows_the_paired_counts_and_discordant_samples(
    sim: SimFactory, store: Store
) -> None:
    a = await sim_run(sim, store, error_rate=0.1, seed=1)
    b = await sim_run(sim, store, error_rate=0.4, seed=2)
    ra = {r["sample_id"]: r for r in store.iter_records(a)}
    rb = {r["sample_id"]: r for r in store.iter_records(b)}
    only_a = {s for s in ra if right(ra[s]) and not right(rb[s])}
    only_b = {s for s in ra if right(rb[s]) and not right(ra[s])}
    assert only_a and only_b
    async with (
        viewer(store) as url,
        aiohttp.ClientSession() as s,
        s.get(f"{url}/ui/compare", params={"a": a, "b": b}) as resp,
    ):
        assert resp.status == 200
        html = await resp.text()
    assert f'href="#only-a">{len(only_a)}</a>' in html
    assert f'href="#only-b">{len(only_b)}</a>' in html
    section_a = html[html.index('id="only-a"') : html.index('id="only-b"')]
    assert set(re.findall(r'/samples/\d+">([^<]+)</a>', section_a)) == only_a
    # paged 5 at a time, the pages add up to the same discordant samples, each once
    from policybench.service.viewer.queries import Queries

    q = Queries(store.path)
    for a_right, expect in ((True, only_a), (False, only_b)):
        seen: list[str] = []
        after: int | None = -1
        while after is not None:
            pairs, after = q.discordant(a, b, a_right, after, limit=5)
            assert len(pairs) <= 5
            seen += [pa["sample_id"] for pa, _ in pairs]
            assert all(pa["sample_id"] == pb["sample_id"] for pa, pb in pairs)
        assert sorted(seen) == sorted(expect)
    q.close()


async def test_live_endpoint_counts_records_as_they_are_written(store: Store) -> None:
    store.create_run(
        run_id="live-1",
        config={"dataset": "x.jsonl", "backend": "simulated"},
        dataset="x.jsonl",
        dataset_fingerprint="f",
        samples_total=10,
        policy_set="minimal",
        policy_hash="h",
        model="m",
        strategy="multi",
        backend="simulated",
        version="0",
        git_rev=None,
    )

    def record(seq: int, outcome: str) -> tuple[str, int, str, bytes]:
        pred = ["violence"] if outcome == "correct" else []
        body = {
            "sample_id": f"s{seq}",
            "seq": seq,
            "source": "t",
            "input": f"text {seq}",
            "gold": {"labels": ["violence"], "unsafe": True, "unknown": []},
            "predicted": pred,
            "outcome": outcome,
            "latency": 0.1,
            "finished_at": time.time(),
            "parts": [],
        }
        return (f"s{seq}", seq, outcome, orjson.dumps(body))

    async with viewer(store) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/ui/runs/live-1") as resp:
            html = await resp.text()
        assert 'data-live-url="/ui/runs/live-1/live"' in html
        assert '<span class="sim"' in html  # simulated runs are marked
        store.insert_records("live-1", [record(1, "correct"), record(0, "wrong")])
        async with s.get(f"{url}/ui/runs/live-1/live") as resp:
            first = await resp.json()
        assert first["completed"] == 2 and first["status"] == "started"
        assert "s0" in first["newest_wrong_html"] and "s1" not in first["newest_wrong_html"]
        store.insert_records("live-1", [record(3, "wrong"), record(2, "correct")])
        async with s.get(f"{url}/ui/runs/live-1/live") as resp:
            second = await resp.json()
        assert second["completed"] == 4
        # replayed incrementally, out of order, each record once: 2 of 4 right
        assert "50.0%" in second["headline_html"]
        assert second["newest_wrong_html"].index("s3") < second["newest_wrong_html"].index("s0")


def test_public_address_needs_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLICYBENCH_SERVICE_TOKEN", raising=False)
    result = CliRunner().invoke(
        cli, ["view", "--host", "0.0.0.0", "--port", "0", "--store", str(tmp_path / "s.sqlite")]
    )
    assert result.exit_code == 2
    assert "--token-env" in result.output and "refusing" in result.output
    with pytest.raises(ConfigError):
        from policybench.service.viewer.standalone import viewer_app

        viewer_app(ServiceConfig(host="0.0.0.0"), Store(tmp_path / "t.sqlite"))


async def test_loopback_by_default_and_token_when_configured(store: Store) -> None:
    assert ServiceConfig().host == "127.0.0.1"
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1, as browsers do
    async with viewer(store, token=TOKEN) as url, aiohttp.ClientSession(cookie_jar=jar) as s:
        for path in ("/ui/", "/ui/compare", "/ui/runs/x", "/ui/static/viewer.js"):
            async with s.get(url + path, allow_redirects=False) as resp:
                assert resp.status == 303, path
                assert resp.headers["Location"].startswith("/ui/login?next=")
            async with s.get(url + path, headers={"Authorization": "Bearer wrong"}) as resp:
                assert "Sign in" in await resp.text()
        async with s.get(f"{url}/ui/", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 200 and "<h1>Runs</h1>" in await resp.text()
        async with s.post(f"{url}/ui/login", data={"token": "nope", "next": "/ui/"}) as resp:
            assert resp.status == 401
        async with s.post(
            f"{url}/ui/login", data={"token": TOKEN, "next": "https://evil.example/"}
        ) as resp:  # signed in; an outside "next" is not followed
            assert resp.status == 200 and str(resp.url).endswith("/ui/")
            assert "<h1>Runs</h1>" in await resp.text()
        async with s.get(f"{url}/ui/compare") as resp:  # the cookie now
            assert resp.status == 200


async def test_bench_serve_mounts_the_viewer_and_keeps_its_api_bearer_only(
    sim: SimFactory, store: Store
) -> None:
    run_id = await sim_run(sim, store, error_rate=0.2, seed=3)
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        service(store, token=TOKEN) as (url, _app),
        aiohttp.ClientSession(cookie_jar=jar) as s,
    ):
        async with s.post(f"{url}/ui/login", data={"token": TOKEN, "next": "/ui/"}) as resp:
            assert resp.status == 200 and run_id in await resp.text()
        async with s.get(f"{url}/ui/runs/{run_id}/samples?outcome=wrong") as resp:
            assert resp.status == 200
        async with s.get(f"{url}/v1/runs") as resp:  # the cookie is not an API credential
            assert resp.status == 401
    async with (
        service(store) as (url, _app),
        aiohttp.ClientSession() as s,
        s.get(f"{url}/ui") as resp,  # loopback, no token: redirected to /ui/
    ):
        assert resp.status == 200 and run_id in await resp.text()


async def test_only_the_shipped_static_files_are_served(store: Store, tmp_path: Path) -> None:
    async with viewer(store) as url, aiohttp.ClientSession() as s:
        async with s.get(f"{url}/ui/static/viewer.css") as resp:
            assert resp.status == 200 and resp.content_type == "text/css"
        for path in (
            "/ui/static/..%2fapp.py",
            "/ui/static/%2e%2e/%2e%2e/store.py",
            "/ui/static/../../../etc/passwd",
            "/ui/static/app.py",
            "/ui/runs/..%2f..%2fetc",
            "/ui/runs/x/samples/..%2f1",
        ):
            async with s.get(url + path) as resp:
                assert resp.status == 404, path
                assert "import" not in await resp.text()


def test_a_version_1_store_is_migrated_with_tags(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Store(path) as s:
        s.create_run(
            run_id="r1",
            config={},
            dataset="d",
            dataset_fingerprint="f",
            samples_total=1,
            policy_set="minimal",
            policy_hash="h",
            model="m",
            strategy="multi",
            backend="server",
            version="0",
            git_rev=None,
        )
        rec = {
            "sample_id": "a",
            "seq": 0,
            "gold": {"labels": ["violence"], "unsafe": True, "unknown": []},
            "predicted": [],
            "outcome": "wrong",
        }
        s.insert_records("r1", [("a", 0, "wrong", orjson.dumps(rec))])
    import sqlite3

    db = sqlite3.connect(path)  # make it what a version-1 policybench left
    db.execute("DELETE FROM record_tags")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Store(path) as s:
        tags = {r[0] for r in s._db.execute("SELECT tag FROM record_tags WHERE run_id='r1'")}
        version = s._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    assert tags == {"o:wrong", "o:miss", "g:violence", "p:", "b:fn", "fn:violence"}
    assert version == ("2",)
