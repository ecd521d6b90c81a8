"""The holes a hostile trial found in ``bench serve``, each reproduced against the real app.

Policy-root escape through the verbosity, unconfined chat templates, the operator's API key
sent wherever a submitter points, keys echoed into stored errors, slow connections held
forever, and the smaller ones (long names, ``[::1]``, strict numbers, credentials in URLs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from policybench.service.api import ServiceConfig, serve
from policybench.service.errors import ConfigError
from policybench.service.policies import PolicySpec, load_policy_set, parse_policy_spec
from policybench.service.redaction import redact, url_without_credentials
from policybench.service.store import Store

from .test_service import post, service, wait_final

KEY = "sk-operator-secret-key-0123456789"


def policy_folder(root: Path, text: str = "Violence policy.") -> Path:
    folder = root / "mypol"
    (folder / "violence").mkdir(parents=True)
    (folder / "violence" / "minimal.md").write_text(f"---\ncategory: violence\n---\n{text}\n")
    return folder


def test_policy_spec_parser_never_lets_the_verbosity_name_a_path() -> None:
    assert parse_policy_spec("minimal") == PolicySpec(None, "minimal")
    assert parse_policy_spec("pol@verbose") == PolicySpec(Path("pol"), "verbose")
    assert parse_policy_spec("a@b@medium") == PolicySpec(Path("a@b"), "medium")
    # not a verbosity: the whole text is the folder, never "/some/where/secret".md
    assert parse_policy_spec("mypol@/some/where/secret") == PolicySpec(
        Path("mypol@/some/where/secret"), None
    )
    assert parse_policy_spec("pol@../../etc") == PolicySpec(Path("pol@../../etc"), None)


def test_shipped_layout_loads_with_a_verbosity() -> None:
    from policybench.service.resources import shipped

    policies = load_policy_set(f"{shipped('policies')}@minimal")
    assert "violence" in policies.categories and "formats" not in policies.categories


@pytest.mark.parametrize("suffix", ["/some/where/secret", "/etc/nonexistent-file"])
async def test_policy_verbosity_cannot_escape_the_root(
    tmp_path: Path, store: Store, suffix: str
) -> None:
    root = tmp_path / "roots"
    policy_folder(root)
    secret = tmp_path / "some" / "where"
    secret.mkdir(parents=True)
    (secret / "secret.md").write_text("---\ncategory: violence\n---\nTOP SECRET\n")
    async with (
        service(store, policy_roots=(root,)) as (url, _app),
        aiohttp.ClientSession() as s,
    ):
        given = f"mypol@{tmp_path}{suffix}"
        status, err = await post(s, f"{url}/v1/runs", {"dataset": "balanced", "policies": given})
    assert (status, err["field"]) == (400, "policies")
    assert ".md" not in err["error"]  # nothing says whether a file exists out there


@pytest.mark.parametrize("template", ["/etc/passwd", "/etc/no-such-file-here"])
async def test_chat_template_is_confined_and_errors_reveal_nothing(
    tmp_path: Path, store: Store, template: str
) -> None:
    root = tmp_path / "roots"
    policy_folder(root)
    async with (
        service(store, policy_roots=(root,)) as (url, _app),
        aiohttp.ClientSession() as s,
    ):
        body = {
            "dataset": "balanced",
            "chat_template": template,
            "batch_size": 2,
            "batch_endpoint": "completions",
        }
        status, err = await post(s, f"{url}/v1/runs", body)
    assert (status, err["field"]) == (400, "chat-template")
    # the same answer whether or not the file exists
    assert err["error"] == f"chat-template: {template}: outside the allowed roots"


async def test_a_template_under_the_policy_root_is_accepted(tmp_path: Path, store: Store) -> None:
    root = tmp_path / "roots"
    policy_folder(root)
    (root / "t.txt").write_text("<s>{{system}}\n{{user}}\n")
    async with (
        service(store, policy_roots=(root,)) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        body = {
            "dataset": "balanced",
            "chat_template": "t.txt",
            "batch_size": 2,
            "batch_endpoint": "completions",
            "base_url": "http://127.0.0.1:9/v1",
            "max_attempts": 1,
        }
        status, job = await post(s, f"{url}/v1/runs", body)
        assert status == 202
        assert job["config"]["chat_template"] == str((root / "t.txt").resolve())
        await wait_final(app, job["run_id"])


def test_an_api_key_without_an_upstream_allow_list_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="upstream"):
        ServiceConfig(api_key=KEY).check()
    assert ServiceConfig(api_key=KEY, upstreams=("http://gpu:8000/v1",)).check()
    with pytest.raises(ConfigError, match="normalised"):
        ServiceConfig(api_key=KEY, upstreams=("http://GPU:8000/v1/",)).check()


@contextlib.asynccontextmanager
async def echoing_upstream() -> AsyncIterator[tuple[str, list[str]]]:
    """A model server that rejects every request, echoing the Authorization it was sent."""
    seen: list[str] = []

    async def chat(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        seen.append(auth)
        return web.json_response({"error": {"message": f"invalid key {auth}"}}, status=401)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", seen
    finally:
        await runner.cleanup()


async def test_the_key_goes_only_to_allowed_upstreams_and_is_never_stored(
    store: Store,
) -> None:
    async with (
        echoing_upstream() as (allowed, seen),
        echoing_upstream() as (other, seen_other),
        service(store, api_key=KEY, upstreams=(allowed,)) as (url, app),
        aiohttp.ClientSession() as s,
    ):
        status, err = await post(s, f"{url}/v1/runs", {"dataset": "balanced", "base_url": other})
        assert (status, err["field"]) == (400, "base-url")
        status, err = await post(
            s, f"{url}/v1/runs", {"dataset": "balanced", "endpoints": [allowed, other]}
        )
        assert (status, err["field"]) == (400, "endpoints")
        body = {"dataset": "balanced", "limit": 2, "max_attempts": 1, "max_error_rate": 1}
        status, job = await post(s, f"{url}/v1/runs", body)  # no base_url: the first upstream
        assert status == 202
        assert job["config"]["base_url"] == allowed
        await wait_final(app, job["run_id"])
        async with s.get(f"{url}/v1/runs/{job['run_id']}/results") as resp:
            results = await resp.text()
        del app
    assert seen and all(a == f"Bearer {KEY}" for a in seen)
    assert seen_other == []
    assert KEY not in results and "invalid key Bearer ***" in results
    store.close()
    for file in store.path.parent.glob("runs.sqlite*"):
        assert KEY.encode() not in file.read_bytes()


def test_redaction_masks_known_and_key_shaped_secrets() -> None:
    text = "HTTP 401: invalid key Bearer abc.def-123 (sk-live0123456789abcdef) hf_ABCDEFGH1234"
    out = redact(text, "abc.def-123")
    assert "abc.def" not in out and "sk-live" not in out and "hf_ABCDEFGH" not in out
    assert out.startswith("HTTP 401: invalid key Bearer ***")
    assert url_without_credentials("http://u:pw@h:1/v1") == "http://***@h:1/v1"
    assert url_without_credentials("http://h:1/v1") == "http://h:1/v1"


async def test_credentials_in_a_base_url_are_not_shown_back(store: Store) -> None:
    async with service(store) as (url, app), aiohttp.ClientSession() as s:
        body = {"dataset": "balanced", "base_url": "http://user:hunter2@127.0.0.1:9/v1"}
        status, job = await post(s, f"{url}/v1/runs", {**body, "max_attempts": 1})
        assert status == 202
        async with s.get(f"{url}/v1/runs") as resp:
            listing = await resp.text()
        await wait_final(app, job["run_id"])
    assert "hunter2" not in listing and "***@127.0.0.1:9" in listing


@contextlib.asynccontextmanager
async def _no_simulator(prepared: Any) -> AsyncIterator[str]:
    raise AssertionError("a rejected submission never starts a simulator")
    yield ""  # pragma: no cover


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dataset": "x" * 5000}, "dataset"),
        ({"dataset": "a" * 300}, "dataset"),
        ({"dataset": ""}, "dataset"),
        ({"dataset": "balanced", "max_tokens": True}, "max-tokens"),
        ({"dataset": "balanced", "limit": "5"}, "limit"),
        ({"dataset": "balanced", "max_tokens": 2**63}, "max-tokens"),
        ({"dataset": "balanced", "limit": 2**63}, "limit"),
        ({"dataset": "balanced", "sim": True, "sim_seed": 10**20}, "sim-seed"),
    ],
)
async def test_bad_submissions_are_json_400s(
    store: Store, body: dict[str, Any], field: str
) -> None:
    async with (
        service(store, sim_backend=_no_simulator) as (url, _app),
        aiohttp.ClientSession() as s,
        s.post(f"{url}/v1/runs", json=body) as resp,
    ):
        assert resp.status == 400
        assert resp.content_type == "application/json"
        err = await resp.json()
    assert err["field"] == field


async def test_a_matrix_without_a_dataset_is_refused(store: Store) -> None:
    async with service(store) as (url, _app), aiohttp.ClientSession() as s:
        status, err = await post(s, f"{url}/v1/matrix", {"axes": {"model": ["a", "b"]}})
    assert status == 400 and "dataset" in err["field"]


async def test_ipv6_loopback_in_brackets_serves(store: Store) -> None:
    try:
        async with serve(ServiceConfig(host="[::1]", port=0), store) as url:
            assert url.startswith("http://[::1]:")
            async with aiohttp.ClientSession() as s, s.get(f"{url}/healthz") as resp:
                assert resp.status == 200
    except ConfigError as exc:  # a machine without IPv6: a clean error, not a traceback
        assert exc.field == "host"


async def test_an_unresolvable_host_is_a_config_error(store: Store) -> None:
    with pytest.raises(ConfigError, match="cannot listen"):
        async with serve(ServiceConfig(host="no-such-host.invalid", port=0, token="t" * 20), store):
            pass


async def _half_open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")  # no end
    await writer.drain()
    return reader, writer


async def test_half_open_connections_never_lock_out_healthz(store: Store) -> None:
    settings = ServiceConfig(port=0, max_connections=16, header_timeout=60)
    async with serve(settings, store) as url:
        port = int(url.rsplit(":", 1)[1])
        held = [await _half_open("127.0.0.1", port) for _ in range(48)]  # 3x the cap
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            for _ in range(3):
                async with s.get(f"{url}/healthz") as resp:
                    assert resp.status == 200
        # the oldest half-open connections were closed to make room
        closed = 0
        for reader, _writer in held[:16]:
            with contextlib.suppress(ConnectionError):
                closed += (await asyncio.wait_for(reader.read(), 5)) == b""
        assert closed == 16
        for _reader, writer in held:
            writer.close()


async def test_a_connection_that_never_finishes_its_headers_is_closed(store: Store) -> None:
    settings = ServiceConfig(port=0, header_timeout=0.2)
    async with serve(settings, store) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await _half_open("127.0.0.1", port)
        # closed by the server (EOF) rather than held: the read returns, well within 10 s
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert data == b""


async def test_a_body_that_never_arrives_is_a_408(store: Store) -> None:
    settings = ServiceConfig(port=0, body_timeout=0.2, header_timeout=30)
    async with serve(settings, store) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
    assert head.startswith(b"HTTP/1.1 408")
