"""Built-in decision policies, plugged in through the same hooks a user's plugin would use.

Each hook reads its config section and delegates to a plain function of
:mod:`empathy_bridge.policies`. To replace one, implement the same hook in your plugin: for the
``firstresult`` hooks (priority, handoff) mark yours ``tryfirst=True``; for the collecting hooks
(route, suggest) deny this plugin (``EMPATHY_BRIDGE_DISABLE_PLUGINS=builtin.policies``) and
provide all four, or leave the section empty (no routing rules means no routing decisions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from empathy_bridge.config import BridgeConfig
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.policies.experiments import check_experiments
from empathy_bridge.policies.handoff import decide_handoff
from empathy_bridge.policies.library import ResponseLibrary, load_library
from empathy_bridge.policies.memo import IdentityMemo
from empathy_bridge.policies.responses import suggest_responses
from empathy_bridge.policies.routing import route
from empathy_bridge.policies.settings import (
    ExperimentsSettings,
    HandoffSettings,
    ResponsesSettings,
    RoutingSettings,
    SlaSettings,
)
from empathy_bridge.policies.sla import decide_priority
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    HandoffDecision,
    Interaction,
    PriorityDecision,
    ReplySuggestion,
    RoutingDecision,
)

if TYPE_CHECKING:
    import click

#: Config sections owned by the built-in policies.
SECTIONS: dict[str, type[BaseModel]] = {
    "sla": SlaSettings,
    "routing": RoutingSettings,
    "handoff": HandoffSettings,
    "responses": ResponsesSettings,
    "experiments": ExperimentsSettings,
}


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare ``[sla]``, ``[routing]``, ``[handoff]``, ``[responses]`` and ``[experiments]``."""
    for name, model in SECTIONS.items():
        register(name, model)


@hookimpl
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add ``explain``, ``handoff``, ``responses lint`` and ``experiments report``."""
    from empathy_bridge.policies.commands import register

    register(cli)


@hookimpl
def empathy_bridge_decide_priority(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> PriorityDecision:
    """SLA matrix lookup (see :func:`empathy_bridge.policies.sla.decide_priority`)."""
    return decide_priority(interaction, context, conversation, config.section("sla", SlaSettings))


@hookimpl
def empathy_bridge_route(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> list[RoutingDecision]:
    """Declarative routing rules (see :func:`empathy_bridge.policies.routing.route`)."""
    return route(interaction, context, conversation, config.section("routing", RoutingSettings))


@hookimpl
def empathy_bridge_decide_handoff(
    conversation: Conversation, config: BridgeConfig
) -> HandoffDecision:
    """Bot-to-human handoff (see :func:`empathy_bridge.policies.handoff.decide_handoff`)."""
    return decide_handoff(conversation, config.section("handoff", HandoffSettings))


def _checked_builtin(experiments: ExperimentsSettings) -> ResponseLibrary:
    library = load_library()
    check_experiments(experiments, library)
    return library


#: The shipped library checked against an [experiments] section, once per section object: the
#: shipped files are stamped once per process (see load_library), so neither can change.
_builtin_for = IdentityMemo(_checked_builtin)


def library_for(config: BridgeConfig) -> ResponseLibrary:
    """The configured response library, with experiments checked against it (cached by files)."""
    settings = config.section("responses", ResponsesSettings)
    experiments = config.section("experiments", ExperimentsSettings)
    if not settings.library:  # replace_builtin needs a folder to mean anything
        return _builtin_for(experiments)
    # A folder of the user's is re-stamped per call, so edits to it reload it.
    library = load_library(settings.library, base_dir=config.base_dir,
                           replace_builtin=settings.replace_builtin)
    check_experiments(experiments, library)
    return library


@hookimpl
def empathy_bridge_check_config(config: BridgeConfig) -> None:
    """Load a configured response library and check experiments against it, at start-up.

    Nothing is loaded when neither is configured, so a plain ``analyze`` starts as fast as before.
    """
    if config.section("responses", ResponsesSettings).library or config.section(
        "experiments", ExperimentsSettings
    ).root:
        library_for(config)


@hookimpl
def empathy_bridge_suggest_responses(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> list[ReplySuggestion]:
    """Ranked, empathy-tiered openings (see :mod:`empathy_bridge.policies.responses`)."""
    return suggest_responses(
        interaction, context, conversation, config.section("responses", ResponsesSettings),
        library_for(config), config.section("experiments", ExperimentsSettings))
