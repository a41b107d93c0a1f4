"""The ``empathy-bridge`` command line (click + rich).

Errors print one line (``error: ...``) and exit 1; ``--debug`` shows the traceback instead.
Plugins add commands through the ``empathy_bridge_register_commands`` hook.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from empathy_bridge import __version__
from empathy_bridge.errors import EmpathyBridgeError

__all__ = ["cli", "main"]


class _Root(click.Group):
    """Root group that turns our errors into one line unless ``--debug`` is on.

    Plugins' commands are registered on first need: when a name that is not a core command is
    looked up, or the command list is shown. Registering them imports every plugin's command
    modules (the service, social care, metrics...), which ``analyze`` and the other core commands
    do not use, so core command names are resolved without them (and always to the core
    command: a plugin cannot replace one).
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and _register_plugin_commands():
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_plugin_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EmpathyBridgeError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except BrokenPipeError:
            raise
        except OSError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "),
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="empathy-bridge")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--verbose", "-v", is_flag=True, help="Log progress (INFO).")
@click.option("--log-json", is_flag=True, help="Log as JSON lines (for log collectors).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool, log_json: bool) -> None:
    """empathy-bridge: emotional context for customer operations."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from empathy_bridge.logs import configure_logging

    configure_logging(debug=debug, verbose=verbose, json_lines=log_json)


_registered: set[str] = set()


def _register_core_commands() -> None:
    """The commands of this package (idempotent)."""
    if "core" in _registered:
        return
    _registered.add("core")
    from empathy_bridge.cli import core_commands, daemon_commands, demo

    core_commands.register(cli)
    daemon_commands.register(cli)
    cli.add_command(demo.demo)


def _register_plugin_commands() -> bool:
    """Plugins' commands, through ``empathy_bridge_register_commands``; False if done before."""
    if "plugins" in _registered:
        return False
    _registered.add("plugins")
    from empathy_bridge.plugins import get_plugin_manager

    pm = get_plugin_manager()
    pm.hook.empathy_bridge_register_commands(cli=cli)
    return True


def _register_commands() -> None:
    """Every command: this package's, then the plugins' (tests and docs checks list them)."""
    _register_core_commands()
    _register_plugin_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    _register_core_commands()
    if os.environ.get("EMPATHY_BRIDGE_DEBUG"):
        logging.getLogger("empathy_bridge").setLevel(logging.DEBUG)
    try:
        cli.main(args=argv, prog_name="empathy-bridge")
    except EmpathyBridgeError as exc:
        # A plugin that fails to load, found while listing or resolving commands.
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
