"""The run configuration: validated once at the edge into a frozen object, then passed down.

Front ends (the CLI, the HTTP service, a matrix file) build a :class:`RunConfig` through
:func:`build_run_config`, which turns pydantic's errors into a :class:`ConfigError` that
names the field.  Nothing inside the engine reads the environment or argv.  The API key
is not part of the config (configs are stored); it travels separately as a secret.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from yarl import URL

from .binary import FailureRule
from .errors import ConfigError
from .option_meta import Option
from .tasks import Task

#: A run with more than this share of failed samples (after retries) ends ``failed``: its
#: accuracy counts each failure as wrong, so at 5% it may be off by five points.
DEFAULT_ERROR_BUDGET = 0.05
#: Where a run's answers come from: a server, the built-in simulator, an offline batch
#: output file, or a file of published outputs (`bench score-outputs`).
Backend = Literal["server", "simulated", "offline-batch", "scored-outputs"]


class SimSettings(BaseModel):
    """The simulated server's settings, stored with a simulated run.

    ``None`` leaves a setting at the simulator's own default (bench/sim/config.py), so a
    stored run says only what was chosen.  The engine never reads them: the front end
    that starts the simulator does.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_rate: float | None = Field(None, ge=0.0, le=1.0)
    seed: int | None = None
    profile: str | None = None
    time_scale: float | None = Field(None, ge=0.0)
    max_num_seqs: int | None = Field(None, ge=1)
    max_num_batched_tokens: int | None = Field(None, ge=1)
    kv_cache_tokens: int | None = Field(None, ge=1)
    prefix_caching: bool | None = None
    style: str | None = None
    refusal_rate: float | None = Field(None, ge=0.0, le=1.0)
    empty_rate: float | None = Field(None, ge=0.0, le=1.0)
    truncate_rate: float | None = Field(None, ge=0.0, le=1.0)
    independent_models: bool | None = None
    reasoning_tokens: int | None = Field(None, ge=0)
    reasoning_field: str | None = None
    #: how much surer its right answers are than its wrong ones, in logits (bench/sim/logprobs.py)
    logprob_separation: float | None = Field(None, ge=0.0)
    #: ``KIND=RATE`` fault specs
    faults: tuple[str, ...] = ()
    fault_retry_after: float | None = Field(None, ge=0.0)
    fault_slow_seconds: float | None = Field(None, ge=0.0)

    def chosen(self) -> dict[str, Any]:
        """The settings that were set (the simulator's defaults for the rest)."""
        return self.model_dump(exclude_none=True, exclude_defaults=True)


class RunConfig(BaseModel):
    """Everything that defines a run (and is stored with it).

    Each field is a ``bench run`` option, a service submission key and an OpenAPI
    property at once: its type, default and ``description`` (the option's help) are the
    one declaration.  To add an option, add a field here; ``Annotated[T, Option(...)]``
    (service/option_meta.py) only when it needs another flag name, a metavar, a
    comma-separated tuple, or is operational.  Then regenerate the OpenAPI document
    (``python -m policybench.service.api.schema --write``).  See docs/architecture.md.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    dataset: str = Field(
        min_length=1,
        max_length=4096,
        description="Dataset file (.jsonl or the seed's .json) or a shipped name (balanced); "
        "required unless --resume (which reuses the run's own).",
    )
    policies: str = Field(
        "minimal", description="minimal|medium|verbose, or a policy folder (DIR or DIR@verbosity)."
    )
    strategy: Literal["multi", "gauntlet", "ensemble"] = Field(
        "multi",
        description="multi: all policies in one request; gauntlet: one request per policy, "
        "concurrently; ensemble: several members vote (see --ensemble-members).",
    )
    ensemble_members: Annotated[tuple[str, ...], Option(metavar="M1,M2,...", separator=",")] = (
        Field(
            (),
            validate_default=True,
            description="Ensemble members, each STRATEGY[+cot][+low|+medium|+high][@MODEL], "
            "e.g. 'multi,gauntlet' or 'multi@llama-guard3,multi@gpt-oss:20b'.",
        )
    )
    vote: Literal["majority", "any", "all"] = Field(
        "majority", description="How ensemble members' verdicts combine, per category."
    )
    output_format: Annotated[str | None, Option(metavar="FORMAT")] = Field(
        None,
        description="Parse every answer in this format (see `bench parse --help`); "
        "default: each policy's `output:` front matter, else json.",
    )
    model: str = Field("openai/gpt-oss-safeguard-20b", description="Model name sent to the server.")
    # one repeatable --base-url fills base_url and endpoints (declared in run_command.py)
    base_url: Annotated[str, Option(cli=False, operational=True)] = Field(
        "http://localhost:8000/v1", description="OpenAI-compatible base URL."
    )
    concurrency: Annotated[
        Annotated[int, Field(ge=1, le=8192)] | Literal["auto"], Option(operational=True)
    ] = Field(
        32,
        description="Requests in flight, or 'auto' for an adaptive limit that settles near "
        "the server's knee.",
    )
    max_concurrency: Annotated[int, Option(operational=True)] = Field(
        1024, ge=1, le=8192, description="Upper bound for --concurrency auto."
    )
    endpoints: Annotated[tuple[str, ...], Option(cli=False, operational=True)] = Field(
        (), description="More base URLs, load-balanced with base_url."
    )
    stream: bool = Field(
        False, description="Stream answers (SSE) to measure the time to the first token (TTFT)."
    )
    rate: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        description="Poisson arrivals at this many samples per second (latency under a given "
        "load); --concurrency still caps requests in flight.",
    )
    batch_size: int = Field(
        1,
        ge=1,
        le=1024,
        description="Conversations per HTTP request (vLLM: /chat/completions/batch, else "
        "/completions with a prompt list).",
    )
    batch_endpoint: Literal["auto", "chat-batch", "completions"] = Field(
        "auto", description="Which batch route to use; auto tries chat-batch and falls back."
    )
    chat_template: str = Field(
        "harmony",
        description="Chat template for the completions route: harmony, generic, or a template "
        "file.",
    )
    prompt_format: Annotated[str | None, Option(metavar="FORMAT")] = Field(
        None,
        description="Native prompt format of a guard model family (policies/formats/native/, "
        "docs/formats.md), 'auto' to choose it by --model's name, or a .toml file; "
        "default: policybench's generic prompt.",
    )
    scores: Literal["none", "logprobs", "confidence"] = Field(
        "none",
        description="Read P(unsafe) per sample: from the verdict token's logprobs, or a "
        "verbalised confidence; gives AUPRC, ROC-AUC and operating-point figures.",
    )
    top_logprobs: int = Field(
        5, ge=1, le=20, description="Alternatives per token asked for with --scores logprobs."
    )
    threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Operating point: a score at or above this is unsafe "
        "(bench rescore --threshold changes it without requests).",
    )
    max_tokens: int | None = Field(
        2048, ge=1, le=1_000_000, description="max_tokens per request (reasoning models need room)."
    )
    temperature: float | None = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    reasoning_effort: Literal["low", "medium", "high"] | None = Field(
        None, description="reasoning_effort sent to the server."
    )
    chain_of_thought: bool = Field(
        False, description="Ask the model to reason step by step before answering."
    )
    timeout: Annotated[float, Option(operational=True)] = Field(
        120.0, gt=0, le=86_400, description="Seconds per request attempt."
    )
    total_timeout: Annotated[float | None, Option(operational=True)] = Field(
        None,
        gt=0,
        description="Seconds one request may take over all its attempts and retry waits "
        "(default: no limit beyond --max-attempts).",
    )
    max_attempts: Annotated[int, Option(operational=True)] = Field(
        4,
        ge=1,
        le=20,
        description="Attempts per request (retries on 429, 5xx, timeouts, dropped connections).",
    )
    grace_period: Annotated[float, Option(operational=True)] = Field(
        30.0, ge=0, le=3600, description="Seconds in-flight requests get to finish after Ctrl-C."
    )
    limit: int | None = Field(None, ge=1, le=10**12, description="Only the first N samples.")
    max_error_rate: Annotated[float | None, Option(operational=True)] = Field(
        DEFAULT_ERROR_BUDGET,
        gt=0,
        le=1,
        description="Error budget: the run fails (exit 1) beyond this share of failed samples; "
        "1: never.",
    )
    task: Task = Field(
        Task.PROMPT,
        description="What is judged: prompt (is the user's request harmful), response (is the "
        "assistant's reply harmful), refusal (did the assistant refuse).",
    )
    failures: FailureRule = Field(
        FailureRule.WRONG,
        description="How failures enter binary precision/recall/F1: wrong (every failure is "
        "the wrong class), flip (Ai2 safety-eval: an unparsed answer is the wrong class, a "
        "request error is left out), exclude (left out; the count is shown).",
    )
    by: Annotated[str | None, Option(metavar="FIELD")] = Field(
        None,
        min_length=1,
        description="Slice every metric by this field: `source` or any `meta` key "
        "(at most 64 groups).",
    )
    backend: Annotated[Backend, Option(cli=False, api=False)] = Field(
        "server", description="Where the answers come from."
    )
    sim: Annotated[SimSettings | None, Option(cli=False, api=False)] = Field(
        None, description="The simulated server's settings, when simulated."
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(cls._url(v) for v in value)

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency(cls, value: Any, info: ValidationInfo) -> Any:
        if info.mode == "python" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # from the command line or an environment variable
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= 8192:
            raise ValueError("must be between 1 and 8192, or 'auto'")
        return value

    @field_validator("ensemble_members")
    @classmethod
    def _ensemble(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        strategy = info.data.get("strategy")
        if strategy == "ensemble" and len(value) < 2:
            raise ValueError("an ensemble needs at least two members")
        if strategy != "ensemble" and value:
            raise ValueError("only with strategy 'ensemble'")
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _stream_or_batch(self) -> RunConfig:
        if self.stream and self.batch_size > 1:
            raise ValueError("stream: the batch routes do not stream; use --batch-size 1")
        return self

    @model_validator(mode="after")
    def _logprobs_need_single_answers(self) -> RunConfig:
        if self.scores == "logprobs" and (self.stream or self.batch_size > 1):
            raise ValueError(
                "scores: logprobs are read from whole single answers; "
                "use --batch-size 1 and no --stream with --scores logprobs"
            )
        return self


def check_url(value: str) -> str:
    """A base URL a client can use (``http(s)://host[:port][/path]``), without a trailing ``/``;
    else ``ValueError`` naming it."""
    try:
        url = URL(value.strip())
        host, port = url.host, url.port
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a URL ({exc})") from None
    if url.scheme not in ("http", "https"):
        raise ValueError(f"{value!r}: the scheme must be http:// or https://")
    if not host or any(c.isspace() or c in '<>"{}|\\^`' for c in host):
        raise ValueError(f"{value!r} has no usable host")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{value!r}: port {port} is out of range")
    if url.query_string or url.fragment:
        raise ValueError(f"{value!r}: a base URL has no query or fragment")
    return value.strip().rstrip("/")


def build_run_config(
    values: dict[str, Any], source: str | None = None, *, strict: bool = False
) -> RunConfig:
    """Validate ``values`` into a :class:`RunConfig`; :class:`ConfigError` names the field.

    ``strict``: the values are JSON (a service submission) and must have the documented
    types exactly (no ``false`` for a number, no ``"5"`` for an integer).
    """
    try:
        if strict:
            return RunConfig.model_validate_json(orjson.dumps(values), strict=True)
        return RunConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        if field.startswith("endpoints"):  # more --base-url values
            field = "base_url"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(field.replace("_", "-"), message, source) from exc
