"""Preflight: before a run is recorded, ask each server once whether it can serve the run.

A mistyped model, a server that is not there, a wrong API key or a URL that is not an
OpenAI-compatible API would otherwise be found only by every request failing, after the
run row is written.  ``GET {base}/models`` answers all four questions at once:

* nothing listens, the host is unknown, or no answer in time: :class:`ServerUnreachable`;
* 401 / 403: the key is wrong or missing: :class:`PreflightError`;
* a 2xx body that is not JSON (an HTML page, a proxy's login form): not an API,
  :class:`PreflightError`;
* a model list without one of the run's models (each ensemble member's too):
  :class:`PreflightError` naming what the server does serve;
* 404 / 405 or another status: the server does not list its models (some proxies and
  gateways do not); the run goes ahead with a note, since the requests themselves will say.

Every base URL of the run is checked, concurrently.  A wrong model, key or URL at any of
them fails the preflight; a server that does not answer fails it only when none answers
(the endpoint pool fails over from the others, and the note says so).  Nothing here
writes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiohttp
import orjson

from .errors import PolicybenchError, PreflightError, ServerUnreachable, server_text

#: How long one preflight request may take: a server that cannot list its models in this
#: time would not serve a run either.
PREFLIGHT_TIMEOUT = 10.0
_SHOWN = 10  # served model names quoted in a message


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """What one base URL said.  ``models`` is ``None`` where it does not list them."""

    url: str
    models: tuple[str, ...] | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PreflightReport:
    servers: tuple[ServerCheck, ...]

    @property
    def notes(self) -> list[str]:
        return [s.note for s in self.servers if s.note]


def served(name: str, models: Iterable[str]) -> bool:
    """Whether a server listing ``models`` serves ``name`` (Ollama's ``:latest`` tag is implied)."""
    listed = set(models)
    return name in listed or (":" not in name and f"{name}:latest" in listed)


async def preflight(
    urls: Sequence[str],
    models: Sequence[str],
    *,
    api_key: str | None = None,
    seconds: float = PREFLIGHT_TIMEOUT,
) -> PreflightReport:
    """Check every URL in ``urls`` serves every model in ``models``; raise on the first
    (in URL order) that cannot, else return what each said."""
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    client_timeout = aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 5.0))
    async with aiohttp.ClientSession(headers=headers, timeout=client_timeout) as session:
        results = await asyncio.gather(
            *(_check(session, url, models, api_key is not None, seconds) for url in urls),
            return_exceptions=True,
        )
    checks: list[ServerCheck] = []
    down: list[ServerUnreachable] = []
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, ServerUnreachable):
            down.append(result)
            checks.append(ServerCheck(url, None, f"{result}; the other servers take its requests"))
        elif isinstance(result, BaseException):
            if isinstance(result, (PolicybenchError, asyncio.CancelledError)):
                raise result
            raise ServerUnreachable(f"{url}: {type(result).__name__}: {result}") from result
        else:
            checks.append(result)
    if len(down) == len(urls):  # some servers down is what failover is for; all is not
        raise down[0]
    return PreflightReport(tuple(checks))


async def _check(
    session: aiohttp.ClientSession,
    url: str,
    models: Sequence[str],
    keyed: bool,
    seconds: float,
) -> ServerCheck:
    target = url.rstrip("/") + "/models"
    try:
        async with session.get(target) as resp:
            raw = await resp.read()
            status = resp.status
            content_type = resp.content_type
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, ConnectionRefusedError):
            raise ServerUnreachable(f"no server at {url}: connection refused") from exc
        raise ServerUnreachable(f"cannot reach {url}: {exc.os_error or exc}") from exc
    except TimeoutError as exc:
        raise ServerUnreachable(f"{url} did not answer GET /models within {seconds:g}s") from exc
    except aiohttp.ClientError as exc:
        raise ServerUnreachable(f"cannot reach {url}: {type(exc).__name__}: {exc}") from exc
    text = raw.decode("utf-8", "replace")
    if status in (401, 403):
        said = f"HTTP {status}: {server_text(text)}"
        if keyed:
            raise PreflightError(f"{url} refused the API key ({said})")
        raise PreflightError(f"{url} asks for an API key and none was sent ({said})")
    if not 200 <= status < 300:
        return ServerCheck(
            url,
            None,
            f"{url} does not list its models (GET /models: HTTP {status}); "
            "the model name is not checked",
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise PreflightError(
            f"{url} is not an OpenAI-compatible API: GET /models answered "
            f"{content_type or 'no content type'} ({server_text(text, 80)!r}), not JSON"
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return ServerCheck(
            url, None, f"{url}: GET /models has no model list; the model name is not checked"
        )
    ids = tuple(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
    missing = [m for m in dict.fromkeys(models) if not served(m, ids)]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        what = f"model {names} is" if len(missing) == 1 else f"models {names} are"
        offer = ", ".join(ids[:_SHOWN]) + (
            f" (and {len(ids) - _SHOWN} more)" if len(ids) > _SHOWN else ""
        )
        raise PreflightError(f"{what} not served by {url}; it serves: {offer or 'no models'}")
    return ServerCheck(url, ids)
