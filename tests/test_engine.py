"""Engine behaviour around failures: dead letters, quota pauses, fatal errors, deletions."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from sqlalchemy import DateTime

from empathy_bridge import hookimpl
from empathy_bridge.adapter import Adapter, FetchBatch
from empathy_bridge.defaults.example_source import ExampleAdapter, ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import AuthenticationError, QuotaExhaustedError
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    FieldUpdate,
    Interaction,
    PriorityDecision,
    WriteResult,
)
from empathy_bridge.store import DecisionRow

_n = itertools.count()


def desk_config(**extra: Any) -> dict[str, Any]:
    return {"sources": {"example": {"desk": f"engine-{next(_n)}", "tickets": 30, **extra}}}


class QuotaOnce(ExampleAdapter):
    """Example adapter whose quota runs out on the first write call."""

    name = "quota_once"
    tripped = False

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        if not QuotaOnce.tripped:
            QuotaOnce.tripped = True
            raise QuotaExhaustedError(
                "daily API allowance used up", resume_at=datetime.now(UTC) + timedelta(hours=1)
            )
        return super().apply(updates)


class ExpiredCredentials(ExampleAdapter):
    name = "expired"

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        raise AuthenticationError("session expired: refresh EXAMPLE_TOKEN")


class Deleting(ExampleAdapter):
    name = "deleting"
    deleted: ClassVar[list[str]] = []

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        yield from super().fetch(cursor)
        if Deleting.deleted:
            yield FetchBatch(deleted_conversations=list(Deleting.deleted))


class Registrar:
    def __init__(self, *classes: type[Adapter]) -> None:
        self.classes = classes

    @hookimpl
    def empathy_bridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        for cls in self.classes:
            register(cls)


class BrokenPolicy:
    """Raises while deciding priority for conversation 3 only."""

    @hookimpl(tryfirst=True)
    def empathy_bridge_decide_priority(
        self, interaction: Interaction, context: EmotionalContext, conversation: Conversation
    ) -> PriorityDecision | None:
        if conversation.conversation_id == "3":
            raise ValueError("policy table has no row for this ticket")
        return None


def test_a_failing_policy_dead_letters_one_conversation_and_names_the_plugin(
    make_bridge: Any,
) -> None:
    bridge = make_bridge(desk_config(), BrokenPolicy())
    report = bridge.sync("example")
    assert report.status == "ok"
    letters = bridge.store.dead_letters("example")
    assert len(letters) == 1 and letters[0].stage == "decide"
    assert "policy table has no row" in letters[0].error
    assert letters[0].plugin is not None and "BrokenPolicy" not in letters[0].error
    assert report.conversations == 29  # every other conversation went on


def test_quota_exhaustion_pauses_and_next_cycle_resumes_without_duplicates(
    make_bridge: Any,
) -> None:
    QuotaOnce.tripped = False
    config = {
        "sources": {"q": {"adapter": "quota_once", "desk": f"quota-{next(_n)}", "tickets": 30}}
    }
    bridge = make_bridge(config, Registrar(QuotaOnce))
    first = bridge.sync("q")
    assert first.status == "paused" and "until" in first.detail
    assert first.written == 0
    pending = bridge.store.pending_count("q")
    assert pending > 0
    second = bridge.sync("q")
    assert second.status == "ok"
    assert bridge.store.pending_count("q") == 0
    assert second.written == 30
    desk = ExampleDesk.named(config["sources"]["q"]["desk"])
    assert desk.calls["PUT /tickets/update_many"] == 2  # 30 records, batch size 20: no repeats


def test_fatal_errors_stop_the_cycle_with_one_line(make_bridge: Any) -> None:
    config = {"sources": {"e": {"adapter": "expired", "desk": f"exp-{next(_n)}"}}}
    bridge = make_bridge(config, Registrar(ExpiredCredentials))
    report = bridge.sync("e")
    assert report.status == "failed"
    assert report.detail == "session expired: refresh EXAMPLE_TOKEN"
    assert bridge.store.source_runs()[0]["last_status"] == "failed"


def test_deleted_conversations_lose_their_derived_data(make_bridge: Any) -> None:
    Deleting.deleted = []
    config = {"sources": {"d": {"adapter": "deleting", "desk": f"del-{next(_n)}", "tickets": 5}}}
    bridge = make_bridge(config, Registrar(Deleting))
    bridge.sync("d")
    assert bridge.store.conversation_history("d", ["2"])["2"]
    Deleting.deleted = ["2"]
    report = bridge.sync("d")
    assert report.deleted > 0
    assert bridge.store.conversation_history("d", ["2"]) == {}
    assert bridge.store.get_interaction("2-0", "d") is None


def test_outbox_serves_the_most_urgent_records_first(make_bridge: Any) -> None:
    bridge = make_bridge(desk_config())
    updates = [
        FieldUpdate(source="example", record_id=str(n), field="f", value=n, priority_rank=rank)
        for n, rank in [(1, 0), (2, 4), (3, 1), (4, 4)]
    ]
    with bridge.store.transaction() as conn:
        bridge.store.enqueue(conn, updates)
    rows = bridge.store.pending_records("example", 2)
    assert sorted(r.update.record_id for r in rows) == ["2", "4"]


def test_outbox_rows_read_back_equal_and_settle_into_the_ledger(make_bridge: Any) -> None:
    bridge = make_bridge(desk_config())
    store = bridge.store
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    updates = [
        FieldUpdate(source="example", record_id="1", field="tags", value=["b", "a"], op="add_tags"),
        FieldUpdate(source="example", record_id="2", field="f", value={"z": 1, "a": [None, 1.5]}),
    ]
    with store.transaction() as conn:
        store.enqueue(conn, updates)
        store.set_cursor(conn, "example", "c1")
    # Fewer records than asked for: nothing is handed out.
    assert store.pending_records("example", 5, min_records=3) == []
    rows = store.pending_records("example", 5, min_records=2)
    assert [r.update for r in rows] == updates
    with store.transaction() as conn:
        store.mark_written(conn, rows)
    assert store.pending_count("example") == 0
    assert store.ledger_values("example", ["1", "2"]) == {
        ("1", "tags"): '["b","a"]',
        ("2", "f"): '{"a":[null,1.5],"z":1}',
    }
    # Timestamps bound in bulk are stored as SQLAlchemy's own processor writes them one by one
    # (a repeated object, an early year, another zone, whole seconds).
    stamps = {
        "1": when,
        "2": when,
        "3": datetime(987, 6, 5, 4, 3, 2, tzinfo=timezone(timedelta(hours=2))),
        "4": datetime(2026, 12, 31, 23, 59, 59),
    }
    with store.transaction() as conn:
        store.save_decisions(
            conn,
            "example",
            [
                DecisionRow(conversation_id=c, native_id=c, payload="{}", priority=None,
                            tier=None, due_at=due, handoff=None)
                for c, due in stamps.items()
            ],
        )
    with store.engine.connect() as conn:
        stored = dict(
            conn.exec_driver_sql("SELECT conversation_id, due_at FROM decisions").fetchall()
        )
        bind = DateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    assert bind is not None
    assert stored == {c: bind(due) for c, due in stamps.items()}


def test_sdk_analyze_and_handoff_in_a_few_lines() -> None:
    bridge = Bridge.from_config(environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
    context = bridge.analyze("This is the third time I'm asking and it's still broken!")
    assert context.sentiment < 0
    many = bridge.analyze_many(["thank you so much!", "", "🙂🙂", "x" * 1_000_000])
    assert len(many) == 4
    assert many[3].truncated
    bridge.close()
