"""The three tasks (prompt harm, response harm, refusal) and multi-turn samples, end to end:
the dataset format and its validation, the gold each task scores, the prompt each task
sends (real role turns on chat routes), the simulator answering from the task's gold, and
GuardReasoner's prompt-only answers read on the right line.  Servers are real: the
simulator, and a recording aiohttp app on a loopback port."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.config import build_run_config
from policybench.service.datasets import iter_samples, scan
from policybench.service.errors import ConfigError, DatasetError
from policybench.service.runner import Run, prepare
from policybench.service.store import Store
from policybench.service.tasks import Task

from .conftest import BALANCED, SimFactory

CATS = ("hate_speech", "violence", "self_harm", "sexual_minors", "harassment", "illegal")


def three_task_dataset(tmp_path: Path, n: int = 60) -> Path:
    """Samples whose prompt, response and refusal gold differ, some of them multi-turn."""
    lines = []
    for i in range(n):
        prompt_unsafe = i % 2 == 0
        refused = prompt_unsafe and i % 4 == 0  # half the harmful requests are refused
        response_unsafe = prompt_unsafe and not refused and i % 3 != 0
        obj: dict[str, Any] = {
            "id": f"t{i}",
            "labels": [CATS[i % 6]] if prompt_unsafe else [],
            "response_unsafe": response_unsafe,
            "refusal": refused,
            "source": "multi" if i % 5 == 0 else "single",
            "meta": {"turns": 3 if i % 5 == 0 else 1},
        }
        reply = "I can't help with that." if refused else f"Here is how, step {i}."
        if i % 5 == 0:
            obj["messages"] = [
                {"role": "user", "content": f"hello, earlier question {i}"},
                {"role": "assistant", "content": "Sure, ask away."},
                {"role": "user", "content": f"request number {i}"},
                {"role": "assistant", "content": reply},
            ]
        else:
            obj["text"] = f"request number {i}"
            obj["response"] = reply
        lines.append(orjson.dumps(obj))
    path = tmp_path / "three.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def gold_of_task(path: Path, task: Task) -> dict[str, bool]:
    out = {}
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        out[obj["id"]] = {
            Task.PROMPT: bool(obj["labels"]),
            Task.RESPONSE: obj["response_unsafe"],
            Task.REFUSAL: obj["refusal"],
        }[task]
    return out


# -- the format ---------------------------------------------------------------------------
def write(path: Path, *objs: object) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return path


@pytest.mark.parametrize(
    ("obj", "field", "problem"),
    [
        (
            {"text": "a", "messages": [{"role": "user", "content": "b"}], "labels": []},
            "text",
            "not both",
        ),
        (
            {"messages": [{"role": "system", "content": "b"}], "labels": []},
            "messages[0].role",
            "must be one of",
        ),
        (
            {"messages": [{"role": "user", "content": ""}], "labels": []},
            "messages[0].content",
            "non-empty",
        ),
        ({"messages": [], "labels": []}, "messages", "non-empty list"),
        (
            {"messages": [{"role": "assistant", "content": "x"}], "refusal": True},
            "messages",
            "user turn",
        ),
        ({"text": "a", "refusal": True}, "refusal", "no `response`"),
        (
            {"text": "a", "response": "b", "response_unsafe": "yes"},
            "response_unsafe",
            "true or false",
        ),
        (
            {
                "text": "a",
                "response": "b",
                "response_labels": ["violence"],
                "response_unsafe": False,
            },
            "response_unsafe",
            "contradicts",
        ),
        (
            {"text": "a", "response": "b", "response_labels": ["nope"]},
            "response_labels",
            "unknown category",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}], "response": "b", "labels": []},
            "response",
            "last assistant turn",
        ),
    ],
)
def test_bad_task_fields_name_file_line_and_field(
    tmp_path: Path, obj: dict[str, Any], field: str, problem: str
) -> None:
    path = write(tmp_path / "bad.jsonl", {"text": "fine", "labels": []}, obj)
    with pytest.raises(DatasetError) as err:
        scan(path, frozenset(CATS))
    assert err.value.line == 2 and err.value.field == field
    assert problem in str(err.value)
    code = CliRunner().invoke(cli, ["datasets", "validate", str(path)])
    assert code.exit_code == 2
    assert f"bad.jsonl:2: {field}:" in code.output


def test_multi_turn_and_task_gold_are_read(tmp_path: Path) -> None:
    path = three_task_dataset(tmp_path)
    samples = {s.id: s for s in iter_samples(path, frozenset(CATS))}
    multi = samples["t0"]
    assert multi.messages is not None and len(multi.messages) == 4
    assert multi.text == "request number 0"  # the last user turn
    assert multi.response == "I can't help with that."  # the assistant turn after it
    assert (multi.refusal, multi.response_unsafe) == (True, False)
    info = scan(path, frozenset(CATS))
    assert info.task_gold == {"prompt": 60, "response": 60, "refusal": 60}
    assert (info.multi_turn, info.with_response) == (12, 60)
    # gold-only-for-one-task samples are valid (backward compatible: labels stay optional
    # only when another task's gold is given)
    only = write(tmp_path / "only.jsonl", {"text": "a", "response": "b", "refusal": False})
    assert scan(only).task_gold == {"prompt": 0, "response": 0, "refusal": 1}


def test_old_samples_keep_their_fingerprint(tmp_path: Path) -> None:
    """A file without the new fields hashes exactly as before they existed."""
    obj = {"id": "a1", "text": "hello", "labels": ["violence"], "response": "ok"}
    path = write(tmp_path / "old.jsonl", obj)
    sample = next(iter_samples(path))
    canon = {
        "id": "a1",
        "text": "hello",
        "labels": ["violence"],
        "unsafe": True,
        "unknown": [],
        "response": "ok",
    }
    expected = hashlib.sha256(orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)).digest()
    assert sample.digest() == expected


def test_validate_json_shows_task_counts(tmp_path: Path) -> None:
    path = three_task_dataset(tmp_path)
    out = CliRunner().invoke(cli, ["datasets", "validate", str(path), "--json"])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    assert data["tasks"] == {"prompt": 60, "response": 60, "refusal": 60}
    assert data["multi_turn"] == 12 and data["with_response"] == 60


# -- running each task ----------------------------------------------------------------------
async def task_run(sim: SimFactory, store: Store, path: Path, task: Task, **kw: Any) -> Any:
    error_rate = kw.pop("error_rate", 0.0)
    served = {"model": kw["model"]} if "model" in kw else {}  # it must serve the run's model
    async with sim(datasets=[path], error_rate=error_rate, seed=5, **served) as (url, _app):
        config = build_run_config(
            {"dataset": str(path), "base_url": url, "concurrency": 16, "task": task, **kw}
        )
        return await Run(prepare(config), store).execute()


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("strategy", ["multi", "gauntlet"])
async def test_each_task_is_answered_and_scored_from_its_own_gold(
    sim: SimFactory, store: Store, tmp_path: Path, task: Task, strategy: str
) -> None:
    path = three_task_dataset(tmp_path)
    result = await task_run(sim, store, path, task, strategy=strategy)
    s = result.summary.to_json()
    gold = gold_of_task(path, task)
    # an error-free simulated model answering from the task's gold: every sample right,
    # although the three tasks' gold differ (a model answering the wrong task could not)
    assert s["binary_accuracy"]["value"] == 1.0, s["outcomes"]
    assert s["binary_f1"]["value"] == 1.0
    assert s["binary_counts"]["tp"] == sum(gold.values())
    assert s["task"] == task
    for record in store.iter_records(result.run_id):
        assert record["gold"]["unsafe"] == gold[record["sample_id"]]
    differs = [t for t in Task if t != task and gold_of_task(path, t) != gold]
    assert differs  # the test would catch an answer from another task's gold


async def test_task_with_errors_scores_f1_against_the_task_gold(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    path = three_task_dataset(tmp_path)
    result = await task_run(sim, store, path, Task.RESPONSE, error_rate=0.3)
    gold = gold_of_task(path, Task.RESPONSE)
    tp = fp = fn = 0
    for r in store.iter_records(result.run_id):
        flagged = (not gold[r["sample_id"]]) if r["predicted"] is None else bool(r["predicted"])
        tp += gold[r["sample_id"]] and flagged
        fp += (not gold[r["sample_id"]]) and flagged
        fn += gold[r["sample_id"]] and not flagged
    assert fp + fn > 0
    assert result.summary.to_json()["binary_f1"]["value"] == pytest.approx(
        2 * tp / (2 * tp + fp + fn)
    )


@asynccontextmanager
async def recording_server(answer: str) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A real OpenAI-compatible server that keeps every request body it gets."""
    bodies: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        bodies.append(body)
        return web.json_response(
            {
                "choices": [{"index": 0, "message": {"content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1", bodies
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("task", "roles"),
    [
        (Task.PROMPT, ["system", "user", "assistant", "user"]),
        (Task.RESPONSE, ["system", "user", "assistant", "user", "assistant"]),
        (Task.REFUSAL, ["system", "user", "assistant", "user", "assistant"]),
    ],
)
async def test_conversations_reach_the_model_as_role_turns(
    store: Store, tmp_path: Path, task: Task, roles: list[str]
) -> None:
    path = three_task_dataset(tmp_path, 10)
    async with recording_server('{"violations": []}') as (url, bodies):
        config = build_run_config(
            {"dataset": str(path), "base_url": url, "concurrency": 2, "task": task}
        )
        result = await Run(prepare(config), store).execute()
    assert result.summary.to_json()["completed"] == 10
    by_text = {}
    for body in bodies:
        msgs = body["messages"]
        by_text[msgs[-1]["content"] if task is Task.PROMPT else msgs[-2]["content"]] = msgs
    multi = by_text["request number 0"]
    assert [m["role"] for m in multi] == roles
    assert multi[1]["content"] == "hello, earlier question 0"
    single = next(b["messages"] for b in bodies if "earlier question" not in str(b["messages"]))
    if task is Task.PROMPT:
        # a single-turn sample is one user message, as before the tasks existed
        assert [m["role"] for m in single] == ["system", "user"]
        assert single[0]["content"].count("judge only the assistant") == 0
    else:
        assert [m["role"] for m in single] == ["system", "user", "assistant"]
        assert "the assistant's last reply" in single[0]["content"]


def test_task_mismatch_is_a_usage_error(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.sqlite")
    out = CliRunner().invoke(
        cli, ["run", "--sim", "--dataset", str(BALANCED), "--task", "refusal", "--store", db]
    )
    assert out.exit_code == 2
    assert "task: refusal: no sample of" in out.output
    with pytest.raises(ConfigError):
        build_run_config({"dataset": "x", "task": "harm"})
    partial = write(
        tmp_path / "partial.jsonl",
        {"text": "a", "response": "b", "response_unsafe": True},
        {"text": "c", "labels": []},
    )
    with pytest.raises(DatasetError) as err:
        prepare(build_run_config({"dataset": str(partial), "task": "response"}))
    assert err.value.line == 2 and err.value.field == "response"


async def test_guardreasoner_prompt_only_answers_are_read_on_the_request_line(
    sim: SimFactory, store: Store, tmp_path: Path
) -> None:
    """GuardReasoner's published prompt-only answers end `Request: harmful / Completion:
    refusal / Response: unharmful`; reading `Response:` scored harmful requests as safe."""
    lines = [{"id": f"h{i}", "text": f"harmful request {i}", "unsafe": True} for i in range(30)] + [
        {"id": f"b{i}", "text": f"benign request {i}", "unsafe": False} for i in range(10)
    ]
    path = write(tmp_path / "sst.jsonl", *lines)
    model = "yueliu1999/GuardReasoner-8B"
    async with sim(datasets=[path], error_rate=0.0, seed=1, model=model) as (url, _app):
        config = build_run_config(
            {
                "dataset": str(path),
                "base_url": url,
                "model": model,
                "concurrency": 8,
            }
        )
        result = await Run(prepare(config), store).execute()
    s = result.summary.to_json()
    misleading = [
        r
        for r in store.iter_records(result.run_id)
        if r["gold"]["unsafe"] and "Response: unharmful" in (r["parts"][0]["content"] or "")
    ]
    assert len(misleading) >= 5  # the published case occurred ...
    assert s["binary_f1"]["value"] == 1.0  # ... and was read on the Request line
    assert s["binary_counts"]["fn"] == 0 and s["parse_failures"] == 0


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("model", ["allenai/wildguard", "yueliu1999/GuardReasoner-8B"])
async def test_three_line_guards_are_read_on_the_tasks_line(
    sim: SimFactory, store: Store, tmp_path: Path, task: Task, model: str
) -> None:
    """The parser gets the run's task: a WildGuard or GuardReasoner answer carries all three
    verdicts, and only the task's line scores right against the task's gold."""
    path = three_task_dataset(tmp_path)
    result = await task_run(sim, store, path, task, model=model)
    s = result.summary.to_json()
    assert s["parse_failures"] == 0, s["outcomes"]
    assert s["binary_accuracy"]["value"] == 1.0
    lines = {r["parts"][0]["content"] for r in store.iter_records(result.run_id)}
    assert any("\n" in line for line in lines)  # multi-line answers, not a single verdict


@pytest.mark.parametrize("route", ["chat-batch", "completions"])
async def test_multi_turn_through_the_batch_routes(
    sim: SimFactory, store: Store, tmp_path: Path, route: str
) -> None:
    """Role turns on the batch chat route; a transcript where a client-side template renders
    one user message (the completions route)."""
    path = three_task_dataset(tmp_path)
    result = await task_run(sim, store, path, Task.RESPONSE, batch_size=8, batch_endpoint=route)
    assert result.summary.to_json()["binary_accuracy"]["value"] == 1.0
    assert result.summary.to_json()["completed"] == 60
