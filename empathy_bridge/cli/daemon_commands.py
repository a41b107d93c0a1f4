"""Daemon sub-commands: ``run`` (the scheduler) and ``forget`` (right to be forgotten)."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Any

import click

from empathy_bridge.engine import Bridge, Progress

__all__ = ["forget", "register", "run"]

_config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path to the TOML config file.",
)


class _Bars:
    """One rich progress line per source when stderr is a terminal (long backfills)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} records"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.tasks: dict[str, Any] = {}

    def callback(self, source: str) -> Progress:
        if source not in self.tasks:
            self.tasks[source] = self.progress.add_task(f"sync {source}", total=None)
        task = self.tasks[source]

        def update(stage: str, done: int, total: int | None) -> None:
            self.progress.update(task, completed=done, total=total)

        return update


@click.command()
@_config_option
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
def run(config_path: Path, sources: tuple[str, ...]) -> None:
    """Run the sync daemon: scheduled syncs and plugin jobs until SIGTERM/SIGINT.

    On a signal the current batch finishes (or rolls back), its work is committed and the
    process exits 0. The schedule is kept in the store; `empathy-bridge status` shows it.
    """
    from empathy_bridge.daemon import Daemon

    logger = logging.getLogger("empathy_bridge")
    if logger.level > logging.INFO:
        # A daemon's log is its only voice: job starts, results and retries are INFO/WARNING.
        logger.setLevel(logging.INFO)
    bars = _Bars() if sys.stderr.isatty() else None
    with Bridge.from_config(config_path) as bridge:
        daemon = Daemon(bridge, sources, progress=bars.callback if bars else None)
        bridge.store  # noqa: B018 - open and migrate the store before the first job
        # What is loaded by now (model, plugins, schemas) lives as long as the process: frozen
        # out of the collector's sight, each full collection during a sync walks only the
        # batch's objects (the HTTP service and `analyze --input` do the same).
        gc.freeze()
        if bars is not None:
            with bars.progress:
                code = daemon.run()
        else:
            code = daemon.run()
    sys.exit(code)


@click.command()
@_config_option
@click.option("--customer", "customer_id", required=True, help="The customer's id at the source.")
@click.option("--vacuum", is_flag=True,
              help="Also rewrite the SQLite file so no earlier row version survives in free "
              "space (locks the store while it runs).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def forget(config_path: Path, customer_id: str, vacuum: bool, as_json: bool) -> None:
    """Remove a customer's derived data (interactions, analyses, decisions, write-back ledger,
    outbox, dead letters) from the store; the removal is audited without the id."""
    from empathy_bridge.daemon import forget_customer

    with Bridge.from_config(config_path) as bridge:
        counts = forget_customer(bridge, customer_id, vacuum=vacuum)
    if as_json:
        import json

        click.echo(json.dumps(counts))
    else:
        click.echo(
            f"forgot customer: {counts['conversations']} conversations, "
            f"{counts['interactions']} interactions, {counts['dead_letters']} dead letters"
        )


def register(group: click.Group) -> None:
    """Add the daemon commands to the root group."""
    group.add_command(run)
    group.add_command(forget)
