"""Batched prompts: concurrent single-conversation calls coalesced into one HTTP request.

The dispatcher keeps calling ``chat(system, user)`` one conversation at a time (so limits,
retries and records stay per sample); this client gathers up to ``batch_size`` waiting
calls (or whatever arrived within ``linger`` seconds) into one request:

* ``chat-batch``: ``POST /chat/completions/batch`` with a list of conversations, templated
  by the server (vLLM 0.19 and later);
* ``completions``: ``POST /completions`` with a ``prompt`` list, each conversation rendered
  on the client by a :class:`ChatTemplate` (any vLLM);
* ``auto``: the first, falling back to the second for good when the server does not
  have the batch route (404/405).

Answers come back matched by ``index``.  A choice that is missing or unusable fails only
its own call (retryable), so the dispatcher retries just what failed.  The batch's
``usage`` is shared out evenly between its conversations.  The client owns its flusher
and send tasks in one task group, closed with the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from .chat_templates import ChatTemplate
from .client import ChatClient, Completion
from .client_types import NativeRequest, UserInput, transcript, turn_messages
from .errors import BadResponse, HTTPStatusError, RequestError

MODES = ("auto", "chat-batch", "completions")


@dataclass(slots=True)
class _Item:
    system: str
    user: UserInput
    future: asyncio.Future[Completion]


@dataclass(slots=True)
class _Batch:
    key: tuple[str | None, str | None]
    items: list[_Item] = field(default_factory=list)


class BatchingClient:
    def __init__(
        self,
        inner: ChatClient,
        batch_size: int,
        *,
        mode: str = "auto",
        template: ChatTemplate | None = None,
        linger: float = 0.005,
    ) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self._inner = inner
        self._size = batch_size
        self._mode = mode
        self._template = template
        self._linger = linger
        self._queue: asyncio.Queue[tuple[tuple[str | None, str | None], _Item] | None] = (
            asyncio.Queue()
        )
        self._tg: asyncio.TaskGroup | None = None
        self.batches_sent = 0
        self.mode_used: str | None = None if mode == "auto" else mode

    async def __aenter__(self) -> BatchingClient:
        await self._inner.__aenter__()
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._tg.create_task(self._flusher())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._queue.put_nowait(None)
        try:
            assert self._tg is not None
            await self._tg.__aexit__(None, None, None)
        finally:
            await self._inner.__aexit__(*exc)

    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion:
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(((model, reasoning_effort), _Item(system, user, future)))
        return await future

    async def send(self, request: NativeRequest) -> Completion:
        """Native-format requests are not coalesced: each goes on its own."""
        return await self._inner.send(request)

    async def _flusher(self) -> None:
        """Group queued calls by (model, effort) into batches and send each batch when it is
        full, or when its first call has waited ``linger`` seconds."""
        assert self._tg is not None
        loop = asyncio.get_running_loop()
        open_batches: dict[tuple[str | None, str | None], _Batch] = {}
        deadline: float | None = None
        closing = False
        while not closing or open_batches:
            flush_all = False
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            expired = False
            if not self._queue.empty():
                # calls already queued join first: after a stall past the deadline,
                # wait_for(get(), 0) would time out on each of them, one batch apiece
                entry = self._queue.get_nowait()
                expired = timeout == 0.0 and self._queue.empty()
            else:
                try:
                    entry = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    entry, flush_all = None, True
            if entry is None:
                closing = closing or not flush_all
                flush_all = True
            else:
                key, item = entry
                batch = open_batches.get(key)
                if batch is None:
                    batch = open_batches[key] = _Batch(key)
                    if deadline is None:
                        deadline = loop.time() + self._linger
                batch.items.append(item)
                if len(batch.items) >= self._size:
                    del open_batches[key]
                    self._tg.create_task(self._send(batch))
                    if not open_batches:
                        deadline = None
            if flush_all or (expired and deadline is not None):
                for batch in open_batches.values():
                    self._tg.create_task(self._send(batch))
                open_batches.clear()
                deadline = None

    async def _send(self, batch: _Batch) -> None:
        items = [i for i in batch.items if not i.future.done()]  # cancelled callers drop out
        if not items:
            return
        try:
            mode = self.mode_used or "chat-batch"
            try:
                completions = await self._request(mode, batch.key, items)
            except HTTPStatusError as exc:
                # a batch sent before an earlier one found the route missing falls back too
                if (
                    mode == "chat-batch"
                    and self.mode_used != "chat-batch"
                    and exc.status in (404, 405)
                ):
                    self.mode_used = mode = "completions"
                    completions = await self._request(mode, batch.key, items)
                else:
                    raise
            if self.mode_used is None:
                self.mode_used = mode
        except RequestError as exc:
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        except Exception as exc:  # never leave a caller waiting
            for item in items:
                if not item.future.done():
                    item.future.set_exception(BadResponse(f"batch failed: {exc!r}"))
            return
        self.batches_sent += 1
        for item, result in zip(items, completions, strict=True):
            if item.future.done():
                continue
            if isinstance(result, RequestError):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)

    async def _request(
        self, mode: str, key: tuple[str | None, str | None], items: list[_Item]
    ) -> list[Completion | RequestError]:
        body: dict[str, Any] = self._inner.base_body
        model, effort = key
        if model is not None:
            body["model"] = model
        if effort is not None:
            body["reasoning_effort"] = effort
        base = self._inner.base_url
        if mode == "chat-batch":
            body["messages"] = [
                [{"role": "system", "content": i.system}, *turn_messages(i.user)] for i in items
            ]
            raw, latency = await self._inner.post(
                base + "/chat/completions/batch", orjson.dumps(body)
            )
            return _split(raw, latency, len(items), chat=True, template=None)
        template = self._template
        if template is None:
            raise BadResponse("completions mode needs a chat template")
        effort = body.pop("reasoning_effort", None)
        # a client-side template takes one user message: a conversation becomes its transcript
        body["prompt"] = [template.render(i.system, transcript(i.user), effort) for i in items]
        body.update(template.extra_body)
        raw, latency = await self._inner.post(base + "/completions", orjson.dumps(body))
        return _split(raw, latency, len(items), chat=False, template=template)


def _split(
    raw: bytes, latency: float, n: int, *, chat: bool, template: ChatTemplate | None
) -> list[Completion | RequestError]:
    try:
        obj = orjson.loads(raw)
        choices = obj["choices"]
        if not isinstance(choices, list):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadResponse(f"batch body has no choices list: {raw[:120]!r}") from exc
    usage = obj.get("usage") or {}
    prompt_each = _share(usage.get("prompt_tokens"), n)
    completion_each = _share(usage.get("completion_tokens"), n)
    out: list[Completion | RequestError] = [
        BadResponse(f"no choice for conversation {i} in the batch answer") for i in range(n)
    ]
    for position, choice in enumerate(choices):
        with contextlib.suppress(Exception):
            index = choice.get("index", position)
            if not isinstance(index, int) or not 0 <= index < n:
                continue
            finish = choice.get("finish_reason")
            if chat:
                message = choice["message"]
                content = message.get("content")
                reasoning = message.get("reasoning") or message.get("reasoning_content")
            else:
                assert template is not None
                content, reasoning = template.split_output(choice["text"])
            if content is not None and not isinstance(content, str):
                continue
            out[index] = Completion(
                content=content,
                reasoning=reasoning if isinstance(reasoning, str) else None,
                finish_reason=finish,
                prompt_tokens=prompt_each[index],
                completion_tokens=completion_each[index],
                latency=latency,
            )
    return out


def _share(total: Any, n: int) -> list[int | None]:
    if not isinstance(total, int) or n <= 0:
        return [None] * n
    base, rest = divmod(total, n)
    return [base + (1 if i < rest else 0) for i in range(n)]
