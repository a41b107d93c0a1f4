"""Configuration and secrets: one clear line per mistake."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.errors import AuthenticationError, ConfigError
from empathy_bridge.secrets import Secrets
from empathy_bridge.store import Store

ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}


def build(config: dict[str, object]) -> Bridge:
    return Bridge.from_config(config, environ=ENV)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"stor": {}}, "stor: unknown config section"),
        ({"store": {"ulr": "x"}}, "store.ulr: unknown key"),
        (
            {"analysis": {"max_chars": "many"}},
            "analysis.max_chars: Input should be a valid integer",
        ),
        ({"sources": {"zd": {"adapter": "nope"}}}, "sources.zd.adapter: unknown adapter 'nope'"),
        ({"sources": {"example": {"tickets": -1}}}, "sources.example.tickets"),
        ({"sources": {"example": {"colour": "red"}}}, "sources.example.colour: unknown key"),
        (
            {"sources": {"zd": {"adapter": "example", "api_token": "abc123"}}},
            "sources.zd.api_token: secrets do not belong in the config file",
        ),
    ],
)
def test_bad_config_fails_with_one_line_naming_the_key(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        build(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert "abc123" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found: create one with `empathy-bridge init`"):
        Bridge.from_config(tmp_path / "missing.toml", environ=ENV)


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[store\nurl=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Bridge.from_config(path, environ=ENV)


def test_secrets_from_environment_then_file(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('A_TOKEN = "from-file"\nB_TOKEN = "file-b"\n', encoding="utf-8")
    secrets = Secrets({"A_TOKEN": "from-env"}, secrets_file)
    assert secrets.require("A_TOKEN", "a").get_secret_value() == "from-env"
    assert secrets.require("B_TOKEN", "b").get_secret_value() == "file-b"
    assert "file-b" not in repr(secrets.require("B_TOKEN", "b"))
    with pytest.raises(
        AuthenticationError, match=r"missing secret C_TOKEN .*set the environment variable C_TOKEN"
    ):
        secrets.require("C_TOKEN", "the C service token")


def test_secrets_file_errors_do_not_echo_values(tmp_path: Path) -> None:
    bad = tmp_path / "secrets.toml"
    bad.write_text('TOKEN = "s3cr3t-value\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Secrets({}, bad)
    assert "s3cr3t" not in str(info.value)


def test_sqlite_store_is_owner_only_and_migrated(tmp_path: Path) -> None:
    store = Store("sqlite:///sub/state.db", tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "sub" / "state.db").st_mode)
    assert mode == 0o600
    assert store.version >= 1
    store.close()
    again = Store("sqlite:///sub/state.db", tmp_path)  # re-open: no migration re-run
    assert again.version == store.version
    again.close()


def test_store_newer_than_code_is_refused(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from empathy_bridge.errors import StoreError
    from empathy_bridge.store import tables

    store = Store("sqlite:///s.db", tmp_path)
    with store.transaction() as conn:
        conn.execute(
            tables.schema_version.insert().values(version=999, applied_at=datetime.now(UTC))
        )
    store.close()
    with pytest.raises(StoreError, match="newer than this empathy-bridge supports"):
        Store("sqlite:///s.db", tmp_path)
