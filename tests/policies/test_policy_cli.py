"""The policy commands: explain, handoff, responses lint, experiments report/outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from empathy_bridge.cli import cli
from empathy_bridge.policies.experiment_store import record_exposure
from empathy_bridge.policies.experiments import assign_variant
from empathy_bridge.policies.settings import ExperimentsSettings
from empathy_bridge.store import Store, fingerprint

ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}

CONFIG = """\
[store]
url = "sqlite:///eb.db"

[routing]
mode = "first"

[[routing.rules]]
name = "legal"
when = { cues_any = ["legal_threat"] }
action = "create_case"
target = "Legal Review"
target_source = "salesforce"

[[routing.rules]]
name = "upset-social"
when = { min_tier = "upset", channels = ["social"] }
action = "queue"
target = "social-care"

[[routing.rules]]
name = "catch-all"
action = "tag"
target = "reviewed"

[experiments.tone]
template = "delay.upset"
metrics = ["csat", "resolution_time"]
variants.control = { template = "delay.upset", split = 0.5 }
variants.warm = { template = "delay.upset.anxious", split = 0.5 }
"""


@pytest.fixture(scope="module", autouse=True)
def _commands() -> Iterator[None]:
    # Only while registering the built-in commands: other modules must see the real env.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
        from empathy_bridge.cli import _register_commands

        _register_commands()
        yield


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=ENV, catch_exceptions=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(CONFIG)
    return path


def test_explain_shows_which_rule_fired_and_why(build: Any, config_file: Path) -> None:
    store = Store("sqlite:///eb.db", config_file.parent)
    message = build.message("tw-1", "@acme this is the third time, fix it", channel="social")
    context = build.context("frustration", 0.7, "upset", cues=["repeated_contact"])
    with store.transaction() as conn:
        store.save_analyses(conn, [(message, fingerprint(message), context)])
    store.close()
    result = invoke("explain", "--config", str(config_file), "--interaction", "tw-1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["priority"]["priority"] == "urgent"
    assert data["priority"]["reason"].startswith("upset + public + repeated contact → urgent")
    rules = {r["rule"]: r for r in data["rules"]}
    assert rules["legal"]["note"] == "did not match: [repeated_contact] not overlap [legal_threat]"
    assert rules["upset-social"]["fired"]
    assert rules["upset-social"]["decision"]["target"] == "social-care"
    assert rules["catch-all"]["note"].startswith("not applied: rule 'upset-social' matched first")
    table = invoke("explain", "--config", str(config_file), "--interaction", "tw-1")
    assert "upset-social" in table.output and "fired" in table.output


def test_explain_of_an_unknown_interaction_is_one_line(config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "--config", str(config_file), "--interaction",
                                      "nope"], env=ENV)
    assert result.exit_code == 1
    assert result.output.strip() == ("error: interaction 'nope' is not in the store: run "
                                     "`empathy-bridge sync` first or check the id")


def test_handoff_reads_a_transcript_of_json_lines(build: Any, tmp_path: Path) -> None:
    customer = build.customer()
    lines = [
        build.message("1", "Hi, my husband died last week and the account is in his name.",
                      channel="chat", customer=customer),
        build.message("2", "I can help with account questions! What would you like to do?",
                      role="bot", channel="chat", minutes=1),
    ]
    path = tmp_path / "transcript.jsonl"
    path.write_text("\n".join(m.model_dump_json() for m in lines) + "\n")
    result = invoke("handoff", "--conversation", str(path))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["handoff"] is True
    assert "never-automate topic bereavement: 'died'" in decision["reasons"]
    assert decision["bot_attempts"] == [lines[1].text]
    assert "sorry for your loss" in decision["suggested_opening"]


def test_handoff_reads_a_conversation_object_from_stdin(build: Any) -> None:
    message = build.message("1", "Thanks, that fixed it!", channel="chat")
    conversation = build.conversation([(message, build.context("satisfaction", 0.5, "calm"))])
    result = invoke("handoff", "--conversation", "-", input=conversation.model_dump_json())
    assert json.loads(result.output)["handoff"] is False


def test_handoff_bad_input_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "no source"}\n')
    result = CliRunner().invoke(cli, ["handoff", "--conversation", str(path)], env=ENV)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}: ")
    assert result.output.count("\n") == 1


def test_responses_lint_passes_on_the_shipped_library() -> None:
    result = invoke("responses", "lint", "--json")
    assert result.exit_code == 0
    assert all(item["ok"] for item in json.loads(result.output))


def test_responses_lint_fails_on_a_cold_library(tmp_path: Path) -> None:
    (tmp_path / "cold.yaml").write_text(
        "scenario: cold\nkeywords: [refund]\ntemplates:\n  - id: cold.upset\n    tiers: [upset]\n"
        "    opening: \"As stated, refunds take 10 days.\"\n    next_step: \"[Next step: date]\"\n")
    result = CliRunner().invoke(cli, ["responses", "lint", "--library", str(tmp_path)], env=ENV)
    assert result.exit_code == 1
    assert "cold.upset" in result.output and "cold phrasing: scolding" in result.output


def test_experiments_outcome_and_report(build: Any, config_file: Path, tmp_path: Path) -> None:
    store = Store("sqlite:///eb.db", config_file.parent)
    experiment = ExperimentsSettings.model_validate(
        {"tone": {"template": "delay.upset", "metrics": ["csat"], "variants": {
            "control": {"template": "delay.upset", "split": 0.5},
            "warm": {"template": "delay.upset.anxious", "split": 0.5}}}}).root["tone"]
    outcomes = []
    for n in range(60):
        variant = assign_variant("tone", experiment, str(n))
        record_exposure(store, experiment="tone", variant=variant, source="zendesk",
                        conversation_id=str(n), template_id=experiment.variants[variant].template)
        # Known outcome: every "warm" conversation was rated good, every control one bad.
        outcomes.append(json.dumps({"source": "zendesk", "conversation_id": str(n),
                                    "metric": "csat", "value": int(variant == "warm")}))
    store.close()
    lines = tmp_path / "outcomes.jsonl"
    lines.write_text("\n".join(outcomes) + "\n")
    recorded = invoke("experiments", "outcome", "--config", str(config_file), "--input",
                      str(lines))
    assert recorded.output.strip() == "recorded 60 outcomes"
    single = invoke("experiments", "outcome", "--config", str(config_file), "--source", "zendesk",
                    "--conversation", "0", "--metric", "resolution_time", "--value", "95.5")
    assert single.output.strip() == "recorded 1 outcome"
    result = invoke("experiments", "report", "tone", "--config", str(config_file), "--json")
    report = json.loads(result.output)
    assert sum(report["exposures"].values()) == 60
    csat = next(c for c in report["comparisons"] if c["metric"] == "csat")
    assert csat["difference"] == 1.0
    assert csat["significant"] is True
    means = {o["variant"]: o["mean"] for o in report["outcomes"] if o["metric"] == "csat"}
    assert means == {"control": 0.0, "warm": 1.0}
    table = invoke("experiments", "report", "tone", "--config", str(config_file))
    assert "against the control" in table.output and "yes" in table.output


def test_experiments_report_unknown_name_is_one_line(config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["experiments", "report", "nope", "--config",
                                      str(config_file)], env=ENV)
    assert result.exit_code == 1
    assert result.output.strip() == ("error: experiment 'nope' is not in [experiments] "
                                     "(known: tone)")


def test_bad_outcome_value_is_one_line(config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["experiments", "outcome", "--config", str(config_file),
                                      "--source", "z", "--conversation", "1", "--metric", "csat",
                                      "--value", "5"], env=ENV)
    assert result.exit_code == 1
    assert result.output.strip() == ("error: metric 'csat' is binary: record 1 (yes/good) or 0, "
                                     "got 5.0")


def test_commands_are_reachable_from_the_real_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from empathy_bridge.cli import main; main()", "responses",
         "lint", "--json"],
        capture_output=True, text=True, env={**os.environ, **ENV}, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert {item["scenario"] for item in json.loads(out.stdout)} >= {
        "delay", "billing_error", "outage", "how_to", "defect", "cancellation"}
