"""Benchmark: a full Zendesk sync of N sandbox tickets through ``Bridge.sync``.

Prints tickets and interactions (records) per second end to end, the share of the time spent
in each stage (fetch, analyze, decide, store, write; wall clock and this process's CPU side by
side), read and write calls per 1,000 tickets next to the minimum the API allows, peak memory,
and what a second cycle costs (it must write nothing)::

    .venv/bin/python adapters/zendesk/benchmarks/bench_zendesk.py --tickets 10000
    .venv/bin/python adapters/zendesk/benchmarks/bench_zendesk.py --tickets 2000 --json
    # sandbox in another process (its CPU is then not shared with the sync):
    empathy-bridge sandbox serve zendesk --port 8765 --records 10000 --no-rate-limits &
    .venv/bin/python adapters/zendesk/benchmarks/bench_zendesk.py --sandbox-url http://127.0.0.1:8765

The sandbox runs without rate limits and without the API budget (``plan = none``), so the
numbers measure the adapter and the pipeline, not Zendesk's per-minute allowance. Start a fresh
served sandbox for every measured run: each run's write-back adds ticket events to the export
stream, so a re-used sandbox makes the next run read (and cost) more.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import requests

from empathy_bridge.engine import Bridge
from empathy_bridge_zendesk.sandbox import SANDBOX_FIELD_IDS, ZendeskSandbox

WRITE_KEYS = ("PUT /api/v2/tickets/update_many.json", "GET /api/v2/job_statuses/<job_id>.json")


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _Remote:
    """Stats of a sandbox served by another process."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def stats(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.url}/_sandbox/stats", timeout=30).json())

    def reset_stats(self) -> None:
        requests.post(f"{self.url}/_sandbox/reset-stats", timeout=30)


def run(tickets: int, seed: int, sandbox_url: str | None, trace: bool) -> dict[str, Any]:
    """One measured first cycle and one second cycle; returns the figures."""
    local: ZendeskSandbox | None = None
    if sandbox_url is None:
        local = ZendeskSandbox(records=tickets, seed=seed, rate_limits=False)
        local.start()  # builds the seeded account before the clock starts
        source = local.demo_source_config()
        environ = local.demo_environment()
        stats: Any = local
    else:
        source = {"adapter": "zendesk", "base_url": sandbox_url, "subdomain": "sandbox",
                  "email": "agent@sandbox.example.com", "token_env": "ZENDESK_API_TOKEN",
                  "plan": None, "fields": dict(SANDBOX_FIELD_IDS)}
        environ = {"ZENDESK_API_TOKEN": "sandbox-token"}
        stats = _Remote(sandbox_url)
    store = Path(tempfile.mkdtemp(prefix="eb-bench-zendesk-")) / "store.db"
    bridge = Bridge.from_config(
        {"store": {"url": f"sqlite:///{store}"}, "sources": {"zendesk": source}},
        environ={"EMPATHY_BRIDGE_PLUGINS": "zendesk", **environ})
    try:
        bridge.store  # noqa: B018 - open and migrate the store outside the timing
        stats.reset_stats()
        rss_before = _rss_mb()
        if trace:
            tracemalloc.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        first = bridge.sync("zendesk")
        seconds = time.perf_counter() - started
        # This process only: with --sandbox-url the sandbox's CPU is not in it.
        cpu_seconds = time.process_time() - cpu_started
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        if trace:
            tracemalloc.stop()
        rss_after = _rss_mb()
        calls = dict(stats.stats()["requests"])
        stats.reset_stats()
        second = bridge.sync("zendesk")
        second_calls = dict(stats.stats()["requests"])
    finally:
        bridge.close()
        if local is not None:
            local.stop()
    vader_rate = _plain_vader_rate(store)
    writes = sum(calls.get(k, 0) for k in WRITE_KEYS)
    reads = sum(calls.values()) - writes
    written = first.written
    update_calls = calls.get(WRITE_KEYS[0], 0)
    min_writes = 2 * math.ceil(written / 100)  # update_many + one job poll each
    return {
        "tickets": tickets,
        "status": first.status,
        "seconds": round(seconds, 2),
        "tickets_per_second": round(tickets / seconds, 1),
        "interactions": first.pulled,
        "interactions_per_second": round(first.pulled / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "interactions_per_cpu_second": round(first.pulled / max(cpu_seconds, 1e-9), 1),
        "analyzed": first.analyzed,
        "tickets_written": written,
        "read_calls": reads,
        "read_calls_per_1000": round(reads * 1000 / tickets, 2),
        "min_read_calls_export_pages": math.ceil(tickets / 1000),
        "read_calls_by_endpoint": {k: v for k, v in calls.items() if k not in WRITE_KEYS},
        "write_calls": writes,
        "update_many_calls": update_calls,
        "job_polls": calls.get(WRITE_KEYS[1], 0),
        "write_calls_per_1000": round(writes * 1000 / tickets, 2),
        "min_write_calls": min_writes,
        "write_calls_over_min_pct": round(100.0 * (writes - min_writes) / max(min_writes, 1), 1),
        "stage_seconds": {k: round(v, 2) for k, v in first.timings.items()},
        "stage_cpu_seconds": {k: round(v, 2) for k, v in first.cpu_timings.items()},
        "peak_rss_mb": round(rss_after, 1),
        "rss_growth_mb": round(rss_after - rss_before, 1),
        "tracemalloc_peak_mb": round(traced_peak, 1) if traced_peak is not None else None,
        "plain_vader_messages_per_cpu_second": round(vader_rate, 1),
        # What one core could sync if VADER's own scoring were the only cost per message.
        "vader_only_tickets_per_second": round(vader_rate * tickets / max(first.pulled, 1), 1),
        "end_to_end_vs_vader_only": round(
            (tickets / seconds) / max(vader_rate * tickets / max(first.pulled, 1), 1e-9), 3),
        "second_cycle_analyzed": second.analyzed,
        "second_cycle_write_calls": sum(second_calls.get(k, 0) for k in WRITE_KEYS),
        "second_cycle_read_calls": sum(v for k, v in second_calls.items()
                                       if k not in WRITE_KEYS),
    }


def _plain_vader_rate(store: Path) -> float:
    """Messages per CPU second of plain VADER over the texts this run synced (then drop the store).

    The base the analyzer builds on: at ~6 messages per ticket it bounds what any one-core
    sync of these tickets can reach, whatever the rest of the pipeline costs.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    with sqlite3.connect(store) as conn:
        texts = [json.loads(payload)["text"]
                 for (payload,) in conn.execute("SELECT payload FROM interactions")]
    shutil.rmtree(store.parent, ignore_errors=True)
    vader = SentimentIntensityAnalyzer()
    started = time.process_time()
    for text in texts:
        vader.polarity_scores(text)
    return len(texts) / max(time.process_time() - started, 1e-9)


def _table(result: dict[str, Any]) -> str:
    rows = [
        ("tickets", result["tickets"]),
        ("status", result["status"]),
        ("seconds (first cycle)", result["seconds"]),
        ("tickets/s end to end", result["tickets_per_second"]),
        ("interactions/s (records) end to end", result["interactions_per_second"]),
        ("interactions pulled / analysed", f"{result['interactions']} / {result['analyzed']}"),
        ("CPU seconds of the syncing process", result["cpu_seconds"]),
        ("interactions per CPU second", result["interactions_per_cpu_second"]),
        ("tickets written", result["tickets_written"]),
        ("read calls (per 1,000 tickets)",
         f"{result['read_calls']} ({result['read_calls_per_1000']})"),
        ("  minimum: export pages", result["min_read_calls_export_pages"]),
        ("write calls (per 1,000 tickets)",
         f"{result['write_calls']} ({result['write_calls_per_1000']})"),
        ("  update_many + job polls", f"{result['update_many_calls']} + {result['job_polls']}"),
        ("  minimum: 2 x ceil(written/100)", result["min_write_calls"]),
        ("  over the minimum", f"{result['write_calls_over_min_pct']} %"),
        ("peak RSS MB (growth)", f"{result['peak_rss_mb']} ({result['rss_growth_mb']})"),
        ("tracemalloc peak MB", result["tracemalloc_peak_mb"]),
        ("plain VADER on the same messages (msgs/CPU s)",
         result["plain_vader_messages_per_cpu_second"]),
        ("  = tickets/s if VADER were the only cost", result["vader_only_tickets_per_second"]),
        ("  end to end / that VADER-only ceiling", result["end_to_end_vs_vader_only"]),
        ("second cycle: analysed / write calls / read calls",
         f"{result['second_cycle_analyzed']} / {result['second_cycle_write_calls']} / "
         f"{result['second_cycle_read_calls']}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += _stage_table(result)
    lines.append("read calls by endpoint:")
    lines += [f"  {k}: {v}" for k, v in sorted(result["read_calls_by_endpoint"].items())]
    return "\n".join(lines)


STAGES = ("fetch", "analyze", "decide", "store", "write")


def _stage_table(result: dict[str, Any]) -> list[str]:
    """Seconds and share of the cycle per stage, wall clock and CPU side by side."""
    wall, cpu = result["stage_seconds"], result["stage_cpu_seconds"]
    total_wall, total_cpu = result["seconds"], result["cpu_seconds"]
    rows = [(stage, wall.get(stage, 0.0), cpu.get(stage, 0.0)) for stage in STAGES]
    # Time outside the clocked stages: cursor and run bookkeeping, the loop itself.
    rows.append(("other", total_wall - sum(wall.values()), total_cpu - sum(cpu.values())))
    lines = [f"{'stage':<8} {'wall s':>8} {'share':>7} {'CPU s':>8} {'share':>7}"]
    for stage, w, c in rows:
        lines.append(f"{stage:<8} {w:>8.2f} {100 * w / total_wall:>6.1f}% "
                     f"{c:>8.2f} {100 * c / max(total_cpu, 1e-9):>6.1f}%")
    lines.append(f"{'total':<8} {total_wall:>8.2f} {100.0:>6.1f}% {total_cpu:>8.2f} {100.0:>6.1f}%")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sandbox-url", default=None,
                        help="use a sandbox already serving there (its own process)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations (slows the run down)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    result = run(args.tickets, args.seed, args.sandbox_url, args.tracemalloc)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
