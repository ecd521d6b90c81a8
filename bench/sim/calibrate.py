"""Check the simulator against its own performance model: ``python -m policybench.bench.sim.calibrate``.

For each concurrency it starts the simulated server in-process, runs a closed-loop
workload over real HTTP (C clients, one shared policy prompt, a distinct user text per
request), measures steady-state throughput and mean latency (the first and last fifth of
the completions are left out, so the ramp-up burst and the tail do not count), converts
them to model time (divided by the time scale) and prints them beside
:func:`~.predict.predict` for the workload's measured mean token counts.  ``--zero``
measures the simulator's own ceiling instead (``time_scale = 0``), in requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

from .app import serve_in_background
from .config import SimConfig
from .predict import predict
from .profile import DEFAULT_PROFILE

_POLICY = (
    "You are a content safety classifier. Decide whether the content in the user's message "
    "violates the policy below.\n\n# Policy: Violence (`violence`)\n\n"
    + "Content that threatens, glorifies or gives instructions for physical harm. "
    * 12
    + '\n\n## Output format\nAnswer with one JSON object and nothing else:\n{"violation": 1, '
    '"policy_category": "violence"} if the content violates this policy.'
)


@dataclass(slots=True)
class Measured:
    concurrency: int
    requests: int
    requests_per_second: float
    latency_seconds: float
    prompt_tokens: float
    output_tokens: float
    computed_prompt_tokens: float


async def _metric(session: aiohttp.ClientSession, url: str, name: str) -> float:
    async with session.get(url) as resp:
        text = await resp.text()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
    return total


async def measure(config: SimConfig, concurrency: int, requests: int) -> Measured:
    scale = config.time_scale or 1.0
    async with serve_in_background(config) as (url, _app):
        metrics_url = url.removesuffix("/v1") + "/metrics"
        connector = aiohttp.TCPConnector(limit=concurrency + 4)
        async with aiohttp.ClientSession(connector=connector) as session:
            counter = iter(range(requests))
            done: list[tuple[float, float, int, int]] = []  # (start, end, prompt, output)

            async def client() -> None:
                for i in counter:
                    body = {
                        "model": config.model,
                        "max_tokens": 4096,
                        "messages": [
                            {"role": "system", "content": _POLICY},
                            {"role": "user", "content": f"Sample {i}: how do I fix my bike?"},
                        ],
                    }
                    start = time.perf_counter()
                    async with session.post(
                        url + "/chat/completions", data=orjson.dumps(body)
                    ) as r:
                        obj = orjson.loads(await r.read())
                    usage = obj["usage"]
                    done.append((start, time.perf_counter(), usage["prompt_tokens"], usage["completion_tokens"]))  # fmt: skip

            await asyncio.gather(*(client() for _ in range(concurrency)))
            queries = await _metric(session, metrics_url, "vllm:prefix_cache_queries_total")
            hits = await _metric(session, metrics_url, "vllm:prefix_cache_hits_total")
    done.sort(key=lambda d: d[1])
    lo, hi = len(done) // 5, len(done) - len(done) // 5 - 1
    t_a, t_b = done[lo][1], done[hi][1]
    rate = (hi - lo) / (t_b - t_a) if t_b > t_a else float("inf")
    # by start time: selecting by end time too would favour short requests
    window = [d for d in done if t_a <= d[0] <= t_b] or done
    latency = sum(d[1] - d[0] for d in window) / len(window)
    n = len(done)
    mean_prompt = sum(d[2] for d in done) / n
    return Measured(
        concurrency=concurrency,
        requests=n,
        requests_per_second=rate * scale,
        latency_seconds=latency / scale,
        prompt_tokens=mean_prompt,
        output_tokens=sum(d[3] for d in done) / n,
        computed_prompt_tokens=mean_prompt * (1 - hits / queries) if queries else mean_prompt,
    )


def _pct(measured: float, predicted: float) -> str:
    return f"{(measured - predicted) / predicted:+.1%}" if predicted else "n/a"


async def main_async(args: argparse.Namespace) -> int:
    base = SimConfig(
        model="calibration",
        profile=args.profile,
        time_scale=0.0 if args.zero else args.time_scale,
        max_num_seqs=args.max_num_seqs,
        prefix_caching=None if args.prefix_caching is None else args.prefix_caching == "on",
        seed=args.seed,
    )
    profile = base.resolved_profile()
    print(
        f"profile {profile.name}: max_num_seqs {profile.max_num_seqs}, prefix caching "
        f"{'on' if profile.prefix_caching else 'off'}, time scale {base.time_scale:g}"
        + (" (zero-latency: simulator ceiling)" if args.zero else " (figures in model seconds)")
    )
    if args.zero:
        print(f"{'conc':>5} {'requests':>8} {'req/s (wall)':>13} {'latency ms':>11}")
    else:
        print(
            f"{'conc':>5} {'reqs':>5} {'prompt':>6} {'computed':>8} {'output':>6} | "
            f"{'req/s meas':>10} {'pred':>7} {'diff':>7} | {'samples/h meas':>14} {'pred':>9} | "
            f"{'latency s meas':>14} {'pred':>7} {'diff':>7}"
        )
    worst = 0.0
    for c in args.concurrency:
        n = max(args.min_requests, args.requests_per_client * c)
        m = await measure(base, c, n)
        if args.zero:
            print(f"{c:>5} {m.requests:>8} {m.requests_per_second:>13,.0f} {m.latency_seconds * 1000:>11.2f}")  # fmt: skip
            continue
        p = predict(
            profile,
            c,
            prompt_tokens=m.prompt_tokens,
            computed_prompt_tokens=m.computed_prompt_tokens,
            output_tokens=m.output_tokens,
        )
        d_x = (m.requests_per_second - p.requests_per_second) / p.requests_per_second
        d_l = (m.latency_seconds - p.latency_seconds) / p.latency_seconds
        worst = max(worst, abs(d_x), abs(d_l))
        print(
            f"{c:>5} {m.requests:>5} {m.prompt_tokens:>6.0f} {m.computed_prompt_tokens:>8.0f} "
            f"{m.output_tokens:>6.0f} | {m.requests_per_second:>10.2f} {p.requests_per_second:>7.2f} "
            f"{_pct(m.requests_per_second, p.requests_per_second):>7} | "
            f"{m.requests_per_second * 3600:>14,.0f} {p.samples_per_hour:>9,.0f} | "
            f"{m.latency_seconds:>14.3f} {p.latency_seconds:>7.3f} "
            f"{_pct(m.latency_seconds, p.latency_seconds):>7}"
        )
    if not args.zero:
        verdict = "within" if worst <= args.tolerance else "OUTSIDE"
        print(f"largest deviation {worst:.1%}: {verdict} the {args.tolerance:.0%} tolerance")
        return 0 if worst <= args.tolerance else 1
    return 0


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m policybench.bench.sim.calibrate", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--profile", default=DEFAULT_PROFILE)
    ap.add_argument("--concurrency", type=_ints, default=[1, 8, 32, 64, 128])
    ap.add_argument("--max-num-seqs", type=int, default=None, help="override the profile's")
    ap.add_argument("--time-scale", type=float, default=0.1)
    ap.add_argument("--requests-per-client", type=int, default=20)
    ap.add_argument("--min-requests", type=int, default=40)
    ap.add_argument("--prefix-caching", choices=["on", "off"], default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--zero", action="store_true", help="time_scale 0: the simulator's ceiling")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        return uvloop.run(main_async(args))
    except ImportError:  # pragma: no cover
        return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
