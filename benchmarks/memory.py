"""Benchmark: peak memory of a full sync against backlogs of growing size.

The Zendesk sandbox runs in its own process (``empathy-bridge sandbox serve zendesk``), so only
the syncing process is measured: each backlog size is synced by a fresh child process that
reports its peak RSS (``ru_maxrss``). Streaming means the peak must not grow with the backlog:
target, the larger run within 10 % of the smaller one and under 250 MB. Each run also prints its
write calls (``update_many`` + job polls) next to the minimum, 2 x ceil(tickets written / 100):
a ticket written twice in one cycle shows there.

Where the peak is: on Linux with glibc, a sampler thread in the child notes, at each new RSS
high, the C heap in use and free-but-kept (``mallinfo2``) and SQLite's own allocations; the
pymalloc arena high-water (Python objects) comes from ``sys._debugmallocstats``. The second
table shows them, so growth can be placed before anything is changed.

    .venv/bin/python benchmarks/memory.py                 # 10,000 and 100,000 tickets
    .venv/bin/python benchmarks/memory.py --sizes 2000 10000 --json
    .venv/bin/python benchmarks/memory.py --large         # adds 1,000,000 (slow)
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_sandbox/stats", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"sandbox at {url} did not come up within {seconds:.0f}s")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


class PeakSampler(threading.Thread):
    """Notes the C heap and SQLite's allocations whenever this process's RSS reaches a new high.

    Linux with glibc only (``/proc/self/statm``, ``mallinfo2``); elsewhere it records nothing.
    Sampling every 20 ms misses peaks shorter than that, so it explains the peak, ``ru_maxrss``
    measures it.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True, name="peak-sampler")
        self.at_peak: dict[str, float] = {}
        self._high = 0
        self._statm: BinaryIO | None = None
        try:
            libc = ctypes.CDLL("libc.so.6")
            self._mallinfo = libc.mallinfo2
            self._mallinfo.restype = _Mallinfo2
            import _sqlite3  # the extension links SQLite: its symbols resolve through it

            self._sqlite_used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
            self._sqlite_used.restype = ctypes.c_int64
            self._statm = open("/proc/self/statm", "rb")  # noqa: SIM115 - read until exit
        except (OSError, AttributeError):
            pass

    def run(self) -> None:
        """Sample until the process exits."""
        if self._statm is None:
            return
        page = os.sysconf("SC_PAGE_SIZE")
        while True:
            self._statm.seek(0)
            resident = int(self._statm.read().split()[1]) * page
            if resident > self._high:
                self._high = resident
                info = self._mallinfo()
                self.at_peak = {
                    "rss_mb": round(resident / 2**20, 1),
                    "c_heap_in_use_mb": round((info.uordblks + info.hblkhd) / 2**20, 1),
                    "c_heap_free_kept_mb": round(info.fordblks / 2**20, 1),
                    "sqlite_mb": round(self._sqlite_used() / 2**20, 1),
                }
            time.sleep(0.02)


def child(url: str) -> None:
    """Run one sync against ``url`` and print the figures as JSON (runs in a fresh process)."""
    from empathy_bridge.engine import Bridge
    from empathy_bridge_zendesk.sandbox import SANDBOX_FIELD_IDS, SANDBOX_TOKEN

    store = Path(tempfile.mkdtemp(prefix="eb-bench-memory-")) / "store.db"
    source = {"adapter": "zendesk", "base_url": url, "subdomain": "sandbox",
              "email": "agent@sandbox.example.com", "token_env": "ZENDESK_API_TOKEN",
              "plan": None, "fields": dict(SANDBOX_FIELD_IDS)}
    with Bridge.from_config({"store": {"url": f"sqlite:///{store}"},
                             "sources": {"zendesk": source}},
                            environ={"EMPATHY_BRIDGE_PLUGINS": "zendesk",
                                     "ZENDESK_API_TOKEN": SANDBOX_TOKEN}) as bridge:
        bridge.store  # noqa: B018 - open and migrate before measuring
        sampler = PeakSampler()
        sampler.start()
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        report = bridge.sync("zendesk")
        seconds = time.perf_counter() - started
        store_bytes = store.stat().st_size
    shutil.rmtree(store.parent, ignore_errors=True)  # 1.8 GB after a 100,000-ticket run
    writes = sum(n for key, n in report.api_calls.items()
                 if "/tickets/update_many" in key or "/job_statuses/" in key)
    print(json.dumps({
        "status": report.status, "pulled": report.pulled, "analyzed": report.analyzed,
        "written": report.written, "write_calls": writes,
        "min_write_calls": 2 * math.ceil(report.written / 100), "seconds": round(seconds, 1),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "store_mb": round(store_bytes / 2**20, 1), "at_peak": sampler.at_peak,
    }))
    sys.stdout.flush()
    sys._debugmallocstats()  # to stderr; the parent reads the arena high-water from it


def measure(size: int, seed: int) -> dict[str, Any]:
    """Serve ``size`` tickets in a sandbox process and sync them in a child process."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "empathy-bridge"), "sandbox", "serve", "zendesk", "--port", str(port),
         "--records", str(size), "--seed", str(seed), "--no-rate-limits"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(url, 60 + size / 500)
        out = subprocess.run([sys.executable, __file__, "--child", url], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        run = {"tickets": size, **json.loads(out.stdout.strip().splitlines()[-1])}
        arenas = re.search(r"# arenas highwater mark\s*=\s*([\d,]+)", out.stderr)
        size_line = re.search(r"arenas \* (\d+) bytes/arena", out.stderr)
        if arenas and size_line:
            run["at_peak"]["python_arenas_high_mb"] = round(
                int(arenas.group(1).replace(",", "")) * int(size_line.group(1)) / 2**20, 1)
        return run
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--large", action="store_true", help="add a 1,000,000-ticket run")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    sizes = sorted(set(args.sizes + ([1_000_000] if args.large else [])))
    runs = [measure(size, args.seed) for size in sizes]
    smallest, largest = runs[0], runs[-1]
    growth = 100.0 * (largest["peak_rss_mb"] - smallest["peak_rss_mb"]) / smallest["peak_rss_mb"]
    result = {"runs": runs, "peak_growth_pct": round(growth, 1),
              "target": "largest peak within 10 % of the smallest and under 250 MB",
              "met": growth <= 10.0 and largest["peak_rss_mb"] < 250.0}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'tickets':>10} {'messages':>10} {'seconds':>8} {'baseline MB':>12} "
          f"{'peak RSS MB':>12} {'store MB':>9} {'write calls / min':>18}")
    for run in runs:
        writes = f"{run['write_calls']:,} / {run['min_write_calls']:,}"
        print(f"{run['tickets']:>10,} {run['pulled']:>10,} {run['seconds']:>8} "
              f"{run['baseline_rss_mb']:>12} {run['peak_rss_mb']:>12} {run['store_mb']:>9} "
              f"{writes:>18}")
    print("\nat the RSS peak (MB; Python objects: pymalloc arenas' high-water):")
    print(f"{'tickets':>10} {'RSS':>7} {'Python':>7} {'C heap':>7} {'C free':>7} {'SQLite':>7}")
    for run in runs:
        peak = run.get("at_peak") or {}
        cells = [peak.get(key, "-") for key in ("rss_mb", "python_arenas_high_mb",
                                                 "c_heap_in_use_mb", "c_heap_free_kept_mb",
                                                 "sqlite_mb")]
        print(f"{run['tickets']:>10,} " + " ".join(f"{cell:>7}" for cell in cells))
    print(f"peak growth {sizes[0]:,} -> {sizes[-1]:,} tickets: {result['peak_growth_pct']} % "
          f"(target <= 10 %, peak < 250 MB: {'met' if result['met'] else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
