"""Server-sent events for ``/v1/chat/completions`` with ``"stream": true``, as vLLM sends them.

One ``chat.completion.chunk`` per generated token, written as the engine produces it
(tokens of one engine step go out in one write): the role first, then reasoning deltas
(``reasoning`` and/or ``reasoning_content``), then content deltas, a last chunk with the
``finish_reason``, a ``usage`` chunk with empty ``choices`` when ``stream_options.
include_usage`` asks for it, and ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import orjson
from aiohttp import web

from .answers import Answer
from .engine import EngineSequence
from .rendering import CHARS_PER_TOKEN


def _pieces(text: str, n: int) -> list[str]:
    """``text`` cut into ``n`` token-sized pieces (the last takes the rest)."""
    if n <= 0:
        return []
    if not text:
        return [""] * n
    out = [text[i * CHARS_PER_TOKEN : (i + 1) * CHARS_PER_TOKEN] for i in range(n - 1)]
    out.append(text[(n - 1) * CHARS_PER_TOKEN :])
    return out


def token_deltas(answer: Answer, total: int, field: str) -> list[dict[str, Any]]:
    """The ``delta`` of each generated token, in order."""
    reasoning = answer.reasoning or ""
    n_reason = min(total, max(1, len(reasoning) // CHARS_PER_TOKEN)) if reasoning else 0
    if answer.content is None:  # cut off while reasoning: every token is reasoning
        n_reason = total
    deltas: list[dict[str, Any]] = []
    for piece in _pieces(reasoning, n_reason):
        delta: dict[str, Any] = {}
        if field in ("reasoning", "both"):
            delta["reasoning"] = piece
        if field in ("reasoning_content", "both"):
            delta["reasoning_content"] = piece
        deltas.append(delta)
    deltas.extend({"content": piece} for piece in _pieces(answer.content or "", total - n_reason))
    return deltas


async def stream_chat(
    request: web.Request,
    answer: Answer,
    seq: EngineSequence,
    model: str,
    field: str,
    include_usage: bool,
    generate: Coroutine[Any, Any, None],
    fault: str | None,
) -> web.StreamResponse:
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        obj = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    deltas = token_deltas(answer, seq.output_tokens, field)
    latest = 0
    progressed = asyncio.Event()

    def on_token(i: int) -> None:
        nonlocal latest
        latest = i
        progressed.set()

    seq.on_token = on_token
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)
    await resp.write(chunk({"role": "assistant", "content": ""}))
    task = asyncio.ensure_future(generate)
    sent = 0
    try:
        while True:
            if sent < latest:
                upto = min(latest, len(deltas))
                await resp.write(b"".join(chunk(d) for d in deltas[sent:upto]))
                sent = latest
                if fault == "drop" and sent * 2 >= len(deltas) and request.transport is not None:
                    request.transport.close()
                    return resp
            if task.done():
                task.result()
                if sent >= latest:
                    break
                continue
            waiter = asyncio.ensure_future(progressed.wait())
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            progressed.clear()
    finally:
        if not task.done():
            task.cancel()
    tail = chunk({}, answer.finish_reason)
    if include_usage:
        usage = {
            "prompt_tokens": seq.prompt_tokens,
            "completion_tokens": seq.output_tokens,
            "total_tokens": seq.prompt_tokens + seq.output_tokens,
        }
        obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [], "usage": usage}  # fmt: skip
        tail += b"data: " + orjson.dumps(obj) + b"\n\n"
    await resp.write(tail + b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp
