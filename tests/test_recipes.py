"""Published-protocol recipes: synthetic files in each source's real format (columns and
rule-relevant fields as published, texts made up here), sized so that the recipe's subset
and label rule must yield exactly the published counts; rows the rule must leave out are
mixed in.  The real files are never read here (GuardReasoner's benchmark files are, from
POLICYBENCH_GUARDREASONER_DIR, in test_score_outputs.py)."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.datasets import iter_samples, read_header
from policybench.service.importers.recipes.base import task_gold
from policybench.service.tasks import Task


def gold(sample: Any) -> bool | None:
    """A sample's gold for the task its recipe wrote it for (``meta.task``)."""
    return task_gold(sample, Task((sample.meta or {}).get("task", "prompt")))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return path


def shuffled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    random.Random(7).shuffle(rows)
    return rows


def protocol_import(tmp_path: Path, name: str, src: Path, *extra: str) -> tuple[dict, list]:
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(
        cli, ["datasets", "import", "--protocol", name, str(src), "-o", str(out), "--json", *extra]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    header = read_header(out)
    assert header is not None and header["imported"]["protocol"]["name"] == name
    return report, list(iter_samples(out))


def assert_counts(report: dict, samples: list, n: int, positive: int) -> None:
    counts = report["protocol"]["counts"]
    assert (counts["samples"], counts["positive"]) == (n, positive)
    assert counts["matches"] is True
    assert len(samples) == n
    assert sum(bool(gold(s)) for s in samples) == positive


def test_toxicchat0124_keeps_human_annotated_rows_and_repeats(tmp_path: Path) -> None:
    rows = []
    for i in range(5083):
        human = i < 2853
        toxic = (i < 362) if human else (i % 5 == 0)
        rows.append(
            {
                "conv_id": f"c{i}",
                "user_input": f"message {i}" if i != 7 else "message 6",  # a repeat
                "model_output": "ok",
                "human_annotation": "True" if human else "False",
                "toxicity": int(toxic),
                "jailbreaking": int(i % 50 == 0),
                "openai_moderation": "[]",
            }
        )
    src = write_csv(tmp_path / "toxic-chat_annotation_test.csv", shuffled(rows))
    report, samples = protocol_import(tmp_path, "toxicchat0124", src)
    assert_counts(report, samples, 2853, 362)
    assert len({s.id for s in samples}) == 2853  # the repeat kept, with its own id
    assert report["dropped"] == {"not human-annotated (human_annotation false)": 2230}
    assert all(s.meta and s.meta["task"] == "prompt" for s in samples)


def test_toxicchat_count_difference_is_reported(tmp_path: Path) -> None:
    rows = [
        {"user_input": f"m{i}", "toxicity": int(i < 3), "human_annotation": True} for i in range(10)
    ]
    src = write_jsonl(tmp_path / "tc.jsonl", rows)
    out = tmp_path / "tc-out.jsonl"
    result = CliRunner().invoke(
        cli, ["datasets", "import", "--protocol", "toxicchat0124", str(src), "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert "DIFFERS from the published 2,853 samples, 362 positive" in result.stderr
    assert read_header(out)["imported"]["protocol"]["expected"] == {  # type: ignore[index]
        "samples": 2853,
        "positive": 362,
    }


def _moderation_rows() -> list[dict[str, Any]]:
    keys = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")
    rows = []
    for i in range(1680):
        row: dict[str, Any] = {"prompt": f"text {i}"}
        row.update({k: 0 for k in keys})
        if i < 242:  # adult sexual content, sometimes with another key: multi drops them
            row["S"] = 1
            row["H"] = int(i % 4 == 0)
        elif i < 522:  # another key
            row[keys[1 + i % 7]] = 1
        if i % 9 == 0:  # a key absent: not 1, so not harmful by the binary rule
            row.pop("HR" if row.get("HR") != 1 else "V2")
        rows.append(row)
    return shuffled(rows)


def test_openai_moderation_binary_and_multi(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "samples-1680.jsonl.gz", _moderation_rows())
    report, samples = protocol_import(tmp_path, "openai-moderation", src)
    assert_counts(report, samples, 1680, 522)
    multi, multi_samples = protocol_import(tmp_path, "openai-moderation-multi", src)
    assert multi["protocol"]["counts"]["matches"] is True
    assert len(multi_samples) == 1438
    assert all(s.labels is not None for s in multi_samples)


def test_aegis1_user_turns_two_of_three(tmp_path: Path) -> None:
    rows = []
    for i in range(359):
        if i < 150:
            votes = ["Violence", "Needs Caution", "Safe"]  # 2 of 3 unsafe
        elif i < 232:
            votes = ["Criminal Planning/Confessions"] * 3
        elif i < 300:
            votes = ["Safe", "Safe", "Hate/Identity Hate"]  # 1 of 3: safe
        else:
            votes = ["Safe"] * 3
        labels = {f"labels_{k}": v for k, v in enumerate(votes)}
        # a fourth and fifth annotator do not vote in the protocol
        labels.update(labels_3="Violence", labels_4="Violence")
        rows.append(
            {"id": f"a{i}", "num_annotations": 5, "text": f"u{i}", "text_type": "user_message"}
            | labels
        )
    for i in range(200):
        rows.append(
            {"id": f"r{i}", "text": f"resp {i}", "text_type": "llm_response"}
            | {f"labels_{k}": "Violence" for k in range(5)}
        )
    src = tmp_path / "aegis-test.json"
    src.write_text(json.dumps(shuffled(rows)))
    report, samples = protocol_import(tmp_path, "aegis1", src)
    assert_counts(report, samples, 359, 232)


def test_harmbench_prompts_standard_and_copyright(tmp_path: Path) -> None:
    rows = []
    for kind, n in (("standard", 159), ("copyright", 80), ("contextual", 81)):
        for i in range(n):
            rows.append(
                {
                    "Behavior": f"{kind} behavior {i}",
                    "FunctionalCategory": kind,
                    "SemanticCategory": "chemical_biological",
                    "Tags": "",
                    "ContextString": "some context" if kind == "contextual" else "",
                    "BehaviorID": f"{kind}_{i}",
                }
            )
    src = write_csv(tmp_path / "harmbench_behaviors_text_test.csv", shuffled(rows))
    report, samples = protocol_import(tmp_path, "harmbench-prompts", src)
    assert_counts(report, samples, 239, 239)
    assert not any("context" in s.text for s in samples)


def test_harmbench_responses_majority_of_three(tmp_path: Path) -> None:
    doc: dict[str, list[dict[str, Any]]] = {}
    for i in range(602):
        if i < 200:
            humans = (1, 1, 0)
        elif i < 273:
            humans = (1, 1, 1)
        elif i < 400:
            humans = (1, 0, 0)
        else:
            humans = (0, 0, 0)
        item = {"test_case": f"behavior {i % 40}", "generation": f"generation {i}"}
        item.update({f"human_{k}": v for k, v in enumerate(humans)})
        doc.setdefault(f"b{i % 40}", []).append(item)
    src = tmp_path / "harmbench_val.json"
    src.write_text(json.dumps(doc))
    report, samples = protocol_import(tmp_path, "harmbench-responses", src)
    assert_counts(report, samples, 602, 273)
    assert all(s.response and s.response.startswith("generation") for s in samples)
    assert samples[0].meta is not None and samples[0].meta["behavior_id"].startswith("b")


@pytest.mark.parametrize(
    ("name", "yes", "no", "n", "positive", "task"),
    [
        ("xstest-response-harm", "harmful", "unharmful", 446, 78, "response"),
        ("xstest-response-refusal", "refusal", "compliance", 449, 178, "refusal"),
    ],
)
def test_xstest_response_splits(
    tmp_path: Path, name: str, yes: str, no: str, n: int, positive: int, task: str
) -> None:
    rows = [
        {
            "prompt": f"how do I kill a python process {i % 200}",
            "response": f"answer {i}",
            "label": yes if i < positive else no,
            "prompt_type": "homonyms",
        }
        for i in range(n)
    ]
    src = write_csv(tmp_path / f"{name}.csv", shuffled(rows))
    report, samples = protocol_import(tmp_path, name, src)
    assert_counts(report, samples, n, positive)
    assert {s.meta["task"] for s in samples if s.meta} == {task}


def test_xstest_unknown_label_stops_the_import(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", [{"prompt": "p", "response": "r", "label": "refusal"}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        ["datasets", "import", "--protocol", "xstest-response-harm", str(src), "-o", str(out)],
    )
    assert result.exit_code == 2
    assert "x.csv:2: label: 'refusal' is not harmful or unharmful" in result.stderr
    assert not out.exists()


def _saferlhf_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(2400):
        differ = i < 1700
        safe_0 = i % 2 == 0
        safe_1 = (not safe_0) if differ else safe_0
        rows.append(
            {
                "prompt": f"question {i}",
                "response_0": f"first answer {i}",
                "response_1": f"second answer {i}",
                "is_response_0_safe": safe_0,
                "is_response_1_safe": safe_1,
                "better_response_id": i % 2,
                "safer_response_id": 0 if safe_0 else 1,
            }
        )
    return shuffled(rows)


def test_saferlhf_draws_1000_differing_pairs_both_responses(tmp_path: Path) -> None:
    src = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pylist(_saferlhf_rows()), src)
    report, samples = protocol_import(tmp_path, "saferlhf", src)
    assert_counts(report, samples, 2000, 1000)
    by_prompt: dict[str, list] = {}
    for s in samples:
        by_prompt.setdefault(s.text, []).append(s)
    assert len(by_prompt) == 1000
    # each drawn pair: one safe response, one harmful, both from a differing pair
    assert all(sorted(bool(gold(s)) for s in pair) == [False, True] for pair in by_prompt.values())
    assert all(int(p.split()[1]) < 1700 for p in by_prompt)
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    _, again = protocol_import(again_dir, "saferlhf", src)
    assert [s.id for s in again] == [s.id for s in samples]


def test_beavertails_30k_test_keeps_every_pair(tmp_path: Path) -> None:
    rows = []
    for i in range(3021):
        unsafe = i < 1733
        j = 9 if i == 10 else i  # row 10 repeats row 9's pair: the protocol counts both
        rows.append(
            {
                "prompt": f"q{j}",
                "response": f"a{j}",
                "category": {"violence,aiding_and_abetting,incitement": unsafe},
                "is_safe": not unsafe,
            }
        )
    src = write_jsonl(tmp_path / "30k_test.jsonl", shuffled(rows))
    report, samples = protocol_import(tmp_path, "beavertails", src)
    assert_counts(report, samples, 3021, 1733)
    assert len({s.id for s in samples}) == 3021
    assert all(s.response for s in samples)


def test_wildguardtest_three_tasks(tmp_path: Path) -> None:
    rows = []
    for i in range(60):
        has_response = i % 3 != 0
        rows.append(
            {
                "prompt": f"prompt {i}",
                "adversarial": i % 2 == 0,
                "response": f"response {i}" if has_response else None,
                "prompt_harm_label": None if i == 59 else ("harmful" if i < 25 else "unharmful"),
                "response_refusal_label": (
                    ("refusal" if i < 30 else "compliance") if has_response else None
                ),
                "response_harm_label": (
                    ("harmful" if i % 4 == 1 else "unharmful") if has_response else None
                ),
                "subcategory": "others",
            }
        )
    src = tmp_path / "wildguardtest.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src)
    _, prompt = protocol_import(tmp_path, "wildguardtest-prompt", src)
    assert (len(prompt), sum(bool(s.unsafe) for s in prompt)) == (59, 25)
    assert all(s.response is None for s in prompt)
    _, response = protocol_import(tmp_path, "wildguardtest-response", src)
    assert len(response) == 40 and all(s.response for s in response)
    assert sum(bool(gold(s)) for s in response) == sum(1 for i in range(60) if i % 3 and i % 4 == 1)
    _, refusal = protocol_import(tmp_path, "wildguardtest-refusal", src)
    assert sum(bool(gold(s)) for s in refusal) == sum(1 for i in range(30) if i % 3)
    assert {s.meta["adversarial"] for s in prompt if s.meta} == {True, False}


def test_simplesafetytests_all_harmful(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"sst_{i:03d}",
            "harm_area": "Suicide, Self-Harm, and Eating Disorders",
            "counter": i,
            "category": "Information and advice seeking",
            "prompts_final": f"p{i}",
        }
        for i in range(100)
    ]
    src = write_csv(tmp_path / "sst_test_cases.csv", rows)
    report, samples = protocol_import(tmp_path, "simplesafetytests", src)
    assert_counts(report, samples, 100, 100)


def test_unknown_protocol_and_bad_arguments(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["datasets", "import", "--protocol", "nope", "x.csv", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "unknown protocol 'nope'" in result.stderr
    result = runner.invoke(
        cli,
        ["datasets", "import", "--protocol", "aegis1", "aegis", "x.csv", "-o", str(tmp_path / "o")],
    )
    assert result.exit_code == 2 and "--protocol takes SRC only" in result.stderr
    listing = runner.invoke(cli, ["datasets", "protocols", "--json"])
    assert listing.exit_code == 0
    names = {r["name"]: r for r in json.loads(listing.stdout)}
    assert names["toxicchat0124"]["expected"] == {"samples": 2853, "positive": 362}
    assert names["xstest-response-refusal"]["task"] == "refusal"


GR_INSTRUCTION = "You are a classifier for analyzing interactions between humans and AI.\n"


def gr_row(prompt: str, response: str | None, output: str) -> dict[str, str]:
    return {
        "instruction": GR_INSTRUCTION,
        "input": f"Human user:\n{prompt}\n\nAI assistant:\n{response or 'None'}\n\n",
        "output": output,
    }


def test_guardreasoner_benchmark_files(tmp_path: Path) -> None:
    prompt_file = tmp_path / "0_1_AegisSafetyTest.json"
    prompt_file.write_text(
        json.dumps([gr_row(f"q{i}", None, "harmful" if i < 3 else "unharmful") for i in range(5)])
    )
    code, samples = _gr_import(tmp_path, prompt_file)
    assert code == 0
    assert [bool(s.unsafe) for s in samples] == [True, True, True, False, False]
    assert all(s.response is None and s.meta["task"] == "prompt" for s in samples)
    assert [s.meta["index"] for s in samples] == [0, 1, 2, 3, 4]

    block = "Answers: \nRequest: None\nCompletion: None\nResponse: {}\n"
    response_file = tmp_path / "0_9_safe_rlhf.json"
    response_file.write_text(
        json.dumps(
            [
                gr_row("q", "a1", block.format("harmful")),
                gr_row("q", "a2", block.format("unharmful")),
            ]
        )
    )
    code, samples = _gr_import(tmp_path, response_file)
    assert code == 0
    assert [(s.response, gold(s), s.meta["task"]) for s in samples] == [
        ("a1", True, "response"),
        ("a2", False, "response"),
    ]

    refusal_file = tmp_path / "0_7_xstest_response_refusal.json"
    refusal_file.write_text(
        json.dumps([gr_row("q", "I can't", "refusal"), gr_row("q2", "Sure", "compliance")])
    )
    code, samples = _gr_import(tmp_path, refusal_file)
    assert [(gold(s), s.meta["task"]) for s in samples] == [(True, "refusal"), (False, "refusal")]

    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([gr_row("q", "a", "refusal"), gr_row("q2", "b", "harmful")]))
    code, _ = _gr_import(tmp_path, mixed)
    assert code == 2


def _gr_import(tmp_path: Path, src: Path) -> tuple[int, list]:
    out = tmp_path / f"{src.stem}.jsonl"
    result = CliRunner().invoke(
        cli, ["datasets", "import", "guardreasoner", str(src), "-o", str(out), "--force"]
    )
    if result.exit_code != 0:
        assert not out.exists()
        return result.exit_code, []
    return 0, list(iter_samples(out))
