"""``empathy-bridge demo``: one full cycle against every installed sandbox, no account needed.

Starts the sandboxes that installed adapters register (or, with none installed, uses the
built-in in-memory example desk), writes a config and a SQLite store into the work directory,
runs one cycle per source and prints a summary. The work directory keeps the config and store,
so read-only commands (``interactions export``, ``dead-letters list``, ...) run against it later
with ``--config WORKDIR/empathy-bridge.toml``.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from empathy_bridge.engine import Bridge

__all__ = ["demo", "render_table", "write_config"]


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: object) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else json.dumps(text)


def _toml_value(value: Any) -> str:
    """A TOML literal for ``value`` (``None`` entries of tables are left out: TOML has no null)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def render_table(name: str, table: dict[str, Any]) -> str:
    """A ``[name]`` TOML table; nested dicts become inline tables, ``None`` values are left out."""
    lines = [f"[{name}]"]
    lines += [
        f"{_toml_key(key)} = {_toml_value(value)}"
        for key, value in table.items()
        if value is not None
    ]
    return "\n".join(lines)


def write_config(path: Path, sources: dict[str, dict[str, Any]], extra: str = "") -> None:
    """Write a demo config with the given source tables."""
    lines = [
        "# Written by `empathy-bridge demo`; reuse it with --config.",
        "",
        "[store]",
        'url = "sqlite:///store.db"',
        "",
    ]
    for name, table in sources.items():
        lines += [render_table(f"sources.{name}", table), ""]
    path.write_text("\n".join(lines) + extra, encoding="utf-8")


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default="empathy-bridge-demo",
    show_default=True,
    help="Where the config, store and reports are written.",
)
@click.option("--records", default=200, show_default=True, help="Seeded records per sandbox.")
@click.option("--seed", default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def demo(workdir: Path, records: int, seed: int, as_json: bool) -> None:
    """Run one full cycle on the local sandboxes and summarise it."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("store.db", "store.db-wal", "store.db-shm"):
        (workdir / stale).unlink(missing_ok=True)
    config_path = (workdir / "empathy-bridge.toml").resolve()
    factories = Bridge.from_config(None).sandboxes()
    summary: dict[str, Any] = {"config": str(config_path), "platforms": {}}
    with ExitStack() as stack:
        servers: dict[str, Any] = {}
        sources: dict[str, dict[str, Any]] = {}
        for name, factory in sorted(factories.items()):
            server = factory(seed=seed, records=records, rate_limits=False)
            server.start()
            stack.callback(server.stop)
            servers[name] = server
            sources[name] = server.demo_source_config()
            for key, value in server.demo_environment().items():
                os.environ.setdefault(key, value)
        if not sources:
            sources["example"] = {"adapter": "example", "desk": "demo", "tickets": records}
        write_config(config_path, sources)
        with Bridge.from_config(config_path) as bridge:
            for name in sources:
                report = bridge.sync(name)
                calls = servers[name].stats()["requests"] if name in servers else report.api_calls
                summary["platforms"][name] = {
                    "status": report.status,
                    "detail": report.detail,
                    "pulled": report.pulled,
                    "analyzed": report.analyzed,
                    "written": report.written,
                    "dead_letters": report.dead_letters,
                    "api_calls": calls,
                }
            summary["store"] = {
                "interactions": bridge.store.count("interactions"),
                "dead_letters": bridge.store.count("dead_letters"),
            }
            # Empathy metrics report of this cycle (docs/metrics.md), written beside the store.
            from empathy_bridge.report import write_report

            summary["report"] = str(write_report(bridge, workdir / "report"))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    # rich only here, so the CLI's start-up (every command registers this one) does not pay it.
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "platform",
        "status",
        "pulled",
        "analysed",
        "written",
        "dead letters",
        "API calls",
        title="empathy-bridge demo",
    )
    for name, p in summary["platforms"].items():
        table.add_row(
            name,
            p["status"],
            str(p["pulled"]),
            str(p["analyzed"]),
            str(p["written"]),
            str(p["dead_letters"]),
            str(sum(p["api_calls"].values())),
        )
    console = Console()
    console.print(table)
    console.print(
        f"config: {config_path}\nnext: empathy-bridge interactions export --config "
        f"{config_path} | head"
    )
    console.print(f"report: {summary['report']}")
