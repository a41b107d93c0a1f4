"""Configuration: one TOML file, validated strictly, secrets kept out of it.

Layout::

    [store]
    url = "sqlite:///empathy-bridge.db"   # any SQLAlchemy URL

    [sources.zendesk]                     # one table per source; keys validated by the adapter
    adapter = "zendesk"
    base_url = "https://acme.zendesk.com"

    [routing]                             # sections registered by plugins
    ...

Unknown keys and wrong types fail with one line naming the key (``sources.zendesk.base_ur``:
unknown key). Relative paths (SQLite files, secrets file) resolve against the config file's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from empathy_bridge.errors import ConfigError

__all__ = [
    "AnalysisSettings",
    "BridgeConfig",
    "StoreSettings",
    "format_validation_error",
    "load_config",
]

M = TypeVar("M", bound=BaseModel)

#: Names that look like secrets; the config file refuses them so they live in the environment.
_SECRET_WORDS = ("password", "token", "secret", "api_key", "apikey", "private_key")


class StoreSettings(BaseModel):
    """``[store]``: where state lives."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(default="sqlite:///empathy-bridge.db", description="SQLAlchemy URL.")


class AnalysisSettings(BaseModel):
    """``[analysis]``: limits applied before any analyzer sees a message."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(
        default=5000,
        ge=100,
        le=1_000_000,
        description="Messages longer than this are analysed on their first max_chars characters.",
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)


class BridgeConfig(BaseModel):
    """The validated configuration handed to the engine and to every hook as ``config``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    secrets_file: str | None = Field(default=None, description="TOML file of secrets.")
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sections: dict[str, BaseModel] = Field(default_factory=dict, exclude=True)
    path: Path | None = Field(default=None, exclude=True)

    def section(self, name: str, model: type[M]) -> M:
        """The validated plugin section ``name`` as a ``model`` (its defaults if absent)."""
        value = self.sections.get(name)
        if value is None:
            return _defaults(model)
        if not isinstance(value, model):
            raise ConfigError(
                f"config section [{name}] is owned by another model than {model.__name__}"
            )
        return value

    @property
    def base_dir(self) -> Path:
        """Folder relative paths resolve against."""
        return self.path.parent if self.path else Path.cwd()


#: Default instances of frozen section models, built once: a policy hook asks for its
#: section once per conversation, and validating a default SLA matrix is not free.
_FROZEN_DEFAULTS: dict[type[BaseModel], BaseModel] = {}


def _defaults(model: type[M]) -> M:
    """``model()``; shared for frozen models (nobody can change them), fresh otherwise."""
    if not model.model_config.get("frozen"):
        return model()
    found = _FROZEN_DEFAULTS.get(model)
    if found is None:
        found = _FROZEN_DEFAULTS[model] = model()
    return found  # type: ignore[return-value]


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line naming the first offending key and what is wrong with it."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in (prefix, *err["loc"]) if part != "")
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key (check the spelling; see docs/configuration.md)"
    if err["type"] == "missing":
        return f"{loc}: required key is missing"
    return f"{loc}: {err['msg']}"


def _reject_secrets(data: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        where = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _reject_secrets(value, f"{where}.")
        elif (
            isinstance(value, str)
            and any(word in key.lower() for word in _SECRET_WORDS)
            and not (key.lower().endswith(("_env", "_var")))
        ):
            raise ConfigError(
                f"{where}: secrets do not belong in the config file; put the value in the "
                f"environment or the secrets file and name the variable with '{key}_env'"
            )


def parse_config(
    data: Mapping[str, Any],
    section_models: Mapping[str, type[BaseModel]],
    path: Path | None = None,
) -> BridgeConfig:
    """Validate raw config data; plugin sections are validated by their registered models."""
    _reject_secrets(data)
    core_keys = set(BridgeConfig.model_fields) - {"sections", "path"}
    core = {k: v for k, v in data.items() if k in core_keys}
    sections: dict[str, BaseModel] = {}
    for key, value in data.items():
        if key in core_keys:
            continue
        model = section_models.get(key)
        if model is None:
            known = ", ".join(sorted(core_keys | set(section_models)))
            raise ConfigError(f"{key}: unknown config section (known: {known})")
        try:
            sections[key] = model.model_validate(value)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, key)) from None
    try:
        config = BridgeConfig.model_validate({**core, "sections": sections, "path": path})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    return config


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file into a dict, with one-line errors."""
    file = Path(path)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {file} not found: create one with `empathy-bridge init`"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} is not UTF-8 text") from None


def load_config(path: str | Path, section_models: Mapping[str, type[BaseModel]]) -> BridgeConfig:
    """Read and validate a config file."""
    return parse_config(read_config_file(path), section_models, Path(path).resolve())
