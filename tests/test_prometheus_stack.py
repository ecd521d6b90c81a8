"""The monitoring stack against a real Prometheus (Debian's ``prometheus`` package).

One module-scoped setup starts, on free loopback ports: the simulated server (``bench
sim``), a Prometheus scraping it and a ``bench run --metrics-port`` against it, waits
until Prometheus has scraped the run's final values, evaluates every PromQL expression of
the Grafana dashboard through Prometheus's HTTP API, reads the rule health, then stops
every process before any test looks at the results.  Also ``promtool check`` on the
shipped files and ``promtool check metrics`` on our exposition.  Skips where the
``prometheus``/``promtool`` binaries are absent.

The same stack runs once more with real vLLM (``vllm_stack``, tests marked ``vllm``) in
place of the simulator: every ``vllm:`` series the dashboard queries must exist on the
real server's ``/metrics``, as Prometheus scraped it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO
from .realvllm import SAFE_JSON, VllmPool

pytestmark = pytest.mark.prometheus

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "policybench.json"
_SCRIPT = Path(sys.executable).with_name("bench")
BENCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "policybench.bench.cli"]
SCRAPE = "1s"
RATE_WINDOW = "1m"  # stands in for Grafana's $__rate_interval


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


def wait_until(what: str, check: Any, deadline: float = 60.0, proc: Any = None) -> Any:
    """Poll ``check()`` until it returns a truthy value (an external server's state)."""
    end = time.monotonic() + deadline
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            result = check()
            if result:
                return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def dashboard_targets() -> list[tuple[str, str, str]]:
    """(panel title, legend, expr) for every target of every panel."""
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", ()):
            out.append((panel["title"], target.get("legendFormat", ""), target["expr"]))
    return out


def concrete(expr: str, run_id: str) -> str:
    return (
        expr.replace("$__rate_interval", RATE_WINDOW)
        .replace("$__interval", SCRAPE)
        .replace("$run", run_id)  # ids are [0-9a-f-]: no regex meta
    )


@dataclass
class Stack:
    summary: dict[str, Any]
    sim_has_vllm_metrics: bool
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    bench_rc: int | None = None
    bench_stderr: str = ""
    exposition: str = ""


@contextlib.contextmanager
def process(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[Any]]:
    proc = subprocess.Popen(args, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus)")
    tmp = tmp_path_factory.mktemp("prometheus")
    sim_port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with process(
        [
            *BENCH,
            *("sim", "--port", str(sim_port), "--dataset", "balanced"),
            *("--model", "sim-guard", "--error-rate", "0.2", "--time-scale", "0.1"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as sim:
        sim_base = f"http://127.0.0.1:{sim_port}"
        wait_until("the simulated server", lambda: get(sim_base + "/v1/models"), proc=sim)
        try:
            sim_has_vllm = b"vllm:num_requests_running" in get(sim_base + "/metrics")
        except (OSError, urllib.error.URLError):
            sim_has_vllm = False
        return run_stack(tmp, sim_base, "sim-guard", scrape_server=sim_has_vllm)


@pytest.fixture(scope="module")
def vllm_stack(tmp_path_factory: pytest.TempPathFactory, vllm: VllmPool) -> Stack:
    """The same stack with real vLLM (its CPU build, a fixed-answer tiny model) as the server."""
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus)")
    server = vllm.server(SAFE_JSON)
    return run_stack(
        tmp_path_factory.mktemp("prometheus-vllm"),
        server.root,
        server.model,
        scrape_server=True,
        extra=("--max-tokens", "64", "--limit", "40"),
    )


def run_stack(
    tmp: Path,
    server_base: str,
    model: str,
    *,
    scrape_server: bool,
    extra: tuple[str, ...] = (),
) -> Stack:
    """Prometheus scraping the server and a ``bench run --metrics-port`` against it; every
    dashboard expression evaluated once the run's final values are scraped."""
    metrics_port, prom_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with contextlib.ExitStack() as procs:
        targets = [server_base.removeprefix("http://")] if scrape_server else []
        config = {
            "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
            "rule_files": [str(DEPLOY / "prometheus" / "alerts.yml")],
            "scrape_configs": [
                {
                    "job_name": "policybench",
                    "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
                },
                {"job_name": "vllm", "static_configs": [{"targets": targets}]},
            ],
        }
        config_path = tmp / "prometheus.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        prom_log = (tmp / "prometheus.log").open("w")
        procs.callback(prom_log.close)
        prom = procs.enter_context(
            process(
                [
                    PROMETHEUS,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={tmp / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--log.level=warn",
                ],
                stdout=prom_log,
                stderr=subprocess.STDOUT,
            )
        )
        api = f"http://127.0.0.1:{prom_port}/api/v1/"
        wait_until(
            "prometheus ready", lambda: get(f"http://127.0.0.1:{prom_port}/-/ready"), proc=prom
        )

        def query(expr: str) -> list[dict[str, Any]]:
            url = api + "query?" + urllib.parse.urlencode({"query": expr})
            body = json.loads(get(url))
            assert body["status"] == "success", (expr, body)
            return list(body["data"]["result"])

        bench_err = (tmp / "bench.stderr").open("w+")
        procs.callback(bench_err.close)
        bench = procs.enter_context(
            process(
                [
                    *BENCH,
                    *("run", "--dataset", "balanced", "--base-url", server_base + "/v1"),
                    *("--model", model, "--concurrency", "8", "--json", "--no-progress"),
                    *("--store", str(tmp / "runs.sqlite"), "--metrics-port", str(metrics_port)),
                    *("--metrics-linger", "100", *extra),
                ],
                stdout=subprocess.PIPE,
                stderr=bench_err,
                text=True,
                env=env,
            )
        )
        assert bench.stdout is not None
        line = bench.stdout.readline()  # the --json summary, printed before the linger
        assert line, "bench run printed no summary"
        summary = json.loads(line)
        rid = summary["run_id"]
        stack = Stack(summary, scrape_server)
        # the run has finished: wait for a scrape that saw it finish, and for enough
        # scrapes of the run that rate() has two points in its window
        wait_until(
            "a scrape of the finished run",
            lambda: (
                query(f'policybench_run_active{{run_id="{rid}"}} == 0')
                and query(f'count_over_time(policybench_samples_done{{run_id="{rid}"}}[1m]) >= 3')
            ),
            proc=bench,
        )
        if scrape_server:
            wait_until(
                "a scrape of the server's final counters",
                lambda: query(
                    f"vllm:generation_tokens_total >= {summary['tokens']['completion']}"
                    if summary["tokens"]["completion"]
                    else "vllm:generation_tokens_total"
                ),
            )
        stack.exposition = get(f"http://127.0.0.1:{metrics_port}/metrics").decode()
        for _title, _legend, expr in dashboard_targets():
            stack.results[expr] = query(concrete(expr, rid))

        def rules_evaluated() -> list[dict[str, Any]]:
            groups = json.loads(get(api + "rules"))["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r["health"] != "unknown" for r in rules) else []

        stack.rules = wait_until("the alert rules evaluated", rules_evaluated)
        bench.send_signal(signal.SIGTERM)  # ends the linger early
        stack.bench_rc = bench.wait(timeout=30)
        bench_err.seek(0)
        stack.bench_stderr = bench_err.read()
    return stack


def test_every_policybench_panel_expression_returns_data(stack: Stack) -> None:
    assert stack.summary["status"] == "success"
    empty = [
        (title, legend, expr)
        for title, legend, expr in dashboard_targets()
        if "vllm:" not in expr and not stack.results[expr]
    ]
    assert not empty, empty


def test_every_vllm_panel_expression_returns_data(stack: Stack) -> None:
    if not stack.sim_has_vllm_metrics:
        pytest.skip("the simulated server has no vLLM /metrics yet: vLLM panels not checked")
    vllm = [(t, lg, e) for t, lg, e in dashboard_targets() if "vllm:" in e]
    assert vllm
    empty = [(t, lg, e) for t, lg, e in vllm if not stack.results[e]]
    assert not empty, empty


def _panel_values(stack: Stack, title: str) -> list[float]:
    exprs = [e for t, _lg, e in dashboard_targets() if t == title]
    assert exprs, title
    return [float(s["value"][1]) for e in exprs for s in stack.results[e]]


def test_samples_per_hour_and_accuracy_agree_with_the_run_summary(stack: Stack) -> None:
    s = stack.summary
    (sph,) = _panel_values(stack, "Samples/hour (run average)")
    assert sph == pytest.approx(s["samples_per_hour"], rel=1e-9)
    acc = {
        series["metric"]["kind"]: float(series["value"][1])
        for e in [e for t, _lg, e in dashboard_targets() if t == "Accuracy"]
        for series in stack.results[e]
    }
    assert acc["multi_policy"] == pytest.approx(s["multi_policy_accuracy"]["value"], abs=1e-12)
    assert acc["binary"] == pytest.approx(s["binary_accuracy"]["value"], abs=1e-12)
    assert acc["multi_policy"] < 1.0  # the simulator was wrong 20% of the time
    (progress,) = _panel_values(stack, "Progress")
    assert progress == 1.0


def test_alert_rules_load_and_evaluate_in_prometheus(stack: Stack) -> None:
    names = {r["name"] for r in stack.rules}
    assert {
        "PolicybenchRunStalled",
        "PolicybenchHighErrorRate",
        "PolicybenchHighParseFailureRate",
        "VllmQueueGrowing",
    } <= names
    bad = [(r["name"], r.get("lastError")) for r in stack.rules if r["health"] != "ok"]
    assert not bad, bad
    firing = [r["name"] for r in stack.rules if r.get("state") == "firing"]
    assert not firing  # a healthy short run trips nothing


def test_linger_is_ended_by_sigterm_with_the_runs_exit_code(stack: Stack) -> None:
    assert stack.bench_rc == 0, stack.bench_stderr
    assert "serving the final metrics" in stack.bench_stderr


def test_our_exposition_passes_promtool_lint(stack: Stack, tmp_path: Path) -> None:
    if PROMTOOL is None:
        pytest.skip("promtool is not installed")
    assert "policybench_run_info" in stack.exposition
    out = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=stack.exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("what", "path"),
    [
        ("config", DEPLOY / "prometheus" / "prometheus.yml"),
        ("config", DEPLOY / "k8s" / "prometheus-scrape.yml"),
        ("rules", DEPLOY / "prometheus" / "alerts.yml"),
    ],
)
def test_promtool_accepts_the_shipped_files(what: str, path: Path) -> None:
    if PROMTOOL is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    out = subprocess.run(
        [PROMTOOL, "check", what, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.vllm
def test_every_vllm_panel_expression_returns_data_from_real_vllm(vllm_stack: Stack) -> None:
    s = vllm_stack.summary
    assert s["status"] == "success" and s["errors"] == 0 and s["parse_failures"] == 0
    vllm = [(t, lg, e) for t, lg, e in dashboard_targets() if "vllm:" in e]
    assert vllm
    empty = [(t, lg, e) for t, lg, e in vllm if not vllm_stack.results[e]]
    assert not empty, empty


@pytest.mark.vllm
def test_policybench_panels_work_against_real_vllm(vllm_stack: Stack) -> None:
    empty = [
        (title, legend, expr)
        for title, legend, expr in dashboard_targets()
        if "vllm:" not in expr and not vllm_stack.results[expr]
    ]
    assert not empty, empty
    assert vllm_stack.bench_rc == 0, vllm_stack.bench_stderr
