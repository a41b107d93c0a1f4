"""Run every benchmark and print one table of headline figures (``--json`` for machines).

Each benchmark runs in its own process with ``--json`` and its figures are summarised side by
side; ratios (ours vs plain VADER, calls vs the platform minimum) are computed within one run
so the numbers are comparable on a noisy shared machine.

    .venv/bin/python benchmarks/run_all.py            # full sizes (about 30 minutes)
    .venv/bin/python benchmarks/run_all.py --smoke    # reduced sizes: it must finish, not win
    .venv/bin/python benchmarks/run_all.py --only accuracy analysis --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

Row = tuple[str, str, str]


def _accuracy(d: dict[str, Any]) -> list[Row]:
    states = ", ".join(f"{k} {v['f1']:.2f}" for k, v in d["states"].items())
    sentiment = d["sentiment"]
    ours = sentiment.get("ours", sentiment).get("macro_f1") if isinstance(sentiment, dict) else None
    rows = [("six-state macro-F1 (dev)", f"{d['macro_f1']:.3f}", "target >= 0.50, each >= 0.30"),
            ("per-state F1", states, ""),
            ("polarity-only baseline macro-F1", f"{d['polarity_baseline_macro_f1']:.3f}", "")]
    if ours is not None:
        rows.append(("3-class sentiment macro-F1", json.dumps(sentiment)[:80], "vs plain VADER"))
    return rows


def _analysis(d: dict[str, Any]) -> list[Row]:
    rates, ratios = d["msgs_per_second"], d["ratio_to_vader"]
    return [(f"analysis: {name}", f"{rate:,} msgs/s", f"{ratios[name]:.2f}x VADER")
            for name, rate in rates.items()]


def _zendesk(d: dict[str, Any]) -> list[Row]:
    return [
        (f"zendesk e2e ({d['tickets']:,} tickets)", f"{d['tickets_per_second']} tickets/s",
         f"{d['interactions'] / d['seconds']:.0f} messages/s"),
        ("zendesk read calls / 1,000 tickets", str(d["read_calls_per_1000"]),
         f"min export pages {d['min_read_calls_export_pages']}"),
        ("zendesk write calls / 1,000 tickets", str(d["write_calls_per_1000"]),
         f"{d['write_calls_over_min_pct']} % over min (update_many + job polls)"),
        ("zendesk stage share (wall)", _shares(d["stage_seconds"], d["seconds"]),
         ", ".join(f"{k} {v}s" for k, v in d["stage_seconds"].items())),
        ("zendesk stage share (CPU)", _shares(d.get("stage_cpu_seconds", {}), d.get("cpu_seconds")),
         f"{d.get('interactions_per_cpu_second', '?')} messages per CPU second"),
        ("zendesk VADER-only ceiling (one core)",
         f"{d.get('vader_only_tickets_per_second', '?')} tickets/s",
         f"e2e at {d.get('end_to_end_vs_vader_only', '?')}x of it; "
         f"plain VADER {d.get('plain_vader_messages_per_cpu_second', '?')} msgs/CPU s"),
    ]


def _shares(stages: dict[str, float], total: float | None) -> str:
    if not total:
        return "n/a"
    return ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in stages.items())


def _salesforce(d: dict[str, Any]) -> list[Row]:
    keys = {k: v for k, v in d.items() if isinstance(v, int | float | str)}
    return [(f"salesforce {k}", str(v), "") for k, v in keys.items()][:10]


def _memory(d: dict[str, Any]) -> list[Row]:
    rows = [(f"peak RSS, {r['tickets']:,} tickets", f"{r['peak_rss_mb']} MB",
             f"{r['pulled']:,} messages, store {r['store_mb']} MB") for r in d["runs"]]
    rows.append(("peak growth smallest -> largest", f"{d['peak_growth_pct']} %", d["target"]))
    return rows


def _rate(d: dict[str, Any]) -> list[Row]:
    return [(f"rate ceiling ({d['plan']}, {d['seconds']} s)",
             f"{d['share_of_ceiling_used_pct']} % of ceiling",
             f"429s: first minute {d['throttled_first_minute']}, after "
             f"{d['throttled_after_first_minute']}")]


def _store(d: dict[str, Any]) -> list[Row]:
    return [("store bytes per interaction", str(d["bytes_per_interaction"]),
             f"{d['interactions']:,} interactions"),
            ("metrics query over the store", f"{d['metrics_seconds']} s",
             f"{d['interactions']:,} interactions")]


#: name -> (command, smoke command, summariser)
BENCHMARKS: dict[str, tuple[list[str], list[str], Callable[[dict[str, Any]], list[Row]]]] = {
    "accuracy": (["benchmarks/accuracy.py", "--json"], ["benchmarks/accuracy.py", "--json"],
                 _accuracy),
    "analysis": (["benchmarks/analysis_speed.py", "--json"],
                 ["benchmarks/analysis_speed.py", "--json", "--repeat", "1", "--no-cli"],
                 _analysis),
    "zendesk": (["adapters/zendesk/benchmarks/bench_zendesk.py", "--tickets", "10000", "--json"],
                ["adapters/zendesk/benchmarks/bench_zendesk.py", "--tickets", "300", "--json"],
                _zendesk),
    "salesforce": (["benchmarks/salesforce_sync.py", "--records", "10000", "--json"],
                   ["benchmarks/salesforce_sync.py", "--records", "300", "--json"], _salesforce),
    "memory": (["benchmarks/memory.py", "--json"],
               ["benchmarks/memory.py", "--sizes", "200", "600", "--json"], _memory),
    "rate": (["benchmarks/rate_ceiling.py", "--json"],
             ["benchmarks/rate_ceiling.py", "--seconds", "5", "--settle", "0", "--json"], _rate),
    "store": (["benchmarks/store_growth.py", "--json"],
              ["benchmarks/store_growth.py", "--interactions", "5000", "--json"], _store),
}


#: Benchmarks that read the GoEmotions data (skipped, not failed, where it is absent).
NEEDS_DATA = {"accuracy", "analysis"}


def goemotions_present() -> bool:
    """Whether the GoEmotions splits are where the accuracy/speed scripts look for them."""
    env = os.environ.get("EMPATHY_BRIDGE_GOEMOTIONS")
    folder = Path(env) if env else ROOT.parent / "shared" / "data" / "goemotions"
    return (folder / "dev.tsv").exists() and (folder / "labels.txt").exists()


def run(name: str, smoke: bool) -> tuple[dict[str, Any] | None, float, str]:
    """Run one benchmark; returns its JSON (or None), seconds taken and any error text."""
    full, reduced, _ = BENCHMARKS[name]
    started = time.perf_counter()
    done = subprocess.run([PY, *(reduced if smoke else full)], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, seconds, lines[-1] if lines else f"exit {done.returncode}"
    try:
        return json.loads(done.stdout[done.stdout.index("{"):]), seconds, ""
    except (ValueError, json.JSONDecodeError):
        return None, seconds, "no JSON in the output"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="reduced sizes (CI)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    failed = False
    for name in args.only or list(BENCHMARKS):
        if name in NEEDS_DATA and not goemotions_present():
            results[name] = {"seconds": 0.0, "result": None,
                             "error": "skipped: GoEmotions data not found (../shared/data/"
                                      "goemotions or $EMPATHY_BRIDGE_GOEMOTIONS)"}
            if not args.json:
                print(f"[{name}] skipped: GoEmotions data not found", file=sys.stderr)
            continue
        data, seconds, error = run(name, args.smoke)
        results[name] = {"seconds": round(seconds, 1), "result": data, "error": error or None}
        failed |= data is None
        if not args.json:
            print(f"[{name}] {'ok' if data is not None else 'FAILED: ' + error} "
                  f"({seconds:.0f} s)", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 1 if failed else 0
    rows: list[Row] = []
    for name, entry in results.items():
        if entry["result"] is None:
            skipped = (entry["error"] or "").startswith("skipped")
            rows.append((name, "skipped" if skipped else "FAILED", entry["error"] or ""))
            continue
        try:
            rows += BENCHMARKS[name][2](entry["result"])
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            rows.append((name, "unreadable result", repr(exc)))
    width = max(len(r[0]) for r in rows)
    value_width = min(40, max(len(r[1]) for r in rows))
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{value_width}}  {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
