"""The OpenAI-compatible HTTP client: one aiohttp session, orjson bodies, one attempt per call.

Retries live in the dispatcher (:mod:`policybench.service.retry`); this module turns one
HTTP exchange into a :class:`Completion` or raises a :class:`RequestError` carrying the
status and headers.  The verdict is later read from ``content`` only; the reasoning
(``reasoning_content`` in vLLM <= 0.11.0, ``reasoning`` in newer vLLM and Ollama) is kept
apart so that no parser can read it by mistake.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from .client_types import Completion, NativeRequest, TokenLogprobs, UserInput, encoded_turns
from .errors import BadResponse, HTTPStatusError, RequestTimeout, TransportError
from .redaction import redact
from .retry import parse_retry_after
from .streaming import StreamAccumulator

__all__ = ["ChatClient", "ClientSettings", "Completion", "decode_completion", "request_fields"]


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How to reach one server.  ``api_key`` never leaves this object (it is not in ``repr``)."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_connections: int = 32
    max_tokens: int | None = 2048
    temperature: float | None = 0.0
    reasoning_effort: str | None = None
    #: Read proxies from the environment (costs two thread-pool hops per request in aiohttp).
    trust_env: bool = False
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    #: Stream answers (SSE) to measure the time to the first token.
    stream: bool = False
    #: Ask for logprobs with this many alternatives per token (scores); ``None``: don't.
    top_logprobs: int | None = None


class ChatClient:
    """``POST {base}/chat/completions`` with one conversation per call."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._session: aiohttp.ClientSession | None = None
        base = request_fields(
            settings.model, settings.max_tokens, settings.temperature, settings.reasoning_effort
        )
        base.update(settings.extra_body)
        self._plain_body = dict(base)  # without logprobs, whose shape differs per route
        if settings.top_logprobs is not None:
            base["logprobs"] = True
            base["top_logprobs"] = settings.top_logprobs
        self._base_body = dict(base)
        if settings.stream:
            base["stream"] = True
            base["stream_options"] = {"include_usage": True}
        # The body is assembled from pre-encoded bytes: the constant fields and each
        # (shared, often multi-kilobyte) system prompt are JSON-encoded once, not per request.
        self._head = orjson.dumps(base)[:-1] + b',"messages":[{"role":"system","content":'
        self._systems: dict[str, bytes] = {}
        self._heads: dict[tuple[str | None, str | None], bytes] = {}
        self._timeout = aiohttp.ClientTimeout(
            total=settings.timeout, sock_connect=settings.connect_timeout
        )

    async def __aenter__(self) -> ChatClient:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections,
            limit_per_host=self.settings.max_connections,
            keepalive_timeout=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            timeout=self._timeout,
            trust_env=self.settings.trust_env,
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _head_for(self, model: str | None, reasoning_effort: str | None) -> bytes:
        """The pre-encoded head with the model and/or reasoning effort overridden."""
        head = self._heads.get((model, reasoning_effort))
        if head is None:
            body = dict(self._base_body)
            if model is not None:
                body["model"] = model
            if reasoning_effort is not None:
                body["reasoning_effort"] = reasoning_effort
            head = orjson.dumps(body)[:-1] + b',"messages":[{"role":"system","content":'
            self._heads[(model, reasoning_effort)] = head
        return head

    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion:
        """One attempt.  Raises a :class:`RequestError` subclass on any failure.

        ``model`` and ``reasoning_effort`` override the settings' for this request
        (``ensemble`` members on other models or reasoning settings).  ``user`` is one user
        message or a conversation, sent as real role turns.
        """
        assert self._session is not None, "use `async with ChatClient(...)`"
        head = (
            self._head
            if model is None and reasoning_effort is None
            else self._head_for(model, reasoning_effort)
        )
        encoded = self._systems.get(system)
        if encoded is None:
            encoded = self._systems[system] = orjson.dumps(system)
        if isinstance(user, str):
            turns = b'},{"role":"user","content":' + orjson.dumps(user) + b"}]}"
        else:
            turns = b"}," + encoded_turns(user) + b"]}"
        data = b"".join((head, encoded, turns))
        if self.settings.stream:
            return await self._stream(data)
        raw, latency = await self.post(self._url, data)
        return decode_completion(raw, latency)

    async def send(self, request: NativeRequest) -> Completion:
        """One attempt of a request in a guard model's own format (``/chat/completions``
        with its messages and template arguments, or ``/completions`` with its prompt)."""
        top = self.settings.top_logprobs
        if request.route == "chat":
            body = {**self._base_body, **request.fields}
            raw, latency = await self.post(self._url, orjson.dumps(body))
            return decode_completion(raw, latency)
        body = dict(self._plain_body)
        if top is not None:
            body["logprobs"] = top
        body.update(request.fields)
        raw, latency = await self.post(self.base_url + "/completions", orjson.dumps(body))
        return decode_text_completion(raw, latency)

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    @property
    def base_body(self) -> dict[str, Any]:
        """The constant request fields (model, max_tokens, ...), for other request shapes."""
        return dict(self._base_body)

    async def post(self, url: str, data: bytes) -> tuple[bytes, float]:
        """POST ``data`` (JSON bytes) to ``url``: the 2xx body and the latency, or a
        :class:`RequestError` (status, headers, Retry-After) for anything else."""
        assert self._session is not None, "use `async with ChatClient(...)`"
        started = time.perf_counter()
        with self._mapped_errors():
            async with self._session.post(url, data=data) as resp:
                raw = await resp.read()
                if resp.status >= 400 or resp.status < 200:
                    raise _status_error(resp, raw, self.settings.api_key)
        return raw, time.perf_counter() - started

    async def _stream(self, data: bytes) -> Completion:
        assert self._session is not None, "use `async with ChatClient(...)`"
        started = time.perf_counter()
        with self._mapped_errors():
            async with self._session.post(self._url, data=data) as resp:
                if resp.status >= 400 or resp.status < 200:
                    raise _status_error(resp, await resp.read(), self.settings.api_key)
                answer = StreamAccumulator(started)
                async for line in resp.content:
                    answer.feed(line)
                return answer.completion()

    @contextlib.contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        """aiohttp's and asyncio's exceptions as policybench's :class:`RequestError` tree."""
        try:
            yield
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise RequestTimeout(f"no answer within {self.settings.timeout:g}s") from exc
        except aiohttp.ClientPayloadError as exc:
            raise TransportError(f"connection dropped mid-response: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            raise TransportError(f"bad HTTP response: {exc.message}", status=exc.status) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc


def _status_error(resp: aiohttp.ClientResponse, raw: bytes, api_key: str | None) -> HTTPStatusError:
    """The error for a non-2xx answer, its body scrubbed of the key (servers echo it)."""
    return HTTPStatusError(
        resp.status,
        redact(raw.decode("utf-8", "replace"), api_key),
        headers=resp.headers,
        retry_after=parse_retry_after(resp.headers.get("Retry-After")),
    )


def request_fields(
    model: str, max_tokens: int | None, temperature: float | None, reasoning_effort: str | None
) -> dict[str, Any]:
    """The constant fields of a chat request (unset ones are left out, for the server's
    defaults); shared with the offline batch exporter so both send the same request."""
    fields: dict[str, Any] = {"model": model}
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if temperature is not None:
        fields["temperature"] = temperature
    if reasoning_effort is not None:
        fields["reasoning_effort"] = reasoning_effort
    return fields


def decode_completion(raw: bytes, latency: float) -> Completion:
    """Read a ``chat.completion`` body; :class:`BadResponse` if it is not one."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadResponse(f"body is not JSON: {raw[:120]!r}") from exc
    try:
        choice = obj["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BadResponse(f"no choices[0].message in the body: {raw[:120]!r}") from exc
    if not isinstance(message, dict):
        raise BadResponse("choices[0].message is not an object")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise BadResponse("choices[0].message.content is not a string")
    reasoning = message.get("reasoning")
    if reasoning is None:
        reasoning = message.get("reasoning_content")
    usage = obj.get("usage") or {}
    return Completion(
        content=content,
        reasoning=reasoning if isinstance(reasoning, str) else None,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        latency=latency,
        logprobs=chat_logprobs(choice.get("logprobs")),
    )


def decode_text_completion(raw: bytes, latency: float) -> Completion:
    """Read a ``text_completion`` body (one prompt); :class:`BadResponse` if it is not one."""
    try:
        obj = orjson.loads(raw)
        choice = obj["choices"][0]
        text = choice["text"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise BadResponse(f"no choices[0].text in the body: {raw[:120]!r}") from exc
    if text is not None and not isinstance(text, str):
        raise BadResponse("choices[0].text is not a string")
    usage = obj.get("usage") or {}
    return Completion(
        content=text,
        reasoning=None,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        latency=latency,
        logprobs=completion_logprobs(choice.get("logprobs")),
    )


def _float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def chat_logprobs(obj: Any) -> tuple[TokenLogprobs, ...] | None:
    """``choices[0].logprobs`` of a chat completion: ``{"content": [{"token", "logprob",
    "top_logprobs": [{"token", "logprob"}]}]}``; ``None`` when absent or malformed."""
    if not isinstance(obj, dict) or not isinstance(obj.get("content"), list):
        return None
    out = []
    for item in obj["content"]:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        top = tuple(
            (t["token"], lp)
            for t in item.get("top_logprobs") or ()
            if isinstance(t, dict)
            and isinstance(t.get("token"), str)
            and (lp := _float(t.get("logprob"))) is not None
        )
        out.append(TokenLogprobs(item["token"], _float(item.get("logprob")) or 0.0, top))
    return tuple(out)


def completion_logprobs(obj: Any) -> tuple[TokenLogprobs, ...] | None:
    """``choices[i].logprobs`` of a text completion: ``{"tokens": [...], "token_logprobs":
    [...], "top_logprobs": [{token: logprob}, ...]}``; ``None`` when absent or malformed."""
    if not isinstance(obj, dict) or not isinstance(obj.get("tokens"), list):
        return None
    tokens = obj["tokens"]
    lps = obj.get("token_logprobs") or [None] * len(tokens)
    tops = obj.get("top_logprobs") or [None] * len(tokens)
    out = []
    for token, lp, top in zip(tokens, lps, tops, strict=False):
        if not isinstance(token, str):
            return None
        pairs = tuple(
            (t, v)
            for t, raw in (top.items() if isinstance(top, dict) else ())
            if isinstance(t, str) and (v := _float(raw)) is not None
        )
        out.append(TokenLogprobs(token, _float(lp) or 0.0, pairs))
    return tuple(out)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
