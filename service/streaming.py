"""Reading a streamed (SSE) ``chat.completion.chunk`` answer into one :class:`Completion`.

With ``stream: true`` the server sends ``data: {chunk}`` lines and ends with
``data: [DONE]``; the last chunk carries ``usage`` when ``stream_options.include_usage``
was asked for.  The time to the first token (content or reasoning) is what streaming is
for here: it separates queueing and prefill from generation in the latency figures.
As with whole answers, reasoning deltas (``reasoning`` or ``reasoning_content``) are
kept apart from the ``content`` the verdict is read from.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from .client_types import Completion
from .errors import BadResponse


class StreamAccumulator:
    __slots__ = ("_content", "_done", "_finish", "_reasoning", "_started", "_ttft", "_usage")

    def __init__(self, started: float) -> None:
        self._started = started
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._finish: str | None = None
        self._usage: dict[str, Any] = {}
        self._ttft: float | None = None
        self._done = False

    def feed(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"data:"):
            return  # blank separators, comments, `event:` lines
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self._done = True
            return
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise BadResponse(f"stream chunk is not JSON: {payload[:120]!r}") from exc
        if not isinstance(chunk, dict):
            raise BadResponse("stream chunk is not an object")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            thought = delta.get("reasoning")
            if thought is None:
                thought = delta.get("reasoning_content")
            if (text or thought) and self._ttft is None:
                self._ttft = time.perf_counter() - self._started
            if isinstance(text, str):
                self._content.append(text)
            if isinstance(thought, str):
                self._reasoning.append(thought)
            if choice.get("finish_reason") is not None:
                self._finish = choice["finish_reason"]

    def completion(self) -> Completion:
        if not self._done and self._finish is None:
            raise BadResponse("the stream ended without a finish_reason or [DONE]")
        prompt, completion = self._usage.get("prompt_tokens"), self._usage.get("completion_tokens")
        return Completion(
            content="".join(self._content) if self._content else None,
            reasoning="".join(self._reasoning) if self._reasoning else None,
            finish_reason=self._finish,
            prompt_tokens=prompt if isinstance(prompt, int) else None,
            completion_tokens=completion if isinstance(completion, int) else None,
            latency=time.perf_counter() - self._started,
            ttft=self._ttft,
        )
