"""``/metrics`` of the service: jobs by status, each job's progress, each endpoint's gate.

A custom collector reads the queue's state at scrape time, so the dispatch hot path pays
nothing for it; each job's series carry its ``run_id`` label, each endpoint's its URL
(without credentials).  Served through an injected registry, never the global one.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..store import JOB_STATUSES
from .jobs import JobQueue


class QueueCollector(Collector):
    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[Metric]:
        queue = self._queue
        jobs = GaugeMetricFamily("policybench_service_jobs", "Jobs by status.", labels=["status"])
        counts = dict.fromkeys(JOB_STATUSES, 0)
        for job in queue.jobs.values():
            counts[job.status] = counts.get(job.status, 0) + 1
        for status, n in counts.items():
            jobs.add_metric([status], n)
        yield jobs

        completed = GaugeMetricFamily(
            "policybench_job_samples_completed",
            "Samples with a record, per job.",
            labels=["run_id"],
        )
        total = GaugeMetricFamily(
            "policybench_job_samples", "Samples in the job's run, per job.", labels=["run_id"]
        )
        errors = GaugeMetricFamily(
            "policybench_job_errors", "Samples whose requests failed, per job.", labels=["run_id"]
        )
        rate = GaugeMetricFamily(
            "policybench_job_samples_per_hour",
            "Live throughput, per running job.",
            labels=["run_id"],
        )
        for job in queue.jobs.values():
            if job.status != "running" and job.task is None:
                continue
            snap = job.hub.snapshot()
            completed.add_metric([job.job_id], snap["completed"])
            if snap["total"] is not None:
                total.add_metric([job.job_id], snap["total"])
            if "errors" in snap:
                errors.add_metric([job.job_id], snap["errors"])
            if snap.get("samples_per_hour") is not None:
                rate.add_metric([job.job_id], snap["samples_per_hour"])
        yield from (completed, total, errors, rate)

        in_flight = GaugeMetricFamily(
            "policybench_endpoint_requests_in_flight",
            "Requests in flight to one endpoint, all jobs together.",
            labels=["endpoint"],
        )
        limit = GaugeMetricFamily(
            "policybench_endpoint_requests_limit",
            "The shared in-flight cap of one endpoint.",
            labels=["endpoint"],
        )
        for key, gate in queue.gates.items():
            in_flight.add_metric([key], gate.in_flight)
            limit.add_metric([key], gate.limit)
        yield from (in_flight, limit)


def registry_for(queue: JobQueue) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(queue))
    return registry
