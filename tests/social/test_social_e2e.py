"""End to end: an outage spike on X fires one alert and opens one case; a reply to the angriest
post is held for approval, approved from the CLI, and posted once to the X sandbox.

The case goes to the Zendesk sandbox through the Zendesk adapter's ``create_case`` when that
adapter is installed and implements it, else to the Salesforce sandbox likewise, else to a
minimal in-test CRM adapter, through the same sink code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from click.testing import CliRunner

from empathy_bridge.adapter import Adapter, Decisions, FetchBatch
from empathy_bridge.cli import cli as root
from empathy_bridge.cli.demo import render_table
from empathy_bridge.defaults import social as social_plugin
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import EmpathyBridgeError
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    FieldUpdate,
    Interaction,
    WriteResult,
)
from empathy_bridge.social.cli import social_context

x_sandbox_module = pytest.importorskip("empathy_bridge_x.sandbox")


class RecordingCrm(Adapter):
    """Stand-in CRM when the Zendesk adapter cannot open cases yet."""

    name = "recording-crm"
    cases: ClassVar[dict[str, dict[str, Any]]] = {}

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        return iter(())

    def plan_writeback(self, conversation: Conversation, context: EmotionalContext,
                       decisions: Decisions) -> list[FieldUpdate]:
        return []

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        return []

    def create_case(self, interaction: Interaction, context: EmotionalContext, subject: str,
                    external_id: str) -> str:
        found = RecordingCrm.cases.setdefault(
            external_id, {"id": str(len(RecordingCrm.cases) + 1), "subject": subject,
                          "body": interaction.text})
        return str(found["id"])


class CrmPlugin:
    @hookimpl
    def empathy_bridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        register(RecordingCrm)


def crm_sandbox_factory(name: str) -> Callable[..., Any] | None:
    """The sandbox factory of CRM adapter ``name`` if it is installed and can open cases."""
    try:
        probe = Bridge.from_config(None, environ={"EMPATHY_BRIDGE_PLUGINS": name})
    except EmpathyBridgeError:
        return None  # not installed, or broken: fall back to the next CRM
    adapter = probe.adapter_classes.get(name)
    factory = probe.sandboxes().get(name)
    if adapter is None or factory is None or adapter.create_case is Adapter.create_case:
        return None
    return factory


def case_count(stats: dict[str, Any]) -> int:
    """Cases/tickets a CRM sandbox holds, from its ``/_sandbox/stats``."""
    for key in ("cases", "tickets", "records_created", "tickets_created"):
        if isinstance(stats.get(key), int):
            return int(stats[key])
    raise AssertionError(f"no case count in sandbox stats: {sorted(stats)}")


def toml_table(name: str, table: dict[str, Any]) -> str:
    return render_table(name, table)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    RecordingCrm.cases = {}
    with ExitStack() as stack:
        x = stack.enter_context(x_sandbox_module.XSandbox(seed=21))
        environ = {**x.demo_environment(), "EMPATHY_BRIDGE_PLUGINS": "x"}
        crm_table: dict[str, Any] = {"adapter": "recording-crm"}
        plugins: tuple[object, ...] = (CrmPlugin(),)
        crm = None
        for name in ("zendesk", "salesforce"):
            factory = crm_sandbox_factory(name)
            if factory is None:
                continue
            crm = stack.enter_context(factory(seed=21))
            crm_table = crm.demo_source_config()
            environ = {**environ, **crm.demo_environment(),
                       "EMPATHY_BRIDGE_PLUGINS": f"x,{name}"}
            plugins = ()
            break
        config = "\n\n".join([
            toml_table("store", {"url": f"sqlite:///{tmp_path / 'eb.db'}"}),
            toml_table("sources.x", x.demo_source_config()),
            toml_table("sources.helpdesk", {**crm_table, "writeback": False}),
            """
[[social.sinks]]
kind = "case"
name = "crm"
source = "helpdesk"

[[social.rules]]
name = "outage-spike"
kind = "spike"
match = { terms = ["outage", "down"] }
window_minutes = 60
baseline_windows = 6
factor = 3.0
min_count = 5
sinks = ["log", "crm"]
"""])
        path = tmp_path / "empathy-bridge.toml"
        path.write_text(config, encoding="utf-8")
        # The operators' CLI config: the same store and X source (an in-test CRM adapter
        # cannot be loaded by the command line, which only knows installed plugins).
        cli_path = tmp_path / "replies.toml"
        cli_path.write_text("\n\n".join(config.split("\n\n")[:2]), encoding="utf-8")
        yield {"x": x, "crm": crm, "environ": environ, "plugins": plugins,
               "config": path, "cli_config": cli_path}


def test_outage_spike_to_alert_case_and_approved_reply(world: dict[str, Any]) -> None:
    x, environ, path = world["x"], world["environ"], world["config"]
    bridge = Bridge.from_config(path, environ=environ, plugins=world["plugins"])
    try:
        assert bridge.sync("x").status == "ok"
        crm = world["crm"]
        cases_before = case_count(crm.stats()) if crm is not None else 0
        with social_context(path, environ, plugins=world["plugins"]) as ctx:
            quiet = ctx.ops.run()
            assert quiet.alerts == [] and quiet.seen > 10
            x.inject_outage_spike(15)
            assert bridge.sync("x").pulled == 15
            spike = ctx.ops.run()
            again = ctx.ops.run(datetime.now(UTC) + timedelta(minutes=5))
        assert len(spike.alerts) == 1 and spike.errors == []
        assert again.alerts == [] and again.cases == []
        assert len(spike.cases) == 1
        if crm is not None:
            assert case_count(crm.stats()) == cases_before + 1, "one case in the CRM sandbox"
        else:
            [case] = RecordingCrm.cases.values()
            assert "Listening rule 'outage-spike' fired" in case["body"]
            assert "Public thread: https://x.com/" in case["body"]
        # The angriest customer post gets a drafted reply that must wait for approval.
        posts = [(i, c) for i, c in bridge.store.iter_interactions("x")
                 if i.author_role is AuthorRole.CUSTOMER and c is not None]
        angriest, _ = min(posts, key=lambda p: (p[1].sentiment, p[0].native_id))
    finally:
        bridge.close()

    social_plugin.empathy_bridge_register_commands(cli=root)
    runner = CliRunner()
    path = world["cli_config"]

    def run(*args: str) -> Any:
        result = runner.invoke(root, [*args, "--config", str(path)], env=environ,
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    reply = "We're so sorry. That is not OK, and we want to fix it today: could you DM us?"
    run("replies", "draft", "--source", "x", "--to", angriest.native_id, "--text", reply,
        "--by", "alice")
    [draft] = json.loads(run("replies", "list", "--status", "pending", "--json").output)
    assert draft["in_reply_to"] == angriest.native_id and draft["needs_approval"]
    assert "nothing to post" in run("replies", "post").output
    assert "approved" in run("replies", "approve", draft["id"], "--by", "bob").output
    assert f"{draft['id']}: posted as" in run("replies", "post").output
    assert "nothing to post" in run("replies", "post").output
    posted = httpx.get(f"{x.url}/_sandbox/posted").json()["posted"]
    assert [(p["in_reply_to_tweet_id"], p["text"]) for p in posted] == [
        (angriest.native_id, reply)]
    audit = json.loads(run("replies", "audit", "--since", "2000-01-01", "--json").output)
    assert [(m["member"], m["replies"]) for m in audit["members"]] == [("alice", 1)]
    shown = run("replies", "show", draft["id"]).output
    assert "approved by bob" in shown and "posted as" in shown


def test_cli_errors_are_one_line(world: dict[str, Any]) -> None:
    social_plugin.empathy_bridge_register_commands(cli=root)
    result = CliRunner().invoke(root, ["replies", "approve", "d_nothere", "--by", "bob",
                                       "--config", str(world["cli_config"])],
                                 env=world["environ"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: no draft 'd_nothere': see `empathy-bridge replies list`")
