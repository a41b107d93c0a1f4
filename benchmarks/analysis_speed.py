#!/usr/bin/env python
"""Throughput of the built-in analyzer next to plain VADER, on GoEmotions dev texts.

    .venv/bin/python benchmarks/analysis_speed.py [--data DIR] [--repeat 3] [--profile]

Prints messages per second of: plain VADER (``polarity_scores`` in a loop, the floor every
VADER-based analyzer pays), ``analyze_texts`` (cues + VADER + model + contexts),
``empathy_bridge.defaults.analyzer.analyze_interactions`` (the hook's batch function, on
prepared Interactions) and ``Bridge.analyze_many`` (the SDK path: Interaction construction,
plugin hooks, capping), each with its ratio to VADER. Every path runs ``--repeat`` times,
interleaved, and the best run counts. Time is this process's CPU time (``time.process_time``),
so other work on a shared machine does not count against either side; BLAS is pinned to one
thread, so CPU time is one core's time. ``--profile`` prints the top of a cProfile of the batch
function. Unless ``--no-cli``, it also times ``empathy-bridge analyze --input FILE`` in a child
process (CPU time, interpreter start-up included).
"""

from __future__ import annotations

import os

# One core: pin BLAS threads before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from empathy_bridge.analysis import analyze_texts  # noqa: E402
from empathy_bridge.analysis.goemotions import DATA_ENV, load_split  # noqa: E402
from empathy_bridge.analysis.prepare import VADER  # noqa: E402
from empathy_bridge.defaults.analyzer import analyze_interactions  # noqa: E402
from empathy_bridge.schemas import Interaction  # noqa: E402


def default_data() -> Path:
    """``$EMPATHY_BRIDGE_GOEMOTIONS`` or ``../shared/data/goemotions`` beside the repo root."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else ROOT.parent / "shared" / "data" / "goemotions"


def _cli_rate(texts: list[str]) -> float | None:
    """Messages/s of ``empathy-bridge analyze --input FILE`` in a child process (CPU time).

    The dev texts are written four times over so the interpreter's start-up, which is counted,
    weighs less. Output goes to /dev/null.
    """
    lines = [json.dumps({"id": n, "text": t}) for n, t in enumerate(texts * 4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messages.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [sys.executable, "-c", "from empathy_bridge.cli import main; main()",
                   "analyze", "--input", str(path)]
        env = {**os.environ, "EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=env, cwd=tmp, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"(CLI path failed: {done.stderr.decode(errors='replace').strip()[-200:]})")
        return None
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return len(lines) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Analyzer throughput vs plain VADER.")
    parser.add_argument("--data", type=Path, default=None, help="GoEmotions folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500,
                        help="messages per analyzer call (the engine's default batch)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-cli", action="store_true",
                        help="skip timing `empathy-bridge analyze --input FILE`")
    args = parser.parse_args(argv)
    data = (args.data or default_data()).expanduser().resolve()
    try:
        texts = [row.text for row in load_split(data, "dev")]
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    interactions = [
        Interaction(source="bench", native_id=str(n), conversation_id=str(n), text=t,
                    created_at=now)
        for n, t in enumerate(texts)
    ]
    size = args.batch_size
    analyze_texts(texts[:10])  # load the model outside the timings

    def vader() -> None:
        scores = VADER.polarity_scores
        for text in texts:
            scores(text)

    def ours_texts() -> None:
        for start in range(0, len(texts), size):
            analyze_texts(texts[start : start + size])

    def ours_batch() -> None:
        for start in range(0, len(interactions), size):
            analyze_interactions(interactions[start : start + size])

    paths: list[tuple[str, Callable[[], None]]] = [
        ("plain VADER polarity_scores", vader),
        ("analysis.analyze_texts", ours_texts),
        ("defaults.analyzer.analyze_interactions", ours_batch),
    ]
    try:
        from empathy_bridge.engine import Bridge
    except ImportError:
        print("(empathy_bridge.engine.Bridge not available: SDK path skipped)")
    else:
        bridge = Bridge.from_config(None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})

        def sdk() -> None:
            bridge.analyze_many(texts)

        paths.append(("Bridge.analyze_many", sdk))

    best = {name: float("inf") for name, _ in paths}
    for _ in range(args.repeat):
        for name, fn in paths:
            started = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - started)
    cli_rate = None if args.no_cli else _cli_rate(texts)
    floor = len(texts) / best[paths[0][0]]
    if args.json:
        rates = {name: len(texts) / best[name] for name, _ in paths}
        if cli_rate is not None:
            rates["CLI analyze --input"] = cli_rate
        print(json.dumps({"texts": len(texts), "batch_size": size, "repeat": args.repeat,
                          "msgs_per_second": {k: round(v) for k, v in rates.items()},
                          "ratio_to_vader": {k: round(v / floor, 3) for k, v in rates.items()}},
                         indent=2))
        return 0
    print(f"{len(texts)} GoEmotions dev texts, batch size {size}, best of {args.repeat} runs "
          "(CPU time, one core)")
    print(f"{'path':<42}{'msgs/s':>10}{'vs VADER':>10}")
    for name, _ in paths:
        rate = len(texts) / best[name]
        print(f"{name:<42}{rate:>10,.0f}{rate / floor:>10.2f}")
    if cli_rate is not None:
        name = "CLI analyze --input (x4 dev, incl. startup)"
        print(f"{name:<42}{cli_rate:>10,.0f}{cli_rate / floor:>10.2f}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        ours_batch()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
