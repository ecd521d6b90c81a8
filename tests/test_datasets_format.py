"""The JSONL format, `bench datasets validate|show|list`, the shipped sets and the catalog."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from policybench.bench.cli import cli
from policybench.service.catalog import load_catalog
from policybench.service.datasets import iter_samples, resolve, scan
from policybench.service.errors import DatasetError
from policybench.service.resources import shipped

from .conftest import seed_file


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["datasets", *args])
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_shipped_sets_match_the_issue() -> None:
    balanced = scan(resolve("balanced"))
    larger = scan(resolve("larger"))
    assert (balanced.count, larger.count) == (90, 270)
    texts = [s.text for s in iter_samples(resolve("larger"))]
    assert len(set(texts)) == 270  # distinct samples, not copies
    assert larger.label_sets["safe"] == 126 and larger.label_sets["illegal+violence"] == 12
    assert balanced.label_sets == Counter(
        {
            "safe": 42,
            "hate_speech": 8,
            "self_harm": 8,
            "sexual_minors": 8,
            "harassment": 8,
            "illegal": 8,
            "violence": 4,
            "illegal+violence": 4,
        }
    )


def test_catalog_lists_shipped_sets_with_true_sizes() -> None:
    entries = {e.name: e for e in load_catalog()}
    for name in ("balanced", "larger"):
        assert entries[name].kind == "shipped"
        assert entries[name].path is not None
        assert int(entries[name].samples) == scan(entries[name].path).count
    from policybench.service.importers import IMPORTERS

    for e in entries.values():
        assert e.licence and e.url
        if e.kind == "public":
            assert e.importer in IMPORTERS
    code, out, _err = invoke("list", "--json")
    assert code == 0 and {d["name"] for d in json.loads(out)} >= {"wildguardmix", "xstest"}


def test_validate_ok_and_errors_name_file_line_field(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good.jsonl",
        {"id": "a", "text": "hello", "labels": []},
        {"id": "b", "text": "bad", "unsafe": True},
    )
    code, out, _ = invoke("validate", str(good))
    assert code == 0 and "2 samples" in out and "1 with unknown labels" in out
    bad = write(
        tmp_path / "bad.jsonl",
        {"id": "a", "text": "hello", "labels": []},
        {"id": "b", "text": "x", "labels": ["not_a_category"]},
    )
    code, _out, err = invoke("validate", str(bad))
    assert code == 2 and f"{bad}:2: labels: unknown category 'not_a_category'" in err
    assert invoke("validate", str(bad), "--any-category")[0] == 0
    typo = write(tmp_path / "typo.jsonl", {"id": "a", "text": "t", "lables": []})
    code, _out, err = invoke("validate", str(typo))
    assert code == 2 and f"{typo}:1: lables: unknown field" in err
    dupe = write(
        tmp_path / "dupe.jsonl",
        {"id": "a", "text": "one", "labels": []},
        "",
        {"id": "a", "text": "two", "labels": []},
    )
    code, _out, err = invoke("validate", str(dupe))
    assert code == 2 and f"{dupe}:3: id: duplicate id 'a' (first on line 1)" in err
    (tmp_path / "utf.jsonl").write_bytes(b'{"id": "a", "text": "caf\xe9", "labels": []}\n')
    code, _out, err = invoke("validate", str(tmp_path / "utf.jsonl"))
    assert code == 2 and "utf.jsonl:1: invalid UTF-8" in err
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert invoke("validate", str(tmp_path / "empty.jsonl"))[0] == 2


def test_header_line_is_versioned(tmp_path: Path) -> None:
    ok = write(
        tmp_path / "h.jsonl",
        {"policybench_dataset": 1, "name": "x"},
        {"id": "a", "text": "hello", "labels": []},
    )
    assert scan(ok).count == 1 and scan(ok).header == {"policybench_dataset": 1, "name": "x"}
    newer = write(
        tmp_path / "n.jsonl", {"policybench_dataset": 2}, {"id": "a", "text": "t", "labels": []}
    )
    with pytest.raises(DatasetError, match=r"n.jsonl:1: policybench_dataset: format version 2"):
        scan(newer)
    late = write(
        tmp_path / "l.jsonl", {"id": "a", "text": "t", "labels": []}, {"policybench_dataset": 1}
    )
    with pytest.raises(DatasetError, match=r"l.jsonl:2: policybench_dataset: .*first line"):
        scan(late)


def test_fingerprint_is_content_not_file(tmp_path: Path) -> None:
    rows = [
        {"id": f"s{i}", "text": f"text {i}", "labels": [] if i % 2 else ["violence"]}
        for i in range(20)
    ]
    a = write(tmp_path / "a.jsonl", *rows)
    b = write(tmp_path / "b.jsonl", {"policybench_dataset": 1}, *reversed(rows))
    c = write(tmp_path / "c.jsonl", *[dict(r, source="elsewhere", meta={"k": 1}) for r in rows])
    assert scan(a).fingerprint == scan(b).fingerprint == scan(c).fingerprint
    d = write(tmp_path / "d.jsonl", *rows[:-1], dict(rows[-1], labels=["illegal"]))
    assert scan(d).fingerprint != scan(a).fingerprint


def test_show_reports_counts_sources_lengths(tmp_path: Path) -> None:
    code, out, _ = invoke("show", "balanced", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["samples"] == 90 and shown["safe"] == 42 and shown["unsafe"] == 48
    assert shown["categories"]["illegal"] == 12  # 8 alone + 4 with violence
    assert shown["sources"] == {"policybench-synthetic": 90}
    lengths = shown["text_length"]
    assert lengths["min"] <= lengths["p50"] <= lengths["p90"] <= lengths["max"]
    code, out, _ = invoke("show", "balanced")
    assert code == 0 and "fingerprint" in out and "hate_speech" in out
    code, out, _ = invoke("show", "xstest")
    assert code == 0 and "bench datasets import xstest" in out


def test_show_seed_wildguard_json_as_is() -> None:
    src = seed_file("wildguard_benchmark.json")
    code, out, err = invoke("show", str(src), "--json")
    assert code == 0, err
    assert json.loads(out)["label_sets"] == {
        "illegal": 131,
        "hate_speech": 60,
        "safe": 53,
        "violence": 20,
        "self_harm": 19,
        "harassment": 17,
    }


def test_shipped_mappings_and_catalog_are_package_data() -> None:
    import tomllib

    doc = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    data = doc["tool"]["setuptools"]["package-data"]["policybench.datasets"]
    assert "mappings/*.toml" in data and "*.toml" in data
    assert "policybench.service.importers" in doc["tool"]["setuptools"]["packages"]
    assert sorted(p.name for p in (shipped("datasets") / "mappings").glob("*.toml"))
