"""Built-in plugin: the ``[social]`` config section and the ``replies`` / ``social`` commands."""

from __future__ import annotations

from collections.abc import Callable

import click
from pydantic import BaseModel

from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.social.settings import SocialSettings


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare ``[social]``: approval rules, brand safety, listening rules, sinks, escalation."""
    register("social", SocialSettings)


@hookimpl
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add ``empathy-bridge replies ...`` and ``empathy-bridge social ...``."""
    from empathy_bridge.social.cli import replies, social

    cli.add_command(replies)
    cli.add_command(social)
