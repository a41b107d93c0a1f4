"""Benchmark: one ``Bridge.sync`` over N Salesforce sandbox cases, end to end over HTTPS.

The sandbox runs in a child process (so the figures are the bridge's own CPU and memory); the
bridge pulls cases, emails and comments with simple-salesforce, analyses them, decides, and
writes back through sObject Collections. A second cycle shows the no-op cost (no sync loop).

Prints cases/s, read and write calls per 1,000 cases next to the minimum the API allows
(ceil(N/2000) query pages for the cases, ceil(N/200) collection calls), and peak memory.

    .venv/bin/python benchmarks/salesforce_sync.py --records 10000 [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import resource
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests


def _serve(conn: Connection, records: int, seed: int) -> None:
    from empathy_bridge_salesforce.sandbox import SalesforceSandbox

    sandbox = SalesforceSandbox(records=records, seed=seed, daily_api_limit=1_000_000)
    sandbox.start()
    conn.send((sandbox.demo_source_config(), sandbox.demo_environment()))
    conn.recv()  # block until the parent is done
    sandbox.stop()


def _stats(source: dict[str, Any]) -> dict[str, Any]:
    session = requests.Session()
    session.trust_env = False
    session.verify = source["ca_bundle"]
    data: dict[str, Any] = session.get(f"{source['base_url']}/_sandbox/stats", timeout=30).json()
    return data


def _reset(source: dict[str, Any]) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = source["ca_bundle"]
    session.post(f"{source['base_url']}/_sandbox/reset-stats", timeout=30)


def _calls(stats: dict[str, Any]) -> tuple[int, int]:
    reads = sum(n for key, n in stats["requests"].items() if key.startswith("GET "))
    writes = sum(n for key, n in stats["requests"].items() if not key.startswith("GET "))
    return reads, writes


def run(records: int, seed: int) -> dict[str, Any]:
    """Run the benchmark; returns the figures."""
    from empathy_bridge.engine import Bridge
    from empathy_bridge_salesforce import plugin

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child, records, seed), daemon=True)
    server.start()
    try:
        source, environ = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            bridge = Bridge.from_config(
                {"store": {"url": f"sqlite:///{Path(tmp) / 'bench.db'}"},
                 "sources": {"salesforce": source}},
                environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1", **environ}, plugins=(plugin,))
            _reset(source)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            first = bridge.sync("salesforce")
            seconds = time.perf_counter() - started
            rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            stats1 = _stats(source)
            _reset(source)
            started = time.perf_counter()
            second = bridge.sync("salesforce")
            seconds2 = time.perf_counter() - started
            stats2 = _stats(source)
            bridge.close()
    finally:
        parent.send("stop")
        server.join(timeout=30)
    if first.status != "ok":
        raise SystemExit(f"first cycle did not finish: {first.status}: {first.detail}")
    reads, writes = _calls(stats1)
    reads2, writes2 = _calls(stats2)
    per_k = 1000 / records
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "cases_per_second": round(records / seconds, 1),
        "interactions": first.pulled,
        "written_records": first.written,
        "read_calls": reads,
        "write_calls": writes,
        "read_calls_per_1000": round(reads * per_k, 2),
        "write_calls_per_1000": round(writes * per_k, 2),
        "min_case_query_pages": math.ceil(records / 2000),
        "min_case_query_pages_per_1000": round(math.ceil(records / 2000) * per_k, 2),
        "min_write_calls": math.ceil(records / 200),
        "min_write_calls_per_1000": round(math.ceil(records / 200) * per_k, 2),
        "write_calls_over_min_pct": round(100 * (writes / math.ceil(records / 200) - 1), 1),
        "requests_by_endpoint": stats1["requests"],
        "peak_rss_mb": round(rss_peak / 1024, 1),
        "rss_growth_during_sync_mb": round((rss_peak - rss_before) / 1024, 1),
        "stage_seconds": {k: round(v, 2) for k, v in first.timings.items()},
        "second_cycle": {"seconds": round(seconds2, 2), "analyzed": second.analyzed,
                         "written": second.written, "read_calls": reads2,
                         "write_calls": writes2},
    }


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = run(args.records, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    rows = [
        ("cases", f"{result['records']:,}"),
        ("interactions pulled", f"{result['interactions']:,}"),
        ("first cycle", f"{result['seconds']} s"),
        ("cases/s end to end", f"{result['cases_per_second']:,}"),
        ("read calls / 1,000 cases", f"{result['read_calls_per_1000']} "
         f"(case query pages alone at minimum: {result['min_case_query_pages_per_1000']})"),
        ("write calls / 1,000 cases", f"{result['write_calls_per_1000']} "
         f"(minimum {result['min_write_calls_per_1000']}; "
         f"{result['write_calls_over_min_pct']:+}%)"),
        ("records written", f"{result['written_records']:,}"),
        ("peak RSS (bridge process)", f"{result['peak_rss_mb']} MB "
         f"(+{result['rss_growth_during_sync_mb']} MB during sync)"),
        ("stage seconds", ", ".join(f"{k} {v}" for k, v in result["stage_seconds"].items())),
        ("second cycle", f"{result['second_cycle']['seconds']} s, analysed "
         f"{result['second_cycle']['analyzed']}, written {result['second_cycle']['written']}, "
         f"{result['second_cycle']['read_calls']} reads, "
         f"{result['second_cycle']['write_calls']} writes"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"Salesforce sync benchmark ({result['records']:,} sandbox cases over HTTPS)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("  requests: " + ", ".join(f"{k} x{v}" for k, v in
                                     sorted(result["requests_by_endpoint"].items())))


if __name__ == "__main__":
    main()
