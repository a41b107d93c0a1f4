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
function.

Unless ``--no-cli``, it also times ``empathy-bridge analyze --input FILE`` in a child process
(CPU time, every installed plugin loaded as in normal use) on two inputs: the dev texts four
times over (21,704 lines) and, when present, the train split's texts (43,410 lines), read from
the shared data folder into a temporary file, each best of ``--repeat`` runs. Start-up
(interpreter, imports, plugins, model: the CPU time of a one-line input) is printed on its own;
each input gets two rows, its rate with start-up included and with start-up subtracted (what a
longer stream tends to).
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
from dataclasses import dataclass  # noqa: E402
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


@dataclass(frozen=True)
class CliRun:
    """One timed ``analyze --input`` run."""

    label: str
    lines: int
    seconds: float

    def rate(self, startup: float = 0.0) -> float:
        """Messages per CPU second, with ``startup`` seconds taken off the run first."""
        return self.lines / max(self.seconds - startup, 1e-9)


def _cli_seconds(path: Path, cwd: str) -> float | None:
    """CPU seconds of ``empathy-bridge analyze --input PATH`` in a child process (None: failed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [sys.executable, "-c", "from empathy_bridge.cli import main; main()",
               "analyze", "--input", str(path)]
    # The environment as a user has it: every installed plugin (adapters, hosted analyzers)
    # is loaded, so their import cost is part of the start-up measured here.
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          cwd=cwd, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"(CLI path failed: {done.stderr.decode(errors='replace').strip()[-200:]})")
        return None
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _write_jsonl(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": n, "text": t}) + "\n" for n, t in enumerate(texts)),
                    encoding="utf-8")


def _cli_runs(inputs: list[tuple[str, list[str]]], repeat: int) -> tuple[float, list[CliRun]]:
    """Start-up CPU seconds (a one-line input) and each input's run, each best of ``repeat``.

    Start-up (interpreter, imports, plugins, model) is paid once per invocation, so a figure
    that includes it depends on the file's length: each input's line count is printed with it,
    and so is the rate with start-up subtracted (the rate a long stream tends to).
    """
    runs: list[CliRun] = []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.jsonl"
        _write_jsonl(one, ["warming up the analyzer"])
        startups = [_cli_seconds(one, tmp) for _ in range(max(1, repeat))]
        if any(s is None for s in startups):
            return 0.0, []
        startup = min(s for s in startups if s is not None)
        for label, texts in inputs:
            path = Path(tmp) / "messages.jsonl"
            _write_jsonl(path, texts)
            times = [_cli_seconds(path, tmp) for _ in range(max(1, repeat))]
            if all(t is not None for t in times):
                runs.append(CliRun(label, len(texts), min(t for t in times if t is not None)))
    return startup, runs


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
    startup, cli_runs = 0.0, []
    if not args.no_cli:
        inputs = [(f"{len(texts) * 4:,} lines: dev x4", texts * 4)]
        try:
            train = [row.text for row in load_split(data, "train")]
        except FileNotFoundError:
            train = []
        if train:
            inputs.append((f"{len(train):,} lines: train split", train))
        startup, cli_runs = _cli_runs(inputs, args.repeat)
    floor = len(texts) / best[paths[0][0]]
    rates = {name: len(texts) / best[name] for name, _ in paths}
    for run in cli_runs:
        rates[f"CLI analyze --input, {run.label}, incl. start-up"] = run.rate()
        rates[f"CLI analyze --input, {run.label}, start-up subtracted"] = run.rate(startup)
    if args.json:
        print(json.dumps({"texts": len(texts), "batch_size": size, "repeat": args.repeat,
                          "cli_startup_seconds": round(startup, 3) if cli_runs else None,
                          "msgs_per_second": {k: round(v) for k, v in rates.items()},
                          "ratio_to_vader": {k: round(v / floor, 3) for k, v in rates.items()}},
                         indent=2))
        return 0
    print(f"{len(texts)} GoEmotions dev texts, batch size {size}, best of {args.repeat} runs "
          "(CPU time, one core)")
    width = max(len(name) for name in rates) + 2
    print(f"{'path':<{width}}{'msgs/s':>10}{'vs VADER':>10}")
    for name, rate in rates.items():
        print(f"{name:<{width}}{rate:>10,.0f}{rate / floor:>10.2f}")
    if cli_runs:
        print(f"CLI, best of {max(1, args.repeat)} runs each: start-up (one-line input) "
              f"{startup:.2f} s CPU; "
              + "; ".join(f"{run.label}: {run.seconds:.2f} s" for run in cli_runs))
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
