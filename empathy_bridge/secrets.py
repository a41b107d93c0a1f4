"""Secrets come from the environment or a secrets file, never from the main config file.

A secrets file is a TOML file of ``NAME = "value"`` pairs (for example mounted by an
orchestrator); it is named by ``secrets_file`` in the config or ``EMPATHY_BRIDGE_SECRETS_FILE``.
The environment wins over the file. Values are held as :class:`pydantic.SecretStr`, so they
print as ``**********`` in reprs, logs and errors.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import SecretStr

from empathy_bridge.errors import AuthenticationError, ConfigError

__all__ = ["Secrets"]

SECRETS_FILE_ENV = "EMPATHY_BRIDGE_SECRETS_FILE"


class Secrets:
    """Read-only lookup of secrets by name: environment first, then the secrets file."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, file: str | Path | None = None
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        path = file or self._environ.get(SECRETS_FILE_ENV)
        self._file_values: dict[str, str] = {}
        self._file = Path(path) if path else None
        if self._file is not None:
            self._file_values = _read_secrets_file(self._file)

    def get(self, name: str) -> SecretStr | None:
        """The secret called ``name``, or ``None`` when neither source has it."""
        value = self._environ.get(name) or self._file_values.get(name)
        return SecretStr(value) if value else None

    def require(self, name: str, purpose: str) -> SecretStr:
        """The secret called ``name``; raises a one-line :class:`AuthenticationError` if missing.

        :param purpose: what the secret is for, shown in the error ("Zendesk API token").
        """
        value = self.get(name)
        if value is None:
            where = f" or add it to {self._file}" if self._file else " (or in a secrets file)"
            raise AuthenticationError(
                f"missing secret {name} ({purpose}): set the environment variable {name}{where}"
            )
        return value

    def values(self) -> Iterable[str]:
        """Every secret value known from the file (used to scrub output in tests and logs)."""
        return list(self._file_values.values())


def _read_secrets_file(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"secrets file {path} does not exist: create it or unset {SECRETS_FILE_ENV}"
        ) from exc
    except tomllib.TOMLDecodeError:
        # The decode error quotes the offending line, which may hold a secret: say only where.
        raise ConfigError(f"secrets file {path} is not valid TOML: fix its syntax") from None
    bad = [key for key, value in data.items() if not isinstance(value, str)]
    if bad:
        raise ConfigError(f"secrets file {path}: value of {bad[0]} must be a string")
    return {key: str(value) for key, value in data.items()}
