"""The command layer's shape: lazy commands, options generated from RunConfig, no import circle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import click
import pytest
from click.testing import CliRunner
from policybench.bench.cli import COMMANDS, cli, load_command
from policybench.bench.config_options import config_options, config_values, flag_of
from policybench.bench.options import envvar_for
from policybench.service.config import RunConfig
from policybench.service.option_meta import Option, option_of
from pydantic import Field

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"service": "policybench.service", "bench": "policybench.bench"}


def _module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGES[folder], *rest]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: all but the bodies of ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports() -> dict[str, set[str]]:
    """Every policybench module -> the policybench modules it imports (lazy ones included)."""
    modules = {_module_name(p): p for folder in PACKAGES for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    edges.add(sub if sub in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_bench_or_service_lazy_imports_included() -> None:
    graph = _imports()
    assert len(graph) > 100  # the whole tree was read
    assert _cycles(graph) == []


def test_nothing_imports_the_cli_root_and_the_engine_never_imports_bench() -> None:
    graph = _imports()
    importers = sorted(m for m, deps in graph.items() if "policybench.bench.cli" in deps)
    assert importers == ["policybench.bench.__main__"]
    engine_to_bench = sorted(
        (m, d)
        for m, deps in graph.items()
        if m.startswith("policybench.service")
        for d in deps
        if d.startswith("policybench.bench")
    )
    assert engine_to_bench == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_bench_help_imports_no_command_module_and_no_engine() -> None:
    code = (
        "import sys\n"
        "from policybench.bench.cli import main\n"
        "sys.argv = ['bench', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('policybench.')]\n"
        "print(','.join(sorted(loaded)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(done.stderr.strip().split(","))
    # crash.py: the guard around main(), which imports nothing until something goes wrong
    assert loaded == {"policybench.bench", "policybench.bench.cli", "policybench.bench.crash"}, (
        loaded
    )
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_short_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    own = (command.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert own == COMMANDS[name][2]


def _run_command_options() -> dict[str, click.Option]:
    command = load_command("run")
    return {p.name: p for p in command.params if isinstance(p, click.Option) and p.name}


@pytest.mark.parametrize("name", [n for n, f in RunConfig.model_fields.items() if option_of(f).cli])
def test_every_run_config_field_is_a_run_option(name: str) -> None:
    field = RunConfig.model_fields[name]
    opt = _run_command_options()[name]
    flag = flag_of(name, field)
    assert flag in opt.opts
    assert opt.envvar == envvar_for(flag)
    assert opt.help == field.description
    if field.is_required():
        assert opt.default is None  # required by RunConfig; the command says when
    elif field.default is not None and not isinstance(field.default, bool):
        raw = field.default
        separator = option_of(field).separator
        shown = separator.join(raw) if separator else raw
        assert opt.default == shown or opt.default == str(shown)


def test_a_new_field_becomes_an_option_with_its_env_var() -> None:
    class Extended(RunConfig):
        failure_rule: Annotated[str, Option(metavar="RULE")] = Field(
            "wrong", description="What a failed sample counts as."
        )
        tags: Annotated[tuple[str, ...], Option(separator=",")] = Field((), description="Tags.")

    seen: dict[str, object] = {}

    @click.command()
    @config_options(Extended)
    def probe(**opts: object) -> None:
        seen.update(config_values(Extended, dict(opts)))

    env = {"POLICYBENCH_FAILURE_RULE": "flip"}
    result = CliRunner().invoke(probe, ["--dataset", "d", "--tags", "a, b"], env=env)
    assert result.exit_code == 0, result.output
    assert seen["failure_rule"] == "flip" and seen["tags"] == ("a", "b")
    assert seen["concurrency"] == "32"  # text; RunConfig converts it
    assert Extended.model_validate({**seen}).concurrency == 32
    help_text = CliRunner().invoke(probe, ["--help"]).output
    assert "--failure-rule RULE" in help_text and "POLICYBENCH_FAILURE_RULE" in help_text


def test_a_bad_value_from_an_env_var_exits_2_naming_the_option(tmp_path: Path) -> None:
    env = {**os.environ, "POLICYBENCH_MAX_ATTEMPTS": "99"}
    result = CliRunner().invoke(
        cli,
        ["run", "--dataset", "balanced", "--store", str(tmp_path / "s.sqlite"), "--sim"],
        env=env,
    )
    assert result.exit_code == 2
    assert "max-attempts" in result.output
