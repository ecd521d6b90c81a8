"""One run, start to finish: prepare (read and validate every input), dispatch, score, store.

This module is the one place that owns a run's concurrency and shutdown.  Samples are
streamed from the dataset; a request slot is taken *before* each request task is created,
inside one ``asyncio.TaskGroup``, so in-flight work is bounded by ``concurrency`` and
memory does not grow with the dataset.  :meth:`Run.request_stop` (Ctrl-C, SIGTERM, an
API cancel) stops dispatching at once, gives in-flight requests ``grace_period`` seconds,
then cancels them; samples without a finished record are simply re-sent on resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .adaptive import AdaptiveController
from .chat_templates import ChatTemplate, load_chat_template
from .client import ClientSettings, Completion
from .client_types import UserInput
from .clients import build_client
from .config import RunConfig
from .datasets import DatasetInfo, Sample, iter_samples, resolve, scan
from .endpoints import ChatLike
from .errors import (
    ConfigError,
    DatasetError,
    ErrorKind,
    RequestError,
    RequestTimeout,
    ResumeMismatch,
)
from .limiter import Limiter
from .observer import BaseObserver, Observers, RunObserver
from .parsers import parse_off_loop
from .policies import PolicySet, load_policy_set
from .preflight import PreflightReport, preflight
from .prompts import conversation
from .records import RequestOutcome, SampleResult, replay
from .retry import RetryPolicy
from .run_health import RunHealth
from .run_scores import part_score, score_settings, verdict_finish
from .scores import sample_score
from .scoring import PARSE_FAILURE, Scorer, gold_for
from .server_metrics import ServerMetrics
from .store import RunRow, Store
from .strategies import RequestSpec, Strategy, judge
from .strategies import from_config as strategy_from_config
from .summary import RunSummary
from .tasks import Task
from .writer import RecordWriter


@dataclass(frozen=True, slots=True)
class Prepared:
    """A config whose every input has been read and validated; nothing sent or stored yet."""

    config: RunConfig
    dataset_path: Path
    dataset: DatasetInfo
    policies: PolicySet
    strategy: Strategy
    #: the completions route's chat template (batched runs only)
    chat_template: ChatTemplate | None = None


def prepare(config: RunConfig) -> Prepared:
    """Read and validate every input before anything is sent or stored: the policies, the
    whole dataset, the strategy, and the chat template of a batched run.  Raises
    :class:`InputError`."""
    policies = load_policy_set(config.policies)
    path = resolve(config.dataset)
    info = scan(path, frozenset(policies.categories))
    _check_task(config, path, info)
    if config.by not in (None, "source") and config.by not in info.meta_keys:
        known = ", ".join(sorted(info.meta_keys)[:20]) or "none"
        raise ConfigError(
            "by", f"no sample of {path} has the meta key {config.by!r} (meta keys: {known})"
        )
    strategy = strategy_from_config(config, policies)
    template = load_chat_template(config.chat_template) if config.batch_size > 1 else None
    return Prepared(config, path, info, policies, strategy, template)


def models_of(prepared: Prepared) -> tuple[str, ...]:
    """Every model name a run's requests use (each ensemble member's)."""
    names = [spec.model or prepared.config.model for spec in prepared.strategy.plan()]
    return tuple(dict.fromkeys(names))


async def check_servers(prepared: Prepared, api_key: str | None) -> PreflightReport:
    """Ask every server of the run whether it serves the run's models; raises
    :class:`PreflightError` (exit 2) or :class:`ServerUnreachable` (exit 1)."""
    cfg = prepared.config
    return await preflight((cfg.base_url, *cfg.endpoints), models_of(prepared), api_key=api_key)


def _check_task(config: RunConfig, path: Path, info: DatasetInfo) -> None:
    """The dataset can be scored on the run's task: it has gold for it, and every sample has
    the assistant turn a response or refusal task judges.  Raises :class:`InputError`."""
    task = config.task
    if not info.task_gold[task]:
        fields = {
            Task.PROMPT: "`labels` or `unsafe`",
            Task.RESPONSE: "`response_labels` or `response_unsafe`",
            Task.REFUSAL: "`refusal`",
        }[task]
        raise ConfigError("task", f"{task}: no sample of {path} has its gold ({fields})")
    if task is not Task.PROMPT and info.first_without_response is not None:
        raise DatasetError(
            path,
            info.first_without_response,
            "response",
            f"missing: the {task} task judges the assistant's reply "
            "(`response`, or an assistant turn in `messages`)",
        )


def check_resumable(row: RunRow, prepared: Prepared) -> None:
    """Raise :class:`ResumeMismatch` unless ``prepared`` has the samples and policy texts
    the stored run started with (front ends call it before anything runs)."""
    if row.dataset_fingerprint != prepared.dataset.fingerprint:
        raise ResumeMismatch(
            f"run {row.run_id} was on dataset {row.dataset_fingerprint}, "
            f"{prepared.dataset_path} is now {prepared.dataset.fingerprint}: not the same "
            "samples (the file changed since the run started)"
        )
    if row.policy_hash != prepared.policies.digest:
        raise ResumeMismatch(
            f"run {row.run_id} used other policy texts ({row.policy_hash}, now "
            f"{prepared.policies.digest})"
        )


@dataclass(slots=True)
class RunHandle:
    """What observers may know about a run."""

    run_id: str
    config: RunConfig
    dataset: DatasetInfo
    policies: PolicySet
    total: int
    already_done: int
    resumed: bool
    limiter: Limiter
    started_at: float = field(default_factory=time.time)


@dataclass(slots=True)
class RunResult:
    run_id: str
    status: str
    summary: RunSummary


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


async def _call(client: ChatLike, spec: RequestSpec, sample: Sample, user: UserInput) -> Completion:
    """One attempt of a request: a native format's own request, or system + user chat."""
    if spec.native is not None:
        return await client.send(spec.native(sample))
    return await client.chat(spec.system, user, spec.model, spec.reasoning_effort)


class _Arrivals:
    """Poisson arrivals at ``rate`` per second on an absolute schedule (no drift)."""

    def __init__(self, rate: float, seed: int | None = None) -> None:
        self._rate = rate
        self._rng = random.Random(seed)
        self._next = time.perf_counter()

    def next_delay(self) -> float:
        self._next += self._rng.expovariate(self._rate)
        return self._next - time.perf_counter()


@dataclass(slots=True)
class _Pending:
    sample: Sample
    seq: int
    parts: list[RequestOutcome | None]
    remaining: int
    started: float


class Run:
    """A run bound to a store.  ``await run.execute()`` once; ``request_stop()`` from anywhere."""

    def __init__(
        self,
        prepared: Prepared,
        store: Store,
        *,
        api_key: str | None = None,
        observer: RunObserver | None = None,
        resume: str | None = None,
        run_id: str | None = None,
        gate: contextlib.AbstractAsyncContextManager[Any] | None = None,
        client: ChatLike | None = None,
        checked: PreflightReport | None = None,
    ) -> None:
        # ``gate``: an optional async context entered around every HTTP attempt, on top of
        # this run's own limit; the service passes one shared per endpoint so that all of
        # its runs together stay under a global in-flight cap (service/api/jobs.py).
        # ``checked``: the preflight's answer when the caller ran it already (the CLI does,
        # before it opens the store); otherwise ``execute`` runs it before the run row.
        self.prepared = prepared
        self.config = prepared.config
        self.store = store
        self.observer: RunObserver = observer or BaseObserver()
        self._api_key = api_key
        self._resume = resume
        self._gate = gate
        self._given_client = client  # e.g. answers read from an offline batch file
        self.run_id = resume or run_id or new_run_id()
        self.controller: AdaptiveController | None = None
        if self.config.concurrency == "auto":
            self.limiter = Limiter(4)
            self.controller = AdaptiveController(self.limiter, maximum=self.config.max_concurrency)
            self.observer = Observers([self.controller, self.observer])
        else:
            self.limiter = Limiter(int(self.config.concurrency))
        self.scorer = Scorer(
            prepared.policies.categories, self.config.failures, slice_by=self.config.by
        )
        self.scorer.scores.threshold = self.config.threshold
        self.scorer.scores.enabled = self.config.scores != "none"
        self.retry = RetryPolicy(
            max_attempts=self.config.max_attempts, total_timeout=self.config.total_timeout
        )
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._writer: RecordWriter | None = None
        self.health = RunHealth(self.config.max_error_rate)
        self._failure: str | None = None  # why the run failed, one line
        self.server_figures: dict[str, Any] | None = None  # from the server's own /metrics
        self.checked = checked
        self._clock: Callable[[], float] | None = None  # dispatch seconds so far
        self.handle: RunHandle | None = None
        self._client: Any = None

    # -- control ----------------------------------------------------------------------
    def request_stop(self, reason: str = "cancelled") -> None:
        """Stop dispatching now; in-flight requests get the grace period."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()
            self.limiter.close()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def fail(self, reason: str) -> None:
        """End the run as ``failed`` for ``reason`` (the first reason given wins)."""
        if self._failure is None:
            self._failure = reason
        self.request_stop("failed")

    async def check_servers(self) -> PreflightReport:
        """The preflight (:mod:`policybench.service.preflight`), once per run."""
        if self.checked is None:
            self.checked = await check_servers(self.prepared, self._api_key)
        return self.checked

    # -- lifecycle --------------------------------------------------------------------
    def _open(self) -> tuple[set[str], float]:
        p = self.prepared
        cfg = self.config
        total = min(p.dataset.count, cfg.limit) if cfg.limit else p.dataset.count
        if self._resume:
            row = self.store.get_run(self._resume)
            self.run_id = row.run_id
            check_resumable(row, p)
            done = set()  # one pass over the stored records: their ids and their scores
            for record in self.store.iter_records(row.run_id):
                done.add(record["sample_id"])
                replay(record, self.scorer)
                self.health.replay(record)
            self.store.set_status(row.run_id, "started")
            prior_seconds = row.dispatch_seconds
        else:
            self.store.create_run(
                run_id=self.run_id,
                config=cfg.model_dump(mode="json"),
                dataset=str(p.dataset_path),
                dataset_fingerprint=p.dataset.fingerprint,
                samples_total=total,
                policy_set=p.policies.name,
                policy_hash=p.policies.digest,
                model=cfg.model,
                strategy=cfg.strategy,
                backend=cfg.backend,
                version=__version__,
                git_rev=git_revision(),
            )
            done = set()
            prior_seconds = 0.0
        self.handle = RunHandle(
            run_id=self.run_id,
            config=cfg,
            dataset=p.dataset,
            policies=p.policies,
            total=total,
            already_done=len(done),
            resumed=bool(self._resume),
            limiter=self.limiter,
        )
        return done, prior_seconds

    async def execute(self) -> RunResult:
        if self._given_client is None:  # answers from a file need no server
            await self.check_servers()
        # git provenance and a resume's replay of stored records block: off the loop
        # (`bench serve` shares it between jobs)
        done, prior_seconds = await asyncio.to_thread(self._open)
        assert self.handle is not None
        self.observer.on_start(self.handle)
        probe: ServerMetrics | None = None
        if self._given_client is None:
            cfg = self.config
            probe = ServerMetrics((cfg.base_url, *cfg.endpoints), models_of(self.prepared))
        status = "success"
        error: str | None = None
        try:
            if probe is not None:
                await probe.begin()  # before the clock: it is not the run's time
            started = time.perf_counter()
            self._clock = lambda: prior_seconds + (time.perf_counter() - started)
            await self._dispatch(done, probe)
        except BaseException as exc:
            status = (
                "cancelled"
                if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
                else "error"
            )
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if probe is not None:
                await probe.close()
            elapsed = time.perf_counter() - started if self._clock is not None else 0.0
            if status == "success":
                if self._failure is None and not self._stop.is_set():
                    t = self.scorer.totals
                    self._failure = self.health.verdict(t.samples, t.parse_failures, t.errors)
                if self._failure is not None:
                    status, error = "failed", self._failure
                elif self._stop.is_set():
                    status = "cancelled"
            seconds = prior_seconds + elapsed
            summary = self.summary(seconds, status)
            self.store.set_status(
                self.run_id, status, summary=summary, dispatch_seconds=seconds, error=error
            )
            self.observer.on_finish(self.handle, summary)
        return RunResult(self.run_id, status, summary)

    def summary(self, dispatch_seconds: float, status: str) -> RunSummary:
        assert self.handle is not None
        cfg = self.config
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "status": status,
            "samples": self.handle.total,
        }
        if status == "failed" and self._failure:
            out["failure"] = self._failure
        out.update(self.scorer.summary(dispatch_seconds))
        out["backend"] = cfg.base_url if cfg.backend == "server" else cfg.backend
        out["route"] = getattr(self._client, "route", None)
        if cfg.backend in ("offline-batch", "scored-outputs"):  # answers from a file: untimed
            out["samples_per_hour"] = None
            out["completed_per_hour"] = None
            out["tokens_per_second"] = {"prompt": None, "completion": None}
            out["latency_seconds"] = dict.fromkeys(("p50", "p90", "p99"))
            out["request_latency_seconds"] = dict.fromkeys(("p50", "p90", "p99"))
            out["ttft_seconds"] = None
        if self.checked is not None and self.checked.notes:
            out["notes"] = self.checked.notes
        out["server"] = self.server_figures
        out["model"] = cfg.model
        out["strategy"] = cfg.strategy
        out["task"] = str(cfg.task)
        out["policies"] = self.prepared.policies.name
        out["dataset"] = str(self.prepared.dataset_path)
        out["dataset_fingerprint"] = self.prepared.dataset.fingerprint
        out["concurrency"] = cfg.concurrency
        out["concurrency_limit"] = self.limiter.limit
        if cfg.rate:
            out["rate"] = cfg.rate
        if cfg.batch_size > 1:
            out["batch_size"] = cfg.batch_size
        figures = getattr(self._client, "figures", None)
        if figures is not None:
            out["endpoints"] = figures()
        if self.controller is not None:
            out["concurrency_limit_history"] = self.controller.history[-50:]
        return RunSummary.load(out)

    # -- dispatch ---------------------------------------------------------------------
    async def _dispatch(self, done: set[str], probe: ServerMetrics | None = None) -> None:
        cfg = self.config
        specs = self.prepared.strategy.plan()
        settings = ClientSettings(
            base_url=cfg.base_url,
            model=cfg.model,
            api_key=self._api_key,
            timeout=cfg.timeout,
            max_connections=cfg.max_concurrency
            if cfg.concurrency == "auto"
            else int(cfg.concurrency),
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            reasoning_effort=cfg.reasoning_effort,
            stream=cfg.stream,
            top_logprobs=cfg.top_logprobs if cfg.scores == "logprobs" else None,
        )
        settings = score_settings(settings, cfg, specs)
        writer = self._writer = RecordWriter(self.store, self.run_id, clock=self._clock)
        categories = frozenset(self.prepared.policies.categories)
        chat_client = self._given_client or build_client(cfg, settings, self.prepared.chat_template)
        async with chat_client as client, asyncio.TaskGroup() as tg:
            writer_task = tg.create_task(writer.run())
            if probe is not None:  # the server's gauges, sampled beside the dispatch
                tg.create_task(probe.watch())
            self._client = client
            arrivals = _Arrivals(cfg.rate, seed=0) if cfg.rate else None
            try:
                for seq, sample in enumerate(iter_samples(self.prepared.dataset_path, categories)):
                    if cfg.limit is not None and seq >= cfg.limit:
                        break
                    if sample.id in done:
                        continue
                    if self._stop.is_set():
                        break
                    if arrivals is not None and not await self._arrive(arrivals):
                        break
                    await writer.room()  # backpressure from the store
                    pending = _Pending(sample, seq, [None] * len(specs), len(specs), 0.0)
                    user = conversation(sample, cfg.task)
                    for index, spec in enumerate(specs):
                        if not await self.limiter.acquire():
                            break
                        if index == 0:
                            pending.started = time.perf_counter()
                        task = tg.create_task(self._request(client, pending, index, spec, user))
                        self._inflight.add(task)
                        task.add_done_callback(self._inflight.discard)
                    if self._stop.is_set():
                        break
                await self._drain()
                if probe is not None:
                    await probe.end()
                    self.server_figures = probe.figures()
            finally:
                if probe is not None:
                    await probe.close()  # ends the watcher, so the task group can close
                writer.close()
                del writer_task

    async def _arrive(self, arrivals: _Arrivals) -> bool:
        """Wait for the next Poisson arrival; ``False`` if the run is stopped meanwhile."""
        delay = arrivals.next_delay()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return not self._stop.is_set()

    async def _drain(self) -> None:
        """Wait for in-flight requests; after a stop, at most the grace period."""
        if not self._inflight:
            return
        if not self._stop.is_set():
            # normal end: wait, but a stop during the wait starts the grace clock
            waiter = asyncio.ensure_future(self._stop.wait())
            try:
                while self._inflight and not self._stop.is_set():
                    await asyncio.wait(
                        {*self._inflight, waiter}, return_when=asyncio.FIRST_COMPLETED
                    )
            finally:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=self.config.grace_period)
            for task in late:
                task.cancel()

    async def _request(
        self, client: ChatLike, pending: _Pending, index: int, spec: RequestSpec, user: UserInput
    ) -> None:
        outcome = RequestOutcome(key=spec.key)
        model = spec.model or self.config.model
        loop = asyncio.get_running_loop()
        started = loop.time()
        total = self.retry.total_timeout
        deadline = None if total is None else started + total
        try:
            attempt = 0
            while True:
                attempt += 1
                sent = time.perf_counter()
                cutoff = asyncio.timeout_at(deadline)
                try:
                    async with cutoff:
                        if self._gate is None:
                            completion = await _call(client, spec, pending.sample, user)
                        else:
                            async with self._gate:
                                completion = await _call(client, spec, pending.sample, user)
                except TimeoutError:
                    if not cutoff.expired():
                        raise
                    outcome.error = f"no answer within --total-timeout {total:g}s"
                    outcome.error_kind = ErrorKind.TIMEOUT
                    break
                except RequestError as exc:
                    if isinstance(exc, RequestTimeout):  # shown in request latency, counted
                        waited = time.perf_counter() - sent
                        outcome.timeouts.append(waited)
                        self.scorer.add_timeout(waited)
                    delay = self.retry.delay(attempt, exc, elapsed=loop.time() - started)
                    if delay is None:
                        outcome.error = str(exc)
                        outcome.error_kind = exc.kind
                        outcome.error_status = exc.status
                        stop = self.health.request_failed(model, exc)
                        if stop is not None:
                            self.fail(stop)
                        break
                    self.observer.on_retry(spec.key, exc, attempt)
                    await asyncio.sleep(delay)
                    continue
                self.health.request_ok(model)
                outcome.content = completion.content
                outcome.reasoning = completion.reasoning
                outcome.finish_reason = completion.finish_reason
                outcome.prompt_tokens = completion.prompt_tokens
                outcome.completion_tokens = completion.completion_tokens
                outcome.latency = completion.latency
                if completion.ttft is not None:
                    outcome.ttft = completion.ttft
                    self.scorer.add_ttft(completion.ttft)
                outcome.verdict = await parse_off_loop(
                    completion.content,
                    spec.fmt,
                    spec.ctx,
                    verdict_finish(self.config, spec, completion.finish_reason),
                )
                outcome.score, outcome.score_reason = part_score(
                    self.config,
                    spec,
                    completion,
                    outcome.verdict,
                    pending.sample.response is not None,
                )
                break
            outcome.attempts = attempt
        finally:
            self.limiter.release()
        self.observer.on_request(outcome)
        pending.parts[index] = outcome
        pending.remaining -= 1
        if pending.remaining == 0:
            self._finish(pending)

    def _finish(self, pending: _Pending) -> None:
        parts = [p for p in pending.parts if p is not None]
        sample = pending.sample
        gold = gold_for(sample, self.config.task)
        verdict, outcome = judge(self.prepared.strategy, parts, gold)
        result = SampleResult(
            sample=sample,
            seq=pending.seq,
            outcome=outcome,
            verdict=verdict,
            latency=time.perf_counter() - pending.started,
            parts=parts,
            score=sample_score(self.config.strategy, [p.score for p in parts])
            if self.config.scores != "none"
            else None,
            task=self.config.task,
        )
        self.scorer.add_score(gold, result.score)
        self.scorer.add(
            gold,
            verdict.categories,
            outcome,
            sample.source,
            result.latency,
            [p.latency for p in parts if p.latency is not None],
            result.prompt_tokens,
            result.completion_tokens,
            sample.meta,
            usage_reported=sum(p.prompt_tokens is not None for p in parts),
        )
        assert self._writer is not None
        self._writer.put((sample.id, pending.seq, outcome, result.to_json()))
        self.observer.on_sample(result, self.scorer)
        if outcome == PARSE_FAILURE and self.health.parse_failure_example is None:
            first = next((p for p in parts if p.verdict and p.verdict.categories is None), None)
            self.health.note_parse_failure(verdict.reason, first.content if first else None)
        if self._failure is None:
            totals = self.scorer.totals
            beyond = self.health.over_budget(totals.errors, totals.samples, final=False)
            if beyond is not None:
                self.fail(beyond)
