"""``bench perf viewer``: how fast the viewer opens and filters a very large run.

A store is filled with one synthetic run of N records (default 1,000,000; gold labels,
verdicts, sources, meta, an answer and a user turn each, like a real run's), with a
stored summary as a finished run has.  The viewer is then served on a loopback port and
its pages are fetched over real HTTP, each several times (the median is reported, and
the first, cold fetch on its own): the run page, the samples page unfiltered and with
the filters a user clicks (false negatives of one category, outcome + source, a meta
field, gold x predicted), the last page, one sample, and text searches (a common word
fills its page at once; a word in no record scans the whole run, the one unindexed
read).  Writing the records is timed with and without their tags, side by side, so the
cost the index adds to a run's writes is a ratio.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from policybench.service import record_tags
from policybench.service import store as store_module
from policybench.service.records import replay
from policybench.service.scoring import Scorer
from policybench.service.store import Store
from policybench.service.summary import RunSummary

CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")
SOURCES = ("wildguardmix", "toxicchat", "aegis", "xstest")
WORDS = [
    "please",
    "explain",
    "how",
    "someone",
    "could",
    "write",
    "a",
    "message",
    "about",
    "the",
    "history",
    "of",
    "the",
    "city",
]


def _record(rng: random.Random, seq: int) -> tuple[str, int, str, bytes]:
    gold = [] if rng.random() < 0.4 else [rng.choice(CATS)]
    roll = rng.random()
    if roll < 0.01:
        predicted, outcome = None, "parse_failure"
    elif roll < 0.8:
        predicted, outcome = list(gold), "correct"
    else:
        predicted = [] if gold and rng.random() < 0.5 else [rng.choice(CATS)]
        outcome = "correct" if predicted == gold else "wrong"
    text = " ".join(rng.choice(WORDS) for _ in range(25))
    content = orjson.dumps(
        {"violation": int(bool(predicted)), "policy_category": predicted}
    ).decode()
    rec = {
        "schema": 1,
        "sample_id": f"s{seq:07d}",
        "seq": seq,
        "source": rng.choice(SOURCES),
        "input": text,
        "meta": {"lang": rng.choice(("en", "de", "fr")), "split": "test"},
        "finished_at": 1_700_000_000 + seq / 250.0,
        "gold": {"labels": gold, "unsafe": bool(gold), "unknown": []},
        "predicted": predicted,
        "outcome": outcome,
        "reason": "no verdict in the answer" if predicted is None else None,
        "latency": 0.2 + rng.random() * 0.3,
        "prompt_tokens": 420,
        "completion_tokens": 60,
        "parts": [
            {
                "key": "multi",
                "content": content if predicted is not None else "I think it is fine",
                "reasoning": "The text asks about " + text[:80],
                "finish_reason": "stop",
                "prompt_tokens": 420,
                "completion_tokens": 60,
                "latency": 0.2,
                "ttft": None,
                "attempts": 1,
                "error": None,
                "error_kind": None,
                "verdict": predicted,
                "reason": None,
            }
        ],
    }
    return rec["sample_id"], seq, outcome, orjson.dumps(rec)  # type: ignore[return-value]


def _fill(store: Store, run_id: str, n: int, batch: int = 5000) -> tuple[float, Scorer]:
    store.create_run(
        run_id=run_id,
        config={"dataset": "synthetic.jsonl", "policies": "minimal", "strategy": "multi"},
        dataset="synthetic.jsonl",
        dataset_fingerprint="synthetic",
        samples_total=n,
        policy_set="minimal",
        policy_hash="synthetic",
        model="openai/gpt-oss-safeguard-20b",
        strategy="multi",
        backend="simulated",
        version="perf",
        git_rev=None,
    )
    rng = random.Random(17)
    scorer = Scorer(CATS)
    spent = 0.0
    for start in range(0, n, batch):
        rows = [_record(rng, seq) for seq in range(start, min(n, start + batch))]
        for row in rows:
            replay(orjson.loads(row[3]), scorer)
        t0 = time.perf_counter()
        store.insert_records(run_id, rows)
        spent += time.perf_counter() - t0
    store.set_status(
        run_id,
        "success",
        summary=RunSummary.load(
            {"run_id": run_id, "status": "success", **scorer.summary(n / 250.0)}
        ),
        dispatch_seconds=n / 250.0,
    )
    return spent, scorer


def _write_ratio(folder: Path, n: int) -> dict[str, float]:
    """Records/s written with tags and without (the tag function emptied), same records."""
    out: dict[str, float] = {}
    original = record_tags.tags_of
    for label, tags in (("with_tags", original), ("without_tags", lambda record: [])):
        store_module.tags_of = tags  # type: ignore[attr-defined]
        try:
            with Store(folder / f"write-{label}.sqlite") as store:
                spent, _ = _fill(store, "w", n)
        finally:
            store_module.tags_of = original  # type: ignore[attr-defined]
        out[f"write_records_per_s_{label}"] = n / spent
    out["write_ratio_with_vs_without_tags"] = (
        out["write_records_per_s_with_tags"] / out["write_records_per_s_without_tags"]
    )
    return out


async def _fetch_all(url: str, paths: dict[str, str], repeats: int) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        for name, path in paths.items():
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                async with session.get(url + path) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{path}: HTTP {resp.status}: {body[:200]!r}")
                times.append(time.perf_counter() - t0)
            out[f"{name}_first_s"] = times[0]
            out[f"{name}_median_s"] = statistics.median(times)
    return out


async def _measure(store: Store, run_id: str, repeats: int) -> dict[str, Any]:
    from policybench.service.api import ServiceConfig
    from policybench.service.viewer.standalone import serve_viewer

    n = store.count_records(run_id)
    last = store.records_after(run_id, n - 2, 1)[0][0]
    base = f"/ui/runs/{run_id}"
    paths = {
        "runs_page": "/ui/",
        "run_page": base,
        "samples_unfiltered": f"{base}/samples",
        "samples_fn_violence": f"{base}/samples?outcome=fn&category=violence",
        "samples_wrong_source": f"{base}/samples?outcome=wrong&source=aegis",
        "samples_meta": f"{base}/samples?meta=lang%3Dde",
        "samples_gold_x_pred": f"{base}/samples?gold=illegal&pred=safe",
        "samples_last_page": f"{base}/samples?after={last - 10}",
        "one_sample": f"{base}/samples/{n // 2}",
        "text_search_common": f"{base}/samples?q=history",
        "text_search_absent": f"{base}/samples?q=zebra",
    }
    async with serve_viewer(ServiceConfig(port=0), store) as url:
        return await _fetch_all(url, paths, repeats)


def run_viewer_bench(records: int, write_sample: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="policybench-perf-viewer-") as tmp:
        folder = Path(tmp)
        figures: dict[str, Any] = {"records": records}
        with Store(folder / "big.sqlite") as store:
            t0 = time.perf_counter()
            _fill(store, "big", records)
            figures["fill_seconds"] = time.perf_counter() - t0
            figures["store_mb"] = (folder / "big.sqlite").stat().st_size / 1e6
            figures.update(asyncio.run(_measure(store, "big", repeats)))
        figures.update(_write_ratio(folder, write_sample))
    return figures
