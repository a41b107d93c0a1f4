"""The plugin contract: every hook empathy-bridge calls, typed and documented.

This module *is* the plugin author's manual (see also ``docs/plugins.md``). Implement a hook by
decorating a function of the same name with :data:`empathy_bridge.hookimpl` in a module or class
that you expose through the ``empathy_bridge`` entry-point group::

    [project.entry-points.empathy_bridge]
    my_plugin = "my_package.plugin"

Every hook name starts with ``empathy_bridge_``. Built-in behaviour (the default analyzer, cue
detectors, policies, the in-memory example source) is registered through these same hooks, so a
plugin can replace any of it: a ``firstresult`` hook implemented with ``tryfirst=True`` wins over
the built-in one.

Hooks are called only by the engine, with keyword arguments. A plugin may accept a subset of the
arguments (pluggy passes only those named in the implementation's signature).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from empathy_bridge.schemas import (
    Conversation,
    Cue,
    EmotionalContext,
    EmpathyMetric,
    FieldUpdate,
    HandoffDecision,
    Interaction,
    PriorityDecision,
    ReplySuggestion,
    RoutingDecision,
    Trajectory,
)

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from empathy_bridge.adapter import Adapter, Decisions
    from empathy_bridge.analyzers import Analyzer
    from empathy_bridge.config import BridgeConfig
    from empathy_bridge.store import DeadLetter

#: Project name used as the pluggy marker and the entry-point group.
PROJECT_NAME = "empathy_bridge"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- registration ---------------------------------------------------------------------------


@hookspec
def empathy_bridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Contribute adapter classes, one ``register(AdapterClass)`` call per adapter.

    The adapter's ``name`` class attribute is what a config file's ``[sources.X] adapter = ...``
    refers to. Registering two adapters under one name is an error that names both plugins.

    :param register: callback taking an :class:`empathy_bridge.adapter.Adapter` subclass.
    """


@hookspec
def empathy_bridge_register_sandboxes(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Contribute local emulators of platform APIs, for the demo, tests and benchmarks.

    Call ``register(name, factory)`` where ``factory(**options)`` returns an object with
    ``start() -> str`` (the base URL), ``stop()``, ``stats() -> dict`` and
    ``demo_source_config() -> dict`` (the ``[sources.NAME]`` table the demo should use).
    See :class:`empathy_bridge.sandbox.SandboxServer` for a ready base.

    :param register: callback taking the sandbox name and its factory.
    """


@hookspec
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare a top-level config section owned by the plugin, with its pydantic model.

    ``register("routing", RoutingSettings)`` makes ``[routing]`` in the config file valid; it is
    validated at load time (unknown keys and wrong types fail with one line naming the key) and
    handed to hooks as ``config.section("routing")``.

    :param register: callback taking the section name and a pydantic model class.
    """


@hookspec
def empathy_bridge_check_config(config: BridgeConfig) -> None:
    """Check what spans sections or files, once, when a :class:`~.engine.Bridge` is built.

    Section models validate their own keys at load time; this hook is for what they cannot see
    alone (an experiment naming a template of the response library, a rule naming a queue
    defined elsewhere), so a bad config fails at start-up rather than on the first message.
    Raise :class:`~empathy_bridge.errors.ConfigError` with a one-line message naming the key.

    :param config: the loaded configuration.
    """


@hookspec
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``empathy-bridge`` command line.

    :param cli: the root click group; call ``cli.add_command(...)``.
    """


# --- analysis -------------------------------------------------------------------------------


@hookspec
def empathy_bridge_detect_cues(interactions: Sequence[Interaction]) -> list[list[Cue]] | None:
    """Find cues (churn threat, request for a human, ...) in a batch of messages.

    Batch-shaped like every analysis stage, so the engine calls each detector once per batch
    rather than once per message. The results of every implementation are concatenated per
    message (in hook call order) and handed to the analyzer, so a plugin can add a cue kind
    without replacing the analyzer. Read ``author_role``: agent and bot messages must not yield
    customer cues (the built-in detector reports apologies and empathy statements for them).

    :param interactions: the batch, in order; each ``text`` is already HTML-free and capped to
        the analysis limit.
    :returns: one list of cues per interaction (same order and length), or ``None`` when the
        plugin has nothing to say about this batch.
    """


@hookspec(firstresult=True)
def empathy_bridge_analyze(
    interactions: Sequence[Interaction], cues: Sequence[Sequence[Cue]], config: BridgeConfig
) -> list[EmotionalContext] | None:
    """Score a batch of interactions: one EmotionalContext per interaction, in order.

    Batch-shaped so that analyzers backed by remote services can send several documents per
    call. Customer messages get the emotional reading; agent and bot messages are read for tone
    (``author_role`` on the context says which) and must never count as customer emotion.
    Stops at the first non-None result.

    :param interactions: the batch, in order.
    :param cues: the cues detected for each interaction (same order and length).
    :param config: the validated configuration.
    :returns: a list of the same length as ``interactions``, or ``None`` to defer to the next
        analyzer.
    """


@hookspec
def empathy_bridge_register_analyzers(register: Callable[[type[Analyzer]], None]) -> None:
    """Contribute additional analyzers (hosted services, model servers) for analyzer chains.

    Call ``register(AnalyzerClass)`` per analyzer (a subclass of
    :class:`empathy_bridge.analyzers.Analyzer`). They run only when the ``[analyzers]`` config
    section chains them after the primary analyzer (``empathy_bridge_analyze``), each with its
    own condition, budget and circuit breaker; see ``docs/hosted-analyzers.md``.

    :param register: callback taking an :class:`~empathy_bridge.analyzers.Analyzer` subclass.
    """


@hookspec(firstresult=True)
def empathy_bridge_analyze_conversation(
    conversation: Conversation, config: BridgeConfig
) -> Trajectory | None:
    """Compute the emotional trajectory of a conversation from its per-message contexts.

    Stops at the first non-None result.

    :param conversation: the ordered interactions with their contexts.
    :returns: the trajectory (opening/latest state, trend, peak intensity) or ``None``.
    """


# --- decisions ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def empathy_bridge_decide_priority(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> PriorityDecision | None:
    """Decide priority and SLA due time from the emotional context.

    Must never lower a priority a human set (``interaction.native_priority``).
    Stops at the first non-None result.

    :param interaction: the latest customer interaction of the conversation.
    :param context: its emotional context.
    :param conversation: the conversation, with its trajectory.
    :returns: the decision with a human-readable ``reason``, or ``None``.
    """


@hookspec
def empathy_bridge_route(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> list[RoutingDecision] | None:
    """Propose routing targets (queue, group, owner, or a case in another system).

    Results of every implementation are concatenated.

    :returns: routing decisions, each naming the rule that produced it.
    """


@hookspec(firstresult=True)
def empathy_bridge_decide_handoff(
    conversation: Conversation, config: BridgeConfig
) -> HandoffDecision | None:
    """Decide whether a bot conversation should be handed to a human, with a context packet.

    Stops at the first non-None result.

    :param conversation: the conversation up to and including the newest customer turn.
    :returns: the decision, or ``None`` when the plugin has no opinion.
    """


@hookspec
def empathy_bridge_suggest_responses(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    config: BridgeConfig,
) -> list[ReplySuggestion] | None:
    """Offer empathy-tiered phrasing for the agent answering ``interaction``.

    Results of every implementation are concatenated and ranked by ``score``.
    """


@hookspec
def empathy_bridge_plan_writeback(
    adapter: Adapter,
    conversation: Conversation,
    context: EmotionalContext,
    decisions: Decisions,
    config: BridgeConfig,
) -> list[FieldUpdate] | None:
    """Plan extra field updates for the conversation's record in ``adapter``'s platform.

    The adapter's own mapping (``Adapter.plan_writeback``) always runs; this hook lets a plugin
    add updates. The engine diffs every update against the write-back ledger, so returning a
    value the platform already holds costs nothing.

    :returns: field updates (native field keys) for ``adapter.source_name``.
    """


@hookspec
def empathy_bridge_register_jobs(register: Callable[..., None], config: BridgeConfig) -> None:
    """Contribute periodic jobs to the daemon (``empathy-bridge run``).

    Call ``register(name, func, interval_seconds=N)`` or
    ``register(name, func, cron="*/5 * * * *")`` per job; ``func(bridge)`` receives the
    daemon's :class:`~empathy_bridge.Bridge` and must be a module-level function (the schedule
    is persisted by reference). Each job runs at most once at a time and missed runs are
    coalesced. Not calling ``register`` (e.g. the feature is off in ``config``) adds no job.
    """


# --- observation and output -----------------------------------------------------------------


@hookspec
def empathy_bridge_on_dead_letter(item: DeadLetter, config: BridgeConfig) -> None:
    """Observe a record that failed permanently (it is already stored as a dead letter).

    :param item: the stored dead letter: stage, error, payload, plugin, analyzer version.
    """


@hookspec
def empathy_bridge_publish_metrics(metrics: Sequence[EmpathyMetric], config: BridgeConfig) -> None:
    """Push computed metrics to a sink (a platform, a webhook, files).

    :param metrics: the metrics of one computation run.
    """
