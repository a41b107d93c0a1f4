"""Right to be forgotten: data deleted or redacted at the source leaves the store on the next
cycle, and ``empathy-bridge forget --customer`` removes a customer's derived data on demand."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from empathy_bridge.cli import _register_commands, cli
from empathy_bridge.daemon import forget_customer
from empathy_bridge.daemon.forget import customer_reference
from empathy_bridge.defaults.example_source import ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.store import tables as t

_n = itertools.count()
ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}


def _rows(bridge: Bridge, table: Any, **where: str) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with bridge.store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def zendesk(tmp_path: Path) -> Iterator[tuple[Any, Bridge]]:
    sandbox_mod = pytest.importorskip("empathy_bridge_zendesk.sandbox")
    sandbox = sandbox_mod.ZendeskSandbox(records=40, seed=5, rate_limits=False)
    sandbox.start()
    config = {
        "store": {"url": f"sqlite:///{tmp_path / 'zd.db'}"},
        "sources": {"zendesk": sandbox.demo_source_config()},
    }
    env = {"EMPATHY_BRIDGE_PLUGINS": "zendesk", **sandbox.demo_environment()}
    bridge = Bridge.from_config(config, environ=env)
    try:
        yield sandbox, bridge
    finally:
        bridge.close()
        sandbox.stop()


def test_a_ticket_deleted_at_the_source_is_forgotten_next_cycle(
    zendesk: tuple[Any, Bridge],
) -> None:
    sandbox, bridge = zendesk
    assert bridge.sync("zendesk").status == "ok"
    with bridge.store.engine.connect() as conn:
        ticket = conn.execute(select(t.decisions.c.conversation_id)).scalars().first()
    assert ticket is not None
    assert _rows(bridge, t.interactions, conversation_id=ticket) > 0
    assert _rows(bridge, t.writeback_ledger, record_id=ticket) > 0
    sandbox.delete_ticket(int(ticket))
    report = bridge.sync("zendesk")
    assert report.status == "ok" and report.deleted > 0
    for table in (t.interactions, t.analyses, t.decisions):
        assert _rows(bridge, table, conversation_id=ticket) == 0
    assert _rows(bridge, t.writeback_ledger, record_id=ticket) == 0
    assert _rows(bridge, t.outbox, record_id=ticket) == 0


def test_a_message_redacted_at_the_source_replaces_the_stored_text(tmp_path: Path) -> None:
    name = f"redact-{next(_n)}"
    desk = ExampleDesk.named(name, tickets=3)
    secret = "my card 4111 1111 1111 1111 was charged twice"
    desk.add_ticket(
        "r1",
        [
            {
                "id": "r1-0",
                "author": "cust-r",
                "role": "customer",
                "body": secret,
                "at": "2026-11-01T12:00:00+00:00",
            }
        ],
    )
    config = {
        "store": {"url": f"sqlite:///{tmp_path / 's.db'}"},
        "sources": {"desk": {"adapter": "example", "desk": name, "tickets": 3}},
    }
    with Bridge.from_config(config, environ=ENV) as bridge:
        bridge.sync("desk")
        desk.add_ticket(
            "r1",
            [
                {
                    "id": "r1-0",
                    "author": "cust-r",
                    "role": "customer",
                    "body": "▇▇▇▇ redacted ▇▇▇▇",
                    "at": "2026-11-01T12:00:00+00:00",
                }
            ],
        )
        bridge.sync("desk")
        stored = bridge.store.get_interaction("r1-0", "desk")
        assert stored is not None and "4111" not in stored[0].text
    for path in tmp_path.glob("s.db*"):  # the database, its WAL and shared memory
        assert b"4111 1111" not in path.read_bytes(), path.name
    ExampleDesk.drop(name)


def test_forget_removes_a_customers_derived_data_and_audits_it(tmp_path: Path) -> None:
    name = f"forget-{next(_n)}"
    config = {
        "store": {"url": f"sqlite:///{tmp_path / 'f.db'}"},
        "sources": {"desk": {"adapter": "example", "desk": name, "tickets": 30}},
    }
    with Bridge.from_config(config, environ=ENV) as bridge:
        bridge.sync("desk")
        mine = _rows(bridge, t.interactions, customer_id="customer-4")
        others = _rows(bridge, t.interactions) - mine
        assert mine > 0
        bridge.store.add_dead_letter(
            None,
            source="desk",
            stage="write",
            native_id="x",
            payload='{"customer": "customer-4"}',
            error="closed",
        )
        bridge.store.add_dead_letter(
            None,
            source="desk",
            stage="write",
            native_id="y",
            payload='{"customer": "customer-44"}',
            error="closed",
        )
        counts = forget_customer(bridge, "customer-4")
        assert counts["interactions"] == mine and counts["dead_letters"] == 1
        # Gone from the file itself too, not only unlinked (secure_delete, VACUUM, WAL emptied).
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("f.db*"))
        assert re.search(rb"customer-4(?![0-9])", raw) is None
        assert _rows(bridge, t.interactions, customer_id="customer-4") == 0
        assert _rows(bridge, t.interactions) == others  # nobody else's data went
        assert [d.native_id for d in bridge.store.dead_letters()] == ["y"]
        (entry,) = bridge.store.audit_entries("forget_customer")
        detail = json.loads(entry["detail"])
        assert detail["customer_ref"] == customer_reference("customer-4")
        assert "customer-4" not in entry["detail"]  # the audit proves it without keeping it
    ExampleDesk.drop(name)


def test_forget_command(tmp_path: Path) -> None:
    _register_commands()
    name = f"forget-{next(_n)}"
    path = tmp_path / "f.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "f.db"}"\n\n'
        f'[sources.desk]\nadapter = "example"\ndesk = "{name}"\ntickets = 20\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--config", str(path)], env=ENV).exit_code == 0
    result = runner.invoke(
        cli, ["forget", "--config", str(path), "--customer", "customer-2", "--vacuum", "--json"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["interactions"] > 0
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("f.db*"))
    assert re.search(rb"customer-2(?![0-9])", raw) is None
    again = runner.invoke(
        cli, ["forget", "--config", str(path), "--customer", "customer-2"], env=ENV
    )
    assert "0 conversations, 0 interactions" in again.output
    ExampleDesk.drop(name)
