"""Pipeline stages: plain functions over batches, no I/O.

Each stage takes canonical models and the plugin hook relay and returns canonical models, so a
test (or a distributed task runner) can call it without a network or a database. The engine
(:mod:`empathy_bridge.engine`) does the I/O around them: fetch, store, apply.
"""

from __future__ import annotations

import logging
import traceback
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pluggy

from empathy_bridge.adapter import Adapter, Decisions
from empathy_bridge.composition import AnalyzerChain
from empathy_bridge.config import BridgeConfig
from empathy_bridge.errors import PluginError
from empathy_bridge.fingerprint import fingerprint, value_json
from empathy_bridge.gc_pause import paused_gc
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    Cue,
    EmotionalContext,
    FieldUpdate,
    Interaction,
)
from empathy_bridge.text import cap

log = logging.getLogger("empathy_bridge.pipeline")

__all__ = [
    "ConversationPlan",
    "StageFailure",
    "analyze_batch",
    "blame",
    "build_conversations",
    "decide",
    "diff_updates",
    "plan_conversation",
    "select_changed",
]


@dataclass
class StageFailure:
    """A record a stage could not process (becomes a dead letter)."""

    native_id: str
    stage: str
    error: str
    plugin: str | None = None
    payload: str | None = None


@dataclass
class ConversationPlan:
    """Decisions and planned updates for one conversation."""

    conversation: Conversation
    interaction: Interaction
    context: EmotionalContext
    decisions: Decisions
    updates: list[FieldUpdate] = field(default_factory=list)


def blame(pm: pluggy.PluginManager, exc: BaseException) -> str | None:
    """Name of the registered plugin whose code raised ``exc`` (innermost frame wins)."""
    modules: dict[str, str] = {}
    for name, plugin in pm.list_name_plugin():
        module = (
            plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
        )
        modules[module] = name
    culprit = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        for prefix, name in modules.items():
            if module == prefix or module.startswith(prefix + "."):
                culprit = name
    return culprit


def select_changed(
    interactions: Sequence[Interaction], known: Mapping[str, str]
) -> list[tuple[Interaction, str]]:
    """Interactions whose content fingerprint differs from the ledger's (new or edited).

    Duplicates inside one batch (a page boundary repeated) are kept once.
    """
    seen: set[str] = set()
    changed = []
    for interaction in interactions:
        if interaction.native_id in seen:
            continue
        seen.add(interaction.native_id)
        fp = fingerprint(interaction)
        if known.get(interaction.native_id) != fp:
            changed.append((interaction, fp))
    return changed


def _detect_cues(hook: Any, interactions: Sequence[Interaction]) -> list[list[Cue]]:
    """Every cue detector's results for the batch, concatenated per interaction in hook order."""
    results = [r for r in hook.empathy_bridge_detect_cues(interactions=interactions) if r]
    for result in results:
        if len(result) != len(interactions):
            raise PluginError(
                f"a cue detector returned {len(result)} lists for {len(interactions)} "
                "interactions"
            )
    if len(results) == 1:
        return list(results[0])
    return [
        [cue for result in results for cue in result[n]] for n in range(len(interactions))
    ]


def _analyze_once(
    hook: Any,
    interactions: Sequence[Interaction],
    config: BridgeConfig,
    chain: AnalyzerChain | None = None,
) -> list[EmotionalContext]:
    limit = config.analysis.max_chars
    capped = list(interactions)
    # Messages over the cap are rare: only they are copied, with the capped text for the
    # analyzers, and only their contexts are revisited below to restore the flag.
    long = [n for n, interaction in enumerate(interactions) if len(interaction.text) > limit]
    for n in long:
        text, _ = cap(capped[n].text, limit)
        capped[n] = capped[n].model_copy(update={"text": text})
    # Thousands of acyclic objects per batch: the cyclic collector waits until the batch is done
    # (see gc_pause; cycles a plugin makes meanwhile are collected then).
    with paused_gc():
        cues = _detect_cues(hook, capped)
        contexts = hook.empathy_bridge_analyze(interactions=capped, cues=cues, config=config)
    if contexts is None:
        raise PluginError("no analyzer is registered: enable builtin.analyzer or install one")
    if len(contexts) != len(interactions):
        raise PluginError(
            f"analyzer returned {len(contexts)} contexts for {len(interactions)} interactions"
        )
    if chain:
        contexts = chain.refine(capped, cues, contexts)
    out = list(contexts)
    for n in long:
        if not out[n].truncated:
            out[n] = out[n].model_copy(update={"truncated": True})
    return out


def analyze_batch(
    pm: pluggy.PluginManager,
    interactions: Sequence[Interaction],
    config: BridgeConfig,
    chain: AnalyzerChain | None = None,
) -> tuple[list[tuple[Interaction, EmotionalContext]], list[StageFailure]]:
    """Analyse a batch; when the batch call fails, isolate the failing records one by one.

    ``chain`` holds the hosted analyzers configured after the primary one (``[analyzers]``).
    """
    if not interactions:
        return [], []
    try:
        contexts = _analyze_once(pm.hook, interactions, config, chain)
        return list(zip(interactions, contexts, strict=True)), []
    except PluginError:
        raise
    except Exception:  # a plugin failed on some record: find which, one by one, keep the rest
        log.debug("batch analysis failed; isolating the failing records", exc_info=True)
    done: list[tuple[Interaction, EmotionalContext]] = []
    failures: list[StageFailure] = []
    for interaction in interactions:
        try:
            done.append((interaction, _analyze_once(pm.hook, [interaction], config, chain)[0]))
        except PluginError:
            raise
        except Exception as exc:
            failures.append(
                StageFailure(
                    native_id=interaction.native_id,
                    stage="analyze",
                    error=f"{type(exc).__name__}: {exc}",
                    plugin=blame(pm, exc),
                    payload=interaction.model_dump_json(),
                )
            )
    return done, failures


def _time_order(pair: tuple[Interaction, EmotionalContext | None]) -> tuple[datetime, str]:
    return pair[0].created_at, pair[0].native_id


def build_conversations(
    changed: Sequence[tuple[Interaction, EmotionalContext]],
    history: Mapping[str, Sequence[tuple[Interaction, EmotionalContext | None]]],
) -> list[Conversation]:
    """Conversations that received new customer messages, merged with their stored history."""
    new_by_conv: dict[str, dict[str, tuple[Interaction, EmotionalContext]]] = {}
    for interaction, context in changed:
        new_by_conv.setdefault(interaction.conversation_id, {})[interaction.native_id] = (
            interaction,
            context,
        )
    conversations = []
    for conv_id, new in new_by_conv.items():
        if not any(i.author_role is AuthorRole.CUSTOMER for i, _ in new.values()):
            continue
        past = history.get(conv_id)
        pairs: Iterable[tuple[Interaction, EmotionalContext | None]] = new.values()
        if past:  # a first sync has no stored history: the new messages are the conversation
            merged: dict[str, tuple[Interaction, EmotionalContext | None]] = {
                i.native_id: (i, c) for i, c in past
            }
            merged.update(new)
            pairs = merged.values()
        ordered = sorted(pairs, key=_time_order)
        interactions = tuple([i for i, _ in ordered])
        customer = next((i.customer for i in reversed(interactions) if i.customer), None)
        conversations.append(
            Conversation(
                source=interactions[0].source,
                conversation_id=conv_id,
                interactions=interactions,
                contexts={i.native_id: c for i, c in ordered if c is not None},
                customer=customer,
            )
        )
    return conversations


def latest_customer(conversation: Conversation) -> tuple[Interaction, EmotionalContext] | None:
    """The newest customer interaction of a conversation that has a context."""
    for interaction in reversed(conversation.interactions):
        context = conversation.contexts.get(interaction.native_id)
        if interaction.author_role is AuthorRole.CUSTOMER and context is not None:
            return interaction, context
    return None


def decide(
    pm: pluggy.PluginManager, conversation: Conversation, config: BridgeConfig
) -> ConversationPlan | None:
    """Trajectory, priority, routing, handoff and suggestions for one conversation."""
    hook = pm.hook
    trajectory = hook.empathy_bridge_analyze_conversation(conversation=conversation, config=config)
    if trajectory is not None:
        conversation = conversation.model_copy(update={"trajectory": trajectory})
    latest = latest_customer(conversation)
    if latest is None:
        return None
    interaction, context = latest
    kwargs = {
        "interaction": interaction,
        "context": context,
        "conversation": conversation,
        "config": config,
    }
    decisions = Decisions(
        priority=hook.empathy_bridge_decide_priority(**kwargs),
        routing=[d for result in hook.empathy_bridge_route(**kwargs) if result for d in result],
        handoff=hook.empathy_bridge_decide_handoff(conversation=conversation, config=config),
        suggestions=sorted(
            (
                s
                for result in hook.empathy_bridge_suggest_responses(**kwargs)
                if result
                for s in result
            ),
            key=lambda s: -s.score,
        ),
    )
    return ConversationPlan(conversation, interaction, context, decisions)


def plan_conversation(
    pm: pluggy.PluginManager, adapter: Adapter, plan: ConversationPlan, config: BridgeConfig
) -> list[FieldUpdate]:
    """The adapter's field mapping plus plugin additions, ranked by the conversation's urgency."""
    updates = list(adapter.plan_writeback(plan.conversation, plan.context, plan.decisions))
    for extra in pm.hook.empathy_bridge_plan_writeback(
        adapter=adapter,
        conversation=plan.conversation,
        context=plan.context,
        decisions=plan.decisions,
        config=config,
    ):
        if extra:
            updates.extend(extra)
    tier = plan.decisions.priority.tier if plan.decisions.priority else plan.context.tier
    rank = tier.rank
    # A copy only where the rank differs (calm conversations keep the adapter's rank 0).
    return [u if u.priority_rank == rank else u.model_copy(update={"priority_rank": rank})
            for u in updates]


def diff_updates(
    updates: Iterable[FieldUpdate], ledger: Mapping[tuple[str, str], str]
) -> list[FieldUpdate]:
    """Drop updates whose value equals what the ledger says the platform already holds."""
    out: dict[tuple[str, str], FieldUpdate] = {}
    for update_ in updates:
        key = (update_.record_id, update_.field)
        if ledger.get(key) == value_json(update_.value):
            out.pop(key, None)
            continue
        out[key] = update_  # the last plan for a field wins within one batch
    return list(out.values())
