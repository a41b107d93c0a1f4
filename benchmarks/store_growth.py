"""Benchmark: store size per interaction and the time of a metrics query over a large store.

Fills a fresh SQLite store through the real write path (``Store.save_analyses`` in batches of
1,000, as a sync does) with synthetic conversations of customer and agent turns, then reports
bytes per stored interaction, the time to refresh the metric rollups, and the time of a full
metrics computation over them.

    .venv/bin/python benchmarks/store_growth.py                       # 1,000,000 interactions
    .venv/bin/python benchmarks/store_growth.py --interactions 50000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from empathy_bridge.schemas import (
    AuthorRole,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
)
from empathy_bridge.store import Store, fingerprint

STATES = list(EmotionalState)
TIERS = list(Tier)
TEXTS = [
    "This is the third time I'm writing about my refund and it's still not fixed!",
    "How do I export my invoices? I can't find the button.",
    "Thanks so much, it works now.",
    "I'm worried the double charge will bounce my rent on Friday.",
    "I'm sorry for the trouble, I've escalated this to billing.",
]


def fill(store: Store, count: int, seed: int) -> float:
    """Insert ``count`` interactions; returns the seconds it took."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    batch: list[tuple[Interaction, str, EmotionalContext]] = []
    for n in range(count):
        conversation = n // 4
        role = AuthorRole.CUSTOMER if n % 4 in (0, 2) else AuthorRole.AGENT
        customer = Party(source="bench", id=f"c{conversation % 50_000}", name="Sam Customer")
        interaction = Interaction(
            source="bench", native_id=str(n), conversation_id=str(conversation),
            channel=rng.choice(["email", "web", "chat", "social"]), author_role=role,
            author=customer if role is AuthorRole.CUSTOMER else Party(
                source="bench", id=f"a{conversation % 40}", role=AuthorRole.AGENT),
            customer=customer, team=f"team-{conversation % 6}", text=rng.choice(TEXTS),
            created_at=start + timedelta(minutes=n // 2),
        )
        state = rng.choice(STATES)
        context = EmotionalContext(
            sentiment=rng.uniform(-1, 1), state=state, states={state: 0.8},
            intensity=rng.random(), tier=rng.choice(TIERS), author_role=role,
            analyzer="bench", analyzer_version="1",
        )
        batch.append((interaction, fingerprint(interaction), context))
        if len(batch) == 1000:
            with store.transaction() as conn:
                store.save_analyses(conn, batch)
            batch = []
    if batch:
        with store.transaction() as conn:
            store.save_analyses(conn, batch)
    return time.perf_counter() - started


def run(count: int, seed: int) -> dict[str, Any]:
    """Fill a store and time the metrics over it."""
    path = Path(tempfile.mkdtemp(prefix="eb-bench-store-")) / "store.db"
    store = Store(f"sqlite:///{path}")
    fill_seconds = fill(store, count, seed)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    result: dict[str, Any] = {
        "interactions": count, "fill_seconds": round(fill_seconds, 1),
        "fill_per_second": round(count / fill_seconds), "store_bytes": size,
        "bytes_per_interaction": round(size / count),
        "refresh_seconds": None, "metrics_seconds": None, "metrics": None,
    }
    try:
        from empathy_bridge.metrics import compute_metrics, refresh
    except ImportError:  # the metrics plugin is optional
        return result
    started = time.perf_counter()
    refresh(store)
    result["refresh_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    metrics = compute_metrics(store)
    result["metrics_seconds"] = round(time.perf_counter() - started, 2)
    result["metrics"] = len(metrics)
    store.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.interactions, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
