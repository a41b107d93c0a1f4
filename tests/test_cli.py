"""The command line, driven through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from empathy_bridge import __version__
from empathy_bridge.cli import cli, main

ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}


@pytest.fixture(scope="module", autouse=True)
def _commands() -> Iterator[None]:
    # Only for registering the built-in commands: other test modules must see the real env.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
        from empathy_bridge.cli import _register_commands

        _register_commands()
        yield


def invoke(*args: str, input: str | None = None) -> object:
    return CliRunner().invoke(cli, list(args), input=input, env=ENV, catch_exceptions=False)


def test_version() -> None:
    result = invoke("--version")
    assert __version__ in result.output  # type: ignore[attr-defined]


def test_plugins_json_lists_builtins_with_hooks() -> None:
    result = invoke("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.output)}  # type: ignore[attr-defined]
    assert "builtin.analyzer" in plugins
    assert "empathy_bridge_analyze" in plugins["builtin.analyzer"]["hooks"]
    assert all(set(p) == {"name", "version", "hooks"} for p in plugins.values())


def test_analyze_stream_keeps_going_past_bad_lines() -> None:
    lines = (
        "\n".join(
            [
                json.dumps({"id": "a", "text": "thanks, all good"}),
                "{not json",
                json.dumps({"id": 7, "text": "<b>WHY</b> is this still broken"}),
                json.dumps({"id": "x"}),
            ]
        )
        + "\n"
    )
    result = invoke("analyze", "--input", "-", input=lines)
    out = [json.loads(line) for line in result.output.splitlines()]  # type: ignore[attr-defined]
    assert [o["id"] for o in out] == ["a", None, 7, None]
    assert out[1]["error"].startswith("line 2: not JSON")
    assert "state" in out[2] and "sentiment" in out[2]


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "--config", str(tmp_path / "nope.toml")], env=ENV)
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: config file")
    assert "Traceback" not in result.output


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "eb.toml"
    invoke("init", str(path))
    result = invoke("sync", "--config", str(path), "--once", "--json")
    reports = json.loads(result.output)  # type: ignore[attr-defined]
    assert reports[0]["source"] == "example" and reports[0]["status"] == "ok"
    assert invoke("status", "--config", str(path), "--json").exit_code == 0  # type: ignore[attr-defined]
    exported = invoke("interactions", "export", "--config", str(path)).output  # type: ignore[attr-defined]
    first = json.loads(exported.splitlines()[0])
    assert {"interaction", "context"} <= set(first)
    again = CliRunner().invoke(cli, ["init", str(path)], env=ENV)
    assert again.exit_code == 1 and "--force" in again.output


def test_demo_json_summary_and_read_only_commands_after(tmp_path: Path) -> None:
    result = invoke("demo", "--workdir", str(tmp_path / "w"), "--records", "20", "--json")
    summary = json.loads(result.output)  # type: ignore[attr-defined]
    assert Path(summary["config"]).exists()
    platform = summary["platforms"]["example"]
    assert platform["pulled"] > 0 and platform["analyzed"] > 0 and platform["written"] > 0
    assert platform["api_calls"]
    listed = invoke("dead-letters", "list", "--config", summary["config"], "--json")
    assert json.loads(listed.output) == []  # type: ignore[attr-defined]


def test_real_subprocess_entry_point(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from empathy_bridge.cli import main; main()",
            "analyze",
            "I am so confused, how do I reset this?",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        check=True,
    )
    assert json.loads(out.stdout)["analyzer"]
    assert main is not None
