"""vLLM's own ``/metrics``, with vLLM's names, types, labels and buckets (vLLM 0.12+).

The names follow ``vllm/v1/metrics/loggers.py`` (see vllm_facts section 2), so a Grafana
dashboard built against the simulator works against vLLM unchanged.  The collector reads
the engine at scrape time (gauges) and keeps its own counters and bucket arrays, so the
hot path costs a few additions per step, not one prometheus_client call per token.
Everything lives in the app's own :class:`CollectorRegistry`, never the global one.
Times are wall-clock seconds as a client sees them (model time times the time scale).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .engine import Engine
    from .engine import EngineSequence as Seq

TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # fmt: skip
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0)  # fmt: skip
E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
               120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)  # fmt: skip
TOKEN_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
                 10000.0, 20000.0, 50000.0, 100000.0)  # fmt: skip
ITERATION_BUCKETS = (1.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
                     8192.0, 16384.0)  # fmt: skip
PREEMPTION_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0)
N_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0)
FINISH_REASONS = ("stop", "length", "abort", "error")
#: Families vLLM 0.32 exports that stay at zero here (no KV connector, no multi-modal input,
#: no FLOP estimates on the simulated hardware), with vLLM's help text.
ZERO_COUNTERS = (
    ("vllm:estimated_flops_per_gpu", "Estimated number of floating point operations per GPU (for Model Flops Utilization calculations)."),
    ("vllm:estimated_read_bytes_per_gpu", "Estimated number of bytes read from memory per GPU (for Model Flops Utilization calculations)."),
    ("vllm:estimated_write_bytes_per_gpu", "Estimated number of bytes written to memory per GPU (for Model Flops Utilization calculations)."),
    ("vllm:external_prefix_cache_queries", "External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens."),
    ("vllm:external_prefix_cache_hits", "External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens."),
    ("vllm:mm_cache_queries", "Multi-modal cache queries, in terms of number of queried items."),
    ("vllm:mm_cache_hits", "Multi-modal cache hits, in terms of number of cached items."),
)  # fmt: skip


class Hist:
    """Cumulative-at-scrape histogram with weighted observations."""

    __slots__ = ("buckets", "counts", "sum", "total")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float, n: int = 1) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += n
        self.total += n
        self.sum += value * n

    def family(self, name: str, doc: str, labels: list[str], values: list[str]) -> Metric:
        fam = HistogramMetricFamily(name, doc, labels=labels)
        cumulative, running = [], 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            cumulative.append((_le(bound), running))
        cumulative.append(("+Inf", self.total))
        fam.add_metric(values, cumulative, self.sum)
        return fam


def _le(bound: float) -> str:
    return repr(float(bound))


class SimMetrics(Collector):
    """Engine events in, vLLM metric families out."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.engine: Engine | None = None
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.cache_queries = 0
        self.cache_hits = 0
        self.preemptions = 0
        self.success = dict.fromkeys(FINISH_REASONS, 0)
        self.ttft = Hist(TTFT_BUCKETS)
        self.itl = Hist(ITL_BUCKETS)
        self.tpot = Hist(ITL_BUCKETS)
        self.e2e = Hist(E2E_BUCKETS)
        self.queue = Hist(E2E_BUCKETS)
        self.prefill_time = Hist(E2E_BUCKETS)
        self.decode_time = Hist(E2E_BUCKETS)
        self.req_prompt = Hist(TOKEN_BUCKETS)
        self.req_generation = Hist(TOKEN_BUCKETS)
        self.iteration = Hist(ITERATION_BUCKETS)
        self.inference_time = Hist(E2E_BUCKETS)
        self.max_generation = Hist(TOKEN_BUCKETS)
        self.params_max_tokens = Hist(TOKEN_BUCKETS)
        self.params_n = Hist(N_BUCKETS)
        self.req_preemptions = Hist(PREEMPTION_BUCKETS)
        self.prefill_computed = Hist(TOKEN_BUCKETS)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    # -- EngineEvents ---------------------------------------------------------------------
    def admitted(self, seq: Seq) -> None:
        self.queue.observe((seq.scheduled_at or seq.arrival) - seq.arrival)
        self.cache_queries += seq.prompt_tokens
        self.cache_hits += seq.cached_tokens

    def first_token(self, seq: Seq) -> None:
        assert seq.first_token_at is not None
        self.ttft.observe(seq.first_token_at - seq.arrival)
        self.prompt_tokens += seq.prompt_tokens
        self.generation_tokens += 1
        if seq.scheduled_at is not None:
            self.prefill_time.observe(seq.first_token_at - seq.scheduled_at)

    def finished(self, seq: Seq) -> None:
        assert seq.finished_at is not None
        reason = seq.finish_reason if seq.finish_reason in self.success else "error"
        self.success[reason] += 1
        if seq.first_token_at is None:
            return  # aborted while waiting
        self.generation_tokens += seq.output_tokens - 1
        self.e2e.observe(seq.finished_at - seq.arrival)
        self.req_prompt.observe(seq.prompt_tokens)
        self.req_generation.observe(seq.output_tokens)
        if seq.scheduled_at is not None:
            self.inference_time.observe(seq.finished_at - seq.scheduled_at)
        limit = seq.max_tokens if seq.max_tokens is not None else seq.output_tokens
        self.max_generation.observe(limit)
        self.params_max_tokens.observe(limit)
        self.params_n.observe(1)
        self.req_preemptions.observe(0)
        self.prefill_computed.observe(seq.prompt_tokens - seq.cached_tokens)
        decode = seq.finished_at - seq.first_token_at
        self.decode_time.observe(decode)
        if seq.output_tokens > 1:
            self.tpot.observe(decode / (seq.output_tokens - 1))

    def step(self, seconds: float, tokens: int, decode_seqs: int) -> None:
        if decode_seqs:
            self.itl.observe(seconds, decode_seqs)
        if tokens:
            self.iteration.observe(tokens)

    # -- Collector --------------------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        labels = ["model_name", "engine"]
        values = [self.model_name, "0"]
        eng = self.engine
        running = eng.running if eng is not None else 0
        waiting = eng.num_waiting if eng is not None else 0
        kv = eng.kv_usage if eng is not None else 0.0
        for name, doc, value in (
            (
                "vllm:num_requests_running",
                "Number of requests in model execution batches.",
                running,
            ),
            ("vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting),
            ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kv),
        ):
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(values, float(value))
            yield g
        for name, doc, count in (
            ("vllm:prompt_tokens", "Number of prefill tokens processed.", self.prompt_tokens),
            ("vllm:generation_tokens", "Number of generation tokens processed.", self.generation_tokens),
            ("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", self.cache_queries),
            ("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", self.cache_hits),
            ("vllm:num_preemptions", "Cumulative number of preemption from the engine.", self.preemptions),
        ):  # fmt: skip
            c = CounterMetricFamily(name, doc, labels=labels)
            c.add_metric(values, float(count))
            yield c
        success = CounterMetricFamily(
            "vllm:request_success",
            "Count of successfully processed requests.",
            labels=[*labels, "finished_reason"],
        )
        for reason, count in self.success.items():
            success.add_metric([*values, reason], float(count))
        yield success
        for hist, name, doc in (
            (self.ttft, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds."),
            (self.itl, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds."),
            (self.tpot, "vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request."),
            (self.e2e, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds."),
            (self.queue, "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request."),
            (self.prefill_time, "vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request."),
            (self.decode_time, "vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request."),
            (self.req_prompt, "vllm:request_prompt_tokens", "Number of prefill tokens processed."),
            (self.req_generation, "vllm:request_generation_tokens", "Number of generation tokens processed."),
            (self.iteration, "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step."),
            (self.inference_time, "vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request."),
            (self.max_generation, "vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens."),
            (self.params_max_tokens, "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter."),
            (self.params_n, "vllm:request_params_n", "Histogram of the n request parameter."),
            (self.req_preemptions, "vllm:request_num_preemptions", "Histogram of the number of times a request was preempted."),
            (self.prefill_computed, "vllm:request_prefill_kv_computed_tokens", "Histogram of new KV tokens computed during prefill (excluding cached tokens)."),
        ):  # fmt: skip
            yield hist.family(name, doc, labels, values)
        yield from self._more(labels, values, waiting)

    def _more(self, labels: list[str], values: list[str], waiting: int) -> Iterator[Metric]:
        """The rest of vLLM 0.32's families, with its types and labels."""
        for name, doc in ZERO_COUNTERS:
            c = CounterMetricFamily(name, doc, labels=labels)
            c.add_metric(values, 0.0)
            yield c
        computed = float(self.prompt_tokens - self.cache_hits)
        by_source = CounterMetricFamily(
            "vllm:prompt_tokens_by_source",
            "Number of prompt tokens by source.",
            labels=[*labels, "source"],
        )
        for source, count in (
            ("local_compute", max(0.0, computed)),
            ("local_cache_hit", float(self.cache_hits)),
            ("external_kv_transfer", 0.0),
        ):
            by_source.add_metric([*values, source], count)
        yield by_source
        cached = CounterMetricFamily(
            "vllm:prompt_tokens_cached",
            "Number of cached prompt tokens (local + external).",
            labels=labels,
        )
        cached.add_metric(values, float(self.cache_hits))
        yield cached
        tiers = CounterMetricFamily(
            "vllm:prompt_tokens_cached_by_source",
            "Prefix-cache hit tokens by the cache tier that supplied them.",
            labels=[*labels, "source"],
        )
        for tier in ("device", "host", "p2p", "disk", "external_unspecified"):
            tiers.add_metric([*values, tier], float(self.cache_hits) if tier == "device" else 0.0)
        yield tiers
        rejections = CounterMetricFamily(
            "vllm:admission_rejections",
            "Number of admission attempts rejected by a queue limit, by reason.",
            labels=["model_name", "reason"],
        )
        for reason in ("max_num_queued_reqs", "max_num_queued_tokens"):
            rejections.add_metric([self.model_name, reason], 0.0)
        yield rejections
        by_reason = GaugeMetricFamily(
            "vllm:num_requests_waiting_by_reason",
            "Number of waiting requests by reason.",
            labels=[*labels, "reason"],
        )
        by_reason.add_metric([*values, "capacity"], float(waiting))
        by_reason.add_metric([*values, "deferred"], 0.0)
        yield by_reason
        sleep = GaugeMetricFamily(
            "vllm:engine_sleep_state", "Engine sleep state.", labels=[*labels, "sleep_state"]
        )
        for state, value in (("awake", 1.0), ("weights_offloaded", 0.0), ("discard_all", 0.0)):
            sleep.add_metric([*values, state], value)
        yield sleep
