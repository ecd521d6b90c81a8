"""Screenshots of the viewer's main pages for docs/viewer.md, taken with headless chromium.

Two simulated runs of the shipped ``balanced`` set (through real HTTP against the
simulator) go into a temporary store; the viewer serves it on a loopback port and each
page is shot at 1100x720 and saved as a palette PNG (small enough to commit).

    .venv/bin/python scripts/viewer_screenshots.py docs/img
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from PIL import Image
from policybench.bench.sim import SimConfig, serve_in_background
from policybench.service.api import ServiceConfig
from policybench.service.config import build_run_config
from policybench.service.resources import shipped
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from policybench.service.viewer.standalone import serve_viewer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser_support import browser_page

BALANCED = shipped("datasets") / "balanced.jsonl"


async def _run(store: Store, error_rate: float, seed: int, model: str) -> str:
    sim = SimConfig(datasets=(str(BALANCED),), error_rate=error_rate, seed=seed, time_scale=0.02)
    async with serve_in_background(sim) as (url, _app):
        values = {"dataset": str(BALANCED), "base_url": url, "concurrency": 8, "model": model}
        result = await Run(prepare(build_run_config(values)), store).execute()
    return result.run_id


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "runs.sqlite") as store:
        a = await _run(store, 0.15, 1, "openai/gpt-oss-safeguard-20b")
        b = await _run(store, 0.3, 2, "openai/gpt-oss-20b")
        wrong = next(r for r in store.iter_records(a) if r["outcome"] == "wrong")
        pages = {
            "viewer-runs": "/ui/",
            "viewer-run": f"/ui/runs/{a}",
            "viewer-samples": f"/ui/runs/{a}/samples?outcome=wrong",
            "viewer-sample": f"/ui/runs/{a}/samples/{wrong['seq']}",
            "viewer-compare": f"/ui/compare?a={a}&b={b}",
        }
        async with (
            serve_viewer(ServiceConfig(port=0), store) as url,
            browser_page(1100, 720) as page,
        ):
            for name, path in pages.items():
                await page.goto(url + path)
                shot = out / f"{name}.png"
                await page.screenshot(path=str(shot))
                Image.open(shot).convert("RGB").quantize(64).save(shot, optimize=True)
                print(shot, shot.stat().st_size)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
