"""The simulated server's HTTP surface and vLLM's /metrics, over real loopback HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from policybench.bench.sim.app import ENGINE
from prometheus_client.parser import text_string_to_metric_families

from .conftest import SimFactory

SYSTEM = 'Check the policies. The ids are: violence, hate_speech. Use {"violations": []} if none.'
CHAT = {"model": "m", "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "hello"}]}  # fmt: skip


async def post(url: str, body: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession() as s, s.post(url, json=body) as resp:
        return await resp.json()


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, tuple[str, float]]:
    async with session.get(url.removesuffix("/v1") + "/metrics") as resp:
        text = await resp.text()
    out: dict[str, tuple[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in out:
                out[sample.name] = (family.type, out[sample.name][1] + sample.value)
            else:
                out[sample.name] = (family.type, sample.value)
    return out


@pytest.mark.parametrize(
    ("field", "present", "absent"),
    [("reasoning", "reasoning", "reasoning_content"), ("reasoning_content", "reasoning_content", "reasoning")],
)  # fmt: skip
async def test_chat_keeps_reasoning_apart(sim: SimFactory, field: str, present: str, absent: str) -> None:  # fmt: skip
    async with (
        sim(reasoning_field=field, style="json-plain") as (url, _),
        aiohttp.ClientSession() as s,
        s.post(url + "/chat/completions", json=CHAT) as resp,
    ):
        obj = await resp.json()
    message = obj["choices"][0]["message"]
    assert orjson.loads(message["content"]) == {"violations": []}
    assert present in message and absent not in message
    assert obj["usage"]["completion_tokens"] > 50  # reasoning tokens are counted


async def test_streaming_sends_deltas_and_usage(sim: SimFactory) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with (
        sim(style="json-plain") as (url, _),
        aiohttp.ClientSession() as s,
        s.post(url + "/chat/completions", json=body) as resp,
    ):
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = await resp.text()
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    reasoning = "".join(
        c["choices"][0]["delta"].get("reasoning") or "" for c in chunks if c["choices"]
    )
    assert orjson.loads(content) == {"violations": []}
    assert reasoning.startswith("Draft answer")
    usage = chunks[-1]["usage"]
    n_tokens = sum(1 for c in chunks if c["choices"] and c["choices"][0]["delta"] and "role" not in c["choices"][0]["delta"])  # fmt: skip
    assert usage["completion_tokens"] == n_tokens


async def test_completions_prompt_list_is_a_batch(sim: SimFactory) -> None:
    prompts = [
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\ntext {i}<|im_end|>\n"
        for i in range(5)
    ]
    async with (
        sim(reasoning_tokens=0, style="json-plain") as (url, _),
        aiohttp.ClientSession() as s,
    ):
        async with s.post(url + "/completions", json={"model": "m", "prompt": prompts}) as resp:
            obj = await resp.json()
        async with s.post(
            url + "/completions", json={"model": "m", "prompt": ["x"] * 1025}
        ) as resp:
            assert resp.status == 400
    assert [c["index"] for c in obj["choices"]] == list(range(5))
    assert all(orjson.loads(c["text"]) == {"violations": []} for c in obj["choices"])
    assert obj["usage"]["prompt_tokens"] > 5 * 20


async def test_models_health_and_bad_body(sim: SimFactory) -> None:
    async with sim(model="guard-x") as (url, _), aiohttp.ClientSession() as s:
        async with s.get(url + "/models") as resp:
            assert (await resp.json())["data"][0]["id"] == "guard-x"
        async with s.get(url.removesuffix("/v1") + "/health") as resp:
            assert resp.status == 200
        async with s.post(url + "/chat/completions", data=b"{not json") as resp:
            assert resp.status == 400


async def test_cut_off_while_reasoning_has_null_content(sim: SimFactory) -> None:
    async with sim(reasoning_tokens=500) as (url, _):
        obj = await post(url + "/chat/completions", {**CHAT, "max_tokens": 50})
    choice = obj["choices"][0]
    assert choice["message"]["content"] is None and choice["finish_reason"] == "length"
    assert obj["usage"]["completion_tokens"] == 50


async def test_vllm_metrics_parse_and_gauges_move_under_load(sim: SimFactory) -> None:
    # two sequences at a time and long answers: eight requests make 2 running + 6 waiting
    async with (
        sim(time_scale=1.0, max_num_seqs=2, reasoning_tokens=4000) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        idle = await scrape(s, url)
        for name, kind in (
            ("vllm:num_requests_running", "gauge"),
            ("vllm:num_requests_waiting", "gauge"),
            ("vllm:kv_cache_usage_perc", "gauge"),
            ("vllm:prompt_tokens_total", "counter"),
            ("vllm:generation_tokens_total", "counter"),
            ("vllm:prefix_cache_hits_total", "counter"),
            ("vllm:prefix_cache_queries_total", "counter"),
            ("vllm:request_success_total", "counter"),
            ("vllm:time_to_first_token_seconds_count", "histogram"),
            ("vllm:e2e_request_latency_seconds_count", "histogram"),
            ("vllm:inter_token_latency_seconds_count", "histogram"),
            ("vllm:request_queue_time_seconds_count", "histogram"),
        ):
            assert idle[name][0] == kind, name
        assert idle["vllm:num_requests_running"][1] == 0
        engine = app[ENGINE]
        tasks = [asyncio.create_task(s.post(url + "/chat/completions", json={**CHAT, "max_tokens": 8000, "messages": [CHAT["messages"][0], {"role": "user", "content": f"u{i}"}]})) for i in range(8)]  # fmt: skip
        # until the engine runs two and queues six (however long a loaded machine takes;
        # the answers are thousands of tokens long, so the state holds while it is scraped)
        for _ in range(100_000):  # bounded by the test's timeout, not by a guess
            if engine.running == 2 and len(engine.waiting) == 6:
                break
            await asyncio.sleep(0.01)
        busy = await scrape(s, url)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert busy["vllm:num_requests_running"][1] == 2
    assert busy["vllm:num_requests_waiting"][1] == 6
    assert busy["vllm:kv_cache_usage_perc"][1] > idle["vllm:kv_cache_usage_perc"][1]
    assert busy["vllm:prefix_cache_queries_total"][1] > 0


async def test_metrics_counters_after_requests(sim: SimFactory) -> None:
    async with sim() as (url, _), aiohttp.ClientSession() as s:
        for i in range(3):
            body = {**CHAT, "messages": [CHAT["messages"][0], {"role": "user", "content": f"u{i}"}]}
            async with s.post(url + "/chat/completions", json=body) as resp:
                usage = (await resp.json())["usage"]
        m = await scrape(s, url)
    assert m["vllm:e2e_request_latency_seconds_count"][1] == 3
    assert m["vllm:prompt_tokens_total"][1] == 3 * usage["prompt_tokens"]
    assert m["vllm:prefix_cache_hits_total"][1] > 0  # the shared system prompt
    assert m["vllm:num_requests_running"][1] == 0


async def test_errors_are_answered_as_vllm_answers_them(sim: SimFactory) -> None:
    """The checks tests/test_sim_parity.py compares with real vLLM, here without vLLM."""
    good = {**CHAT, "model": "guard"}
    async with (
        sim(model="guard", served_models=("guard", "alias"), max_model_len=1000) as (url, _),
        aiohttp.ClientSession() as s,
    ):

        async def send(path: str, body: Any, method: str = "POST") -> tuple[int, Any]:
            async with s.request(method, url.removesuffix("/v1") + path, json=body) as resp:
                return resp.status, await resp.json()

        status, obj = await send("/v1/chat/completions", {**good, "model": "nope"})
        assert status == 404 and obj == {
            "error": {
                "message": "The model `nope` does not exist. Valid aliases: guard, alias.",
                "type": "NotFoundError",
                "param": "model",
                "code": 404,
            }
        }
        assert (await send("/v1/chat/completions", {**good, "model": "alias"}))[0] == 200
        status, obj = await send("/v1/chat/completions", {**good, "max_tokens": 1001})
        assert status == 400 and obj["error"]["param"] == "max_tokens"
        assert "cannot be greater than max_model_len=1000" in obj["error"]["message"]
        status, obj = await send("/v1/chat/completions", {**good, "max_tokens": 0})
        assert status == 400 and "at least 1, got 0" in obj["error"]["message"]
        long = {**good, "messages": [{"role": "user", "content": "word " * 5000}]}
        status, obj = await send("/v1/chat/completions", long)
        assert status == 400 and obj["error"]["param"] == "input_tokens"
        assert "at least 1001 input tokens" in obj["error"]["message"]
        assert await send("/v1/nope", None, "GET") == (404, {"detail": "Not Found"})
        assert await send("/v1/chat/completions", None, "GET") == (
            405,
            {"detail": "Method Not Allowed"},
        )
        batch = {"model": "guard", "messages": [CHAT["messages"]] * 2, "stream": True}
        status, obj = await send("/v1/chat/completions/batch", batch)
        assert status == 200 and len(obj["choices"]) == 2  # stream is ignored there
        status, obj = await send("/v1/models", None, "GET")
        assert [m["id"] for m in obj["data"]] == ["guard", "alias"]
        assert obj["data"][0]["max_model_len"] == 1000


async def test_an_answer_that_stops_counts_its_end_token(sim: SimFactory) -> None:
    async with sim(reasoning_tokens=0, style="json-plain") as (url, _):
        obj = await post(url + "/chat/completions", CHAT)
    choice = obj["choices"][0]
    assert choice["finish_reason"] == "stop"
    # the sim's tokens are 4 characters each (rounded down); the end token is one more
    content_tokens = max(1, len(choice["message"]["content"]) // 4)
    assert obj["usage"]["completion_tokens"] == content_tokens + 1
