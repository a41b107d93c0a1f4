"""The response library: YAML files of reply templates per scenario, validated at load.

One file per scenario (see ``empathy_bridge/policies/responses/*.yaml`` and ``docs/policies.md``)::

    scenario: delay
    description: Something the customer is waiting for is late.
    issue: the delay                  # {issue} when nothing better is found in the message
    keywords: [late, "still waiting"]
    templates:
      - id: delay.upset
        tiers: [upset]                # tiers the template is written for
        states: [anxiety]             # optional: emotional states it suits (empty: any)
        opening: "{name}, I can see {issue} has kept you waiting..."
        next_step: "[Next step: the new date]"   # an editable stub, never a scripted answer

Placeholders are checked when the library loads: an unknown one is a one-line error naming the
file and the template. A folder given in ``[responses] library`` is layered over the shipped
library (a scenario defined there replaces the shipped one).
"""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from empathy_bridge.config import format_validation_error
from empathy_bridge.errors import ConfigError
from empathy_bridge.schemas import EmotionalState, Tier

__all__ = [
    "PLACEHOLDERS",
    "ReplyTemplate",
    "ResponseLibrary",
    "ResponseLibraryError",
    "Scenario",
    "builtin_library_dir",
    "load_library",
    "placeholders_of",
]

#: Every placeholder a template may use, and what fills it.
PLACEHOLDERS: dict[str, str] = {
    "name": "the customer's first name (or 'there')",
    "issue": "a key noun phrase of their message ('your order'), or the scenario's default",
    "quote": "the sentence of their message carrying the strongest cue",
    "brand": "[responses] brand",
    "agent": "an '[your name]' stub for the agent",
}

_MAX_OPENING_CHARS = 400


class ResponseLibraryError(ConfigError):
    """A response library file is malformed; the message names the file and the template."""


def placeholders_of(text: str) -> list[str]:
    """Placeholder names used in a format string (``{name}`` → ``name``)."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise ValueError(f"malformed braces ({exc}); write {{{{ and }}}} for literal braces") \
            from None


class ReplyTemplate(BaseModel):
    """One template: an acknowledgment opening and a next-step stub for the agent to fill."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    tiers: list[Tier] = Field(min_length=1)
    states: list[EmotionalState] = Field(default_factory=list)
    opening: str = Field(min_length=1, max_length=_MAX_OPENING_CHARS)
    next_step: str

    @field_validator("next_step")
    @classmethod
    def _stub(cls, value: str) -> str:
        # Suggestions never script the whole reply: the substance is the agent's to write.
        text = value.strip()
        if not (text.startswith("[") and text.endswith("]")):
            raise ValueError("next_step must be an editable stub in square brackets, "
                             "e.g. '[Next step: the new date]'")
        return text


class Scenario(BaseModel):
    """One scenario file: how to recognise the scenario and its templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(min_length=1)
    description: str = ""
    issue: str = Field(default="this", description="Default {issue}.")
    keywords: list[str] = Field(default_factory=list)
    templates: list[ReplyTemplate] = Field(min_length=1)


class ResponseLibrary(BaseModel):
    """All scenarios, with template lookup by id."""

    model_config = ConfigDict(frozen=True)

    scenarios: dict[str, Scenario]
    origins: dict[str, str] = Field(default_factory=dict,
                                    description="scenario → file it came from")

    def template(self, template_id: str) -> tuple[Scenario, ReplyTemplate] | None:
        """The scenario and template of ``template_id``, or ``None``."""
        for scenario in self.scenarios.values():
            for template in scenario.templates:
                if template.id == template_id:
                    return scenario, template
        return None

    def templates(self) -> list[tuple[Scenario, ReplyTemplate]]:
        """Every (scenario, template) pair, in scenario-name order."""
        return [(s, t) for _, s in sorted(self.scenarios.items()) for t in s.templates]


@lru_cache(maxsize=1)
def builtin_library_dir() -> Path:
    """The folder of the shipped library."""
    # Cached: resolving a package resource costs more than a whole reply suggestion.
    return Path(str(resources.files("empathy_bridge.policies").joinpath("responses")))


def _load_file(path: Path) -> Scenario:
    import yaml  # on first load of a library, not when the policies plugin is imported

    where = f"{path.parent.name}/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ResponseLibraryError(f"{where}{line}: not valid YAML") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResponseLibraryError(f"{where}: cannot read ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ResponseLibraryError(
            f"{where}: expected a mapping with scenario, keywords and templates")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ResponseLibraryError(f"{where}: {format_validation_error(exc)}") from None
    for template in scenario.templates:
        for part, text in (("opening", template.opening), ("next_step", template.next_step)):
            try:
                names = placeholders_of(text)
            except ValueError as exc:
                raise ResponseLibraryError(
                    f"{where}: template {template.id!r} {part}: {exc}") from None
            for name in names:
                if name not in PLACEHOLDERS:
                    allowed = ", ".join("{" + key + "}" for key in sorted(PLACEHOLDERS))
                    raise ResponseLibraryError(
                        f"{where}: template {template.id!r} uses unknown placeholder {{{name}}} "
                        f"(allowed: {allowed})")
    return scenario


def _load_dir(folder: Path) -> dict[str, tuple[Scenario, Path]]:
    if not folder.is_dir():
        raise ResponseLibraryError(f"response library folder {folder} does not exist")
    found: dict[str, tuple[Scenario, Path]] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        scenario = _load_file(path)
        if scenario.scenario in found:
            raise ResponseLibraryError(
                f"{path.name}: scenario {scenario.scenario!r} is also defined in "
                f"{found[scenario.scenario][1].name}")
        found[scenario.scenario] = (scenario, path)
    return found


@lru_cache(maxsize=16)
def _cached(folders: tuple[tuple[str, float], ...]) -> ResponseLibrary:
    merged: dict[str, tuple[Scenario, Path]] = {}
    for folder, _mtime in folders:
        merged.update(_load_dir(Path(folder)))
    seen: dict[str, str] = {}
    for name, (scenario, path) in merged.items():
        for template in scenario.templates:
            if template.id in seen:
                raise ResponseLibraryError(
                    f"{path.name}: template id {template.id!r} is also used in scenario "
                    f"{seen[template.id]!r}")
            seen[template.id] = name
    if not merged:
        raise ResponseLibraryError("the response library is empty: add *.yaml scenario files")
    return ResponseLibrary(
        scenarios={name: scenario for name, (scenario, _) in merged.items()},
        origins={name: str(path) for name, (_, path) in merged.items()},
    )


def _stamp(folder: Path) -> float:
    # The newest modification time in the folder, so edits to a library reload it.
    times = [p.stat().st_mtime for p in folder.glob("*.y*ml")] if folder.is_dir() else []
    return max(times, default=0.0)


@lru_cache(maxsize=1)
def _builtin_stamp() -> float:
    # The shipped files are part of the installed package and do not change while it runs;
    # stamping them once spares a folder scan per conversation. User folders are re-stamped.
    return _stamp(builtin_library_dir())


def load_library(
    folder: str | Path | None = None, *, base_dir: Path | None = None, replace_builtin: bool = False
) -> ResponseLibrary:
    """The shipped library, with ``folder`` (relative to ``base_dir``) layered over it.

    :raises ResponseLibraryError: with one line naming the file and template at fault.
    """
    stamped: list[tuple[str, float]] = []
    if not (replace_builtin and folder):
        stamped.append((str(builtin_library_dir()), _builtin_stamp()))
    if folder:
        path = Path(folder)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        path = path.resolve()
        stamped.append((str(path), _stamp(path)))
    return _cached(tuple(stamped))
