"""Built-in plugin of the HTTP service: the ``[server]`` section and ``serve``/``keys`` commands.

Imports only the settings model at load time; FastAPI and uvicorn load when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.server.settings import ServerSettings

if TYPE_CHECKING:
    import click


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare ``[server]``."""
    register("server", ServerSettings)


@hookimpl
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add ``serve`` and ``keys create|revoke|list``."""
    from empathy_bridge.server.cli import keys, serve

    cli.add_command(serve)
    cli.add_command(keys)
