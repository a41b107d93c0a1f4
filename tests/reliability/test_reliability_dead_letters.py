"""Dead letters: stored with payload, error, stage, plugin and analyzer version; list, show,
replay (a success removes it) and purge."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from empathy_bridge import hookimpl
from empathy_bridge.adapter import Adapter
from empathy_bridge.cli import _register_commands, cli
from empathy_bridge.config import BridgeConfig
from empathy_bridge.defaults.example_source import ExampleAdapter, ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.schemas import Cue, EmotionalContext, FieldUpdate, Interaction, WriteResult

_n = itertools.count()
ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}


class PoisonAnalyzer:
    """Fails on messages containing POISON while ``broken``; defers to the built-in otherwise."""

    broken: ClassVar[bool] = True

    @hookimpl(tryfirst=True)
    def empathy_bridge_analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        config: BridgeConfig,
    ) -> list[EmotionalContext] | None:
        if PoisonAnalyzer.broken and any("POISON" in i.text for i in interactions):
            raise ValueError("cannot read this message")
        return None


class Rejecting(ExampleAdapter):
    """The platform rejects writes to records listed in ``locked`` (e.g. a closed ticket)."""

    name = "rejecting"
    locked: ClassVar[set[str]] = set()

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        ok = [u for u in updates if u.record_id not in Rejecting.locked]
        results = super().apply(ok) if ok else []
        return results + [
            WriteResult(
                record_id=r, success=False, error="Ticket is closed", error_code="RecordInvalid"
            )
            for r in sorted({u.record_id for u in updates} & Rejecting.locked)
        ]


class AdapterPlugin:
    @hookimpl
    def empathy_bridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        register(Rejecting)


@pytest.fixture(autouse=True)
def _reset() -> None:
    PoisonAnalyzer.broken = True
    Rejecting.locked = set()


def _config_file(tmp_path: Path, desk: str, adapter: str = "rejecting") -> Path:
    path = tmp_path / "dl.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n\n'
        f'[sources.desk]\nadapter = "{adapter}"\ndesk = "{desk}"\ntickets = 12\n',
        encoding="utf-8",
    )
    return path


def _poisoned_desk() -> str:
    name = f"dl-{next(_n)}"
    desk = ExampleDesk.named(name, tickets=12)
    desk.add_ticket(
        "p1",
        [
            {
                "id": "p1-0",
                "author": "cust-p",
                "role": "customer",
                "body": "POISON: my order never arrived and I'm upset",
                "at": "2026-11-01T12:00:00+00:00",
            }
        ],
    )
    return name


def test_an_analysis_failure_is_stored_whole_and_replays(tmp_path: Path) -> None:
    desk = _poisoned_desk()
    poison = PoisonAnalyzer()
    bridge = Bridge.from_config(
        _config_file(tmp_path, desk, "example"), environ=ENV, plugins=[poison]
    )
    with bridge:
        report = bridge.sync("desk")
        assert report.status == "ok" and report.dead_letters == 1
        (letter,) = bridge.store.dead_letters()
        assert letter.stage == "analyze" and letter.native_id == "p1-0"
        assert "ValueError: cannot read this message" in letter.error
        assert letter.plugin == bridge.pm.get_name(poison)
        assert letter.analyzer_version  # the version that analysed the rest of the batch
        assert Interaction.model_validate_json(letter.payload or "").text.startswith("POISON")
        # Re-fetching the unchanged message does not retry it on every cycle.
        assert bridge.sync("desk").dead_letters == 0
        assert bridge.replay_dead_letter(letter) is False  # still broken: kept
        assert bridge.store.dead_letter_count() == 1
        PoisonAnalyzer.broken = False
        assert bridge.replay_dead_letter(letter) is True
        assert bridge.store.dead_letter_count() == 0
        stored = bridge.store.get_interaction("p1-0", "desk")
        assert stored is not None and stored[1] is not None
    ExampleDesk.drop(desk)


def test_a_rejected_write_is_dead_lettered_and_replayed(tmp_path: Path) -> None:
    desk = f"dl-{next(_n)}"
    Rejecting.locked = {"3"}
    with Bridge.from_config(
        _config_file(tmp_path, desk), environ=ENV, plugins=[AdapterPlugin()]
    ) as bridge:
        assert bridge.sync("desk").dead_letters == 1
        (letter,) = bridge.store.dead_letters()
        assert (letter.stage, letter.native_id, letter.error_code) == (
            "write",
            "3",
            "RecordInvalid",
        )
        updates = [FieldUpdate.model_validate(u) for u in json.loads(letter.payload or "[]")]
        assert updates and all(u.record_id == "3" for u in updates)
        assert not ExampleDesk.named(desk).tickets["3"]["fields"]
        Rejecting.locked = set()
        assert bridge.replay_dead_letter(letter) is True
        assert bridge.store.dead_letter_count() == 0
        assert ExampleDesk.named(desk).tickets["3"]["fields"]
        # The ledger knows the replayed values: the next cycle writes nothing again.
        assert bridge.sync("desk").written == 0
    ExampleDesk.drop(desk)


def test_dead_letter_commands(tmp_path: Path) -> None:
    _register_commands()
    desk = f"dl-{next(_n)}"
    ExampleDesk.named(desk, tickets=12).add_ticket(
        "m1",
        [
            {
                "id": "m1-0",
                "author": "cust-m",
                "body": "no role on this comment",
                "at": "2026-11-01T12:00:00+00:00",
            }
        ],
    )
    config = _config_file(tmp_path, desk, "example")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=ENV)
        assert result.exit_code == 0, result.output
        return result.output

    run("sync", "--config", str(config), "--once")
    (listed,) = json.loads(run("dead-letters", "list", "--config", str(config), "--json"))
    assert (listed["stage"], listed["native_id"]) == ("fetch", "m1")
    assert "payload" not in listed  # list stays small; show has the payload
    shown = json.loads(run("dead-letters", "show", "--config", str(config), str(listed["id"])))
    assert "no role on this comment" in shown["payload"] and "malformed" in shown["error"]
    # A raw record the adapter could not normalise cannot be replayed as is: it stays.
    assert "replayed 0 of 1" in run("dead-letters", "replay", "--config", str(config))
    assert "purged 1" in run("dead-letters", "purge", "--config", str(config), "--yes")
    assert json.loads(run("dead-letters", "list", "--config", str(config), "--json")) == []
    ExampleDesk.drop(desk)
