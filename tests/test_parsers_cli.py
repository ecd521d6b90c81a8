"""``bench parse``: JSON lines in, one verdict per line out, counts on stderr, exit codes."""

from __future__ import annotations

import orjson
from click.testing import CliRunner
from policybench.bench.cli import cli


def _run(args: list[str], stdin: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["parse", *args], input=stdin)
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_parse_writes_one_verdict_per_line_with_its_id_and_counts_on_stderr() -> None:
    stdin = "\n".join(
        [
            '{"id": "a", "text": "unsafe\\nS1,S10"}',
            '{"id": 7, "text": "safe"}',
            '{"id": "c", "text": null, "finish_reason": "length"}',
            '{"text": "I\'m sorry, I can\'t help with that."}',
        ]
    )
    code, out, err = _run(["--format", "llama_guard3", "--field", "text"], stdin)
    assert code == 0
    assert out[0] == {"id": "a", "ok": True, "categories": ["hate_speech", "violence"]}
    assert out[1] == {"id": 7, "ok": True, "categories": []}
    assert out[2]["ok"] is False and "token limit" in str(out[2]["reason"])
    assert out[3] == {"id": None, "ok": False, "reason": "refusal"}
    assert "4 answers: safe 1, violation 1, failure 2" in err


def test_parse_with_a_target_reads_one_policy_answers() -> None:
    code, out, _ = _run(
        ["--format", "violation_safe", "--target", "violence"], '{"content": "**VIOLATION**"}\n'
    )
    assert code == 0 and out == [{"id": None, "ok": True, "categories": ["violence"]}]


def test_bad_input_line_exits_2_naming_line_and_field_and_writes_nothing() -> None:
    code, out, err = _run(["--format", "json"], '{"content": "{}"}\n{"other": 1}\n')
    assert code == 2 and out == []
    assert "stdin:2" in err and "content" in err
    code, out, err = _run(["--format", "json"], "not json\n")
    assert code == 2 and "stdin:1" in err


def test_unknown_format_exits_2_and_help_lists_formats() -> None:
    code, _, err = _run(["--format", "nope"], "")
    assert code == 2 and "nope" in err
    help_text = CliRunner().invoke(cli, ["parse", "--help"]).stdout
    for fmt in ("llama_guard4", "wildguard", "guardreasoner", "qwen3guard", "valid_invalid"):
        assert fmt in help_text


def test_parse_task_picks_the_line_of_a_multi_part_answer() -> None:
    answer = orjson.dumps(
        {"content": "Answers: \nRequest: harmful\nCompletion: refusal\nResponse: unharmful"}
    ).decode()
    verdicts = {}
    for task in ("prompt", "response", "refusal"):
        code, out, _ = _run(["--format", "guardreasoner", "--task", task], answer + "\n")
        assert code == 0
        verdicts[task] = out[0]["categories"]
    assert verdicts == {"prompt": ["unmapped"], "response": [], "refusal": ["unmapped"]}
    code, _, _ = _run(["--format", "guardreasoner", "--task", "nonsense"], answer + "\n")
    assert code == 2
