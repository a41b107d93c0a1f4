"""Benchmark: how much of a plan's rate limit the API budget uses, and how many 429s it meets.

A Zendesk sandbox enforces a plan's per-minute limit (default ``team``: 200 requests/minute,
a sliding window). The Zendesk adapter, with the same ``plan`` in its config, issues read
calls (``GET /api/v2/ticket_fields.json`` through zenpy) as fast as its API budget lets it,
for ``--seconds`` (default 120). Reported: requests answered, the share of the allowed rate
used, and 429s received in the first minute and after it. Target: >= 90 % of the ceiling,
zero 429s after the first minute.

    .venv/bin/python benchmarks/rate_ceiling.py                 # 2 minutes, team plan
    .venv/bin/python benchmarks/rate_ceiling.py --seconds 30 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from empathy_bridge.engine import Bridge
from empathy_bridge_zendesk.sandbox import PLAN_LIMITS, ZendeskSandbox


def run(seconds: float, plan: str, settle: float = 60.0) -> dict[str, Any]:
    """Drive read calls under the budget against a rate-limited sandbox."""
    sandbox = ZendeskSandbox(records=10, rate_limits=True, plan=plan)  # type: ignore[arg-type]
    sandbox.start()
    try:
        source = {**sandbox.demo_source_config(), "plan": plan}
        store = Path(tempfile.mkdtemp(prefix="eb-bench-rate-")) / "store.db"
        with Bridge.from_config({"store": {"url": f"sqlite:///{store}"},
                                 "sources": {"zendesk": source}},
                                environ={"EMPATHY_BRIDGE_PLUGINS": "zendesk",
                                         **sandbox.demo_environment()}) as bridge:
            adapter = bridge.adapter("zendesk")
            # A first cycle, as the daemon runs it: it installs the plan-sized API budget on the
            # adapter's HTTP sessions (the engine does so at the start of every cycle).
            bridge.sync("zendesk")
            time.sleep(settle)  # let the sandbox's sliding window forget the cycle's calls
            sandbox.reset_stats()
            started = time.monotonic()
            calls = errors = 0
            first_minute_429 = None
            while (elapsed := time.monotonic() - started) < seconds:
                if first_minute_429 is None and elapsed >= 60:
                    first_minute_429 = sandbox.stats()["throttled"]
                try:
                    adapter.check_fields()
                    calls += 1
                except Exception:
                    errors += 1
            elapsed = time.monotonic() - started
            stats = sandbox.stats()
    finally:
        sandbox.stop()
    limit = PLAN_LIMITS[plan]
    answered = stats["total_requests"] - stats["throttled"]
    allowed = limit * elapsed / 60.0
    throttled = stats["throttled"]
    early = throttled if first_minute_429 is None else first_minute_429
    return {
        "plan": plan, "limit_per_minute": limit, "seconds": round(elapsed, 1),
        "requests_answered": answered, "allowed_in_period": round(allowed, 1),
        "share_of_ceiling_used_pct": round(100.0 * answered / allowed, 1),
        "throttled_total": throttled, "throttled_first_minute": early,
        "throttled_after_first_minute": throttled - early if elapsed > 60 else None,
        "adapter_errors": errors, "adapter_calls": calls,
        "target": ">= 90 % of the ceiling, 0 429s after the first minute",
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--plan", default="team", choices=sorted(PLAN_LIMITS))
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds to wait after the first cycle (the window's length)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.plan, args.settle)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        print(f"{key:<30} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
