"""The service's secure defaults: token auth, body limits, path confinement, no leaked keys.

* Every endpoint except ``/healthz`` requires ``Authorization: Bearer <token>`` when the
  service requires a token (off loopback, or whenever one is configured); the comparison
  is constant-time and a failure is a 401 with ``WWW-Authenticate: Bearer``.
* The web viewer under ``/ui/`` (``service/viewer``) is for browsers, which cannot send a
  bearer header: there the token may also come as the ``policybench_token`` cookie that
  ``/ui/login`` sets (HttpOnly, SameSite=Strict, path ``/ui``), and a request without it
  is sent to the login form.  The cookie is never accepted by the JSON API.
* Request bodies above ``max_body_bytes`` are refused with 413 before they are read.
* Dataset and policy paths in a submission are resolved (symlinks followed) and must lie
  under a configured root; ``..`` or a symlink that leads out is a 400 naming the field.
* The upstream API key is passed to the runner as a secret; it is not part of any config,
  and :func:`policybench.service.redaction.redact` scrubs it (and the token) from any text
  the service sends or stores.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..errors import ConfigError
from ..policies import PolicySpec, parse_policy_spec
from ..resources import shipped
from .settings import ServiceConfig

log = logging.getLogger("policybench.service")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The only query parameters the API takes; any other is a 400 (nothing is ignored).
QUERY_PARAMS = {"/v1/runs": frozenset({"status"})}

#: Reachable without a token: liveness only (it says nothing about jobs), and the
#: viewer's login form.
PUBLIC_PATHS = frozenset({"/healthz", "/ui/login"})

#: The web viewer's paths: cookie auth as well as bearer, and its own query validation.
UI_PREFIX = "/ui/"
UI_COOKIE = "policybench_token"


def error_response(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, object] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


def auth_middleware(
    config: ServiceConfig,
) -> Middleware:
    expected = f"Bearer {config.token}".encode() if config.token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if config.requires_token and request.path not in PUBLIC_PATHS:
            given = request.headers.get("Authorization", "").encode()
            ok = expected is not None and hmac.compare_digest(given, expected)
            ui = request.path.startswith(UI_PREFIX)
            if not ok and ui and config.token:
                cookie = request.cookies.get(UI_COOKIE, "").encode()
                ok = hmac.compare_digest(cookie, config.token.encode())
            if not ok and ui and request.method == "GET":
                raise web.HTTPSeeOther(f"/ui/login?{urlencode({'next': request.path_qs})}")
            if not ok:
                resp = error_response(401, "missing or wrong bearer token")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="policybench"'
                return resp
        return await handler(request)

    return middleware


def errors_middleware(
    limit: int,
) -> Middleware:
    """413 on a declared ``Content-Length`` above ``limit`` (aiohttp's ``client_max_size``,
    set to the same limit, catches chunked bodies while they are read); every HTTP error
    is answered as JSON ``{"error": ...}``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = QUERY_PARAMS.get(request.path, frozenset())
        unknown = (
            []
            if request.path.startswith(UI_PREFIX)
            else [k for k in request.query if k not in allowed]
        )
        if unknown:
            return error_response(400, f"unknown query parameter {unknown[0]!r}", unknown[0])
        length = request.content_length
        if length is not None and length > limit:
            return error_response(413, f"request body of {length} bytes exceeds {limit} bytes")
        try:
            return await handler(request)
        except asyncio.CancelledError:
            raise
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, f"request body exceeds {limit} bytes")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            resp = error_response(exc.status, exc.reason)
            if exc.status == 405 and "Allow" in exc.headers:
                resp.headers["Allow"] = exc.headers["Allow"]
            return resp
        except Exception:  # a bug: the client gets JSON, the operator's log the details
            log.exception("internal error on %s %s", request.method, request.path)
            return error_response(500, "internal error (details in the service log)")

    return middleware


#: Longer than any file name a file system takes (255 bytes on Linux, with ``.jsonl``).
_MAX_NAME = 240


def _confined(value: str, roots: tuple[Path, ...], field: str) -> Path:
    """``value`` resolved (relative to the first root) and checked to lie under a root."""
    if "\x00" in value:
        raise ConfigError(field, "contains a NUL byte")
    raw = Path(value)
    if not roots:
        raise ConfigError(field, "paths are not accepted by this service (no root configured)")
    candidate = raw if raw.is_absolute() else roots[0] / raw
    if ".." in raw.parts:
        raise ConfigError(field, "'..' is not allowed in paths")
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise ConfigError(field, "not a usable path") from exc
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    raise ConfigError(field, f"{value}: outside the allowed roots")


def confine_dataset(value: str, roots: tuple[Path, ...]) -> str:
    """A shipped dataset name stays as it is; anything else must be a path under a root."""
    if value and "/" not in value and "\\" not in value and value not in (".", ".."):
        datasets = shipped("datasets")
        if len(value) <= _MAX_NAME and (
            (datasets / f"{value}.jsonl").is_file() or (datasets / value).is_file()
        ):
            return value
        if not roots:
            raise ConfigError("dataset", f"{value!r} is not a shipped dataset")
    return str(_confined(value, roots, "dataset"))


def confine_policies(value: str, roots: tuple[Path, ...]) -> str:
    """``minimal|medium|verbose`` stay; ``DIR`` or ``DIR@verbosity`` must lie under a root.

    Parsed by the loader's own :func:`parse_policy_spec`, so the folder checked here is the
    folder the loader reads, and the verbosity can only be one of the three names.
    """
    spec = parse_policy_spec(value)
    if spec.folder is None:
        return value
    resolved = _confined(str(spec.folder), roots, "policies")
    return str(PolicySpec(resolved, spec.verbosity))


def confine_file(value: str, roots: tuple[Path, ...], field: str) -> str:
    """A file a submitter names (e.g. a chat template): resolved under a root, or a 400."""
    return str(_confined(value, roots, field))
