"""Plugin manager: built-in defaults plus everything in the ``empathy_bridge`` entry-point group.

Environment controls, for switching a broken plugin off without uninstalling it:

- ``EMPATHY_BRIDGE_PLUGINS``: comma-separated allow list of entry-point names; when set, only
  those external plugins load (built-ins always load).
- ``EMPATHY_BRIDGE_DISABLE_PLUGINS``: comma-separated deny list; names here never load. Built-in
  plugins can be denied too (``builtin.analyzer``), provided another plugin takes their place.
- ``EMPATHY_BRIDGE_NO_AUTOLOAD=1``: load no entry points at all (tests use this).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Mapping
from typing import Any

import pluggy
from pydantic import BaseModel

from empathy_bridge import hookspecs
from empathy_bridge.errors import PluginError

__all__ = ["DEFAULT_PLUGINS", "PluginInfo", "get_plugin_manager", "plugin_infos"]

#: Built-in behaviour, registered through the same hooks as third-party plugins.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "empathy_bridge.defaults.example_source",
    "empathy_bridge.defaults.cues",
    "empathy_bridge.defaults.analyzer",
    "empathy_bridge.defaults.trajectory",
    "empathy_bridge.defaults.policies",
    "empathy_bridge.defaults.composition",
    "empathy_bridge.defaults.social",
    "empathy_bridge.defaults.server",
    "empathy_bridge.defaults.assessment",
    "empathy_bridge.defaults.metrics",
)

ALLOW_ENV = "EMPATHY_BRIDGE_PLUGINS"
DENY_ENV = "EMPATHY_BRIDGE_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "EMPATHY_BRIDGE_NO_AUTOLOAD"


def _names(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def _builtin_name(module: str) -> str:
    return "builtin." + module.rsplit(".", 1)[-1]


def get_plugin_manager(
    environ: Mapping[str, str] | None = None, extra_plugins: tuple[object, ...] = ()
) -> pluggy.PluginManager:
    """A new plugin manager with defaults, entry points (per the env lists) and ``extra_plugins``.

    Each :class:`~empathy_bridge.Bridge` has its own manager, so two bridges in one process can
    run different plugin sets.
    """
    env = os.environ if environ is None else environ
    allow, deny = _names(env.get(ALLOW_ENV)), _names(env.get(DENY_ENV))
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        name = _builtin_name(module_name)
        if name in deny:
            continue
        pm.register(importlib.import_module(module_name), name=name)
    if env.get(NO_AUTOLOAD_ENV, "") not in ("1", "true", "yes"):
        for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
            if ep.name in deny or (allow and ep.name not in allow):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}; disable it with "
                    f"{DENY_ENV}={ep.name}"
                ) from exc
            if pm.is_registered(plugin):
                continue
            pm.register(plugin, name=ep.name)
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    return pm


class PluginInfo(BaseModel):
    """What ``empathy-bridge plugins`` prints for one plugin."""

    name: str
    version: str | None
    hooks: list[str]


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Name, distribution version and implemented hooks of every registered plugin."""
    versions: dict[int, str] = {}
    for plugin, dist in pm.list_plugin_distinfo():
        versions[id(plugin)] = dist.version
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        version = versions.get(id(plugin))
        if version is None and name.startswith("builtin."):
            from empathy_bridge import __version__

            version = __version__
        infos.append(PluginInfo(name=name, version=version, hooks=hooks))
    return sorted(infos, key=lambda info: info.name)


def collect_registrations(hook: pluggy.HookCaller, what: str) -> dict[str, tuple[Any, str]]:
    """Call a ``register_*`` hook and collect ``name -> (value, plugin name)`` with clashes named.

    The plugin name is found by calling each implementation separately, so an error can say
    which two plugins registered the same name.
    """
    found: dict[str, tuple[Any, str]] = {}
    for impl in hook.get_hookimpls():

        def register(
            name_or_value: Any, value: Any = None, _plugin: str = impl.plugin_name
        ) -> None:
            if value is None:
                value = name_or_value
                name = getattr(value, "name", None)
                if not isinstance(name, str):
                    raise PluginError(f"plugin {_plugin!r} registered a {what} without a name")
            else:
                name = str(name_or_value)
            if name in found and found[name][0] is not value:
                raise PluginError(
                    f"{what} {name!r} registered twice: by {found[name][1]!r} and by {_plugin!r}"
                )
            found[name] = (value, _plugin)

        try:
            impl.function(register)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed registering {what}s: {exc}"
            ) from exc
    return found


def section_models(pm: pluggy.PluginManager) -> dict[str, type[BaseModel]]:
    """Config sections declared by plugins through ``empathy_bridge_register_settings``."""
    return {
        name: model
        for name, (model, _) in collect_registrations(
            pm.hook.empathy_bridge_register_settings, "config section"
        ).items()
    }
