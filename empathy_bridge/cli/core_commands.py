"""Core sub-commands: init, plugins, analyze, sync, status, interactions, dead-letters, schema,
fields, sandbox."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from empathy_bridge.engine import Bridge, SyncReport
from empathy_bridge.errors import ConfigError, SkippableError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["register"]

_config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path to the TOML config file.",
)


# rich is imported by the commands that draw tables, not at start-up: `analyze` never needs it.
def _table(*columns: str, **options: Any) -> Table:
    from rich.table import Table

    return Table(*columns, **options)


def _print(renderable: Any) -> None:
    from rich.console import Console

    Console().print(renderable)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@click.command()
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default="empathy-bridge.toml"
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter config to PATH."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists: pass --force to overwrite it")
    from importlib.resources import files

    path.write_text(
        files("empathy_bridge.defaults").joinpath("starter.toml").read_text("utf-8"),
        encoding="utf-8",
    )
    click.echo(f"wrote {path}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{name, version, hooks}].")
def plugins(as_json: bool) -> None:
    """List the loaded plugins and the hooks each implements."""
    from empathy_bridge.plugins import get_plugin_manager, plugin_infos

    infos = plugin_infos(get_plugin_manager())
    if as_json:
        _emit_json([info.model_dump() for info in infos])
        return
    table = _table("plugin", "version", "hooks")
    for info in infos:
        table.add_row(
            info.name,
            info.version or "",
            ", ".join(h.removeprefix("empathy_bridge_") for h in info.hooks),
        )
    _print(table)


def _read_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, f"line {lineno}: not JSON ({exc.msg})"
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield lineno, f"line {lineno}: expected an object with a string 'text'"
            continue
        yield lineno, record


@click.command()
@click.argument("text", required=False)
@click.option(
    "--input",
    "input_file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    help='JSON lines {"id", "text"} to analyse (\'-\' for stdin).',
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (analysis settings, plugins' sections).",
)
@click.option("--batch-size", default=1000, show_default=True, help="Messages per batch.")
def analyze(
    text: str | None, input_file: IO[str] | None, config_path: Path | None, batch_size: int
) -> None:
    """Analyse TEXT, or stream JSON lines from --input to JSON lines on stdout.

    Output lines are {"id", ...EmotionalContext fields}; a bad input line produces
    {"id": null, "line": N, "error": "..."} and the stream goes on.
    """
    if (text is None) == (input_file is None):
        raise click.UsageError("give either TEXT or --input FILE")
    bridge = Bridge.from_config(config_path)
    if text is not None:
        click.echo(bridge.analyze(text).model_dump_json())
        return
    assert input_file is not None
    # Modules, plugins and the model built so far outlive the stream. Moving them out of the
    # collector's generations keeps each full collection from scanning them again while it runs
    # (about a tenth of the CPU time of a large file); unfrozen after, for in-process callers.
    gc.freeze()
    try:
        _stream_analyses(bridge, input_file, batch_size)
    finally:
        gc.unfreeze()


def _json_id(value: Any) -> str:
    # Integer ids (the common case) print as json.dumps would, without its call overhead.
    return str(value) if type(value) is int else json.dumps(value)


def _stream_analyses(bridge: Bridge, input_file: IO[str], batch_size: int) -> None:
    """JSON lines in, one context line out per record, in batches of ``batch_size``."""
    out = sys.stdout
    pending: list[tuple[Any, str]] = []

    def flush() -> None:
        contexts = bridge.analyze_many([t for _, t in pending])
        out.write(
            "".join(
                '{"id":' + _json_id(record_id) + "," + context.model_dump_json()[1:] + "\n"
                for (record_id, _), context in zip(pending, contexts, strict=True)
            )
        )
        pending.clear()

    for lineno, record in _read_jsonl(input_file):
        if isinstance(record, str):
            flush() if pending else None
            out.write(json.dumps({"id": None, "line": lineno, "error": record}) + "\n")
            continue
        pending.append((record.get("id"), record["text"]))
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()


def _report_table(reports: list[SyncReport]) -> Table:
    table = _table(
        "source",
        "status",
        "pulled",
        "analysed",
        "written",
        "write calls",
        "dead letters",
        "seconds",
    )
    for r in reports:
        table.add_row(
            r.source,
            r.status + (f" ({r.detail})" if r.detail else ""),
            str(r.pulled),
            str(r.analyzed),
            str(r.written),
            str(r.write_calls),
            str(r.dead_letters),
            f"{r.seconds:.1f}",
        )
    return table


@click.command()
@_config_option
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
@click.option("--once", is_flag=True, help="Exactly one cycle (default: repeat until caught up).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def sync(config_path: Path, sources: tuple[str, ...], once: bool, as_json: bool) -> None:
    """Pull, analyse, decide and write back for the configured sources."""
    with Bridge.from_config(config_path) as bridge:
        names = list(sources) or [n for n, c in bridge.source_configs.items() if c.enabled]
        reports = []
        for name in names:
            with _progress(name, as_json) as progress:
                report = bridge.sync(name, progress=progress)
                while not once and report.status == "ok" and report.analyzed:
                    report = bridge.sync(name, progress=progress)
            reports.append(report)
    if as_json:
        _emit_json([r.__dict__ for r in reports])
    else:
        _print(_report_table(reports))
    if any(r.status == "failed" for r in reports):
        for r in reports:
            if r.status == "failed":
                click.echo(f"error: {r.source}: {r.detail}", err=True)
        sys.exit(1)


class _progress:
    """A rich progress line when interactive, nothing otherwise."""

    def __init__(self, name: str, quiet: bool) -> None:
        self.name = name
        self.enabled = not quiet and sys.stderr.isatty()

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} records"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.__enter__()
        task = self._progress.add_task(f"sync {self.name}", total=None)

        def update(stage: str, done: int, total: int | None) -> None:
            self._progress.update(task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.__exit__(None, None, None)


@click.command()
@_config_option
@click.option("--json", "as_json", is_flag=True)
def status(config_path: Path, as_json: bool) -> None:
    """Health per source: last run, lag, next run, pending outbox, dead letters, quota."""
    from empathy_bridge.daemon import source_health

    with Bridge.from_config(config_path) as bridge:
        rows = source_health(bridge)
    if as_json:
        _emit_json(rows)
        return
    table = _table(
        "source", "last run", "status", "lag", "next run", "pending outbox", "dead letters", "quota"
    )
    for row in rows:
        table.add_row(
            str(row["source"]),
            str(row["last_run_at"] or "never"),
            str(row["last_status"] or "") + (f" ({row['detail']})" if row["detail"] else ""),
            "" if row["lag_seconds"] is None else f"{row['lag_seconds']:.0f}s",
            str(row["next_run_at"] or "not scheduled"),
            str(row["pending_outbox"]),
            str(row["dead_letters"]),
            str(row["quota"]),
        )
    _print(table)


@click.group()
def interactions() -> None:
    """Stored interactions."""


@interactions.command("export")
@_config_option
@click.option("--source", default=None, help="Only this source.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
def interactions_export(config_path: Path, source: str | None, output: IO[str]) -> None:
    """Stream interactions with their contexts as JSON lines."""
    with Bridge.from_config(config_path) as bridge:
        for interaction, context in bridge.store.iter_interactions(source):
            output.write(
                '{"interaction":'
                + interaction.model_dump_json()
                + ',"context":'
                + (context.model_dump_json() if context else "null")
                + "}\n"
            )


@click.group("dead-letters")
def dead_letters() -> None:
    """Records that failed permanently: list, show, replay, purge."""


@dead_letters.command("list")
@_config_option
@click.option("--source", default=None)
@click.option("--json", "as_json", is_flag=True)
def dead_letters_list(config_path: Path, source: str | None, as_json: bool) -> None:
    """List dead letters."""
    with Bridge.from_config(config_path) as bridge:
        letters = bridge.store.dead_letters(source)
    if as_json:
        _emit_json([{k: v for k, v in d.__dict__.items() if k != "payload"} for d in letters])
        return
    table = _table("id", "source", "stage", "record", "plugin", "error")
    for d in letters:
        table.add_row(
            str(d.id), d.source, d.stage, d.native_id or "", d.plugin or "", d.error[:120]
        )
    _print(table)


@dead_letters.command("show")
@_config_option
@click.argument("letter_id", type=int)
def dead_letters_show(config_path: Path, letter_id: int) -> None:
    """Show one dead letter with its payload."""
    with Bridge.from_config(config_path) as bridge:
        letter = bridge.store.get_dead_letter(letter_id)
    if letter is None:
        raise SkippableError(f"no dead letter with id {letter_id}")
    _emit_json(letter.__dict__)


@dead_letters.command("replay")
@_config_option
@click.option("--source", default=None)
@click.option("--id", "ids", type=int, multiple=True, help="Only these ids.")
def dead_letters_replay(config_path: Path, source: str | None, ids: tuple[int, ...]) -> None:
    """Process dead letters again; those that succeed are removed."""
    with Bridge.from_config(config_path) as bridge:
        letters = [d for d in bridge.store.dead_letters(source) if not ids or d.id in ids]
        done = sum(bridge.replay_dead_letter(d) for d in letters)
    click.echo(f"replayed {done} of {len(letters)} dead letters")


@dead_letters.command("purge")
@_config_option
@click.option("--source", default=None)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dead_letters_purge(config_path: Path, source: str | None, yes: bool) -> None:
    """Delete dead letters."""
    with Bridge.from_config(config_path) as bridge:
        letters = bridge.store.dead_letters(source, limit=1_000_000)
        if not yes:
            click.confirm(f"delete {len(letters)} dead letters?", abort=True)
        removed = bridge.store.delete_dead_letters([d.id for d in letters])
    click.echo(f"purged {removed} dead letters")


@click.group()
def schema() -> None:
    """Canonical JSON Schemas."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schema_export(directory: Path) -> None:
    """Write one JSON Schema file per canonical model into DIRECTORY."""
    from empathy_bridge.schema_export import export_schemas

    written = export_schemas(directory)
    click.echo(f"wrote {len(written)} schema files to {directory}")


@click.group()
def fields() -> None:
    """Check or provision the write-back fields on a platform."""


def _field_rows(checks: list[Any]) -> None:
    table = _table("field", "native id", "exists", "compatible", "detail")
    for c in checks:
        table.add_row(
            c.name,
            c.native_id,
            "yes" if c.exists else "NO",
            "yes" if c.compatible else "NO",
            c.detail,
        )
    _print(table)


@fields.command("check")
@_config_option
@click.option("--source", required=True)
@click.option("--json", "as_json", is_flag=True)
def fields_check(config_path: Path, source: str, as_json: bool) -> None:
    """List the configured fields and whether each exists with a compatible type."""
    with Bridge.from_config(config_path) as bridge:
        checks = bridge.adapter(source).check_fields()
    if as_json:
        _emit_json([c.__dict__ for c in checks])
    else:
        _field_rows(checks)
    if not all(c.exists and c.compatible for c in checks):
        sys.exit(1)


@fields.command("create")
@_config_option
@click.option("--source", required=True)
def fields_create(config_path: Path, source: str) -> None:
    """Provision the missing write-back fields."""
    with Bridge.from_config(config_path) as bridge:
        _field_rows(bridge.adapter(source).create_fields())


@click.group()
def sandbox() -> None:
    """Local emulators of platform APIs."""


@sandbox.command("serve")
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8780, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--records",
    "--tickets",
    "records",
    default=200,
    show_default=True,
    help="Seeded records (tickets, cases, posts).",
)
@click.option("--no-rate-limits", is_flag=True)
@click.option("--error-rate", default=0.0, help="Share of requests answered with a 5xx.")
@click.option("--latency-ms", default=0.0, help="Latency added to every request.")
@click.option("--drop-rate", default=0.0, help="Share of connections dropped.")
def sandbox_serve(
    name: str,
    host: str,
    port: int,
    seed: int,
    records: int,
    no_rate_limits: bool,
    error_rate: float,
    latency_ms: float,
    drop_rate: float,
) -> None:
    """Serve the sandbox NAME in the foreground until Ctrl-C."""
    bridge = Bridge.from_config(None)
    factories = bridge.sandboxes()
    if name not in factories:
        raise ConfigError(f"no sandbox {name!r} (installed: {', '.join(factories) or 'none'})")
    server = factories[name](
        host=host,
        port=port,
        seed=seed,
        records=records,
        rate_limits=not no_rate_limits,
        error_rate=error_rate,
        latency_ms=latency_ms,
        drop_rate=drop_rate,
    )
    server.start()
    click.echo(f"{name} sandbox on {server.url} (stats: {server.url}/_sandbox/stats); Ctrl-C stops")
    try:
        import time

        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(group: click.Group) -> None:
    """Add the core commands to the root group."""
    for command in (
        init,
        plugins,
        analyze,
        sync,
        status,
        interactions,
        dead_letters,
        schema,
        fields,
        sandbox,
    ):
        group.add_command(command)
