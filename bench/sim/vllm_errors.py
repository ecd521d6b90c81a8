"""The simulator's errors, answered as vLLM 0.32 answers them (checked against the real server).

* A request's error body is ``{"error": {"message", "type", "param", "code"}}``.
* An unknown model is a 404 ``NotFoundError`` naming the served names (``param: model``),
  where the simulator serves fixed names (``SimConfig.served_models``; ``bench sim`` does).
* ``max_tokens`` below 1 or above ``max_model_len``, and a prompt longer than
  ``max_model_len``, are 400 ``BadRequestError`` with vLLM's wording.  A prompt that fits
  but leaves less room than ``max_tokens`` is served: vLLM 0.32 no longer refuses it.
* An unknown route is FastAPI's ``{"detail": "Not Found"}`` (404), a wrong method its
  ``{"detail": "Method Not Allowed"}`` (405).

docs/real-vllm.md lists what was compared; tests/test_sim_parity.py sends the same requests
to both servers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from .config import SimConfig

_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "RateLimitError",
    503: "ServiceUnavailableError",
}


def error(
    status: int, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    kind = _TYPES.get(status, "InternalServerError")
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def unknown_model(cfg: SimConfig, body: dict[str, Any]) -> web.Response | None:
    """404 for a model the simulator does not serve (it serves any name if none are fixed)."""
    model = body.get("model")
    if not cfg.served_models or model is None or model in cfg.served_models:
        return None
    aliases = ", ".join(cfg.served_models)
    return error(
        404, f"The model `{model}` does not exist. Valid aliases: {aliases}.", param="model"
    )


def over_limits(cfg: SimConfig, body: dict[str, Any]) -> web.Response | None:
    """400 for a ``max_tokens`` vLLM refuses before it reads the prompt."""
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return None
    if max_tokens < 1:
        return error(
            400,
            f"max_tokens must be at least 1, got {max_tokens}. "
            f"(parameter=max_tokens, value={max_tokens})",
            param="max_tokens",
        )
    limit = cfg.max_model_len
    if max_tokens > limit:
        return error(
            400,
            f"max_tokens={max_tokens} cannot be greater than max_model_len={limit}. "
            f"Please request fewer output tokens. (parameter=max_tokens, value={max_tokens})",
            param="max_tokens",
        )
    return None


def prompt_too_long(cfg: SimConfig, prompt_tokens: int) -> web.Response | None:
    limit = cfg.max_model_len
    if prompt_tokens <= limit:
        return None
    seen = limit + 1  # vLLM stops counting one token past the limit
    return error(
        400,
        f"This model's maximum context length is {limit} tokens. However, your prompt "
        f"contains at least {seen} input tokens, which exceeds this limit even without any "
        f"output tokens. Please reduce the length of the input prompt. "
        f"(parameter=input_tokens, value={seen})",
        param="input_tokens",
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def fastapi_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown routes and methods answered as vLLM's FastAPI app answers them."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return web.json_response({"detail": "Not Found"}, status=404)
    except web.HTTPMethodNotAllowed:
        return web.json_response({"detail": "Method Not Allowed"}, status=405)
