"""Docs guard the contract: every hook and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from empathy_bridge import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_hook_has_a_section_in_plugins_md() -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if name.startswith("empathy_bridge_")]
    assert len(hooks) >= 12
    missing = [h for h in hooks if f"### {h}" not in text]
    assert not missing, f"hooks without a section in docs/plugins.md: {missing}"


def test_every_hook_has_a_docstring() -> None:
    hooks = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("empathy_bridge_")]
    assert all(h.__doc__ and len(h.__doc__) > 40 for h in hooks)


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        names.append(full)
        if isinstance(command, click.Group):
            names += _commands(command, full + " ")
    return names


def test_every_cli_command_is_documented() -> None:
    # With every installed plugin loaded, so plugins' commands are checked too.
    from empathy_bridge.cli import _register_commands, cli

    _register_commands()
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    missing = [c for c in _commands(cli) if f"empathy-bridge {c}" not in text]
    assert not missing, f"CLI commands not documented in docs/: {missing}"
