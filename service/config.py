"""The run configuration: validated once at the edge into a frozen object, then passed down.

Front ends (the CLI, the HTTP service, a matrix file) build a :class:`RunConfig` through
:func:`build_run_config`, which turns pydantic's errors into a :class:`ConfigError` that
names the field.  Nothing inside the engine reads the environment or argv.  The API key
is not part of the config (configs are stored); it travels separately as a secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .binary import FailureRule
from .errors import ConfigError


class RunConfig(BaseModel):
    """Everything that defines a run (and is stored with it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = Field(description="dataset file, or the name of a shipped set")
    policies: str = Field("minimal", description="minimal|medium|verbose or a policy folder")
    strategy: Literal["multi", "gauntlet", "ensemble"] = "multi"
    ensemble_members: tuple[str, ...] = Field(
        (),
        validate_default=True,
        description="ensemble: STRATEGY[+cot][+low|medium|high][@MODEL] per member",
    )
    vote: Literal["majority", "any", "all"] = Field("majority", description="ensemble vote")
    output_format: str | None = Field(
        None, description="parse every answer in this format (else each policy's `output:`)"
    )
    model: str = "openai/gpt-oss-safeguard-20b"
    base_url: str = "http://localhost:8000/v1"
    concurrency: int | Literal["auto"] = Field(
        32, description="requests in flight, or 'auto' for an adaptive limit"
    )
    max_concurrency: int = Field(1024, ge=1, le=8192, description="upper bound for 'auto'")
    endpoints: tuple[str, ...] = Field(
        (), description="more base URLs, load-balanced with base_url"
    )
    batch_size: int = Field(1, ge=1, le=1024, description="conversations per HTTP request")
    batch_endpoint: Literal["auto", "chat-batch", "completions"] = "auto"
    chat_template: str = Field("harmony", description="template for the completions batch route")
    rate: float | None = Field(None, gt=0, description="Poisson arrivals: samples per second")
    stream: bool = Field(False, description="stream answers (SSE) to measure time to first token")
    max_tokens: int | None = Field(2048, ge=1)
    temperature: float | None = Field(0.0, ge=0.0, le=2.0)
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    chain_of_thought: bool = False
    timeout: float = Field(120.0, gt=0, description="seconds per request attempt")
    max_attempts: int = Field(4, ge=1, le=20)
    grace_period: float = Field(30.0, ge=0, description="seconds in-flight requests get on Ctrl-C")
    limit: int | None = Field(None, ge=1, description="only the first N samples")
    max_error_rate: float | None = Field(
        None, gt=0, le=1, description="abort when this share of samples has failed"
    )
    failures: FailureRule = Field(
        FailureRule.WRONG,
        description="how failures enter binary P/R/F1: wrong (count against the model), "
        "flip (safety-eval: an unparsed answer is the wrong class, request errors left out), "
        "exclude (left out, counted)",
    )
    by: str | None = Field(
        None,
        min_length=1,
        description="slice every metric by this field: `source` or a `meta` key",
    )
    backend: str = Field("server", description="'simulated' or 'server'")
    sim: dict[str, Any] | None = Field(None, description="simulator settings, when simulated")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(cls._url(v) for v in value)

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 8192:
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


def build_run_config(values: dict[str, Any], source: str | None = None) -> RunConfig:
    """Validate ``values`` into a :class:`RunConfig`; :class:`ConfigError` names the field."""
    try:
        return RunConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(field.replace("_", "-"), first["msg"], source) from exc
