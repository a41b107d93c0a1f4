"""SLA and priority by emotional intensity.

:func:`decide_priority` reads the emotional tier of the latest customer message, raises it for an
escalating conversation, for cues such as repeated contact or a churn threat, and for reach on
public networks, then looks the (tier, channel, segment) cell up in the SLA matrix of
:class:`~empathy_bridge.policies.settings.SlaSettings`. The due time counts the cell's target in
business hours or around the clock. A priority a human set is never lowered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from empathy_bridge.policies.business_hours import add_business_minutes
from empathy_bridge.policies.memo import IdentityMemo
from empathy_bridge.policies.settings import SlaRow, SlaSettings
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    Interaction,
    Priority,
    PriorityDecision,
    Tier,
    Trend,
    Visibility,
)

__all__ = [
    "POLICY_NAME",
    "decide_priority",
    "format_minutes",
    "is_public",
    "lookup_row",
    "native_priority",
    "tier_raises",
]

#: Name recorded in ``PriorityDecision.policy``.
POLICY_NAME = "builtin.sla"

# Platforms spell priorities differently (Salesforce: Low/Medium/High/Critical by default).
_NATIVE: dict[str, Priority] = {
    "low": Priority.LOW,
    "normal": Priority.NORMAL,
    "medium": Priority.NORMAL,
    "high": Priority.HIGH,
    "urgent": Priority.URGENT,
    "critical": Priority.URGENT,
}


def native_priority(value: str | None) -> Priority | None:
    """The canonical priority of a platform's priority label, or ``None`` if unset/unknown."""
    if not value:
        return None
    return _NATIVE.get(value.strip().lower())


def is_public(interaction: Interaction, settings: SlaSettings) -> bool:
    """Whether everyone can see the message: a public channel (e.g. social) and public visibility.

    Visibility alone is not enough: on a help desk, "public" means visible to the customer, not to
    the world.
    """
    return (interaction.channel in settings.public_channels
            and interaction.visibility is Visibility.PUBLIC)


def _segment(interaction: Interaction, conversation: Conversation) -> str | None:
    for party in (interaction.customer, conversation.customer, interaction.author):
        if party is not None and party.segment:
            return party.segment
    return None


def tier_raises(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    settings: SlaSettings,
) -> list[tuple[str, int]]:
    """What raises the tier, as ``(label, steps)`` in reason order (uncapped)."""
    raises: list[tuple[str, int]] = []
    trajectory = conversation.trajectory
    escalating = trajectory is not None and trajectory.trend is Trend.ESCALATING
    if escalating and settings.raise_on_escalating:
        raises.append(("escalating", settings.raise_on_escalating))
    if context.cues:  # most messages carry none
        kinds = context.cue_kinds()
        for kind, steps in settings.raise_on_cues.items():
            if kind in kinds and steps:
                raises.append((kind.replace("_", " "), steps))
    followers = interaction.author.followers if interaction.author else None
    if followers is not None and settings.reach:
        eligible = [rule for rule in settings.reach if followers >= rule.min_followers]
        steps = max((rule.raise_tiers for rule in eligible), default=0)
        if steps:
            raises.append((f"{followers:,} followers", steps))
    return raises


#: Cells looked up so far, per settings object: the matrix is scanned once per distinct cell
#: (tiers x channels x segments seen), not once per conversation. Bounded for safety: segments
#: come from platform data.
_cells: IdentityMemo[SlaSettings, dict[tuple[Tier, str, bool, str | None], SlaRow]] = \
    IdentityMemo(lambda _: {})
_MAX_CELLS = 4096


def lookup_row(
    tier: Tier, channel: str, public: bool, segment: str | None, settings: SlaSettings
) -> SlaRow:
    """The most specific matrix row for the cell (segment first, then channel)."""
    cells = _cells(settings)
    key = (tier, channel, public, segment)
    row = cells.get(key)
    if row is None:
        row = _scan_matrix(tier, channel, public, segment, settings)
        if len(cells) < _MAX_CELLS:
            cells[key] = row
    return row


def _scan_matrix(
    tier: Tier, channel: str, public: bool, segment: str | None, settings: SlaSettings
) -> SlaRow:
    visibility = "public" if public else "private"
    candidates = [
        row for row in settings.matrix
        if row.tier is tier
        and row.segment in ("*", segment)
        and row.channel in ("*", visibility, channel)
    ]
    # The settings validator guarantees a wildcard-segment row for both visibilities per tier.
    return max(candidates, key=lambda row: (row.segment != "*", row.channel_rank()))


def format_minutes(minutes: int) -> str:
    """``30 min``, ``2 h``, ``1 h 30 min``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def _has_replied(interaction: Interaction, conversation: Conversation) -> bool:
    # A human reply before this message means the next target applies, not the first.
    return any(
        other.author_role is AuthorRole.AGENT and other.created_at <= interaction.created_at
        for other in conversation.interactions
    )


def decide_priority(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    settings: SlaSettings,
) -> PriorityDecision:
    """Priority, tier and SLA due time for the latest customer message, with the reason in words.

    The due time counts from the message's ``created_at``, so deciding twice gives the same answer.
    """
    raises = tier_raises(interaction, context, conversation, settings)
    steps = min(sum(step for _, step in raises), settings.max_raise)
    tier = context.tier.raised(steps) if steps else context.tier
    public = is_public(interaction, settings)
    segment = _segment(interaction, conversation)
    row = lookup_row(tier, interaction.channel, public, segment, settings)
    replied = _has_replied(interaction, conversation)
    minutes = row.next_response_minutes if replied else row.first_response_minutes
    due: datetime
    if row.business_hours:
        due = add_business_minutes(interaction.created_at, minutes, settings.business_hours)
    else:
        due = interaction.created_at + timedelta(minutes=minutes)

    chain = [context.tier.value]
    if public:
        chain.append("public")
    chain.extend(label for label, _ in raises)
    if row.segment != "*":
        chain.append(row.segment)
    which = "next reply" if replied else "reply"
    reason = f"{' + '.join(chain)} → {row.priority.value}, {which} within {format_minutes(minutes)}"
    if row.business_hours:
        reason += " (business hours)"
    if tier is not context.tier:
        reason += f"; tier raised to {tier.value}"
        if steps < sum(step for _, step in raises):
            reason += f" (capped at +{settings.max_raise})"

    priority = row.priority
    human = native_priority(interaction.native_priority)
    raised_from: Priority | None = None
    if human is not None:
        if human.rank > priority.rank:
            reason += f"; kept the human-set priority {human.value}"
            priority = human
        elif human.rank < priority.rank:
            raised_from = human
    return PriorityDecision(
        priority=priority,
        tier=tier,
        first_response_minutes=row.first_response_minutes,
        due_at=due,
        reason=reason,
        policy=POLICY_NAME,
        raised_from=raised_from,
    )
