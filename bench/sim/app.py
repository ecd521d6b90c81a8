"""The simulated server's HTTP surface: ``/v1/models``, ``/v1/chat/completions``, ``/health``.

Latency model (first version): at most ``max_num_seqs`` requests are served at once, the
rest wait; a served request takes ``base + prompt_tokens * per_prompt_token +
completion_tokens * per_output_token`` seconds, times ``time_scale``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from .knowledge import Knowledge, Truth
from .prompt_reading import Question, read_question

KNOWLEDGE: web.AppKey[Knowledge] = web.AppKey("knowledge", Knowledge)
CONFIG: web.AppKey[SimConfig] = web.AppKey("config", object)  # type: ignore[arg-type]
SLOTS: web.AppKey[asyncio.Semaphore] = web.AppKey("slots", asyncio.Semaphore)
STATS: web.AppKey[SimStats] = web.AppKey("stats", object)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Settings of the simulated server (validated by the CLI that builds it)."""

    datasets: tuple[str, ...] = ()
    model: str = "sim-guard"
    error_rate: float = 0.0
    seed: int = 0
    max_num_seqs: int = 256
    base_latency: float = 0.05
    per_prompt_token: float = 30e-6
    per_output_token: float = 5e-3
    reasoning_tokens: int = 0
    reasoning_field: str = "reasoning"  # reasoning | reasoning_content | both | none
    time_scale: float = 1.0

    def as_record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "error_rate": self.error_rate,
            "seed": self.seed,
            "max_num_seqs": self.max_num_seqs,
            "base_latency": self.base_latency,
            "per_prompt_token": self.per_prompt_token,
            "per_output_token": self.per_output_token,
            "reasoning_tokens": self.reasoning_tokens,
            "time_scale": self.time_scale,
        }


@dataclass(slots=True)
class SimStats:
    requests: int = 0
    running: int = 0
    waiting: int = 0
    max_running: int = 0
    unknown_texts: int = 0
    started: float = field(default_factory=time.monotonic)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _answer(
    question: Question, truth: Truth | None, knowledge: Knowledge, user: str, error_rate: float
) -> str:
    if question.kind == "unknown":
        return "I can classify content if you tell me which policy to apply."
    gold = truth.labels if truth is not None else frozenset()
    if question.kind == "single":
        cat = question.categories[0]
        violated = cat in gold
        if knowledge.draw(user, cat) < error_rate:
            violated = not violated
        return orjson.dumps({"violation": int(violated), "policy_category": cat}).decode()
    cats = question.categories
    predicted = {c for c in cats if c in gold}
    if cats and knowledge.draw(user, "multi") < error_rate:
        flip = cats[int(knowledge.draw(user, "which") * len(cats))]
        predicted ^= {flip}
    ordered = [c for c in cats if c in predicted]
    return orjson.dumps({"violations": ordered}).decode()


def _reasoning(question: Question, answer: str, n_tokens: int) -> str:
    # A decoy: the reasoning quotes the *opposite* of many answers, so a client that
    # reads the verdict from the reasoning field (the seed's first bug) scores badly.
    decoy = '{"violations": ["hate_speech"]}' if question.kind == "multi" else '{"violation": 1}'
    filler = " ".join(
        ["Considering the policy definitions and the content."] * max(1, n_tokens // 8)
    )
    return f"Draft answer: {decoy}. {filler} Final decision follows."


async def chat_completions(request: web.Request) -> web.Response:
    app = request.app
    cfg = app[CONFIG]
    stats = app[STATS]
    try:
        body = orjson.loads(await request.read())
        messages = body["messages"]
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    except (orjson.JSONDecodeError, KeyError, TypeError, StopIteration):
        return web.json_response(
            {"error": {"message": "invalid request body", "type": "BadRequestError", "code": 400}},
            status=400,
        )
    stats.requests += 1
    knowledge = app[KNOWLEDGE]
    question = read_question(system)
    truth = knowledge.lookup(user)
    if truth is None:
        stats.unknown_texts += 1
    content = _answer(question, truth, knowledge, user, cfg.error_rate)
    prompt_tokens = _tokens(system) + _tokens(user)
    reasoning = (
        _reasoning(question, content, cfg.reasoning_tokens) if cfg.reasoning_tokens else None
    )
    completion_tokens = _tokens(content) + (cfg.reasoning_tokens if reasoning else 0)

    stats.waiting += 1
    async with app[SLOTS]:
        stats.waiting -= 1
        stats.running += 1
        stats.max_running = max(stats.max_running, stats.running)
        try:
            seconds = (
                cfg.base_latency
                + prompt_tokens * cfg.per_prompt_token
                + completion_tokens * cfg.per_output_token
            ) * cfg.time_scale
            if seconds > 0:
                await asyncio.sleep(seconds)
        finally:
            stats.running -= 1

    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        if cfg.reasoning_field in ("reasoning", "both"):
            message["reasoning"] = reasoning
        if cfg.reasoning_field in ("reasoning_content", "both"):
            message["reasoning_content"] = reasoning
    payload = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", cfg.model),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


async def models(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    return web.json_response(
        {
            "object": "list",
            "data": [{"id": cfg.model, "object": "model", "owned_by": "policybench-sim"}],
        }
    )


async def health(request: web.Request) -> web.Response:
    return web.Response(text="")


def build_app(config: SimConfig) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    knowledge = Knowledge(config.seed)
    knowledge.learn(config.datasets)
    app[KNOWLEDGE] = knowledge
    app[CONFIG] = config
    app[STATS] = SimStats()

    async def _slots(app: web.Application) -> AsyncIterator[None]:
        app[SLOTS] = asyncio.Semaphore(config.max_num_seqs)
        yield

    app.cleanup_ctx.append(_slots)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/health", health)
    return app


@contextlib.asynccontextmanager
async def serve_in_background(
    config: SimConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, web.Application]]:
    """Serve on ``host:port`` (0 = ephemeral) inside the current loop; yields the ``/v1`` URL."""
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        addr = _bound_port(runner)
        yield f"http://{host}:{addr}/v1", app
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    addresses: Sequence[Any] = runner.addresses
    return int(addresses[0][1])


def dataset_paths(paths: Sequence[str | Path]) -> tuple[str, ...]:
    return tuple(str(p) for p in paths)
