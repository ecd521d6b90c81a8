"""The simulator answers as vLLM does: one set of good and bad requests, sent to real vLLM
and to the simulator configured like it (its served name, ``max_model_len`` 8192), must get
the same status codes and bodies of the same shape; where vLLM's message is about the
request alone (a model, a limit), the same message.  Drift on either side fails here.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from policybench.bench.sim import SimConfig, serve_in_background

from .conftest import BALANCED
from .realvllm import MAX_MODEL_LEN, SAFE_JSON, Metrics, VllmPool, http_get

pytestmark = pytest.mark.vllm

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Is this fine?"}]

#: (name, method, path, body (None: no body; bytes: sent as is), compare messages)
CASES: list[tuple[str, str, str, Any, bool]] = [
    ("good chat", "POST", CHAT, {"messages": USER, "max_tokens": 32}, False),
    ("unknown model", "POST", CHAT, {"model": "nope", "messages": USER}, True),
    (
        "unknown model, completions",
        "POST",
        "/v1/completions",
        {"model": "nope", "prompt": "hi"},
        True,
    ),
    ("max_tokens above max_model_len", "POST", CHAT, {"messages": USER, "max_tokens": 9000}, True),
    ("max_tokens zero", "POST", CHAT, {"messages": USER, "max_tokens": 0}, True),
    (
        "prompt above max_model_len",
        "POST",
        CHAT,
        {"messages": [{"role": "user", "content": "x " * 40000}], "max_tokens": 8},
        True,
    ),
    ("unknown route", "GET", "/v1/nope", None, True),
    ("unknown route, POST", "POST", "/v1/nope", {}, True),
    ("wrong method", "DELETE", CHAT, None, True),
    ("malformed JSON", "POST", CHAT, b"{not json", False),
    ("no messages", "POST", CHAT, {"max_tokens": 8}, False),
    (
        "stream on the batch route is ignored",
        "POST",
        "/v1/chat/completions/batch",
        {"messages": [USER, USER], "max_tokens": 32, "stream": True},
        False,
    ),
    ("models", "GET", "/v1/models", None, False),
]


def shape(obj: Any) -> Any:
    """The keys of every object, nested; lists by their first element; no values."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return None


def covers(real: Any, sim: Any) -> list[str]:
    """Where the simulator's body lacks a key vLLM sends (vLLM sends many extras: the
    simulator must have every key a client reads, and those are present in both)."""
    missing: list[str] = []
    if isinstance(real, dict) and isinstance(sim, dict):
        for key, value in real.items():
            if key not in sim:
                if value is not None:  # vLLM's null extras (service_tier, ...) may be absent
                    missing.append(key)
            else:
                missing += [f"{key}.{m}" for m in covers(value, sim[key])]
    elif isinstance(real, list) and isinstance(sim, list) and real and sim:
        missing += [f"[0].{m}" for m in covers(real[0], sim[0])]
    return missing


async def send(
    session: aiohttp.ClientSession, root: str, model: str, method: str, path: str, body: Any
) -> tuple[int, Any]:
    data: bytes | None
    if body is None:
        data = None
    elif isinstance(body, bytes):
        data = body
    else:
        data = orjson.dumps({"model": model, **body})
    headers = {"Content-Type": "application/json"} if data is not None else {}
    async with session.request(method, root + path, data=data, headers=headers) as resp:
        raw = await resp.read()
        return resp.status, orjson.loads(raw) if raw else None


async def test_the_simulator_answers_good_and_bad_requests_as_vllm_does(vllm: VllmPool) -> None:
    server = vllm.server(SAFE_JSON)
    config = SimConfig(
        datasets=(str(BALANCED),),
        model=server.model,
        served_models=(server.model,),
        max_model_len=MAX_MODEL_LEN,
        time_scale=0.0,
        style="json",
    )
    async with serve_in_background(config) as (sim_url, _app), aiohttp.ClientSession() as s:
        sim_root = sim_url.removesuffix("/v1")
        differences = []
        for name, method, path, body, same_message in CASES:
            real_status, real = await send(s, server.root, server.model, method, path, body)
            sim_status, sim = await send(s, sim_root, server.model, method, path, body)
            if real_status != sim_status:
                differences.append(f"{name}: status vLLM {real_status}, simulator {sim_status}")
                continue
            if real_status >= 400 and shape(real) != shape(sim):
                differences.append(f"{name}: vLLM {real}, simulator {sim}")
            elif real_status < 400 and (missing := covers(real, sim)):
                differences.append(f"{name}: the simulator lacks {missing}")
            if same_message and real != sim:
                differences.append(f"{name}: vLLM {real}, simulator {sim}")
            if name == "models":
                assert [m["id"] for m in real["data"]] == [m["id"] for m in sim["data"]]
                assert real["data"][0]["max_model_len"] == sim["data"][0]["max_model_len"]
            if name.startswith("stream on the batch"):
                assert len(real["choices"]) == len(sim["choices"]) == 2
    assert not differences, "\n".join(differences)


async def test_the_simulator_has_vllms_metric_families_with_their_types_and_labels(
    vllm: VllmPool,
) -> None:
    server = vllm.server(SAFE_JSON)
    real = Metrics.parse(http_get(server.root + "/metrics").decode())
    config = SimConfig(datasets=(str(BALANCED),), model=server.model, time_scale=0.0)
    async with (
        serve_in_background(config) as (sim_url, _app),
        aiohttp.ClientSession() as s,
        s.get(sim_url.removesuffix("/v1") + "/metrics") as resp,
    ):
        sim = Metrics.parse(await resp.text())

    def families(m: Metrics) -> dict[str, str]:
        # prometheus_client's parser reads each counter's `_created` as a gauge of its own
        return {
            n: t
            for n, t in m.families.items()
            if n.startswith("vllm:") and not n.endswith("_created")
        }

    def label_names(m: Metrics) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for name, labels in m.samples:
            if name.startswith("vllm:") and not name.endswith("_created"):
                base = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
                out.setdefault(base, set()).update(k for k, _ in labels if k != "le")
        return out

    real_f, sim_f = families(real), families(sim)
    # vLLM's info gauge of its cache config has ~40 labels of its own internals: not copied
    expected = {n: t for n, t in real_f.items() if n != "vllm:cache_config_info"}
    missing = sorted(set(expected) - set(sim_f))
    assert not missing, missing
    wrong_type = {n: (t, sim_f[n]) for n, t in expected.items() if sim_f[n] != t}
    assert not wrong_type, wrong_type
    real_l, sim_l = label_names(real), label_names(sim)
    wrong_labels = {
        n: (real_l[n], sim_l.get(n)) for n in real_l if n in sim_l and real_l[n] != sim_l[n]
    }
    assert not wrong_labels, wrong_labels
    assert len(expected) >= 35  # vLLM 0.32 exports 39 vllm: families
