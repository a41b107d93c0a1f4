"""Crash safety end to end: kill -9 the daemon (a real ``empathy-bridge run`` process) at random
points of a sync against a Zendesk sandbox in another process, restart, and check that every
record ends enriched exactly once.

The harness lives in ``benchmarks/crash_safety.py`` (which prints the closing-note numbers for
bigger runs); this test runs a small trial: 3 kills over 2,000 tickets with 5xx and dropped
connections injected.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "crash_safety.py"


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eb_crash_safety", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def test_kill_9_at_random_points_loses_nothing_and_writes_nothing_twice(tmp_path: Path) -> None:
    pytest.importorskip("empathy_bridge_zendesk.sandbox")
    outcome = _harness().trial(
        tmp_path, records=2000, kills=3, seed=11, error_rate=0.02, drop_rate=0.01
    )
    assert outcome.kills == 3
    assert outcome.kills_mid_write >= 1  # at least one kill landed with a batch in flight
    assert outcome.comments > 1000
    assert outcome.records_lost == 0
    assert outcome.duplicate_writes == 0
    assert outcome.pending_after == 0
    assert outcome.unenriched == 0
