"""The metrics give the same figures on PostgreSQL as on SQLite.

Runs when ``EMPATHY_BRIDGE_TEST_POSTGRES_URL`` names an empty database (dropped clean after),
e.g. ``postgresql+psycopg://postgres@/metrics_check?host=/tmp/pg&port=55439`` (needs psycopg).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import MetaData

from empathy_bridge.metrics import MetricQuery, compute_metrics, refresh
from empathy_bridge.store import Store

URL = os.environ.get("EMPATHY_BRIDGE_TEST_POSTGRES_URL")


@pytest.mark.skipif(not URL, reason="set EMPATHY_BRIDGE_TEST_POSTGRES_URL to an empty database")
def test_postgres_matches_sqlite(busy_store: Store, build_world: Any) -> None:
    assert URL is not None
    pg = Store(URL)
    try:
        build_world(pg)
        refresh(busy_store)
        refresh(pg)
        assert refresh(pg).conversations == 0  # incremental on PostgreSQL too
        for by in (None, "team", "agent", "segment"):
            here = {(m.name, m.dimension_value): m
                    for m in compute_metrics(pg, query=MetricQuery(by=by))}
            there = {(m.name, m.dimension_value): m
                     for m in compute_metrics(busy_store, query=MetricQuery(by=by))}
            assert here.keys() == there.keys()
            for key, metric in here.items():
                assert metric.n == there[key].n, key
                assert metric.value == pytest.approx(there[key].value, abs=1e-6), key
    finally:
        metadata = MetaData()
        metadata.reflect(pg.engine)
        metadata.drop_all(pg.engine)
        pg.close()
