"""The outbox under crashes and backlogs: in-flight writes are reconciled, never sent twice, and
distressed customers' write-backs go before a backfill's."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from empathy_bridge import hookimpl
from empathy_bridge.adapter import Adapter
from empathy_bridge.defaults.example_source import ExampleAdapter, ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import QuotaExhaustedError
from empathy_bridge.schemas import FieldUpdate, WriteResult

_n = itertools.count()


class Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing may catch it)."""


class Counting(ExampleAdapter):
    """Example adapter that counts writes per record, reads fields back, and can crash."""

    name = "counting"
    write_batch_size = 10
    writes: ClassVar[Counter[str]] = Counter()
    crash: ClassVar[str | None] = None  # "before" or "after" the platform call
    readable: ClassVar[bool] = True
    calls: ClassVar[list[list[str]]] = []
    paused: ClassVar[bool] = False

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        if Counting.paused:
            raise QuotaExhaustedError("allowance spent")
        if Counting.crash == "before":
            raise Crash
        results = super().apply(updates)
        records = sorted({u.record_id for u in updates}, key=[u.record_id for u in updates].index)
        Counting.calls.append(records)
        Counting.writes.update(records)
        if Counting.crash == "after":
            raise Crash
        return results

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> Mapping[tuple[str, str], Any] | None:
        if not Counting.readable:
            return None
        out: dict[tuple[str, str], Any] = {}
        with self.desk.lock:
            for record in record_ids:
                ticket = self.desk.tickets.get(record)
                if ticket is None:
                    continue
                for field in fields:
                    if field.startswith("fields.") and field[7:] in ticket["fields"]:
                        out[(record, field)] = ticket["fields"][field[7:]]
                    elif field == "priority":
                        out[(record, field)] = ticket["priority"]
                    elif field.startswith("tags."):
                        out[(record, field)] = list(ticket["tags"])
        return out


class Plugin:
    @hookimpl
    def empathy_bridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        register(Counting)


@pytest.fixture(autouse=True)
def _reset() -> None:
    Counting.writes = Counter()
    Counting.crash = None
    Counting.readable = True
    Counting.calls = []
    Counting.paused = False


def _bridge(store: Path, desk: str, **source: Any) -> Bridge:
    config = {
        "store": {"url": f"sqlite:///{store}"},
        "sources": {"desk": {"adapter": "counting", "desk": desk, "tickets": 40, **source}},
    }
    return Bridge.from_config(
        config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}, plugins=[Plugin()]
    )


def _outbox(bridge: Bridge) -> dict[str, int]:
    from sqlalchemy import func, select

    from empathy_bridge.store import tables as t

    with bridge.store.engine.connect() as conn:
        rows = conn.execute(select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status))
        return {status: int(count) for status, count in rows}


@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_around_the_platform_call_never_writes_twice(tmp_path: Path, when: str) -> None:
    desk = f"crash-{next(_n)}"
    store = tmp_path / "store.db"
    first = _bridge(store, desk)
    Counting.crash = when
    with pytest.raises(Crash):
        first.sync("desk")
    first.close()  # the process is gone; its in-flight marks are committed
    with _bridge(store, desk) as restarted:
        assert _outbox(restarted).get("in_flight", 0) > 0
        Counting.crash = None
        report = restarted.sync("desk")
        assert report.status == "ok"
        if when == "after":
            assert report.reconciled > 0  # settled from the platform's values, no call
        assert _outbox(restarted) == {}
    enriched = {tid for tid, t in ExampleDesk.named(desk).tickets.items() if t["fields"]}
    assert enriched and set(Counting.writes) == enriched
    assert max(Counting.writes.values()) == 1, Counting.writes.most_common(3)
    ExampleDesk.drop(desk)


def test_without_read_back_in_flight_writes_are_sent_again(tmp_path: Path) -> None:
    """An adapter that cannot read fields gets at-least-once (idempotent set) semantics."""
    desk = f"crash-{next(_n)}"
    store = tmp_path / "store.db"
    first = _bridge(store, desk)
    Counting.crash, Counting.readable = "after", False
    with pytest.raises(Crash):
        first.sync("desk")
    first.close()
    with _bridge(store, desk) as restarted:
        Counting.crash = None
        assert restarted.sync("desk").status == "ok"
        assert _outbox(restarted) == {}
    assert max(Counting.writes.values()) == 2  # the crashed batch went out again
    ExampleDesk.drop(desk)


def test_distressed_write_backs_go_before_a_backfill(tmp_path: Path) -> None:
    desk_name = f"prio-{next(_n)}"
    desk = ExampleDesk.named(desk_name, tickets=0)
    for n in range(1, 41):  # the backfill: calm questions
        desk.add_ticket(
            f"b{n}",
            [
                {
                    "id": f"b{n}-0",
                    "author": f"c{n}",
                    "role": "customer",
                    "body": "Thanks, could you tell me your opening hours?",
                    "at": "2026-11-01T09:00:00+00:00",
                }
            ],
        )
    with _bridge(tmp_path / "store.db", desk_name, page_size=1000) as bridge:
        Counting.paused = True  # writes wait (quota), so the backfill piles up in the outbox
        assert bridge.sync("desk").status == "paused"
        assert _outbox(bridge)["pending"] > 0
        for n in range(1, 6):  # then distressed customers write in
            desk.add_ticket(
                f"d{n}",
                [
                    {
                        "id": f"d{n}-0",
                        "author": f"x{n}",
                        "role": "customer",
                        "body": "This is the THIRD time!!! Furious, worst service ever, "
                        "you stole my money and I will sue. Absolutely terrible, I hate this.",
                        "at": "2026-11-01T10:00:00+00:00",
                    }
                ],
            )
        Counting.paused = False
        assert bridge.sync("desk").status == "ok"
    first_call = Counting.calls[0]
    distressed = {f"d{n}" for n in range(1, 6)}
    assert distressed <= set(first_call), Counting.calls[:2]
    # One API call carries a batch, so "first" means: in the first call, none left for later.
    assert not distressed & {r for call in Counting.calls[1:] for r in call}
    assert len(Counting.calls) > 1
    ExampleDesk.drop(desk_name)
