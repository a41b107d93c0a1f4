"""Benchmark of the metrics layer (prints numbers; not a test).

    .venv/bin/python tests/metrics/metrics_benchmark.py [CONVERSATIONS]

Builds a store of synthetic conversations with the test fixtures' builder, then times a cold
refresh of the rollups, a refresh with nothing changed, and computing every metric family
overall and broken down by agent.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import conftest

from empathy_bridge.metrics import MetricQuery, compute_metrics, refresh
from empathy_bridge.store import Store


def main() -> None:
    """Run the benchmark and print one line per step."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.db")
        started = time.perf_counter()
        conftest.build_busy_world(conftest.Desk(store), conversations=n, seed=5)
        print(f"built {n} conversations in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        report = refresh(store)
        seconds = time.perf_counter() - started
        print(f"refresh (cold): {report.conversations} conversations, {report.replies} replies "
              f"in {seconds:.2f}s = {report.conversations / seconds:.0f} conversations/s")
        started = time.perf_counter()
        report = refresh(store)
        print(f"refresh (nothing changed): {time.perf_counter() - started:.3f}s, "
              f"{report.conversations} rebuilt")
        for label, query in (("overall", MetricQuery()), ("--by agent", MetricQuery(by="agent"))):
            started = time.perf_counter()
            metrics = compute_metrics(store, query=query)
            print(f"compute_metrics {label}: {len(metrics)} metrics in "
                  f"{time.perf_counter() - started:.2f}s")
        store.close()
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
