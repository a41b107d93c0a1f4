"""``empathy-bridge serve`` and ``empathy-bridge keys create|revoke|list``."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click
from rich.console import Console
from rich.table import Table

from empathy_bridge.errors import ConfigError

if TYPE_CHECKING:
    from empathy_bridge.engine import Bridge
    from empathy_bridge.server.keys import ApiKeys

__all__ = ["keys", "serve"]

_config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Path to the TOML config file.")


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Path to the TOML config file (required unless --print-openapi).")
@click.option("--host", default=None, help="Interface to listen on (default: [server] host).")
@click.option("--port", type=int, default=None, help="Port (default: [server] port).")
@click.option("--print-openapi", is_flag=True,
              help="Print the OpenAPI document and exit (regenerates schemas/openapi.json).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (uvicorn's access log).")
@click.option("--worker", type=click.Choice(["process", "thread"]), default=None,
              help="Run the webhook worker in its own process or in a thread of the server "
                   "(default: [server] worker, \"process\").")
def serve(config_path: Path | None, host: str | None, port: int | None, print_openapi: bool,
          access_log: bool, worker: Literal["process", "thread"] | None) -> None:
    """Run the REST API and webhook receiver (uvicorn) until interrupted."""
    if print_openapi:
        from empathy_bridge.server.app import render_openapi

        click.echo(render_openapi(), nl=False)
        return
    if config_path is None:
        raise ConfigError("serve needs --config FILE (or --print-openapi)")
    import uvicorn

    from empathy_bridge.engine import Bridge
    from empathy_bridge.server.app import create_app
    from empathy_bridge.server.settings import ServerSettings

    bridge = Bridge.from_config(config_path)
    settings = bridge.config.section("server", ServerSettings)
    mode = worker or settings.worker
    # /v1/analyze batches (and a thread worker) run CPU-bound Python beside the event loop: a
    # short GIL switch interval hands the GIL back to request handling sooner.
    sys.setswitchinterval(settings.gil_switch_interval)
    bridge.store  # noqa: B018 - open and migrate the store before accepting traffic
    app = create_app(bridge, close_bridge=True, worker=mode)
    # Everything loaded so far (models, plugins, schemas) lives as long as the process: out of
    # the collector's sight, full collections stay short pauses for the event loop.
    gc.freeze()
    trusted = ",".join(settings.trusted_proxies) or "127.0.0.1"
    uvicorn.run(app, host=host or settings.host, port=settings.port if port is None else port,
                proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=trusted,
                access_log=access_log, log_level="info", timeout_graceful_shutdown=30)


@click.group()
def keys() -> None:
    """Create, revoke and list API keys of the REST API (scoped per tenant)."""


def _api_keys(config_path: Path) -> tuple[Bridge, ApiKeys]:
    from empathy_bridge.engine import Bridge
    from empathy_bridge.server.keys import ApiKeys

    bridge = Bridge.from_config(config_path)
    return bridge, ApiKeys(bridge.store)


@keys.command("create")
@_config_option
@click.option("--tenant", required=True, help="Tenant the key may read (sources' `tenant`).")
@click.option("--name", default="", help="A label, e.g. the calling system.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {key_id, tenant, name, key}.")
def keys_create(config_path: Path, tenant: str, name: str, as_json: bool) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    bridge, api_keys = _api_keys(config_path)
    try:
        tenants = {cfg.tenant for cfg in bridge.source_configs.values()}
        created = api_keys.create(tenant, name)
    finally:
        bridge.close()
    if as_json:
        click.echo(json.dumps({"key_id": created.key.key_id, "tenant": tenant,
                               "name": created.key.name, "key": created.token}))
        return
    if tenant not in tenants:
        click.echo(f"warning: no configured source has tenant {tenant!r}; the key reads nothing "
                   "until one does", err=True)
    click.echo(created.token)
    click.echo(f"key {created.key.key_id} for tenant {tenant}: store it now, it is not shown "
               "again", err=True)


@keys.command("revoke")
@_config_option
@click.option("--tenant", required=True, help="Tenant the key belongs to.")
@click.argument("key_id")
def keys_revoke(config_path: Path, tenant: str, key_id: str) -> None:
    """Revoke the key KEY_ID (the id shown by `keys list`, or the whole key)."""
    bridge, api_keys = _api_keys(config_path)
    try:
        revoked = api_keys.revoke(key_id, tenant)
    finally:
        bridge.close()
    if not revoked:
        raise ConfigError(f"no active key {key_id!r} for tenant {tenant!r}: see "
                          "`empathy-bridge keys list`")
    click.echo(f"revoked {key_id}")


@keys.command("list")
@_config_option
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@click.option("--json", "as_json", is_flag=True)
def keys_list(config_path: Path, tenant: str | None, as_json: bool) -> None:
    """List keys (never their secrets)."""
    bridge, api_keys = _api_keys(config_path)
    try:
        found = api_keys.list(tenant)
    finally:
        bridge.close()
    if as_json:
        click.echo(json.dumps([{"key_id": k.key_id, "tenant": k.tenant, "name": k.name,
                                "created_at": k.created_at.isoformat(), "active": k.active,
                                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                               for k in found], indent=2))
        return
    table = Table("key id", "tenant", "name", "created", "status")
    for k in found:
        table.add_row(k.key_id, k.tenant, k.name, k.created_at.strftime("%Y-%m-%d %H:%M"),
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}")
    Console().print(table)
