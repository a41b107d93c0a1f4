"""The adapter conformance suite: the contract every adapter must keep, as pytest tests.

An adapter author gets the whole suite with one subclass::

    import pytest
    from empathy_bridge.testing import AdapterConformance

    class TestMyAdapter(AdapterConformance):
        @pytest.fixture
        def conformance_source(self, my_sandbox):      # the [sources.NAME] table
            return {"adapter": "mine", "base_url": my_sandbox.url, "token_env": "MINE_TOKEN"}

        @pytest.fixture
        def conformance_environ(self):                  # secrets for it
            return {"MINE_TOKEN": "sandbox"}

Each test builds a fresh :class:`~empathy_bridge.Bridge` on a temporary SQLite store, so the
fixtures must give a fresh platform state per test (function scope). What is checked:

- fetching yields canonical, timezone-aware interactions of this source, with a cursor;
- incremental fetch resumes from a batch's cursor without losing records;
- a record that fails (a plugin raising on it) is dead-lettered and the rest of the batch goes on;
- write-back is batched to the adapter's limit and idempotent: the second cycle writes nothing;
- our own write-backs do not come back as new work: the second cycle analyses nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import AuthorRole, Cue, Interaction

__all__ = ["AdapterConformance"]

SOURCE = "conformance"


class _FailOn:
    """A plugin that raises while detecting cues in one chosen interaction."""

    __name__ = "conformance_failing_plugin"

    def __init__(self, native_id: str) -> None:
        self.native_id = native_id

    @hookimpl
    def empathy_bridge_detect_cues(self, interactions: Sequence[Interaction]) -> list[list[Cue]]:
        if any(i.native_id == self.native_id for i in interactions):
            raise RuntimeError("conformance: deliberate failure on one record")
        return [[] for _ in interactions]


class AdapterConformance:
    """Subclass in your adapter's tests and provide the two fixtures below."""

    #: Upper bound on batches fetched in one test, to keep the suite fast on big seeds.
    max_batches: int | None = None

    @pytest.fixture
    def conformance_source(self) -> Mapping[str, Any]:
        """The ``[sources.NAME]`` table pointing at a fresh sandbox. Override me."""
        raise NotImplementedError("provide a conformance_source fixture")

    @pytest.fixture
    def conformance_environ(self) -> Mapping[str, str]:
        """Environment (secrets) the adapter needs. Override if it needs any."""
        return {}

    @pytest.fixture
    def conformance_bridge_factory(
        self,
        conformance_source: Mapping[str, Any],
        conformance_environ: Mapping[str, str],
        tmp_path: Path,
    ) -> Iterator[Any]:
        bridges: list[Bridge] = []

        def make(*plugins: object) -> Bridge:
            env = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "0", **conformance_environ}
            bridge = Bridge.from_config(
                {
                    "store": {"url": f"sqlite:///{tmp_path / f'store{len(bridges)}.db'}"},
                    "sources": {SOURCE: dict(conformance_source)},
                },
                environ=env,
                plugins=plugins,
            )
            bridges.append(bridge)
            return bridge

        yield make
        for bridge in bridges:
            bridge.close()

    # -- the contract -------------------------------------------------------------------------

    def test_fetch_yields_canonical_interactions(self, conformance_bridge_factory: Any) -> None:
        bridge = conformance_bridge_factory()
        adapter = bridge.adapter(SOURCE)
        batches = list(_take(adapter.fetch(None), self.max_batches))
        interactions = [i for b in batches for i in b.interactions]
        assert interactions, "fetch(None) yielded no interactions from a seeded platform"
        assert any(b.cursor is not None for b in batches), "no batch carried a cursor"
        for interaction in interactions:
            assert interaction.source == SOURCE, (
                "interactions must carry the configured source name"
            )
            assert interaction.created_at.tzinfo is not None
            assert interaction.conversation_id
        assert any(i.author_role is AuthorRole.CUSTOMER for i in interactions)

    def test_incremental_fetch_resumes_from_cursor(self, conformance_bridge_factory: Any) -> None:
        adapter = conformance_bridge_factory().adapter(SOURCE)
        batches = list(_take(adapter.fetch(None), self.max_batches))
        everything = {i.native_id for b in batches for i in b.interactions}
        first = batches[0]
        if first.cursor is None or len(batches) < 2:
            pytest.skip("the seeded platform fits in one batch; seed more records to test resume")
        resumed = {
            i.native_id
            for b in _take(adapter.fetch(first.cursor), self.max_batches)
            for i in b.interactions
        }
        seen = {i.native_id for i in first.interactions} | resumed
        if self.max_batches is None:
            missing = everything - seen
            assert not missing, f"resuming from the first cursor lost {len(missing)} records"
        final = [b for b in batches if b.cursor is not None][-1].cursor
        again = {
            i.native_id
            for b in _take(adapter.fetch(final), self.max_batches)
            for i in b.interactions
        }
        assert again <= everything, "fetch from the final cursor returned records never seen"

    def test_bad_record_is_dead_lettered_and_batch_goes_on(
        self, conformance_bridge_factory: Any
    ) -> None:
        probe = conformance_bridge_factory().adapter(SOURCE)
        first_batch = next(iter(probe.fetch(None)))
        victim = next(i for i in first_batch.interactions if i.author_role is AuthorRole.CUSTOMER)
        bridge = conformance_bridge_factory(_FailOn(victim.native_id))
        report = bridge.sync(SOURCE, max_batches=self.max_batches)
        assert report.status == "ok", report.detail
        letters = bridge.store.dead_letters(SOURCE)
        assert [d.native_id for d in letters if d.stage == "analyze"] == [victim.native_id]
        assert letters[0].plugin == "conformance_failing_plugin"
        assert report.analyzed >= 1, "the rest of the batch must still be analysed"
        assert bridge.store.get_interaction(victim.native_id, SOURCE) is None

    def test_writeback_is_batched_and_idempotent(self, conformance_bridge_factory: Any) -> None:
        bridge = conformance_bridge_factory()
        adapter = bridge.adapter(SOURCE)
        first = bridge.sync(SOURCE, max_batches=self.max_batches)
        assert first.status == "ok", first.detail
        assert first.written > 0, "nothing was written back on the first cycle"
        minimum = math.ceil(first.written / adapter.write_batch_size)
        # Each drained batch may end with a partial one per fetch batch at worst.
        assert first.write_calls <= minimum + max(1, first.batches), (
            f"{first.write_calls} write calls for {first.written} records "
            f"(batch size {adapter.write_batch_size})"
        )
        second = bridge.sync(SOURCE, max_batches=self.max_batches)
        assert second.status == "ok", second.detail
        assert second.write_calls == 0 and second.written == 0, "second cycle wrote again"

    def test_own_writebacks_are_not_new_work(self, conformance_bridge_factory: Any) -> None:
        bridge = conformance_bridge_factory()
        assert bridge.sync(SOURCE, max_batches=self.max_batches).status == "ok"
        second = bridge.sync(SOURCE, max_batches=self.max_batches)
        assert second.analyzed == 0, (
            f"{second.analyzed} interactions re-analysed after our own write-back (sync loop)"
        )
        assert second.planned == 0


def _take(iterator: Iterator[Any], limit: int | None) -> Iterator[Any]:
    for n, item in enumerate(iterator):
        if limit is not None and n >= limit:
            return
        yield item
