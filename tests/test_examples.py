"""The examples run as they are."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sdk_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sdk_quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "EMPATHY_BRIDGE_NO_AUTOLOAD": "1"},
    )
    assert "sync: pulled=" in out.stdout and "handoff:" in out.stdout


def test_starter_config_is_the_shipped_one() -> None:
    example = (ROOT / "examples" / "empathy-bridge.toml").read_text(encoding="utf-8")
    shipped = (ROOT / "empathy_bridge" / "defaults" / "starter.toml").read_text(encoding="utf-8")
    assert example == shipped
    assert tomllib.loads(example)["sources"]["example"]["adapter"] == "example"
