"""Offline batch files: a run's requests as an OpenAI Batch / ``vllm run-batch`` input file,
and the output file scored back into a stored run.

``export_batch`` writes one line per request: ``{"custom_id", "method": "POST", "url":
"/v1/chat/completions", "body"}``, with ``custom_id = "<seq>:<part>:<sample id>"``.
``OfflineAnswers`` reads the output file (``{"custom_id", "response": {"status_code",
"body"}, "error"}``, in any order) and answers the runner's requests from it, so an
imported run goes through the very same parsing, scoring and store as a live one: a
missing line or an error line becomes an error record, never a lost sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .atomic import atomic_path
from .client import Completion, decode_completion, request_fields
from .client_types import NativeRequest, UserInput, turn_messages
from .datasets import iter_samples
from .errors import ConfigError, DatasetError, ErrorKind, HTTPStatusError, RequestError
from .prompts import conversation
from .redaction import redact
from .runner import Prepared

BATCH_URL = "/v1/chat/completions"


def _requests(prepared: Prepared) -> Iterator[tuple[str, dict[str, Any]]]:
    cfg = prepared.config
    base = request_fields(cfg.model, cfg.max_tokens, cfg.temperature, cfg.reasoning_effort)
    specs = prepared.strategy.plan()
    if any(spec.native is not None for spec in specs):
        raise ConfigError(
            "prompt-format", "native prompt formats are not exported to offline batch files"
        )
    categories = frozenset(prepared.policies.categories)
    for seq, sample in enumerate(iter_samples(prepared.dataset_path, categories)):
        if cfg.limit is not None and seq >= cfg.limit:
            break
        user = conversation(sample, cfg.task)
        for index, spec in enumerate(specs):
            body = dict(base)
            if spec.model is not None:
                body["model"] = spec.model
            if spec.reasoning_effort is not None:
                body["reasoning_effort"] = spec.reasoning_effort
            body["messages"] = [{"role": "system", "content": spec.system}, *turn_messages(user)]
            yield f"{seq}:{index}:{sample.id}", body


def export_batch(prepared: Prepared, out: Path) -> int:
    """Write the batch input file atomically; returns the number of requests."""
    n = 0
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        for custom_id, body in _requests(prepared):
            f.write(
                orjson.dumps(
                    {"custom_id": custom_id, "method": "POST", "url": BATCH_URL, "body": body}
                )
            )
            f.write(b"\n")
            n += 1
    return n


class OfflineAnswers:
    """A chat client whose answers come from a batch output file."""

    def __init__(self, prepared: Prepared, output: Path) -> None:
        answers: dict[str, tuple[int | None, bytes | None, str | None]] = {}
        try:
            fh = output.open("rb")
        except OSError as exc:
            raise DatasetError(output, None, None, exc.strerror or str(exc)) from exc
        with fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                    custom_id = obj["custom_id"]
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    raise DatasetError(
                        output, lineno, "custom_id", f"not a batch output line: {exc}"
                    ) from exc
                response = obj.get("response") or {}
                status = response.get("status_code")
                body = response.get("body")
                error = obj.get("error")
                answers[custom_id] = (
                    status,
                    orjson.dumps(body) if body is not None else None,
                    None
                    if error is None
                    else str(error.get("message", error) if isinstance(error, dict) else error),
                )
        # the runner asks by (system, user, model, effort): map requests to their answers
        self._by_request: dict[
            tuple[str, UserInput, str | None, str | None],
            tuple[int | None, bytes | None, str | None],
        ] = {}
        self.missing = 0
        for custom_id, body in _requests(prepared):
            key = (
                body["messages"][0]["content"],
                _user_of(body["messages"][1:]),
                body.get("model"),
                body.get("reasoning_effort"),
            )
            answer = answers.get(custom_id)
            if answer is None:
                self.missing += 1
                answer = (None, None, f"no line for {custom_id} in {output}")
            self._by_request[key] = answer
        self._model = prepared.config.model
        self._effort = prepared.config.reasoning_effort

    #: The summary's route: answers read from a batch output file.
    route = "offline-batch"

    async def __aenter__(self) -> OfflineAnswers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def chat(
        self,
        system: str,
        user: UserInput,
        model: str | None = None,
        reasoning_effort: str | None = None,
    ) -> Completion:
        key = (system, user, model or self._model, reasoning_effort or self._effort)
        status, body, error = self._by_request.get(key, (None, None, "request not in the batch"))
        if error is not None or body is None:
            raise _Missing(error or "no body", status)
        if status is not None and not 200 <= status < 300:
            raise HTTPStatusError(status, redact(body.decode("utf-8", "replace")))
        return decode_completion(body, 0.0)

    async def send(self, request: NativeRequest) -> Completion:
        raise _Missing("native prompt formats are not exported to offline batch files", None)


def _user_of(messages: list[dict[str, Any]]) -> UserInput:
    """The runner's view of a request's turns: one user message as a string, else turns."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return str(messages[0]["content"])
    return tuple((str(m["role"]), str(m["content"])) for m in messages)


class _Missing(RequestError):
    retryable = False
    kind = ErrorKind.BATCH_ERROR

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message, status=status)
