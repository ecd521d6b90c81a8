"""One small exception hierarchy for the whole engine.

Callers catch by branch: everything under :class:`InputError` is the user's input
(exit code 2, nothing was sent or stored); :class:`RequestError` is one failed HTTP
exchange, which the dispatcher turns into a retry or an error *record*, never a lost
sample; :class:`RunError` aborts a run that is already under way (exit code 1).

    PolicybenchError
    ├── InputError                 bad input, found before any request (exit 2)
    │   ├── DatasetError           file:line: field: problem
    │   ├── PolicyError            a policy set that cannot be used
    │   ├── ConfigError            a bad option or config value
    │   ├── ResumeMismatch         --resume on other samples or policy texts
    │   └── PreflightError         the server cannot serve this run (wrong model, key, URL)
    ├── RequestError               one failed request (status, headers, retryable)
    │   ├── HTTPStatusError        the server answered with a non-2xx status
    │   ├── TransportError         connection refused / reset / dropped mid-body
    │   ├── RequestTimeout         no complete answer within the per-attempt timeout
    │   └── BadResponse            2xx with a body that is not a usable completion
    ├── RunError                   a run that cannot go on (exit 1)
    │   ├── ErrorBudgetExceeded    too many failed samples
    │   └── ServerUnreachable      preflight: nothing answers at a base URL
    └── StoreError                 the run store cannot be used
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path


class PolicybenchError(Exception):
    """Base of every error policybench raises on purpose."""


class InputError(PolicybenchError):
    """The user's input is wrong; raised before any request is sent."""


class DatasetError(InputError):
    """A dataset that cannot be read, located as ``file:line: field: problem``."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"{field}: {problem}" if field else problem
        super().__init__(f"{where}: {what}")


class PolicyError(InputError):
    """A policy set that is missing, malformed or inconsistent."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(InputError):
    """A configuration value that fails validation; ``field`` names the option."""

    def __init__(self, field: str, problem: str, source: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{field}: {problem}")


class ResumeMismatch(InputError):
    """A resumed run's dataset or policy texts are not the ones it started with."""


class PreflightError(InputError):
    """Before the run is recorded: the server answers, but cannot serve this run as asked."""


class ErrorKind(StrEnum):
    """What went wrong with one request; an HTTP failure's status code is data beside it."""

    HTTP = "http"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    BAD_RESPONSE = "bad_response"
    #: an offline batch output file has no usable answer for the request
    BATCH_ERROR = "batch_error"
    #: a published-outputs file has no output for the sample (service/outputs.py)
    NO_OUTPUT = "no_output"
    ERROR = "error"


def error_label(kind: ErrorKind, status: int | None) -> str:
    """The stored form of an error kind (``http_503``, ``rate_limited``, ``timeout``...)."""
    return f"http_{status}" if kind is ErrorKind.HTTP and status is not None else kind.value


def parse_error_label(label: str) -> tuple[ErrorKind, int | None]:
    """:func:`error_label` read back, for records stored before the status was kept beside it."""
    if label == ErrorKind.RATE_LIMITED:
        return ErrorKind.RATE_LIMITED, 429
    if label.startswith("http_") and label[5:].isdigit():
        return ErrorKind.HTTP, int(label[5:])
    try:
        return ErrorKind(label), None
    except ValueError:
        return ErrorKind.ERROR, None


class RequestError(PolicybenchError):
    """One failed request attempt.  ``retryable`` and ``retry_after`` drive the retry policy.

    ``url`` is the URL the attempt went to, where the client knows it; ``refused`` is set
    when nothing listens there (connection refused), which retrying rarely fixes.
    """

    retryable: bool = False
    url: str | None = None
    refused: bool = False
    kind: ErrorKind = ErrorKind.ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.retry_after = retry_after
        super().__init__(message)


class HTTPStatusError(RequestError):
    """A non-2xx answer.  429 and 408/5xx are retryable, other 4xx are not."""

    def __init__(
        self,
        status: int,
        body: str,
        *,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.body = body[:500]
        super().__init__(
            f"HTTP {status}: {self.body}", status=status, headers=headers, retry_after=retry_after
        )
        self.retryable = status == 429 or status == 408 or status >= 500
        self.kind = ErrorKind.RATE_LIMITED if status == 429 else ErrorKind.HTTP

    @property
    def server_text(self) -> str:
        """The server's own words: ``error.message`` (OpenAI, vLLM), ``detail`` (FastAPI),
        ``message``, else the body itself, on one line."""
        return server_text(self.body)


def server_text(body: str, limit: int = 200) -> str:
    """One line of what a server said in an error body, for messages that quote it."""
    text = body
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        error = obj.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(obj.get("detail"), str):
            text = obj["detail"]
        elif isinstance(obj.get("message"), str):
            text = obj["message"]
    text = re.sub(r"<[^>]*>", " ", text) if text.lstrip().startswith("<") else text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TransportError(RequestError):
    """The connection failed or was dropped before a complete answer arrived."""

    retryable = True
    kind = ErrorKind.CONNECTION


class RequestTimeout(RequestError):
    """The attempt did not complete within its timeout."""

    retryable = True
    kind = ErrorKind.TIMEOUT


class BadResponse(RequestError):
    """A 2xx answer whose body is not a usable completion (bad JSON, no choices)."""

    retryable = True
    kind = ErrorKind.BAD_RESPONSE


class RunError(PolicybenchError):
    """A run that cannot continue."""


class ErrorBudgetExceeded(RunError):
    """More samples failed than the run's error budget allows."""


class ServerUnreachable(RunError):
    """Preflight: no server answers at a base URL (refused, unknown host, timed out)."""


class StoreError(PolicybenchError):
    """The run store is unusable (wrong schema version, unknown run, locked)."""
