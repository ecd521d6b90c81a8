"""The viewer in a real browser (headless chromium): what an evaluator clicks through.

Open a run, follow its false-negative count for one category, open a sample and read its
raw answer and prompt; compare two runs and read the discordant samples; watch a running
run's count rise while the test writes records into the store (waiting on the page's own
text, never on a sleep)."""

from __future__ import annotations

import time

import orjson
from policybench.service.policies import load_policy_set
from policybench.service.store import Store

from .browser_support import browser_page
from .conftest import SimFactory
from .viewer_support import false_negatives, right, sim_run, viewer


async def test_open_a_run_filter_false_negatives_open_a_sample(
    sim: SimFactory, store: Store
) -> None:
    run_id = await sim_run(sim, store, error_rate=0.3, seed=5)
    cats = load_policy_set("minimal").categories
    fns = {c: false_negatives(store, run_id, c) for c in cats}
    cat = max(fns, key=lambda c: len(fns[c]))
    async with viewer(store) as url, browser_page() as page:
        await page.goto(f"{url}/ui/")
        await page.click(f"a:text-is('{run_id}')")
        await page.wait_for_selector("h2:text-is('Per category')")
        row = page.locator("table.per-category tbody tr", has_text=cat)
        await row.locator("td").nth(7).locator("a").click()  # the FN count
        await page.wait_for_selector("#match-count")
        assert await page.inner_text("#match-count") == f"{len(fns[cat])} matching"
        assert await page.locator("select[name=outcome]").input_value() == "fn"
        assert await page.locator("select[name=category]").input_value() == cat
        ids = await page.locator("table.samples tbody tr td:first-child a").all_inner_texts()
        assert sorted(ids) == sorted(r["sample_id"] for r in fns[cat])
        rec = next(r for r in fns[cat] if r["sample_id"] == ids[0])
        await page.click(f"a:text-is('{ids[0]}')")
        await page.wait_for_selector("h1:has-text('Sample')")
        text = await page.inner_text("main")
        assert rec["parts"][0]["content"] in text  # the raw answer
        assert rec["input"] in text  # the user turn sent
        await page.click("summary:has-text('system turn')")
        system = await page.locator(".part details pre").first.inner_text()
        assert all(c in system for c in cats)  # every policy of the multi prompt


async def test_compare_two_runs_shows_the_discordant_samples(sim: SimFactory, store: Store) -> None:
    a = await sim_run(sim, store, error_rate=0.1, seed=1)
    b = await sim_run(sim, store, error_rate=0.4, seed=2)
    ra = {r["sample_id"]: r for r in store.iter_records(a)}
    rb = {r["sample_id"]: r for r in store.iter_records(b)}
    only_a = {s for s in ra if right(ra[s]) and not right(rb[s])}
    only_b = {s for s in ra if right(rb[s]) and not right(ra[s])}
    async with viewer(store) as url, browser_page() as page:
        await page.goto(f"{url}/ui/compare")
        await page.select_option("select[name=a]", a)
        await page.select_option("select[name=b]", b)
        await page.click("button:text-is('Compare')")
        await page.wait_for_selector("#only-a")
        shown_a = await page.locator("#only-a tbody tr td:first-child a").all_inner_texts()
        shown_b = await page.locator("#only-b tbody tr td:first-child a").all_inner_texts()
        assert set(shown_a) == only_a and set(shown_b) == only_b
        assert "McNemar" in await page.inner_text(".sentence")
        # each discordant row shows both runs' answers side by side
        first = page.locator("#only-a tbody tr").first
        sid = shown_a[0]
        cells = await first.locator("td").all_inner_texts()
        assert ra[sid]["parts"][0]["content"] in cells[1]
        assert rb[sid]["parts"][0]["content"] in cells[2]


async def test_a_running_runs_count_rises_as_records_arrive(store: Store) -> None:
    store.create_run(
        run_id="live-run",
        config={"dataset": "x.jsonl", "backend": "server"},
        dataset="x.jsonl",
        dataset_fingerprint="f",
        samples_total=6,
        policy_set="minimal",
        policy_hash="h",
        model="m",
        strategy="multi",
        backend="server",
        version="0",
        git_rev=None,
    )

    def record(seq: int, outcome: str) -> tuple[str, int, str, bytes]:
        body = {
            "sample_id": f"live-{seq}",
            "seq": seq,
            "source": "t",
            "input": f"text {seq}",
            "gold": {"labels": ["violence"], "unsafe": True, "unknown": []},
            "predicted": ["violence"] if outcome == "correct" else [],
            "outcome": outcome,
            "latency": 0.1,
            "finished_at": time.time(),
            "parts": [],
        }
        return (f"live-{seq}", seq, outcome, orjson.dumps(body))

    store.insert_records("live-run", [record(0, "correct")])
    async with viewer(store) as url, browser_page() as page:
        await page.goto(f"{url}/ui/runs/live-run")
        completed = page.locator("#headline [data-field=completed]")
        assert await completed.inner_text() == "1"
        store.insert_records("live-run", [record(1, "wrong"), record(2, "correct")])
        await page.wait_for_function(
            "document.querySelector('#headline [data-field=completed]').textContent === '3'"
        )
        assert "live-1" in await page.inner_text("#newest-wrong")
        assert await page.locator("#progress").get_attribute("max") == "6"
        store.insert_records("live-run", [record(s, "correct") for s in (3, 4, 5)])
        store.set_status("live-run", "success")
        # finished: the page reloads once and stops polling
        await page.wait_for_selector("h1 .status-success")
        assert await page.locator("#headline [data-field=completed]").inner_text() == "6"
