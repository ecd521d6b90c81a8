"""The simulated server's HTTP surface, as vLLM serves it.

``GET /v1/models``, ``POST /v1/chat/completions`` (JSON or SSE streaming with ``usage``),
``POST /v1/completions`` (a ``prompt`` list is answered as a batch, one choice per prompt
with its ``index``), ``GET /health`` and vLLM's ``GET /metrics``.  Each request is one
engine :class:`~.engine.Sequence` (a list prompt is several); faults are drawn before it
is queued (errors, hangs) or applied to its answer (slow, drop, malformed, empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .answers import Answer, compose
from .config import SimConfig
from .engine import Engine
from .engine import EngineSequence as Seq
from .faults import FaultInjector
from .knowledge import Knowledge, turns_key
from .logprobs import chat_logprobs, completion_logprobs
from .metrics import SimMetrics
from .native_reading import NativeQuestion, read_chat, read_completion
from .profile import Profile
from .prompt_reading import read_question
from .rendering import block_hashes, count_tokens, render_chat, render_output, split_rendered
from .streaming import stream_chat
from .vllm_errors import error, fastapi_not_found, over_limits, prompt_too_long, unknown_model

CONFIG: web.AppKey[SimConfig] = web.AppKey("config", SimConfig)
PROFILE: web.AppKey[Profile] = web.AppKey("profile", Profile)
KNOWLEDGE: web.AppKey[Knowledge] = web.AppKey("knowledge", Knowledge)
METRICS: web.AppKey[SimMetrics] = web.AppKey("metrics", SimMetrics)
ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
FAULTS: web.AppKey[FaultInjector] = web.AppKey("faults", FaultInjector)
HANGING: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("hanging", set)


@dataclass(slots=True)
class SimStats:
    """Counts tests read: HTTP requests answered, sequences in flight and the most at once."""

    requests: int = 0
    running: int = 0
    max_running: int = 0
    unknown_texts: int = 0
    batches: int = 0  # HTTP requests to the two batch routes


STATS: web.AppKey[SimStats] = web.AppKey("stats", SimStats)

MAX_COMPLETION_PROMPTS = 1024
SYSTEM_FINGERPRINT = (
    "policybench-sim"  # vLLM sends "vllm-VERSION-HASH"  # VLLM_MAX_COMPLETION_PROMPTS in vLLM 0.33
)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return error(status, message, headers=headers)


def _refused(app: web.Application, body: dict[str, Any]) -> web.Response | None:
    """vLLM's checks before a request reaches the engine: the model, then ``max_tokens``."""
    cfg = app[CONFIG]
    return unknown_model(cfg, body) or over_limits(cfg, body)


async def _early_fault(request: web.Request, fault: str | None) -> web.StreamResponse | None:
    """Faults that answer before the engine sees the request."""
    cfg = request.app[CONFIG].faults
    if fault == "500":
        return _error(500, "simulated internal server error")
    if fault == "503":
        return _error(503, "simulated: the server's queue is full")
    if fault == "429":
        return _error(429, "simulated rate limit", {"Retry-After": f"{cfg.retry_after:g}"})
    if fault == "400":
        return _error(400, "simulated: this model's maximum context length is exceeded")
    if fault == "hang":
        task = asyncio.current_task()
        hanging = request.app[HANGING]
        if task is not None:
            hanging.add(task)
        try:
            await asyncio.sleep(cfg.hang_seconds)
        finally:
            if task is not None:
                hanging.discard(task)
        return _error(504, "simulated hang ended")
    return None


async def _late_fault(request: web.Request, fault: str | None, body: bytes) -> web.StreamResponse:
    """The answer, or the answer spoiled by a late fault."""
    if fault == "slow":
        await asyncio.sleep(request.app[CONFIG].faults.slow_seconds)
    elif fault == "malformed":
        body = body[: len(body) // 2]
    elif fault == "empty":
        obj = orjson.loads(body)
        obj["choices"] = []
        body = orjson.dumps(obj)
    elif fault == "drop":
        resp = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))}
        )
        await resp.prepare(request)
        await resp.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        return resp
    return web.Response(body=body, content_type="application/json")


def _end_token(answer: Answer, max_tokens: object) -> int:
    """1 where the answer stops with its end token and ``max_tokens`` leaves room for it."""
    if answer.finish_reason != "stop":
        return 0
    room = not isinstance(max_tokens, int) or answer.completion_tokens < max_tokens
    return 1 if room else 0


def _prepare(app: web.Application, system: str, user: str, body: dict[str, Any], native: NativeQuestion | None = None) -> tuple[Answer, Seq]:  # fmt: skip
    cfg, profile = app[CONFIG], app[PROFILE]
    knowledge = app[KNOWLEDGE]
    question = read_question(system) if native is None else native.question
    if native is not None:
        user = native.key
    truth = knowledge.lookup(user, question.task)
    app[STATS].requests += 1
    if truth is None:
        app[STATS].unknown_texts += 1
    effort = body.get("reasoning_effort")
    effort = effort if effort in ("low", "medium", "high") else "medium"
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    style = cfg.style if cfg.style != "auto" else profile.style
    answer = compose(
        question=question,
        truth=truth,
        knowledge=knowledge,
        user=user,
        model=str(body.get("model") or cfg.model),
        style=native.style if native is not None and cfg.style == "auto" else style,
        rates=cfg.rates,
        independent=cfg.independent_models,
        separation=cfg.logprob_separation,
        reasoning_median=profile.reasoning_median(effort),
        reasoning_sigma=profile.reasoning_sigma,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
    )
    prompt = render_chat(system, user, effort, profile.reasoning)
    # an answer that stops generates its end token too, and vLLM counts it
    seq = Seq(
        prompt_tokens=count_tokens(prompt),
        output_tokens=answer.completion_tokens + _end_token(answer, max_tokens),
        block_hashes=block_hashes(prompt, profile.block_size),
        finish_reason=answer.finish_reason,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
    )
    return answer, seq


async def _generate(app: web.Application, seq: Seq) -> None:
    """Frontend overhead, then the engine; an abandoned request is aborted in the engine."""
    stats = app[STATS]
    stats.running += 1
    stats.max_running = max(stats.max_running, stats.running)
    try:
        await _engine_time(app, seq)
    finally:
        stats.running -= 1


async def _engine_time(app: web.Application, seq: Seq) -> None:
    cfg, profile = app[CONFIG], app[PROFILE]
    if cfg.fixed_latency and cfg.time_scale > 0:
        await app[ENGINE].run_fixed(seq, cfg.fixed_seconds(seq.prompt_tokens, seq.output_tokens))
        return
    overhead = profile.frontend_overhead_seconds * cfg.time_scale
    if overhead > 0:
        await asyncio.sleep(overhead)
    done = app[ENGINE].submit(seq)
    try:
        await done
    finally:
        if seq.finished_at is None:
            app[ENGINE].abort(seq)


def message_of(cfg_field: str, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.reasoning is not None:
        if cfg_field in ("reasoning", "both"):
            message["reasoning"] = answer.reasoning
        if cfg_field in ("reasoning_content", "both"):
            message["reasoning_content"] = answer.reasoning
    return message


def _split_conversation(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The system prompt and the key of what follows it: a lone user message's text, or
    the role turns (a multi-turn conversation, a response to judge) joined."""
    system = next((m["content"] for m in messages if m.get("role") in ("system", "developer")), "")  # fmt: skip
    turns = [(m["role"], m["content"]) for m in messages if m.get("role") in ("user", "assistant")]  # fmt: skip
    if not isinstance(system, str) or not all(isinstance(c, str) for _, c in turns):
        raise TypeError("content must be a string")
    return system, turns_key(turns)


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}  # fmt: skip


def _chat_logprobs(app: web.Application, body: dict[str, Any], answer: Answer) -> Any:
    """``logprobs`` of a chat choice when the request asked (``logprobs: true``)."""
    if body.get("logprobs") is not True:
        return None
    top = body.get("top_logprobs")
    top = top if isinstance(top, int) and top > 0 else 1
    sep = app[CONFIG].logprob_separation
    return chat_logprobs(answer.content or "", answer.style, answer.draw, answer.correct, sep, top)


def _text_logprobs(app: web.Application, body: dict[str, Any], answer: Answer, text: str) -> Any:
    """``logprobs`` of a text completion when the request asked (``logprobs: N``)."""
    top = body.get("logprobs")
    if not isinstance(top, int) or isinstance(top, bool) or top < 0:
        return None
    sep = app[CONFIG].logprob_separation
    return completion_logprobs(text, answer.style, answer.draw, answer.correct, sep, max(top, 1))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    app = request.app
    try:
        body = orjson.loads(await request.read())
        messages = body["messages"]
        system, user = _split_conversation(messages)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return _error(400, "invalid request body")
    refused = _refused(app, body)
    if refused is not None:
        return refused
    fault = app[FAULTS].draw()
    early = await _early_fault(request, fault)
    if early is not None:
        return early
    model = str(body.get("model") or app[CONFIG].model)
    native = None if system else read_chat(messages, body, model, app[KNOWLEDGE])
    answer, seq = _prepare(app, system, user, body, native)
    too_long = prompt_too_long(app[CONFIG], seq.prompt_tokens)
    if too_long is not None:
        return too_long
    field = app[PROFILE].reasoning_field
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await stream_chat(
            request, answer, seq, model, field, include_usage, _generate(app, seq), fault
        )
    await _generate(app, seq)
    payload = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message_of(field, answer),
                "logprobs": _chat_logprobs(app, body, answer),
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": _usage(seq.prompt_tokens, seq.output_tokens),
    }
    return await _late_fault(request, fault, orjson.dumps(payload))


async def completions(request: web.Request) -> web.StreamResponse:
    app = request.app
    try:
        body = orjson.loads(await request.read())
        prompt = body["prompt"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _error(400, "invalid request body")
    if isinstance(prompt, str) or (prompt and isinstance(prompt[0], int)):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt:
        prompts = list(prompt)
    else:
        return _error(400, "prompt: a string or a non-empty list")
    if len(prompts) > MAX_COMPLETION_PROMPTS:
        return _error(400, f"prompt: at most {MAX_COMPLETION_PROMPTS} prompts per request")
    if body.get("stream"):
        return _error(400, "simulated server: streaming /v1/completions is not supported")
    refused = _refused(app, body)
    if refused is not None:
        return refused
    if len(prompts) > 1:
        app[STATS].batches += 1
    fault = app[FAULTS].draw()
    early = await _early_fault(request, fault)
    if early is not None:
        return early
    skip_special = body.get("skip_special_tokens", True) is not False
    work: list[tuple[Answer, Seq]] = []
    for p in prompts:
        text = p if isinstance(p, str) else " ".join(["tok"] * len(p))
        native = read_completion(text, app[KNOWLEDGE])
        system, user = ("", "") if native is not None else split_rendered(text)
        answer, seq = _prepare(app, system, user, body, native)
        seq.prompt_tokens = count_tokens(text) if isinstance(p, str) else max(1, len(p))
        too_long = prompt_too_long(app[CONFIG], seq.prompt_tokens)
        if too_long is not None:
            return too_long
        work.append((answer, seq))
    await asyncio.gather(*(_generate(app, seq) for _, seq in work))
    choices = [
        {
            "index": i,
            "text": (text := render_output(answer.reasoning, answer.content, skip_special)),
            "logprobs": _text_logprobs(app, body, answer, text),
            "finish_reason": answer.finish_reason,
        }
        for i, (answer, _) in enumerate(work)
    ]
    prompt_tokens = sum(s.prompt_tokens for _, s in work)
    completion_tokens = sum(s.output_tokens for _, s in work)
    payload = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "model": str(body.get("model") or app[CONFIG].model),
        "choices": choices,
        "usage": _usage(prompt_tokens, completion_tokens),
    }
    return await _late_fault(request, fault, orjson.dumps(payload))


async def chat_completions_batch(request: web.Request) -> web.StreamResponse:
    """vLLM 0.19+'s ``/v1/chat/completions/batch``: a list of conversations, one indexed choice
    each, no streaming, ``n`` = 1.  An ``empty`` fault here drops the odd-indexed choices
    (a partial failure), so clients can show they retry only what is missing."""
    app = request.app
    try:
        body = orjson.loads(await request.read())
        conversations = body["messages"]
        if not isinstance(conversations, list) or not conversations:
            raise TypeError("messages: a non-empty list of conversations")
        pairs = []
        for conv in conversations:
            if not isinstance(conv, list) or not conv:
                raise TypeError("each conversation: a non-empty list of messages")
            pairs.append(_split_conversation(conv))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        return _error(400, f"invalid request body: {exc}")
    # vLLM ignores ``stream`` here and answers one JSON body (200)
    refused = _refused(app, body)
    if refused is not None:
        return refused
    if body.get("n", 1) != 1:
        return _error(400, "n must be 1 for the batch chat route")
    app[STATS].batches += 1
    fault = app[FAULTS].draw()
    partial = fault == "empty"
    early = await _early_fault(request, None if partial else fault)
    if early is not None:
        return early
    work = [_prepare(app, system, user, body) for system, user in pairs]
    for _answer, seq in work:
        too_long = prompt_too_long(app[CONFIG], seq.prompt_tokens)
        if too_long is not None:
            return too_long
    await asyncio.gather(*(_generate(app, seq) for _, seq in work))
    field = app[PROFILE].reasoning_field
    choices = [
        {"index": i, "message": message_of(field, answer), "finish_reason": answer.finish_reason}
        for i, (answer, _) in enumerate(work)
        if not (partial and i % 2 == 1)
    ]
    payload = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "model": str(body.get("model") or app[CONFIG].model),
        "choices": choices,
        "usage": _usage(
            sum(s.prompt_tokens for _, s in work), sum(s.output_tokens for _, s in work)
        ),
    }
    return await _late_fault(request, None if partial else fault, orjson.dumps(payload))


async def models(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    return web.json_response(
        {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": int(time.time()),
                    "permission": [],
                    "owned_by": "policybench-sim",
                    "max_model_len": cfg.max_model_len,
                    "root": request.app[PROFILE].model,
                }
                for name in cfg.served_models or dict.fromkeys((cfg.model, *cfg.also_serves))
            ],
        }
    )


async def health(request: web.Request) -> web.Response:
    return web.Response(text="")


async def metrics(request: web.Request) -> web.Response:
    data = generate_latest(request.app[METRICS].registry)
    return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(config: SimConfig) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[fastapi_not_found])
    knowledge = Knowledge(config.seed)
    knowledge.learn(config.datasets)
    profile = config.resolved_profile()
    app[KNOWLEDGE] = knowledge
    app[CONFIG] = config
    app[PROFILE] = profile
    app[METRICS] = SimMetrics(config.model)
    app[FAULTS] = FaultInjector(config.faults, config.seed)
    app[HANGING] = set()
    app[STATS] = SimStats()

    async def _engine(app: web.Application) -> AsyncIterator[None]:
        engine = Engine(profile, config.time_scale, app[METRICS])
        app[METRICS].engine = engine
        app[ENGINE] = engine
        engine.start()
        yield
        await engine.stop()

    async def _release_hanging(app: web.Application) -> None:
        hanging: set[asyncio.Task[Any]] = app[HANGING]
        for task in list(hanging):
            task.cancel()

    app.cleanup_ctx.append(_engine)
    app.on_shutdown.append(_release_hanging)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    if config.batch_chat_route:
        app.router.add_post("/v1/chat/completions/batch", chat_completions_batch)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.asynccontextmanager
async def serve_in_background(
    config: SimConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, web.Application]]:
    """Serve on ``host:port`` (0 = ephemeral) inside the current loop; yields the ``/v1`` URL."""
    app = build_app(config)
    # handler_cancellation: a client that gives up (timeout) cancels its handler, which
    # aborts its engine request, as vLLM does on disconnect
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield f"http://{host}:{_bound_port(runner)}/v1", app
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    addresses: Sequence[Any] = runner.addresses
    return int(addresses[0][1])
