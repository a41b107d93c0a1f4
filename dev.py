#!/usr/bin/env python3
"""Developer entry point: set up a virtualenv with everything, then run the demo or the tests.

    python3 dev.py demo     # install core + adapters + plugins, run `empathy-bridge demo`
    python3 dev.py test     # install everything incl. dev tools, run ruff, mypy and pytest
    python3 dev.py bench    # run the benchmark suite (reduced with --smoke)

Needs only Python 3.11+ and pip. The virtualenv lives in .venv (override with EB_VENV).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("EB_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*args: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, check=check).returncode


def distributions() -> list[Path]:
    """The core plus every adapter and plugin distribution in the monorepo."""
    found = [ROOT]
    for group in ("adapters", "plugins"):
        found += sorted(p.parent for p in (ROOT / group).glob("*/pyproject.toml"))
    return found


def install(dev: bool) -> None:
    if not PY.exists():
        print(f"creating virtualenv {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    args: list[str | Path] = [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for dist in distributions():
        spec = str(dist) + ("[dev]" if dev and dist == ROOT else "")
        args += ["-e", spec]
    run(*args)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    rest = sys.argv[2:]
    if command == "demo":
        install(dev=False)
        workdir = os.environ.get("EB_DEMO_WORKDIR", "empathy-bridge-demo")
        sys.exit(run(BIN / "empathy-bridge", "demo", "--workdir", workdir, *rest, check=False))
    if command == "test":
        install(dev=True)
        code = run(BIN / "ruff", "check", ".", check=False)
        code |= run(BIN / "mypy", "--strict", "empathy_bridge", check=False)
        code |= run(PY, "-m", "pytest", "-q", *rest, check=False)
        sys.exit(code)
    if command == "bench":
        install(dev=True)
        sys.exit(run(PY, "benchmarks/run_all.py", *rest, check=False))
    print(__doc__)
    sys.exit(0 if command in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main()
